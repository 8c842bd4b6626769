"""``promidata_doctor``: one line per check, exit 2 on any failure, and the settings each live
worker reports compared with this shell's, field by field. Real PostgreSQL, Redis, a loopback
feed and real worker processes."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from devtools.feedserver import FAKE_PROFILE_GUID
from promidata_sync.models import WorkerHeartbeat
from promidata_sync.queue.registry import QUEUE_NAMES

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
GUID = "0123abcd-4567-89ef-0123-456789abcdef"
pytestmark = pytest.mark.django_db(transaction=True)


def _database_url(port: int | None = None) -> str:
    db = connection.settings_dict
    return (
        f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{port or db['PORT'] or 5432}/"
        f"{db['NAME']}"
    )


@pytest.fixture
def env(feed_server, tmp_path) -> dict:
    base = {k: v for k, v in os.environ.items() if k not in ("BROKER_URL", "REDIS_URL")}
    return {
        **base,
        "DATABASE_URL": _database_url(),
        "REDIS_URL": REDIS_URL,
        "MEDIA_ROOT": str(tmp_path / "media"),
        "PROMIDATA_IMPORT_URL": feed_server.import_url,
        "PROMIDATA_ALLOWED_NETWORKS": "127.0.0.0/8",
        "PROMIDATA_LOG_FILE": str(tmp_path / "promidata.log"),
    }


def _doctor(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "promidata_doctor", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
    )


def _beat(queue: str, fingerprint: dict, pid: int) -> None:
    now = timezone.now()
    WorkerHeartbeat.objects.create(
        worker_id=f"box:{pid}:00000000",
        hostname="box",
        pid=pid,
        queues=[queue],
        threads=2,
        started_at=now,
        last_seen_at=now,
        settings_fingerprint=fingerprint,
    )


def test_all_green_is_exit_0_and_a_missing_worker_is_a_failure_with_a_hint(env):
    first = _doctor(env, "--json")
    assert first.returncode == 2
    report = json.loads(first.stdout)
    by_check = {c["check"]: c for c in report["checks"]}
    assert report["ok"] is False
    for name in ("database", "broker", "storage", "import URL"):
        assert by_check[name]["status"] == "ok", by_check[name]
    assert by_check["workers image-upload"]["status"] == "fail"
    assert "promidata_workers" in by_check["workers image-upload"]["hint"]

    for pid, queue in enumerate(QUEUE_NAMES, start=100):
        _beat(queue, report["settings"], pid)
    done = _doctor(env)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert all(line.startswith("OK") for line in lines), done.stdout
    assert any("import URL" in line and "is readable" in line for line in lines)
    assert FAKE_PROFILE_GUID not in done.stdout  # the feed's profile GUID is masked


def test_each_broken_part_is_one_failing_line_and_the_rest_is_still_checked(env):
    env = {
        **env,
        "DATABASE_URL": "postgres://sync:db-s3cret@127.0.0.1:1/catalog",
        "PROMIDATA_IMPORT_URL": f"http://127.0.0.1:1/Profiles/Live/{GUID}/Import/Import.txt",
        "REDIS_URL": "redis://:s3cret@127.0.0.1:1/0",
    }
    done = _doctor(env)
    assert done.returncode == 2
    out = done.stdout
    broker = next(line for line in out.splitlines() if " broker " in line)
    assert broker.startswith("FAIL") and "is unreachable" in broker and "-> fix:" in broker
    feed = next(line for line in out.splitlines() if "import URL" in line)
    assert feed.startswith("FAIL") and "-> fix:" in feed
    database = next(line for line in out.splitlines() if " database " in line)
    assert database.startswith("FAIL") and "at 127.0.0.1:1 is unreachable" in database
    storage = next(line for line in out.splitlines() if " storage " in line)
    assert storage.startswith("OK")
    workers = next(line for line in out.splitlines() if " workers " in line)
    assert workers.startswith("SKIP") and "needs the database" in workers
    assert GUID not in out + done.stderr and "s3cret" not in out + done.stderr
    assert "Traceback" not in out + done.stderr
    assert done.stderr.strip().endswith("check(s) failed")


class ClosableProxy:
    """A TCP forwarder on loopback to the test PostgreSQL: closing it is the database going
    away for whoever connected through it (the real server stays up for everyone else)."""

    def __init__(self, target_port: int):
        self.target = ("127.0.0.1", target_port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.sockets: list[socket.socket] = []
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.closed:
                client.close()
                return
            upstream = socket.create_connection(self.target)
            self.sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source, sink):
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def close(self):
        self.closed = True
        # shutdown wakes the thread blocked in accept(); close alone would leave the port
        # listening until a connection comes.
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()
        for s in self.sockets:
            try:
                s.shutdown(socket.SHUT_RDWR)
                s.close()
            except OSError:
                pass


def test_a_worker_reports_its_settings_and_stops_when_its_database_goes_away(env, tmp_path):
    proxy = ClosableProxy(int(connection.settings_dict["PORT"] or 5432))
    worker_log = tmp_path / "worker.log"
    worker_env = {
        **env,
        "DATABASE_URL": _database_url(proxy.port),
        "PROMIDATA_IMPORT_URL": f"https://other.example.com/Profiles/Live/{GUID}/Import/Import.txt",
        "PROMIDATA_WORKER_HEARTBEAT_SECONDS": "0.5",
        "PROMIDATA_WORKER_DATABASE_GIVE_UP_SECONDS": "1.5",
        "PROMIDATA_LOG_FILE": str(worker_log),
    }
    with open(tmp_path / "worker.err", "w") as err:
        worker = subprocess.Popen(
            [sys.executable, "manage.py", "promidata_worker", "--queue", "webhooks"],
            cwd=ROOT,
            env=worker_env,
            stdout=err,
            stderr=err,
        )
    try:
        deadline = time.monotonic() + 30
        while not WorkerHeartbeat.objects.filter(pid=worker.pid).exists():
            assert worker.poll() is None, (tmp_path / "worker.err").read_text()
            assert time.monotonic() < deadline, "the worker never beat"
            time.sleep(0.2)
        beat = WorkerHeartbeat.objects.get(pid=worker.pid)
        assert beat.settings_fingerprint["import_host"] == "other.example.com"
        assert beat.settings_fingerprint["broker"].startswith("redis:127.0.0.1:")
        assert GUID not in json.dumps(beat.settings_fingerprint)

        done = _doctor(env)
        assert done.returncode == 2
        line = next(x for x in done.stdout.splitlines() if f":{worker.pid}" in x)
        assert line.startswith("FAIL")
        assert (
            "import URL host (PROMIDATA_IMPORT_URL): here 127.0.0.1, worker other.example.com"
            in (line)
        )
        assert "database (DATABASE_URL): here postgresql:127.0.0.1:" in line
        assert f":{proxy.port}/" in line
        assert "media storage" not in line  # the same MEDIA_ROOT is no difference
        assert GUID not in done.stdout

        proxy.close()
        try:
            code = worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            pytest.fail((tmp_path / "worker.err").read_text())
    finally:
        proxy.close()
        if worker.poll() is None:
            worker.kill()
            worker.wait()
    assert code == 3, (tmp_path / "worker.err").read_text()
    output = (tmp_path / "worker.err").read_text()
    assert output.count("stops consuming and exits with status 3") == 1, output
    assert "Traceback" not in output
    log_size = worker_log.stat().st_size if worker_log.exists() else 0
    assert len(output) + log_size < 20_000, (len(output), log_size)
