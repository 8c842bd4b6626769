"""Operating syncs: start, stop, retry, and the queue's statistics and a job's status.

What the admin, the commands and the HTTP API call (the public service API, with the names
carried over from the old system: ``start_sync``, ``get_job_status``, ``get_queue_stats``,
``sync_supplier_direct``). Each returns plain data in the shapes the old system returned, in
snake_case. This module sits above the queue: it creates runs (``services.runs``) and hands
their work to direct mode (``services.direct``) or to the queue (``queue.dispatch``).
"""

from __future__ import annotations

import logging
from collections import Counter

from django.db import IntegrityError, transaction
from django.db.models import Count

from catalog.models import Supplier
from promidata_sync.conf import SyncConfig
from promidata_sync.errors import describe
from promidata_sync.fetching import Fetcher
from promidata_sync.models import Job, SyncItem, SyncRun
from promidata_sync.queue import dispatch
from promidata_sync.queue.broker import (
    broker_check,
    broker_counts,
    ensure_in_process_worker,
    is_persistent,
)
from promidata_sync.queue.registry import QUEUE_NAMES, STOCK, SUPPLIER
from promidata_sync.services import exclusions, pauses, reimport, runs
from promidata_sync.services.direct import (
    retry_items_direct,
    sync_direct,
    sync_stock_direct,
    sync_supplier_direct,
)
from promidata_sync.services.feed_index import FeedUnreadable, index_fetch, suppliers_ensure
from promidata_sync.services.jobs import get_job_status
from promidata_sync.services.notifications import notify_feed_unreadable
from promidata_sync.services.run_owners import owner_is_gone, run_claim
from promidata_sync.services.steps.supplier import pending_work
from promidata_sync.services.stock import (
    StockNotConfigured,
    stock_run_plan,
    stock_template_check,
)
from promidata_sync.services.supplier_codes import did_you_mean, supplier_by_code
from promidata_sync.services.work import SupplierWork, Work, items_work

__all__ = [
    "StockNotConfigured",
    "UnknownSupplier",
    "get_job_status",
    "get_queue_stats",
    "reimport_families",
    "retry_failed",
    "run_status",
    "start_stock_sync",
    "start_sync",
    "stop_sync",
    "sync_supplier_direct",
]

log = logging.getLogger(__name__)


class UnknownSupplier(ValueError):
    """No supplier with that code (or id) exists."""


def start_sync(
    supplier: Supplier | str | None = None,
    use_queue: bool = True,
    *,
    trigger: str = SyncRun.Trigger.API,
    force: bool = False,
    refetch_all: bool = False,
) -> dict:
    """Start a sync of one supplier, or of every active supplier when ``supplier`` is None.

    Queue mode returns at once with one job per supplier; a supplier that already has an
    active run gets that run back (``status: "already_running"``) instead of a second one,
    across processes and machines. Direct mode runs to the end in this process.

    Returns ``{"success", "mode", "runs": [run ids], "jobs": [{"job_id", "queue_name",
    "status", "run_id", "supplier"}], "message"}``. Raises ``UnknownSupplier`` and
    ``BrokerUnavailable`` (with a clear message), and ``pauses.SyncPaused`` when
    everything, or every supplier asked for, is paused (paused suppliers of an "every
    supplier" sync are left out and named in the message).
    """
    if use_queue:
        broker_check()  # before anything else: one clear line if Redis is down
    pauses.sync_pause_check([])  # everything paused: SyncPaused before any index read
    suppliers = _suppliers_for(supplier)
    allowed = set(pauses.sync_pause_check([s.code for s in suppliers]) or [])
    skipped = [s.code for s in suppliers if s.code not in allowed]
    suppliers = [s for s in suppliers if s.code in allowed]
    if not use_queue:
        report = sync_direct(
            [s.code for s in suppliers] if supplier is not None or skipped else None,
            force=force,
            refetch_all=refetch_all,
            trigger=trigger,
        )
        return {
            "success": report.ok,
            "mode": SyncRun.Mode.DIRECT,
            "runs": [r.pk for r in report.runs],
            "jobs": [],
            "message": report.index_error or "; ".join(report.errors),
        }
    ensure_in_process_worker()
    jobs, run_ids = [], []
    for each in suppliers:
        jobs.append(_enqueue_supplier(each, trigger=trigger, force=force, refetch_all=refetch_all))
        run_ids.append(jobs[-1]["run_id"])
    return {
        "success": True,
        "mode": SyncRun.Mode.QUEUE,
        "runs": run_ids,
        "jobs": jobs,
        "message": f"{sum(j['status'] == 'queued' for j in jobs)} sync(s) queued"
        + (f"; paused, not started: {', '.join(skipped)}" if skipped else ""),
    }


