"""The three queue stages, as plain functions the actors call.

- ``supplier_stage``: read the index, plan the supplier (hash check before any fetch), mark
  unchanged/vanished families, enqueue one message per family to fetch.
- ``family_stage``: fetch one family JSON, write it in one transaction, enqueue its missing
  images after commit.
- ``image_stage``: download one image, store it content-addressed, link it to variants.

Each stage finishes its run when it ends the run's last piece of work. Whatever a stage
raises, expected or not, anywhere in its body, is classified by ``errors.job_error``
(``@classified``): bad data, a refused URL and bugs raise ``PermanentJobError`` (the actors
declare it in ``throws``, so Dramatiq fails the job at once instead of retrying the same failure
five times); a network, database or Redis hiccup raises ``TransientJobError`` and is retried
with backoff. Both carry ``errors.describe``'s sanitised line, and the original exception as
their cause (for the job's stored traceback). When a job fails for good, ``stage_failed``
records it on the run so the run still ends.
"""

from __future__ import annotations

import contextlib
import functools
import logging

from django.conf import settings
from django.db import transaction

from catalog.models import Supplier
from promidata_sync.conf import SyncConfig
from promidata_sync.errors import PermanentJobError, TransientJobError, job_error
from promidata_sync.feed import ImportEntry
from promidata_sync.fetching import Fetcher
from promidata_sync.models import SyncItem, SyncRun
from promidata_sync.queue.leases import broker_lease
from promidata_sync.redaction import mask_url
from promidata_sync.services import runs
from promidata_sync.services.families import (
    BrokenFamilyFile,
    family_fetch,
    family_keep_broken,
    family_write,
)
from promidata_sync.services.feed_index import categories_sync, index_fetch
from promidata_sync.services.media import (
    image_fetch,
    image_record_error,
    image_store,
    image_validators,
    images_missing_for_supplier,
    media_store,
)
from promidata_sync.services.planning import run_plan

log = logging.getLogger(__name__)


def classified(stage):
    """Let a stage raise only job errors: anything else it raises becomes
    ``errors.job_error``'s permanent or transient one, with the original as its cause."""

    @functools.wraps(stage)
    def run_stage(*args, **kwargs):
        try:
            return stage(*args, **kwargs)
        except (PermanentJobError, TransientJobError):
            raise
        except Exception as exc:
            raise job_error(exc) from exc

    return run_stage


def report_progress(step: str, percentage: int) -> None:
    """Record the running job's progress; a no-op outside a worker (direct calls, tests)."""
    from dramatiq.middleware import CurrentMessage

    from promidata_sync.services.jobs import job_progress

    message = CurrentMessage.get_current_message()
    if message is not None:
        job_progress(message.message_id, step, percentage)


@functools.lru_cache(maxsize=4)
def _fetcher(config: SyncConfig) -> Fetcher:
    """One fetcher per configuration and process: its per-thread sessions keep connections
    to the feed alive from one job to the next."""
    return Fetcher(config)


def _send(actor_name: str, **kwargs) -> None:
    import dramatiq

    dramatiq.get_broker().get_actor(actor_name).send(**kwargs)


def _open_run(run_id: int) -> SyncRun | None:
    """The run, or None when it is finished or an operator asked it to stop."""
    run = SyncRun.objects.select_related("supplier").filter(pk=run_id).first()
    if run is None or run.finished_at or run.stop_requested:
        return None
    return run


# --- supplier stage ------------------------------------------------------------------------
@contextlib.contextmanager
def supplier_lock(code: str):
    """Hold the cluster-wide lock of one supplier's sync stage, or raise ``TransientJobError``.

    A lease (``queue.leases``) renewed while the stage runs, so a killed worker's lock lapses
    within ``PROMIDATA_SUPPLIER_LEASE_SECONDS`` instead of blocking the supplier; released on
    every exit path. The run's own database constraint already allows one active run per
    supplier; this lock also keeps a redelivered supplier message from running beside the
    original.
    """
    lease = broker_lease(
        f"supplier-sync:{code}", ttl_seconds=settings.PROMIDATA_SUPPLIER_LEASE_SECONDS
    )
    with lease as acquired:
        if not acquired:
            raise TransientJobError(f"another sync of supplier {code} holds its lock")
        yield


@classified
def supplier_stage(run_id: int) -> dict:
    """Plan one supplier's sync and enqueue its families. Idempotent: a second delivery
    re-plans (already written families are now unchanged) and re-sends pending work only.
    A permanent failure before the run is planned fails the run (``stage_failed``)."""
    run = _open_run(run_id)
    if run is None:
        return {"skipped": "run finished or stopped"}
    supplier = run.supplier
    with supplier_lock(supplier.code):
        runs.run_mark_running(run)
        plan = _plan_supplier(run, supplier)
        report_progress("enqueueing_families", 70)
        pending = run.items.filter(state=SyncItem.State.PENDING)
        families = images = 0
        for key, url, token in (
            pending.filter(kind=SyncItem.Kind.FAMILY).values_list("key", "url", "token").iterator()
        ):
            _send(
                "sync_product_family",
                run_id=run.pk,
                supplier_id=supplier.pk,
                family_sku=key,
                url=url,
                hash=token,
            )
            families += 1
        for url in pending.filter(kind=SyncItem.Kind.IMAGE).values_list("url", flat=True):
            _send("upload_image", run_id=run.pk, url=url)
            images += 1
    report_progress("complete", 100)
    runs.run_finish_if_complete(run.pk)
    return {
        "supplier": supplier.code,
        "entries": plan.entries,
        "families_enqueued": families,
        "images_enqueued": images,
        "unchanged": plan.unchanged,
        "deactivated": len(plan.deactivate),
        "refused": plan.refusal,
    }


