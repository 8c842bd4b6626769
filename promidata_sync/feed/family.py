"""Parser for one Promidata product-family JSON file.

Shape (format notes, section 2): one file = one family = one root object; its variants are
the objects in ``ChildProducts``. The root is a summary (zero dimensions, one price tier,
"Undefined" colour), so prices, dimensions, colours, images and print data are read from the
children only. ``ANumber`` is the supplier code, never a family key.

Everything the file says is kept: the fields shops filter and print on become record fields
(texts of every language, every price region, print positions with their options and costs,
packaging, dates...), and whatever the parser does not read goes into the records' ``extra``,
as sent. The parts live in sibling modules: ``texts``, ``prices``, ``printing``, ``details``,
``images``; this one decodes the file and assembles the records.

The feed is sloppy (null / [] / "" interchangeably, "True" strings, decimal commas), so every
field goes through :mod:`.coerce`. Structural problems that make the whole file unusable raise
:class:`FeedDataError`; anything smaller is tolerated and reported in ``FamilyRecord.warnings``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from . import details, limits
from .coerce import as_bool, as_dict, as_list, as_str
from .context import DEFAULT_MAX_CHILDREN, Context, kind
from .extras import leftovers, nested
from .images import variant_images
from .prices import preferred_region, region_prices
from .printing import imprint_references, print_positions
from .records import FamilyRecord, FeedDataError, VariantRecord
from .texts import first_non_empty, first_str, language_blocks, meta, texts, unstructured, web_shop

DEFAULT_PRICE_REGIONS = ("EURO", "DEU", "BENELUX")
DEFAULT_LANGUAGES = ("en", "de", "nl", "fr")
__all__ = ["DEFAULT_LANGUAGES", "DEFAULT_MAX_CHILDREN", "DEFAULT_PRICE_REGIONS", "parse_family"]

_COLOR_NAMES = frozenset(name.casefold() for name in ("Color", "Colour", "Farbe"))
_SIZE_NAMES = frozenset(name.casefold() for name in ("Size", "Größe", "Groesse", "Maat"))
_DIMENSIONS = (
    ("length_mm", "DimensionsLength"),
    ("width_mm", "DimensionsWidth"),
    ("height_mm", "DimensionsHeight"),
    ("diameter_mm", "DimensionsDiameter"),
    ("depth_mm", "DimensionsDepth"),
)
_NLD = "NonLanguageDependedProductDetails"  # sic: Promidata's spelling

# The keys each object's reader consumes; everything else lands in ``extra``.
_LANGUAGE_KEYS = frozenset(
    {
        "Name",
        "Description",
        "ShortDescription",
        "MetaName",
        "MetaDescription",
        "MetaKeywords",
        "Image",
        "MediaGalleryImages",
        "InformationFiles",
        "ConfigurationFields",
        "WebShopInformation",
    }
)
_LANGUAGE_INFO_KEYS = details.PACKAGING_KEYS | {
    "HexColor",
    "PMSValue",
    "SupplierNameToShow",
    "DeliveryTimeInfoText",
}
_NLD_KEYS = frozenset(
    {
        "Category",
        "SecondaryCategories",
        "Brand",
        "SearchColor",
        "HexColor",
        "Weight",
        *(key for _, key in _DIMENSIONS),
        "CountryOfOrigin",
        "CustomsTariffNumber",
        "Fragile",
        "USBItem",
        "ProductFiltersByGroup",
        *details.PACKAGING_KEYS,
    }
)
_INFO_KEYS = details.PACKAGING_KEYS | {
    "ReleaseDate",
    "HexColor",
    "DeliveryTimeInDays",
    "DeliveryTimeInfoText",
    "SupplierNameToShow",
}
_CHILD_KEYS = frozenset(
    {
        "Sku",
        "SupplierSku",
        "ANumber",
        "Ean",
        "VideoUrl",
        "ProductDetails",
        _NLD,
        "ProductPriceCountryBased",
        "ImprintPositions",
        "UnstructuredInformation",
        "BatteryInformation",
    }
)
_ROOT_KEYS = frozenset(
    {
        "Sku",
        "SupplierSku",
        "ANumber",
        "VideoUrl",
        "ChildProducts",
        "DefaultProducts",
        "ImprintReferences",
        "ProductDetails",
        _NLD,
        "SamplePriceCountryBased",
        "ProductCertificates",
        "RequiredCertificates",
        "ForbiddenRegions",
        "UnstructuredInformation",
        # A one-tier summary of the children's prices (format notes 2.1); the children's own
        # tiers are what is sold.
        "ProductPriceCountryBased",
    }
)


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
    * every price region is kept; ``price_regions`` only picks each variant's preferred one;
    * print data is read in both shapes (inline options, or ``ImprintReferences``);
    * every value fits the catalog's columns (:mod:`.limits`). What does not fit is dropped
      with a warning: a child whose SKU does not fit is skipped; a tier whose quantity or price
      does not fit is dropped; any other field (a text, a number, an image URL) is left empty.
      Identifiers are never truncated, because a cut SKU or EAN names something else;
    * what is not read is kept in ``extra`` (per family and per variant), as sent;
    * NUL and control characters are removed from every text, lone surrogates replaced;
      ``NaN`` and ``Infinity`` read as null;
    * every tolerated oddity (skipped child, dropped tier, unknown reference, zero price,
      unknown country...) is a warning; the first ``limits.WARNINGS_KEPT`` are kept and
      ``warning_count`` counts them all;
    * image URLs are resolved against ``source_url``.
    """
    context = Context(
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
    root_blocks = language_blocks(root.get("ProductDetails"), context)
    references = imprint_references(root)
    variants = tuple(_variant(child, root, root_blocks, references, context) for child in children)
    return _family(root, family_sku, root_blocks, children, variants, context)


# --------------------------------------------------------------------------- loading


def _load_root(data: bytes | str | dict, context: Context) -> dict:
    """Decode the input, clean its texts and insist on a JSON object at the top level."""
    if isinstance(data, bytes | bytearray | memoryview):
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
        raise FeedDataError(f"family JSON must be an object at the top level, got {kind(data)}")
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


def _loads(text: str, context: Context) -> Any:
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


def _usable_children(root: dict, context: Context) -> list[dict]:
    """The child objects that become variants: each has a Sku that fits, SKUs are unique."""
    raw = root.get("ChildProducts")
    if raw is None or raw == []:
        context.warn("family has no ChildProducts; no variants")
        return []
    if not isinstance(raw, list):
        raise FeedDataError(f"ChildProducts must be an array, got {kind(raw)}")
    if len(raw) > context.max_children:
        raise FeedDataError(
            f"family has {len(raw):,} children, more than the limit of {context.max_children:,} "
            "(PROMIDATA_MAX_CHILDREN_PER_FAMILY)"
        )
    children: list[dict] = []
    seen: set[str] = set()
    for index, child in enumerate(raw, start=1):
        if not isinstance(child, dict):
            context.warn(f"child #{index} is {kind(child)}, not an object; skipped")
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


# --------------------------------------------------------------------------- the family


def _family(root, family_sku, root_blocks, children, variants, context) -> FamilyRecord:
    root_nld = as_dict(root.get(_NLD))
    root_info = as_dict(root.get("UnstructuredInformation"))
    child_nlds = [as_dict(child.get(_NLD)) for child in children]
    child_blocks = [
        language_blocks(child.get("ProductDetails"), context, warn=False) for child in children
    ]
    sample_terms, sample_tiers = region_prices(
        root.get("SamplePriceCountryBased"), f"{family_sku} sample", context
    )
    return FamilyRecord(
        sku=family_sku,
        supplier_sku=context.fit(as_str(root.get("SupplierSku")), limits.SKU_CHARS, "SupplierSku"),
        supplier_code=context.fit(
            as_str(root.get("ANumber")), limits.SUPPLIER_CODE_CHARS, "ANumber"
        ),
        supplier_name=context.fit(
            _supplier_name(root, root_blocks), limits.TEXT_CHARS, "SupplierNameToShow"
        ),
        names=first_non_empty(texts(blocks, "Name") for blocks in [root_blocks, *child_blocks]),
        descriptions=first_non_empty(
            texts(blocks, "Description") for blocks in [root_blocks, *child_blocks]
        ),
        category_key=_category_key(
            first_str(nld.get("Category") for nld in [root_nld, *child_nlds]), context
        ),
        brand=context.fit(
            first_str(nld.get("Brand") for nld in [root_nld, *child_nlds]),
            limits.TEXT_CHARS,
            "brand",
        ),
        variants=variants,
        warnings=tuple(context.warnings),
        warning_count=context.warning_count,
        short_descriptions=texts(root_blocks, "ShortDescription"),
        meta=meta(root_blocks),
        web_shop_information=web_shop(root_blocks),
        secondary_categories=as_list(root_nld.get("SecondaryCategories")),
        default_products={
            as_str(region): as_str(sku)
            for region, sku in as_dict(root.get("DefaultProducts")).items()
            if as_str(region) and as_str(sku)
        },
        release_date=details.release_date(root_info.get("ReleaseDate"), family_sku, context),
        videos=details.videos(root.get("VideoUrl"), family_sku, context),
        documents=details.documents(root_blocks),
        sample_prices=_tiers_as_json(sample_terms, sample_tiers),
        certificates={
            key: value
            for key, value in (
                ("product", root.get("ProductCertificates")),
                ("required", root.get("RequiredCertificates")),
            )
            if value not in (None, [], {}, "")
        },
        forbidden_regions=as_list(root.get("ForbiddenRegions"))
        or list(as_dict(root.get("ForbiddenRegions")).items()),
        extra=nested(
            root=leftovers(root, _ROOT_KEYS),
            NonLanguageDependedProductDetails=leftovers(root_nld, _NLD_KEYS),
            UnstructuredInformation=leftovers(root_info, _INFO_KEYS),
            ProductDetails=_language_leftovers(root_blocks),
        ),
    )


def _supplier_name(root: dict, root_blocks: dict[str, dict]) -> str:
    """``SupplierNameToShow`` from the root's UnstructuredInformation or any language block."""
    sources = [root, *root_blocks.values()]
    return first_str(
        as_dict(source.get("UnstructuredInformation")).get("SupplierNameToShow")
        for source in sources
    )


def _category_key(key: str, context: Context) -> str:
    """The family's category key if the catalog can hold it, else "" with a warning."""
    problem = limits.category_key_problem(key) if key else None
    if problem:
        context.warn(f"{problem}; the family is stored without a category")
        return ""
    return key


def _tiers_as_json(terms: dict, tiers) -> dict:
    """Terms and tiers of every region in one JSON-ready object (sample prices)."""
    if not terms:
        return {}
    result = {
        region: {"terms": region_terms, "tiers": []} for region, region_terms in terms.items()
    }
    for tier in tiers:
        result[tier.region]["tiers"].append(
            {
                "kind": tier.kind,
                "min_quantity": tier.min_quantity,
                "price": str(tier.price),
                "currency": tier.currency,
                "on_request": tier.on_request,
            }
        )
    return result


def _language_leftovers(blocks: dict[str, dict]) -> dict:
    """What each language block holds beyond what is read (UnstructuredInformation too)."""
    result = {}
    for lang, block in blocks.items():
        rest = leftovers(block, _LANGUAGE_KEYS | {"UnstructuredInformation"})
        info = leftovers(as_dict(block.get("UnstructuredInformation")), _LANGUAGE_INFO_KEYS)
        if info:
            rest["UnstructuredInformation"] = info
        if rest:
            result[lang] = rest
    return result


# --------------------------------------------------------------------------- variants


def _variant(child, root, root_blocks, references, context) -> VariantRecord:
    sku = as_str(child.get("Sku"))
    blocks = language_blocks(child.get("ProductDetails"), context)
    nld = as_dict(child.get(_NLD))
    info = as_dict(child.get("UnstructuredInformation"))
    root_info = as_dict(root.get("UnstructuredInformation"))
    language_info = list(unstructured(blocks).values())
    # Where a value may be, best first: numbers before strings, the child before the root.
    sources = [nld, info, *language_info, root_info]
    attributes = _attributes(blocks)
    search_color = _search_color(nld)
    terms, tiers = region_prices(child.get("ProductPriceCountryBased"), sku, context)
    region = preferred_region(terms, context)
    preferred = terms.get(region, {})
    dimensions = {name: context.measure(nld.get(key), key, sku) for name, key in _DIMENSIONS}
    delivery_days, delivery_texts = details.delivery(sources, blocks, sku, context)
    fit = context.fit
    return VariantRecord(
        sku=sku,
        supplier_sku=fit(as_str(child.get("SupplierSku")), limits.SKU_CHARS, "SupplierSku", sku),
        ean=fit(as_str(child.get("Ean")), limits.EAN_CHARS, "Ean", sku),
        names=texts(blocks, "Name"),
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
        weight_g=context.measure(nld.get("Weight"), "Weight", sku),
        **dimensions,
        country_of_origin=details.country_of_origin(nld.get("CountryOfOrigin"), sku, context),
        customs_tariff_number=fit(
            as_str(nld.get("CustomsTariffNumber")), limits.TARIFF_CHARS, "CustomsTariffNumber", sku
        ),
        price_region=region,
        minimum_order_quantity=preferred.get("minimum_order_quantity"),
        quantity_increment=preferred.get("quantity_increment"),
        price_tiers=tiers,
        images=variant_images(blocks, root_blocks, sku, context),
        descriptions=texts(blocks, "Description"),
        short_descriptions=texts(blocks, "ShortDescription"),
        meta=meta(blocks),
        web_shop_information=web_shop(blocks),
        hex_color=details.hex_color(sources, sku, context),
        pms_color=fit(
            as_str(details.first_value(language_info, "PMSValue")),
            limits.PMS_CHARS,
            "PMSValue",
            sku,
        ),
        filters={
            as_str(name): as_str(value)
            for name, value in as_dict(nld.get("ProductFiltersByGroup")).items()
            if as_str(name)
        },
        fragile=_optional_bool(nld.get("Fragile")),
        usb_item=_optional_bool(nld.get("USBItem")),
        delivery_days=delivery_days,
        delivery_texts=delivery_texts,
        release_date=details.release_date(
            info.get("ReleaseDate") or root_info.get("ReleaseDate"), sku, context
        ),
        videos=details.videos(child.get("VideoUrl"), sku, context),
        documents=details.documents(blocks),
        packaging=details.packaging(sources, sku, context),
        battery=details.battery(sources, child.get("BatteryInformation")),
        region_terms=terms,
        print_positions=print_positions(child, references, sku, context),
        extra=nested(
            child=leftovers(child, _CHILD_KEYS),
            NonLanguageDependedProductDetails=leftovers(nld, _NLD_KEYS),
            UnstructuredInformation=leftovers(info, _INFO_KEYS),
            ProductDetails=_language_leftovers(blocks),
        ),
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


def _optional_bool(value: Any) -> bool | None:
    return None if value is None else as_bool(value)
