"""Images: download once, verify, store under a content-addressed key, link to variants.

``image_fetch`` does the network and decoding work and touches no database, so it can run in
any thread. ``media_store`` and ``image_link`` do the database and storage work. Identical bytes
map to one ``Media`` row and one stored object whatever URL or supplier they came from; the
database, not the bucket, is asked whether the bytes are already stored.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from catalog.models import Media, VariantMedia
from promidata_sync.conf import SyncConfig
from promidata_sync.fetching import Fetcher
from promidata_sync.imaging import ImageInfo, inspect_image
from promidata_sync.models import ImageSource, SyncItem, VariantImage
from promidata_sync.services.families import media_links_for
from promidata_sync.services.runs import item_record

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
        return DownloadedImage(url, b"", None, etag, last_modified, not_modified=True)
    info = inspect_image(
        fetched.content, max_bytes=config.max_image_bytes, max_pixels=config.max_image_pixels
    )
    return DownloadedImage(url, fetched.content, info, fetched.etag, fetched.last_modified)


def media_store(image: DownloadedImage, *, run_id: int | None = None) -> StoredImage:
    """Store the bytes (unless already stored), record the URL's source row, link variants.

    Idempotent and race-safe: two workers storing the same bytes write the same object key
    with the same bytes, and the sha256 unique constraint leaves one row. With ``run_id`` the
    image is counted on the run in the same transaction as the links.
    """
    info = image.info
    assert info is not None, "media_store needs downloaded bytes"
    # The database, not the bucket, says whether these bytes are stored already.
    media = Media.objects.filter(sha256=info.sha256).first()
    uploaded = False
    if media is None:
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
        saved_as = default_storage.save(key, ContentFile(image.content))
        if saved_as != key:  # a storage that renames would break content addressing
            raise RuntimeError(f"storage saved {key} as {saved_as}; enable overwriting")
        media.file.name = key
        Media.objects.bulk_create([media], ignore_conflicts=True)
        media = Media.objects.get(sha256=info.sha256)
        uploaded = True
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
    return StoredImage(media=media, uploaded=uploaded, links=links)


def image_source_set(url: str, media: Media, *, etag: str = "", last_modified: str = "") -> int:
    """Point ``url`` at ``media`` and link every variant declaring ``url``; return links made."""
    with transaction.atomic():
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
        return image_link(url, media.pk)


def image_link(url: str, media_id: int) -> int:
    """Create the ``VariantMedia`` links of every variant that declares ``url``."""
    declared = list(VariantImage.objects.filter(url=url).only("variant_id", "url", "position"))
    links = media_links_for(declared, {url: media_id})
    VariantMedia.objects.bulk_create(
        links,
        update_conflicts=True,
        unique_fields=["variant", "media"],
        update_fields=["position"],
        batch_size=1000,
    )
    return len(links)


def image_record_error(url: str, error: str) -> None:
    """Remember the last error of ``url`` (kept beside any media it had before)."""
    ImageSource.objects.bulk_create(
        [ImageSource(url=url, last_error=error[:2000])],
        update_conflicts=True,
        unique_fields=["url"],
        update_fields=["last_error"],
    )


def images_missing_for_supplier(supplier_id: int) -> list[str]:
    """Image URLs that active variants of the supplier declare but that have no stored media.

    One query. Lets a sync pick up images a previous run could not store.
    """
    from django.db.models import Exists, OuterRef

    stored = ImageSource.objects.filter(url=OuterRef("url"), media__isnull=False)
    return sorted(
        set(
            VariantImage.objects.filter(
                variant__product__supplier_id=supplier_id,
                variant__is_active=True,
                variant__product__is_active=True,
            )
            .filter(~Exists(stored))
            .values_list("url", flat=True)
        )
    )
