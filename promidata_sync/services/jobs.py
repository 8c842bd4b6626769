"""Job records: the durable status of every queued job, and reading it back.

Written by the ``JobRecords`` middleware at each step of a message's life; read by
``get_job_status``, the admin and ``promidata_status``. A record is keyed by the message id,
which Dramatiq keeps across retries, so one row follows a job through all its attempts.
"""

from __future__ import annotations

import json
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from promidata_sync.models import Job
from promidata_sync.redaction import mask_url, sanitize_message

TRACEBACK_MAX_CHARS = 20_000

# Which message argument names the job's subject, per actor.
KEY_ARGUMENT = {
    "sync_supplier": "run_id",
    "sync_product_family": "family_sku",
    "upload_image": "url",
    "deliver_webhook": "delivery_id",
}


def _identity(message) -> dict:
    kwargs = dict(message.kwargs or {})
    actor = message.actor_name
    key = kwargs.get(KEY_ARGUMENT.get(actor, ""), "")
    return {
        "queue_name": message.queue_name.removesuffix(".DQ"),
        "actor_name": actor,
        "run_id": kwargs.get("run_id"),
        "key": str(key)[:2000],
        "args": kwargs,
    }


def _upsert(message, **fields) -> None:
    """Create or update the message's record with ``fields`` (one statement)."""
    identity = _identity(message)
    row = Job(job_id=message.message_id, **identity, **fields)
    Job.objects.bulk_create(
        [row],
        update_conflicts=True,
        unique_fields=["job_id"],
        update_fields=[*fields, "updated_at"],
    )


def job_enqueued(message, *, delay: int = 0) -> None:
    """A message was enqueued: ``waiting``, or ``delayed`` (a retry or a delayed send)."""
    retrying = message.options.get("retries", 0) > 0
    state = Job.State.DELAYED if (delay or retrying) else Job.State.WAITING
    fields = {"state": state, "broker_ref": str(message.options.get("redis_message_id", ""))}
    if not retrying:
        fields["enqueued_at"] = timezone.now()
    _upsert(message, **fields)


def job_started(message) -> None:
    _upsert(
        message,
        state=Job.State.ACTIVE,
        processed_at=timezone.now(),
        attempts_made=message.options.get("retries", 0) + 1,
        finished_at=None,
    )


def job_completed(message, *, result=None) -> None:
    _upsert(
        message,
        state=Job.State.COMPLETED,
        result=_jsonable(result),
        progress={"step": "complete", "percentage": 100},
        error="",
        finished_at=timezone.now(),
    )


def job_errored(message, *, error: str, trace: str) -> None:
    """An attempt failed and a retry is scheduled: keep the error, the state stays delayed.
    Both texts are stored sanitised (no secret, bounded)."""
    Job.objects.filter(job_id=message.message_id).update(
        error=sanitize_message(error),
        traceback=sanitize_message(trace, max_chars=TRACEBACK_MAX_CHARS),
        updated_at=timezone.now(),
    )


def job_failed(message, *, error: str, trace: str, permanent: bool = True) -> None:
    """The job failed for good: record it (sanitised), then let its stage account for it on
    the run (``permanent`` False: it ran out of retries on a transient error)."""
    error = sanitize_message(error)
    _upsert(
        message,
        state=Job.State.FAILED,
        error=error,
        traceback=sanitize_message(trace, max_chars=TRACEBACK_MAX_CHARS),
        finished_at=timezone.now(),
    )
    from promidata_sync.services import stages

    stages.stage_failed(message.actor_name, dict(message.kwargs or {}), error, permanent=permanent)


def job_progress(job_id: str, step: str, percentage: int) -> None:
    """Record a running job's progress (called by the stages through the current message)."""
    Job.objects.filter(job_id=job_id).update(
        progress={"step": step, "percentage": percentage}, updated_at=timezone.now()
    )


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


def _jsonable(value):
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)
    return value
