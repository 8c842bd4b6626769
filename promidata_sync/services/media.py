"""Images: download once, verify, store under a content-addressed key, link to variants.

``image_fetch`` does the network and decoding work and touches no database, so it can run in
any thread. ``image_store`` (and ``media_store``, ``image_revalidated``) do the database and
storage work. Identical bytes map to one ``Media`` row and one stored object whatever URL or
supplier they came from; the database, not the bucket, is asked whether the bytes are already
stored.

A URL whose bytes are stored is met again when a changed family declares it: it is then asked
for with ``If-None-Match`` / ``If-Modified-Since`` (``image_validators``). A 304 costs no
transfer and no upload, only the re-link; a 200 with other bytes stores them and re-points the
URL and its variants' links. A URL of an unchanged family is never asked for at all.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from catalog.models import CatalogChange, Media, PrintPositionImage, Product, VariantMedia
from promidata_sync.conf import SyncConfig
from promidata_sync.fetching import Fetcher
from promidata_sync.imaging import ImageInfo, inspect_image
from promidata_sync.models import ImageSource, SyncItem, VariantImage
from promidata_sync.services.changes import changes_record
from promidata_sync.services.families import media_links_for
from promidata_sync.services.runs import IN_BATCH, item_record
from promidata_sync.services.unique_rows import unique_row

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DownloadedImage:
    """Bytes of one image URL, verified; ``not_modified`` when a conditional GET said 304."""

    url: str
    content: bytes
    info: ImageInfo | None
    etag: str = ""
    last_modified: str = ""
    not_modified: bool = False


@dataclass(frozen=True)
class StoredImage:
    media: Media
    uploaded: bool  # False when the bytes were stored already (another URL, supplier or run)
    links: int


def image_fetch(
    url: str, *, config: SyncConfig, fetcher: Fetcher, etag: str = "", last_modified: str = ""
) -> DownloadedImage:
    """Download ``url`` and verify it decodes as an image within the limits.

    Raises ``FetchError`` or ``InvalidImage``. No database access.
    """
    fetched = fetcher.get(
        url, max_bytes=config.max_image_bytes, etag=etag, last_modified=last_modified
    )
    if fetched.not_modified:
        # A 304 may carry fresher validators; otherwise the ones we sent still hold.
        return DownloadedImage(
            url,
            b"",
            None,
            fetched.etag or etag,
            fetched.last_modified or last_modified,
            not_modified=True,
        )
    # Any number of threads may download; a few decode at once (memory, see the settings).
    with _decode_slots(config.image_decode_concurrency):
        info = inspect_image(
            fetched.content, max_bytes=config.max_image_bytes, max_pixels=config.max_image_pixels
        )
    return DownloadedImage(url, fetched.content, info, fetched.etag, fetched.last_modified)


@functools.lru_cache(maxsize=4)
def _decode_slots(concurrency: int) -> threading.BoundedSemaphore:
    """The process-wide gate of image decoding (one per configured concurrency)."""
    return threading.BoundedSemaphore(concurrency)


def image_store(image: DownloadedImage, *, run_id: int | None = None) -> StoredImage | None:
    """Record what a download brought: new bytes (``media_store``) or a 304
    (``image_revalidated``). None when a 304 found the URL's media gone meanwhile (pruned):
    the caller downloads the URL again without validators."""
    if image.not_modified:
        return image_revalidated(image, run_id=run_id)
    return media_store(image, run_id=run_id)


def media_store(image: DownloadedImage, *, run_id: int | None = None) -> StoredImage:
    """Store the bytes (unless already stored), point the URL at them, link its variants.

    Idempotent and race-safe: of two workers storing the same bytes, one uploads and the other
    finds its row (see ``_media_for``), so one object and one row. A URL that pointed at other
    bytes before is re-pointed, and its variants' links move with it. With ``run_id`` the
    image is counted on the run in the same transaction as the links.
    """
    assert image.info is not None, "media_store needs downloaded bytes"
    media, uploaded = _media_for(image)
    with transaction.atomic():
        links = image_source_set(
            image.url, media, etag=image.etag, last_modified=image.last_modified
        )
        if run_id is not None:
            item_record(
                run_id,
                kind=SyncItem.Kind.IMAGE,
                key=image.url,
                url=image.url,
                done_counters={"images_downloaded": 1, "images_reused": 0 if uploaded else 1},
            )
        _record_gained_images(links, run_id)
    return StoredImage(media=media, uploaded=uploaded, links=links.links)


def _media_for(image: DownloadedImage) -> tuple[Media, bool]:
    """The ``Media`` row of the image's bytes, and whether they had to be uploaded for it.

    The row is inserted before the upload and committed after it. A concurrent worker with the
    same bytes waits on the sha256 unique index until that commit, then gets an
    ``IntegrityError`` and takes the row instead of uploading again (SQLite serialises the two
    transactions instead). No reader ever sees a row whose object is not stored yet, and a
    failed upload rolls its row back. A crash between upload and commit leaves an object
    without a row, which the next store of the same bytes overwrites with the same bytes.
    """
    info = image.info
    assert info is not None
    # The database, not the bucket, says whether these bytes are stored already.
    media = unique_row(Media.objects.filter(sha256=info.sha256))
    if media is not None:
        return media, False
    media = Media(
        sha256=info.sha256,
        content_type=info.content_type,
        extension=info.extension,
        size=info.size,
        width=info.width,
        height=info.height,
        source_url=image.url,
    )
    key = media.storage_key()
    media.file.name = key
    try:
        with transaction.atomic():
            media.save(force_insert=True)
            _upload(key, image.content, content_type=info.content_type)
    except IntegrityError:
        return Media.objects.get(sha256=info.sha256), False
    return media, True


def _upload(key: str, content: bytes, *, content_type: str) -> None:
    file = ContentFile(content, name=key)
    # S3Storage sends this as the object's Content-Type: the type Pillow found in the bytes,
    # not the one the feed's server declared nor a guess from a name.
    file.content_type = content_type  # type: ignore[attr-defined]
    saved_as = default_storage.save(key, file)
    if saved_as != key:  # a storage that renames would break content addressing
        raise RuntimeError(f"storage saved {key} as {saved_as}; enable overwriting")


def image_revalidated(image: DownloadedImage, *, run_id: int | None = None) -> StoredImage | None:
    """A 304 for a URL whose bytes are stored: keep its media, refresh its validators, re-link
    its variants and count it as reused. No transfer, no upload.

    Returns None (and records nothing) when the URL has no stored media any more.
    """
    source = unique_row(
        ImageSource.objects.filter(url=image.url, media__isnull=False).select_related("media")
    )
    if source is None or source.media is None:
        return None
    media = source.media
    with transaction.atomic():
        links = image_source_set(
            image.url,
            media,
            etag=image.etag or source.etag,
            last_modified=image.last_modified or source.last_modified,
        )
        if run_id is not None:
            item_record(
                run_id,
                kind=SyncItem.Kind.IMAGE,
                key=image.url,
                url=image.url,
                done_counters={"images_reused": 1},
            )
        _record_gained_images(links, run_id)
    return StoredImage(media=media, uploaded=False, links=links.links)


def image_validators(urls: Iterable[str]) -> dict[str, tuple[str, str]]:
    """``{url: (etag, last_modified)}`` for the URLs whose bytes are stored.

    These URLs are asked for conditionally; a URL missing from the result needs a full
    download (its validators, if any, describe bytes we do not have). Queries in batches.
    """
    urls = list(dict.fromkeys(urls))
    result: dict[str, tuple[str, str]] = {}
    for start in range(0, len(urls), IN_BATCH):
        rows = ImageSource.objects.filter(
            url__in=urls[start : start + IN_BATCH], media__isnull=False
        ).values_list("url", "etag", "last_modified")
        result.update((url, (etag, last_modified)) for url, etag, last_modified in rows)
    return result


def image_source_set(url: str, media: Media, *, etag: str = "", last_modified: str = "") -> Linked:
    """Point ``url`` at ``media`` and link every variant declaring ``url``.

    When ``url`` pointed at other bytes before, the variants declaring it lose their link to
    the old media, unless another URL they declare still maps to it.
    """
    with transaction.atomic():
        previous = unique_row(
            ImageSource.objects.select_for_update()
            .filter(url=url)
            .values_list("media_id", flat=True)
        )
        ImageSource.objects.bulk_create(
            [
                ImageSource(
                    url=url,
                    media=media,
                    etag=etag[:255],
                    last_modified=last_modified[:64],
                    last_error="",
                    fetched_at=timezone.now(),
                )
            ],
            update_conflicts=True,
            unique_fields=["url"],
            update_fields=["media", "etag", "last_modified", "last_error", "fetched_at"],
        )
        if previous is not None and previous != media.pk:
            _unlink_replaced(url, previous)
        return image_link(url, media.pk)


def _unlink_replaced(url: str, old_media_id: int) -> None:
    """Drop the links to ``old_media_id`` of the variants declaring ``url`` (which now maps to
    other bytes), keeping those a variant still owes to another URL with the old bytes."""
    still_declared = VariantImage.objects.filter(
        url__in=ImageSource.objects.filter(media_id=old_media_id).values("url")
    ).values("variant_id")
    VariantMedia.objects.filter(
        media_id=old_media_id,
        variant_id__in=VariantImage.objects.filter(url=url).values("variant_id"),
    ).exclude(variant_id__in=still_declared).delete()


@dataclass(frozen=True)
class Linked:
    """What linking one URL's media did: links written, and the products that gained an
    image (a new variant link or a position image that now has its media)."""

    links: int
    products: list[int]


def image_link(url: str, media_id: int) -> Linked:
    """Create the ``VariantMedia`` links of every variant that declares ``url``, and point
    every print position image of ``url`` at the media."""
    positions = PrintPositionImage.objects.filter(url=url).exclude(media_id=media_id)
    gained = set(positions.values_list("position__variant__product_id", flat=True))
    positions.update(media_id=media_id)
    declared = list(
        VariantImage.objects.filter(url=url)
        .select_related("variant")
        .only("variant_id", "url", "position", "variant__product_id")
    )
    linked_before = set(
        VariantMedia.objects.filter(
            media_id=media_id, variant_id__in={d.variant_id for d in declared}
        ).values_list("variant_id", flat=True)
    )
    gained |= {d.variant.product_id for d in declared if d.variant_id not in linked_before}
    links = media_links_for(declared, {url: media_id})
    VariantMedia.objects.bulk_create(
        links,
        update_conflicts=True,
        unique_fields=["variant", "media"],
        update_fields=["position"],
        batch_size=1000,
    )
    return Linked(links=len(links), products=sorted(gained))


def _record_gained_images(linked: Linked, run_id: int | None) -> None:
    """Products whose images arrived changed for their readers: tell the change feed (the
    last write of the caller's transaction) and, once it committed, move their
    ``updated_at``. Not inside: a family being written holds its product's row, and waiting
    for it here while holding this image's links could deadlock with that family."""
    if not linked.products:
        return
    changes_record(linked.products, CatalogChange.Kind.UPDATED, run_id=run_id)
    products, now = linked.products, timezone.now()
    transaction.on_commit(lambda: Product.objects.filter(pk__in=products).update(updated_at=now))


def image_record_error(url: str, error: str) -> None:
    """Remember the last error of ``url`` (kept beside any media it had before)."""
    ImageSource.objects.bulk_create(
        [ImageSource(url=url, last_error=error[:2000])],
        update_conflicts=True,
        unique_fields=["url"],
        update_fields=["last_error"],
    )


def images_missing_for_supplier(supplier_id: int) -> list[str]:
    """Image URLs that active variants (or their print positions) of the supplier declare but
    that have no stored media.

    Two queries. Lets a sync pick up images a previous run could not store.
    """
    stored = ImageSource.objects.filter(url=OuterRef("url"), media__isnull=False)
    variant_urls = VariantImage.objects.filter(
        variant__product__supplier_id=supplier_id,
        variant__is_active=True,
        variant__product__is_active=True,
    )
    position_urls = PrintPositionImage.objects.filter(
        position__variant__product__supplier_id=supplier_id,
        position__variant__is_active=True,
        position__variant__product__is_active=True,
    )
    return sorted(
        {
            url
            for declared in (variant_urls, position_urls)
            for url in declared.filter(~Exists(stored)).values_list("url", flat=True)
        }
    )
