"""Real Redis and real worker processes for the queue tests.

``redis_broker`` swaps this process's broker for a Redis one (database 15 by default, flushed
before and after), so ``start_sync`` enqueues into Redis. ``workers`` starts
``manage.py promidata_workers`` as a real subprocess pointed at the test database, the same
Redis and the loopback feed, with short retry and heartbeat timings so tests stay quick.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import dramatiq
import pytest
from django.db import connection
from django_dramatiq.utils import load_middleware
from dramatiq.brokers.redis import RedisBroker
from dramatiq.results import Results
from dramatiq.results.backends.redis import RedisBackend

from promidata_sync.models import SyncRun, WorkerHeartbeat

ROOT = Path(__file__).resolve().parents[2]
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")

# Worker timings for tests: fast retries, fast detection of dead workers.
FAST_WORKER_ENV = {
    "PROMIDATA_JOB_MAX_RETRIES": "3",
    "PROMIDATA_JOB_RETRY_MIN_BACKOFF_MS": "200",
    "PROMIDATA_JOB_RETRY_MAX_BACKOFF_MS": "1000",
    "PROMIDATA_WORKER_HEARTBEAT_SECONDS": "1",
    "PROMIDATA_BROKER_HEARTBEAT_TIMEOUT_MS": "3000",
    "PROMIDATA_BROKER_MAINTENANCE_CHANCE": "300000",
    "PROMIDATA_HTTP_ATTEMPTS": "1",
    # A killed worker's supplier lease lapses within the few seconds the fast retries wait.
    "PROMIDATA_SUPPLIER_LEASE_SECONDS": "3",
    "PROMIDATA_HTTP_TIMEOUT_SECONDS": "5",
    # The loopback feed server, which the fetcher refuses unless its network is allowed.
    "PROMIDATA_ALLOWED_NETWORKS": "127.0.0.0/8,::1/128",
    "LOG_LEVEL": "WARNING",
}


@pytest.fixture
def redis_broker(settings):
    """This process enqueues into a real Redis; restored to the in-memory broker afterwards."""
    import promidata_sync.tasks  # noqa: F401  (declares the actors)

    old = dramatiq.get_broker()
    middleware = [load_middleware(path) for path in settings.DRAMATIQ_BROKER["MIDDLEWARE"]]
    middleware.append(Results(backend=RedisBackend(url=TEST_REDIS_URL)))
    broker = RedisBroker(url=TEST_REDIS_URL, middleware=middleware)
    broker.client.flushdb()
    actors = [old.get_actor(name) for name in old.get_declared_actors()]
    dramatiq.set_broker(broker)
    for actor in actors:
        actor.broker = broker
        broker.declare_actor(actor)
    settings.REDIS_URL = TEST_REDIS_URL
    try:
        yield broker
    finally:
        for actor in actors:
            actor.broker = old
        dramatiq.set_broker(old)
        broker.client.flushdb()
        broker.close()


class Workers:
    """A running ``promidata_workers`` process tree."""

    def __init__(self, env: dict, queues: list[str] | None):
        args = [sys.executable, str(ROOT / "manage.py"), "promidata_workers"]
        if queues:
            args += ["--queues", *queues]
        self.process = subprocess.Popen(args, cwd=ROOT, env=env, start_new_session=True)

    def wait_until_live(self, count: int, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if WorkerHeartbeat.objects.count() >= count:
                return
            if self.process.poll() is not None:
                raise AssertionError(f"promidata_workers exited with {self.process.returncode}")
            time.sleep(0.2)
        raise AssertionError("workers did not start in time")

    def group_pid(self, queue: str) -> int:
        beat = WorkerHeartbeat.objects.filter(queues__contains=[queue]).latest("last_seen_at")
        return beat.pid

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        return self.process.returncode


@pytest.fixture
def worker_env(redis_broker, feed_server, settings, tmp_path) -> dict:
    db = connection.settings_dict
    database_url = (
        f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    )
    return {
        **os.environ,
        **FAST_WORKER_ENV,
        "DATABASE_URL": database_url,
        "REDIS_URL": TEST_REDIS_URL,
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "PROMIDATA_IMPORT_URL": feed_server.import_url,
    }


@pytest.fixture
def start_workers(worker_env):
    """Start worker processes: ``start_workers(queues=None, **extra_env)``; all stopped after."""
    started: list[Workers] = []

    def start(queues: list[str] | None = None, **extra_env) -> Workers:
        workers = Workers({**worker_env, **extra_env}, queues)
        started.append(workers)
        workers.wait_until_live(len(queues or [1, 2, 3]))
        return workers

    yield start
    for workers in started:
        workers.stop()


def wait_for_runs(run_ids, timeout: float = 60) -> list[SyncRun]:
    """Poll until every run has finished; fail with their states if they do not."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = list(SyncRun.objects.filter(pk__in=run_ids).select_related("supplier"))
        if runs and all(run.finished_at for run in runs):
            return runs
        time.sleep(0.2)
    states = list(
        SyncRun.objects.filter(pk__in=run_ids).values(
            "pk", "state", "families_done", "families_total"
        )
    )
    raise AssertionError(f"runs did not finish in {timeout}s: {states}")


def wait_for_families_written(count: int, timeout: float = 30) -> None:
    """Poll until some run has written at least ``count`` families (a sync is mid-way)."""
    deadline = time.monotonic() + timeout
    while not SyncRun.objects.filter(families_done__gte=count).exists():
        assert time.monotonic() < deadline, f"no run wrote {count} families in {timeout}s"
        time.sleep(0.05)
