"""Running worker groups: one consumer process per stage, supervised.

``run_worker_group`` is what one group process does: consume one queue with N threads,
prefetching no more than N messages, until SIGTERM/SIGINT, then stop gracefully (running jobs
finish, prefetched ones go back to the queue; anything unacknowledged is redelivered by the
broker if the process dies).

``WorkerManager`` starts one such process per group, restarts a group that died (unless it
gave up on its database, exit 3: then it stops every group and exits 3), passes a shutdown
signal on to every group, and runs a housekeeping callable (the reconciler) at an interval in
a thread of its own.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from promidata_sync.queue.middleware import DATABASE_LOST_EXIT_CODE, WorkerHeartbeats

log = logging.getLogger(__name__)

SHUTDOWN_TIMEOUT_SECONDS = 600
# How often a group process looks whether its heartbeat gave up on the database (seconds).
STOP_POLL_SECONDS = 1.0
RESTART_BACKOFF_MAX_SECONDS = 30


def run_worker_group(queue_name: str, threads: int, *, stop: threading.Event) -> int:
    """Consume ``queue_name`` with ``threads`` threads until ``stop`` is set, or until the
    heartbeat gives up on the database; return the process's exit status (0, or
    ``DATABASE_LOST_EXIT_CODE``)."""
    import dramatiq
    from django.conf import settings
    from django.db import connections
    from dramatiq.worker import Worker

    import promidata_sync.tasks  # noqa: F401  (declares the actors, hence the queues)
    from promidata_sync.environment import mark_worker_process

    mark_worker_process()

    # Each thread keeps its connection between jobs (checked before reuse); Django's own
    # default of one connection per request would open one per job.
    for alias in connections:
        connections.settings[alias]["CONN_MAX_AGE"] = settings.PROMIDATA_WORKER_CONN_MAX_AGE
    broker = dramatiq.get_broker()
    worker = Worker(broker, queues={queue_name}, worker_threads=threads, worker_timeout=1000)
    # Never hold more messages than there are threads to run them: the rest stay in Redis for
    # other machines, and a crash strands none.
    worker.queue_prefetch = threads
    worker.start()
    log.info("worker group %s started with %d threads (pid %d)", queue_name, threads, os.getpid())
    database_lost = _database_lost_event(broker)
    try:
        while not stop.wait(STOP_POLL_SECONDS) and not database_lost.is_set():
            pass
    finally:
        log.info("worker group %s stopping: finishing running jobs", queue_name)
        worker.stop(timeout=SHUTDOWN_TIMEOUT_SECONDS * 1000)
        log.info("worker group %s stopped", queue_name)
    return DATABASE_LOST_EXIT_CODE if database_lost.is_set() else 0


def _database_lost_event(broker) -> threading.Event:
    """The heartbeat middleware's ``database_lost`` (an event never set without it)."""
    for middleware in broker.middleware:
        if isinstance(middleware, WorkerHeartbeats):
            return middleware.database_lost
    return threading.Event()


@dataclass
class WorkerGroup:
    queue_name: str
    threads: int
    process: subprocess.Popen | None = None
    restarts: int = 0
    next_start: float = 0.0
    started_at: float = field(default=0.0)


class WorkerManager:
    """Supervise one ``promidata_worker`` process per group."""

    def __init__(
        self,
        groups: list[WorkerGroup],
        *,
        manage_py: Path,
        poll_seconds: float = 1.0,
        housekeeping: Callable[[], None] | None = None,
        housekeeping_seconds: float = 60.0,
    ):
        self.groups = groups
        self.manage_py = manage_py
        self.poll_seconds = poll_seconds
        self.housekeeping = housekeeping
        self.housekeeping_seconds = housekeeping_seconds
        self.stopping = threading.Event()
        self.exit_code = 0

    def command(self, group: WorkerGroup) -> list[str]:
        return [
            sys.executable,
            str(self.manage_py),
            "promidata_worker",
            "--queue",
            group.queue_name,
            "--threads",
            str(group.threads),
        ]

    def start(self, group: WorkerGroup) -> None:
        # Own process group, so a signal to the manager's terminal does not hit the workers
        # twice; the manager forwards shutdown itself.
        group.process = subprocess.Popen(self.command(group), start_new_session=True)
        group.started_at = time.monotonic()
        log.info("started %s group (pid %d)", group.queue_name, group.process.pid)

    def run(self) -> int:
        """Start every group and supervise until a shutdown signal; return an exit code."""
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: self.stopping.set())
        for group in self.groups:
            self.start(group)
        if self.housekeeping is not None:
            threading.Thread(target=self._housekeep, name="housekeeping", daemon=True).start()
        while not self.stopping.wait(self.poll_seconds):
            for group in self.groups:
                if not self.stopping.is_set():
                    self._supervise(group)
        return self.shutdown() or self.exit_code

    def _housekeep(self) -> None:
        """Call ``housekeeping`` every ``housekeeping_seconds`` until shutdown; a failure is
        logged and the next round comes as usual."""
        housekeeping = self.housekeeping
        assert housekeeping is not None
        while not self.stopping.wait(self.housekeeping_seconds):
            try:
                housekeeping()
            except Exception:
                log.exception("housekeeping failed")

    def _supervise(self, group: WorkerGroup) -> None:
        process = group.process
        if process is not None and process.poll() is None:
            if time.monotonic() - group.started_at > 60:
                group.restarts = 0  # it ran for a while: forget earlier crashes
            return
        now = time.monotonic()
        if process is not None and process.returncode == DATABASE_LOST_EXIT_CODE:
            # The group waited out PROMIDATA_WORKER_DATABASE_GIVE_UP_SECONDS already: a restart
            # loop here would only fill the log. Stop every group and exit with the same
            # status, so that the manager's own supervisor (systemd) restarts the whole set.
            # (A group that fails at start-up, exit 2, is restarted with backoff as before: a
            # database restart must not stop the workers.)
            log.error(
                "%s group gave up on the database (exit %d): stopping every group and exiting "
                "with status %d",
                group.queue_name,
                DATABASE_LOST_EXIT_CODE,
                DATABASE_LOST_EXIT_CODE,
            )
            group.process = None
            self.exit_code = DATABASE_LOST_EXIT_CODE
            self.stopping.set()
            return
        if process is not None:
            delay = min(RESTART_BACKOFF_MAX_SECONDS, 2**group.restarts)
            log.error(
                "%s group exited with code %s; restarting in %ds",
                group.queue_name,
                process.returncode,
                delay,
            )
            group.process = None
            group.restarts += 1
            group.next_start = now + delay
        if now >= group.next_start:
            self.start(group)

    def shutdown(self) -> int:
        """Ask every group to stop, wait for running jobs, kill what does not stop in time."""
        running = [(g, g.process) for g in self.groups if g.process and g.process.poll() is None]
        for _, process in running:
            process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + SHUTDOWN_TIMEOUT_SECONDS + 10
        for group, process in running:
            try:
                process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.error("%s group did not stop in time; killing it", group.queue_name)
                process.kill()
                process.wait()
        return 0
