"""Finding runs that nothing will finish, and finishing or resuming them.

A run ends when its last pending item does. Two things can leave items pending with nobody to
work on them:

- the process that owned a direct (or in-memory queue) run died: ``runs.run_reap_if_dead``
  finishes such a run as failed ("process died");
- a queue run's messages are gone from Redis (a restart without persistence, a failover, a
  flush) or sit unacknowledged with workers that died, which Dramatiq only hands back by
  chance (RabbitMQ hands them back itself, at once, and keeps its durable queues across a
  restart: there, only work whose message never reached the broker is sent again; what each
  broker can answer is ``queue.broker``'s business). ``reconcile`` first runs the broker's
  maintenance (``broker_maintenance``), then, for
  every queue run that made no progress for ``PROMIDATA_RECONCILE_AFTER_SECONDS``, enqueues
  again each pending item the broker holds no message for. Items are idempotent and counted
  exactly once, so a message sent twice is harmless, while a message lost keeps a run open for
  ever. Job records of lost messages are marked failed, saying so.

Webhook deliveries still pending that long after they were due are sent again too (enqueued
with Redis, sent in this process without), and so are notifications whose e-mail failed or
was lost (``notifications.notifications_send_due``, with backoff). A resumed run is told once
("run.reconciled").

The reconciler is part of the pipeline, not a side path: what it re-sends is the same work
records the steps return (``services.work.items_work``), through the same dispatch
(``queue.dispatch``) and stages (``queue.registry``). Each time it acts on a run it says so
in the run's message, with the time, for the run page.

The worker supervisor (``promidata_workers``) calls ``reconcile`` every
``PROMIDATA_RECONCILE_INTERVAL_SECONDS``; ``promidata_reconcile`` calls it from cron; and
``promidata_sync --wait`` calls it while it waits. A lease makes concurrent callers take turns.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db.models import Max
from django.utils import timezone

from promidata_sync.models import Job, SyncItem, SyncRun
from promidata_sync.queue import dispatch
from promidata_sync.queue.broker import (
    broker_maintenance,
    is_persistent,
    messages_held,
    messages_running,
)
from promidata_sync.queue.leases import broker_lease
from promidata_sync.queue.registry import SUPPLIER, WEBHOOK, stage_of_actor, stage_of_item_kind
from promidata_sync.services import notifications, runs, webhooks
from promidata_sync.services.stock import stock_run_plan
from promidata_sync.services.work import SupplierWork, WebhookWork, Work, items_work

log = logging.getLogger(__name__)

LOST = (
    "lost: the broker no longer holds this message (Redis lost its data, or its worker died); "
    "the reconciler enqueued the work again"
)
OPEN_JOB_STATES = (Job.State.WAITING, Job.State.ACTIVE, Job.State.DELAYED)
# An "active" job record no worker has held for this long is stale (its worker died): long
# enough for a message between its fetch and its first record to be left alone.
STALE_ACTIVE_SECONDS = 10.0
# The line the reconciler adds to a run it resumes holds this (the metrics count them).
STALLED_NOTE = "the reconciler found this run stalled"
REQUEUED = "its worker died; the message is back on its queue"
# The reconciler's own lease, renewed while a pass runs: a supervisor killed mid-pass (a
# machine crash) blocks the next supervisor's reconciler only this long.
RECONCILE_LEASE_SECONDS = 10.0


@dataclass
class ReconcileReport:
    runs_reaped: list[int] = field(default_factory=list)
    runs_resumed: list[int] = field(default_factory=list)
    messages_sent: int = 0
    jobs_lost: int = 0
    jobs_released: int = 0
    webhooks_resumed: int = 0
    notifications_sent: int = 0
    skipped: str = ""  # why nothing was done (another reconciler holds the lease)

    def __str__(self) -> str:
        if self.skipped:
            return self.skipped
        text = (
            f"{len(self.runs_reaped)} dead run(s) finished, {len(self.runs_resumed)} stalled "
            f"run(s) resumed with {self.messages_sent} message(s); {self.jobs_lost} lost job(s)"
        )
        if self.webhooks_resumed:
            text += f"; {self.webhooks_resumed} overdue webhook delivery(ies) sent again"
        return text


def reconcile(*, stalled_after_seconds: float | None = None) -> ReconcileReport:
    """Finish dead runs and resume stalled queue runs (see the module docstring).

    Idempotent; safe to call from several processes at once (they take turns).
    """
    stalled_after = (
        settings.PROMIDATA_RECONCILE_AFTER_SECONDS
        if stalled_after_seconds is None
        else stalled_after_seconds
    )
    report = ReconcileReport()
    with broker_lease("reconcile", ttl_seconds=RECONCILE_LEASE_SECONDS) as held:
        if not held:
            report.skipped = "another reconciler is running"
            return report
        process_bound = SyncRun.objects.filter(state__in=SyncRun.ACTIVE_STATES).exclude(
            mode=SyncRun.Mode.QUEUE, owner_pid__isnull=True
        )
        for run in process_bound.order_by("pk"):
            if runs.run_reap_if_dead(run):
                report.runs_reaped.append(run.pk)
        if is_persistent():
            broker_maintenance()
            report.jobs_released = _release_stale_jobs()
            _resume_stalled(report, stalled_after)
        report.webhooks_resumed = _resume_webhooks(stalled_after)
        # Notifications whose send failed or was lost (bounded, never raises).
        report.notifications_sent = notifications.notifications_send_due()
    if (
        report.runs_reaped
        or report.runs_resumed
        or report.jobs_lost
        or report.jobs_released
        or report.webhooks_resumed
    ):
        log.warning("reconciler: %s", report)
    return report


def _resume_webhooks(overdue_seconds: float) -> int:
    """Webhook deliveries overdue this long (their message or process was lost) go out again:
    enqueued with Redis unless the broker still holds their message, sent here without. A
    problem with them is logged and never stops the reconciler."""
    try:
        if not is_persistent():
            return len(webhooks.deliver_due(webhooks.RESUME_BATCH, overdue_seconds=overdue_seconds))
        ids = webhooks.deliveries_overdue(overdue_seconds=overdue_seconds)
        open_jobs = Job.objects.filter(
            actor_name=WEBHOOK.actor_name, key__in=[str(i) for i in ids], state__in=OPEN_JOB_STATES
        ).values_list("key", "queue_name", "broker_ref")
        held = messages_held([(queue, ref) for _, queue, ref in open_jobs])
        # A message still in Redis (no webhooks worker runs, say) is not sent a second time.
        covered = {key for key, queue, ref in open_jobs if (queue, ref) in held}
        lost = [i for i in ids if str(i) not in covered]
        dispatch.enqueue(WebhookWork(delivery_id=i) for i in lost)
        return len(lost)
    except Exception:
        log.exception("reconciler: overdue webhook deliveries could not be resumed")
        return 0


def _item_keys(actor_name: str, args) -> list[str]:
    """The run items an open job's message works on (the stage's job-key rule)."""
    stage = stage_of_actor(actor_name)
    if stage is None or not isinstance(args, dict):
        return []
    return stage.item_keys(args)


def _release_stale_jobs() -> int:
    """Job records that say "active" although no worker holds their message (its worker died)
    say what is true again: "waiting" when the broker's maintenance put the message back on
    its queue, "failed" (lost) when the broker no longer has it (its item stays pending, and
    is re-sent once its run stalls). Return how many records changed."""
    cutoff = timezone.now() - timedelta(seconds=STALE_ACTIVE_SECONDS)
    active = list(
        Job.objects.filter(state=Job.State.ACTIVE, updated_at__lt=cutoff).values_list(
            "pk", "queue_name", "broker_ref", "worker"
        )
    )
    if not active:
        return 0
    running = messages_running([(ref, worker) for _, _, ref, worker in active])
    stale = [(pk, queue, ref) for pk, queue, ref, _ in active if ref not in running]
    held = messages_held([(queue, ref) for _, queue, ref in stale])
    waiting = [pk for pk, queue, ref in stale if (queue, ref) in held]
    lost = [pk for pk, queue, ref in stale if (queue, ref) not in held]
    # ``updated_at`` is left alone: it tells the run's last progress, and this is none.
    changed = Job.objects.filter(pk__in=waiting, state=Job.State.ACTIVE).update(
        state=Job.State.WAITING, error=REQUEUED
    )
    changed += Job.objects.filter(pk__in=lost, state=Job.State.ACTIVE).update(
        state=Job.State.FAILED, error=LOST, finished_at=timezone.now()
    )
    return changed


def _resume_stalled(report: ReconcileReport, stalled_after: float) -> None:
    cutoff = timezone.now() - timedelta(seconds=stalled_after)
    queue_runs = SyncRun.objects.filter(
        state__in=SyncRun.ACTIVE_STATES, mode=SyncRun.Mode.QUEUE, owner_pid__isnull=True
    ).select_related("supplier")
    for run in queue_runs:
        if _last_progress(run) > cutoff:
            continue
        sent, lost = _resume(run)
        if sent:
            report.runs_resumed.append(run.pk)
            report.messages_sent += sent
        report.jobs_lost += lost


def _last_progress(run: SyncRun):
    """When anything last happened to the run: an item or a job changed, or it started."""
    item = run.items.aggregate(last=Max("updated_at"))["last"]
    job = run.jobs.aggregate(last=Max("updated_at"))["last"]
    return max(filter(None, [item, job, run.started_at, run.created_at]))


def _resume(run: SyncRun) -> tuple[int, int]:
    """Send again the run's pending work that no held message covers; return (messages sent,
    job records marked lost)."""
    open_jobs = list(
        run.jobs.filter(state__in=OPEN_JOB_STATES).values_list(
            "pk", "actor_name", "args", "queue_name", "broker_ref"
        )
    )
    held = messages_held([(queue, ref) for _, _, _, queue, ref in open_jobs])
    covered = {
        (actor, key)
        for _, actor, args, queue, ref in open_jobs
        if (queue, ref) in held
        for key in _item_keys(actor, args)
    }
    lost = [pk for pk, _, _, queue, ref in open_jobs if (queue, ref) not in held]
    if lost:
        Job.objects.filter(pk__in=lost).update(
            state=Job.State.FAILED, error=LOST, finished_at=timezone.now()
        )
    works: list[Work]
    if run.planned_at is None and run.kind == SyncRun.Kind.STOCK:
        # Its starter died between creating and planning it: a stock run is planned from
        # the catalog, so plan it here (never by the supplier stage, which reads the index).
        stock_run_plan(run)
        run.planned_at = timezone.now()
    if run.planned_at is None:
        works = [] if (SUPPLIER.actor_name, str(run.pk)) in covered else [SupplierWork(run.pk)]
    else:
        pending = run.items.filter(state=SyncItem.State.PENDING).values_list(
            "kind", "key", "url", "token"
        )
        uncovered = [
            (kind, key, url, token)
            for kind, key, url, token in pending.iterator()
            if (stage := stage_of_item_kind(kind)) is not None
            and (stage.actor_name, key) not in covered
        ]
        works = list(items_work(run.pk, run.supplier_id, uncovered))
    dispatch.enqueue(works)
    if works or lost:
        runs.run_append_message(
            run.pk,
            f"{timezone.now():%Y-%m-%d %H:%M:%S %Z}: {STALLED_NOTE} "
            f"and enqueued {len(works)} job(s) again ({len(lost)} lost)",
        )
        notifications.notify_run_reconciled(
            run, f"the reconciler enqueued {len(works)} job(s) again ({len(lost)} lost)"
        )
    if not works and runs.run_finish_if_complete(run.pk):
        log.info("reconciler: sync #%s had nothing pending and is finished", run.pk)
    return len(works), len(lost)
