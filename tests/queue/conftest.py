"""Real brokers and real worker processes for the queue tests.

``queue_broker`` swaps this process's broker for a real one, so ``start_sync`` enqueues into
it: Redis (database 15 by default, flushed before and after), or RabbitMQ for a test marked
``@both_brokers`` (a vhost of its own, ``promidata_test`` by default, created if missing; the
stage queues deleted before and after). ``workers`` starts ``manage.py promidata_workers`` as
a real subprocess pointed at the test database, the same broker and the loopback feed, with
short retry and heartbeat timings so tests stay quick.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import dramatiq
import pika
import pika.exceptions
import pytest
from django.db import connection
from django_dramatiq.utils import load_middleware
from dramatiq.brokers.rabbitmq import RabbitmqBroker
from dramatiq.brokers.redis import RedisBroker
from dramatiq.common import dq_name, xq_name
from dramatiq.results import Results
from dramatiq.results.backends.redis import RedisBackend

from promidata_sync.models import SyncRun, WorkerHeartbeat
from promidata_sync.queue.registry import QUEUE_NAMES

ROOT = Path(__file__).resolve().parents[2]
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
TEST_BROKER_URL = os.environ.get(
    "TEST_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672/promidata_test"
)
BROKER_KINDS = ("redis", "rabbitmq")
# A queue test that must hold on both brokers: ``@both_brokers`` runs it once on each.
both_brokers = pytest.mark.parametrize("queue_broker", BROKER_KINDS, indirect=True)

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


def ensure_rabbitmq_vhost(url: str) -> None:
    """Create the URL's vhost, with every permission for its user, unless it exists
    (idempotent; needs ``rabbitmqctl``, which a local RabbitMQ has)."""
    params = pika.URLParameters(url)
    with contextlib.suppress(pika.exceptions.AMQPConnectionError):
        pika.BlockingConnection(params).close()
        return
    ctl = shutil.which("rabbitmqctl")
    assert ctl, f"cannot connect to {params.host}:{params.port} and no rabbitmqctl to set up"
    vhosts = subprocess.run([ctl, "-q", "list_vhosts"], capture_output=True, text=True)
    if params.virtual_host not in vhosts.stdout.split():
        subprocess.run([ctl, "-q", "add_vhost", params.virtual_host], check=True)
    user = params.credentials.username
    perms = [ctl, "-q", "set_permissions", "-p", params.virtual_host, user, ".*", ".*", ".*"]
    subprocess.run(perms, check=True)


def delete_stage_queues(broker: RabbitmqBroker) -> None:
    """Delete every stage queue with its delay and dead-letter queues (no message left)."""
    channel = broker.channel
    for name in QUEUE_NAMES:
        for queue in (name, dq_name(name), xq_name(name)):
            channel.queue_delete(queue=queue)


def _declare_actors(old, broker) -> list:
    actors = [old.get_actor(name) for name in old.get_declared_actors()]
    dramatiq.set_broker(broker)
    for actor in actors:
        actor.broker = broker
        broker.declare_actor(actor)
    return actors


@pytest.fixture
def queue_broker(request, settings):
    """This process enqueues into a real broker (Redis, or RabbitMQ when parametrized with
    ``both_brokers``); restored to the in-memory broker afterwards."""
    import promidata_sync.tasks  # noqa: F401  (declares the actors)

    kind = getattr(request, "param", "redis")
    old = dramatiq.get_broker()
    middleware = [load_middleware(path) for path in settings.DRAMATIQ_BROKER["MIDDLEWARE"]]
    if kind == "rabbitmq":
        ensure_rabbitmq_vhost(TEST_BROKER_URL)
        broker = RabbitmqBroker(url=TEST_BROKER_URL, middleware=middleware, confirm_delivery=True)
        delete_stage_queues(broker)
        settings.BROKER_URL, settings.REDIS_URL = TEST_BROKER_URL, ""
    else:
        middleware.append(Results(backend=RedisBackend(url=TEST_REDIS_URL)))
        broker = RedisBroker(url=TEST_REDIS_URL, middleware=middleware)
        broker.client.flushdb()
        settings.BROKER_URL, settings.REDIS_URL = "", TEST_REDIS_URL
    actors = _declare_actors(old, broker)
    try:
        yield broker
    finally:
        for actor in actors:
            actor.broker = old
        dramatiq.set_broker(old)
        if kind == "rabbitmq":
            delete_stage_queues(broker)
        else:
            broker.client.flushdb()
        broker.close()


@pytest.fixture
def redis_broker(queue_broker):
    """The test's broker, for tests that read Redis itself (always Redis)."""
    assert isinstance(queue_broker, RedisBroker), "redis_broker is for Redis-only tests"
    return queue_broker


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

    def kill(self) -> None:
        """kill -9 of the supervisor and its groups (each group runs in a session of its own):
        a test's end, where nothing is left to finish (a graceful stop takes seconds per test;
        the next test flushes the broker and the database)."""
        if self.process.poll() is None:
            for pid in [*_children(self.process.pid), self.process.pid]:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            self.process.wait()

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        return self.process.returncode


def _children(pid: int) -> list[int]:
    """The direct children of ``pid`` (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            stat = (entry / "stat").read_text()
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


@pytest.fixture
def worker_env(queue_broker, feed_server, settings, tmp_path) -> dict:
    db = connection.settings_dict
    database_url = (
        f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    )
    return {
        **os.environ,
        **FAST_WORKER_ENV,
        "DATABASE_URL": database_url,
        "REDIS_URL": settings.REDIS_URL,
        "BROKER_URL": settings.BROKER_URL,
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
        workers.kill()


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
