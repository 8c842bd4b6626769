"""Who works on a run, and whether they are still there.

A direct run (and a queue run without Redis, whose in-memory queue lives in one process) is
worked on by one process and nothing else: if that process is killed (kill -9, an OOM kill, a
reboot), nothing will ever finish the run, and the one-active-run-per-supplier rule would block
its supplier for good. Such a run records its owner when it starts: the host name, the process
table it lives in (``machine``: the boot id and the pid namespace, so two containers that share
a host name are told apart), the pid and the process's start time. The owning process refreshes
``heartbeat_at`` every ``PROMIDATA_RUN_HEARTBEAT_SECONDS`` from a daemon thread, for every run
it owns, in one statement; the thread ends once the process owns no open run any more.

``owner_is_gone`` is the verdict the rest of the code acts on. Inside the owner's own process
table the table decides at once: the pid is gone, a zombie, or another process that reused it.
From anywhere else only the heartbeat can tell: gone when it is older than
``PROMIDATA_RUN_DEAD_AFTER_SECONDS``. A live owner is never declared gone from its own process
table, however slow it is. Queue runs on Redis have no owner: any worker may finish them, and
the reconciler looks after those.
"""

from __future__ import annotations

import functools
import logging
import os
import threading
import time
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone

from promidata_sync.models import SyncRun

log = logging.getLogger(__name__)

# A heartbeat that keeps failing (the database is away) is reported this often, not every beat.
FAILURE_LOG_SECONDS = 60.0


@functools.cache
def machine() -> str:
    """This process table's identity: the kernel's boot id and the pid namespace ("" where
    /proc does not tell). Two containers with one host name differ in their namespace."""
    try:
        with open("/proc/sys/kernel/random/boot_id") as boot:
            boot_id = boot.read().strip()
        namespace = os.readlink("/proc/self/ns/pid")
    except OSError:
        return ""
    return f"{boot_id}/{namespace}"[:128]


def this_process() -> tuple[str, str, int]:
    """(host name, machine, pid) of this process. The host name is the one this process gives
    (``PROMIDATA_WORKER_HOSTNAME``, default the real one); ``machine`` is what tells process
    tables apart, so a name shared by two machines never makes one judge the other's pids."""
    return settings.PROMIDATA_WORKER_HOSTNAME[:255], machine(), os.getpid()


def run_claim(run: SyncRun) -> None:
    """Record this process as the owner of ``run`` and start the heartbeat thread."""
    host, table, pid = this_process()
    started, now = _process_started(pid), timezone.now()
    owner = {
        "owner_host": host,
        "owner_machine": table,
        "owner_pid": pid,
        "owner_started": started,
        "heartbeat_at": now,
    }
    SyncRun.objects.filter(pk=run.pk).update(**owner)
    for name, value in owner.items():
        setattr(run, name, value)
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
    host, table, _ = this_process()
    if run.owner_host == host and run.owner_machine == table:
        return not _owner_running(run.owner_pid, run.owner_started)
    last_beat = run.heartbeat_at or run.started_at or run.created_at
    return now - last_beat > dead_after


def _owner_running(pid: int, started: int | None) -> bool:
    """Whether the process that claimed a run still runs in this process table: the pid
    exists, is not a zombie, and (where /proc tells) started when the owner did."""
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
        """Beat until a beat finds no open run of this process and none was claimed since;
        the next ``run_claim`` starts the thread again. A failed beat (the database is away
        for a moment) is logged and the next one comes as usual: the run goes on, so must its
        heartbeat."""
        event, last_failure_log = threading.Event(), 0.0
        while True:
            event.wait(settings.PROMIDATA_RUN_HEARTBEAT_SECONDS)
            try:
                beating = beat() > 0
            except Exception as exc:
                if time.monotonic() - last_failure_log > FAILURE_LOG_SECONDS:
                    last_failure_log = time.monotonic()
                    log.warning("run heartbeat failed: %s: %s", type(exc).__name__, exc)
                continue
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
    host, table, pid = this_process()
    return SyncRun.objects.filter(
        owner_host=host,
        owner_machine=table,
        owner_pid=pid,
        owner_started=_process_started(pid),
        finished_at__isnull=True,
    ).update(heartbeat_at=timezone.now())