def _suppliers_for(supplier: Supplier | str | None) -> list[Supplier]:
    if isinstance(supplier, Supplier):
        return [supplier]
    if supplier is not None:
        found = supplier_by_code(supplier)
        if found is None:
            _discover_suppliers()  # a supplier new to the feed is not stored yet
            found = supplier_by_code(supplier)
        if found is None:
            raise UnknownSupplier(
                f"unknown supplier {supplier!r} (not in Import.txt either)" + did_you_mean(supplier)
            )
        return [found]
    _discover_suppliers()
    return list(Supplier.objects.filter(is_active=True).order_by("code"))


def _discover_suppliers() -> None:
    """Create the suppliers Import.txt names (a new profile has none stored yet)."""
    config = SyncConfig.from_settings()
    try:
        index = index_fetch(config=config, fetcher=Fetcher(config))
    except FeedUnreadable as exc:
        # No run exists yet to say so: the operator is told all the same, then the caller.
        notify_feed_unreadable(describe(exc))
        raise
    suppliers_ensure(index.supplier_codes())


def _enqueue_supplier(
    supplier: Supplier,
    *,
    trigger: str,
    force: bool,
    refetch_all: bool,
    skus: list[str] | None = None,
):
    try:
        run = runs.run_create(
            supplier=supplier, trigger=trigger, mode=SyncRun.Mode.QUEUE, force=force, skus=skus
        )
    except runs.RunAlreadyActive as exc:
        job = exc.run.jobs.filter(actor_name=SUPPLIER.actor_name).order_by("-id").first()
        return {
            "job_id": job.job_id if job else "",
            "queue_name": SUPPLIER.queue_name,
            "status": "already_running",
            "run_id": exc.run.pk,
            "supplier": supplier.code,
        }
    if refetch_all:
        runs.run_set(run.pk, refetch_all=True)
    if not is_persistent():
        run_claim(run)  # its queue lives in this process and dies with it
    (message,) = dispatch.enqueue([SupplierWork(run.pk)])
    return {
        "job_id": message.message_id,
        "queue_name": SUPPLIER.queue_name,
        "status": "queued",
        "run_id": run.pk,
        "supplier": supplier.code,
    }


