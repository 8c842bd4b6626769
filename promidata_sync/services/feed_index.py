"""Reading the profile's index (Import.txt) and categories (CAT.csv) into the database."""

from __future__ import annotations

import hashlib
import logging
import threading
from dataclasses import dataclass, replace

from django.db import transaction

from catalog.models import Category, Supplier
from promidata_sync.conf import SyncConfig
from promidata_sync.environment import environment_message
from promidata_sync.errors import SyncError, describe
from promidata_sync.feed import FeedDataError, ImportIndex, parse_categories, parse_import_index
from promidata_sync.fetching import Fetcher, FetchError
from promidata_sync.redaction import mask_url
from promidata_sync.services.runs import IN_BATCH

log = logging.getLogger(__name__)


class FeedUnreadable(SyncError):
    """Import.txt could not be fetched or read; nothing may be concluded from it.

    ``permanent`` is False when a later attempt may succeed (timeout, 5xx).
    """


class _IndexCache:
    """The last Import.txt parsed by this process, with its validators.

    Each supplier job reads the index; with an ETag or Last-Modified from the server, the
    next read is a conditional request and an unchanged index is not downloaded or parsed
    again. One entry (one profile) is all a process needs.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._entry: tuple[str, str, str, ImportIndex] | None = None

    def validators(self, url: str) -> tuple[str, str]:
        with self._lock:
            if self._entry and self._entry[0] == url:
                return self._entry[1], self._entry[2]
        return "", ""

    def get(self, url: str) -> ImportIndex | None:
        with self._lock:
            return self._entry[3] if self._entry and self._entry[0] == url else None

    def put(self, url: str, etag: str, last_modified: str, index: ImportIndex) -> None:
        with self._lock:
            self._entry = (url, etag, last_modified, index) if (etag or last_modified) else None


_index_cache = _IndexCache()


@dataclass(frozen=True)
class CategoriesResult:
    categories: int
    error: str = ""
    changed: int = 0


def index_fetch(*, config: SyncConfig, fetcher: Fetcher) -> ImportIndex:
    """Fetch and parse Import.txt; raise ``FeedUnreadable`` with a clear message.

    Malformed lines do not raise: they come back in ``ImportIndex.malformed``. A body cut
    short of its Content-Length (or chunked framing) raises; a body with no framing at all
    comes back with ``complete=False``, and the planner then deactivates nothing.
    """
    if not config.import_url:
        raise FeedUnreadable(
            environment_message(
                "PROMIDATA_IMPORT_URL is not set",
                hint="point it at your profile's Import.txt (see the README)",
            )
        )
    url = config.import_url
    fetched = _download_index(url, config, fetcher, *_index_cache.validators(url))
    if fetched.not_modified:
        cached = _index_cache.get(url)
        if cached is not None:
            return cached
        fetched = _download_index(url, config, fetcher, "", "")  # cache was replaced meanwhile
    index = replace(
        parse_import_index(fetched.content, base_url=url),
        complete=fetched.complete,
        digest=hashlib.sha256(fetched.content).hexdigest(),
    )
    if not fetched.complete:
        log.warning("Import.txt came without Content-Length or chunked framing: it may be cut")
    _index_cache.put(url, fetched.etag, fetched.last_modified, index)
    if not index.entries and not index.categories_url:
        raise FeedUnreadable(
            f"Import.txt at {mask_url(config.import_url)} holds no feed lines "
            f"({len(index.malformed)} malformed)"
        )
    log.info(
        "Import.txt: %d families of %d suppliers, %d malformed and %d duplicate lines",
        len(index.entries),
        len(index.supplier_codes()),
        len(index.malformed),
        index.duplicate_lines,
    )
    return index


def _download_index(url, config, fetcher, etag: str, last_modified: str):
    try:
        return fetcher.get(
            url, max_bytes=config.max_index_bytes, etag=etag, last_modified=last_modified
        )
    except FetchError as exc:
        raise FeedUnreadable(f"cannot read Import.txt: {exc}", permanent=exc.permanent) from None


def categories_sync(
    index: ImportIndex, *, config: SyncConfig, fetcher: Fetcher
) -> CategoriesResult:
    """Fetch CAT.csv (line 1 of the index) and upsert every category with its parent.

    A missing or broken CAT.csv, or one the database refuses, is reported, never fatal:
    products then point at categories created from their keys alone.
    """
    if not index.categories_url:
        return CategoriesResult(0, "Import.txt has no CAT.csv line")
    try:
        fetched = fetcher.get(index.categories_url, max_bytes=config.max_categories_bytes)
        parsed = parse_categories(fetched.content)
    except (FetchError, FeedDataError) as exc:
        log.warning("categories not updated: %s", describe(exc))
        return CategoriesResult(0, f"CAT.csv: {describe(exc)}")
    try:
        changed = categories_upsert(
            [(c.key, c.parent_key, c.names, c.icon, c.image) for c in parsed.categories]
        )
    except Exception as exc:
        log.exception("categories not updated")
        return CategoriesResult(0, f"CAT.csv: {describe(exc)}")
    if parsed.malformed or parsed.warnings:
        log.warning(
            "CAT.csv: %d malformed rows and %d warnings (first: %s)",
            len(parsed.malformed),
            len(parsed.warnings),
            (parsed.malformed[0].reason if parsed.malformed else parsed.warnings[0]),
        )
    return CategoriesResult(len(parsed.categories), changed=changed)


def categories_upsert(rows: list[tuple[str, str | None, dict, str, str]]) -> int:
    """Upsert ``(key, parent_key, names, icon, image)`` rows; return how many rows changed.

    Parents must precede children in ``rows`` or already exist. Rows equal to what is stored
    are not written, so an unchanged CAT.csv changes nothing.
    """
    rows = list({row[0]: row for row in rows}.values())  # one row per key, last wins
    stored = {
        key: (parent_key, names, icon, image)
        for key, parent_key, names, icon, image in Category.objects.values_list(
            "key", "parent__key", "names", "icon", "image"
        )
    }
    changed = [row for row in rows if stored.get(row[0]) != tuple(row[1:])]
    if not changed:
        return 0
    with transaction.atomic():  # all the categories of the file, or none of them
        Category.objects.bulk_create(
            [
                Category(key=k, names=names, icon=icon, image=image)
                for k, _, names, icon, image in changed
            ],
            update_conflicts=True,
            unique_fields=["key"],
            update_fields=["names", "icon", "image"],
            batch_size=IN_BATCH,
        )
        keys = sorted({k for k, *_ in changed} | {p for _, p, *_ in changed if p})
        ids: dict[str, int] = {}
        for start in range(0, len(keys), IN_BATCH):  # SQLite bounds the variables per query
            batch = keys[start : start + IN_BATCH]
            ids.update(Category.objects.filter(key__in=batch).values_list("key", "id"))
        Category.objects.bulk_update(
            [Category(id=ids[k], parent_id=ids.get(p) if p else None) for k, p, *_ in changed],
            ["parent"],
            batch_size=500,
        )
    return len(changed)


def category_ids_for(keys: set[str]) -> dict[str, int]:
    """``{key: id}`` for ``keys``; unknown keys get bare categories (and ancestors)."""
    keys = {k for k in keys if k}
    if not keys:
        return {}
    ids = dict(Category.objects.filter(key__in=keys).values_list("key", "id"))
    missing = sorted(keys - ids.keys())
    if missing:
        rows: list[tuple[str, str | None, dict, str, str]] = []
        seen: set[str] = set()
        for key in missing:
            parts = key.split("/")
            for depth in range(1, len(parts) + 1):
                sub = "/".join(parts[:depth])
                if sub not in seen:
                    seen.add(sub)
                    rows.append((sub, "/".join(parts[: depth - 1]) or None, {}, "", ""))
        # Existing ancestors keep their names: only insert what is not there.
        existing = set(Category.objects.filter(key__in=seen).values_list("key", flat=True))
        rows = [r for r in rows if r[0] not in existing]
        Category.objects.bulk_create([Category(key=k) for k, *_ in rows], ignore_conflicts=True)
        all_ids = dict(Category.objects.filter(key__in=seen).values_list("key", "id"))
        Category.objects.bulk_update(
            [Category(id=all_ids[k], parent_id=all_ids.get(p)) for k, p, *_ in rows if p],
            ["parent"],
        )
        ids.update({k: all_ids[k] for k in missing if k in all_ids})
    return ids


# The feed carries no supplier names; these are the ones public importers copied from the
# Promidata dashboard. Admins can rename any supplier; a sync never overwrites a name.
KNOWN_SUPPLIER_NAMES = {
    "A23": "XD Connects (Xindao)",
    "A36": "Midocean",
    "A113": "Malfini",
    "A403": "Top Tex Group",
}


def suppliers_ensure(codes: list[str]) -> dict[str, Supplier]:
    """Return ``{code: Supplier}`` for ``codes``, creating rows for codes seen the first time."""
    Supplier.objects.bulk_create(
        [Supplier(code=c, name=KNOWN_SUPPLIER_NAMES.get(c, "")) for c in codes],
        ignore_conflicts=True,
    )
    return {s.code: s for s in Supplier.objects.filter(code__in=codes)}
