"""Parser for one Promidata product-family JSON file.

Shape (format notes, section 2): one file = one family = one root object; its variants are
the objects in ``ChildProducts``. The root is a summary (zero dimensions, one price tier,
"Undefined" colour), so prices, dimensions, colours and images are read from the children
only. ``ANumber`` is the supplier code, never a family key.

The feed is sloppy (null / [] / "" interchangeably, "True" strings, decimal commas), so every
field goes through :mod:`.coerce`. Structural problems that make the whole file unusable raise
:class:`FeedDataError`; anything smaller is tolerated and reported in ``FamilyRecord.warnings``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import urljoin

from .coerce import as_bool, as_decimal, as_dict, as_int, as_list, as_str, currency_code
from .records import FamilyRecord, FeedDataError, ImageRecord, PriceTierRecord, VariantRecord

DEFAULT_PRICE_REGIONS = ("EURO", "DEU", "BENELUX")
DEFAULT_LANGUAGES = ("en", "de", "nl", "fr")

_COLOR_NAMES = frozenset(name.casefold() for name in ("Color", "Colour", "Farbe"))
_SIZE_NAMES = frozenset(name.casefold() for name in ("Size", "Größe", "Groesse", "Maat"))
_PRICE_LISTS = (("sell", "RecommendedSellingPrice"), ("buy", "GeneralBuyingPrice"))
_DIMENSIONS = (
    ("length_mm", "DimensionsLength"),
    ("width_mm", "DimensionsWidth"),
    ("height_mm", "DimensionsHeight"),
    ("diameter_mm", "DimensionsDiameter"),
    ("depth_mm", "DimensionsDepth"),
)
_NLD = "NonLanguageDependedProductDetails"  # sic: Promidata's spelling


def parse_family(
    data: bytes | str | dict,
    *,
    family_sku: str,
    source_url: str,
    price_regions: Sequence[str] = DEFAULT_PRICE_REGIONS,
    languages: Sequence[str] = DEFAULT_LANGUAGES,
) -> FamilyRecord:
    """Parse one family JSON (raw bytes/str or an already decoded dict).

    Contract:
    * raises :class:`FeedDataError` for broken JSON, a top level that is not an object and a
      ``ChildProducts`` that is neither a list nor null; nothing else raises;
    * ``sku`` is always ``family_sku`` (the file name stem is the key);
    * names, descriptions, category and brand come from the root; when the root has none,
      from the first child that has them;
    * every tolerated oddity (skipped child, dropped tier, SKU mismatch...) is a warning;
    * image URLs are resolved against ``source_url``.
    """
    root = _load_root(data)
    context = _Context(
        source_url=source_url,
        languages=tuple(lang.lower() for lang in languages),
        price_regions=tuple(price_regions),
    )
    root_sku = as_str(root.get("Sku"))
    if root_sku and root_sku != family_sku:
        context.warn(
            f"root Sku {root_sku!r} differs from file name {family_sku!r}; using the latter"
        )
    children = _usable_children(root, context)
    root_blocks = _language_blocks(root.get("ProductDetails"), context.languages)
    variants = tuple(_parse_variant(child, root_blocks, context) for child in children)
    root_nld = as_dict(root.get(_NLD))
    child_nlds = [as_dict(child.get(_NLD)) for child in children]
    child_blocks = [
        _language_blocks(child.get("ProductDetails"), context.languages) for child in children
    ]
    return FamilyRecord(
        sku=family_sku,
        supplier_sku=as_str(root.get("SupplierSku")),
        supplier_code=as_str(root.get("ANumber")),
        supplier_name=_supplier_name(root, root_blocks),
        names=_first_non_empty(_texts(blocks, "Name") for blocks in [root_blocks, *child_blocks]),
        descriptions=_first_non_empty(
            _texts(blocks, "Description") for blocks in [root_blocks, *child_blocks]
        ),
        category_key=_first_str(nld.get("Category") for nld in [root_nld, *child_nlds]),
        brand=_first_str(nld.get("Brand") for nld in [root_nld, *child_nlds]),
        variants=variants,
        warnings=tuple(context.warnings),
    )


# --------------------------------------------------------------------------- loading


def _load_root(data: bytes | str | dict) -> dict:
    """Decode the input and insist on a JSON object at the top level."""
    if isinstance(data, (bytes, bytearray, memoryview)):
        try:
            data = bytes(data).decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise FeedDataError(f"family JSON is not valid UTF-8 (byte {exc.start})") from exc
    if isinstance(data, str):
        data = _loads(data.removeprefix("\ufeff"))
    if not isinstance(data, dict):
        raise FeedDataError(f"family JSON must be an object at the top level, got {_kind(data)}")
    return data


def _loads(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise FeedDataError(
            f"broken JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from exc
    except RecursionError as exc:
        raise FeedDataError("broken JSON: nested too deeply") from exc


def _kind(value: Any) -> str:
    """JSON name of a decoded value's type, for error messages."""
    if value is None:
        return "null"
    names = {dict: "object", list: "array", str: "string", bool: "boolean"}
    return names.get(
        type(value), "number" if isinstance(value, (int, float)) else type(value).__name__
    )


