"""Ctrl-C on a direct sync: one line saying what became of the run, no traceback, the run
marked stopped, and the next sync goes on normally."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from tests.commands.test_promidata_sync_command import ROOT, manage


@pytest.mark.django_db(transaction=True)
def test_sigint_marks_the_direct_run_stopped_in_one_line_and_the_next_run_goes_on(
    feed_server, tmp_path
):
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
        [sys.executable, str(ROOT / "manage.py"), "promidata_sync", "--direct", "A100"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # A background job may inherit SIGINT ignored; a terminal's Ctrl-C is not.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )

    def runs():
        with sqlite3.connect(database) as db:
            return db.execute("SELECT id, state FROM promidata_sync_syncrun ORDER BY id").fetchall()

    deadline = time.monotonic() + 60
    while ("running" not in [state for _, state in runs()]) and sync.poll() is None:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    time.sleep(0.5)  # into the families
    sync.send_signal(signal.SIGINT)
    out, err = sync.communicate(timeout=60)

    assert sync.returncode == 130, out + err
    ((run_id, state),) = runs()
    assert state == "stopped"
    lines = [line for line in err.splitlines() if line.strip()]
    assert lines == [f"interrupted: sync #{run_id} of A100 marked stopped"], err
    assert "Traceback" not in out + err

    feed_server.latency_ms = 0
    again = manage(["promidata_sync", "--direct", "A100", "--no-progress"], env)

    assert again.returncode == 0, again.stdout + again.stderr
    assert [state for _, state in runs()] == ["stopped", "completed"]
    assert re.search(r"A100\s+Completed\s", again.stdout)
