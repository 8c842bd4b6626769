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

from promidata_sync.redaction import redact

from . import limits
from .coerce import as_bool, as_decimal, as_dict, as_int, as_list, as_str, currency_code
from .records import FamilyRecord, FeedDataError, ImageRecord, PriceTierRecord, VariantRecord

DEFAULT_PRICE_REGIONS = ("EURO", "DEU", "BENELUX")
DEFAULT_LANGUAGES = ("en", "de", "nl", "fr")
DEFAULT_MAX_CHILDREN = 1000
# How much of an offending value a warning quotes.
_SHOWN_CHARS = 60

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
    max_children: int = DEFAULT_MAX_CHILDREN,
) -> FamilyRecord:
    """Parse one family JSON (raw bytes/str or an already decoded dict).

    Contract:
    * raises :class:`FeedDataError` for broken JSON (including numbers Python refuses and
      documents nested too deeply), a file holding more than ``limits.MAX_JSON_CONTAINERS``
      objects and arrays, a top level that is not an object, a ``ChildProducts`` that is
      neither a list nor null, and more than ``max_children`` children; nothing else raises;
    * ``sku`` is always ``family_sku`` (the file name stem is the key);
    * names, descriptions, category and brand come from the root; when the root has none,
      from the first child that has them;
    * every value fits the catalog's columns (:mod:`.limits`). What does not fit is dropped
      with a warning: a child whose SKU does not fit is skipped; a tier whose quantity or price
      does not fit is dropped; any other field (a text, a number, an image URL) is left empty.
      Identifiers are never truncated, because a cut SKU or EAN names something else;
    * NUL and control characters are removed from every text, lone surrogates replaced;
      ``NaN`` and ``Infinity`` read as null;
    * every tolerated oddity (skipped child, dropped tier, SKU mismatch...) is a warning; the
      first ``limits.WARNINGS_KEPT`` are kept and ``warning_count`` counts them all;
    * image URLs are resolved against ``source_url``.
    """
    context = _Context(
        source_url=source_url,
        languages=tuple(lang.lower() for lang in languages),
        price_regions=tuple(price_regions),
        max_children=max_children,
    )
    root = _load_root(data, context)
    root_sku = as_str(root.get("Sku"))
    if root_sku and root_sku != family_sku:
        context.warn(
            f"root Sku {root_sku!r} differs from file name {family_sku!r}; using the latter"
        )
    children = _usable_children(root, context)
    root_blocks = _language_blocks(root.get("ProductDetails"), context)
    variants = tuple(_parse_variant(child, root_blocks, context) for child in children)
    root_nld = as_dict(root.get(_NLD))
    child_nlds = [as_dict(child.get(_NLD)) for child in children]
    child_blocks = [
        _language_blocks(child.get("ProductDetails"), context, warn=False) for child in children
    ]
    return FamilyRecord(
        sku=family_sku,
        supplier_sku=context.fit(as_str(root.get("SupplierSku")), limits.SKU_CHARS, "SupplierSku"),
        supplier_code=context.fit(
            as_str(root.get("ANumber")), limits.SUPPLIER_CODE_CHARS, "ANumber"
        ),
        supplier_name=context.fit(
            _supplier_name(root, root_blocks), limits.TEXT_CHARS, "SupplierNameToShow"
        ),
        names=_first_non_empty(_texts(blocks, "Name") for blocks in [root_blocks, *child_blocks]),
        descriptions=_first_non_empty(
            _texts(blocks, "Description") for blocks in [root_blocks, *child_blocks]
        ),
        category_key=_category_key(
            _first_str(nld.get("Category") for nld in [root_nld, *child_nlds]), context
        ),
        brand=context.fit(
            _first_str(nld.get("Brand") for nld in [root_nld, *child_nlds]),
            limits.TEXT_CHARS,
            "brand",
        ),
        variants=variants,
        warnings=tuple(context.warnings),
        warning_count=context.warning_count,
    )


# --------------------------------------------------------------------------- loading


