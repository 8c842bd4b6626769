"""The ``promidata_sync --wait`` lines: elapsed time, rate and ETA while a run works, and
"waiting for a worker" when no worker is alive for a queued run's queue (real Redis, a real
``manage.py`` process on a pseudo-terminal, no worker started)."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from catalog.models import Supplier
from promidata_sync.management.commands.promidata_sync import _progress_line
from promidata_sync.models import SyncItem, SyncRun, WorkerHeartbeat
from promidata_sync.services.run_timing import recent_item_counts, run_timing

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]
WAIT_ARGS = ["promidata_sync", "A100", "--wait"]


def run_on_a_terminal(args: list[str], env: dict, *, timeout: float) -> tuple[int, str, float]:
    """Run ``manage.py args`` with a pseudo-terminal as stdout and stderr; return its exit
    code, everything it wrote, and when (seconds after start) "waiting for a worker" first
    appeared (``inf`` if never)."""
    master, slave = pty.openpty()
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), *args],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=slave,
        stderr=slave,
    )
    os.close(slave)
    output, seen_at = b"", float("inf")
    try:
        while time.monotonic() - started < timeout:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # the child closed the terminal (it exited)
                    break
                if not chunk:
                    break
                output += chunk
                if seen_at == float("inf") and b"waiting for a worker" in output:
                    seen_at = time.monotonic() - started
            elif proc.poll() is not None:
                break
        code = proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
    return code, output.decode(errors="replace"), seen_at


def test_no_worker_alive_says_waiting_for_a_worker_and_ends_at_the_deadline(worker_env):
    Supplier.objects.create(code="A100", name="Synthetic supplier")

    code, output, seen_at = run_on_a_terminal(
        ["promidata_sync", "A100", "--wait", "--timeout", "4"], worker_env, timeout=60
    )

    assert seen_at < 5, output  # at once, not after a minute of "0/0"
    assert "A100     #" in output
    assert "waiting for a worker on supplier-sync (start promidata_workers)" in output
    assert "0/0 (100%" not in output
    assert "still Queued after 4s; stopped waiting (it goes on)" in output
    assert code == 1
    assert "Traceback" not in output


def test_without_a_terminal_it_says_so_once_on_stderr(worker_env):
    Supplier.objects.create(code="A100", name="Synthetic supplier")

    done = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *WAIT_ARGS, "--timeout", "3"],
        cwd=ROOT,
        env=worker_env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    waiting = [line for line in done.stderr.splitlines() if "no worker is consuming" in line]
    assert waiting == [
        "no worker is consuming supplier-sync: start promidata_workers (the runs wait until "
        "one does)"
    ], done.stderr
    assert done.returncode == 1


def running_run(**fields) -> SyncRun:
    supplier = Supplier.objects.create(code="A100", name="Synthetic supplier")
    now = timezone.now()
    values = {
        "state": SyncRun.State.RUNNING,
        "mode": SyncRun.Mode.QUEUE,
        "started_at": now - timedelta(seconds=125),
        "planned_at": now - timedelta(seconds=120),
        **fields,
    }
    return SyncRun.objects.create(supplier=supplier, **values)


def test_a_running_run_line_shows_bar_elapsed_rate_and_eta(queue_broker):
    run = running_run(families_total=40, families_done=10, families_failed=2)
    # 12 families ended, 6 of them in the last minute: 6 a minute, 28 left.
    items = [
        SyncItem(run=run, kind=SyncItem.Kind.FAMILY, key=f"A100-F{i:05d}", state="done")
        for i in range(12)
    ]
    SyncItem.objects.bulk_create(items)
    SyncItem.objects.filter(key__in=[f"A100-F{i:05d}" for i in range(6)]).update(
        updated_at=timezone.now() - timedelta(seconds=90)
    )
    run = SyncRun.objects.select_related("supplier").get(pk=run.pk)

    timing = run_timing(run, recent=recent_item_counts([run.pk])[run.pk])
    line = _progress_line(run, timing=timing, bar=True)

    assert "[######--------------]" in line  # 12 of 40 families
    assert "families 12/40 (30%, 2 failed)" in line
    assert "images planning" in line
    assert "2m 05s" in line  # elapsed since the run started
    # 28 left at 6 a minute; a lower bound while the images are still being planned.
    assert "6 families/min · ETA ≥ 4m 40s" in line


def test_a_planned_run_with_nothing_to_do_is_100_percent_but_a_queued_one_is_not(queue_broker):
    run = running_run(state=SyncRun.State.QUEUED, started_at=None, planned_at=None)
    run = SyncRun.objects.select_related("supplier").get(pk=run.pk)

    line = _progress_line(run, timing=run_timing(run))

    assert "families planning  images planning" in line
    assert "100%" not in line


def test_the_admin_says_waiting_for_a_worker_until_one_consumes_the_queue(
    queue_broker, client, django_user_model
):
    client.force_login(django_user_model.objects.create_superuser("admin", password="pw"))
    run = running_run(state=SyncRun.State.QUEUED, started_at=None, planned_at=None)

    def progress() -> dict:
        response = client.get("/admin/promidata_sync/syncrun/progress/", {"ids": run.pk})
        return response.json()["runs"][0]

    assert progress()["waiting_for_worker"] is True
    assert progress()["families"]["label"] == "waiting for a worker"
    page = client.get("/admin/promidata_sync/syncrun/").content.decode()
    assert "waiting for a worker" in page and "0 / 0" not in page

    # A live worker on the image queue only does not start a supplier sync.
    now = timezone.now()
    beat = {"hostname": "w1", "pid": 1, "threads": 1, "started_at": now, "last_seen_at": now}
    WorkerHeartbeat.objects.create(worker_id="w1:1:a", queues=["image-upload"], **beat)
    assert progress()["waiting_for_worker"] is True
    WorkerHeartbeat.objects.create(worker_id="w1:1:b", queues=["supplier-sync"], **beat)
    assert progress()["waiting_for_worker"] is False
    assert progress()["families"]["label"] == "planning…"
