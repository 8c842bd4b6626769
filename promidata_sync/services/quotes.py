"""Quotes: what ``quantity`` pieces of a variant cost in one price region, optionally printed
with one print option on one print position. Reads the catalog, writes nothing.

Rules
- Tiers: only selling tiers (kind "sell") of the region count; buying tiers are ignored. The
  tier for Q is the one with the largest ``min_quantity`` <= Q; below the first tier the first
  (lowest) tier applies. The same rule picks the article's, the option's and each cost's tier.
- Article line: unit price x Q. Print line: the option's unit price x Q; its ``total`` is that
  line alone, each cost is a line of its own in ``print.costs``.
- Costs, in feed order, for each cost of the option that has selling tiers in the region (a
  cost without any is left out): "Unique" is unit price x calculation_amount, once;
  "Multiplied" is unit price x calculation_amount x Q. A null calculation_amount counts as 1
  (and is returned as null). Any other calculation type, empty included, is a 422 naming it.
  ``requirement`` is returned as stored and not applied.
- On request: a line whose tier is on request has ``total`` null but keeps ``unit_price`` as
  stored (the feed sends 0 for such tiers); the quote then has ``on_request`` true and
  ``total`` null. A cost line says so in its own ``on_request``.
- Money: Decimal throughout. Line totals are the unrounded values rounded half-up to cents for
  display; the grand total is the unrounded sum rounded once, so the shown lines can differ
  from it by a cent. ``unit_price`` is the stored price without trailing zeros but with at
  least two places ("2.50", "0.045"); ``calculation_amount`` without trailing zeros ("2").
- Currency: the article tier's. A print or cost tier of the region in another currency is a
  422: the quote never adds amounts across currencies.
- Print choice: ``option`` is a print option SKU, ``position`` a position code (empty strings
  count as not given). Without ``position`` the option's one position is used (400 when
  several positions offer it). ``position`` without ``option`` is a 400; an unknown position
  or option is a 404; an option without selling tiers in the region is a 400. Two options
  with one SKU on one position (the feed allows it): the first in feed order is quoted.
- Variant by SKU (unique per product only): prefer the variant whose supplier code prefixes
  the SKU (``A23`` for ``A23-1234-01``: the code followed by "-", so ``A2`` does not prefix
  it), then active over inactive, then the lowest id.
- Errors are ``QuoteError`` (see there). Q must be an int from 1 to ``MAX_QUANTITY``.

Queries: one for the variant, one for its tiers, five more with print data (positions,
options, option tiers, costs, cost tiers), whatever the number of rows.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, localcontext

from django.conf import settings
from django.db.models import prefetch_related_objects

from catalog.models import PriceTier, PrintCost, PrintOption, PrintPosition, Variant
from promidata_sync.services.product_detail import code_prefixes, decimal_text

SELL = PriceTier.Kind.SELL
CENT = Decimal("0.01")
# Pieces. A sanity bound, far above any order, that keeps every product exact at
# CALCULATION_DIGITS (prices and amounts have at most 14 digits each).
MAX_QUANTITY = 1_000_000_000
CALCULATION_DIGITS = 60  # significant digits of the Decimal context the quote computes in
UNIQUE, MULTIPLIED = "Unique", "Multiplied"

ARTICLE_DETAILS = ("price_tiers",)
PRINT_DETAILS = ("print_positions__options__tiers", "print_positions__options__costs__tiers")


class QuoteError(Exception):
    """A quote that cannot be given. ``status`` is what an HTTP API answers with: 400 for a
    bad request (quantity, region, print choice), 404 for an unknown variant, position or
    option, 422 for catalog data the quote cannot price. ``message`` (also ``str(exc)``) says
    why, for the caller."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def quote(
    variant_sku: str,
    quantity: int,
    region: str,
    option: str | None = None,
    position: str | None = None,
) -> dict:
    """The quote for the variant with this SKU (see the module docstring for the rules)."""
    option, position = _check_request(quantity, region, option, position)
    variant = find_variant(variant_sku, with_print=option is not None)
    return _quote(variant, quantity, region, option, position)


