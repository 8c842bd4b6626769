"""What queue actions write besides the broker: job records of purged messages, the run
items those messages carried, and the audit trail (``QueueAction``).

A purged message never runs, so its run would wait for it forever: each of its pending
items is failed here ("purged by <user>", through ``runs.item_record``, counted once), and
the run finishes (partial) when nothing else is pending. Idempotent: purging again finds no
waiting record, and an item already done or failed is left as it is.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from promidata_sync.models import Job, QueueAction, SyncItem, SyncRun
from promidata_sync.services import runs


def action_record(*, user, action: str, target: str, detail: str = "") -> QueueAction:
    """One row of the queue actions' audit trail."""
    return QueueAction.objects.create(
        user=user if getattr(user, "pk", None) else None,
        username=getattr(user, "get_username", lambda: "")() or "",
        action=action,
        target=target[:500],
        detail=detail[:2000],
    )


def jobs_mark_purged(queue_name: str, job_ids: list[str] | None, *, by: str) -> list[Job]:
    """Fail the waiting job records of ``queue_name`` the purge removed (``job_ids``; None:
    every waiting one, for a broker that cannot say which) with "purged by <by>"; return
    them."""
    with transaction.atomic():
        rows = Job.objects.select_for_update().filter(
            queue_name=queue_name, state=Job.State.WAITING
        )
        if job_ids is not None:
            rows = rows.filter(job_id__in=job_ids)
        purged = list(rows)
        Job.objects.filter(pk__in=[job.pk for job in purged]).update(
            state=Job.State.FAILED,
            error=f"purged by {by}",
            finished_at=timezone.now(),
            updated_at=timezone.now(),
        )
    return purged


def items_fail_purged(run_id: int, *, kind: str | None, keys: list[str], by: str) -> None:
    """The run items a purged message carried fail with "purged by <by>" (pending ones
    only); a supplier message (``kind`` None) fails its unplanned run. Then the run finishes
    if nothing is left pending."""
    run = SyncRun.objects.filter(pk=run_id, finished_at__isnull=True).first()
    if run is None:
        return
    reason = f"purged by {by}"
    if kind is None:
        if run.planned_at is None:
            runs.run_finish(run, failed_reason=f"its supplier job was {reason}")
        return
    with transaction.atomic():
        pending = set(
            run.items.filter(kind=kind, key__in=keys, state=SyncItem.State.PENDING).values_list(
                "key", flat=True
            )
        )
        for key in keys:
            if key in pending:
                runs.item_record(run_id, kind=kind, key=key, error=reason)
    runs.run_finish_if_complete(run_id)
