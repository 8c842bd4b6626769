"""The image step: download images, verify them, store them content-addressed, link them.

This is where an image's failures are classified. One unit of work is a few URLs of a run
(``work.ImageWork``); each URL is its own run item, stored, counted and failed on its own.

- ``fetch_image`` is the network half of one URL (thread-safe, no database): a URL whose
  bytes are stored already is asked for conditionally.
- ``apply_image`` stores what came (``media.image_store``): a 304 only re-links, a 200 stores
  new bytes (unless the same bytes are stored already) and re-points the URL; the image is
  counted on its run in the same transaction as its links. A 304 for a URL whose media was
  pruned meanwhile is fetched again whole.
- ``sync_images`` is both halves for every URL of a work that is not done yet (so a retry
  redoes only what failed). A permanent failure is recorded on its URL at once; when some
  failed for now, the outcome is failed-for-now and the queue retries the work later.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor

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
    url: str,
    *,
    config: SyncConfig,
    fetcher: Fetcher,
    validators: tuple[str, str] = ("", ""),
) -> DownloadedImage:
    """Download (conditionally, with ``(etag, last_modified)``) and verify one image.
    Raises ``FetchError`` or ``InvalidImage``."""
    etag, last_modified = validators
    return image_fetch(url, config=config, fetcher=fetcher, etag=etag, last_modified=last_modified)


def apply_image(
    run_id: int,
    url: str,
    image: DownloadedImage | None,
    error: BaseException | None = None,
    *,
    config: SyncConfig,
    fetcher: Fetcher,
) -> Outcome:
    """Store what ``fetch_image`` brought for ``url``, or classify why it brought nothing."""
    what = f"image {mask_url(url)}"
    if error is None and image is None:
        error = ValueError("no download given")
    if error is not None:
        return failure(what, error)
    assert image is not None
    try:
        stored = image_store(image, run_id=run_id)
        if stored is None:  # a 304, but the URL's media went away meanwhile (pruned)
            image = fetch_image(url, config=config, fetcher=fetcher)
            stored = media_store(image, run_id=run_id)
    except Exception as exc:  # storage, the network or the database: this image fails
        return failure(what, exc)
    return Outcome.done(
        {
            "url": mask_url(url),
            "media": stored.media.sha256,
            "uploaded": stored.uploaded,
            "not_modified": image.not_modified,
            "links": stored.links,
        }
    )


def sync_images(work: ImageWork, *, config: SyncConfig, fetcher: Fetcher) -> Outcome:
    """Both halves for each URL of an open run's work that is still to do (not done, not
    failed for good already)."""
    try:
        if not runs.run_open(work.run_id):
            return Outcome.skipped("run finished or stopped")
        todo = list(runs.items_to_do(work.run_id, kind=SyncItem.Kind.IMAGE, keys=work.urls))
        validators = image_validators(todo)
    except Exception as exc:
        return failure(f"images of sync #{work.run_id}", exc)

    def fetch(url: str) -> DownloadedImage:
        return fetch_image(
            url, config=config, fetcher=fetcher, validators=validators.get(url, ("", ""))
        )

    stored, retry = [], []
    for url, image, error in _prefetched(fetch, todo):
        outcome = apply_image(work.run_id, url, image, error, config=config, fetcher=fetcher)
        if outcome.status == "done":
            stored.append(outcome.result)
        elif outcome.permanent:
            give_up_url(work.run_id, url, outcome.error, permanent=True)
        else:
            retry.append((url, outcome.error))
            # Its own error, kept on its item: the one recorded if no retry succeeds.
            runs.item_note_error(
                work.run_id, kind=SyncItem.Kind.IMAGE, key=url, error=outcome.error
            )
    if retry:
        first_url, first_error = retry[0]
        return Outcome.failed(
            f"{len(retry)} of {len(todo)} image(s) failed for now, e.g. "
            f"{mask_url(first_url)}: {first_error}",
            permanent=False,
        )
    return Outcome.done({"images": stored, "skipped_settled": len(work.urls) - len(todo)})


def give_up(work: ImageWork, error: str, *, permanent: bool) -> None:
    """No retry will come: every URL of the work still to do fails on its run, with its own
    last error when it had one (else the job's)."""
    todo = runs.items_to_do(work.run_id, kind=SyncItem.Kind.IMAGE, keys=work.urls)
    for url, noted in todo.items():
        give_up_url(work.run_id, url, noted or error, permanent=permanent)


def give_up_url(run_id: int, url: str, error: str, *, permanent: bool) -> None:
    """Remember the URL's error and fail it on its run."""
    image_record_error(url, error)
    runs.item_record(
        run_id, kind=SyncItem.Kind.IMAGE, key=url, url=url, error=error, permanent=permanent
    )


_pool_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None


def _fetch_pool() -> ThreadPoolExecutor:
    """This process's download threads for ``_prefetched`` (long-lived, so their sessions
    keep connections to the feed alive from one job to the next)."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=64, thread_name_prefix="image-fetch")
        return _pool


def _prefetched(
    fetch: Callable[[str], DownloadedImage], urls: list[str]
) -> Iterator[tuple[str, DownloadedImage | None, BaseException | None]]:
    """Yield ``(url, image, error)`` in order, with the next URL's download already under way
    while the caller stores this one: a job keeps one request open all the time, so it takes
    the feed's latency per image, not latency plus storing. At most one download in flight
    per job."""
    pending: deque[tuple[str, Future]] = deque()
    source = iter(urls)

    def start_next() -> None:
        url = next(source, None)
        if url is not None:
            pending.append((url, _fetch_pool().submit(fetch, url)))

    start_next()
    while pending:
        url, future = pending.popleft()
        start_next()
        error = future.exception()
        yield url, (None if error else future.result()), error
