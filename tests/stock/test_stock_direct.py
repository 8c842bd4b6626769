"""The stock stage in direct mode against the loopback stock service: quantities and totals
with the time they were read, conditional requests the second time, failures recorded on
their family's item, and a retry that heals them."""

from __future__ import annotations

import pytest

from catalog.models import Product, StockLevel, Supplier
from promidata_sync.models import SyncItem, SyncRun
from promidata_sync.operations import retry_failed, start_stock_sync

pytestmark = pytest.mark.django_db


def levels() -> dict[str, int | None]:
    return dict(StockLevel.objects.values_list("variant__sku", "quantity"))


def totals() -> dict[str, int | None]:
    return dict(Product.objects.values_list("sku", "stock_total"))


def test_a_stock_run_stores_each_variant_and_the_family_total(catalog, stock_server):
    result = start_stock_sync("A100", use_queue=False, trigger="command")

    assert result["success"], result
    run = SyncRun.objects.get(pk=result["runs"][0])
    assert (run.kind, run.state) == (SyncRun.Kind.STOCK, SyncRun.State.COMPLETED)
    assert (run.families_total, run.families_done, run.families_failed) == (3, 3, 0)
    assert run.items.filter(kind=SyncItem.Kind.STOCK, state=SyncItem.State.DONE).count() == 3
    assert levels() == {
        "A100-00000-0": 1, "A100-00000-1": 2,
        "A100-00001-0": 11, "A100-00001-1": 12,
        "A100-00002-0": 21, "A100-00002-1": 22,
    }  # fmt: skip
    assert totals() == {"A100-00000": 3, "A100-00001": 23, "A100-00002": 43}
    assert not StockLevel.objects.filter(read_at__isnull=True).exists()
    assert not Product.objects.filter(stock_read_at__isnull=True).exists()
    # Stock says nothing about the catalog sync: the supplier's last sync is untouched.
    supplier = Supplier.objects.get(code="A100")
    assert (supplier.last_synced_at, supplier.last_sync_status) == (None, "")


def test_the_second_run_asks_conditionally_and_keeps_quantities_on_304(catalog, stock_server):
    assert start_stock_sync("A100", use_queue=False)["success"]
    first_read = dict(StockLevel.objects.values_list("variant__sku", "read_at"))
    family_read = Product.objects.get(sku="A100-00001").stock_read_at
    stock_server.requests.clear()
    stock_server.quantities["A100-00001-1"] = 7  # one variant changes

    assert start_stock_sync("A100", use_queue=False)["success"]

    # Every request was conditional, with the ETag of the last answer.
    assert len(stock_server.requests) == 6
    assert stock_server.requests_for("A100-00000-0") == ['"q-1"']
    assert stock_server.requests_for("A100-00001-1") == ['"q-12"']
    # Unchanged ones got a 304 and kept their quantity; the changed one is read again.
    assert levels()["A100-00000-0"] == 1
    assert levels()["A100-00001-1"] == 7
    assert totals()["A100-00001"] == 18
    for sku, read_at in StockLevel.objects.values_list("variant__sku", "read_at"):
        assert read_at > first_read[sku]  # a 304 confirms the quantity now
    assert Product.objects.get(sku="A100-00001").stock_read_at > family_read
    changed = StockLevel.objects.get(variant__sku="A100-00001-1")
    kept = StockLevel.objects.get(variant__sku="A100-00000-0")
    assert changed.changed_at > kept.changed_at


def test_failures_are_recorded_on_their_family_and_a_retry_heals_them(catalog, stock_server):
    assert start_stock_sync("A100", use_queue=False)["success"]
    del stock_server.quantities["A100-00000-1"]  # 404 from now on
    stock_server.script["A100-00001-0"].append(b'{"OnStock": "lots"}')  # a broken answer
    stock_server.script["A100-00002-0"].append(500)  # one 500, then the answer: retried

    result = start_stock_sync("A100", use_queue=False)

    assert not result["success"]
    run = SyncRun.objects.get(pk=result["runs"][0])
    assert (run.state, run.families_done, run.families_failed) == ("partial", 1, 2)
    items = {i.key: i for i in run.items.all()}
    assert items["A100-00002"].state == SyncItem.State.DONE  # the 500 was retried
    missing, broken = items["A100-00000"], items["A100-00001"]
    assert missing.state == broken.state == SyncItem.State.FAILED
    assert missing.permanent and broken.permanent
    assert "A100-00000-1" in missing.error and "404" in missing.error
    assert "A100-00001-0" in broken.error and "not a whole number" in broken.error
    # The last good quantity is kept, with the reason it could not be read again.
    level = StockLevel.objects.get(variant__sku="A100-00000-1")
    assert level.quantity == 2 and "404" in level.error and level.error_at
    assert totals()["A100-00000"] == 3

    stock_server.quantities["A100-00000-1"] = 5
    retried = retry_failed(run, use_queue=False)

    assert retried["families"] == 2
    run.refresh_from_db()
    assert (run.state, run.families_done, run.families_failed) == ("completed", 3, 0)
    assert levels()["A100-00000-1"] == 5 and totals()["A100-00000"] == 6
    assert StockLevel.objects.get(variant__sku="A100-00000-1").error == ""


def test_a_server_down_for_longer_than_the_retries_fails_for_now(catalog, stock_server):
    stock_server.script["A100-00002-1"].extend([503, 503])

    result = start_stock_sync("A100", use_queue=False)

    run = SyncRun.objects.get(pk=result["runs"][0])
    item = run.items.get(key="A100-00002")
    assert item.state == SyncItem.State.FAILED and not item.permanent
    assert "503" in item.error
    # The other variant of that family was read and counts in its total.
    assert totals()["A100-00002"] == 21


def test_stock_off_says_so_and_creates_nothing(catalog, settings):
    settings.PROMIDATA_STOCK_URL_TEMPLATE = ""

    with pytest.raises(ValueError, match="PROMIDATA_STOCK_URL_TEMPLATE is empty"):
        start_stock_sync("A100", use_queue=False)
    assert not SyncRun.objects.exists()