def _plan_supplier(run: SyncRun, supplier: Supplier):
    """Read the index, plan the run and its leftover images (``run_plan``)."""
    report_progress("parsing_import", 10)
    config = SyncConfig.from_settings()
    fetcher = _fetcher(config)
    index = index_fetch(config=config, fetcher=fetcher)
    categories_sync(index, config=config, fetcher=fetcher)
    report_progress("hash_check", 60)
    plan = run_plan(run, supplier, index, mass_deactivation_ratio=config.mass_deactivation_ratio)
    leftovers = images_missing_for_supplier(supplier.pk)
    # Planned (and the run marked planned) before anything is sent, so the last job to end
    # can tell the run is over.
    runs.items_plan(run.pk, kind=SyncItem.Kind.IMAGE, items=[(u, u, "") for u in leftovers])
    return plan


# --- family stage --------------------------------------------------------------------------
@classified
def family_stage(*, run_id: int, supplier_id: int, family_sku: str, url: str, hash: str) -> dict:
    """Fetch and write one family; enqueue its missing images after the commit."""
    run = _open_run(run_id)
    if run is None:
        return {"skipped": "run finished or stopped"}
    supplier = Supplier.objects.get(pk=supplier_id)
    entry = ImportEntry(
        url=url, hash=hash, supplier_code=supplier.code, family_sku=family_sku, line_number=0
    )
    report_progress("product", 30)
    config = SyncConfig.from_settings()
    try:
        download = family_fetch(entry, config=config, fetcher=_fetcher(config))
    except BrokenFamilyFile as exc:
        family_keep_broken(supplier, entry, exc)  # what the feed sent, for the operator
        raise
    report_progress("variants", 70)
    result, missing = _write_family(supplier, entry, download, run_id)
    runs.run_finish_if_complete(run_id)
    return {
        "family_sku": family_sku,
        "product_id": result.product_id,
        "created": result.created,
        "variants": result.variants,
        "price_tiers": result.price_tiers,
        "images_enqueued": len(missing),
    }


def _write_family(supplier, entry, download, run_id):
    """Write the family; send its missing images once the transaction has committed."""
    with transaction.atomic():
        result = family_write(
            supplier=supplier,
            entry=entry,
            record=download.record,
            run_id=run_id,
            download=download,
        )
        if result.counted:
            missing = list(result.new_image_urls)
        else:
            # A second delivery (the first died after its commit, maybe before sending its
            # images): send every image of this family the run still waits for. A duplicate
            # image job is harmless; a lost one would keep the run open forever.
            missing = list(
                SyncItem.objects.filter(
                    run_id=run_id,
                    kind=SyncItem.Kind.IMAGE,
                    state=SyncItem.State.PENDING,
                    key__in=[*result.missing_image_urls, *result.known_image_urls],
                ).values_list("url", flat=True)
            )
        transaction.on_commit(
            lambda: [_send("upload_image", run_id=run_id, url=u) for u in missing]
        )
    return result, missing


# --- image stage ---------------------------------------------------------------------------
@classified
def image_stage(*, run_id: int, url: str) -> dict:
    """Download, verify and store one image, and link it to every variant declaring it.

    A URL whose bytes are stored already (a changed family's known image, another run's, or a
    redelivery) is asked for conditionally: a 304 only re-links, a 200 stores the new bytes
    and re-points the URL.
    """
    run = _open_run(run_id)
    if run is None:
        return {"skipped": "run finished or stopped"}
    config = SyncConfig.from_settings()
    fetcher = _fetcher(config)
    etag, last_modified = image_validators([url]).get(url, ("", ""))
    image = image_fetch(url, config=config, fetcher=fetcher, etag=etag, last_modified=last_modified)
    stored = image_store(image, run_id=run_id)
    if stored is None:  # a 304, but the URL's media went away meanwhile (pruned)
        image = image_fetch(url, config=config, fetcher=fetcher)
        stored = media_store(image, run_id=run_id)
    runs.run_finish_if_complete(run_id)
    return {
        "url": mask_url(url),
        "media": stored.media.sha256,
        "uploaded": stored.uploaded,
        "not_modified": image.not_modified,
        "links": stored.links,
    }


# --- failures ------------------------------------------------------------------------------
def stage_failed(actor_name: str, kwargs: dict, error: str, *, permanent: bool = True) -> None:
    """A job failed for good: account for it on its run, so the run still ends.

    ``permanent`` is False when it ran out of retries on a transient error (a retry later,
    from the run page, may well succeed)."""
    run_id = kwargs.get("run_id")
    if run_id is None or not SyncRun.objects.filter(pk=run_id).exists():
        return
    if actor_name == "sync_supplier":
        run = SyncRun.objects.get(pk=run_id)
        if run.planned_at is None:
            runs.run_finish(run, failed_reason=error)
        # Planned already (its families are queued): the run ends with its items, and the
        # reconciler enqueues again any item whose message was never sent.
        return
    if actor_name == "sync_product_family":
        runs.item_record(
            run_id,
            kind=SyncItem.Kind.FAMILY,
            key=kwargs["family_sku"],
            url=kwargs.get("url", ""),
            error=error,
            permanent=permanent,
        )
    elif actor_name == "upload_image":
        image_record_error(kwargs["url"], error)
        runs.item_record(
            run_id,
            kind=SyncItem.Kind.IMAGE,
            key=kwargs["url"],
            url=kwargs["url"],
            error=error,
            permanent=permanent,
        )
    runs.run_finish_if_complete(run_id)