def reimport_families(
    skus: list[str],
    use_queue: bool = True,
    *,
    trigger: str = SyncRun.Trigger.MANUAL,
    progress=None,
) -> dict:
    """Re-import the families ``skus`` name (family or variant SKUs) now, whatever their
    stored hashes: one run per supplier of its own, limited to those families
    (``SyncRun.skus``), running the same steps as a sync, in either mode.

    Returns ``start_sync``'s shape plus ``families`` (``{supplier code: [family sku]}``),
    and in direct mode the ``SyncReport`` under ``report``. A supplier whose sync is already
    running keeps it (its job says ``already_running``: nothing extra is re-imported). Raises
    ``reimport.UnknownSku`` (with suggestions) and ``exclusions.ExcludedFamilies`` before
    anything starts, ``TooManySkus``,
    ``BrokerUnavailable``, ``FeedUnreadable`` and ``pauses.SyncPaused`` (everything paused).
    """
    if use_queue:
        broker_check()
    pauses.sync_pause_check([])  # everything paused: nothing re-imported either
    config = SyncConfig.from_settings()
    chosen = reimport.families_for_skus(
        skus, read_index=lambda: index_fetch(config=config, fetcher=Fetcher(config))
    )
    for supplier, family_skus in chosen.by_supplier.items():
        exclusions.exclusions_check_skus(supplier, family_skus)  # an exclusion wins
    by_code = {supplier.code: skus for supplier, skus in chosen.by_supplier.items()}
    if not use_queue:
        report = sync_direct(list(by_code), trigger=trigger, skus=by_code, progress=progress)
        return {
            "success": report.ok,
            "mode": SyncRun.Mode.DIRECT,
            "runs": [r.pk for r in report.runs],
            "jobs": [],
            "families": by_code,
            "message": report.index_error or "; ".join(report.errors),
            "report": report,
        }
    ensure_in_process_worker()
    jobs = [
        _enqueue_supplier(
            supplier, trigger=trigger, force=False, refetch_all=False, skus=family_skus
        )
        for supplier, family_skus in chosen.by_supplier.items()
    ]
    queued = sum(j["status"] == "queued" for j in jobs)
    return {
        "success": True,
        "mode": SyncRun.Mode.QUEUE,
        "runs": [j["run_id"] for j in jobs],
        "jobs": jobs,
        "families": by_code,
        "message": f"re-import of {chosen.count} famil{'y' if chosen.count == 1 else 'ies'} "
        f"queued in {queued} run(s)",
    }


def start_stock_sync(
    supplier: Supplier | str | None = None,
    use_queue: bool = True,
    *,
    trigger: str = SyncRun.Trigger.API,
) -> dict:
    """Read the stock levels of one supplier's active families, or of every active
    supplier's: one stock run (kind "stock") per supplier, beside its catalog runs.

    Queue mode plans each run here (one stock item per active family) and enqueues its
    ``stock-sync`` jobs after the commit; direct mode runs them in this process. A supplier
    with a stock run going gets that run back (``status: "already_running"``). Returns the
    shape of ``start_sync``. Raises ``StockNotConfigured`` (stock is off: nothing created),
    ``UnknownSupplier``, ``BrokerUnavailable`` and ``pauses.SyncPaused`` (everything, or
    every supplier asked for, is paused; paused suppliers are left out otherwise). Reads no
    index: the catalog says which families there are.
    """
    config = SyncConfig.from_settings()
    stock_template_check(config)
    if use_queue:
        broker_check()
    pauses.sync_pause_check([])  # everything paused: no stock run either
    suppliers = _known_suppliers(supplier)
    allowed = set(pauses.sync_pause_check([s.code for s in suppliers]) or [])
    suppliers = [s for s in suppliers if s.code in allowed]
    if not use_queue:
        run_ids, errors = [], []
        for each in suppliers:
            try:
                run = sync_stock_direct(each, config=config, trigger=trigger)
            except runs.RunAlreadyActive as exc:
                errors.append(f"{each.code}: skipped, stock run #{exc.run.pk} is still active")
                continue
            run_ids.append(run.pk)
            if run.state != SyncRun.State.COMPLETED:
                errors.append(f"{each.code}: stock run #{run.pk} {run.get_state_display()}")
        return {
            "success": not errors,
            "mode": SyncRun.Mode.DIRECT,
            "runs": run_ids,
            "jobs": [],
            "message": "; ".join(errors),
        }
    ensure_in_process_worker()
    jobs, run_ids = [], []
    for each in suppliers:
        try:
            run = runs.run_create(
                supplier=each, trigger=trigger, mode=SyncRun.Mode.QUEUE, kind=SyncRun.Kind.STOCK
            )
        except runs.RunAlreadyActive as exc:
            run_ids.append(exc.run.pk)
            jobs.append(_job_row("", "already_running", exc.run.pk, each.code))
            continue
        if not is_persistent():
            run_claim(run)
        with transaction.atomic():
            runs.run_mark_running(run)
            stock_run_plan(run)
            messages = dispatch.enqueue(pending_work(run))
        if not messages:  # a supplier with no active family: nothing to wait for
            runs.run_finish(run)
        run_ids.append(run.pk)
        jobs += [_job_row(m.message_id, "queued", run.pk, each.code) for m in messages]
    return {
        "success": True,
        "mode": SyncRun.Mode.QUEUE,
        "runs": run_ids,
        "jobs": jobs,
        "message": f"{len(run_ids)} stock run(s) started",
    }


