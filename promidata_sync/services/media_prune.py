"""Removing stored images nothing refers to any more, from the storage and the table.

A ``Media`` row is **linked**, and kept, when either
- a ``VariantMedia`` row points at it, for any variant, active or not: a deactivated family
  comes back to life without a fetch when it returns to the feed, and must come back with
  its images; or
- an ``ImageSource`` points at it whose URL is still declared by a ``VariantImage`` of any
  variant, active or not: its bytes are what that declaration resolves to, even when no link
  exists at the moment (a family being rewritten, a link another job is about to make).

Everything else is an **orphan**: bytes that used to be an image of the feed and are not any
more (a URL that now serves other bytes, a family whose images changed). Pruning an orphan
deletes its stored object, the ``ImageSource`` rows pointing at it (their URLs are declared
nowhere, so their validators are of no use) and its row. Orphans are found with one query;
each batch is re-checked under a row lock in the transaction that deletes it, so a link
made meanwhile keeps its media.

Caveat: run it between syncs. A sync that meets an orphan's bytes again while the batch is
being deleted waits for the lock and then finds the row gone: that image fails with an
integrity error and is stored again on the next run.
"""

from __future__ import annotations

import logging
from dataclasses import astuple, dataclass

from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Count, Exists, OuterRef, QuerySet, Sum

from catalog.models import Media, VariantMedia
from promidata_sync.models import ImageSource, VariantImage

log = logging.getLogger(__name__)

PRUNE_BATCH = 500  # media per transaction


@dataclass(frozen=True)
class PruneReport:
    """What ``media_prune`` removed (or, with ``dry_run``, would remove)."""

    media: int
    bytes: int
    sources: int
    dry_run: bool


def media_orphans() -> QuerySet[Media]:
    """Media that no variant links and no still-declared URL resolves to (see the module)."""
    linked = VariantMedia.objects.filter(media=OuterRef("pk"))
    declared_source = ImageSource.objects.filter(media=OuterRef("pk")).filter(
        Exists(VariantImage.objects.filter(url=OuterRef("url")))
    )
    return Media.objects.filter(~Exists(linked), ~Exists(declared_source))


def media_prune(*, dry_run: bool = False) -> PruneReport:
    """Delete orphaned media: stored object, ``ImageSource`` rows and ``Media`` row.

    Idempotent: a second run finds nothing. With ``dry_run`` nothing is touched and the report
    says what would go. Each batch is one transaction; its stored objects are deleted inside
    it, after the rows are locked, so no sync can meet a row whose object is gone and commit a
    link to it. Raises what the storage raises, after removing the rows of the objects it did
    delete: the rest stays for a later run.
    """
    orphans = media_orphans()
    if dry_run:
        totals = orphans.aggregate(media=Count("pk"), bytes=Sum("size"))
        sources = ImageSource.objects.filter(media__in=orphans).count()
        return PruneReport(totals["media"], totals["bytes"] or 0, sources, dry_run=True)
    ids = list(orphans.order_by("pk").values_list("pk", flat=True))
    batches = [_prune_batch(ids[i : i + PRUNE_BATCH]) for i in range(0, len(ids), PRUNE_BATCH)]
    report = PruneReport(
        media=sum(b.media for b in batches),
        bytes=sum(b.bytes for b in batches),
        sources=sum(b.sources for b in batches),
        dry_run=False,
    )
    log.info("pruned %d media (%d bytes), %d image sources", *astuple(report)[:3])
    return report


def _prune_batch(ids: list[int]) -> PruneReport:
    failure: Exception | None = None
    with transaction.atomic():
        # Locked, then re-checked: a link committed since the selection keeps its media, and
        # a link attempted from now on waits for this transaction.
        locked = Media.objects.select_for_update().filter(pk__in=ids).values_list("pk", flat=True)
        orphans = media_orphans().filter(pk__in=list(locked)).values_list("pk", "file", "size")
        gone: list[tuple[int, int]] = []
        for pk, name, size in orphans:
            try:
                if name:
                    default_storage.delete(name)
            except Exception as exc:
                # Rows go only with their objects, so the table and the bucket still agree.
                failure = exc
                break
            gone.append((pk, size))
        pks = [pk for pk, _ in gone]
        sources, _ = ImageSource.objects.filter(media_id__in=pks).delete()
        Media.objects.filter(pk__in=pks).delete()
    if failure is not None:
        raise failure
    return PruneReport(len(gone), sum(size for _, size in gone), sources, dry_run=False)
