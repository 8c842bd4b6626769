"""Dramatiq middleware that keeps job records and worker heartbeats in the database."""

from __future__ import annotations

import logging
import threading
import time
import traceback

from dramatiq.middleware import Middleware

# Safe this early (the broker loads middleware before Django's apps): no models behind it.
from promidata_sync.errors import SyncError, is_permanent

log = logging.getLogger(__name__)

# The exit status of a worker that gave up on its database (systemd restarts it; the worker
# supervisor stops with it instead of restarting its groups for ever).
DATABASE_LOST_EXIT_CODE = 3


class JobRecords(Middleware):
    """Mirror every message's life into a ``Job`` row: waiting → active → completed/failed,
    or delayed while it waits for a retry.

    Must come BEFORE ``Retries`` in the middleware list: "after" hooks run in reverse order,
    so this one then runs after Retries has decided whether the message will be retried
    (``message.failed``). A failure here is logged and never breaks message processing.
    When a job fails for good, its stage's ``give_up`` records it on its sync run.
    """

    def after_enqueue(self, broker, message, delay):
        from promidata_sync.queue import job_records as jobs

        self._safely(jobs.job_enqueued, message, delay=delay or 0)

    def before_process_message(self, broker, message):
        from promidata_sync.queue import job_records as jobs

        self._safely(jobs.job_started, message)

    def after_process_message(self, broker, message, *, result=None, exception=None):
        from promidata_sync.queue import job_records as jobs

        if exception is None:
            self._safely(jobs.job_completed, message, result=result)
            return
        trace = "".join(traceback.format_exception(exception, limit=30))
        if message.failed:
            self._safely(
                jobs.job_failed,
                message,
                error=_describe(exception),
                trace=trace,
                permanent=is_permanent(exception),
            )
        else:
            # Retries re-enqueued it with a delay; after_enqueue has marked it delayed.
            self._safely(jobs.job_errored, message, error=_describe(exception), trace=trace)

    def after_skip_message(self, broker, message):
        from promidata_sync.queue import job_records as jobs

        if message.options.get(HELD_NOW):
            return  # QueuePauses put a copy back: the job is still waiting
        self._safely(jobs.job_failed, message, error="skipped (too old or cancelled)", trace="")

    # A record write that meets a broken connection (PostgreSQL restarting) is tried again
    # on a new one for about this long, so a job finished during a restart is not left
    # saying "active" until the reconciler calls it stale.
    RECORD_RETRY_DELAYS = (0.2, 0.5, 1.0, 2.0, 3.0, 4.0)

    @classmethod
    def _safely(cls, fn, *args, **kwargs):
        from django.db import InterfaceError, OperationalError, connection

        for delay in (*cls.RECORD_RETRY_DELAYS, None):
            try:
                fn(*args, **kwargs)
                return
            except (OperationalError, InterfaceError):
                if delay is None or connection.in_atomic_block:
                    log.exception("job record update failed (%s)", getattr(fn, "__name__", fn))
                    return
                connection.close()  # the next attempt opens a new connection
                time.sleep(delay)
            except Exception:
                log.exception("job record update failed (%s)", getattr(fn, "__name__", fn))
                return


# Set on a message QueuePauses skipped because its queue is paused (a copy went back to the
# queue); HELD marks that copy, so its job record stays "waiting" rather than "delayed".
HELD_NOW = "promidata_held_now"
HELD = "promidata_held"


class QueuePauses(Middleware):
    """A paused queue starts no new job: a message taken from it is put back (a copy, due
    again in ``PROMIDATA_PAUSE_RECHECK_MS``) and this one acknowledged without running.
    Jobs already running finish. Pauses are rows (``services.pauses``), read at most once a
    second per process.

    Must come FIRST in the middleware list, so nothing else sees a held message start
    (no job record goes active, no time limit starts). Caveat: a paused queue's messages
    cycle through the workers every recheck interval (one Redis round trip each), and a held
    message keeps its original age, so ``PROMIDATA_JOB_MAX_AGE_MS`` still applies to it.
    If the pauses cannot be read (database down), the message runs: a pause never loses work.
    """

    def __init__(self):
        # Dramatiq's worker logs a warning for every skipped message; a held one is not news
        # (a paused queue would log each of its messages every recheck interval).
        logging.getLogger("dramatiq.worker.WorkerThread").addFilter(_not_a_held_message)

    def before_process_message(self, broker, message):
        from django.conf import settings
        from dramatiq.middleware import SkipMessage

        from promidata_sync.services.pauses import queue_is_paused

        try:
            paused = queue_is_paused(message.queue_name)
        except Exception:
            log.warning("could not read the queue pauses; running the message", exc_info=True)
            return
        if not paused:
            return
        held = message.copy(queue_name=message.queue_name.removesuffix(".DQ"))
        held.options[HELD] = True
        held.options.pop(HELD_NOW, None)
        held.options.pop("eta", None)
        broker.enqueue(held, delay=settings.PROMIDATA_PAUSE_RECHECK_MS)
        message.options[HELD_NOW] = True
        raise SkipMessage(f"queue {message.queue_name} is paused")