def quote_for_variant(
    variant: Variant,
    quantity: int,
    region: str,
    option: str | None = None,
    position: str | None = None,
) -> dict:
    """``quote`` for an already loaded variant; reuses what is prefetched on it."""
    option, position = _check_request(quantity, region, option, position)
    prefetch_related_objects([variant], *ARTICLE_DETAILS, *(PRINT_DETAILS if option else ()))
    return _quote(variant, quantity, region, option, position)


def find_variant(sku: str, *, with_print: bool = True) -> Variant:
    """The variant a quote for ``sku`` prices (the preference rule of the module docstring),
    with its tiers and, ``with_print``, its print data prefetched."""
    # PostgreSQL refuses NUL in a string literal: such a SKU cannot exist, so it is unknown.
    found = Variant.objects.filter(sku=sku) if "\x00" not in sku else Variant.objects.none()
    candidates = list(found.select_related("product__supplier"))
    if not candidates:
        raise QuoteError(404, f"unknown variant {sku}")
    variant = min(
        candidates,
        key=lambda v: (not code_prefixes(v.product.supplier.code, sku), not v.is_active, v.pk),
    )
    prefetch_related_objects([variant], *ARTICLE_DETAILS, *(PRINT_DETAILS if with_print else ()))
    return variant


def variant_regions(variant: Variant) -> list[str]:
    """The regions the variant has selling tiers in, sorted."""
    return _regions(variant.price_tiers.all())


def print_choices(variant: Variant) -> list[tuple[str, str, str]]:
    """``(position code, option SKU, label)`` of each print option of the variant, in feed
    order, once per pair."""
    choices: dict[tuple[str, str], str] = {}
    for position in variant.print_positions.all():
        for option in position.options.all():
            name = _first_text(option.names)
            label = f"{position.code} / {option.sku}" + (f" ({name})" if name else "")
            choices.setdefault((position.code, option.sku), label)
    return [(code, sku, label) for (code, sku), label in choices.items()]


def _check_request(quantity, region, option, position) -> tuple[str | None, str | None]:
    if isinstance(quantity, bool) or not isinstance(quantity, int):
        raise QuoteError(400, "quantity must be a whole number")
    if quantity < 1:
        raise QuoteError(400, f"quantity must be at least 1, not {quantity}")
    if quantity > MAX_QUANTITY:
        # Not echoed: a huge int may not even convert to text (Python's digit limit).
        raise QuoteError(400, f"quantity must be at most {MAX_QUANTITY:,}")
    if not isinstance(region, str) or not region:
        raise QuoteError(400, "region is required")
    option, position = option or None, position or None
    if position is not None and option is None:
        raise QuoteError(400, f"position {position} given without an option: pass option=")
    return option, position


def _quote(variant, quantity, region, option_sku, position_code) -> dict:
    article_tiers = _sell_tiers(variant.price_tiers.all(), region)
    if not article_tiers:
        regions = variant_regions(variant)
        having = f"its regions are {', '.join(regions)}" if regions else "it has no prices at all"
        raise QuoteError(400, f"variant {variant.sku} has no prices in region {region}; {having}")
    with localcontext() as context:
        context.prec = CALCULATION_DIGITS
        article_tier = _tier_at(article_tiers, quantity)
        currency = article_tier.currency
        article, article_value = _charge(article_tier, Decimal(quantity))
        values: list[Decimal | None] = [article_value]
        printed = None
        if option_sku is not None:
            position, option = _find_option(variant, option_sku, position_code)
            printed, print_values = _print(option, position, quantity, region, currency)
            values += print_values
        on_request = any(value is None for value in values)
        return {
            "variant": variant.sku,
            "quantity": quantity,
            "region": region,
            "currency": currency,
            "article": article,
            "print": printed,
            "total": None if on_request else _money(sum(filter(None, values), Decimal(0))),
            "on_request": on_request,
        }


