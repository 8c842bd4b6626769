"""The details of a child beyond names and prices: colours, dates, delivery, videos and
documents, packaging, batteries, country of origin. Each reads every form the feed uses
(format notes 2.4 and 2.6a): numbers in ``NonLanguageDependedProductDetails`` or strings with
decimal commas in ``UnstructuredInformation``, dates as ``2019-08-16`` or ``01.05.2025``.
Pure.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from . import limits
from .coerce import as_bool, as_dict, as_list, as_str
from .context import Context, show
from .countries import country_code
from .records import PackagingRecord

_HEX = re.compile(r"#?([0-9a-fA-F]{6})")
_ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_GERMAN_DATE = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})")

# (field of PackagingRecord, key, measure or count) in the places the feed puts them.
_PACKAGING = (
    ("carton_length_cm", "OuterCartonLengthCM"),
    ("carton_width_cm", "OuterCartonWidthCM"),
    ("carton_height_cm", "OuterCartonHeightCM"),
    ("carton_weight_net_kg", "OuterCartonWeightNetKG"),
    ("carton_weight_gross_kg", "OuterCartonWeightGrossKG"),
    ("item_box_length_cm", "ItemBoxLengthCM"),
    ("item_box_width_cm", "ItemBoxWidthCM"),
    ("item_box_height_cm", "ItemBoxHeightCM"),
    ("item_weight_with_accessories_kg", "ItemWeightWithAccessoriesKG"),
)
PACKAGING_KEYS = frozenset(
    {key for _, key in _PACKAGING}
    | {"OuterCartonQuantityPerCarton", "NeedBatteries", "BatteryWeight"}
)


def first_value(sources: list[dict], key: str) -> Any:
    """The first non-empty value of ``key`` among ``sources``."""
    for source in sources:
        value = source.get(key)
        if value not in (None, "", [], {}):
            return value
    return None


def hex_color(sources: list[dict], sku: str, context: Context) -> str:
    """``#RRGGBB`` from ``HexColor`` wherever it is (NonLanguageDepended..., a language's or
    the child's UnstructuredInformation), with or without "#"; "" when none is usable."""
    value = as_str(first_value(sources, "HexColor"))
    if not value:
        return ""
    match = _HEX.fullmatch(value)
    if match is None:
        context.warn(f"{sku}: HexColor {show(value)} is not a hex colour; ignored")
        return ""
    return f"#{match.group(1).upper()}"


def release_date(value: Any, sku: str, context: Context) -> date | None:
    """``ReleaseDate`` as a date, from ``2019-08-16`` or ``01.05.2025`` (day first)."""
    text = as_str(value)
    if not text:
        return None
    iso, german = _ISO_DATE.fullmatch(text), _GERMAN_DATE.fullmatch(text)
    try:
        if iso:
            return date(int(iso[1]), int(iso[2]), int(iso[3]))
        if german:
            return date(int(german[3]), int(german[2]), int(german[1]))
    except ValueError:
        pass
    context.warn(f"{sku}: ReleaseDate {show(text)} is not a date; kept only in extra")
    return None


def videos(value: Any, sku: str, context: Context) -> tuple[dict, ...]:
    """``VideoUrl``: a string, or a list of ``{Url, Description, FileName}``, as
    ``({"url", "description", "file_name"}, ...)``; unusable URLs dropped with a warning."""
    items = [{"Url": value}] if isinstance(value, str) else as_list(value)
    result, seen = [], set()
    for item in items:
        item = as_dict(item)
        url = as_str(item.get("Url"))
        if not url or url in seen:
            continue
        problem = limits.url_problem(url)
        if problem:
            context.warn(f"{sku}: video {show(url)} dropped: {problem}")
            continue
        seen.add(url)
        result.append(
            {
                "url": url,
                "description": as_str(item.get("Description")),
                "file_name": as_str(item.get("FileName")),
            }
        )
    return tuple(result)


def documents(blocks: dict[str, dict]) -> tuple[dict, ...]:
    """``InformationFiles`` of every language, each item as sent plus its ``language``."""
    found = []
    for lang, block in blocks.items():
        for item in as_list(block.get("InformationFiles")):
            if isinstance(item, dict) and item:
                found.append({"language": lang, **item})
    return tuple(found)


def packaging(sources: list[dict], sku: str, context: Context) -> PackagingRecord:
    """Carton and item box data from the first source that has each value: numbers first
    (NonLanguageDependedProductDetails), then strings with decimal commas."""
    values: dict[str, Any] = {
        name: context.measure(first_value(sources, key), key, sku) for name, key in _PACKAGING
    }
    values["carton_quantity"] = context.count(
        first_value(sources, "OuterCartonQuantityPerCarton"), "OuterCartonQuantityPerCarton", sku
    )
    return PackagingRecord(**values)


def battery(sources: list[dict], information: Any) -> dict:
    """What the feed says about batteries: ``NeedBatteries``, ``BatteryWeight`` (as sent,
    its unit unknown) and ``BatteryInformation``."""
    result: dict[str, Any] = {}
    need = first_value(sources, "NeedBatteries")
    if need is not None:
        result["need_batteries"] = as_bool(need)
    weight = first_value(sources, "BatteryWeight")
    if weight is not None:
        result["battery_weight"] = as_str(weight) or weight
    if information not in (None, "", [], {}):
        result["information"] = information
    return result


def country_of_origin(value: Any, sku: str, context: Context) -> str:
    """ISO 3166 alpha-2 for an alpha-2 or alpha-3 code; an unknown value is kept as sent,
    with a warning (never cut to three letters, which would name another country)."""
    text = as_str(value)
    if not text:
        return ""
    code = country_code(text)
    if code is not None:
        return code
    context.warn(f"{sku}: CountryOfOrigin {show(text)} is not an ISO 3166 code; kept as sent")
    return context.fit(text, limits.RAW_COUNTRY_CHARS, "CountryOfOrigin", sku)


def delivery(sources: list[dict], blocks: dict[str, dict], sku: str, context: Context):
    """(``DeliveryTimeInDays`` as an int, ``{lang: DeliveryTimeInfoText}``); a text given
    once for all languages is kept under ``"*"``."""
    days = context.count(first_value(sources, "DeliveryTimeInDays"), "DeliveryTimeInDays", sku)
    texts_by_lang = {
        lang: as_str(as_dict(block.get("UnstructuredInformation")).get("DeliveryTimeInfoText"))
        for lang, block in blocks.items()
    }
    texts_by_lang = {lang: text for lang, text in texts_by_lang.items() if text}
    if not texts_by_lang:
        shared = as_str(first_value(sources, "DeliveryTimeInfoText"))
        if shared:
            texts_by_lang = {"*": shared}
    return days, texts_by_lang