def _not_a_held_message(record: logging.LogRecord) -> bool:
    """False for Dramatiq's "Message … was skipped." line of a message QueuePauses held."""
    args = record.args if isinstance(record.args, tuple) else ()
    options = getattr(args[0], "options", None) if args else None
    return not (isinstance(options, dict) and options.get(HELD_NOW))


def _describe(exception: BaseException) -> str:
    """The stored error of a job: the stage's own message for the sync's errors, else the
    exception named by type (a time limit, a bug outside the stage)."""
    text = str(exception)
    name = type(exception).__name__
    if isinstance(exception, SyncError):
        return text or name
    return f"{name}: {text}" if text else name


class WorkerHeartbeats(Middleware):
    """Each worker process writes a heartbeat row every few seconds while it runs, and beats
    the broker's own heartbeat (``broker_heartbeat``) at the same time.

    The admin, ``promidata_status`` and ``/healthz`` read the rows to tell which workers are
    alive; the broker uses its heartbeat to tell whose unacknowledged messages to hand back.
    The thread is a daemon and stops with the worker. A worker whose heartbeats find the
    database unreachable for ``PROMIDATA_WORKER_DATABASE_GIVE_UP_SECONDS`` says so in one log
    line and sets ``database_lost``: consuming on would only fail every job and fill the log,
    while a supervisor (systemd) can restart it once the database is back. A database restart
    (seconds) is waited out.
    """

    def __init__(self):
        self.worker_id = ""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # Set when the heartbeats found the database unreachable for
        # PROMIDATA_WORKER_DATABASE_GIVE_UP_SECONDS: run_worker_group then stops consuming
        # and exits non-zero.
        self.database_lost = threading.Event()

    def after_worker_boot(self, broker, worker):
        from promidata_sync.services import workers

        self.worker_id = workers.worker_id_new()
        consumed = worker.consumer_whitelist or broker.get_declared_queues()
        queues = sorted(q for q in consumed if not q.endswith(".DQ"))
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._beat,
            args=(queues, worker.worker_threads),
            daemon=True,
            name="promidata-heartbeat",
        )
        self._thread.start()

    def before_worker_shutdown(self, broker, worker):
        self._stop.set()
        from promidata_sync.services import workers

        try:
            workers.heartbeat_remove(self.worker_id)
        except Exception:
            log.exception("could not remove the heartbeat of %s", self.worker_id)

    def _beat(self, queues, threads):
        from django.conf import settings
        from django.db import DatabaseError, close_old_connections

        from promidata_sync.queue.broker import broker_heartbeat
        from promidata_sync.services import workers

        give_up_seconds = settings.PROMIDATA_WORKER_DATABASE_GIVE_UP_SECONDS
        unreachable_since: float | None = None
        failures = 0
        while not self._stop.is_set():
            try:
                broker_heartbeat()
            except Exception:
                log.warning("broker heartbeat failed", exc_info=True)
            try:
                workers.heartbeat_write(self.worker_id, queues=queues, threads=threads)
                unreachable_since, failures = None, 0
            except DatabaseError as exc:
                now = time.monotonic()
                unreachable_since = unreachable_since or now
                failures += 1
                if now - unreachable_since >= give_up_seconds:
                    detail = str(exc).strip().splitlines()
                    log.error(
                        "worker environment: the database has been unreachable for %.0f s "
                        "(%d heartbeats: %s): this worker stops consuming and exits with "
                        "status %d, so that its supervisor restarts it",
                        now - unreachable_since,
                        failures,
                        detail[0] if detail else type(exc).__name__,
                        DATABASE_LOST_EXIT_CODE,
                    )
                    self.database_lost.set()
                    return
                log.warning("heartbeat failed: the database is unreachable (%d)", failures)
            except Exception:
                log.exception("heartbeat failed")
            finally:
                close_old_connections()
            self._stop.wait(settings.PROMIDATA_WORKER_HEARTBEAT_SECONDS)
