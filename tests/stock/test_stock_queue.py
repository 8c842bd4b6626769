"""The stock stage in queue mode: real Redis, a real ``stock-sync`` worker process (started
from the registry like every other stage), the loopback stock service; a transient failure
is retried by the queue, and the run, its jobs and the queue statistics say what happened."""

from __future__ import annotations

import pytest

from catalog.models import Product, StockLevel
from promidata_sync.models import Job, SyncItem, SyncRun
from promidata_sync.operations import get_queue_stats, start_stock_sync
from tests.queue.conftest import wait_for_runs

pytestmark = pytest.mark.django_db(transaction=True)


def test_queued_stock_run_reads_every_family_and_retries_a_transient_failure(
    catalog, stock_server, start_workers
):
    # The worker makes one attempt per request (FAST_WORKER_ENV), so a 503 fails the job
    # and the queue's retry (200 ms later) reads it.
    stock_server.script["A100-00001-0"].append(503)
    start_workers(["stock-sync"], PROMIDATA_STOCK_URL_TEMPLATE=stock_server.template)

    result = start_stock_sync("A100", use_queue=True, trigger="cron")

    assert result["success"] and result["mode"] == "queue"
    assert {job["queue_name"] for job in result["jobs"]} == {"stock-sync"}
    (run,) = wait_for_runs(result["runs"], timeout=30)
    assert (run.kind, run.state, run.trigger) == ("stock", SyncRun.State.COMPLETED, "cron")
    assert (run.families_total, run.families_done, run.families_failed) == (3, 3, 0)
    assert dict(Product.objects.values_list("sku", "stock_total")) == {
        "A100-00000": 3,
        "A100-00001": 23,
        "A100-00002": 43,
    }
    assert StockLevel.objects.filter(read_at__isnull=False, error="").count() == 6
    # One job of three families, completed on its second attempt, on the stock queue.
    (job,) = Job.objects.filter(run=run)
    assert (job.queue_name, job.actor_name, job.state) == ("stock-sync", "sync_stock", "completed")
    assert job.attempts_made == 2
    assert job.key == "A100-00000 (+2 more)"
    assert get_queue_stats("stock-sync")["completed"] == 1
    assert run.items.filter(kind=SyncItem.Kind.STOCK, state="done").count() == 3

    # The next run asks conditionally and gets 304s.
    stock_server.requests.clear()
    (again,) = wait_for_runs(start_stock_sync("A100", use_queue=True)["runs"], timeout=30)

    assert again.state == SyncRun.State.COMPLETED
    assert all(etag.startswith('"q-') for _, etag in stock_server.requests)
    assert len(stock_server.requests) == 6
