"""GET api/catalog/quote/ on hand-computed examples (the rows of ``quote_factories``), and
every refusal as JSON. The rules themselves are tested on the service in
``test_quotes_service``; here the HTTP contract: keys, strings for decimals, statuses."""

from __future__ import annotations

import pytest

from tests.api.quote_factories import OPTION, POSITION, VARIANT_SKU, make_quotable_variant

pytestmark = pytest.mark.django_db

QUOTE_KEYS = {
    "variant", "quantity", "region", "currency", "article", "print", "total", "on_request",
}  # fmt: skip
LINE_KEYS = {"unit_price", "min_quantity", "total"}
PRINT_KEYS = {"option", "position", "unit_price", "min_quantity", "total", "costs"}
COST_KEYS = {"sku", "calculation_type", "unit_price", "total"}


@pytest.fixture
def variant(db):
    return make_quotable_variant()


def get_quote(reader, **params):
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return reader.get(f"/api/catalog/quote/?{query}")


def test_article_and_print_with_a_unique_and_a_multiplied_cost(reader, variant):
    response = get_quote(
        reader, variant=VARIANT_SKU, quantity=101, region="EURO", option=OPTION, position=POSITION
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == QUOTE_KEYS and set(body["article"]) >= LINE_KEYS
    assert set(body["print"]) >= PRINT_KEYS
    # Article: tier 100+ at 2.50 -> 2.50 x 101 = 252.50
    assert body["article"] == {"unit_price": "2.50", "min_quantity": 100, "total": "252.50"}
    # Print: 0.445 x 101 = 44.945 (shown 44.95)
    assert (body["print"]["unit_price"], body["print"]["total"]) == ("0.445", "44.95")
    setup, handling = body["print"]["costs"]
    assert set(setup) >= COST_KEYS
    # Unique: 35.00 x 2 (colours), once = 70.00
    assert (setup["calculation_type"], setup["total"]) == ("Unique", "70.00")
    # Multiplied: 0.045 x 1 x 101 = 4.545 (shown 4.55)
    assert (handling["calculation_type"], handling["total"]) == ("Multiplied", "4.55")
    # 252.50 + 44.945 + 70.00 + 4.545 = 371.99, rounded once at the end (not 372.00)
    assert (body["total"], body["currency"], body["on_request"]) == ("371.99", "EUR", False)


def test_below_the_first_tier_the_first_applies(reader, variant):
    body = get_quote(reader, variant=VARIANT_SKU, quantity=50, region="EURO").json()
    # The first selling tier is 100+ at 2.50: 2.50 x 50 = 125.00; no print
    assert body["article"] == {"unit_price": "2.50", "min_quantity": 100, "total": "125.00"}
    assert body["print"] is None and body["total"] == "125.00"


def test_an_on_request_tier_makes_the_total_null(reader, variant):
    body = get_quote(reader, variant=VARIANT_SKU, quantity=1000, region="EURO").json()
    assert body["on_request"] is True and body["total"] is None
    assert body["article"]["total"] is None and body["article"]["min_quantity"] == 1000


def test_chf(reader, variant):
    body = get_quote(
        reader, variant=VARIANT_SKU, quantity=500, region="CHF", option=OPTION, position=POSITION
    ).json()
    # 2.30 x 500 = 1150.00; 0.50 x 500 = 250.00; setup 40.00 x 2 = 80.00;
    # handling 0.05 x 1 x 500 = 25.00 -> 1505.00 CHF
    assert body["currency"] == "CHF" and body["total"] == "1505.00"
    assert [c["total"] for c in body["print"]["costs"]] == ["80.00", "25.00"]


def test_sek_leaves_out_a_cost_without_prices_there(reader, variant):
    body = get_quote(
        reader, variant=VARIANT_SKU, quantity=200, region="SEK", option=OPTION, position=POSITION
    ).json()
    # 28.00 x 200 = 5600.00; 5.00 x 200 = 1000.00; setup 400.00 x 2 = 800.00; no handling
    assert body["currency"] == "SEK" and body["total"] == "7400.00"
    assert [c["sku"] for c in body["print"]["costs"]] == ["SETUP-2C"]


@pytest.mark.parametrize(
    ("params", "status", "text"),
    [
        ({"variant": VARIANT_SKU, "quantity": 0, "region": "EURO"}, 400, "quantity"),
        ({"variant": VARIANT_SKU, "quantity": -5, "region": "EURO"}, 400, "quantity"),
        ({"variant": VARIANT_SKU, "quantity": "ten", "region": "EURO"}, 400, "quantity"),
        ({"variant": VARIANT_SKU, "quantity": "9" * 40, "region": "EURO"}, 400, "quantity"),
        ({"variant": VARIANT_SKU, "region": "EURO"}, 400, "quantity: is required"),
        ({"variant": VARIANT_SKU, "quantity": 10}, 400, "region: is required"),
        ({"quantity": 10, "region": "EURO"}, 400, "variant: is required"),
        ({"variant": VARIANT_SKU, "quantity": 10, "region": "XYZ"}, 400, "CHF, EURO, SEK"),
        ({"variant": "A23-NOPE", "quantity": 10, "region": "EURO"}, 404, "A23-NOPE"),
        (
            {"variant": VARIANT_SKU, "quantity": 10, "region": "EURO", "option": "NOPE"},
            404,
            "NOPE",
        ),
        (
            {
                "variant": VARIANT_SKU,
                "quantity": 10,
                "region": "EURO",
                "option": OPTION,
                "position": "BACK",
            },
            404,
            "BACK",
        ),
        (
            {"variant": VARIANT_SKU, "quantity": 10, "region": "EURO", "position": POSITION},
            400,
            "option",
        ),
    ],
)
def test_refusals_are_json(reader, variant, params, status, text):
    response = get_quote(reader, **params)
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"} and text in body["error"], body


def test_a_quote_needs_the_catalog_scope(client, operate_key, variant):
    response = client.get(
        f"/api/catalog/quote/?variant={VARIANT_SKU}&quantity=1&region=EURO",
        HTTP_AUTHORIZATION=f"Bearer {operate_key}",
    )
    assert response.status_code == 403
