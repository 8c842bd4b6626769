"""The "rich" fields of the synthetic feed: what real files carry besides names and prices.

Section 2.6a of /work/shared/promidata-format.md lists them; this module renders them as JSON
fragments for feedgen's templates and states what an importer must make of them:

* ``VideoUrl`` as a list of ``{Url, Description, FileName}``, as a plain string, or null;
* ``InformationFiles`` (a document list), ``ShortDescription``, ``Meta*``, a
  ``WebShopInformation`` with several keys, ``ProductFiltersByGroup`` with "True"/"False";
* ``HexColor`` without "#" in one of three places, ``PMSValue``;
* ``DeliveryTimeInDays`` ("12", a string), ``DeliveryTimeInfoText``;
* ``ReleaseDate`` as "2019-08-16" or "16.08.2019";
* outer-carton data as numbers (``NonLanguageDependedProductDetails``) and as decimal-comma
  strings (``ProductDetails.{lang}.UnstructuredInformation``), with item box and battery data;
* ``CountryOfOrigin`` as alpha-2 or alpha-3, and "Germany" in family 3 of every supplier;
* ``CustomsTariffNumber`` with a space, ``SecondaryCategories``, ``DefaultProducts`` for
  every region, and keys no importer knows (``V1Sku``, ``GatewayInformation``, ``WEEE``,
  ``TexodataCategory``).

Pure Python and deterministic; videos point at ``https://video.example.com/`` (a reserved
domain: they are links to a video platform, nobody downloads them).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from decimal import Decimal

from .feedgen_common import dumps, jstr, rng, short_hash
from .feedgen_print import text_in

__all__ = ["ALPHA3", "RichFamily", "RichVariant", "rich_family", "rich_variant"]

#: The alpha-3 codes the generator sends, mapped to alpha-2.
ALPHA3 = {"CHN": "CN", "DEU": "DE", "ITA": "IT", "BGD": "BD", "TUR": "TR", "PRT": "PT"}
_ORIGINS = ("CN", "CHN", "DEU", "DE", "ITA", "PT", "BGD", "IN", "TUR", "VN")
UNKNOWN_ORIGIN = "Germany"
_TARIFFS = ("42022290", "85235110", "96081010", "69120021", "61091000", "85076000")

#: SearchColor -> (hex without "#", PMS value).
_HEX = {
    "Black": ("1A1A1A", "Black C"),
    "White": ("FFFFFF", "White"),
    "Blue": ("1F2D5E", "2767 C"),
    "Red": ("C8102E", "186 C"),
    "Green": ("2E8448", "348 C"),
    "Grey": ("8A8D8F", "Cool Gray 8 C"),
    "Orange": ("EC841C", "151 C"),
}

_LABELS = {
    "Material": {"de": "Material", "en": "Material", "nl": "Materiaal", "fr": "Matière"},
    "Compliance": {
        "de": "Konformität",
        "en": "Compliance",
        "nl": "Conformiteit",
        "fr": "Conformité",
    },
    "PackagingInformation": {
        "de": "Verpackung",
        "en": "Packaging",
        "nl": "Verpakking",
        "fr": "Emballage",
    },
    "RefiningInfoText": {
        "de": "Veredelung",
        "en": "Decoration",
        "nl": "Bedrukking",
        "fr": "Marquage",
    },
}
_VALUES = {
    "Material": {"de": "Polyester", "en": "Polyester", "nl": "Polyester", "fr": "Polyester"},
    "Compliance": {
        "de": "REACH-konform",
        "en": "REACH compliant",
        "nl": "REACH-conform",
        "fr": "Conforme REACH",
    },
    "PackagingInformation": {
        "de": "Einzeln im Polybeutel verpackt",
        "en": "Individually packed in a polybag",
        "nl": "Per stuk verpakt in een polyzak",
        "fr": "Emballé individuellement dans un sachet",
    },
    "RefiningInfoText": {
        "de": "Veredelung auf Anfrage",
        "en": "Decoration on request",
        "nl": "Bedrukking op aanvraag",
        "fr": "Marquage sur demande",
    },
}
_DRAWING = {
    "de": "Technische Zeichnung",
    "en": "Technical drawing",
    "nl": "Technische tekening",
    "fr": "Dessin technique",
}
_VIDEO_TEXT = ("Product video", "360° view")


@dataclass(frozen=True)
class RichFamily:
    """Family-level rich data (the same on every child), with ready JSON fragments."""

    video_json: str
    videos: tuple[dict, ...]
    release_sent: str | None
    release_date: str | None
    origin_sent: str
    tariff: str
    carton: tuple[float, float, float, float, float | None, int | None] | None
    filters: dict[str, str]
    hex_place: int | None  # 0 child UnstructuredInformation, 1 language blocks, 2 NLD
    secondary: tuple[str, ...]
    documents_url: str
    documents_name: str
    fragile: bool
    usb: bool
    delivery_days: str
    extra_members: tuple[tuple[str, object], ...]

    @property
    def country_of_origin(self) -> str:
        return ALPHA3.get(self.origin_sent, self.origin_sent)

    def carton_expected(self) -> dict:
        keys = ("length_cm", "width_cm", "height_cm", "weight_net_kg", "weight_gross_kg")
        if self.carton is None:
            return dict.fromkeys((*keys, "quantity"))
        *numbers, quantity = self.carton
        result = {
            key: None if value is None else Decimal(repr(value))
            for key, value in zip(keys, numbers, strict=True)
        }
        return {**result, "quantity": quantity}

    def carton_members(self) -> str:
        """``,"OuterCarton...":...`` members for NonLanguageDependedProductDetails."""
        if self.carton is None:
            return ""
        length, width, height, net, gross, quantity = self.carton
        return (
            f',"OuterCartonLengthCM":{length!r},"OuterCartonWidthCM":{width!r},'
            f'"OuterCartonHeightCM":{height!r},"OuterCartonWeightNetKG":{net!r},'
            f'"OuterCartonWeightGrossKG":{"null" if gross is None else repr(gross)},'
            f'"OuterCartonQuantityPerCarton":{"null" if quantity is None else quantity}'
        )


@dataclass(frozen=True)
class RichVariant:
    hex_color: str  # without "#"; "" when the family sends none
    pms: str


def rich_family(
    seed: int,
    code: str,
    index: int,
    family_sku: str,
    category: str,
    leaves: tuple[str, ...],
    base_url: str,
) -> RichFamily:
    draw = rng(seed, code, index, "rich")
    stem = family_sku.removeprefix(f"{code}-")
    videos: list[dict] = []
    kind = index % 5
    if kind == 0:
        video_json = "null"
    else:
        urls = [
            f"https://video.example.com/watch?v={short_hash(seed, code, index, 'video', n, size=6)}"
            for n in range(2 if kind == 4 else 1)
        ]
        if kind == 3:  # a plain string, as older files send it
            video_json = jstr(urls[0])
            videos.append({"url": urls[0], "description": "", "file_name": ""})
        else:
            items = []
            for n, url in enumerate(urls):
                file_name = f"{stem}.mp4" if n == 0 else None
                items.append({"Url": url, "Description": _VIDEO_TEXT[n], "FileName": file_name})
                videos.append(
                    {"url": url, "description": _VIDEO_TEXT[n], "file_name": file_name or ""}
                )
            video_json = dumps(items)
    year, month, day = draw.randint(2015, 2025), draw.randint(1, 12), draw.randint(1, 28)
    release_date = f"{year:04d}-{month:02d}-{day:02d}"
    release_sent = release_date if index % 2 == 0 else f"{day:02d}.{month:02d}.{year:04d}"
    if index % 9 == 8:
        release_sent = release_date = None
    origin = UNKNOWN_ORIGIN if index == 3 else draw.choice(_ORIGINS)
    tariff = draw.choice(_TARIFFS)
    if index % 4 == 1:
        tariff = f"{tariff[:4]} {tariff[4:]}"
    carton = None
    if index % 5 != 4:
        net = draw.randint(30, 200) / 10
        carton = (
            float(draw.randint(30, 60)),
            float(draw.randint(20, 45)),
            draw.randint(40, 90) / 2,
            net,
            None if index % 7 == 3 else round(net + draw.randint(4, 12) / 10, 1),
            None if index % 7 == 5 else draw.choice((25, 50, 100, 200, 250)),
        )
    filters = {
        "Eco": str(draw.random() < 0.4),
        "GiftWrappingPossible": str(index % 2 == 0),
    }
    if index % 2:
        filters["CustomSleevePossible"] = "False"
    extras: list[tuple[str, object]] = [
        ("V1Sku", f"{stem}-V1"),
        ("GatewayInformation", {"Source": "PIM", "LastChange": "2025-03-01T10:00:00"}),
    ]
    if index % 2 == 0:
        extras.append(("WEEE", {"WEEERegistrationNumber": "DE 12345678", "WEEECategory": "5"}))
    if index % 3 == 0:
        extras.append(("TexodataCategory", "Promotional items / " + category.split("/")[0]))
    others = [leaf for leaf in leaves if leaf != category]
    return RichFamily(
        video_json=video_json,
        videos=tuple(videos),
        release_sent=release_sent,
        release_date=release_date,
        origin_sent=origin,
        tariff=tariff,
        carton=carton,
        filters=filters,
        hex_place=None if index % 8 == 7 else index % 3,
        secondary=() if index % 4 == 0 else (draw.choice(others),),
        documents_url=f"{base_url}/Images/{code}-{index:05d}-D0.png",
        documents_name=f"{stem}_drawing.png",
        fragile=category.startswith("DRINKWARE"),
        usb=category.startswith("TECHNOLOGY"),
        delivery_days=str(draw.choice((5, 8, 10, 12, 15, 20))),
        extra_members=tuple(extras),
    )


def rich_variant(family: RichFamily, search_colour: str) -> RichVariant:
    hex_color, pms = _HEX.get(search_colour, ("808080", "Cool Gray 6 C"))
    return RichVariant(hex_color="" if family.hex_place is None else hex_color, pms=pms)


# ---------------------------------------------------------------------- JSON fragments


def child_fragments(family: RichFamily, variant: RichVariant) -> dict[str, str]:
    """JSON for the child template's holes (see feedgen._CHILD)."""
    unstructured: dict[str, object] = {}
    if family.release_sent is not None:
        unstructured["ReleaseDate"] = family.release_sent
    unstructured["DeliveryTimeInDays"] = family.delivery_days
    unstructured["DeliveryTimeInfoText"] = f"approx. {family.delivery_days} working days"
    if family.hex_place == 0:
        unstructured["HexColor"] = variant.hex_color
    return {
        "video": family.video_json,
        "secondary": dumps(list(family.secondary)),
        "hex": jstr(variant.hex_color) if family.hex_place == 2 else "null",
        "country": jstr(family.origin_sent),
        "tariff": jstr(family.tariff),
        "fragile": "true" if family.fragile else "false",
        "usb": "true" if family.usb else "false",
        "filters": dumps(family.filters),
        "carton": family.carton_members(),
        "unstructured": dumps(unstructured),
        "extra": "".join(f",{jstr(k)}:{dumps(v)}" for k, v in family.extra_members),
    }


