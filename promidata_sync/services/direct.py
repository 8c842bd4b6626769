"""Direct mode: the whole sync in one process, no broker.

It runs the same services as the queue stages, in the same order: plan a supplier from the
index (no fetch for unchanged families), fetch changed families with bounded concurrency while
this thread writes them, then download the images still missing. Network work runs in threads;
all database work stays in the calling thread (which also suits SQLite).

Failures are contained where they happen: whatever one family or image raises, expected or
not, is recorded on its item (``errors.describe``) and the sync goes on; whatever stops one
supplier finishes its run as failed and the next supplier starts. Tracebacks of unexpected
errors go to the log (masked), never to the caller.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Protocol

from catalog.models import Supplier
from promidata_sync.concurrency import bounded_map
from promidata_sync.conf import SyncConfig
from promidata_sync.errors import describe, is_expected, is_permanent
from promidata_sync.feed import ImportEntry, ImportIndex
from promidata_sync.fetching import Fetcher
from promidata_sync.models import SyncItem, SyncRun
from promidata_sync.services import runs
from promidata_sync.services.families import (
    BrokenFamilyFile,
    family_fetch,
    family_keep_broken,
    family_write,
)
from promidata_sync.services.feed_index import (
    FeedUnreadable,
    categories_sync,
    index_fetch,
    suppliers_ensure,
)
from promidata_sync.services.media import (
    image_fetch,
    image_record_error,
    image_store,
    image_validators,
    images_missing_for_supplier,
    images_pending_for_run,
    media_store,
)
from promidata_sync.services.planning import run_plan
from promidata_sync.services.run_owners import run_claim

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
) -> SyncReport:
    """Sync the given supplier codes (default: every active supplier) in this process.

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
        report.duplicate_lines = index.duplicate_lines
        categories = categories_sync(index, config=config, fetcher=fetcher)
        report.categories, report.categories_error = categories.categories, categories.error
        suppliers_ensure(index.supplier_codes())
        selected = list(_select_suppliers(index, codes))
    except Exception as exc:
        if not isinstance(exc, FeedUnreadable):
            log.exception("direct sync could not start")
        report.index_error = describe(exc)
        _fail_requested_runs(report, codes, trigger, force)
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


def _fail_requested_runs(report: SyncReport, codes, trigger: str, force: bool) -> None:
    """Record a failed run for each requested supplier, as far as the database allows."""
    try:
        for supplier in Supplier.objects.filter(code__in=codes or []):
            report.runs.append(_failed_run(supplier, trigger, force, report.index_error))
    except Exception:
        log.exception("could not record the failed runs")


def _select_suppliers(index: ImportIndex, codes: list[str] | None):
    """Yield ``(supplier, error)``: requested codes in order, or every active supplier."""
    if codes:
        found = {s.code: s for s in Supplier.objects.filter(code__in=codes)}
        for code in codes:
            if code in found:
                yield found[code], ""
            else:
                yield None, f"{code}: unknown supplier (not in Import.txt nor in the database)"
        return
    yield from ((s, "") for s in Supplier.objects.filter(is_active=True).order_by("code"))


def _failed_run(supplier: Supplier, trigger: str, force: bool, reason: str) -> SyncRun:
    try:
        run = runs.run_create(
            supplier=supplier, trigger=trigger, mode=SyncRun.Mode.DIRECT, force=force
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
) -> SyncRun:
    """Sync one supplier in this process and return its finished ``SyncRun``.

    Reads Import.txt itself unless ``index`` is given. Raises ``RunAlreadyActive`` when the
    supplier already has a queued or running sync (and ``run`` is not given). Anything else
    that stops the supplier finishes its run as failed, with the reason, and does not raise
    (unless the run itself cannot be written: the database is gone).
    """
    config = config or SyncConfig.from_settings()
    fetcher = fetcher or Fetcher(config)
    progress = progress or NoProgress()
    if run is None:
        run = runs.run_create(
            supplier=supplier, trigger=trigger, mode=SyncRun.Mode.DIRECT, force=force
        )
    run_claim(run)
    runs.run_mark_running(run)
    try:
        if index is None:
            index = index_fetch(config=config, fetcher=fetcher)
            categories_sync(index, config=config, fetcher=fetcher)
        stopper = _StopCheck(run.pk)
        _sync_families(run, supplier, index, config, fetcher, progress, stopper, force, refetch_all)
        if not stopper():
            _sync_images(run, supplier, config, fetcher, progress, stopper)
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


