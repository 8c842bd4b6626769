"""The supplier step: plan one supplier's run from the index.

Reads Import.txt (and CAT.csv) unless the driver read it already for several suppliers,
compares hashes before any family is fetched (``planning.run_plan``), plans the images
earlier runs could not store, and returns the run's pending families and images as
follow-up work. Idempotent: a second delivery re-plans (families written meanwhile are
unchanged by then) and returns only what is still pending.
"""

from __future__ import annotations

from promidata_sync.conf import SyncConfig
from promidata_sync.feed import ImportIndex
from promidata_sync.fetching import Fetcher
from promidata_sync.models import SyncItem, SyncRun
from promidata_sync.services import runs
from promidata_sync.services.feed_index import categories_sync, index_fetch
from promidata_sync.services.media import images_missing_for_supplier
from promidata_sync.services.planning import run_plan
from promidata_sync.services.steps import failure, open_run, report_progress
from promidata_sync.services.work import (
    FamilyWork,
    ImageWork,
    Outcome,
    StockWork,
    SupplierWork,
    items_work,
)


def plan_supplier(
    work: SupplierWork,
    *,
    config: SyncConfig,
    fetcher: Fetcher,
    index: ImportIndex | None = None,
) -> Outcome:
    """Plan the run; done with its pending families and images as follow-ups, or failed
    (an unreadable feed, the database gone) with nothing planned."""
    run = open_run(work.run_id)
    if run is None:
        return Outcome.skipped("run finished or stopped")
    if run.kind != SyncRun.Kind.CATALOG:  # a stock run is planned from the catalog
        error = f"sync #{run.pk} is a {run.kind} run: not planned here"
        return Outcome.failed(error, permanent=True)
    supplier = run.supplier
    try:
        runs.run_mark_running(run)
        if index is None:
            report_progress("parsing_import", 10)
            index = index_fetch(config=config, fetcher=fetcher)
            categories_sync(index, config=config, fetcher=fetcher)
        report_progress("hash_check", 60)
        plan = run_plan(
            run, supplier, index, mass_deactivation_ratio=config.mass_deactivation_ratio
        )
        # Planned (and the run marked planned) before any follow-up is sent, so the last
        # piece of work to end can tell the run is over.
        # A full sync also takes the images earlier runs could not store; a re-import of
        # chosen families only theirs.
        leftovers = [] if run.skus else images_missing_for_supplier(supplier.pk)
        runs.items_plan(run.pk, kind=SyncItem.Kind.IMAGE, items=[(u, u, "") for u in leftovers])
        report_progress("enqueueing_families", 70)
        follow_ups = pending_work(run)
    except Exception as exc:
        return failure(f"planning sync #{run.pk} of {supplier.code}", exc)
    families = sum(1 for w in follow_ups if isinstance(w, FamilyWork))
    images = sum(len(w.urls) for w in follow_ups if isinstance(w, ImageWork))
    return Outcome.done(
        {
            "supplier": supplier.code,
            "entries": plan.entries,
            "families_enqueued": families,
            "images_enqueued": images,
            "unchanged": plan.unchanged,
            "deactivated": len(plan.deactivate) + len(plan.excluded_deactivate),
            "excluded": len(plan.excluded),
            "refused": plan.refusal,
        },
        follow_ups=tuple(follow_ups),
    )


def pending_work(run: SyncRun) -> list[FamilyWork | ImageWork | StockWork]:
    """The work that finishes the run's pending items: families first, then images (a
    stock run has stock items only)."""
    pending = (
        run.items.filter(state=SyncItem.State.PENDING)
        .exclude(kind=SyncItem.Kind.INDEX)
        .order_by("kind", "pk")  # "family" < "image": families first
    )
    return items_work(
        run.pk, run.supplier_id, pending.values_list("kind", "key", "url", "token").iterator()
    )


def give_up(work: SupplierWork, error: str, *, permanent: bool) -> None:
    """No retry will come: a run that was never planned ends as failed, with the reason. A
    planned one ends with its items (the reconciler re-sends any the broker lost)."""
    run = SyncRun.objects.filter(pk=work.run_id).first()
    if run is not None and run.planned_at is None:
        runs.run_finish(run, failed_reason=error)