def root_fragments(family: RichFamily) -> dict[str, str]:
    # No ReleaseDate on the root either when the children have none: a child would inherit it.
    unstructured = {"ReleaseDate": family.release_sent} if family.release_sent else {}
    unstructured["DeliveryTimeInDays"] = family.delivery_days
    extra = [(k, v) for k, v in family.extra_members if k in ("V1Sku", "GatewayInformation")]
    return {
        "root_unstructured": dumps(unstructured),
        "extra": "".join(f",{jstr(k)}:{dumps(v)}" for k, v in extra),
    }


def language_fragments(
    family: RichFamily,
    variant: RichVariant | None,
    lang: str,
    name: str,
    keywords: str,
) -> dict[str, str]:
    """Per-language JSON: ShortDescription, Meta*, InformationFiles, WebShopInformation and
    (for a child) the extra UnstructuredInformation members."""
    short = f"{name} - {text_in(_VALUES['Material'], lang)}"
    result = {
        "short": jstr(short),
        "meta_name": jstr(name),
        "meta_description": jstr(f"{name}: {short}"),
        "meta_keywords": jstr(keywords),
        "web_shop": _web_shop(lang),
    }
    result["meta"] = (
        f',"MetaName":{result["meta_name"]},"MetaDescription":{result["meta_description"]},'
        f'"MetaKeywords":{result["meta_keywords"]}'
    )
    if variant is None:
        return result
    result["files"] = dumps(
        [
            {
                "Url": family.documents_url,
                "Description": text_in(_DRAWING, lang),
                "FileName": family.documents_name,
            }
        ]
    )
    members = {"PMSValue": variant.pms}
    if family.hex_place == 1:
        members["HexColor"] = variant.hex_color
    members.update(_carton_strings(family))
    result["unstructured"] = "".join(f",{jstr(k)}:{jstr(v)}" for k, v in members.items())
    return result


