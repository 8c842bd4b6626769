"""Chaos: queued syncs hit by random faults heal by themselves, and the catalog is exact.

One test, eight faults or more, two of each kind, in a random order at a random moment of a
sync (the seed is printed; ``CHAOS_SEED`` replays a run, ``CHAOS_ROUNDS`` asks for more):

- kill -9 of one worker group (the supervisor restarts it);
- kill -9 of the whole worker tree, then the workers started again (a machine crash);
- a Redis restart without persistence (every message, lease and heartbeat gone);
- a PostgreSQL restart (every connection of every process broken at once).

Each round adds families and changes prices, so there is new work to do; after each fault
the catalog must equal what the feed says, every row once, with no item left pending. Each
recovery time (from the fault to the end of the runs) is printed, and the stated bounds hold:
the healing bounds of the settings (a dead worker's messages back within heartbeat timeout
+ reconcile interval, lost work re-sent within reconcile-after + interval) plus the time the
remaining work takes.

Run it alone with ``python3 scripts/test.py -m chaos -s``.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import time
from decimal import Decimal

import pytest
import redis
from django.db import connection
from django.db.models import Count

from catalog.models import Media, Product
from promidata_sync.models import Job, SyncItem, SyncRun, WorkerHeartbeat
from promidata_sync.operations import start_sync
from tests.catalog_state import catalog_as_feed, normalise_expected
from tests.queue.conftest import TEST_REDIS_URL, wait_for_runs

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.chaos]

FAULTS = ("kill_group", "kill_tree", "restart_redis", "restart_postgres")
# Healing settings for the test's workers, and the bound each fault must heal within.
CHAOS_ENV = {
    "PROMIDATA_RECONCILE_INTERVAL_SECONDS": "1",
    "PROMIDATA_RECONCILE_AFTER_SECONDS": "3",
    # Dramatiq's chance maintenance off: only our schedule may hand dead workers' work back.
    "PROMIDATA_BROKER_MAINTENANCE_CHANCE": "0",
}
HEARTBEAT_TIMEOUT_S = 3.0  # FAST_WORKER_ENV's PROMIDATA_BROKER_HEARTBEAT_TIMEOUT_MS
INTERVAL_S = 1.0
RECONCILE_AFTER_S = 3.0
# The work left after a fault (a few families and their images at 60 ms, with retries'
# backoff of up to a second each) and the restarts themselves.
WORK_ALLOWANCE_S = 30.0
BOUNDS_S = {
    "kill_group": HEARTBEAT_TIMEOUT_S + INTERVAL_S + WORK_ALLOWANCE_S,
    "kill_tree": HEARTBEAT_TIMEOUT_S + INTERVAL_S + WORK_ALLOWANCE_S,
    "restart_redis": RECONCILE_AFTER_S + INTERVAL_S + WORK_ALLOWANCE_S,
    "restart_postgres": RECONCILE_AFTER_S + INTERVAL_S + WORK_ALLOWANCE_S,
}


@pytest.fixture
def feed_spec():
    from devtools.feedgen import FeedSpec

    # The issue-7 shape: print data, both shapes, several regions.
    return FeedSpec(
        suppliers=2,
        families_per_supplier=3,
        variants_per_family=2,
        images_per_variant=2,
        print_positions=1,
        print_options=1,
        print_costs=1,
        print_shape="mixed",
    )


def test_random_faults_mid_sync_heal_and_leave_an_exact_catalog(
    feed, feed_server, sync_config, start_workers, capsys
):
    seed = int(os.environ.get("CHAOS_SEED") or time.time())
    rounds = max(len(FAULTS) * 2, int(os.environ.get("CHAOS_ROUNDS") or 0))
    rng = random.Random(seed)
    schedule = [FAULTS[i % len(FAULTS)] for i in range(rounds)]
    rng.shuffle(schedule)
    feed_server.latency_ms = 60
    workers = start_workers(**CHAOS_ENV)
    report = []
    with capsys.disabled():
        print(f"\nchaos seed {seed}: {', '.join(schedule)}")
    for number, fault in enumerate(schedule, start=1):
        _new_work(feed, rng)
        result = start_sync(None, use_queue=True)
        _wait_until_mid_way(result["runs"], rng.uniform(0.2, 0.7))
        struck = time.monotonic()
        workers = FAULT_ACTIONS[fault](workers, start_workers, rng)
        runs = wait_for_runs(result["runs"], timeout=BOUNDS_S[fault] + 30)
        healed = time.monotonic() - struck
        report.append((number, fault, healed))
        with capsys.disabled():
            print(f"  fault {number}: {fault:<17} healed in {healed:5.1f} s", flush=True)

        assert all(run.state == SyncRun.State.COMPLETED for run in runs), [
            (fault, run.state, run.message) for run in runs
        ]
        assert catalog_as_feed() == normalise_expected(feed.expected()), fault
        _assert_counted_once(runs, fault)
        assert healed <= BOUNDS_S[fault], (fault, healed, BOUNDS_S[fault])
    assert len(report) >= 8


def _new_work(feed, rng) -> None:
    """New families (new images) for every supplier, and new prices for some old ones."""
    for code in feed.supplier_codes:
        feed.add_family(code)
        feed.add_family(code)
        for sku in rng.sample(feed.family_skus(code), 2):
            feed.set_price(sku, 0, Decimal(rng.randint(100, 9999)) / 100)


def _wait_until_mid_way(run_ids, fraction: float, timeout: float = 60) -> None:
    """Until the runs have planned and done ``fraction`` of their work (families + images)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = list(SyncRun.objects.filter(pk__in=run_ids))
        total = sum(r.families_total + r.images_total for r in runs)
        done = sum(r.families_done + r.images_done for r in runs)
        if all(r.planned_at for r in runs) and total and done >= fraction * total:
            return
        if all(r.finished_at for r in runs):
            return  # finished before the fault: the fault then hits idle workers
        time.sleep(0.05)
    raise AssertionError("the sync did not get mid-way")