# --------------------------------------------------------------------------- helpers


@dataclass
class _Context:
    """Per-call settings plus the warnings collected while parsing."""

    source_url: str
    languages: tuple[str, ...]
    price_regions: tuple[str, ...]
    warnings: list[str] = field(default_factory=list)

    def warn(self, message: str) -> None:
        self.warnings.append(message)


def _language_blocks(details: Any, preferred: Sequence[str]) -> dict[str, dict]:
    """``ProductDetails`` as {lang: block}, preferred languages first, the rest sorted.

    Language keys are lower-cased; null or non-object blocks become {} so callers can read
    them blindly. When two keys differ only in case, the first one in the file wins.
    """
    blocks: dict[str, dict] = {}
    for key, block in as_dict(details).items():
        lang = as_str(key).lower()
        if lang and lang not in blocks:
            blocks[lang] = as_dict(block)
    order = [lang for lang in preferred if lang in blocks]
    order += sorted(lang for lang in blocks if lang not in order)
    return {lang: blocks[lang] for lang in order}


def _texts(blocks: dict[str, dict], field_name: str) -> dict[str, str]:
    """{lang: text} for every language whose ``field_name`` is a non-empty string."""
    texts = {lang: as_str(block.get(field_name)) for lang, block in blocks.items()}
    return {lang: text for lang, text in texts.items() if text}


def _first_non_empty(candidates: Iterable[dict[str, str]]) -> dict[str, str]:
    for candidate in candidates:
        if candidate:
            return candidate
    return {}


def _first_str(values: Iterable[Any]) -> str:
    for value in values:
        text = as_str(value)
        if text:
            return text
    return ""


def _supplier_name(root: dict, root_blocks: dict[str, dict]) -> str:
    """``SupplierNameToShow`` from the root's UnstructuredInformation or any language block."""
    sources = [root, *root_blocks.values()]
    return _first_str(
        as_dict(source.get("UnstructuredInformation")).get("SupplierNameToShow")
        for source in sources
    )


def _usable_children(root: dict, context: _Context) -> list[dict]:
    """The child objects that become variants: each has a Sku, SKUs are unique."""
    raw = root.get("ChildProducts")
    if raw is None or raw == []:
        context.warn("family has no ChildProducts; no variants")
        return []
    if not isinstance(raw, list):
        raise FeedDataError(f"ChildProducts must be an array, got {_kind(raw)}")
    children: list[dict] = []
    seen: set[str] = set()
    for index, child in enumerate(raw, start=1):
        if not isinstance(child, dict):
            context.warn(f"child #{index} is {_kind(child)}, not an object; skipped")
            continue
        sku = as_str(child.get("Sku"))
        if not sku:
            context.warn(f"child #{index} has no Sku; skipped")
        elif sku in seen:
            context.warn(f"duplicate child Sku {sku} (child #{index}) dropped; first one kept")
        else:
            seen.add(sku)
            children.append(child)
    return children


