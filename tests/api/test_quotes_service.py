"""The quote service against PostgreSQL: tier choice, print costs, on request, rounding,
regions, errors, the SKU preference and a query count that does not grow with the options.

Figures come from ``tests/api/quote_factories.py`` (its docstring lists every tier)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog.models import PriceTier, PrintCost, PrintOptionTier, Variant
from promidata_sync.services.quotes import (
    QuoteError,
    print_choices,
    quote,
    quote_for_variant,
    variant_regions,
)
from tests.api.quote_factories import (
    HANDLING_COST,
    OPTION,
    POSITION,
    SETUP_COST,
    VARIANT_SKU,
    add_cost,
    add_position,
    make_quotable_variant,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def variant():
    return make_quotable_variant()


def costs_by_sku(result) -> dict:
    return {cost["sku"]: cost for cost in result["print"]["costs"]}


def error_of(*args, **kwargs) -> QuoteError:
    with pytest.raises(QuoteError) as caught:
        quote(*args, **kwargs)
    assert str(caught.value) == caught.value.message
    return caught.value


def test_full_quote_rounds_lines_for_display_and_the_total_once(variant):
    # Q=101, EURO tiers 100+: article 2.50, option 0.445; costs from 1+.
    #   article   101 x 2.50        = 252.50
    #   print     101 x 0.445       =  44.945  -> shown 44.95
    #   setup     35.00 x 2, once   =  70.00
    #   handling  0.045 x 1 x 101   =   4.545  -> shown 4.55 (half-up; half-even gives 4.54)
    #   total 252.50 + 44.945 + 70.00 + 4.545 = 371.99 (the shown lines add up to 372.00)
    assert quote(VARIANT_SKU, 101, "EURO", option=OPTION) == {
        "variant": VARIANT_SKU,
        "quantity": 101,
        "region": "EURO",
        "currency": "EUR",
        "article": {"unit_price": "2.50", "min_quantity": 100, "total": "252.50"},
        "print": {
            "option": OPTION,
            "position": POSITION,
            "unit_price": "0.445",
            "min_quantity": 100,
            "total": "44.95",
            "costs": [
                {
                    "sku": SETUP_COST,
                    "calculation_type": "Unique",
                    "calculation_amount": "2",
                    "requirement": {"Operator": "Always", "Amount": 0},
                    "unit_price": "35.00",
                    "min_quantity": 1,
                    "total": "70.00",
                    "on_request": False,
                },
                {
                    "sku": HANDLING_COST,
                    "calculation_type": "Multiplied",
                    "calculation_amount": "1",
                    "requirement": None,
                    "unit_price": "0.045",
                    "min_quantity": 1,
                    "total": "4.55",
                    "on_request": False,
                },
            ],
        },
        "total": "371.99",
        "on_request": False,
    }


def test_article_only(variant):
    # Q=500, EURO 500+: 500 x 1.90 = 950.00
    result = quote(VARIANT_SKU, 500, "EURO")
    assert result["article"] == {"unit_price": "1.90", "min_quantity": 500, "total": "950.00"}
    assert result["print"] is None
    assert (result["total"], result["on_request"]) == ("950.00", False)


def test_tier_changes_at_its_min_quantity(variant):
    # Q=500, EURO 500+ tiers: article 500 x 1.90 = 950.00; print 500 x 0.375 = 187.50;
    # setup 35 x 2 = 70.00; handling 0.035 x 500 = 17.50; total 1225.00
    result = quote(VARIANT_SKU, 500, "EURO", option=OPTION, position=POSITION)
    assert result["print"]["unit_price"] == "0.375" and result["print"]["total"] == "187.50"
    assert costs_by_sku(result)[HANDLING_COST]["total"] == "17.50"
    assert result["total"] == "1225.00"
    # Q=499 still 100+: 499 x 2.50 = 1247.50
    assert quote(VARIANT_SKU, 499, "EURO")["article"]["total"] == "1247.50"


def test_below_the_first_tier_the_first_tier_applies_and_buy_tiers_are_ignored(variant):
    # Q=50 is below every EURO sell tier (first: 100+ 2.50); the buy tier 1+ 1.00 would
    # apply if buy tiers counted. Article 50 x 2.50 = 125.00; print 50 x 0.445 = 22.25
    # (not the option's buy 1+ 0.10); setup 70.00; handling 0.045 x 50 = 2.25; total 219.50
    result = quote(VARIANT_SKU, 50, "EURO", option=OPTION)
    assert result["article"] == {"unit_price": "2.50", "min_quantity": 100, "total": "125.00"}
    assert result["print"]["unit_price"] == "0.445" and result["print"]["total"] == "22.25"
    assert costs_by_sku(result)[HANDLING_COST]["total"] == "2.25"
    assert result["total"] == "219.50"


def test_on_request_tiers_null_their_line_and_the_total(variant):
    # Q=1000 EURO: article 1000+ and handling 1000+ are on request; print 1000 x 0.375 =
    # 375.00 and setup 70.00 are still priced.
    result = quote(VARIANT_SKU, 1000, "EURO", option=OPTION)
    assert result["article"] == {"unit_price": "0.00", "min_quantity": 1000, "total": None}
    assert result["print"]["total"] == "375.00"
    costs = costs_by_sku(result)
    assert costs[SETUP_COST]["total"] == "70.00" and costs[SETUP_COST]["on_request"] is False
    assert costs[HANDLING_COST]["total"] is None and costs[HANDLING_COST]["on_request"] is True
    assert (result["total"], result["on_request"]) == (None, True)
    assert quote(VARIANT_SKU, 5000, "EURO")["on_request"] is True


def test_chf(variant):
    # Q=200 CHF: article 200 x 2.70 = 540.00; print 200 x 0.50 = 100.00;
    # setup 40 x 2 = 80.00; handling 0.05 x 200 = 10.00; total 730.00
    result = quote(VARIANT_SKU, 200, "CHF", option=OPTION)
    assert result["currency"] == "CHF"
    assert [result["article"]["total"], result["print"]["total"]] == ["540.00", "100.00"]
    assert [c["total"] for c in result["print"]["costs"]] == ["80.00", "10.00"]
    assert result["total"] == "730.00"


def test_sek_skips_a_cost_without_prices_in_the_region(variant):
    # Q=600 SEK: article 600 x 25.00 = 15000.00; print 600 x 5.00 = 3000.00;
    # setup 400 x 2 = 800.00; handling has no SEK prices: left out; total 18800.00
    result = quote(VARIANT_SKU, 600, "SEK", option=OPTION)
    assert result["currency"] == "SEK"
    assert [c["sku"] for c in result["print"]["costs"]] == [SETUP_COST]
    assert result["total"] == "18800.00"


def test_null_calculation_amount_counts_as_one(variant):
    PrintCost.objects.filter(sku=SETUP_COST).update(calculation_amount=None)
    # As the full quote, with setup 35.00 x 1: 252.50 + 44.945 + 35.00 + 4.545 = 336.99
    result = quote(VARIANT_SKU, 101, "EURO", option=OPTION)
    setup = costs_by_sku(result)[SETUP_COST]
    assert (setup["calculation_amount"], setup["total"]) == (None, "35.00")
    assert result["total"] == "336.99"


def test_half_up_on_a_single_line(variant):
    PriceTier.objects.filter(region="EURO", kind="sell", min_quantity=100).update(
        price=Decimal("0.125")
    )
    # Q=101: 101 x 0.125 = 12.625 -> 12.63 (half-even would give 12.62)
    result = quote(VARIANT_SKU, 101, "EURO")
    assert result["article"]["unit_price"] == "0.125"
    assert result["article"]["total"] == result["total"] == "12.63"


def test_unknown_calculation_type_is_422_naming_it(variant):
    option = variant.print_positions.get().options.get()
    add_cost(option, "COLOURS", "PerColor", "3", [("EURO", "sell", 1, "5.00")])
    error = error_of(VARIANT_SKU, 101, "EURO", option=OPTION)
    assert error.status == 422
    assert "print cost COLOURS" in error.message and '"PerColor"' in error.message
    # Without prices in the region the cost is left out, whatever its type. SEK, Q=101:
    # 101 x 28.00 = 2828.00 + 101 x 5.00 = 505.00 + setup 400 x 2 = 800.00 -> 4133.00
    assert quote(VARIANT_SKU, 101, "SEK", option=OPTION)["total"] == "4133.00"


def test_empty_calculation_type_is_422(variant):
    option = variant.print_positions.get().options.get()
    add_cost(option, "", "", None, [("CHF", "sell", 1, "5.00")])
    error = error_of(VARIANT_SKU, 101, "CHF", option=OPTION)
    assert error.status == 422 and 'calculation type ""' in error.message


def test_print_tier_in_another_currency_is_422(variant):
    PrintOptionTier.objects.filter(region="CHF").update(currency="EUR")
    error = error_of(VARIANT_SKU, 101, "CHF", option=OPTION)
    assert error.status == 422 and "EUR" in error.message and "CHF" in error.message


def test_errors(variant):
    cases = [
        (("A23-0000-99", 1, "EURO"), {}, 404, "unknown variant A23-0000-99"),
        (("A23\x00", 1, "EURO"), {}, 404, "unknown variant"),
        ((VARIANT_SKU, 0, "EURO"), {}, 400, "quantity must be at least 1"),
        ((VARIANT_SKU, -1, "EURO"), {}, 400, "quantity must be at least 1"),
        ((VARIANT_SKU, 10**12, "EURO"), {}, 400, "quantity must be at most"),
        ((VARIANT_SKU, 10**5000, "EURO"), {}, 400, "quantity must be at most"),
        ((VARIANT_SKU, 1, ""), {}, 400, "region is required"),
        (
            (VARIANT_SKU, 1, "XYZ"),
            {},
            400,
            f"variant {VARIANT_SKU} has no prices in region XYZ; its regions are CHF, EURO, SEK",
        ),
        ((VARIANT_SKU, 1, "NLD"), {}, 400, "its regions are CHF, EURO, SEK"),  # buy only
        ((VARIANT_SKU, 1, "EURO"), {"position": POSITION}, 400, "without an option"),
        ((VARIANT_SKU, 1, "EURO"), {"option": OPTION, "position": "BACK"}, 404, "BACK"),
        ((VARIANT_SKU, 1, "EURO"), {"option": "NOPE", "position": POSITION}, 404, "NOPE"),
        ((VARIANT_SKU, 1, "EURO"), {"option": "NOPE"}, 404, "has no print option NOPE"),
    ]
    for args, kwargs, status, message in cases:
        error = error_of(*args, **kwargs)
        assert (error.status, message in error.message) == (status, True), (args, kwargs, error)


def test_non_integer_quantity_is_400(variant):
    for quantity in ("5", 2.5, True, None):
        assert error_of(VARIANT_SKU, quantity, "EURO").status == 400


def test_option_without_prices_in_the_region_is_400(variant):
    PriceTier.objects.create(
        variant=variant, region="en-GB", kind="sell", min_quantity=1, price=1, currency="GBP"
    )
    # The article alone is quotable in en-GB: 10 x 1.00 = 10.00
    assert quote(VARIANT_SKU, 10, "en-GB")["total"] == "10.00"
    error = error_of(VARIANT_SKU, 10, "en-GB", option=OPTION)
    assert error.status == 400
    assert error.message == (
        f"print option {OPTION} has no prices in region en-GB; its regions are CHF, EURO, SEK"
    )


def test_option_on_several_positions_needs_the_position(variant):
    add_position(variant, "BACK")
    error = error_of(VARIANT_SKU, 100, "EURO", option=OPTION)
    assert error.status == 400
    assert error.message == f"option {OPTION} is offered on positions FRONT, BACK: pass position="
    # On BACK (EURO 100+ 0.60, no costs): 100 x 2.50 + 100 x 0.60 = 310.00
    result = quote(VARIANT_SKU, 100, "EURO", option=OPTION, position="BACK")
    assert result["print"]["position"] == "BACK" and result["print"]["costs"] == []
    assert result["total"] == "310.00"


def test_empty_option_and_position_mean_none(variant):
    assert quote(VARIANT_SKU, 100, "EURO", option="", position="")["print"] is None


def test_sku_shared_by_two_suppliers_prefers_the_supplier_prefixing_it():
    # Created first (lower ids), active, but their supplier codes do not prefix the SKU
    # ("A2" is not a prefix of "A23-..." in the feed's sense: the code is followed by "-").
    make_quotable_variant(supplier_code="A99", sku=VARIANT_SKU)
    make_quotable_variant(supplier_code="A2", family="23-1234", sku=VARIANT_SKU)
    wanted = make_quotable_variant(supplier_code="A23", is_active=False)
    assert Variant.objects.filter(sku=VARIANT_SKU).count() == 3
    PriceTier.objects.filter(variant=wanted, region="EURO", min_quantity=100).update(price=3)
    # 100 x 3.00 = 300.00 only for A23's variant
    assert quote(VARIANT_SKU, 100, "EURO")["total"] == "300.00"


def test_sku_without_prefixing_supplier_prefers_active_then_lowest_id():
    make_quotable_variant(supplier_code="B1", sku="X-1", is_active=False)
    first_active = make_quotable_variant(supplier_code="B2", sku="X-1")
    make_quotable_variant(supplier_code="B3", sku="X-1")
    PriceTier.objects.filter(variant=first_active, region="EURO", min_quantity=100).update(price=4)
    assert quote("X-1", 100, "EURO")["total"] == "400.00"


def test_queries_do_not_grow_with_options():
    make_quotable_variant()
    make_quotable_variant(supplier_code="A40", extra_options=19)
    counts = []
    for sku in (VARIANT_SKU, "A40-1234-01"):
        with CaptureQueriesContext(connection) as queries:
            result = quote(sku, 101, "EURO", option=OPTION)
        assert result["total"] == "371.99"
        counts.append(len(queries))
    assert counts[0] == counts[1] == 7  # variant, tiers, positions, options, 2 x tiers, costs


def test_helpers_for_a_loaded_variant(variant):
    assert variant_regions(variant) == ["CHF", "EURO", "SEK"]
    assert print_choices(variant) == [(POSITION, OPTION, f"{POSITION} / {OPTION} (Screen print)")]
    assert quote_for_variant(variant, 101, "EURO", option=OPTION) == quote(
        VARIANT_SKU, 101, "EURO", option=OPTION
    )
