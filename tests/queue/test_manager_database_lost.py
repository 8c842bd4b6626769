"""The worker supervisor stops, with status 3, when a group gives up on its database: a
restart loop would only fill the log while the database is away; systemd restarts the
supervisor itself."""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

import pytest

from promidata_sync.preflight import CONFIGURATION_EXIT_CODE
from promidata_sync.queue.manager import WorkerGroup, WorkerManager
from promidata_sync.queue.middleware import DATABASE_LOST_EXIT_CODE


class ScriptedManager(WorkerManager):
    """Real child processes that exit with a chosen status instead of consuming a queue."""

    def __init__(self, groups, exit_codes):
        super().__init__(groups, manage_py=Path("manage.py"), poll_seconds=0.1)
        self.exit_codes = exit_codes
        self.starts: list[str] = []

    def command(self, group):
        self.starts.append(group.queue_name)
        code = self.exit_codes[group.queue_name]
        if code is None:  # a healthy group: runs until it is told to stop
            return [sys.executable, "-c", "import time; time.sleep(60)"]
        return [sys.executable, "-c", f"import sys; sys.exit({code})"]


def test_a_group_that_gave_up_on_its_database_stops_the_supervisor_with_status_3():
    manager = ScriptedManager(
        [WorkerGroup("image-upload", 1), WorkerGroup("product-family", 1)],
        {"image-upload": DATABASE_LOST_EXIT_CODE, "product-family": None},
    )
    started = time.monotonic()
    assert manager.run() == DATABASE_LOST_EXIT_CODE
    assert time.monotonic() - started < 15
    # Started once each: no restart of the group that gave up, and the healthy one was stopped.
    assert sorted(manager.starts) == ["image-upload", "product-family"]
    assert all(g.process is None or g.process.poll() is not None for g in manager.groups)


@pytest.mark.parametrize("status", [1, CONFIGURATION_EXIT_CODE])
def test_any_other_exit_is_still_restarted(status):
    """Exit 2 included (a database that did not answer at start-up): PostgreSQL restarting
    must not stop the workers."""
    manager = ScriptedManager([WorkerGroup("webhooks", 1)], {"webhooks": status})
    manager.poll_seconds = 0.05

    threading.Timer(2.5, manager.stopping.set).start()
    assert manager.run() == 0
    assert manager.starts.count("webhooks") >= 2
