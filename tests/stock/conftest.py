"""A loopback stock service, a small catalog to read the stock of, and (for the queue test)
the real Redis and worker processes of the queue tests."""

from __future__ import annotations

import pytest

from catalog.models import Product, Supplier
from tests.admin.conftest import operator, operator_client, viewer, viewer_client  # noqa: F401
from tests.admin.factories import make_products
from tests.api.conftest import catalog_key, fresh_throttle_counts, reader  # noqa: F401
from tests.queue.conftest import queue_broker, redis_broker, start_workers, worker_env  # noqa: F401
from tests.stock.server import StockServer


@pytest.fixture
def stock_server(settings):
    """The stock service on loopback, configured as the stock URL template, with fast
    fetch retries (two attempts per request)."""
    with StockServer() as server:
        settings.PROMIDATA_STOCK_URL_TEMPLATE = server.template
        settings.PROMIDATA_HTTP_ATTEMPTS = 2
        settings.PROMIDATA_HTTP_BACKOFF_SECONDS = 0.01
        settings.PROMIDATA_HTTP_BACKOFF_MAX_SECONDS = 0.02
        settings.PROMIDATA_HTTP_TIMEOUT_SECONDS = 5
        yield server


@pytest.fixture
def catalog(stock_server) -> list[Product]:
    """Supplier A100 with three families of two variants; each variant has stock 10 * its
    family number + its variant number + 1 on the stock server."""
    (supplier,) = Supplier.objects.bulk_create([Supplier(code="A100", name="Stocked")])
    products = make_products(supplier, 3, variants=2, images=0)
    for number, product in enumerate(products):
        for variant in product.variants.all():
            stock_server.quantities[variant.sku] = 10 * number + variant.position + 1
    return products
