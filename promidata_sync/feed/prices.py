"""Prices: ``ProductPriceCountryBased`` of a child, a print option or a print cost.

Every region is read (real profiles carry up to nine, keyed by locale such as ``de-CH``, with
``CHF``, ``GBP`` or ``SEK`` besides ``EURO``): each region's selling and buying tiers, and its
terms (minimum order quantity, quantity step, VAT). ``PROMIDATA_PRICE_REGIONS`` only decides
which region is *preferred* (shown in lists and summaries), never what is kept. Pure.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from . import limits
from .coerce import as_bool, as_decimal, as_dict, as_int, as_list, as_str, currency_code
from .context import Context, kind, show
from .records import PriceTierRecord, RegionTerms

PRICE_LISTS = (("sell", "RecommendedSellingPrice"), ("buy", "GeneralBuyingPrice"))


def region_prices(
    prices: Any, owner: str, context: Context
) -> tuple[RegionTerms, tuple[PriceTierRecord, ...]]:
    """(terms of every region, tiers of every region) of one price object.

    Regions keep the file's order and spelling; keys longer than a region column holds, and
    blocks that are not objects, are skipped (with a warning for the first). Tiers are sorted
    by (region, kind, quantity); within a region and kind the first tier of a quantity wins.
    """
    terms: RegionTerms = {}
    tiers: list[PriceTierRecord] = []
    regions = _present(prices, owner, context)
    for region, block in regions.items():
        region_tiers = _tiers(region, block, owner, context)
        tiers.extend(region_tiers)
        terms[region] = {
            "currency": region_tiers[0].currency if region_tiers else _currency(block),
            "minimum_order_quantity": context.count(
                block.get("MinimumOrderQuantity"), "MinimumOrderQuantity", owner
            ),
            "quantity_increment": context.count(
                block.get("QuantityIncrements"), "QuantityIncrements", owner
            ),
            "vat_percentage": _json_number(as_decimal(block.get("VatPercentage"))),
            "vat_setting_id": context.count(
                block.get("VatSettingId"), "VatSettingId", owner, zero_is_unset=False
            ),
        }
    return terms, tuple(tiers)


def preferred_region(regions: Any, context: Context) -> str:
    """The first of ``context.price_regions`` that ``regions`` holds (case-insensitively,
    reported as written in the file), else the first region; "" without any."""
    by_upper: dict[str, str] = {}
    for region in regions:
        by_upper.setdefault(region.strip().upper(), region)
    for wanted in context.price_regions:
        region = by_upper.get(as_str(wanted).upper())
        if region is not None:
            return region
    return next(iter(regions), "")


def _present(prices: Any, owner: str, context: Context) -> dict[str, dict]:
    present: dict[str, dict] = {}
    for key, block in as_dict(prices).items():
        if not isinstance(key, str) or not key.strip() or not isinstance(block, dict):
            continue
        if len(key) > limits.REGION_CHARS:
            context.warn(f"{owner}: price region {show(key)} is too long; skipped")
            continue
        if len(present) == limits.REGIONS_KEPT:
            context.warn(
                f"{owner}: more than {limits.REGIONS_KEPT} price regions; the rest skipped"
            )
            break
        present[key] = block
    return present


def _currency(block: dict) -> str:
    for _, list_key in PRICE_LISTS:
        for raw in as_list(block.get(list_key)):
            if isinstance(raw, dict) and raw.get("Valuta"):
                return currency_code(raw.get("Valuta"))
    return currency_code(None)


def _tiers(region: str, block: dict, owner: str, context: Context) -> list[PriceTierRecord]:
    """Sell and buy tiers of one region, sorted by (kind, min_quantity), first duplicate wins."""
    found: dict[tuple[str, int], PriceTierRecord] = {}
    for tier_kind, list_key in PRICE_LISTS:
        for raw in as_list(block.get(list_key)):
            tier = _tier(raw, region, tier_kind, owner, context)
            if tier is not None:
                found.setdefault((tier.kind, tier.min_quantity), tier)
    return [found[key] for key in sorted(found)]


def _tier(
    raw: Any, region: str, tier_kind: str, owner: str, context: Context
) -> PriceTierRecord | None:
    """One tier, or None (with a warning) when it cannot be used. A price of 0 that is not
    on request is kept, with a warning: it may be a feed error, or a free item."""
    where = f"{owner}: {tier_kind} tier in {region}"
    if not isinstance(raw, dict):
        context.warn(f"{where} is {kind(raw)}, not an object; dropped")
        return None
    quantity = _tier_quantity(raw.get("Quantity"))
    if quantity is None:
        context.warn(f"{where} has unusable Quantity {show(raw.get('Quantity'))}; dropped")
        return None
    on_request = as_bool(raw.get("OnRequest"))
    price = Decimal("0") if on_request else as_decimal(raw.get("Price"))
    shown = show(raw.get("Price"))
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
    if price == 0 and not on_request:
        context.warn(f"{where} from {quantity} has Price 0 and is not on request; kept")
    return PriceTierRecord(
        region=region,
        kind=tier_kind,
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


def _json_number(number: Decimal | None) -> int | float | None:
    """A Decimal as JSON can hold it (terms live in JSON columns)."""
    if number is None or abs(number) >= limits.PRICE_LIMIT:
        return None
    return int(number) if number == number.to_integral_value() else float(number)
