"""Who owns a run, and when its owner counts as gone (run_owners): the verdict that lets a
dead process's run be finished without ever finishing a live one."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta

import pytest
from django.utils import timezone

from catalog.models import Supplier
from promidata_sync.models import SyncRun
from promidata_sync.services import runs
from promidata_sync.services.run_owners import beat, machine, owner_is_gone, run_claim

pytestmark = pytest.mark.django_db


@pytest.fixture
def run():
    supplier = Supplier.objects.create(code="A1")
    return runs.run_create(supplier=supplier, trigger="command", mode=SyncRun.Mode.DIRECT)


def finished_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_run_claimed_by_this_process_is_never_gone(run):
    run_claim(run)
    run.heartbeat_at = timezone.now() - timedelta(days=1)  # even with a stale heartbeat

    assert (run.owner_pid, run.owner_machine) == (os.getpid(), machine())
    assert not owner_is_gone(run)


def test_a_dead_owner_in_this_process_table_is_gone_at_once(run):
    run_claim(run)
    run.owner_pid = finished_pid()

    assert owner_is_gone(run)  # the heartbeat is fresh, the process table knows better


def test_a_reused_pid_is_not_the_owner(run):
    run_claim(run)
    run.owner_started += 1  # this pid now belongs to a process started at another time

    assert owner_is_gone(run)


def test_elsewhere_only_the_heartbeat_tells(run, settings):
    settings.PROMIDATA_RUN_DEAD_AFTER_SECONDS = 60
    run_claim(run)
    run.owner_machine = "another-boot/pid:[1]"  # a container with the same host name
    run.owner_pid = finished_pid()  # a pid that means nothing there

    assert not owner_is_gone(run)  # it beat a moment ago
    run.heartbeat_at = timezone.now() - timedelta(seconds=61)
    assert owner_is_gone(run)


def test_a_queue_run_on_redis_has_no_owner_to_lose(run):
    run.mode = SyncRun.Mode.QUEUE
    run.started_at = timezone.now() - timedelta(days=3)

    assert not owner_is_gone(run)


def test_beat_refreshes_only_this_processes_open_runs(run):
    run_claim(run)
    other = runs.run_create(
        supplier=Supplier.objects.create(code="A2"), trigger="command", mode="direct"
    )
    stale = timezone.now() - timedelta(hours=1)
    SyncRun.objects.update(heartbeat_at=stale)
    SyncRun.objects.filter(pk=other.pk).update(owner_host="elsewhere", owner_pid=1)

    assert beat() == 1
    assert SyncRun.objects.get(pk=run.pk).heartbeat_at > stale
    assert SyncRun.objects.get(pk=other.pk).heartbeat_at == stale


def test_run_create_finishes_a_dead_owners_run_and_starts_anew(run):
    run_claim(run)
    SyncRun.objects.filter(pk=run.pk).update(owner_pid=finished_pid())

    fresh = runs.run_create(supplier=run.supplier, trigger="command", mode="direct")

    run.refresh_from_db()
    assert run.state == SyncRun.State.FAILED and runs.PROCESS_DIED in run.message
    assert fresh.pk != run.pk and fresh.state == SyncRun.State.QUEUED


def test_run_create_does_not_touch_a_live_owners_run(run):
    run_claim(run)

    with pytest.raises(runs.RunAlreadyActive):
        runs.run_create(supplier=run.supplier, trigger="command", mode="direct")

    run.refresh_from_db()
    assert run.state == SyncRun.State.QUEUED and not run.finished_at
