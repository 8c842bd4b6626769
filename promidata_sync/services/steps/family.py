"""The family step: fetch one family file and write it in one transaction.

``fetch_family`` is the network half (thread-safe, no database). ``apply_family`` writes the
product, its variants, every price region, the print data, the kept file and the new hash in
ONE transaction (``families.family_write``), counts the family on its run in the same
transaction, and returns the images still to download as follow-up work. A file that cannot
be parsed is kept as the feed sent it, for the operator. ``sync_family`` is both halves, as a
queue job or a retry runs them.
"""

from __future__ import annotations

from catalog.models import Supplier
from promidata_sync.conf import SyncConfig
from promidata_sync.fetching import Fetcher
from promidata_sync.models import SyncItem
from promidata_sync.services import runs
from promidata_sync.services.families import (
    BrokenFamilyFile,
    FamilyDownload,
    family_fetch,
    family_keep_broken,
    family_write,
)
from promidata_sync.services.steps import failure, report_progress
from promidata_sync.services.work import FamilyWork, Outcome, image_batches


def fetch_family(
    work: FamilyWork, supplier_code: str, *, config: SyncConfig, fetcher: Fetcher
) -> FamilyDownload:
    """Fetch and parse the family file. Raises ``FetchError`` or ``BrokenFamilyFile``."""
    return family_fetch(work.entry(supplier_code), config=config, fetcher=fetcher)


def apply_family(
    work: FamilyWork,
    supplier: Supplier,
    download: FamilyDownload | None,
    error: BaseException | None = None,
) -> Outcome:
    """Write what ``fetch_family`` brought, or classify why it brought nothing.

    Done with the images this family still needs as follow-ups. A second delivery of a
    family already counted (its first delivery died after the commit, maybe before its
    images were sent) returns every image of the family the run still waits for: a
    duplicate image job is harmless, a lost one would keep the run open.
    """
    entry = work.entry(supplier.code)
    if error is None and download is None:
        error = ValueError("no download given")
    if error is not None:
        if isinstance(error, BrokenFamilyFile):
            family_keep_broken(supplier, entry, error)  # what the feed sent, for the operator
        return failure(f"family {work.family_sku}", error)
    assert download is not None
    try:
        result = family_write(
            supplier=supplier,
            entry=entry,
            record=download.record,
            run_id=work.run_id,
            download=download,
        )
        if result.counted:
            images = list(result.new_image_urls)
        else:
            images = list(
                SyncItem.objects.filter(
                    run_id=work.run_id,
                    kind=SyncItem.Kind.IMAGE,
                    state=SyncItem.State.PENDING,
                    key__in=[*result.missing_image_urls, *result.known_image_urls],
                ).values_list("url", flat=True)
            )
    except Exception as exc:  # the family's transaction was rolled back whole
        return failure(f"family {work.family_sku}", exc)
    return Outcome.done(
        {
            "family_sku": work.family_sku,
            "product_id": result.product_id,
            "created": result.created,
            "variants": result.variants,
            "price_tiers": result.price_tiers,
            "images_enqueued": len(images),
        },
        follow_ups=tuple(image_batches(work.run_id, images)),
    )


def sync_family(work: FamilyWork, *, config: SyncConfig, fetcher: Fetcher) -> Outcome:
    """Both halves, for one family of an open run (a queue job, a retry)."""
    try:
        if not runs.run_open(work.run_id):
            return Outcome.skipped("run finished or stopped")
        supplier = Supplier.objects.get(pk=work.supplier_id)
    except Exception as exc:
        return failure(f"family {work.family_sku}", exc)
    report_progress("product", 30)  # fetching: a large file may take a while
    try:
        download = fetch_family(work, supplier.code, config=config, fetcher=fetcher)
    except Exception as exc:
        return apply_family(work, supplier, None, exc)
    return apply_family(work, supplier, download)


def give_up(work: FamilyWork, error: str, *, permanent: bool) -> None:
    """No retry will come: the family is failed on its run (``permanent`` False: it ran out
    of retries on a transient error, and a retry later, from the run page, may succeed)."""
    runs.item_record(
        work.run_id,
        kind=SyncItem.Kind.FAMILY,
        key=work.family_sku,
        url=work.url,
        error=error,
        permanent=permanent,
    )
