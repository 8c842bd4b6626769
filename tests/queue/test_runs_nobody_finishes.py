"""No run blocks for ever: killed processes, lost Redis data, dead workers, jobs that hit a
bug, and a ``--wait`` that has a deadline. Real processes, real Redis, real PostgreSQL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

from catalog.models import Product, Supplier
from devtools.feedserver import FAKE_PROFILE_GUID
from promidata_sync.models import Job, SyncItem, SyncRun, WorkerHeartbeat
from promidata_sync.operations import start_sync, stop_sync
from promidata_sync.services.direct import sync_direct
from tests.catalog_state import catalog_as_feed, normalise_expected
from tests.feedpaths import family_path
from tests.queue.conftest import wait_for_families_written, wait_for_runs

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]
# Reconcile fast: every second, runs silent for two seconds.
FAST_RECONCILE = {
    "PROMIDATA_RECONCILE_INTERVAL_SECONDS": "1",
    "PROMIDATA_RECONCILE_AFTER_SECONDS": "2",
}


def manage(*args: str, env: dict, **kwargs) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


def wait_until(condition, timeout: float = 30, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"{what} not reached in {timeout}s")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def kill_a_direct_sync_mid_way(worker_env: dict, feed_server) -> SyncRun:
    """Start ``promidata_sync A100 --direct`` in a process of its own, kill -9 it once it has
    written a family, and return its run (left "running": nothing could finish it)."""
    feed_server.latency_ms = 150
    env = {**worker_env, "PROMIDATA_FETCH_CONCURRENCY": "1", "REDIS_URL": ""}
    process = manage("promidata_sync", "A100", "--direct", "--no-progress", env=env)
    run = wait_until(
        lambda: SyncRun.objects.filter(supplier__code="A100", families_done__gte=1).first(),
        what="a family written by the direct sync",
    )
    process.send_signal(signal.SIGKILL)
    process.communicate()
    feed_server.latency_ms = 0
    run.refresh_from_db()
    assert run.state == SyncRun.State.RUNNING and run.owner_pid == process.pid
    return run


def test_a_killed_direct_sync_is_finished_as_dead_and_the_next_sync_runs(
    feed, feed_server, sync_config, worker_env
):
    dead = kill_a_direct_sync_mid_way(worker_env, feed_server)

    report = sync_direct(["A100"], config=sync_config)

    dead.refresh_from_db()
    assert dead.state == SyncRun.State.FAILED and dead.finished_at
    assert "process died" in dead.message
    (run,) = report.runs
    assert run.pk != dead.pk and run.state == SyncRun.State.COMPLETED
    assert Product.objects.filter(supplier__code="A100", is_active=True).count() == 6


def test_stop_ends_a_dead_direct_run_at_once(feed, feed_server, worker_env):
    dead = kill_a_direct_sync_mid_way(worker_env, feed_server)

    stopped = stop_sync(dead)

    assert stopped.state == SyncRun.State.STOPPED and stopped.finished_at


def test_after_a_killed_direct_sync_the_cron_command_with_wait_returns(
    feed, feed_server, worker_env, start_workers
):
    kill_a_direct_sync_mid_way(worker_env, feed_server)
    start_workers()

    cron = manage(
        "promidata_sync", "A100", "--trigger", "cron", "--wait", "--quiet", env=worker_env
    )
    out, err = cron.communicate(timeout=90)

    assert cron.returncode == 0, out + err
    assert out == "" and "Traceback" not in err
    latest = SyncRun.objects.filter(supplier__code="A100").latest("pk")
    assert latest.state == SyncRun.State.COMPLETED and latest.mode == SyncRun.Mode.QUEUE


def test_wait_gives_up_after_its_timeout_and_says_so(feed, feed_server, worker_env):
    Supplier.objects.create(code="A100")  # no workers run: the sync stays queued
    started = time.monotonic()

    waiting = manage("promidata_sync", "A100", "--wait", "--timeout", "2", env=worker_env)
    out, err = waiting.communicate(timeout=60)

    assert waiting.returncode == 1, out + err
    assert time.monotonic() - started < 30
    assert "still Queued after 2s; stopped waiting" in err  # failures on stderr
    assert "Traceback" not in out + err


def test_a_redis_flush_mid_sync_heals_by_itself(
    feed, feed_server, sync_config, redis_broker, start_workers
):
    feed_server.latency_ms = 100
    start_workers(**FAST_RECONCILE)
    result = start_sync(None, use_queue=True)
    wait_for_families_written(2)

    redis_broker.client.flushdb()  # every message, lease and heartbeat gone at once

    runs = wait_for_runs(result["runs"], timeout=120)
    assert all(run.state == SyncRun.State.COMPLETED for run in runs), runs
    assert catalog_as_feed() == normalise_expected(feed.expected())
    assert not SyncItem.objects.filter(state=SyncItem.State.PENDING).exists()
    # The records of the messages Redis forgot say what happened to them.
    lost = Job.objects.filter(state=Job.State.FAILED, error__startswith="lost:")
    assert lost.exists()


def test_killing_every_worker_at_once_heals_once_workers_are_back(
    feed, feed_server, sync_config, start_workers
):
    feed_server.latency_ms = 150
    # Dramatiq's own chance maintenance is off: only the reconciler can hand the dead
    # workers' messages back.
    env = {**FAST_RECONCILE, "PROMIDATA_BROKER_MAINTENANCE_CHANCE": "0"}
    workers = start_workers(**env)
    result = start_sync(None, use_queue=True)
    wait_for_families_written(2)

    # What a machine crash looks like: the supervisor and every group die at once, holding
    # messages they fetched and never acknowledged. (Groups run in sessions of their own.)
    group_pids = list(WorkerHeartbeat.objects.values_list("pid", flat=True))
    for pid in [workers.process.pid, *group_pids]:
        os.kill(pid, signal.SIGKILL)
    workers.process.wait()
    wait_until(lambda: not any(_alive(pid) for pid in group_pids), what="every group dead")
    WorkerHeartbeat.objects.all().delete()  # the dead cannot remove their own
    start_workers(**env)

    runs = wait_for_runs(result["runs"], timeout=120)
    assert all(run.state == SyncRun.State.COMPLETED for run in runs), [
        (run.state, run.message) for run in runs
    ]
    assert catalog_as_feed() == normalise_expected(feed.expected())


def test_a_job_that_hits_an_unforeseen_error_fails_at_once_with_its_error(
    feed, feed_server, sync_config, start_workers, tmp_path
):
    with connection.cursor() as cursor:  # the database itself refuses one family
        cursor.execute(
            """CREATE FUNCTION refuse_family() RETURNS trigger AS $$
               BEGIN IF NEW.sku = 'A100-F00002' THEN RAISE EXCEPTION 'refused by a trigger';
               END IF; RETURN NEW; END $$ LANGUAGE plpgsql;
               CREATE TRIGGER refuse_family BEFORE INSERT OR UPDATE ON catalog_product
               FOR EACH ROW EXECUTE FUNCTION refuse_family();"""
        )
    log_file = tmp_path / "workers.log"
    # A transient failure too: Dramatiq logs it with the message's arguments (feed URLs).
    feed_server.fail(family_path(feed_server, "A101-F00003"), 503, times=1)
    try:
        start_workers(PROMIDATA_LOG_FILE=str(log_file), LOG_LEVEL="INFO")
        result = start_sync(None, use_queue=True)
        runs = wait_for_runs(result["runs"], timeout=60)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TRIGGER refuse_family ON catalog_product")
            cursor.execute("DROP FUNCTION refuse_family()")

    job = Job.objects.get(actor_name="sync_product_family", key="A100-F00002")
    assert job.state == Job.State.FAILED
    assert job.attempts_made == 1  # a bug is not retried five times
    assert "internal error" in job.error and "refused by a trigger" in job.error
    assert "Traceback" in job.traceback and FAKE_PROFILE_GUID not in job.traceback
    item = SyncItem.objects.get(kind="family", key="A100-F00002")
    assert item.state == SyncItem.State.FAILED and item.permanent
    a100 = next(run for run in runs if run.supplier.code == "A100")
    assert a100.state == SyncRun.State.PARTIAL and a100.families_done == 5
    # Dramatiq's own lines name the message's arguments, feed URLs included: masked.
    log = log_file.read_text()
    assert "Failed to process message sync_product_family" in log and "A101-F00003" in log
    assert FAKE_PROFILE_GUID not in log
