"""What every actor does: load the work → run its step → enqueue the follow-ups → turn the
outcome into what Dramatiq understands.

- done: the follow-ups are enqueued (the step has committed, so they go at once) and the
  run is finished if that was its last piece of work; the result goes on the job record;
- skipped: the result says why;
- failed: ``StepFailed`` is raised with the step's line and verdict; the actors'
  ``retry_when`` (``should_retry``) retries a transient one and fails a permanent one at
  once, and when no retry is left the job records call the stage's ``give_up``;
- later: ``dramatiq.Retry`` with the step's delay (a webhook's own schedule).
"""

from __future__ import annotations

import contextlib

import dramatiq
from django.conf import settings
from dramatiq.middleware import CurrentMessage

from promidata_sync.errors import StepFailed, is_permanent
from promidata_sync.queue import dispatch
from promidata_sync.queue.job_records import job_progress
from promidata_sync.queue.leases import broker_lease
from promidata_sync.queue.registry import Stage
from promidata_sync.services import runs
from promidata_sync.services.steps import progress_reported_to


def run_job(stage: Stage, kwargs: dict) -> dict:
    """Run one message of ``stage`` (see the module docstring)."""
    work = stage.work_from(kwargs)
    with _exclusive(stage, work), progress_reported_to(_report_progress):
        outcome = stage.step(work)
    if outcome.follow_ups:
        dispatch.enqueue(outcome.follow_ups)
    run_id = getattr(work, "run_id", None)
    if outcome.status == "done" and run_id is not None:
        runs.run_finish_if_complete(run_id)
    if outcome.status == "failed":
        raise StepFailed(outcome.error, permanent=outcome.permanent)
    if outcome.status == "later":
        raise dramatiq.Retry(outcome.error, delay=round(outcome.retry_in_seconds * 1000))
    return outcome.result


def should_retry(retries: int, exception: BaseException) -> bool:
    """Every actor's ``retry_when``: a step's own schedule (``Retry``) always; anything else
    while it may heal by itself (``errors.is_permanent``) and retries are left."""
    if isinstance(exception, dramatiq.Retry):
        return True
    return not is_permanent(exception) and retries < settings.PROMIDATA_JOB_MAX_RETRIES


@contextlib.contextmanager
def _exclusive(stage: Stage, work):
    """Hold the stage's lease for the work while its step runs (``queue.leases``: a killed
    worker's lease lapses within ``PROMIDATA_SUPPLIER_LEASE_SECONDS``)."""
    if stage.exclusive is None:
        yield
        return
    name = stage.exclusive(work)
    with broker_lease(name, ttl_seconds=settings.PROMIDATA_SUPPLIER_LEASE_SECONDS) as held:
        if not held:
            raise StepFailed(f"another job holds {name}", permanent=False)
        yield


def _report_progress(step: str, percentage: int) -> None:
    message = CurrentMessage.get_current_message()
    if message is not None:
        job_progress(message.message_id, step, percentage)
