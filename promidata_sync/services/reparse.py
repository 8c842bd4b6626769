"""Rebuilding catalog rows from the kept family files, with no network.

After a parser upgrade (a field read that was not read before), ``reparse`` runs every kept
file through the same write path as a sync (``family_parse`` then ``family_write``), so the new
fields are filled in without fetching 40,000 files again. Per supplier it is one run
(trigger "reparse", mode direct) with one item per family, like a sync, so the run page and
the summary say what happened. Idempotent: reparsing twice writes the same rows.

Only the file each product was made from is used (the kept version whose hash is the product's
``promidata_hash``); images are not downloaded (nothing is fetched), but declared images whose
bytes are stored are linked as usual.
"""

from __future__ import annotations

import logging

from catalog.models import Product, Supplier
from promidata_sync.conf import SyncConfig
from promidata_sync.errors import describe, is_expected, is_permanent
from promidata_sync.feed import ImportEntry
from promidata_sync.models import FamilyFile, SyncItem, SyncRun
from promidata_sync.services import runs
from promidata_sync.services.direct import NoProgress, Progress
from promidata_sync.services.families import family_parse, family_write
from promidata_sync.services.family_files import decompress
from promidata_sync.services.run_owners import run_claim

log = logging.getLogger(__name__)


def reparse(
    codes: list[str] | None = None,
    *,
    skus: list[str] | None = None,
    config: SyncConfig | None = None,
    progress: Progress | None = None,
) -> list[SyncRun]:
    """Re-parse the kept files of the given suppliers (default: every supplier with kept
    files), or only of the families ``skus``; return one finished run per supplier.

    Which file of a family: the version its product was made from (the product's hash); for a
    family with no product (rows wiped), the newest file that could be used. Withdrawn
    (inactive) families are left alone: writing them would bring them back. Raises
    ``runs.RunAlreadyActive`` for a supplier that is syncing right now (its files are being
    replaced); the other suppliers are done first.
    """
    config = config or SyncConfig.from_settings()
    progress = progress or NoProgress()
    files = FamilyFile.objects.filter(error="")
    if codes:
        files = files.filter(supplier__code__in=codes)
    if skus:
        files = files.filter(family_sku__in=skus)
    supplier_ids = sorted(set(files.values_list("supplier_id", flat=True)))
    finished, busy = [], []
    for supplier in Supplier.objects.filter(pk__in=supplier_ids).order_by("code"):
        try:
            finished.append(
                _reparse_supplier(supplier, files.filter(supplier=supplier), config, progress)
            )
        except runs.RunAlreadyActive as exc:
            busy.append(exc)
    if busy:
        raise busy[0]
    return finished


def _chosen_versions(supplier, files) -> dict[str, int]:
    """``{family sku: id of the file to re-parse}`` (see ``reparse``)."""
    products = dict(Product.objects.filter(supplier=supplier).values_list("sku", "promidata_hash"))
    inactive = set(
        Product.objects.filter(supplier=supplier, is_active=False).values_list("sku", flat=True)
    )
    chosen: dict[str, int] = {}
    newest_first = files.order_by("family_sku", "-fetched_at", "-pk")
    for pk, sku, hash_ in newest_first.values_list("pk", "family_sku", "hash"):
        if sku in chosen or sku in inactive:
            continue
        if sku not in products or products[sku] == hash_:
            chosen[sku] = pk
    return chosen


def _reparse_supplier(supplier, files, config, progress) -> SyncRun:
    chosen = _chosen_versions(supplier, files)
    run = runs.run_create(
        supplier=supplier, trigger=SyncRun.Trigger.REPARSE, mode=SyncRun.Mode.DIRECT
    )
    run_claim(run)
    runs.run_mark_running(run)
    runs.items_plan(run.pk, kind=SyncItem.Kind.FAMILY, items=[(sku, "", "") for sku in chosen])
    runs.run_set(run.pk, entries=len(chosen), planned_at=run.started_at)
    progress.start(f"{supplier.code} families", len(chosen))
    kept_files = FamilyFile.objects.filter(pk__in=list(chosen.values())).order_by("family_sku")
    for kept in kept_files.iterator(chunk_size=200):
        _reparse_one(run, supplier, kept, config)
        progress.advance()
    progress.finish()
    return runs.run_finish(run)


def _reparse_one(run, supplier, kept: FamilyFile, config) -> None:
    entry = ImportEntry(
        url=kept.source_url,
        hash=kept.hash,
        supplier_code=supplier.code,
        family_sku=kept.family_sku,
        line_number=0,
    )
    try:
        download = family_parse(entry, decompress(kept.content), config=config)
        family_write(
            supplier=supplier,
            entry=entry,
            record=download.record,
            run_id=run.pk,
            plan_images=False,  # nothing is fetched: the next sync downloads what is missing
        )
    except Exception as exc:
        if not is_expected(exc):
            log.error("reparse of %s failed: %s", kept.family_sku, describe(exc), exc_info=exc)
        runs.item_record(
            run.pk,
            kind=SyncItem.Kind.FAMILY,
            key=kept.family_sku,
            error=describe(exc),
            permanent=is_permanent(exc),
        )
