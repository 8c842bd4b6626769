"""The worker supervisor stops, with the group's status, when a group gives up on its database
(3) or cannot start with its settings (2): a restart loop would only fill the log while the
database is away; systemd restarts the supervisor itself."""

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


@pytest.mark.parametrize("status", [DATABASE_LOST_EXIT_CODE, CONFIGURATION_EXIT_CODE])
def test_a_group_a_restart_cannot_help_stops_the_supervisor_with_its_status(status):
    manager = ScriptedManager(
        [WorkerGroup("image-upload", 1), WorkerGroup("product-family", 1)],
        {"image-upload": status, "product-family": None},
    )
    started = time.monotonic()
    assert manager.run() == status
    assert time.monotonic() - started < 15
    # Started once each: no restart of the group that gave up, and the healthy one was stopped.
    assert sorted(manager.starts) == ["image-upload", "product-family"]
    assert all(g.process is None or g.process.poll() is not None for g in manager.groups)


def test_any_other_crash_is_still_restarted():
    manager = ScriptedManager([WorkerGroup("webhooks", 1)], {"webhooks": 1})
    manager.poll_seconds = 0.05

    threading.Timer(2.5, manager.stopping.set).start()
    assert manager.run() == 0
    assert manager.starts.count("webhooks") >= 2
