"""The image step: download one image, verify it, store it content-addressed, link it.

This is where an image's failures are classified. ``fetch_image`` is the network half
(thread-safe, no database): a URL whose bytes are stored already is asked for conditionally.
``apply_image`` stores what came (``media.image_store``): a 304 only re-links, a 200 stores
new bytes (unless the same bytes are stored already) and re-points the URL; the image is
counted on its run in the same transaction as its links. A 304 for a URL whose media was
pruned meanwhile is fetched again whole.
"""

from __future__ import annotations

from promidata_sync.conf import SyncConfig
from promidata_sync.fetching import Fetcher
from promidata_sync.models import SyncItem
from promidata_sync.redaction import mask_url
from promidata_sync.services import runs
from promidata_sync.services.media import (
    DownloadedImage,
    image_fetch,
    image_record_error,
    image_store,
    image_validators,
    media_store,
)
from promidata_sync.services.steps import failure
from promidata_sync.services.work import ImageWork, Outcome


def fetch_image(
    work: ImageWork,
    *,
    config: SyncConfig,
    fetcher: Fetcher,
    validators: tuple[str, str] = ("", ""),
) -> DownloadedImage:
    """Download (conditionally, with ``(etag, last_modified)``) and verify the image.
    Raises ``FetchError`` or ``InvalidImage``."""
    etag, last_modified = validators
    return image_fetch(
        work.url, config=config, fetcher=fetcher, etag=etag, last_modified=last_modified
    )


def apply_image(
    work: ImageWork,
    image: DownloadedImage | None,
    error: BaseException | None = None,
    *,
    config: SyncConfig,
    fetcher: Fetcher,
) -> Outcome:
    """Store what ``fetch_image`` brought, or classify why it brought nothing."""
    what = f"image {mask_url(work.url)}"
    if error is None and image is None:
        error = ValueError("no download given")
    if error is not None:
        return failure(what, error)
    assert image is not None
    try:
        stored = image_store(image, run_id=work.run_id)
        if stored is None:  # a 304, but the URL's media went away meanwhile (pruned)
            image = fetch_image(work, config=config, fetcher=fetcher)
            stored = media_store(image, run_id=work.run_id)
    except Exception as exc:  # storage, the network or the database: this image fails
        return failure(what, exc)
    return Outcome.done(
        {
            "url": mask_url(work.url),
            "media": stored.media.sha256,
            "uploaded": stored.uploaded,
            "not_modified": image.not_modified,
            "links": stored.links,
        }
    )


def sync_image(work: ImageWork, *, config: SyncConfig, fetcher: Fetcher) -> Outcome:
    """Both halves, for one image of an open run (a queue job, a retry)."""
    try:
        if not runs.run_open(work.run_id):
            return Outcome.skipped("run finished or stopped")
        validators = image_validators([work.url]).get(work.url, ("", ""))
    except Exception as exc:
        return failure(f"image {mask_url(work.url)}", exc)
    try:
        image = fetch_image(work, config=config, fetcher=fetcher, validators=validators)
    except Exception as exc:
        return apply_image(work, None, exc, config=config, fetcher=fetcher)
    return apply_image(work, image, config=config, fetcher=fetcher)


def give_up(work: ImageWork, error: str, *, permanent: bool) -> None:
    """No retry will come: remember the URL's error and fail the image on its run."""
    image_record_error(work.url, error)
    runs.item_record(
        work.run_id,
        kind=SyncItem.Kind.IMAGE,
        key=work.url,
        url=work.url,
        error=error,
        permanent=permanent,
    )