def _known_suppliers(supplier: Supplier | str | None) -> list[Supplier]:
    """The supplier named, or every active one; stock needs no index to find them."""
    if isinstance(supplier, Supplier):
        return [supplier]
    if supplier is not None:
        found = supplier_by_code(supplier)
        if found is None:
            raise UnknownSupplier(f"unknown supplier {supplier!r}" + did_you_mean(supplier))
        return [found]
    return list(Supplier.objects.filter(is_active=True).order_by("code"))


def _job_row(job_id: str, status: str, run_id: int, code: str) -> dict:
    return {
        "job_id": job_id,
        "queue_name": STOCK.queue_name,
        "status": status,
        "run_id": run_id,
        "supplier": code,
    }


def get_queue_stats(queue_name: str | None = None) -> dict:
    """Counts of one queue, or of all three with their sum under ``"total"``.

    waiting, active, delayed and dead come from the broker; completed and failed from the
    job records; total adds them all up.
    """
    names = [queue_name] if queue_name else list(QUEUE_NAMES)
    finished = {
        (row["queue_name"], row["state"]): row["n"]
        for row in Job.objects.filter(queue_name__in=names, state__in=Job.FINAL_STATES)
        .values("queue_name", "state")
        .annotate(n=Count("id"))
    }
    per_queue = {}
    for name in names:
        stats = broker_counts(name)
        stats["completed"] = finished.get((name, Job.State.COMPLETED), 0)
        stats["failed"] = finished.get((name, Job.State.FAILED), 0)
        stats["total"] = sum(stats.values())
        per_queue[name] = stats
    if queue_name:
        return {"queue_name": queue_name, **per_queue[queue_name]}
    total = {key: sum(stats[key] for stats in per_queue.values()) for key in per_queue[names[0]]}
    return {"queues": per_queue, "total": total}


def stop_sync(run: SyncRun) -> SyncRun:
    """Ask a run to stop. Queue runs end now (jobs still waiting will skip their work), and
    so does a direct run whose process is gone; a live direct run stops between two
    families, in the process that runs it."""
    SyncRun.objects.filter(pk=run.pk, finished_at__isnull=True).update(stop_requested=True)
    run.refresh_from_db()
    if run.finished_at:
        return run
    if run.mode == SyncRun.Mode.QUEUE or run.state == SyncRun.State.QUEUED or owner_is_gone(run):
        return runs.run_finish(run)
    return run


