"""The queue pipeline with real Redis, real worker processes and a loopback feed."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest
from django.db import connection
from dramatiq.brokers.rabbitmq import RabbitmqBroker

from catalog.models import Media, PriceTier, Product, Variant, VariantMedia
from devtools.feedgen import FeedSpec
from promidata_sync.models import ImageSource, Job, SyncItem, SyncRun, VariantImage, WorkerHeartbeat
from promidata_sync.operations import get_job_status, get_queue_stats, retry_failed, start_sync
from promidata_sync.services.direct import sync_direct
from tests.catalog_state import (
    assert_images_linked_and_stored,
    catalog_as_feed,
    normalise_expected,
)
from tests.feedpaths import family_path
from tests.queue.conftest import both_brokers, wait_for_families_written, wait_for_runs

pytestmark = pytest.mark.django_db(transaction=True)


def clear_catalog() -> None:
    for model in (VariantMedia, VariantImage, ImageSource, PriceTier, Variant, Product, Media):
        model.objects.all().delete()


@both_brokers
def test_queued_sync_ends_with_exactly_the_catalog_direct_mode_produces(
    feed, feed_server, sync_config, start_workers
):
    assert sync_direct(config=sync_config).ok
    direct_catalog = catalog_as_feed()
    clear_catalog()
    SyncRun.objects.all().delete()
    start_workers()

    result = start_sync(None, use_queue=True, trigger="command")

    assert result["success"] and result["mode"] == "queue"
    assert [job["status"] for job in result["jobs"]] == ["queued", "queued"]
    runs = wait_for_runs(result["runs"])
    assert all(run.state == SyncRun.State.COMPLETED for run in runs), runs
    assert catalog_as_feed() == direct_catalog == normalise_expected(feed.expected())
    assert_images_linked_and_stored()
    for run in runs:
        assert run.families_done == run.families_total == 6
        assert run.images_done == run.images_total
    # Every job has a record that ended completed, with its attempts and timestamps.
    jobs = Job.objects.all()
    assert jobs.filter(actor_name="sync_supplier").count() == 2
    assert jobs.filter(actor_name="sync_product_family").count() == 12
    assert set(jobs.values_list("state", flat=True)) == {Job.State.COMPLETED}
    supplier_job = get_job_status("supplier-sync", result["jobs"][0]["job_id"])
    assert supplier_job["progress"] == {"step": "complete", "percentage": 100}
    assert supplier_job["result"]["families_enqueued"] == 6
    assert supplier_job["attempts_made"] == 1
    assert supplier_job["processed_at"] and supplier_job["finished_at"]


def test_job_states_and_progress_move_as_specified(feed, feed_server, sync_config, start_workers):
    feed_server.latency_ms = 300  # every request takes a while: states can be watched
    result = start_sync(None, use_queue=True)
    seen: set[tuple[str, str, str, int]] = set()
    # Nothing consumes yet: the supplier jobs wait.
    assert {j.state for j in Job.objects.all()} == {Job.State.WAITING}
    start_workers()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for job in Job.objects.all():
            progress = job.progress or {}
            seen.add(
                (job.actor_name, job.state, progress.get("step", ""), progress.get("percentage", 0))
            )
        if all(r.finished_at for r in SyncRun.objects.filter(pk__in=result["runs"])):
            break
        time.sleep(0.05)
    wait_for_runs(result["runs"])
    assert ("sync_supplier", Job.State.WAITING, "", 0) in seen
    assert ("sync_supplier", Job.State.ACTIVE, "parsing_import", 10) in seen
    assert ("sync_supplier", Job.State.COMPLETED, "complete", 100) in seen
    assert ("sync_product_family", Job.State.ACTIVE, "product", 30) in seen
    assert ("sync_product_family", Job.State.COMPLETED, "complete", 100) in seen


@both_brokers
def test_queue_stats_add_up_while_pending_and_after_draining(
    feed, feed_server, sync_config, start_workers
):
    result = start_sync(None, use_queue=True)

    pending = get_queue_stats("supplier-sync")
    assert (pending["waiting"], pending["active"], pending["completed"]) == (2, 0, 0)
    assert pending["total"] == 2
    everything = get_queue_stats()
    assert everything["total"]["waiting"] == 2
    assert everything["total"]["total"] == sum(q["total"] for q in everything["queues"].values())

    start_workers()
    wait_for_runs(result["runs"])
    time.sleep(0.5)  # the last acknowledgements reach Redis after the rows commit

    drained = get_queue_stats()
    jobs = Job.objects.count()
    assert drained["total"]["waiting"] == drained["total"]["active"] == 0
    assert drained["total"]["delayed"] == drained["total"]["dead"] == 0
    assert drained["total"]["completed"] == jobs
    assert drained["total"]["total"] == jobs
    assert drained["queues"]["product-family"]["completed"] == 12


@both_brokers
def test_a_worker_group_killed_mid_sync_is_restarted_and_the_run_completes_exactly_once(
    feed, feed_server, sync_config, start_workers, queue_broker
):
    feed_server.latency_ms = 150
    workers = start_workers()
    result = start_sync(None, use_queue=True)
    wait_for_families_written(2)
    victim = workers.group_pid("product-family")

    os.kill(victim, signal.SIGKILL)  # no goodbye: its unacknowledged messages are stranded

    runs = wait_for_runs(result["runs"], timeout=90)
    assert all(run.state == SyncRun.State.COMPLETED for run in runs)
    assert catalog_as_feed() == normalise_expected(feed.expected())
    assert_images_linked_and_stored()
    # Every row exactly once: counts match the feed, and the run counted each family once.
    expected = feed.expected()
    variants = sum(len(f["variants"]) for fams in expected.values() for f in fams.values())
    assert Product.objects.count() == 12
    assert Variant.objects.count() == variants
    assert PriceTier.objects.count() == variants * 5  # 3 sell + 2 buy tiers each
    assert all(run.families_done == 6 and run.families_failed == 0 for run in runs)
    # The killed group was restarted by the manager: a new worker serves product-family.
    assert workers.group_pid("product-family") != victim
    if isinstance(queue_broker, RabbitmqBroker):
        # RabbitMQ gave the dead consumer's messages back by itself: nothing was re-sent.
        assert all("reconciler" not in run.message for run in runs), [r.message for r in runs]


@both_brokers
def test_permanent_failure_is_failed_at_once_and_transient_failure_is_retried(
    feed, feed_server, sync_config, start_workers
):
    feed_server.fail(family_path(feed_server, "A100-F00001"), 404)
    feed_server.fail(family_path(feed_server, "A100-F00002"), 503, times=2)
    start_workers()

    result = start_sync("A100", use_queue=True)
    (run,) = wait_for_runs(result["runs"])

    broken = Job.objects.get(actor_name="sync_product_family", key="A100-F00001")
    assert broken.state == Job.State.FAILED
    assert "HTTP 404" in broken.error
    assert broken.attempts_made == 1  # not retried
    flaky = Job.objects.get(actor_name="sync_product_family", key="A100-F00002")
    assert flaky.state == Job.State.COMPLETED
    assert flaky.attempts_made == 3  # two 503s, then success
    assert run.state == SyncRun.State.PARTIAL
    assert (run.families_done, run.families_failed) == (5, 1)
    item = SyncItem.objects.get(run=run, key="A100-F00001")
    assert item.state == SyncItem.State.FAILED and "HTTP 404" in item.error

    # Once the cause is fixed, retry_failed re-runs the failed job on the same run.
    feed_server.clear_faults()
    retried = retry_failed(run)
    assert retried["families"] == 1
    (run,) = wait_for_runs([run.pk])
    assert run.state == SyncRun.State.COMPLETED
    assert (run.families_done, run.families_failed) == (6, 0)
    assert Product.objects.filter(sku="A100-F00001", is_active=True).exists()
    assert get_job_status("product-family", retried["jobs"][0]["job_id"])["state"] == "completed"


@both_brokers
def test_two_simultaneous_starts_for_one_supplier_give_one_run(
    feed, feed_server, sync_config, queue_broker
):
    from catalog.models import Supplier

    Supplier.objects.create(code="A100")
    results, barrier = [], threading.Barrier(2)

    def start():
        barrier.wait()
        try:
            results.append(start_sync("A100", use_queue=True))
        finally:
            connection.close()

    threads = [threading.Thread(target=start) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert SyncRun.objects.count() == 1
    run_ids = {job["run_id"] for result in results for job in result["jobs"]}
    assert len(run_ids) == 1
    statuses = sorted(job["status"] for result in results for job in result["jobs"])
    assert statuses == ["already_running", "queued"]
    assert get_queue_stats("supplier-sync")["waiting"] == 1


@pytest.fixture
def in_process_worker():
    import dramatiq

    from promidata_sync.queue.broker import stop_in_process_worker

    yield
    stop_in_process_worker()
    dramatiq.get_broker().flush_all()


@pytest.mark.parametrize("feed_spec", [FeedSpec(suppliers=1, families_per_supplier=4)])
def test_without_redis_queue_mode_runs_in_process(
    feed, feed_server, sync_config, in_process_worker
):
    """No REDIS_URL: an in-memory broker and a worker inside this process do the work."""
    result = start_sync(None, use_queue=True)

    (run,) = wait_for_runs(result["runs"])

    assert run.state == SyncRun.State.COMPLETED
    assert catalog_as_feed() == normalise_expected(feed.expected())


def test_stop_sync_ends_a_queued_run_and_its_waiting_jobs_do_nothing(
    feed, feed_server, sync_config, start_workers
):
    from promidata_sync.operations import stop_sync

    feed_server.latency_ms = 200
    workers = start_workers()
    result = start_sync(None, use_queue=True)
    wait_for_families_written(1)

    for run in SyncRun.objects.filter(pk__in=result["runs"]):
        stop_sync(run)

    runs = wait_for_runs(result["runs"])
    assert {run.state for run in runs} == {SyncRun.State.STOPPED}
    time.sleep(2)  # let the workers drain what was queued
    workers.stop()
    written = Product.objects.count()
    assert written < 12  # stopped between families: not everything was written
    family_jobs = Job.objects.filter(actor_name="sync_product_family")
    assert set(family_jobs.values_list("state", flat=True)) == {Job.State.COMPLETED}
    skipped = family_jobs.filter(result__skipped__isnull=False).count()
    wrote = family_jobs.filter(result__product_id__isnull=False).count()
    assert skipped >= 1  # jobs still waiting when the run stopped did nothing
    assert (wrote, wrote + skipped) == (written, family_jobs.count())


@both_brokers
def test_sigterm_stops_workers_gracefully_and_nothing_is_lost(
    feed, feed_server, sync_config, start_workers
):
    feed_server.latency_ms = 150
    workers = start_workers()
    result = start_sync(None, use_queue=True)
    wait_for_families_written(1)

    assert workers.stop() == 0  # SIGTERM: running jobs finish, prefetched ones go back

    assert not Job.objects.filter(state=Job.State.ACTIVE).exists()
    assert not WorkerHeartbeat.objects.exists()  # each worker said goodbye
    assert SyncRun.objects.filter(pk__in=result["runs"], finished_at__isnull=True).exists()

    start_workers()
    runs = wait_for_runs(result["runs"])
    assert all(run.state == SyncRun.State.COMPLETED for run in runs)
    assert catalog_as_feed() == normalise_expected(feed.expected())
