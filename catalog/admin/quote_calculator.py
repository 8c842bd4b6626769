"""The Quote panel of a variant's admin page: quantity, region and print option in, the
breakdown of ``promidata_sync.services.quotes`` out.

The change page wraps its fields in its own POST form, and forms cannot nest: the panel's
inputs belong to an empty GET form placed after it (``form="pd-quote-form"``, in
``templates/admin/catalog/variant/change_form.html``). Submitting reloads the page with the
choice in the query string, which ``QuoteCalculatorMixin.get_object`` hands to the panel on
the variant. Bad input (a quantity "abc", a region without prices...) is a message in the
panel, never an error page; everything shown is escaped by the template.
"""

from __future__ import annotations

import re

from django.contrib import admin
from django.http import QueryDict
from django.template.loader import render_to_string

from catalog.admin.common import muted
from catalog.models import PriceTier, Variant
from promidata_sync.services.quotes import (
    MULTIPLIED,
    QuoteError,
    print_choices,
    quote_for_variant,
    variant_regions,
)

TEMPLATE = "admin/catalog/variant/quote_calculator.html"
# A quantity as typed: digits with an optional sign; the service says what range is allowed.
QUANTITY_PATTERN = re.compile(r"[+-]?[0-9]{1,30}")


class QuoteCalculatorMixin:
    """Adds the ``quote`` display field to a variant admin (list it in ``fields``)."""

    def get_object(self, request, object_id, from_field=None):
        variant = super().get_object(request, object_id, from_field)
        if variant is not None:
            variant.quote_params = request.GET
        return variant

    @admin.display(description="Quote")
    def quote(self, variant):
        return quote_panel(variant, getattr(variant, "quote_params", QueryDict()))


def quote_panel(variant: Variant, params: QueryDict) -> str:
    """The form filled from ``params`` (defaults: the preferred region, its first tier's
    quantity, no print) and the breakdown for it, or the reason there is none."""
    regions = variant_regions(variant)
    if not regions:
        return muted("no selling prices: nothing to quote")
    choices = {f"{code}/{sku}": (code, sku, label) for code, sku, label in print_choices(variant)}
    region = params.get("region") or (
        variant.price_region if variant.price_region in regions else regions[0]
    )
    quantity_text = params.get("quantity") or str(_first_quantity(variant, region))
    chosen = params.get("print", "")
    result = error = None
    try:
        quantity = _parse_quantity(quantity_text)
        if chosen and chosen not in choices:
            raise QuoteError(400, f"unknown print choice {chosen}")
        position, option = choices[chosen][:2] if chosen else (None, None)
        result = quote_for_variant(variant, quantity, region, option=option, position=position)
    except QuoteError as exc:
        error = exc.message
    return render_to_string(
        TEMPLATE,
        {
            "quantity": quantity_text,
            "region": region,
            "regions": regions,
            "chosen": chosen,
            "choices": [(value, label) for value, (_, _, label) in choices.items()],
            "error": error,
            "result": result,
            "rows": breakdown_rows(result) if result else [],
        },
    )


def breakdown_rows(result: dict) -> list[dict]:
    """One row per line of a quote: what, from which tier, unit price, units, total."""
    quantity = result["quantity"]
    article = result["article"]
    rows = [_row("Article", result["variant"], article, f"{quantity:,}")]
    printed = result["print"]
    if printed:
        rows.append(
            _row("Print", f"{printed['option']} on {printed['position']}", printed, f"{quantity:,}")
        )
        for cost in printed["costs"]:
            amount = cost["calculation_amount"] or "1"
            units = f"{amount} x {quantity:,}" if cost["calculation_type"] == MULTIPLIED else amount
            what = f"{cost['sku']} ({cost['calculation_type']})"
            rows.append(_row("Cost", what, cost, units))
    return rows


def _row(label: str, what: str, line: dict, units: str) -> dict:
    return {
        "label": label,
        "what": what,
        "min_quantity": line["min_quantity"],
        # An on-request tier stores 0: no price to show.
        "unit_price": "-" if line["total"] is None else line["unit_price"],
        "units": units,
        "total": line["total"],
    }


def _parse_quantity(text: str) -> int:
    if not QUANTITY_PATTERN.fullmatch(text.strip()):
        raise QuoteError(400, f"quantity must be a whole number, not {text[:40]!r}")
    return int(text)


def _first_quantity(variant: Variant, region: str) -> int:
    tiers = [
        t.min_quantity
        for t in variant.price_tiers.all()
        if t.kind == PriceTier.Kind.SELL and t.region == region
    ]
    return max(1, min(tiers, default=1))