def _assert_counted_once(runs, fault: str) -> None:
    assert not SyncItem.objects.filter(run__in=runs, state=SyncItem.State.PENDING).exists()
    for run in runs:
        assert run.families_done + run.families_failed == run.families_total, (fault, run.pk)
        assert run.images_done + run.images_failed == run.images_total, (fault, run.pk)
        assert run.families_failed == run.images_failed == 0, (fault, run.message)
        # One item per family and per image, whatever was delivered twice.
        kinds = dict(
            SyncItem.objects.filter(run=run)
            .exclude(kind=SyncItem.Kind.INDEX)
            .values_list("kind")
            .annotate(n=Count("id"))
        )
        assert kinds.get(SyncItem.Kind.FAMILY, 0) == run.families_total, (fault, run.pk)
        assert kinds.get(SyncItem.Kind.IMAGE, 0) == run.images_total, (fault, run.pk)
    # No bytes stored twice, no product twice.
    assert Media.objects.count() == len(set(Media.objects.values_list("sha256", flat=True)))
    assert Product.objects.count() == len(set(Product.objects.values_list("supplier", "sku")))
    # No job record still says "active" once everything is over. The last record is written
    # just after its run ends, and across a PostgreSQL restart after a few tries.
    deadline = time.monotonic() + 15
    while Job.objects.filter(state=Job.State.ACTIVE).exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not Job.objects.filter(state=Job.State.ACTIVE).exists(), fault


# --- the faults ----------------------------------------------------------------------------
def _kill_group(workers, start_workers, rng):
    """kill -9 of the group busiest with this sync; its supervisor starts a new one."""
    queue = rng.choice(["product-family", "image-upload"])
    os.kill(workers.group_pid(queue), signal.SIGKILL)
    return workers


def _kill_tree(workers, start_workers, rng):
    """kill -9 of the supervisor and every group at once, then workers started again."""
    group_pids = list(WorkerHeartbeat.objects.values_list("pid", flat=True))
    for pid in [workers.process.pid, *group_pids]:
        _kill(pid)
    workers.process.wait()
    _wait_dead(group_pids)
    WorkerHeartbeat.objects.all().delete()  # the dead cannot remove their own
    return start_workers(**CHAOS_ENV)


def _restart_redis(workers, start_workers, rng):
    """Redis stops without saving and starts again empty (no persistence)."""
    client = redis.Redis.from_url(TEST_REDIS_URL)
    # It goes away while answering: that is the point.
    with contextlib.suppress(redis.exceptions.ConnectionError):
        client.shutdown(nosave=True)
    subprocess.run(
        [*REDIS_SERVER, "--save", "", "--appendonly", "no"],
        check=True,
        capture_output=True,
    )
    _wait_for(lambda: _redis_answers(client), "Redis back")
    return workers


def _restart_postgres(workers, start_workers, rng):
    """PostgreSQL restarts: every process's connections break at once."""
    cluster = sorted(os.listdir("/etc/postgresql"))[-1]
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", cluster, "main", "restart"],
        check=True,
        capture_output=True,
    )
    connection.close()  # this process's own connection broke too
    _wait_for(_postgres_answers, "PostgreSQL back")
    return workers


REDIS_SERVER = ("redis-server", "--daemonize", "yes", "--bind", "127.0.0.1", "--port", "6379")
FAULT_ACTIONS = {
    "kill_group": _kill_group,
    "kill_tree": _kill_tree,
    "restart_redis": _restart_redis,
    "restart_postgres": _restart_postgres,
}


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def _wait_dead(pids) -> None:
    def all_dead() -> bool:
        for pid in pids:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                continue
            return False
        return True

    _wait_for(all_dead, "every group dead")


def _redis_answers(client) -> bool:
    try:
        return bool(client.ping())
    except redis.exceptions.RedisError:
        return False


def _postgres_answers() -> bool:
    try:
        connection.ensure_connection()
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except Exception:
        connection.close()
        return False


def _wait_for(condition, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{what}: not within {timeout}s"
        time.sleep(0.1)
