"""The actors' runner, the one retry rule and the job records, on Dramatiq's StubBroker: a
worker thread in this process, real PostgreSQL and a loopback feed, no Redis, no subprocess.
Fast: each test takes a second or two."""

from __future__ import annotations

from urllib.parse import urlsplit

import dramatiq
import pytest
from dramatiq.brokers.stub import StubBroker

from catalog.models import Supplier
from promidata_sync.errors import StepFailed
from promidata_sync.models import Job, SyncItem, SyncRun
from promidata_sync.queue import dispatch
from promidata_sync.queue.broker import stop_in_process_worker
from promidata_sync.queue.runner import should_retry
from promidata_sync.services import runs
from promidata_sync.services.direct import sync_direct
from promidata_sync.services.work import FamilyWork, ImageWork
from tests.feedpaths import family_path, index_line

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def stub_worker(settings, monkeypatch):
    """A Dramatiq worker on the in-memory broker, with fast retries; joined by ``drain``."""
    broker = dramatiq.get_broker()
    assert isinstance(broker, StubBroker)
    stop_in_process_worker()
    broker.flush_all()
    settings.PROMIDATA_HTTP_ATTEMPTS = 1  # the feed's retries are not under test here
    settings.PROMIDATA_JOB_MAX_RETRIES = 2
    for name in ("sync_supplier", "sync_product_family", "upload_image"):
        options = broker.get_actor(name).options
        monkeypatch.setitem(options, "min_backoff", 10)
        monkeypatch.setitem(options, "max_backoff", 20)
    worker = dramatiq.Worker(broker, worker_timeout=20, worker_threads=2)
    worker.start()

    def drain() -> None:
        for queue in ("product-family", "image-upload", "supplier-sync"):
            broker.join(queue, fail_fast=False)
        worker.join()

    yield drain
    worker.stop()
    broker.flush_all()


def planned_run(supplier: Supplier, *, families=(), images=()) -> SyncRun:
    """A queue run planned with the given family items ``(sku, url, hash)`` and image URLs."""
    run = runs.run_create(supplier=supplier, trigger="command", mode=SyncRun.Mode.QUEUE)
    runs.run_mark_running(run)
    runs.items_plan(run.pk, kind=SyncItem.Kind.FAMILY, items=list(families))
    runs.items_plan(run.pk, kind=SyncItem.Kind.IMAGE, items=[(u, u, "") for u in images])
    runs.run_set(run.pk, planned_at=run.started_at)
    return run


def family_line(feed, feed_server, sku: str) -> tuple[str, str, str]:
    return (sku, *index_line(feed, feed_server, sku))


def family_work(run: SyncRun, line: tuple[str, str, str]) -> FamilyWork:
    sku, url, digest = line
    return FamilyWork(
        run_id=run.pk, supplier_id=run.supplier_id, family_sku=sku, url=url, hash=digest
    )


def queue_one_family(feed, feed_server, drain, sku: str, status: int, times=None):
    """Queue one family of a planned run whose file answers ``status`` (``times`` times, or
    always), run the worker until the queues are empty; return the run and the family's job."""
    line = family_line(feed, feed_server, sku)
    feed_server.fail(family_path(feed_server, sku), status, times=times)
    run = planned_run(Supplier.objects.create(code="A100"), families=[line])
    dispatch.enqueue([family_work(run, line)])
    drain()
    return run, Job.objects.get(actor_name="sync_product_family")


def test_the_retry_rule_asks_one_question():
    assert should_retry(0, StepFailed("timeout", permanent=False))
    assert not should_retry(0, StepFailed("broken JSON", permanent=True))
    assert not should_retry(99, StepFailed("timeout", permanent=False))  # no retries left
    assert should_retry(99, dramatiq.Retry("a webhook's own schedule"))
    assert not should_retry(0, ValueError("a bug"))  # bugs fail the same way again


def test_a_permanent_failure_fails_the_job_at_once_and_ends_the_run(
    feed, feed_server, sync_config, stub_worker
):
    run, job = queue_one_family(feed, feed_server, stub_worker, "A100-F00001", 404)
    assert (job.state, job.attempts_made) == (Job.State.FAILED, 1)
    assert "404" in job.error and "StepFailed" in job.traceback
    item = SyncItem.objects.get(run=run, kind=SyncItem.Kind.FAMILY)
    assert (item.state, item.permanent) == (SyncItem.State.FAILED, True)
    run.refresh_from_db()
    assert (run.state, run.families_failed) == (SyncRun.State.PARTIAL, 1)