# --------------------------------------------------------------------------- variants


def _parse_variant(child: dict, root_blocks: dict[str, dict], context: _Context) -> VariantRecord:
    sku = as_str(child.get("Sku"))
    blocks = _language_blocks(child.get("ProductDetails"), context.languages)
    nld = as_dict(child.get(_NLD))
    attributes = _attributes(blocks)
    search_color = _search_color(nld)
    region, region_block = _choose_region(child.get("ProductPriceCountryBased"), context)
    dimensions = {name: _measure(nld.get(key), sku, key, context) for name, key in _DIMENSIONS}
    return VariantRecord(
        sku=sku,
        supplier_sku=as_str(child.get("SupplierSku")),
        ean=as_str(child.get("Ean")),
        names=_texts(blocks, "Name"),
        color=_axis_value(attributes, _COLOR_NAMES, context.languages) or search_color,
        size=_axis_value(attributes, _SIZE_NAMES, context.languages),
        search_color=search_color,
        attributes=attributes,
        weight_g=_measure(nld.get("Weight"), sku, "Weight", context),
        **dimensions,
        country_of_origin=as_str(nld.get("CountryOfOrigin")).upper()[:3],
        customs_tariff_number=as_str(nld.get("CustomsTariffNumber")),
        price_region=region,
        minimum_order_quantity=_positive_int(region_block.get("MinimumOrderQuantity")),
        quantity_increment=_positive_int(region_block.get("QuantityIncrements")),
        price_tiers=_price_tiers(region, region_block, sku, context),
        images=_variant_images(blocks, root_blocks, context),
    )


def _attributes(blocks: dict[str, dict]) -> dict[str, dict[str, dict[str, str]]]:
    """Merge ConfigurationFields of all languages.

    Result: {ConfigurationName: {"label": {lang: translated name}, "value": {lang: value}}}.
    Within one language a repeated ConfigurationName keeps its first entry.
    """
    attributes: dict[str, dict[str, dict[str, str]]] = {}
    for lang, block in blocks.items():
        for entry in as_list(block.get("ConfigurationFields")):
            entry = as_dict(entry)
            name = as_str(entry.get("ConfigurationName"))
            if not name:
                continue
            slot = attributes.setdefault(name, {"label": {}, "value": {}})
            label = as_str(entry.get("ConfigurationNameTranslated"))
            value = as_str(entry.get("ConfigurationValue"))
            if label:
                slot["label"].setdefault(lang, label)
            if value:
                slot["value"].setdefault(lang, value)
    return attributes


def _axis_value(attributes: dict, names: frozenset[str], languages: Sequence[str]) -> str:
    """Value of the first attribute named like the axis, in the first available language."""
    for name, slot in attributes.items():
        if name.casefold() not in names:
            continue
        values: dict[str, str] = slot["value"]
        for lang in [*languages, *values]:
            if values.get(lang):
                return values[lang]
    return ""


def _search_color(nld: dict) -> str:
    color = as_str(nld.get("SearchColor"))
    return "" if color.lower() == "undefined" else color


def _measure(value: Any, sku: str, key: str, context: _Context) -> Decimal | None:
    """Weight/dimension as Decimal; missing or unparsable -> None, 0 stays 0, negative -> None."""
    number = as_decimal(value)
    if number is not None and number < 0:
        context.warn(f"{sku}: negative {key} {value!r} ignored")
        return None
    return number


def _positive_int(value: Any) -> int | None:
    """MOQ / quantity step: a whole number >= 1, else None (0 means "not set")."""
    number = as_int(value)
    return number if number is not None and number > 0 else None


# --------------------------------------------------------------------------- prices


