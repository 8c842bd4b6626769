"""``insert_rows``: leaf rows go in by COPY on PostgreSQL, inside the caller's transaction."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import DataError, connection, transaction
from django.test.utils import CaptureQueriesContext

from catalog.models import PriceTier, Product, Supplier, Variant
from promidata_sync.errors import describe, is_permanent
from promidata_sync.services.bulk_rows import insert_rows

pytestmark = pytest.mark.django_db

COLUMNS = ("variant_id", "region", "kind", "min_quantity", "price", "currency", "on_request")


@pytest.fixture
def variant() -> Variant:
    supplier = Supplier.objects.create(code="B1")
    product = Product.objects.create(supplier=supplier, sku="B1-1", source_url="http://x/1")
    return Variant.objects.create(product=product, sku="B1-1-1")


def test_rows_read_back_as_written_and_the_statement_is_logged(variant):
    rows = [
        (variant.pk, "de-CH", "sell", 1, Decimal("1.2345"), "CHF", False),
        (variant.pk, "de-CH", "sell", 100, Decimal("0"), "CHF", True),
        (variant.pk, "sv-SE", "buy", 50, Decimal("12345678.9"), "SEK", False),
    ]
    with CaptureQueriesContext(connection) as queries:
        assert insert_rows(PriceTier, COLUMNS, rows) == 3

    stored = PriceTier.objects.order_by("region", "kind", "min_quantity")
    assert [tuple(getattr(t, c) for c in COLUMNS) for t in stored] == sorted(rows)
    assert [q["sql"] for q in queries.captured_queries] == [
        'COPY "catalog_pricetier" ("variant_id", "region", "kind", "min_quantity", "price", '
        '"currency", "on_request") FROM STDIN -- 3 rows'
    ]


def test_rows_roll_back_with_the_callers_transaction(variant):
    with pytest.raises(RuntimeError), transaction.atomic():
        insert_rows(PriceTier, COLUMNS, [(variant.pk, "EURO", "sell", 1, Decimal(1), "EUR", False)])
        raise RuntimeError("the family failed after its tiers")

    assert not PriceTier.objects.exists()


def test_a_value_the_column_refuses_is_a_permanent_database_error(variant):
    too_large = Decimal("10") ** 11  # numeric(14, 4) holds 10 digits before the point
    with pytest.raises(DataError) as raised, transaction.atomic():
        insert_rows(PriceTier, COLUMNS, [(variant.pk, "EURO", "sell", 1, too_large, "EUR", False)])

    assert is_permanent(raised.value)
    assert "numeric field overflow" in describe(raised.value)
    assert not PriceTier.objects.exists()


def test_nothing_to_insert_sends_nothing(variant):
    with CaptureQueriesContext(connection) as queries:
        assert insert_rows(PriceTier, COLUMNS, []) == 0
    assert not queries.captured_queries
