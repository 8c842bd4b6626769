"""``manage.py promidata_sync --direct``: summary and exit codes, on the sample feed too."""

from __future__ import annotations

import io
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.core.management import call_command

from catalog.models import Media, PriceTier, Product, Supplier, Variant
from promidata_sync.models import SyncRun
from tests.catalog_state import snapshot
from tests.feedpaths import base_path, import_path

pytestmark = pytest.mark.django_db

SAMPLE_IMPORT = Path(__file__).resolve().parents[2] / "sample_feed" / "Import" / "Import.txt"


def run_command(*args) -> tuple[int, str]:
    out = io.StringIO()
    try:
        call_command("promidata_sync", *args, stdout=out)
    except SystemExit as exc:
        return exc.code, out.getvalue()
    return 0, out.getvalue()


def run_command_streams(*args) -> tuple[int, str, str]:
    """Exit code, stdout and stderr: failures belong on stderr, the summary on stdout."""
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("promidata_sync", *args, stdout=out, stderr=err)
    except SystemExit as exc:
        return exc.code, out.getvalue(), err.getvalue()
    return 0, out.getvalue(), err.getvalue()


def test_sample_feed_imports_with_exit_0_and_a_second_run_changes_nothing(settings):
    settings.PROMIDATA_IMPORT_URL = SAMPLE_IMPORT.as_uri()

    code, out = run_command("--direct")

    assert code == 0, out
    assert "OK" in out
    assert set(Supplier.objects.values_list("code", flat=True)) == {"A23", "A130", "A360"}
    assert Product.objects.count() >= 25
    assert Variant.objects.count() > Product.objects.count()
    assert PriceTier.objects.filter(currency="EUR").exists()
    assert Media.objects.count() >= 15
    assert not SyncRun.objects.exclude(state=SyncRun.State.COMPLETED).exists()
    before = snapshot()

    code, out = run_command("--direct")

    assert code == 0, out
    assert snapshot() == before
    second = SyncRun.objects.order_by("-pk")[:3]
    assert all(r.families_total == 0 and r.images_total == 0 for r in second)


def test_sample_feed_tricky_names_survive(settings):
    settings.PROMIDATA_IMPORT_URL = SAMPLE_IMPORT.as_uri()
    assert run_command("--direct")[0] == 0
    skus = set(Product.objects.values_list("sku", flat=True))
    assert {"A23-P300.18", "A130-mo1001b", "A360-CMSOCK_CS01", "A130-100+1"} <= skus


def test_exit_code_1_when_a_family_fails(feed_server, sync_config, settings):
    feed_server.fail(f"{base_path(feed_server)}/A100/A100-F00001.json", 404)
    code, out, err = run_command_streams("--direct")
    assert code == 1
    assert "A100 family A100-F00001: HTTP 404" in err
    assert "HTTP 404" not in out and "Completed with failures" in out


def test_exit_code_2_when_the_feed_is_unreadable(feed_server, sync_config):
    feed_server.fail(import_path(feed_server), 404)
    code, out, err = run_command_streams("--direct")
    assert code == 2
    assert "Feed unreadable" in err and "Feed unreadable" not in out
    assert feed_server.import_url not in out + err  # the profile URL is a secret


def test_exit_code_2_without_an_import_url(settings):
    settings.PROMIDATA_IMPORT_URL = ""
    code, _out, err = run_command_streams("--direct")
    assert code == 2
    assert "PROMIDATA_IMPORT_URL is not set" in err


def test_unknown_supplier_code_is_an_error(feed_server, sync_config):
    code, _out, err = run_command_streams("--direct", "A999")
    assert code == 1
    assert "A999: unknown supplier" in err


ROOT = Path(__file__).resolve().parents[2]


def manage(args: list[str], env: dict, **kwargs):
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        **kwargs,
    )


@pytest.fixture(scope="module")
def migrated_sqlite(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("db") / "db.sqlite3"
    done = manage(["migrate", "-v", "0"], {**os.environ, "DATABASE_URL": f"sqlite:///{path}"})
    assert done.returncode == 0, done.stderr
    return path


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("PROMIDATA_HTTP_TIMEOUT_SECONDS", "abc", "PROMIDATA_HTTP_TIMEOUT_SECONDS cannot be read"),
        ("PROMIDATA_HTTP_DEADLINE_SECONDS", "nan", "PROMIDATA_HTTP_DEADLINE_SECONDS"),
        ("PROMIDATA_JOB_TIMEOUT_FAMILY", "soon", "PROMIDATA_JOB_TIMEOUT_FAMILY cannot be read"),
        ("PROMIDATA_ALLOWED_NETWORKS", "10.0.0.0/33", "is not a network"),
        ("REDIS_URL", "redis://:s3cret-pw@[::1", "REDIS_URL"),
    ],
)
def test_a_setting_that_cannot_work_is_one_line_and_exit_2(migrated_sqlite, variable, value, says):
    env = {
        **os.environ,
        # Migrated: a setting read late (the allowed networks) comes after the database check.
        "DATABASE_URL": f"sqlite:///{migrated_sqlite}",
        "PROMIDATA_IMPORT_URL": SAMPLE_IMPORT.as_uri(),
        variable: value,
    }

    done = manage(["promidata_sync", "--direct"], env)

    assert done.returncode == 2, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and says in lines[0], done.stderr
    assert "Traceback" not in done.stderr and "s3cret-pw" not in done.stderr


@pytest.mark.django_db(transaction=True)
def test_sigterm_ends_a_direct_sync_as_stopped_not_dead(feed_server, tmp_path):
    database = tmp_path / "db.sqlite3"
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{database}",
        "PROMIDATA_IMPORT_URL": feed_server.import_url,
        "PROMIDATA_ALLOWED_NETWORKS": "127.0.0.0/8",
        "PROMIDATA_FETCH_CONCURRENCY": "1",
        "MEDIA_ROOT": str(tmp_path / "media"),
        "PROMIDATA_LOG_FILE": str(tmp_path / "sync.log"),
    }
    assert manage(["migrate", "--noinput"], env).returncode == 0
    feed_server.latency_ms = 300
    sync = subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), "promidata_sync", "--direct"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )

    def states():
        with sqlite3.connect(database) as db:
            return [row[0] for row in db.execute("SELECT state FROM promidata_sync_syncrun")]

    deadline = time.monotonic() + 60
    while "running" not in states():
        assert time.monotonic() < deadline and sync.poll() is None
        time.sleep(0.1)
    sync.send_signal(signal.SIGTERM)
    out, err = sync.communicate(timeout=60)

    assert sync.returncode == 130, out + err
    assert "interrupted" in err and "Traceback" not in out + err
    assert "stopped" in states() and "running" not in states()
