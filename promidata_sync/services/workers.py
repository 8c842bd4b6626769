"""Worker heartbeats: who is consuming which queues, and when we last heard from them.

A worker names its machine by ``PROMIDATA_WORKER_HOSTNAME`` (default: the real host name), in
its heartbeat, its worker id and the job records of the jobs it runs, so that the admin shows
which machine did what.
"""

from __future__ import annotations

import os
import uuid
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from promidata_sync.models import WorkerHeartbeat
from promidata_sync.services.fingerprint import settings_fingerprint

LIVE_SECONDS = 60
# WorkerHeartbeat.worker_id holds 64 characters: the host part is cut to leave room for
# ":<pid>:<8 hex>".
WORKER_ID_HOST_CHARS = 40
# A host name as workers give it (Job.worker holds "<host>:<pid>" in 128 characters).
WORKER_HOST_CHARS = 100


def worker_host() -> str:
    """The name of the machine this process works on (``PROMIDATA_WORKER_HOSTNAME``)."""
    # Bounded here, once, so that the heartbeat's hostname and the job records' label agree
    # (the reconciler rebuilds one from the other) and both fit their columns.
    return settings.PROMIDATA_WORKER_HOSTNAME[:WORKER_HOST_CHARS]


def worker_label() -> str:
    """``<host>:<pid>``: the worker a job record names (at most 112 characters)."""
    return f"{worker_host()}:{os.getpid()}"


def worker_id_new() -> str:
    """A worker process's heartbeat id, unique even when a pid is reused:
    ``<host>:<pid>:<8 hex>``, at most 64 characters."""
    return f"{worker_host()[:WORKER_ID_HOST_CHARS]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def heartbeat_write(worker_id: str, *, queues: list[str], threads: int) -> None:
    """Insert or refresh this worker's heartbeat row, with its settings fingerprint
    (``services.fingerprint``: hosts and names, no secret). Idempotent (one row per id)."""
    now = timezone.now()
    WorkerHeartbeat.objects.bulk_create(
        [
            WorkerHeartbeat(
                worker_id=worker_id,
                hostname=worker_host(),
                pid=os.getpid(),
                queues=queues,
                threads=threads,
                started_at=now,
                last_seen_at=now,
                settings_fingerprint=settings_fingerprint(),
            )
        ],
        update_conflicts=True,
        unique_fields=["worker_id"],
        update_fields=["queues", "threads", "last_seen_at", "settings_fingerprint"],
    )


def live_worker_names(*, within_seconds: float) -> set[str]:
    """The ``host:pid`` of every worker heard from in the last ``within_seconds``."""
    since = timezone.now() - timedelta(seconds=within_seconds)
    beats = WorkerHeartbeat.objects.filter(last_seen_at__gte=since).values_list("hostname", "pid")
    return {f"{hostname}:{pid}" for hostname, pid in beats}


def heartbeat_remove(worker_id: str) -> None:
    WorkerHeartbeat.objects.filter(worker_id=worker_id).delete()


def workers_live(*, within_seconds: int = LIVE_SECONDS) -> list[WorkerHeartbeat]:
    """Workers heard from in the last ``within_seconds`` (one minute by default)."""
    since = timezone.now() - timedelta(seconds=within_seconds)
    return list(WorkerHeartbeat.objects.filter(last_seen_at__gte=since).order_by("hostname", "pid"))


def hosts_live_elsewhere(*, within_seconds: int = LIVE_SECONDS) -> list[str]:
    """Host names of live workers other than this machine's (``worker_host``), sorted."""
    since = timezone.now() - timedelta(seconds=within_seconds)
    live = WorkerHeartbeat.objects.filter(last_seen_at__gte=since).exclude(hostname=worker_host())
    return sorted(set(live.values_list("hostname", flat=True)))


def workers_prune(*, older_than_seconds: int = 3600) -> int:
    """Forget workers silent for longer than ``older_than_seconds`` (crashed, never said bye)."""
    since = timezone.now() - timedelta(seconds=older_than_seconds)
    deleted, _ = WorkerHeartbeat.objects.filter(last_seen_at__lt=since).delete()
    return deleted


def queues_live(*, within_seconds: int = LIVE_SECONDS) -> set[str]:
    """Every queue some worker heard from in the last ``within_seconds`` consumes. One query."""
    since = timezone.now() - timedelta(seconds=within_seconds)
    beats = WorkerHeartbeat.objects.filter(last_seen_at__gte=since).values_list("queues", flat=True)
    return {queue for queues in beats for queue in queues}