def _choose_region(prices: Any, context: _Context) -> tuple[str, dict]:
    """Pick the price region: the first preferred one present, else the first in the file.

    Only regions whose block is an object count as present. Keys are compared
    case-insensitively and reported as written in the file. Returns ("", {}) without prices.
    """
    present = {
        key: block
        for key, block in as_dict(prices).items()
        if isinstance(key, str) and key.strip() and isinstance(block, dict)
    }
    by_upper: dict[str, str] = {}
    for key in present:
        by_upper.setdefault(key.strip().upper(), key)
    for wanted in context.price_regions:
        key = by_upper.get(as_str(wanted).upper())
        if key is not None:
            return key, present[key]
    first = next(iter(present), None)
    return ("", {}) if first is None else (first, present[first])


def _price_tiers(
    region: str, block: dict, sku: str, context: _Context
) -> tuple[PriceTierRecord, ...]:
    """Sell and buy tiers of one region, sorted by (kind, min_quantity), first duplicate wins."""
    tiers: dict[tuple[str, int], PriceTierRecord] = {}
    for kind, list_key in _PRICE_LISTS:
        for raw in as_list(block.get(list_key)):
            tier = _price_tier(raw, region, kind, sku, context)
            if tier is not None:
                tiers.setdefault((tier.kind, tier.min_quantity), tier)
    return tuple(tiers[key] for key in sorted(tiers))


def _price_tier(
    raw: Any, region: str, kind: str, sku: str, context: _Context
) -> PriceTierRecord | None:
    """One tier, or None (with a warning) when it cannot be used."""
    where = f"{sku}: {kind} tier in {region}"
    if not isinstance(raw, dict):
        context.warn(f"{where} is {_kind(raw)}, not an object; dropped")
        return None
    quantity = _tier_quantity(raw.get("Quantity"))
    if quantity is None:
        context.warn(f"{where} has unusable Quantity {raw.get('Quantity')!r}; dropped")
        return None
    on_request = as_bool(raw.get("OnRequest"))
    price = Decimal("0") if on_request else as_decimal(raw.get("Price"))
    if price is None:
        context.warn(f"{where} from {quantity} has unparsable Price {raw.get('Price')!r}; dropped")
        return None
    if price < 0:
        context.warn(f"{where} from {quantity} has negative Price {raw.get('Price')!r}; dropped")
        return None
    return PriceTierRecord(
        region=region,
        kind=kind,
        min_quantity=quantity,
        price=price,
        currency=currency_code(raw.get("Valuta")),
        on_request=on_request,
    )


def _tier_quantity(value: Any) -> int | None:
    """Tier start quantity: missing or 0 means 1; negative or fractional is unusable (None)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return 1
    number = as_int(value)
    if number is None or number < 0:
        return None
    return max(number, 1)


# --------------------------------------------------------------------------- images


def _variant_images(
    blocks: dict[str, dict], root_blocks: dict[str, dict], context: _Context
) -> tuple[ImageRecord, ...]:
    """Main images of every language, then every language's gallery, de-duplicated by URL.

    Falls back to the root's main image(s) when the child has none at all.
    """
    candidates = [block.get("Image") for block in blocks.values()]
    for block in blocks.values():
        candidates.extend(as_list(block.get("MediaGalleryImages")))
    images = _dedupe_images(candidates, context.source_url)
    if not images:
        images = _dedupe_images(
            (block.get("Image") for block in root_blocks.values()), context.source_url
        )
    return images


def _dedupe_images(candidates: Iterable[Any], source_url: str) -> tuple[ImageRecord, ...]:
    images: list[ImageRecord] = []
    seen: set[str] = set()
    for candidate in candidates:
        image = as_dict(candidate)
        url = _resolve(image.get("Url"), source_url)
        if url is None or url in seen:
            continue
        seen.add(url)
        images.append(
            ImageRecord(url=url, file_name=as_str(image.get("FileName")), position=len(images))
        )
    return tuple(images)


def _resolve(raw_url: Any, source_url: str) -> str | None:
    """Absolute URL for an image ``Url`` string; None when missing or unusable."""
    if not isinstance(raw_url, str) or not raw_url.strip():
        return None
    try:
        return urljoin(source_url, raw_url.strip())
    except ValueError:
        return None
