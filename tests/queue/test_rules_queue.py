"""Exclusions and protected fields in queue mode: the supplier actor plans, the family actor
writes, on Dramatiq's StubBroker with a worker thread, real PostgreSQL and a loopback feed."""

from __future__ import annotations

import pytest

from catalog.models import Product, ProtectedField, Supplier
from promidata_sync.models import SyncRun
from promidata_sync.queue import dispatch
from promidata_sync.services import runs
from promidata_sync.services.direct import sync_direct
from promidata_sync.services.exclusions import exclusion_add
from promidata_sync.services.protection import protect
from promidata_sync.services.work import SupplierWork
from tests.feedpaths import family_path
from tests.queue.test_stub_broker import stub_worker  # noqa: F401  (the fixture)
from tests.rules.feed_edits import family_change

pytestmark = pytest.mark.django_db(transaction=True)


def queue_sync(code: str, drain) -> SyncRun:
    run = runs.run_create(
        supplier=Supplier.objects.get(code=code), trigger="command", mode=SyncRun.Mode.QUEUE
    )
    dispatch.enqueue([SupplierWork(run_id=run.pk)])
    drain()
    run.refresh_from_db()
    return run


def test_queue_mode_skips_excluded_families_and_keeps_protected_fields(
    feed,
    feed_server,
    sync_config,
    stub_worker,  # noqa: F811
):
    assert sync_direct(config=sync_config).ok
    supplier = Supplier.objects.get(code="A100")
    exclusion_add(supplier, "A100-F00006", user="alice")
    protect(Product.objects.get(sku="A100-F00001"), "brand", user="alice", value="House")
    family_change(
        feed, feed_server, "A100-F00001", "A100-F00006", brand="Otherbrand", name_en="New"
    )
    feed_server.reset_counts()

    run = queue_sync("A100", stub_worker)

    assert run.state == SyncRun.State.COMPLETED, run.message
    assert (run.families_updated, run.families_deactivated) == (1, 1)
    assert "1 families excluded by rules, not imported (A100-F00006)" in run.message
    assert not any(r.path == family_path(feed_server, "A100-F00006") for r in feed_server.requests)
    assert not Product.objects.get(sku="A100-F00006").is_active
    product = Product.objects.get(sku="A100-F00001")
    assert (product.brand, product.names["en"]) == ("House", "New")
    assert ProtectedField.objects.get(product=product).feed_value == "Otherbrand"