def _load_root(data: bytes | str | dict, context: _Context) -> dict:
    """Decode the input, clean its texts and insist on a JSON object at the top level."""
    if isinstance(data, (bytes, bytearray, memoryview)):
        data = bytes(data)
        _check_containers(data.count(b"{") + data.count(b"["))
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise FeedDataError(f"family JSON is not valid UTF-8 (byte {exc.start})") from exc
    elif isinstance(data, str):
        _check_containers(data.count("{") + data.count("["))
    if isinstance(data, str):
        text = data.removeprefix("\ufeff")
        data = _loads(text, context)
        if limits.needs_cleaning(text):
            data, changed = limits.clean_tree(data)
            if changed:
                context.warn(f"NUL or control characters removed from {changed:,} text value(s)")
    if not isinstance(data, dict):
        raise FeedDataError(f"family JSON must be an object at the top level, got {_kind(data)}")
    return data


def _check_containers(count: int) -> None:
    """Refuse, before decoding, a file that would take too much memory to decode: every
    object and array costs far more in memory than its two bytes in the file. The count
    includes brackets inside strings, so it is an upper bound."""
    if count > limits.MAX_JSON_CONTAINERS:
        raise FeedDataError(
            f"family JSON holds up to {count:,} objects and arrays, more than the limit of "
            f"{limits.MAX_JSON_CONTAINERS:,}; not decoded"
        )


