"""The stock step: read the stock levels of a few families of a stock run.

``fetch_stock`` is the network half (thread-safe, no database): every variant of one family,
one conditional request each. ``apply_stock`` writes what it brought in one transaction per
family (``services.stock.stock_write_family``) and decides the family's item: done when
every variant was read (200 or 304), failed for good when one failed for good (a 404, a
broken answer), failed for now when one failed for now (a timeout, a 5xx, a 429: the family
is written as far as it was read, its item stays pending and the job is retried).
``sync_stock`` is both halves for each family of a work record still to do, as a queue job
or a retry runs them.
"""

from __future__ import annotations

from promidata_sync.conf import SyncConfig
from promidata_sync.fetching import Fetcher
from promidata_sync.models import SyncItem, SyncRun
from promidata_sync.services import runs
from promidata_sync.services.steps import failure, open_run, report_progress
from promidata_sync.services.stock import (
    FamilyToRead,
    Reading,
    StockNotConfigured,
    families_to_read,
    family_error,
    read_family,
    stock_item_fail,
    stock_template_check,
    stock_write_family,
)
from promidata_sync.services.work import Outcome, StockWork

NOT_IN_CATALOG = "family is no longer active in the catalog: no stock read"


def fetch_stock(family: FamilyToRead, *, config: SyncConfig, fetcher: Fetcher) -> list[Reading]:
    """Read every variant of ``family``; never raises (each variant's error is its reading's)."""
    return read_family(family, config=config, fetcher=fetcher)


def apply_stock(run_id: int, family: FamilyToRead, readings: list[Reading]) -> Outcome:
    """Write one family's readings and account for its item (see the module docstring): a
    failure for good is recorded on the item before this returns."""
    transient = [r for r in readings if not r.ok and not r.permanent]
    try:
        written = stock_write_family(run_id, family, readings, record_item=not transient)
        if transient:
            error = family_error(readings)
            runs.item_note_error(run_id, kind=SyncItem.Kind.STOCK, key=family.sku, error=error)
            return Outcome.failed(error, permanent=False)
    except Exception as exc:  # the family's transaction was rolled back whole
        outcome = failure(f"stock of {family.sku}", exc)
        if outcome.permanent:  # nothing was recorded: say so on its item now
            stock_item_fail(run_id, family.sku, outcome.error, permanent=True)
        return outcome
    result = {
        "family_sku": family.sku,
        "total": written.total,
        "read": written.read,
        "not_modified": written.not_modified,
        "failed": written.failed,
    }
    if written.failed:
        return Outcome.failed(family_error(readings), permanent=True)
    return Outcome.done(result)


def sync_stock(work: StockWork, *, config: SyncConfig, fetcher: Fetcher) -> Outcome:
    """Both halves for each family of the work still to do on an open run."""
    try:
        run = open_run(work.run_id)
        if run is None:
            return Outcome.skipped("run finished or stopped")
        stock_template_check(config)
        todo = list(runs.items_to_do(work.run_id, kind=SyncItem.Kind.STOCK, keys=work.family_skus))
        families = families_to_read(run, todo)
    except StockNotConfigured as exc:
        return Outcome.failed(str(exc), permanent=True)
    except Exception as exc:
        return failure(f"stock of sync #{work.run_id}", exc)
    retry: list[str] = []
    done = []
    for number, sku in enumerate(todo, start=1):
        report_progress("stock", round(100 * number / max(1, len(todo))))
        outcome = family_outcome(run, sku, families.get(sku), config=config, fetcher=fetcher)
        if outcome.status == "done":
            done.append(outcome.result)
        elif not outcome.permanent:
            retry.append(outcome.error)
    if retry:
        return Outcome.failed(
            f"{len(retry)} of {len(todo)} famil(ies) failed for now, e.g. {retry[0]}",
            permanent=False,
        )
    return Outcome.done({"families": done, "skipped_settled": len(work.family_skus) - len(todo)})


def family_outcome(
    run: SyncRun,
    sku: str,
    family: FamilyToRead | None,
    *,
    config: SyncConfig,
    fetcher: Fetcher,
    readings: list[Reading] | None = None,
) -> Outcome:
    """One family of a stock run: read (unless ``readings`` are given) and written. A failure
    for good is on its item when this returns; one for now is left to the retry (or to
    ``give_up``)."""
    if family is None:
        stock_item_fail(run.pk, sku, NOT_IN_CATALOG, permanent=True)
        return Outcome.failed(NOT_IN_CATALOG, permanent=True)
    if readings is None:
        readings = fetch_stock(family, config=config, fetcher=fetcher)
    return apply_stock(run.pk, family, readings)


def give_up(work: StockWork, error: str, *, permanent: bool) -> None:
    """No retry will come: every family of the work still to do fails on its run, with its
    own last error when it had one (else the job's)."""
    todo = runs.items_to_do(work.run_id, kind=SyncItem.Kind.STOCK, keys=work.family_skus)
    for sku, noted in todo.items():
        stock_item_fail(work.run_id, sku, noted or error, permanent=permanent)