def _sync_families(run, supplier, index, config, fetcher, progress, stopper, force, refetch_all):
    plan = run_plan(
        run,
        supplier,
        index,
        mass_deactivation_ratio=config.mass_deactivation_ratio,
        force=force,
        refetch_all=refetch_all,
    )
    progress.start(f"{supplier.code} families", len(plan.to_fetch))
    fetch = lambda entry: family_fetch(entry, config=config, fetcher=fetcher)  # noqa: E731
    for entry, download, error in bounded_map(
        fetch, plan.to_fetch, concurrency=config.fetch_concurrency, should_stop=stopper
    ):
        if error is None:
            try:
                family_write(
                    supplier=supplier,
                    entry=entry,
                    record=download.record,
                    run_id=run.pk,
                    download=download,
                )
            except Exception as exc:  # the family's transaction was rolled back whole
                error = exc
        if error is not None:
            _record_family_failure(run, supplier, entry, error)
        progress.advance()
    progress.finish()


def _log_failure(what: str, error: BaseException) -> None:
    """Expected failures are one line; an unexpected one takes its traceback to the log."""
    if is_expected(error):
        log.warning("%s failed: %s", what, describe(error))
    else:
        log.error("%s failed: %s", what, describe(error), exc_info=error)


def _record_family_failure(run, supplier, entry, error: BaseException) -> None:
    _log_failure(f"family {entry.family_sku}", error)
    if isinstance(error, BrokenFamilyFile):
        family_keep_broken(supplier, entry, error)
    runs.item_record(
        run.pk,
        kind=SyncItem.Kind.FAMILY,
        key=entry.family_sku,
        url=entry.url,
        error=describe(error),
        permanent=is_permanent(error),
    )


def _sync_images(run, supplier, config, fetcher, progress, stopper) -> None:
    leftovers = images_missing_for_supplier(supplier.pk)
    # Images earlier runs could not store, beside those the changed families planned (their
    # missing images and the stored ones to revalidate).
    runs.items_plan(run.pk, kind=SyncItem.Kind.IMAGE, items=[(u, u, "") for u in leftovers])
    _download_images(run, images_pending_for_run(run.pk), config, fetcher, progress, stopper)


def _download_images(run, urls, config, fetcher, progress, stopper) -> None:
    """Download ``urls`` in threads (conditionally when their bytes are stored) and store or
    re-link each in this thread; failures are recorded on the run, one by one."""
    progress.start(f"{run.supplier.code} images", len(urls))
    validators = image_validators(urls)

    def fetch(url: str):
        etag, last_modified = validators.get(url, ("", ""))
        return image_fetch(
            url, config=config, fetcher=fetcher, etag=etag, last_modified=last_modified
        )

    for url, image, error in bounded_map(
        fetch, urls, concurrency=config.fetch_concurrency, should_stop=stopper
    ):
        if error is None:
            error = _store_image(run, url, image, config, fetcher)
        if error is not None:
            _record_image_failure(run, url, error)
        progress.advance()
    progress.finish()


def _store_image(run, url, image, config, fetcher) -> Exception | None:
    """Store or re-link one downloaded image; return the error that stopped it, if any."""
    try:
        if image_store(image, run_id=run.pk) is None:
            # A 304, but the URL's media went away meanwhile (pruned): fetch it whole.
            media_store(image_fetch(url, config=config, fetcher=fetcher), run_id=run.pk)
    except Exception as exc:  # storage or database trouble: this image fails, the rest go on
        return exc
    return None


def _record_image_failure(run, url, error: BaseException) -> None:
    _log_failure(f"image {url}", error)
    image_record_error(url, describe(error))
    runs.item_record(
        run.pk,
        kind=SyncItem.Kind.IMAGE,
        key=url,
        url=url,
        error=describe(error),
        permanent=is_permanent(error),
    )


def retry_items_direct(run: SyncRun, items) -> SyncRun:
    """Redo ``(kind, key, url, token)`` items of ``run`` in this process, then finish it."""
    config = SyncConfig.from_settings()
    fetcher = Fetcher(config)
    supplier = run.supplier
    run_claim(run)
    runs.run_mark_running(run)
    for kind, key, url, token in items:
        if kind == SyncItem.Kind.FAMILY:
            entry = ImportEntry(
                url=url, hash=token, supplier_code=supplier.code, family_sku=key, line_number=0
            )
            try:
                download = family_fetch(entry, config=config, fetcher=fetcher)
                family_write(
                    supplier=supplier,
                    entry=entry,
                    record=download.record,
                    run_id=run.pk,
                    download=download,
                )
            except Exception as exc:
                _record_family_failure(run, supplier, entry, exc)
    image_urls = [url for kind, _, url, _ in items if kind == SyncItem.Kind.IMAGE]
    image_urls += images_missing_for_supplier(supplier.pk)
    _download_images(run, sorted(set(image_urls)), config, fetcher, NoProgress(), lambda: False)
    return runs.run_finish(run)