@functools.lru_cache(maxsize=64)
def _web_shop(lang: str) -> str:
    return dumps(
        {
            key: {
                "InformationLabel": text_in(labels, lang),
                "InformationValue": text_in(_VALUES[key], lang),
            }
            for key, labels in _LABELS.items()
        }
    )


def _comma(value: float) -> str:
    """A number as a decimal-comma string: 15.8 -> "15,8", 47.0 -> "47"."""
    return f"{value:g}".replace(".", ",")


def _carton_strings(family: RichFamily) -> dict[str, str]:
    strings = {}
    if family.carton is not None:
        length, width, height, net, _, _ = family.carton
        strings.update(
            OuterCartonLengthCM=_comma(length),
            OuterCartonWidthCM=_comma(width),
            OuterCartonHeightCM=_comma(height),
            OuterCartonWeightNetKG=_comma(net),
        )
    strings.update(
        ItemBoxLengthCM="12,5",
        ItemBoxWidthCM="8",
        ItemBoxHeightCM="3,5",
        ItemBoxDimensions="12,5 x 8 x 3,5 cm",
        ItemWeightWithAccessoriesKG="0,245",
        NeedBatteries=str(family.usb),
        BatteryWeight="0,05" if family.usb else "0",
    )
    return strings


def default_products(regions: tuple[tuple[str, str], ...], skus: list[str]) -> str:
    """DefaultProducts for every region; every third region defaults to the second child."""
    return dumps(
        {
            key: skus[1] if n % 3 == 2 and len(skus) > 1 else skus[0]
            for n, (key, _) in enumerate(regions)
        }
    )


def variant_expected(family: RichFamily, variant: RichVariant) -> dict:
    return {
        "videos": [dict(v) for v in family.videos],
        "release_date": family.release_date,
        "country_of_origin": family.country_of_origin,
        "carton": family.carton_expected(),
        "hex_color": f"#{variant.hex_color}" if variant.hex_color else "",
        "filters": dict(family.filters),
        "extra_keys": sorted(k for k, _ in family.extra_members),
    }
