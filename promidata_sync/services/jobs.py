"""Job records read back: one job's status, and pruning old records.

The records are written by the queue (``queue.job_records``, from the ``JobRecords``
middleware) at each step of a message's life; they are read here by ``get_job_status``, the
admin and ``promidata_status``. A record is keyed by the message id, which Dramatiq keeps
across retries, so one row follows a job through all its attempts.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from promidata_sync.models import Job
from promidata_sync.redaction import mask_url


def get_job_status(queue_name: str, job_id: str) -> dict | None:
    """The status of one job, or None if no job of that queue has that id.

    Shape (the old ``getJobStatus`` in snake_case): job_id, queue_name, actor_name, state,
    progress {step, percentage}, result, error, attempts_made, enqueued_at, processed_at,
    finished_at, run_id.
    """
    job = Job.objects.filter(queue_name=queue_name, job_id=job_id).first()
    return job_as_dict(job) if job else None


def job_as_dict(job: Job) -> dict:
    return {
        "job_id": job.job_id,
        "queue_name": job.queue_name,
        "actor_name": job.actor_name,
        "run_id": job.run_id,
        "key": mask_url(job.key) if "://" in job.key else job.key,
        "state": job.state,
        "progress": job.progress or {"step": "", "percentage": 0},
        "result": job.result,
        "error": job.error,
        "attempts_made": job.attempts_made,
        "enqueued_at": _iso(job.enqueued_at),
        "processed_at": _iso(job.processed_at),
        "finished_at": _iso(job.finished_at),
    }


def jobs_prune(*, older_than_days: int | None = None, dry_run: bool = False) -> int:
    """Delete finished job records older than the retention; return how many (would) go."""
    days = settings.PROMIDATA_JOB_RETENTION_DAYS if older_than_days is None else older_than_days
    cutoff = timezone.now() - timedelta(days=days)
    old = Job.objects.filter(state__in=Job.FINAL_STATES, finished_at__lt=cutoff)
    if dry_run:
        return old.count()
    deleted, _ = old.delete()
    return deleted


def run_items_prune(*, older_than_days: int | None = None, dry_run: bool = False) -> int:
    """Delete the *done* items of runs finished before the retention; return how many.

    A first import leaves one item per family and image; after the retention only what a
    person may still want to look at is kept: the runs themselves (with their counters and
    summary) and their failed items.
    """
    from promidata_sync.models import SyncItem

    days = settings.PROMIDATA_JOB_RETENTION_DAYS if older_than_days is None else older_than_days
    cutoff = timezone.now() - timedelta(days=days)
    old = SyncItem.objects.filter(state=SyncItem.State.DONE, run__finished_at__lt=cutoff)
    if dry_run:
        return old.count()
    deleted, _ = old.delete()
    return deleted


def _iso(value) -> str | None:
    return value.isoformat() if value else None