def retry_failed(run: SyncRun, use_queue: bool = True, *, keys: list[str] | None = None) -> dict:
    """Run the failed families and images of ``run`` again, on the same run: the same steps
    as the first time, driven by direct mode or by the queue. ``keys`` limits it to those
    items (a family SKU, image URLs: "retry one family", "retry one job").

    Idempotent: only items that are failed when their rows are locked go back to pending and
    are enqueued, so a second click (or two at once) queues nothing more.

    A finished run is reopened (unless its supplier has another active run, which raises
    ``RunAlreadyActive``); its failed items go back to pending, and the run ends again when
    they have. A run that failed before planning (unreadable feed) re-runs its supplier step.
    Does nothing for a run ``runs.run_retryable`` says has nothing to retry.
    Returns ``{"run_id", "families", "images", "replanned", "jobs": [...]}``.
    """
    if use_queue:
        broker_check()  # before touching the run: never leave it reopened with nothing queued
    nothing = {"run_id": run.pk, "families": 0, "images": 0, "replanned": False, "jobs": []}
    if not runs.run_retryable(run):
        return nothing
    if (
        keys is not None
        and not run.items.filter(state=SyncItem.State.FAILED, key__in=keys).exists()
    ):
        return nothing
    replan = run.planned_at is None  # the supplier step itself failed (unreadable feed)
    if replan and run.kind == SyncRun.Kind.STOCK:
        stock_template_check(SyncConfig.from_settings())  # before reopening anything
    run = _reopen(run, mode=SyncRun.Mode.QUEUE if use_queue else SyncRun.Mode.DIRECT)
    if not use_queue or not is_persistent():
        run_claim(run)  # worked on in this process
    failed = run.items.filter(state=SyncItem.State.FAILED)
    if keys is not None:
        failed = failed.filter(key__in=keys)
    with transaction.atomic():
        # Locked: a concurrent retry waits here, then finds nothing failed to take.
        locked = list(failed.select_for_update().values_list("pk", "kind", "key", "url", "token"))
        items = [row[1:] for row in locked]
        failed = run.items.filter(pk__in=[row[0] for row in locked])
        per_kind = Counter(kind for _, kind, *_ in locked)
        failed.update(state=SyncItem.State.PENDING)
        uncounted: dict[str, int] = {}
        for kind, n in per_kind.items():
            failed_field = runs.ITEM_COUNTERS[SyncItem.Kind(kind)][2]
            uncounted[failed_field] = uncounted.get(failed_field, 0) - n
        runs.run_add(run.pk, **uncounted)
    works: list[Work] = []
    if replan and run.kind == SyncRun.Kind.STOCK:
        stock_run_plan(run)  # a stock run is planned from the catalog, here
        items = list(
            run.items.filter(state=SyncItem.State.PENDING).values_list(
                "kind", "key", "url", "token"
            )
        )
    elif replan:
        works.append(SupplierWork(run.pk))
    works += items_work(run.pk, run.supplier_id, items)
    if not works:  # a concurrent retry took them all: end the run if nothing else is left
        runs.run_finish_if_complete(run.pk)
        return nothing
    jobs = []
    if use_queue:
        ensure_in_process_worker()
        jobs = [
            {
                "job_id": m.message_id,
                "queue_name": m.queue_name,
                "status": "queued",
                "run_id": run.pk,
            }
            for m in dispatch.enqueue(works)
        ]
    else:
        retry_items_direct(run, works)
    families = sum(1 for kind, *_ in items if kind != SyncItem.Kind.IMAGE)
    return {
        "run_id": run.pk,
        "families": families,
        "images": len(items) - families,
        "replanned": replan,
        "jobs": jobs,
    }


def _reopen(run: SyncRun, *, mode: str) -> SyncRun:
    try:
        with transaction.atomic():
            run = SyncRun.objects.select_for_update().get(pk=run.pk)
            if run.finished_at:
                run.state = SyncRun.State.RUNNING
                run.finished_at = None
                run.stop_requested = False
                run.mode = mode
                # A reopened queue run on Redis belongs to no process; a direct one is
                # claimed again by the caller.
                run.owner_host, run.owner_pid = "", None
                run.save(
                    update_fields=[
                        "state",
                        "finished_at",
                        "stop_requested",
                        "mode",
                        "owner_host",
                        "owner_pid",
                    ]
                )
    except IntegrityError:
        active = SyncRun.objects.filter(
            supplier_id=run.supplier_id, kind=run.kind, state__in=SyncRun.ACTIVE_STATES
        ).first()
        raise runs.RunAlreadyActive(active) from None
    return run


def run_status(run: SyncRun) -> dict:
    """A run as plain data (for the JSON API and ``--wait``)."""
    run.refresh_from_db()
    return {
        "run_id": run.pk,
        "supplier": run.supplier.code,
        "state": run.state,
        "mode": run.mode,
        "kind": run.kind,
        "trigger": run.trigger,
        "families": {
            "total": run.families_total,
            "done": run.families_done,
            "failed": run.families_failed,
        },
        "images": {
            "total": run.images_total,
            "done": run.images_done,
            "failed": run.images_failed,
        },
        "summary": run.summary,
        "message": run.message,
        "started_at": run.started_at.isoformat() if run.started_at else None,
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
    }