def _find_option(variant, option_sku: str, position_code: str | None):
    positions: list[PrintPosition] = list(variant.print_positions.all())
    if position_code is not None:
        position = next((p for p in positions if p.code == position_code), None)
        if position is None:
            codes = ", ".join(p.code for p in positions) or "none"
            raise QuoteError(
                404,
                f"variant {variant.sku} has no print position {position_code}; "
                f"its positions are {codes}",
            )
        option = next((o for o in position.options.all() if o.sku == option_sku), None)
        if option is None:
            raise QuoteError(
                404,
                f"print position {position_code} of variant {variant.sku} has no option "
                f"{option_sku}",
            )
        return position, option
    offered = [(p, o) for p in positions for o in p.options.all() if o.sku == option_sku]
    if not offered:
        raise QuoteError(404, f"variant {variant.sku} has no print option {option_sku}")
    offered_on = list(dict.fromkeys(p.code for p, _ in offered))
    if len(offered_on) > 1:
        raise QuoteError(
            400,
            f"option {option_sku} is offered on positions {', '.join(offered_on)}: pass position=",
        )
    return offered[0]


def _print(option: PrintOption, position, quantity: int, region: str, currency: str):
    """The print part of the quote and its unrounded values (None for an on-request line)."""
    tiers = _sell_tiers(option.tiers.all(), region)
    if not tiers:
        regions = ", ".join(_regions(option.tiers.all())) or "none"
        raise QuoteError(
            400,
            f"print option {option.sku} has no prices in region {region}; "
            f"its regions are {regions}",
        )
    tier = _tier_at(tiers, quantity)
    _check_currency(tier, currency, f"print option {option.sku}")
    line, value = _charge(tier, Decimal(quantity))
    values, costs = [value], []
    for cost in option.costs.all():
        cost_tiers = _sell_tiers(cost.tiers.all(), region)
        if not cost_tiers:
            continue
        units = _cost_units(cost, option, quantity)
        cost_tier = _tier_at(cost_tiers, quantity)
        _check_currency(cost_tier, currency, f"print cost {cost} of option {option.sku}")
        cost_line, cost_value = _charge(cost_tier, units)
        amount = cost.calculation_amount
        costs.append(
            {
                "sku": cost.sku,
                "calculation_type": cost.calculation_type,
                "calculation_amount": None if amount is None else decimal_text(amount),
                "requirement": cost.requirement,
                **cost_line,
                "on_request": cost_tier.on_request,
            }
        )
        values.append(cost_value)
    return {"option": option.sku, "position": position.code, **line, "costs": costs}, values


def _cost_units(cost: PrintCost, option: PrintOption, quantity: int) -> Decimal:
    """How many times the cost's unit price is charged."""
    amount = Decimal(1) if cost.calculation_amount is None else cost.calculation_amount
    if cost.calculation_type == UNIQUE:
        return amount
    if cost.calculation_type == MULTIPLIED:
        return amount * quantity
    raise QuoteError(
        422,
        f"print cost {cost} of option {option.sku} has calculation type "
        f'"{cost.calculation_type}", which the quote cannot price',
    )


def _charge(tier, units: Decimal) -> tuple[dict, Decimal | None]:
    """A line at ``tier`` for ``units`` units, and its unrounded value (None on request)."""
    value = None if tier.on_request else tier.price * units
    line = {
        "unit_price": decimal_text(tier.price, places=2),
        "min_quantity": tier.min_quantity,
        "total": None if value is None else _money(value),
    }
    return line, value


def _check_currency(tier, currency: str, what: str) -> None:
    if tier.currency != currency:
        raise QuoteError(
            422,
            f"{what} is priced in {tier.currency} in region {tier.region}, the article in "
            f"{currency}: the quote does not convert currencies",
        )


def _sell_tiers(tiers, region: str) -> list:
    return sorted(
        (t for t in tiers if t.kind == SELL and t.region == region), key=lambda t: t.min_quantity
    )


def _tier_at(tiers: list, quantity: int):
    """The tier of ``tiers`` (sorted, not empty) that applies to ``quantity``."""
    chosen = tiers[0]
    for tier in tiers:
        if tier.min_quantity > quantity:
            break
        chosen = tier
    return chosen


def _regions(tiers) -> list[str]:
    return sorted({t.region for t in tiers if t.kind == SELL})


def _money(value: Decimal) -> str:
    return str(value.quantize(CENT, rounding=ROUND_HALF_UP))


def _first_text(texts: dict) -> str:
    for language in settings.PROMIDATA_LANGUAGES:
        if texts.get(language):
            return texts[language]
    return next(iter(texts.values()), "")
