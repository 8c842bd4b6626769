"""Who works on a run, and whether they are still there.

A direct run (and a queue run without Redis, whose in-memory queue lives in one process) is
worked on by one process and nothing else: if that process is killed (kill -9, an OOM kill, a
reboot), nothing will ever finish the run, and the one-active-run-per-supplier rule would block
its supplier for good. Such a run records its owner (host, pid and the process's start time)
when it starts, and the owning process refreshes ``heartbeat_at`` every
``PROMIDATA_RUN_HEARTBEAT_SECONDS`` from a daemon thread, for every run it owns, in one
statement; the thread ends when the process owns no open run any more.

``owner_is_gone`` is the verdict the rest of the code acts on. On the owner's host the process
table decides at once: the pid is gone, a zombie, or another process that reused it. From
another host only the heartbeat can tell: gone when it is older than
``PROMIDATA_RUN_DEAD_AFTER_SECONDS``. A live owner is never declared gone on its own host, however
slow it is. Queue runs on Redis have no owner: any worker may finish them, and ``reconcile``
looks after those.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone

from promidata_sync.models import SyncRun

log = logging.getLogger(__name__)


def this_process() -> tuple[str, int]:
    return socket.gethostname()[:255], os.getpid()


def run_claim(run: SyncRun) -> None:
    """Record this process as the owner of ``run`` and start the heartbeat thread."""
    host, pid = this_process()
    started, now = _process_started(pid), timezone.now()
    SyncRun.objects.filter(pk=run.pk).update(
        owner_host=host, owner_pid=pid, owner_started=started, heartbeat_at=now
    )
    run.owner_host, run.owner_pid, run.owner_started, run.heartbeat_at = host, pid, started, now
    _heartbeat.ensure_running()


def owner_is_gone(run: SyncRun, *, now=None) -> bool:
    """True when ``run`` is bound to a process that is no longer working on it.

    Only runs with an owner, and legacy direct runs recorded before owners were (judged by
    their last activity), can be gone; a queue run on Redis never is by this test.
    """
    now = now or timezone.now()
    dead_after = timedelta(seconds=settings.PROMIDATA_RUN_DEAD_AFTER_SECONDS)
    if run.owner_pid is None:
        if run.mode != SyncRun.Mode.DIRECT:
            return False
        last = max(filter(None, [run.heartbeat_at, run.started_at, run.created_at]))
        last_item = run.items.order_by("-updated_at").values_list("updated_at", flat=True).first()
        return now - max(filter(None, [last, last_item])) > dead_after
    host, _ = this_process()
    if run.owner_host == host:
        return not _owner_running(run.owner_pid, run.owner_started)
    last_beat = run.heartbeat_at or run.started_at or run.created_at
    return now - last_beat > dead_after


def _owner_running(pid: int, started: int | None) -> bool:
    """Whether the process that claimed a run still runs on this host: the pid exists, is
    not a zombie, and (where /proc tells) started when the owner did."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # someone else's process: it exists
    stat = _proc_stat(pid)
    if stat is None:
        return True  # no /proc (not Linux): trust the signal test
    state, start_ticks = stat
    if state in ("Z", "X"):
        return False
    return started is None or start_ticks == started


def _proc_stat(pid: int) -> tuple[str, int] | None:
    """(state, start time in clock ticks since boot) of ``pid`` from /proc, or None."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            fields = stat.read().rsplit(b")", 1)[1].split()
        return fields[0].decode(), int(fields[19])
    except (OSError, IndexError, ValueError):
        return None


def _process_started(pid: int) -> int | None:
    stat = _proc_stat(pid)
    return stat[1] if stat else None


class _Heartbeat:
    """One daemon thread per process refreshing the heartbeat of every run it owns."""

    def __init__(self):
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._claimed = False  # a run was claimed since the thread's last beat

    def ensure_running(self) -> None:
        with self._lock:
            self._claimed = True
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._beat_forever, name="promidata-run-heartbeat", daemon=True
                )
                self._thread.start()

    def _beat_forever(self) -> None:
        """Beat until this process owns no open run, or the database refuses a beat, and no
        run was claimed meanwhile; the next ``run_claim`` starts the thread again. (Only
        another host needs the beats: on the owner's host the process table tells.)"""
        event = threading.Event()
        while True:
            event.wait(settings.PROMIDATA_RUN_HEARTBEAT_SECONDS)
            try:
                beating = beat() > 0
            except Exception as exc:
                log.warning("run heartbeat failed: %s: %s", type(exc).__name__, exc)
                beating = False
            finally:
                # Hold no connection between beats (and none when the process ends).
                connection.close()
            with self._lock:
                if not beating and not self._claimed:
                    self._thread = None
                    return
                self._claimed = False


_heartbeat = _Heartbeat()


def beat() -> int:
    """Refresh the heartbeat of this process's unfinished runs; return how many."""
    host, pid = this_process()
    return SyncRun.objects.filter(owner_host=host, owner_pid=pid, finished_at__isnull=True).update(
        heartbeat_at=timezone.now()
    )
