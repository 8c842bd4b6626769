"""The "whole feed" part of the bundled sample: regions, print data and rich fields.

:mod:`.build_sample_feed` builds every family as a plain document first; a family with a
:class:`Whole` then goes through :func:`apply`, which adds what real files carry besides
names and one price list (format notes 2.6, 2.6a, 2.7):

* price blocks for several regions (the nine locales, with CHF, GBP and SEK), each with its own
  MOQ, quantity step and VAT; optionally an OnRequest tier, a Price 0 tier (OnRequest false)
  and tiers in descending order, in the first child;
* print positions, inline (``ImprintPositions[].ImprintOptions[]``) or referenced (root
  ``ImprintReferences`` {hash: option}, positions' ``ImprintOptionsReferences``
  {hash: {"Sku": option Sku}}), optionally with a repeated PositionCode and a reference to a
  hash the root does not hold;
* rich fields: videos, documents, short/meta texts, several WebShopInformation keys, filters,
  hex colour and PMS value, delivery time, release date, carton strings with decimal commas,
  country of origin, tariff with a space, secondary categories, DefaultProducts for every
  region and keys no importer knows.

Everything is computed from the family's own data, no randomness: the output is the same on
every run. Pure Python.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from .feedgen import NINE_LOCALE_REGIONS
from .feedgen_print import COST_KINDS, POSITIONS, TECHNIQUES, text_in

__all__ = ["NINE_LOCALE_REGIONS", "PrintData", "Rich", "Whole", "apply"]

# Per-region block settings of the sample: (MOQ, step, VatPercentage, VatSettingId), a
# currency factor against EUR and a regional shift of the price in percent.
_REGION_SETTINGS: dict[str, tuple[int | None, int | None, float | int | None, int | None]] = {
    "nl-NL": (1, 1, 0, 1),
    "nl-BE": (1, 1, 0, 1),
    "de-DE": (50, 50, 0, 1),
    "de-CH": (1, 1, 8.1, 2),
    "fr-BE": (1, 1, 0, 1),
    "fr-FR": (None, None, None, None),
    "es-ES": (100, 25, 0, 3),
    "en-GB": (1, 1, 20, 2),
    "sv-SE": (1, 1, 25, 2),
}
_FX = {"EURO": Decimal("1"), "CHF": Decimal("0.96"), "GBP": Decimal("0.86"), "SEK": Decimal("11.5")}
_SHIFT = (0, 2, 3, 0, 2, 1, 4, 0, 0)
_ALT_QUANTITIES = (1, 250, 1000, 2500)
_OPTION_QUANTITIES = (50, 100, 250, 500, 1000)


@dataclass(frozen=True)
class PrintData:
    shape: str  # "inline" or "referenced"
    positions: int
    options: int
    costs: int
    area_images: tuple[str, ...]  # image keys, cycled over the positions
    duplicate_in_child: int | None = None  # 0-based child that repeats its first PositionCode
    dangling: bool = False  # first child references a hash the root lacks (referenced only)


@dataclass(frozen=True)
class Rich:
    video: str  # "list", "string" or "none"
    release: str  # as sent: "2019-08-16" or "01.05.2025"
    origins: tuple[str, ...]  # CountryOfOrigin per child (cycled)
    tariff: str
    hex_in: str  # "nld" or "languages"
    drawing: str  # image key of the technical drawing (InformationFiles)
    unknown_keys: bool = True
    secondary: tuple[str, ...] = ()


@dataclass(frozen=True)
class Whole:
    regions: tuple[tuple[str, str], ...] = ()  # () = keep the supplier's single region
    price_traps: bool = False
    print: PrintData | None = None
    rich: Rich | None = None
    extra: tuple[Callable[[dict], None], ...] = field(default=())


def _round(value: Decimal) -> float:
    return float(value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


# ---------------------------------------------------------------------- prices


def _tiers(base: Decimal, quantities, valuta: str, step: str = "0.94") -> list[dict]:
    return [
        {
            "Price": _round(base * Decimal(step) ** n),
            "Quantity": qty,
            "OnRequest": False,
            "Valuta": valuta,
        }
        for n, qty in enumerate(quantities)
    ]


def region_blocks(
    base: Decimal,
    regions: tuple[tuple[str, str], ...],
    sell_qty: tuple[int, ...],
    buy_qty: tuple[int, ...],
    *,
    moq: int = 1,
    traps: bool = False,
) -> dict:
    """{region: block} from one EUR base. Traps: an OnRequest tier in en-GB, a Price 0 tier
    (OnRequest false) in sv-SE, descending tiers in de-CH."""
    blocks = {}
    for n, (key, valuta) in enumerate(regions):
        price = base * _FX.get(valuta, Decimal(1)) * (100 + _SHIFT[n % len(_SHIFT)]) / 100
        quantities = _ALT_QUANTITIES if n % 3 == 2 and sell_qty[0] == 1 else sell_qty
        sell = _tiers(price, quantities, valuta)
        buy = _tiers(price * Decimal("0.62"), buy_qty, valuta)
        if traps and key == "en-GB":
            sell.append({"Price": 0.0, "Quantity": 10000, "OnRequest": True, "Valuta": valuta})
        if traps and key == "sv-SE":
            sell.append({"Price": 0.0, "Quantity": 5000, "OnRequest": False, "Valuta": valuta})
        if traps and key == "de-CH":
            sell.reverse()
            buy.reverse()
        region_moq, step, vat, vat_setting = _REGION_SETTINGS.get(key, (1, 1, 0, 1))
        blocks[key] = {
            "RecommendedSellingPrice": sell,
            "GeneralBuyingPrice": buy,
            "MinimumOrderQuantity": max(region_moq, moq) if region_moq else region_moq,
            "QuantityIncrements": step,
            "VatPercentage": vat,
            "VatSettingId": vat_setting,
        }
    return blocks


def _summary(children: list[dict]) -> dict:
    """Root prices: per region the lowest price at the largest priced quantity."""
    result = {}
    for key in children[0]["ProductPriceCountryBased"]:
        tops = []
        for child in children:
            tiers = child["ProductPriceCountryBased"][key]["RecommendedSellingPrice"]
            priced = [t for t in tiers if t["OnRequest"] is False and t["Price"] > 0]
            tops.append(max(priced, key=lambda t: t["Quantity"]))
        cheapest = dict(min(tops, key=lambda t: t["Price"]))
        cheapest["Quantity"] = tops[0]["Quantity"]
        block = children[0]["ProductPriceCountryBased"][key]
        result[key] = {
            "RecommendedSellingPrice": [cheapest],
            "GeneralBuyingPrice": [],
            "MinimumOrderQuantity": block["MinimumOrderQuantity"],
            "QuantityIncrements": block["QuantityIncrements"],
            "VatPercentage": block["VatPercentage"],
            "VatSettingId": block["VatSettingId"],
        }
    return result


# ---------------------------------------------------------------------- print data


def _countries(regions: tuple[tuple[str, str], ...]) -> dict[str, bool]:
    codes = [key[3:] if len(key) == 5 and key[2] == "-" else key[:2] for key, _ in regions]
    return {code.upper(): True for code in codes}


def _option(
    code: str,
    position: tuple[str, dict[str, str]],
    k: int,
    j: int,
    area: tuple[int, int],
    regions: tuple[tuple[str, str], ...],
    languages: tuple[str, ...],
    costs: int,
) -> dict:
    position_code, _ = position
    tech, imprint_type, tech_names, max_colours = TECHNIQUES[(k + j // 3) % len(TECHNIQUES)]
    width, height = area
    if max_colours > 0:
        colours: int | None = j % 3 + 1
        label = f"{colours} colour" + ("s" if colours > 1 else "")
        print_code = f"{tech}{colours}"
        names = {lang: f"{text_in(tech_names, lang)} {label}" for lang in languages}
    else:
        width, height = width * (3 - j % 3) // 3, height * (3 - j % 3) // 3
        colours = None if max_colours == 0 else 0
        label = "none" if max_colours == 0 else "full colour"
        print_code = f"{tech}{width}X{height}"
        names = {lang: f"{text_in(tech_names, lang)} {width} x {height} mm" for lang in languages}
    supplier_sku = f"{print_code}-{position_code}-{j + 1:02d}"
    base = Decimal(25 + 7 * j + 3 * k) / 100 * (colours or 1)
    countries = _countries(regions)
    if j % 4 == 3:
        countries[next(reversed(countries))] = False
    unstructured: dict[str, str] = {}
    if max_colours > 0:
        unstructured["MaxColors"] = str(max_colours)
    unstructured["PrintCode"] = print_code
    if max_colours != 0:
        unstructured["IsDefault"] = str(j == 0)
    unstructured["ImprintMaxSizeInCm2"] = f"{width * height / 100:g}".replace(".", ",")
    unstructured["PositionX"] = str(5 * k)
    unstructured["PositionY"] = str(10 + j)
    return {
        "Sku": f"{code}-{supplier_sku}",
        "SupplierSku": supplier_sku,
        "SupplierPrintCode": print_code,
        "ImprintTexts": {
            lang: {
                "Name": names[lang],
                "Description": None if j % 3 == 2 else f"{names[lang]}, max. {width} x {height} mm",
            }
            for lang in languages
        },
        "PrintColor": colours,
        "PrintColorAsText": label,
        "FastEditorNumberOfColors": "" if colours is None else str(colours),
        "Dimension": f"{width} x {height} mm",
        "DimensionsWidth": width,
        "DimensionsHeight": height,
        "DimensionsDepth": 0,
        "DimensionsDiameter": width if position_code == "LID" else 0,
        "ImprintType": imprint_type,
        "ChildImprints": None,
        "IsActiveCountryBased": countries,
        "IsActiveRegionBased": None,
        "ImportantInformation": None,
        "UnstructuredInformation": unstructured,
        "ProductPriceCountryBased": region_blocks(
            base, regions, _OPTION_QUANTITIES, (50, 500), moq=50
        ),
        "ProductPriceRegionBased": None,
        "ImprintCosts": [
            _cost(code, supplier_sku, c, colours, k + j, regions, languages) for c in range(costs)
        ],
    }


def _cost(code, option_sku, c, colours, place, regions, languages) -> dict:
    kind, names, (low, _) = COST_KINDS[c % len(COST_KINDS)]
    requirement = None
    amount: int | float | None = 1
    if kind == "SETUP":
        calc_type, requirement = "Unique", {"Operator": "Always", "Amount": 0}
    elif kind == "COLOUR":
        calc_type = "PerColor" if place % 3 == 0 else "Multiplied"
        amount = colours or None
    elif kind == "FILM":
        calc_type = "Unique"
    else:
        calc_type, amount = "Multiplied", 0.5
    return {
        "Sku": f"{code}-{option_sku}-{kind}",
        "SupplierSku": f"{option_sku}-{kind}",
        "Texts": {
            lang: {
                "Name": text_in(names, lang),
                "Description": None if c % 2 else f"{text_in(names, lang)} per order",
            }
            for lang in languages
        },
        "ProductPriceCountryBased": region_blocks(Decimal(low) / 100, regions, (1,), (1,)),
        "CalculationType": calc_type,
        "CalculationAmount": amount,
        "Requirement": requirement,
        "IsActiveCountryBased": _countries(regions),
        "IsActiveRegionBased": None,
        "UnstructuredInformation": None,
    }


_AREAS = ((80, 40), (150, 150), (60, 30), (200, 100), (40, 20), (100, 60), (50, 50), (25, 10))


def _positions(doc: dict, spec: PrintData, regions, languages, urls) -> list[dict]:
    code, stem = doc["ANumber"], doc["SupplierSku"]
    positions = []
    for k in range(spec.positions):
        position_code, names = POSITIONS[k]
        width, height = _AREAS[k % len(_AREAS)]
        image = urls[spec.area_images[k % len(spec.area_images)]]
        file_name = None if k % 2 else f"{stem}_{position_code}.png"
        texts = {}
        for lang in languages:
            name = f"{text_in(names, lang)} (max {width} x {height} mm)"
            texts[lang] = {
                "Name": name,
                "Description": None if k % 3 == 2 else f"{text_in(names, lang)}, centred",
                "Images": [{"Url": image, "Description": name, "FileName": file_name}],
            }
        positions.append(
            {
                "PositionCode": position_code,
                "SupplierPositionCode": f"{k + 1:02d}-{position_code[:3]}",
                "ImprintLocationTexts": texts,
                "UnstructuredInformation": {"MaxPrintArea": f"{width} x {height} mm"},
                "PositionInformation": {"MaxWidth": width, "MaxHeigth": height},
                "ImprintOptions": [
                    _option(
                        code, POSITIONS[k], k, j, (width, height), regions, languages, spec.costs
                    )
                    for j in range(spec.options)
                ],
            }
        )
    return positions


def _option_hash(option: dict) -> str:
    text = json.dumps(option, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _add_print(doc: dict, spec: PrintData, regions, languages, urls) -> None:
    positions = _positions(doc, spec, regions, languages, urls)
    references: dict[str, dict] = {}
    for n, child in enumerate(doc["ChildProducts"]):
        entries = json.loads(json.dumps(positions))
        if spec.duplicate_in_child == n:
            again = json.loads(json.dumps(positions[0]))
            for block in again["ImprintLocationTexts"].values():
                block["Name"] += " (2)"
            again["ImprintOptions"].reverse()
            entries.insert(1, again)
        if spec.shape == "referenced":
            for p, entry in enumerate(entries):
                refs = {}
                for option in entry.pop("ImprintOptions"):
                    digest = _option_hash(option)
                    references.setdefault(digest, option)
                    refs[digest] = {"Sku": option["Sku"]}
                if spec.dangling and n == 0 and p == 0:
                    missing = hashlib.sha256(f"{doc['Sku']} withdrawn".encode()).hexdigest()[:32]
                    refs = dict(
                        [
                            *list(refs.items())[:1],
                            (missing, {"Sku": "WITHDRAWN-01"}),
                            *list(refs.items())[1:],
                        ]
                    )
                entry["ImprintOptionsReferences"] = refs
        child["ImprintPositions"] = entries
    if spec.shape == "referenced":
        doc["ImprintReferences"] = references


# ---------------------------------------------------------------------- rich fields

_HEX = {
    "Blue": "1F2D5E",
    "Black": "1A1A1A",
    "Grey": "8A8D8F",
    "White": "FFFFFF",
    "Red": "C8102E",
    "Green": "2E8448",
    "Yellow": "F2C12E",
    "Orange": "EC841C",
}
_PMS = {
    "Blue": "2767 C",
    "Black": "Black C",
    "Grey": "Cool Gray 8 C",
    "White": "White",
    "Red": "186 C",
    "Green": "348 C",
    "Yellow": "7548 C",
    "Orange": "151 C",
}
_WEB_SHOP = {
    "Compliance": (
        {"de": "Konformität", "en": "Compliance", "fr": "Conformité", "nl": "Conformiteit"},
        {
            "de": "REACH-konform",
            "en": "REACH compliant",
            "fr": "Conforme REACH",
            "nl": "REACH-conform",
        },
    ),
    "PackagingInformation": (
        {"de": "Verpackung", "en": "Packaging", "fr": "Emballage", "nl": "Verpakking"},
        {
            "de": "Einzeln im Polybeutel",
            "en": "Individually in a polybag",
            "fr": "À l'unité en sachet",
            "nl": "Per stuk in een polyzak",
        },
    ),
    "RefiningInfoText": (
        {"de": "Veredelung", "en": "Decoration", "fr": "Marquage", "nl": "Bedrukking"},
        {
            "de": "Siebdruck, Tampondruck",
            "en": "Screen print, pad print",
            "fr": "Sérigraphie, tampographie",
            "nl": "Zeefdruk, tampondruk",
        },
    ),
}
_DRAWING = {
    "de": "Technische Zeichnung",
    "en": "Technical drawing",
    "fr": "Dessin technique",
    "nl": "Technische tekening",
}


def _comma(value: float) -> str:
    return f"{value:g}".replace(".", ",")


def _add_rich(doc: dict, spec: Rich, regions, urls) -> None:
    stem = doc["SupplierSku"]
    videos: object = None
    if spec.video == "list":
        videos = [
            {
                "Url": f"https://video.example.com/watch?v={stem}-1",
                "Description": "Product video",
                "FileName": f"{stem}.mp4",
            },
            {
                "Url": f"https://video.example.com/watch?v={stem}-2",
                "Description": "360° view",
                "FileName": None,
            },
        ]
    elif spec.video == "string":
        videos = f"https://video.example.com/watch?v={stem}"
    children = doc["ChildProducts"]
    for n, child in enumerate(children):
        nld = child["NonLanguageDependedProductDetails"]
        colour = nld["SearchColor"]
        child["VideoUrl"] = videos
        nld["CountryOfOrigin"] = spec.origins[n % len(spec.origins)]
        nld["CustomsTariffNumber"] = spec.tariff
        nld["SecondaryCategories"] = list(spec.secondary)
        nld["ProductFiltersByGroup"] = {
            **(nld.get("ProductFiltersByGroup") or {}),
            "GiftWrappingPossible": "True",
            "CustomSleevePossible": "False",
        }
        if spec.hex_in == "nld":
            nld["HexColor"] = _HEX.get(colour, "808080")
        carton = {
            key: nld[key]
            for key in (
                "OuterCartonLengthCM",
                "OuterCartonWidthCM",
                "OuterCartonHeightCM",
                "OuterCartonWeightNetKG",
            )
            if isinstance(nld.get(key), float)
        }
        child["UnstructuredInformation"] = {
            "ReleaseDate": spec.release,
            "DeliveryTimeInDays": "12",
            "DeliveryTimeInfoText": "approx. 12 working days",
        }
        for lang, details in child["ProductDetails"].items():
            name = details["Name"]
            material = ((details.get("WebShopInformation") or {}).get("Material") or {}).get(
                "InformationValue"
            )
            details["ShortDescription"] = f"{name} - {material}" if material else name
            details["MetaName"] = name
            details["MetaDescription"] = f"{name}, printed with your logo"
            details["MetaKeywords"] = ",".join(name.lower().split()[:3])
            details["InformationFiles"] = [
                {
                    "Url": urls[spec.drawing],
                    "Description": text_in(_DRAWING, lang),
                    "FileName": f"{stem}_drawing.png",
                }
            ]
            web_shop = details.get("WebShopInformation") or {}
            for key, (labels, values) in _WEB_SHOP.items():
                web_shop[key] = {
                    "InformationLabel": text_in(labels, lang),
                    "InformationValue": text_in(values, lang),
                }
            details["WebShopInformation"] = web_shop
            info = details.get("UnstructuredInformation") or {}
            info["PMSValue"] = _PMS.get(colour, "Cool Gray 6 C")
            if spec.hex_in == "languages":
                info["HexColor"] = _HEX.get(colour, "808080")
            info.update({key: _comma(value) for key, value in carton.items()})
            info.update(
                ItemBoxLengthCM="12,5",
                ItemBoxWidthCM="8",
                ItemBoxHeightCM="3,5",
                ItemBoxDimensions="12,5 x 8 x 3,5 cm",
                ItemWeightWithAccessoriesKG="0,245",
                NeedBatteries=str(nld.get("USBItem") is True),
                BatteryWeight="0,05" if nld.get("USBItem") is True else "0",
            )
            details["UnstructuredInformation"] = info
        if spec.unknown_keys:
            child["V1Sku"] = f"{child['SupplierSku']}-V1"
            child["GatewayInformation"] = {"Source": "PIM", "LastChange": "2025-03-01T10:00:00"}
            child["WEEE"] = {"WEEERegistrationNumber": "DE 12345678", "WEEECategory": "5"}
            child["TexodataCategory"] = "Promotional items / " + nld["Category"].split("/")[0]
    doc["UnstructuredInformation"] = {"ReleaseDate": spec.release, "DeliveryTimeInDays": "12"}
    if spec.unknown_keys:
        doc["V1Sku"] = f"{stem}-V1"
    if regions:
        skus = [c["Sku"] for c in children]
        doc["DefaultProducts"] = {
            key: skus[1] if n % 3 == 2 and len(skus) > 1 else skus[0]
            for n, (key, _) in enumerate(regions)
        }


# ---------------------------------------------------------------------- entry point


def apply(doc: dict, whole: Whole, variant_prices: list[str], supplier, urls: dict) -> None:
    """Add the whole feed to a plain family document (in place)."""
    languages = tuple(supplier.languages)
    regions = whole.regions or ((supplier.region, "EURO"),)
    if whole.regions:
        for n, child in enumerate(doc["ChildProducts"]):
            child["ProductPriceCountryBased"] = region_blocks(
                Decimal(variant_prices[n]),
                whole.regions,
                supplier.sell_qty,
                supplier.buy_qty,
                moq=supplier.moq,
                traps=whole.price_traps and n == 0,
            )
        doc["ProductPriceCountryBased"] = _summary(doc["ChildProducts"])
        doc["DefaultProducts"] = {key: doc["ChildProducts"][0]["Sku"] for key, _ in regions}
    if whole.print is not None:
        _add_print(doc, whole.print, regions, languages, urls)
    if whole.rich is not None:
        _add_rich(doc, whole.rich, whole.regions, urls)
    for tweak in whole.extra:
        tweak(doc)