def _loads(text: str, context: _Context) -> Any:
    def constant(name: str) -> None:
        context.non_finite += 1
        return None

    try:
        value = json.loads(text, parse_constant=constant)
    except json.JSONDecodeError as exc:
        raise FeedDataError(
            f"broken JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from exc
    except RecursionError as exc:
        raise FeedDataError("broken JSON: nested too deeply") from exc
    except ValueError as exc:  # Python refuses integers of more than 4,300 digits
        raise FeedDataError(
            "broken JSON: a number with more digits than Python reads (4,300)"
            if "digits" in str(exc)
            else f"broken JSON: {str(exc)[:200]}"
        ) from exc
    if context.non_finite:
        context.warn(f"{context.non_finite:,} NaN or Infinity value(s) read as null")
    return value


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
    max_children: int = DEFAULT_MAX_CHILDREN
    warnings: list[str] = field(default_factory=list)
    warning_count: int = 0
    non_finite: int = 0

    def warn(self, message: str) -> None:
        """Record a warning; only the first ``limits.WARNINGS_KEPT`` are kept, all counted."""
        self.warning_count += 1
        if len(self.warnings) < limits.WARNINGS_KEPT:
            self.warnings.append(message)

    def fit(self, text: str, max_chars: int, what: str, sku: str = "") -> str:
        """``text`` if it fits a column of ``max_chars``, else "" with a warning."""
        if len(text) <= max_chars:
            return text
        where = f"{sku}: " if sku else ""
        self.warn(f"{where}{what} of {len(text):,} characters dropped (at most {max_chars})")
        return ""


def _show(value: Any) -> str:
    """A short repr of an offending value for a warning (a hostile value may be huge).

    Redacted before it is shortened: a URL cut in the middle of the profile GUID would no
    longer match the secret that the storing code hides, and would show most of it.
    """
    text = redact(repr(value)) if isinstance(value, str) else repr(value)
    return text if len(text) <= _SHOWN_CHARS else text[: _SHOWN_CHARS - 1] + "…"


def _language_blocks(details: Any, context: _Context, *, warn: bool = True) -> dict[str, dict]:
    """``ProductDetails`` as {lang: block}, preferred languages first, the rest sorted.

    Language keys are lower-cased; null or non-object blocks become {} so callers can read
    them blindly. When two keys differ only in case, the first one in the file wins. At most
    ``limits.LANGUAGES_KEPT`` blocks are read (real files have up to nine), with a warning:
    every block is read once per child, so ten thousand of them would cost millions of reads.
    """
    blocks: dict[str, dict] = {}
    for key, block in as_dict(details).items():
        lang = as_str(key).lower()
        if lang and lang not in blocks:
            blocks[lang] = as_dict(block)
    order = [lang for lang in context.languages if lang in blocks]
    order += sorted(lang for lang in blocks if lang not in order)
    if len(order) > limits.LANGUAGES_KEPT:
        if warn:
            context.warn(
                f"{len(order):,} language blocks; only the first {limits.LANGUAGES_KEPT} read"
            )
        order = order[: limits.LANGUAGES_KEPT]
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
    """The child objects that become variants: each has a Sku that fits, SKUs are unique."""
    raw = root.get("ChildProducts")
    if raw is None or raw == []:
        context.warn("family has no ChildProducts; no variants")
        return []
    if not isinstance(raw, list):
        raise FeedDataError(f"ChildProducts must be an array, got {_kind(raw)}")
    if len(raw) > context.max_children:
        raise FeedDataError(
            f"family has {len(raw):,} children, more than the limit of {context.max_children:,} "
            "(PROMIDATA_MAX_CHILDREN_PER_FAMILY)"
        )
    children: list[dict] = []
    seen: set[str] = set()
    for index, child in enumerate(raw, start=1):
        if not isinstance(child, dict):
            context.warn(f"child #{index} is {_kind(child)}, not an object; skipped")
            continue
        sku = as_str(child.get("Sku"))
        problem = limits.sku_problem(sku) if sku else None
        if not sku:
            context.warn(f"child #{index} has no Sku; skipped")
        elif problem:
            context.warn(f"child #{index}: {problem}; skipped")
        elif sku in seen:
            context.warn(f"duplicate child Sku {sku} (child #{index}) dropped; first one kept")
        else:
            seen.add(sku)
            children.append(child)
    return children


# --------------------------------------------------------------------------- variants


def _parse_variant(child: dict, root_blocks: dict[str, dict], context: _Context) -> VariantRecord:
    sku = as_str(child.get("Sku"))
    blocks = _language_blocks(child.get("ProductDetails"), context)
    nld = as_dict(child.get(_NLD))
    attributes = _attributes(blocks)
    search_color = _search_color(nld)
    region, region_block = _choose_region(child.get("ProductPriceCountryBased"), context)
    dimensions = {name: _measure(nld.get(key), sku, key, context) for name, key in _DIMENSIONS}
    fit = context.fit
    return VariantRecord(
        sku=sku,
        supplier_sku=fit(as_str(child.get("SupplierSku")), limits.SKU_CHARS, "SupplierSku", sku),
        ean=fit(as_str(child.get("Ean")), limits.EAN_CHARS, "Ean", sku),
        names=_texts(blocks, "Name"),
        color=fit(
            _axis_value(attributes, _COLOR_NAMES, context.languages) or search_color,
            limits.TEXT_CHARS,
            "colour",
            sku,
        ),
        size=fit(
            _axis_value(attributes, _SIZE_NAMES, context.languages),
            limits.TEXT_CHARS,
            "size",
            sku,
        ),
        search_color=fit(search_color, limits.SEARCH_COLOR_CHARS, "SearchColor", sku),
        attributes=attributes,
        weight_g=_measure(nld.get("Weight"), sku, "Weight", context),
        **dimensions,
        country_of_origin=fit(
            as_str(nld.get("CountryOfOrigin")).upper(),
            limits.COUNTRY_CHARS,
            "CountryOfOrigin",
            sku,
        ),
        customs_tariff_number=fit(
            as_str(nld.get("CustomsTariffNumber")), limits.TARIFF_CHARS, "CustomsTariffNumber", sku
        ),
        price_region=region,
        minimum_order_quantity=_positive_int(
            region_block.get("MinimumOrderQuantity"), sku, "MinimumOrderQuantity", context
        ),
        quantity_increment=_positive_int(
            region_block.get("QuantityIncrements"), sku, "QuantityIncrements", context
        ),
        price_tiers=_price_tiers(region, region_block, sku, context),
        images=_variant_images(blocks, root_blocks, sku, context),
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
    """Weight/dimension as Decimal rounded to the column's 3 places; missing or unparsable ->
    None, 0 stays 0, negative or too large for the column -> None with a warning."""
    number = as_decimal(value)
    if number is None:
        return None
    if number < 0:
        context.warn(f"{sku}: negative {key} {_show(value)} ignored")
        return None
    fitted = limits.fit_decimal(number, limits.MEASURE_PLACES, limits.MEASURE_LIMIT)
    if fitted is None:
        context.warn(f"{sku}: {key} {_show(value)} is too large; ignored")
    return fitted


def _positive_int(value: Any, sku: str, key: str, context: _Context) -> int | None:
    """MOQ / quantity step: a whole number >= 1, else None (0 means "not set"); one too large
    for the column is dropped with a warning."""
    number = as_int(value)
    if number is None or number <= 0:
        return None
    if not limits.fits_int(number):
        context.warn(f"{sku}: {key} {_show(value)} is too large; ignored")
        return None
    return number


# --------------------------------------------------------------------------- prices


def _choose_region(prices: Any, context: _Context) -> tuple[str, dict]:
    """Pick the price region: the first preferred one present, else the first in the file.

    Only regions whose block is an object count as present. Keys are compared
    case-insensitively and reported as written in the file. Returns ("", {}) without prices.
    """
    present = {
        key: block
        for key, block in as_dict(prices).items()
        if isinstance(key, str)
        and key.strip()
        and len(key) <= limits.REGION_CHARS
        and isinstance(block, dict)
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
        context.warn(f"{where} has unusable Quantity {_show(raw.get('Quantity'))}; dropped")
        return None
    on_request = as_bool(raw.get("OnRequest"))
    price = Decimal("0") if on_request else as_decimal(raw.get("Price"))
    shown = _show(raw.get("Price"))
    if price is None:
        context.warn(f"{where} from {quantity} has unparsable Price {shown}; dropped")
        return None
    if price < 0:
        context.warn(f"{where} from {quantity} has negative Price {shown}; dropped")
        return None
    price = limits.fit_decimal(price, limits.PRICE_PLACES, limits.PRICE_LIMIT)
    if price is None:
        context.warn(f"{where} from {quantity} has Price {shown}, too large; dropped")
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
    """Tier start quantity: missing or 0 means 1; negative, fractional or larger than the
    column holds is unusable (None)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return 1
    number = as_int(value)
    if number is None or number < 0 or not limits.fits_int(number):
        return None
    return max(number, 1)


# --------------------------------------------------------------------------- images


def _variant_images(
    blocks: dict[str, dict], root_blocks: dict[str, dict], sku: str, context: _Context
) -> tuple[ImageRecord, ...]:
    """Main images of every language, then every language's gallery, de-duplicated by URL.

    Falls back to the root's main image(s) when the child has none at all. At most
    ``limits.IMAGES_PER_VARIANT`` (real variants have up to nine), the rest dropped with a
    warning: a small file must not declare millions of images.
    """
    candidates = [block.get("Image") for block in blocks.values()]
    for block in blocks.values():
        candidates.extend(as_list(block.get("MediaGalleryImages")))
    images = _dedupe_images(candidates, sku, context)
    if not images:
        images = _dedupe_images(
            (block.get("Image") for block in root_blocks.values()), sku, context
        )
    if len(images) > limits.IMAGES_PER_VARIANT:
        context.warn(
            f"{sku}: {len(images):,} images; only the first {limits.IMAGES_PER_VARIANT} kept"
        )
        images = images[: limits.IMAGES_PER_VARIANT]
    return images


def _dedupe_images(
    candidates: Iterable[Any], sku: str, context: _Context
) -> tuple[ImageRecord, ...]:
    images: list[ImageRecord] = []
    seen: set[str] = set()
    for candidate in candidates:
        image = as_dict(candidate)
        url = _resolve(image.get("Url"), context.source_url)
        if url is None or url in seen:
            continue
        seen.add(url)
        problem = limits.url_problem(url)
        if problem:
            context.warn(f"{sku}: image {_show(url)} dropped: {problem}")
            continue
        file_name = context.fit(
            as_str(image.get("FileName")), limits.FILE_NAME_CHARS, "image FileName", sku
        )
        images.append(ImageRecord(url=url, file_name=file_name, position=len(images)))
    return tuple(images)


def _category_key(key: str, context: _Context) -> str:
    """The family's category key if the catalog can hold it, else "" with a warning."""
    problem = limits.category_key_problem(key) if key else None
    if problem:
        context.warn(f"{problem}; the family is stored without a category")
        return ""
    return key


def _resolve(raw_url: Any, source_url: str) -> str | None:
    """Absolute URL for an image ``Url`` string; None when missing or unusable."""
    if not isinstance(raw_url, str) or not raw_url.strip():
        return None
    try:
        return urljoin(source_url, raw_url.strip())
    except ValueError:
        return None
