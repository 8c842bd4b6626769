"""``manage.py promidata_sync --quiet``, the cron mode: silent on success, one line per failure
on stderr, a non-zero exit when something failed, and never a second sync beside a running one.
"""

from __future__ import annotations

import io
import threading
import time

import pytest
from django.core.management import call_command
from django.db import connections

from catalog.models import Supplier
from promidata_sync.models import SyncRun
from promidata_sync.queue.broker import stop_in_process_worker
from promidata_sync.services import runs
from tests.feedpaths import base_path, import_path

CRON = ("--all", "--trigger", "cron", "--quiet")


def run_command(*args) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("promidata_sync", *args, stdout=out, stderr=err)
    except SystemExit as exc:
        return exc.code, out.getvalue(), err.getvalue()
    return 0, out.getvalue(), err.getvalue()


@pytest.fixture
def in_process_worker():
    """Queue mode without REDIS_URL runs its jobs in a worker inside this process: stop it
    afterwards, so that it does not outlive the test's database rows."""
    yield
    stop_in_process_worker()


@pytest.mark.django_db
def test_direct_success_prints_nothing(feed_server, sync_config):
    assert run_command("--direct", *CRON) == (0, "", "")
    assert set(SyncRun.objects.values_list("trigger", "state")) == {("cron", "completed")}


@pytest.mark.django_db
def test_direct_failure_is_one_line_on_stderr(feed_server, sync_config):
    feed_server.fail(f"{base_path(feed_server)}/A100/A100-F00001.json", 404)

    code, out, err = run_command("--direct", *CRON)

    assert (code, out) == (1, "")
    assert err.splitlines() == [
        line for line in err.splitlines() if line.startswith("A100 family A100-F00001: HTTP 404")
    ]
    assert len(err.splitlines()) == 1


@pytest.mark.django_db
def test_unreadable_feed_is_one_line_and_exit_2(feed_server, sync_config):
    Supplier.objects.create(code="A100")
    feed_server.fail(import_path(feed_server), 404)

    code, out, err = run_command("--direct", *CRON)

    assert (code, out) == (2, "")
    assert len(err.splitlines()) == 1 and err.startswith("Feed unreadable:")
    assert feed_server.import_url not in err


@pytest.mark.django_db(transaction=True)
def test_queued_success_prints_nothing(feed_server, sync_config, in_process_worker):
    assert run_command(*CRON) == (0, "", "")
    assert sorted(SyncRun.objects.values_list("trigger", "mode", "state")) == [
        ("cron", "queue", "completed"),
        ("cron", "queue", "completed"),
    ]


@pytest.mark.django_db(transaction=True)
def test_a_running_sync_is_followed_not_overlapped(feed_server, sync_config, in_process_worker):
    running = []
    for code in ("A100", "A101"):
        supplier = Supplier.objects.create(code=code)
        run = runs.run_create(supplier=supplier, trigger="command", mode="queue")
        runs.run_mark_running(run)
        running.append(run)

    def finish_later():
        time.sleep(1.5)
        try:
            for run in running:
                runs.run_finish(run)
        finally:
            connections.close_all()  # this thread's connection would block dropping the DB

    finisher = threading.Thread(target=finish_later)
    finisher.start()
    try:
        result = run_command(*CRON)
    finally:
        finisher.join()

    assert result == (0, "", "")
    assert sorted(SyncRun.objects.values_list("pk", flat=True)) == sorted(r.pk for r in running)