def test_a_transient_failure_is_retried_and_counted_once(
    feed, feed_server, sync_config, stub_worker
):
    run, job = queue_one_family(feed, feed_server, stub_worker, "A100-F00002", 503, times=2)
    assert (job.state, job.attempts_made) == (Job.State.COMPLETED, 3)
    run.refresh_from_db()
    # Its images were follow-ups of the family; they ran too, and the run is over.
    assert run.state == SyncRun.State.COMPLETED
    assert (run.families_done, run.families_failed) == (1, 0)
    assert run.images_done == run.images_total > 0


def test_out_of_retries_the_work_fails_for_now_not_for_good(
    feed, feed_server, sync_config, stub_worker
):
    run, job = queue_one_family(feed, feed_server, stub_worker, "A100-F00003", 503)
    assert (job.state, job.attempts_made) == (Job.State.FAILED, 3)  # 1 + 2 retries
    item = SyncItem.objects.get(run=run, kind=SyncItem.Kind.FAMILY)
    assert (item.state, item.permanent) == (SyncItem.State.FAILED, False)
    run.refresh_from_db()
    assert run.state == SyncRun.State.PARTIAL


def test_an_image_batch_counts_and_fails_each_url_on_its_own(
    feed, feed_server, sync_config, stub_worker
):
    assert sync_direct(["A100"], config=sync_config).ok  # families and their image URLs
    urls = sorted(SyncItem.objects.filter(kind=SyncItem.Kind.IMAGE).values_list("url", flat=True))[
        :3
    ]
    SyncRun.objects.all().delete()
    feed_server.fail(urlsplit(urls[1]).path, 404)
    run = planned_run(Supplier.objects.get(code="A100"), images=urls)

    dispatch.enqueue([ImageWork(run_id=run.pk, urls=tuple(urls))])
    stub_worker()

    job = Job.objects.get(actor_name="upload_image")
    assert job.state == Job.State.COMPLETED and job.key == f"{urls[0]} (+2 more)"
    states = dict(SyncItem.objects.filter(run=run).values_list("key", "state"))
    assert states == {
        urls[0]: SyncItem.State.DONE,
        urls[1]: SyncItem.State.FAILED,
        urls[2]: SyncItem.State.DONE,
    }
    run.refresh_from_db()
    assert (run.images_done, run.images_failed, run.state) == (2, 1, SyncRun.State.PARTIAL)


def test_an_image_message_of_the_previous_version_still_runs(
    feed, feed_server, sync_config, stub_worker
):
    """Messages wait in Redis across an upgrade: one with ``url`` (not ``urls``) is done."""
    assert sync_direct(["A100"], config=sync_config).ok
    url = SyncItem.objects.filter(kind=SyncItem.Kind.IMAGE).values_list("url", flat=True)[0]
    SyncRun.objects.all().delete()
    run = planned_run(Supplier.objects.get(code="A100"), images=[url])

    dramatiq.get_broker().get_actor("upload_image").send(run_id=run.pk, url=url)
    stub_worker()

    assert Job.objects.get(actor_name="upload_image").state == Job.State.COMPLETED
    run.refresh_from_db()
    assert (run.images_done, run.state) == (1, SyncRun.State.COMPLETED)


def test_out_of_retries_each_image_of_a_batch_keeps_its_own_error(
    feed, feed_server, sync_config, stub_worker
):
    assert sync_direct(["A100"], config=sync_config).ok
    urls = sorted(SyncItem.objects.filter(kind=SyncItem.Kind.IMAGE).values_list("url", flat=True))[
        :3
    ]
    SyncRun.objects.all().delete()
    feed_server.reset_counts()
    feed_server.fail(urlsplit(urls[1]).path, 404)  # for good, at once
    feed_server.fail(urlsplit(urls[2]).path, 503)  # for now, every time
    run = planned_run(Supplier.objects.get(code="A100"), images=urls)

    dispatch.enqueue([ImageWork(run_id=run.pk, urls=tuple(urls))])
    stub_worker()

    job = Job.objects.get(actor_name="upload_image")
    assert (job.state, job.attempts_made) == (Job.State.FAILED, 3)
    items = {i.key: i for i in SyncItem.objects.filter(run=run)}
    assert items[urls[0]].state == SyncItem.State.DONE
    assert (items[urls[1]].state, items[urls[1]].permanent) == (SyncItem.State.FAILED, True)
    assert "404" in items[urls[1]].error
    assert (items[urls[2]].state, items[urls[2]].permanent) == (SyncItem.State.FAILED, False)
    assert "503" in items[urls[2]].error and "404" not in items[urls[2]].error
    # The image that failed for good was asked for once, not again on every retry.
    assert sum(1 for r in feed_server.requests if r.path == urlsplit(urls[1]).path) == 1
    run.refresh_from_db()
    assert (run.images_done, run.images_failed, run.state) == (1, 2, SyncRun.State.PARTIAL)
