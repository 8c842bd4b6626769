"""Queue-side commands: clear start-up errors, status output, pruning."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import timezone

from catalog.models import Supplier
from promidata_sync.models import Job, SyncRun, WorkerHeartbeat

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def migrated_sqlite(tmp_path_factory) -> Path:
    """A migrated SQLite file: the commands check their database before their broker."""
    path = tmp_path_factory.mktemp("db") / "db.sqlite3"
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "-v", "0"],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": f"sqlite:///{path}"},
        check=True,
        timeout=120,
    )
    return path


@pytest.mark.parametrize("command", ["promidata_workers", "promidata_sync"])
def test_unreachable_redis_is_one_clear_line_with_the_password_masked(
    command, tmp_path, migrated_sqlite
):
    env = {
        **os.environ,
        "REDIS_URL": "redis://worker:s3cret@127.0.0.1:1/0",
        "DATABASE_URL": f"sqlite:///{migrated_sqlite}",
        "PROMIDATA_IMPORT_URL": (ROOT / "sample_feed" / "Import" / "Import.txt").as_uri(),
    }
    done = subprocess.run(
        [sys.executable, "manage.py", command],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode in (1, 2)
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    assert "redis://worker:********@127.0.0.1:1/0 is unreachable" in lines[0]
    assert "s3cret" not in done.stderr + done.stdout
    assert "Traceback" not in done.stderr


@pytest.mark.django_db
def test_status_prints_queues_workers_and_runs_and_one_job():
    supplier = Supplier.objects.create(code="A1")
    run = SyncRun.objects.create(
        supplier=supplier, state="completed", families_total=3, families_done=3, mode="queue"
    )
    WorkerHeartbeat.objects.create(
        worker_id="host:1:abc",
        hostname="host",
        pid=1,
        queues=["product-family"],
        threads=3,
        started_at=timezone.now(),
        last_seen_at=timezone.now(),
    )
    Job.objects.create(
        job_id="j-1",
        queue_name="product-family",
        actor_name="sync_product_family",
        run=run,
        key="A1-X",
        state="failed",
        error="HTTP 404 for …/A1/A1-X.json",
        attempts_made=1,
        progress={"step": "product", "percentage": 30},
    )

    out = io.StringIO()
    call_command("promidata_status", stdout=out)
    text = out.getvalue()
    assert "product-family" in text and "failed" in text
    assert "host:1:abc  product-family x3" in text
    assert f"#{run.pk}" in text and "families 3/3" in text

    out = io.StringIO()
    call_command("promidata_status", "j-1", "--json", stdout=out)
    status = json.loads(out.getvalue())
    assert status["state"] == "failed" and status["attempts_made"] == 1
    assert status["progress"] == {"step": "product", "percentage": 30}
    assert status["error"].startswith("HTTP 404")


@pytest.mark.django_db
def test_prune_jobs_keeps_recent_and_unfinished_jobs():
    old = timezone.now() - timedelta(days=30)
    Job.objects.create(
        job_id="old", queue_name="q", actor_name="a", state="completed", finished_at=old
    )
    Job.objects.create(
        job_id="recent", queue_name="q", actor_name="a", state="failed", finished_at=timezone.now()
    )
    Job.objects.create(job_id="waiting", queue_name="q", actor_name="a", state="waiting")

    out = io.StringIO()
    call_command("promidata_prune_jobs", "--days", "14", "--dry-run", stdout=out)
    assert "would delete 1 job record" in out.getvalue()
    assert Job.objects.count() == 3

    call_command("promidata_prune_jobs", "--days", "14", stdout=io.StringIO())
    assert set(Job.objects.values_list("job_id", flat=True)) == {"recent", "waiting"}


@pytest.mark.django_db
def test_prune_jobs_drops_done_items_of_old_runs_but_keeps_runs_and_failures():
    from promidata_sync.models import SyncItem

    supplier = Supplier.objects.create(code="A1")
    old = SyncRun.objects.create(
        supplier=supplier, state="partial", finished_at=timezone.now() - timedelta(days=30)
    )
    recent = SyncRun.objects.create(
        supplier=supplier, state="completed", finished_at=timezone.now()
    )
    for run in (old, recent):
        SyncItem.objects.create(run=run, kind="family", key="A1-1", state="done")
        SyncItem.objects.create(run=run, kind="family", key="A1-2", state="failed", error="404")

    out = io.StringIO()
    call_command("promidata_prune_jobs", "--days", "14", stdout=out)

    assert "deleted 1 done item(s)" in out.getvalue()
    assert set(SyncItem.objects.values_list("run_id", "state")) == {
        (old.pk, "failed"),
        (recent.pk, "done"),
        (recent.pk, "failed"),
    }
    assert SyncRun.objects.count() == 2
