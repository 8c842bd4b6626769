"""Writing job records: the durable status of every queued job, mirrored by the
``JobRecords`` middleware at each step of a message's life (read back by
``services.jobs``). The job's subject (its key) follows the stage's job-key rule in the
registry; when a job fails for good, its stage's ``give_up`` records the failure on the run,
so the run still ends.
"""

from __future__ import annotations

import json

from django.utils import timezone

from promidata_sync.models import Job
from promidata_sync.queue.broker import broker_ref_of
from promidata_sync.queue.middleware import HELD
from promidata_sync.queue.registry import stage_of_actor
from promidata_sync.redaction import sanitize_message
from promidata_sync.services import runs, workers

TRACEBACK_MAX_CHARS = 20_000


def _identity(message) -> dict:
    kwargs = dict(message.kwargs or {})
    stage = stage_of_actor(message.actor_name)
    return {
        "queue_name": message.queue_name.removesuffix(".DQ"),
        "actor_name": message.actor_name,
        "run_id": kwargs.get("run_id"),
        "key": (stage.job_key(kwargs) if stage else "")[:2000],
        "args": kwargs,
    }


def _upsert(message, **fields) -> None:
    """Create or update the message's record with ``fields`` (one statement)."""
    row = Job(job_id=message.message_id, **_identity(message), **fields)
    Job.objects.bulk_create(
        [row],
        update_conflicts=True,
        unique_fields=["job_id"],
        update_fields=[*fields, "updated_at"],
    )


def job_enqueued(message, *, delay: int = 0) -> None:
    """A message was enqueued: ``waiting``, or ``delayed`` (a retry or a delayed send)."""
    retrying = message.options.get("retries", 0) > 0
    # A message held back by a paused queue still waits to start: it is not a retry.
    held = bool(message.options.get(HELD))
    state = Job.State.DELAYED if (retrying or (delay and not held)) else Job.State.WAITING
    fields: dict[str, object] = {
        "state": state,
        "broker_ref": broker_ref_of(message),
    }
    if not retrying and not held:
        fields["enqueued_at"] = timezone.now()
    _upsert(message, **fields)


def job_started(message) -> None:
    """A worker took the message: ``active``, naming the worker (``<host>:<pid>``)."""
    _upsert(
        message,
        state=Job.State.ACTIVE,
        # Who runs it: with RabbitMQ the reconciler tells a dead worker's record by this.
        worker=workers.worker_label(),
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
    """The job failed for good: record it (sanitised), then let its stage give up on the
    work (``permanent`` False: it ran out of retries on a transient error) and end the run
    if that was its last piece of work."""
    error = sanitize_message(error)
    _upsert(
        message,
        state=Job.State.FAILED,
        error=error,
        traceback=sanitize_message(trace, max_chars=TRACEBACK_MAX_CHARS),
        finished_at=timezone.now(),
    )
    stage = stage_of_actor(message.actor_name)
    if stage is None:
        return
    kwargs = dict(message.kwargs or {})
    run_id = kwargs.get("run_id")
    if run_id is not None and not runs.run_exists(run_id):
        return
    stage.give_up(stage.work_from(kwargs), error, permanent=permanent)
    if run_id is not None:
        runs.run_finish_if_complete(run_id)


def job_progress(job_id: str, step: str, percentage: int) -> None:
    """Record a running job's progress (reported by its step)."""
    Job.objects.filter(job_id=job_id).update(
        progress={"step": step, "percentage": percentage}, updated_at=timezone.now()
    )


def _jsonable(value):
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)
    return value
