"""Direct mode: a driver of the pipeline's steps in one process, no broker.

It drives the same steps as the queue's actors (``services.steps``), in the same order: plan
a supplier (no fetch for unchanged families), fetch changed families with bounded concurrency
while this thread writes them, then download the images they and earlier runs left to do.
Network work runs in threads; all database work stays in the calling thread (which also
suits SQLite). What the driver adds is only the driving: threads, progress, stop checks, and
giving up on a failure at once (direct mode does not retry; the run page's Retry does).

Failures are contained where they happen: a step classifies whatever one family or image
raised and the driver records it on its item (the step's ``give_up``), and the sync goes on;
whatever stops one supplier finishes its run as failed and the next supplier starts.
Tracebacks of unexpected errors go to the log (masked), never to the caller.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Protocol

from catalog.models import Supplier
from promidata_sync.concurrency import bounded_map
from promidata_sync.conf import SyncConfig
from promidata_sync.errors import describe
from promidata_sync.feed import ImportIndex, MalformedLine
from promidata_sync.fetching import Fetcher
from promidata_sync.models import SyncItem, SyncRun
from promidata_sync.services import runs
from promidata_sync.services.feed_index import (
    FeedUnreadable,
    categories_sync,
    index_fetch,
    suppliers_ensure,
)
from promidata_sync.services.media import image_validators, images_missing_for_supplier
from promidata_sync.services.notifications import notify_feed_unreadable
from promidata_sync.services.run_owners import run_claim
from promidata_sync.services.steps import failure
from promidata_sync.services.steps import family as family_step
from promidata_sync.services.steps import image as image_step
from promidata_sync.services.steps import stock as stock_step
from promidata_sync.services.steps import supplier as supplier_step
from promidata_sync.services.stock import (
    FamilyToRead,
    StockNotConfigured,
    families_to_read,
    stock_run_plan,
    stock_template_check,
)
from promidata_sync.services.supplier_codes import did_you_mean, suppliers_by_codes
from promidata_sync.services.work import (
    FamilyWork,
    ImageWork,
    Outcome,
    StockWork,
    SupplierWork,
    Work,
    image_batches,
)

log = logging.getLogger(__name__)

STOP_CHECK_SECONDS = 1.0


class Progress(Protocol):
    """What the sync reports as it goes (the command draws a bar from it)."""

    def start(self, label: str, total: int) -> None: ...
    def advance(self, n: int = 1) -> None: ...
    def finish(self) -> None: ...


class NoProgress:
    def start(self, label: str, total: int) -> None:
        pass

    def advance(self, n: int = 1) -> None:
        pass

    def finish(self) -> None:
        pass


@dataclass
class SyncReport:
    """The outcome of a direct sync of one or more suppliers."""

    runs: list[SyncRun] = field(default_factory=list)
    index_error: str = ""
    errors: list[str] = field(default_factory=list)  # problems outside any run
    malformed_lines: int = 0
    malformed: list[MalformedLine] = field(default_factory=list)  # raw text: mask to show
    duplicate_lines: int = 0
    categories: int = 0
    categories_error: str = ""
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return (
            not self.index_error
            and not self.errors
            and all(r.state == SyncRun.State.COMPLETED for r in self.runs)
        )


def sync_direct(
    codes: list[str] | None = None,
    *,
    force: bool = False,
    refetch_all: bool = False,
    trigger: str = SyncRun.Trigger.COMMAND,
    config: SyncConfig | None = None,
    progress: Progress | None = None,
    skus: dict[str, list[str]] | None = None,
) -> SyncReport:
    """Sync the given supplier codes (default: every active supplier) in this process.
    ``skus`` (``{code: [family sku, ...]}``) makes each of those runs a re-import of just
    those families, whatever their hashes (``planning``).

    Reads Import.txt and CAT.csv once for all suppliers. Never raises (but for
    ``KeyboardInterrupt``): an unreadable feed, or anything that breaks before the first
    supplier, is ``report.index_error``; a supplier that cannot even start is a line of
    ``report.errors``; everything else is in the runs' records.
    """
    started = time.monotonic()
    config = config or SyncConfig.from_settings()
    fetcher = Fetcher(config)
    report = SyncReport()
    try:
        index = index_fetch(config=config, fetcher=fetcher)
        report.malformed_lines = len(index.malformed)
        report.malformed = list(index.malformed)
        report.duplicate_lines = index.duplicate_lines
        categories = categories_sync(index, config=config, fetcher=fetcher)
        report.categories, report.categories_error = categories.categories, categories.error
        suppliers_ensure(index.supplier_codes())
        selected = list(_select_suppliers(index, codes))
    except Exception as exc:
        if not isinstance(exc, FeedUnreadable):
            log.exception("direct sync could not start")
        report.index_error = describe(exc)
        _fail_requested_runs(report, codes, trigger, force, skus or {})
        if isinstance(exc, FeedUnreadable) and not report.runs:  # else each run says so
            notify_feed_unreadable(report.index_error)
        report.seconds = time.monotonic() - started
        return report
    for supplier, error in selected:
        if error:
            report.errors.append(error)
            continue
        try:
            run = sync_supplier_direct(
                supplier,
                index=index,
                config=config,
                fetcher=fetcher,
                force=force,
                refetch_all=refetch_all,
                trigger=trigger,
                progress=progress,
                skus=(skus or {}).get(supplier.code),
            )
        except runs.RunAlreadyActive as exc:
            report.errors.append(f"{supplier.code}: skipped, sync #{exc.run.pk} is still active")
            continue
        except Exception as exc:  # even its run could not be recorded (the database is down)
            log.exception("sync of supplier %s could not run", supplier.code)
            report.errors.append(f"{supplier.code}: {describe(exc)}")
            continue
        report.runs.append(run)
    report.seconds = time.monotonic() - started
    return report


def _fail_requested_runs(report: SyncReport, codes, trigger: str, force: bool, skus) -> None:
    """Record a failed run for each requested supplier, as far as the database allows."""
    try:
        for supplier in suppliers_by_codes(list(codes or [])).values():
            report.runs.append(
                _failed_run(supplier, trigger, force, report.index_error, skus.get(supplier.code))
            )
    except Exception:
        log.exception("could not record the failed runs")


def _select_suppliers(index: ImportIndex, codes: list[str] | None):
    """Yield ``(supplier, error)``: requested codes in order, or every active supplier."""
    if codes:
        found = suppliers_by_codes(codes)  # case-insensitive: a100 is A100
        for code in codes:
            if code in found:
                yield found[code], ""
            else:
                yield (
                    None,
                    (
                        f"{code}: unknown supplier (not in Import.txt nor in the database)"
                        + did_you_mean(code)
                    ),
                )
        return
    yield from ((s, "") for s in Supplier.objects.filter(is_active=True).order_by("code"))


def _failed_run(supplier: Supplier, trigger: str, force: bool, reason: str, skus) -> SyncRun:
    try:
        run = runs.run_create(
            supplier=supplier, trigger=trigger, mode=SyncRun.Mode.DIRECT, force=force, skus=skus
        )
    except runs.RunAlreadyActive as exc:
        return exc.run
    runs.run_mark_running(run)
    return runs.run_finish(run, failed_reason=reason)


def sync_supplier_direct(
    supplier: Supplier,
    *,
    index: ImportIndex | None = None,
    run: SyncRun | None = None,
    config: SyncConfig | None = None,
    fetcher: Fetcher | None = None,
    force: bool = False,
    refetch_all: bool = False,
    trigger: str = SyncRun.Trigger.COMMAND,
    progress: Progress | None = None,
    skus: list[str] | None = None,
) -> SyncRun:
    """Sync one supplier in this process and return its finished ``SyncRun`` (only the
    families ``skus`` names, whatever their hashes, when given).

    Reads Import.txt itself unless ``index`` is given. Raises ``RunAlreadyActive`` when the
    supplier already has a queued or running sync (and ``run`` is not given). Anything else
    that stops the supplier finishes its run as failed, with the reason, and does not raise
    (unless the run itself cannot be written: the database is gone).
    """
    config = config or SyncConfig.from_settings()
    fetcher = fetcher or Fetcher(config)
    if run is None:
        run = runs.run_create(
            supplier=supplier, trigger=trigger, mode=SyncRun.Mode.DIRECT, force=force, skus=skus
        )
    if refetch_all and not run.refetch_all:
        runs.run_set(run.pk, refetch_all=True)
        run.refetch_all = True
    run_claim(run)
    driver = DirectDriver(run, config=config, fetcher=fetcher, progress=progress)
    try:
        planned = supplier_step.plan_supplier(
            SupplierWork(run.pk), config=config, fetcher=fetcher, index=index
        )
        driver.settle(SupplierWork(run.pk), planned)
        if planned.status == "failed":  # it may have failed after planning: end it here
            return runs.run_finish(run, failed_reason=planned.error)
        if planned.status == "done":
            driver.drive(planned.follow_ups)
    except Exception as exc:
        # Never leave a run "running" behind, and never stop the next supplier.
        if not isinstance(exc, FeedUnreadable):
            log.exception("sync #%s of supplier %s stopped by an error", run.pk, supplier.code)
        return runs.run_finish(run, failed_reason=describe(exc))
    except KeyboardInterrupt:  # Ctrl-C: the run ends as stopped, then the command stops
        runs.run_set(run.pk, stop_requested=True)
        runs.run_finish(run)
        raise
    return runs.run_finish(run)


def retry_items_direct(run: SyncRun, works: list[Work]) -> SyncRun:
    """Run ``works`` of ``run`` again in this process (the same steps), then finish it.
    A ``SupplierWork`` among them re-plans the run first (it failed before planning)."""
    config = SyncConfig.from_settings()
    fetcher = Fetcher(config)
    run_claim(run)
    runs.run_mark_running(run)
    driver = DirectDriver(run, config=config, fetcher=fetcher)
    follow_ups: list[Work] = [w for w in works if not isinstance(w, SupplierWork)]
    if any(isinstance(w, SupplierWork) for w in works):
        planned = supplier_step.plan_supplier(SupplierWork(run.pk), config=config, fetcher=fetcher)
        driver.settle(SupplierWork(run.pk), planned)
        if planned.status == "failed":
            return runs.run_finish(run, failed_reason=planned.error)
        follow_ups += planned.follow_ups
    elif run.kind == SyncRun.Kind.CATALOG and not run.skus:
        # As a full sync does: images earlier runs could not store come along.
        follow_ups += image_batches(run.pk, images_missing_for_supplier(run.supplier_id))
    driver.drive(follow_ups)
    return runs.run_finish(run)


def sync_stock_direct(
    supplier: Supplier,
    *,
    run: SyncRun | None = None,
    config: SyncConfig | None = None,
    fetcher: Fetcher | None = None,
    trigger: str = SyncRun.Trigger.COMMAND,
    progress: Progress | None = None,
) -> SyncRun:
    """Read the stock of every active family of ``supplier`` in this process (a stock run)
    and return the finished run: the same stock step as the queue's, driven here.

    Raises ``StockNotConfigured`` before creating anything when stock is off, and
    ``RunAlreadyActive`` when the supplier has a stock run going. Anything else finishes the
    run as failed, with the reason.
    """
    config = config or SyncConfig.from_settings()
    stock_template_check(config)
    fetcher = fetcher or Fetcher(config)
    if run is None:
        run = runs.run_create(
            supplier=supplier, trigger=trigger, mode=SyncRun.Mode.DIRECT, kind=SyncRun.Kind.STOCK
        )
    run_claim(run)
    driver = DirectDriver(run, config=config, fetcher=fetcher, progress=progress)
    try:
        runs.run_mark_running(run)
        stock_run_plan(run)
        driver.drive(supplier_step.pending_work(run))
    except Exception as exc:
        if not isinstance(exc, StockNotConfigured):
            log.exception("stock run #%s of supplier %s stopped by an error", run.pk, supplier.code)
        return runs.run_finish(run, failed_reason=describe(exc))
    except KeyboardInterrupt:
        runs.run_set(run.pk, stop_requested=True)
        runs.run_finish(run)
        raise
    return runs.run_finish(run)


class DirectDriver:
    """Drives the family, image and stock steps of one run: fetches in threads, writes here."""

    def __init__(
        self,
        run: SyncRun,
        *,
        config: SyncConfig,
        fetcher: Fetcher,
        progress: Progress | None = None,
    ):
        self.run = run
        self.supplier = run.supplier
        self.config = config
        self.fetcher = fetcher
        self.progress = progress or NoProgress()
        self.stopped = _StopCheck(run.pk)

    def drive(self, works) -> None:
        """Run the families among ``works``, then every image they and ``works`` name, then
        the stock reads among ``works``."""
        families = [w for w in works if isinstance(w, FamilyWork)]
        stock = [sku for w in works if isinstance(w, StockWork) for sku in w.family_skus]
        images = dict.fromkeys(_urls(works))
        # A stock run has stock work only: no empty family and image phases for it.
        for outcome in self._families(families) if families or not stock else ():
            images.update(dict.fromkeys(_urls(outcome.follow_ups)))
        if not self.stopped() and (images or not stock):
            self._images(list(images))
        if not self.stopped() and stock:
            self._stock(stock)

    def settle(self, work: Work, outcome: Outcome) -> None:
        """A failure is final in direct mode: record it on its item now."""
        if outcome.status == "failed":
            step = {
                SupplierWork: supplier_step,
                FamilyWork: family_step,
                ImageWork: image_step,
                StockWork: stock_step,
            }[type(work)]
            step.give_up(work, outcome.error, permanent=outcome.permanent)

    def _families(self, works: list[FamilyWork]):
        self.progress.start(f"{self.supplier.code} families", len(works))

        def fetch(work: FamilyWork):
            return family_step.fetch_family(
                work, self.supplier.code, config=self.config, fetcher=self.fetcher
            )

        for work, download, error in bounded_map(
            fetch, works, concurrency=self.config.fetch_concurrency, should_stop=self.stopped
        ):
            outcome = family_step.apply_family(work, self.supplier, download, error)
            self.settle(work, outcome)
            self.progress.advance()
            yield outcome
        self.progress.finish()

    def _images(self, urls: list[str]) -> None:
        """Every URL fetched in threads and stored here, one by one (direct mode needs no
        batches: it has no per-job cost to spread)."""
        self.progress.start(f"{self.supplier.code} images", len(urls))
        validators = image_validators(urls)

        def fetch(url: str):
            return image_step.fetch_image(
                url,
                config=self.config,
                fetcher=self.fetcher,
                validators=validators.get(url, ("", "")),
            )

        for url, image, error in bounded_map(
            fetch, urls, concurrency=self.config.fetch_concurrency, should_stop=self.stopped
        ):
            outcome = image_step.apply_image(
                self.run.pk, url, image, error, config=self.config, fetcher=self.fetcher
            )
            self.settle(ImageWork(run_id=self.run.pk, urls=(url,)), outcome)
            self.progress.advance()
        self.progress.finish()

    def _stock(self, skus: list[str]) -> None:
        """Every family's variants read in threads (a family per thread), written here."""
        todo = list(runs.items_to_do(self.run.pk, kind=SyncItem.Kind.STOCK, keys=skus))
        found = families_to_read(self.run, todo)
        self.progress.start(f"{self.supplier.code} stock", len(todo))

        def fetch(sku: str):
            family = found.get(sku)
            if family is None:
                return None
            return stock_step.fetch_stock(family, config=self.config, fetcher=self.fetcher)

        for sku, readings, error in bounded_map(
            fetch, todo, concurrency=self.config.fetch_concurrency, should_stop=self.stopped
        ):
            family: FamilyToRead | None = found.get(sku)
            if error is not None:  # fetch_stock never raises; a bug would land here
                outcome = failure(f"stock of {sku}", error)
            else:
                outcome = stock_step.family_outcome(
                    self.run,
                    sku,
                    family,
                    config=self.config,
                    fetcher=self.fetcher,
                    readings=readings,
                )
            self.settle(StockWork(run_id=self.run.pk, family_skus=(sku,)), outcome)
            self.progress.advance()
        self.progress.finish()


def _urls(works) -> list[str]:
    return [url for w in works if isinstance(w, ImageWork) for url in w.urls]


class _StopCheck:
    """Callable telling whether an operator asked the run to stop (asks at most once a second)."""

    def __init__(self, run_id: int):
        self.run_id = run_id
        self.checked_at = 0.0
        self.stopped = False

    def __call__(self) -> bool:
        now = time.monotonic()
        if not self.stopped and now - self.checked_at >= STOP_CHECK_SECONDS:
            self.checked_at = now
            self.stopped = runs.run_stop_requested(self.run_id)
        return self.stopped
