"""The family files as the feed sent them, kept compressed in the database.

Why the database and not the media storage: the file is written in the same transaction as
the catalog rows made from it (and as the hash that says which file that was), so the stored
file always describes the stored rows, and ``promidata_reparse`` can rebuild exactly them with
no network. A bucket cannot take part in that transaction. Print data repeats itself and
compresses well: ``scripts/benchmark_first_import.py`` measures 258 KB generated families at
10.7 KB stored (13 KB on disk with TOAST and indexes), 0.53 GB per version for a 40,000-family
profile (real files repeat less than generated ones: expect up to twice that).

Each family keeps its current and its previous version; a file that could not be used is kept
too, with its error, so an operator can see what the feed sent.
"""

from __future__ import annotations

import functools
import threading

import zstandard
from django.utils import timezone

from catalog.models import Supplier
from promidata_sync.models import FamilyFile
from promidata_sync.redaction import sanitize_message

# zstd level 6: near the best ratio of the fast levels, at well over 100 MB/s per core.
LEVEL = 6
VERSIONS_KEPT = 2


@functools.lru_cache(maxsize=1)
def _local() -> threading.local:
    return threading.local()


def compress(content: bytes) -> bytes:
    """zstd-compress ``content`` (a compressor per thread: they are not thread-safe)."""
    local = _local()
    if not hasattr(local, "compressor"):
        local.compressor = zstandard.ZstdCompressor(level=LEVEL)
    return local.compressor.compress(content)


def decompress(stored: bytes) -> bytes:
    return zstandard.ZstdDecompressor().decompress(bytes(stored))


def family_file_keep(
    *,
    supplier: Supplier,
    family_sku: str,
    hash: str,
    url: str,
    content: bytes,
    error: str = "",
    compressed: bytes | None = None,
) -> FamilyFile:
    """Store one version of a family file (idempotent per hash) and drop versions beyond the
    last ``VERSIONS_KEPT``. Call it inside the family's transaction. ``compressed`` may be
    given when a fetch thread compressed it already (compression is CPU the writing thread
    need not spend)."""
    stored = compressed if compressed is not None else compress(content)
    (kept,) = FamilyFile.objects.bulk_create(
        [
            FamilyFile(
                supplier=supplier,
                family_sku=family_sku,
                hash=hash,
                source_url=url,
                content=stored,
                size=len(content),
                stored_size=len(stored),
                error=sanitize_message(error) if error else "",
                fetched_at=timezone.now(),
            )
        ],
        update_conflicts=True,
        unique_fields=["supplier", "family_sku", "hash"],
        update_fields=["content", "size", "stored_size", "error", "fetched_at", "source_url"],
    )
    older = FamilyFile.objects.filter(supplier=supplier, family_sku=family_sku).order_by(
        "-fetched_at", "-pk"
    )[VERSIONS_KEPT:]
    FamilyFile.objects.filter(pk__in=list(older.values_list("pk", flat=True))).delete()
    return kept


def family_file_current(supplier_id: int, family_sku: str, hash: str = "") -> FamilyFile | None:
    """The stored file of a family: the one of ``hash`` if given, else the newest."""
    files = FamilyFile.objects.filter(supplier_id=supplier_id, family_sku=family_sku)
    if hash:
        files = files.filter(hash=hash)
    return files.order_by("-fetched_at", "-pk").first()
