"""Acting on the queues: pause and resume, purge waiting jobs, see and clear dead letters,
retry one job or one family. The public service API of the admin's Queues page, beside
``operations`` (whose retry it calls).

Every action takes the acting ``user`` (the caller has checked ``operate_sync``) and writes
one ``QueueAction`` row of the audit trail. Each is idempotent: pausing a paused queue,
purging an empty one or retrying work already queued again changes nothing more.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from promidata_sync import operations
from promidata_sync.models import Job, Pause, QueueAction, SyncRun
from promidata_sync.queue import broker as queue_broker
from promidata_sync.queue.registry import QUEUE_NAMES, stage_of_actor
from promidata_sync.redaction import redact
from promidata_sync.services import pauses, queue_records
from promidata_sync.services.supplier_codes import did_you_mean, supplier_by_code


class UnknownQueue(ValueError):
    """No stage declares a queue of that name."""


class NotRetryable(ValueError):
    """The job cannot be retried from here; the message says why."""


def _queue(name: str) -> str:
    if name not in QUEUE_NAMES:
        raise UnknownQueue(f"unknown queue {name!r} (queues: {', '.join(QUEUE_NAMES)})")
    return name


def _supplier_code(code: str) -> str:
    """The stored code of the supplier ``code`` names (in any case), or ``ValueError``: a
    pause of a supplier nobody has would pause nothing and say it did."""
    found = supplier_by_code(code)
    if found is None:
        raise ValueError(f"unknown supplier {code[:40]!r}{did_you_mean(code[:40])}")
    return found.code


def _name(user) -> str:
    return (user.get_username() if user is not None else "") or "an operator"


# --- pauses -------------------------------------------------------------------------------


def pause(*, user, scope: str, name: str = "") -> bool:
    """Pause a queue (``scope`` "queue"), everything ("all") or a supplier's syncs
    ("supplier"); True if it was running. Recorded either way."""
    if scope == Pause.Scope.QUEUE:
        _queue(name)
    if scope == Pause.Scope.SUPPLIER:
        name = _supplier_code(name)
    changed = pauses.pause_set(scope=scope, name=name, by=_name(user))
    queue_records.action_record(
        user=user,
        action=QueueAction.Action.PAUSE,
        target=target_label(scope, name),
        detail="paused" if changed else "already paused",
    )
    return changed


def resume(*, user, scope: str, name: str = "") -> bool:
    """Undo ``pause``; True if it was paused."""
    changed = pauses.pause_clear(scope=scope, name=name)
    queue_records.action_record(
        user=user,
        action=QueueAction.Action.RESUME,
        target=target_label(scope, name),
        detail="resumed" if changed else "was not paused",
    )
    return changed


def target_label(scope: str, name: str) -> str:
    """How the audit trail and messages name a pause target: "queue family-sync"."""
    if scope == Pause.Scope.ALL:
        return "everything"
    return f"{scope} {name.upper() if scope == Pause.Scope.SUPPLIER else name}"


# --- dead letters and purges --------------------------------------------------------------


@dataclass(frozen=True)
class DeadLetter:
    """A dead message as the Queues page shows it: arguments masked, the job's error."""

    message_id: str
    actor_name: str
    arguments: str
    died_at: datetime | None
    error: str
    run_id: int | None


def dead_letters(queue_name: str, *, limit: int = queue_broker.DEAD_LETTERS_SHOWN) -> list:
    """Up to ``limit`` dead messages of the queue (left in place), with their job's error."""
    messages = queue_broker.dead_letters(_queue(queue_name), limit=limit)
    jobs = {
        job.job_id: job
        for job in Job.objects.filter(job_id__in=[m.message_id for m in messages]).only(
            "job_id", "error", "finished_at", "run_id"
        )
    }
    letters = []
    for message in messages:
        job = jobs.get(message.message_id)
        kwargs = dict(message.kwargs or {})
        letters.append(
            DeadLetter(
                message_id=message.message_id,
                actor_name=message.actor_name,
                arguments=redact(", ".join(f"{k}={v!r}" for k, v in kwargs.items()))[:500],
                died_at=job.finished_at
                if job and job.finished_at
                else datetime.fromtimestamp(message.message_timestamp / 1000, tz=UTC),
                error=job.error if job else "",
                run_id=kwargs.get("run_id"),
            )
        )
    return letters


def dead_letters_clear(queue_name: str, *, user) -> int:
    """Delete the queue's dead letters (their job records stay, failed); return how many."""
    count = queue_broker.dead_letters_clear(_queue(queue_name))
    queue_records.action_record(
        user=user,
        action=QueueAction.Action.CLEAR_DEAD,
        target=f"queue {queue_name}",
        detail=f"{count} dead letter(s) deleted",
    )
    return count


def purge_waiting(queue_name: str, *, user) -> int:
    """Drop the jobs waiting in the queue: their records fail "purged by <user>", so do the
    run items they carried, and each run concerned finishes when nothing else is pending
    (partial). Delayed and running jobs are left alone. Returns how many were dropped."""
    by = _name(user)
    count, ids = queue_broker.waiting_purge(_queue(queue_name))
    purged = queue_records.jobs_mark_purged(queue_name, ids, by=by)
    for job in purged:
        stage = stage_of_actor(job.actor_name)
        if stage is None or job.run_id is None:
            continue
        keys = stage.item_keys(dict(job.args or {})) if stage.item_kind else []
        queue_records.items_fail_purged(job.run_id, kind=stage.item_kind, keys=keys, by=by)
    queue_records.action_record(
        user=user,
        action=QueueAction.Action.PURGE,
        target=f"queue {queue_name}",
        detail=f"{count} waiting job(s) dropped",
    )
    return count


# --- retry one job, one family --------------------------------------------------------------


def retry_job(job: Job, *, user) -> dict:
    """Run a failed job's work again on its run (``operations.retry_failed`` limited to the
    job's items; a failed supplier job re-plans its run). Queues nothing for items no longer
    failed, so a second click adds nothing. Raises ``NotRetryable``."""
    stage = stage_of_actor(job.actor_name)
    if stage is None or job.run_id is None:
        raise NotRetryable("only the jobs of a sync run can be retried here")
    if job.state != Job.State.FAILED:
        raise NotRetryable(f"job {job.job_id} is {job.get_state_display()}, not failed")
    run = SyncRun.objects.get(pk=job.run_id)
    keys = stage.item_keys(dict(job.args or {})) if stage.item_kind else None
    result = operations.retry_failed(run, use_queue=True, keys=keys)
    queue_records.action_record(
        user=user,
        action=QueueAction.Action.RETRY_JOB,
        target=f"job {job.job_id}",
        detail=_retried(result),
    )
    return result


def retry_family(run: SyncRun, family_sku: str, *, user) -> dict:
    """Run one failed family of ``run`` again (and nothing else); idempotent like
    ``retry_job``."""
    result = operations.retry_failed(run, use_queue=True, keys=[family_sku])
    queue_records.action_record(
        user=user,
        action=QueueAction.Action.RETRY_FAMILY,
        target=f"run #{run.pk} family {family_sku}",
        detail=_retried(result),
    )
    return result


def _retried(result: dict) -> str:
    if not result["jobs"]:
        return "nothing to retry (already queued or done)"
    return f"{len(result['jobs'])} job(s) queued"
