"""Worker heartbeats: who is consuming which queues, and when we last heard from them."""

from __future__ import annotations

import os
import socket
from datetime import timedelta

from django.utils import timezone

from promidata_sync.models import WorkerHeartbeat

LIVE_SECONDS = 60


def heartbeat_write(worker_id: str, *, queues: list[str], threads: int) -> None:
    now = timezone.now()
    WorkerHeartbeat.objects.bulk_create(
        [
            WorkerHeartbeat(
                worker_id=worker_id,
                hostname=socket.gethostname(),
                pid=os.getpid(),
                queues=queues,
                threads=threads,
                started_at=now,
                last_seen_at=now,
            )
        ],
        update_conflicts=True,
        unique_fields=["worker_id"],
        update_fields=["queues", "threads", "last_seen_at"],
    )


def this_worker() -> str:
    """This process as job records name their worker: ``host:pid`` (its heartbeat's
    hostname and pid)."""
    return f"{socket.gethostname()}:{os.getpid()}"


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


def workers_prune(*, older_than_seconds: int = 3600) -> int:
    """Forget workers silent for longer than ``older_than_seconds`` (crashed, never said bye)."""
    since = timezone.now() - timedelta(seconds=older_than_seconds)
    deleted, _ = WorkerHeartbeat.objects.filter(last_seen_at__lt=since).delete()
    return deleted
