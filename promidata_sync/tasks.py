"""Dramatiq actors: thin shells that call the stage services with identities only.

Messages carry ids, SKUs, URLs and hashes, never family data: a retry re-reads the source.
"""

from __future__ import annotations

import dramatiq
from django.conf import settings
from django.utils import timezone

from promidata_sync.errors import PermanentJobError, is_permanent
from promidata_sync.services import stages, webhooks

RETRY_OPTIONS = {
    "max_retries": settings.PROMIDATA_JOB_MAX_RETRIES,
    "min_backoff": settings.PROMIDATA_JOB_RETRY_MIN_BACKOFF_MS,
    "max_backoff": settings.PROMIDATA_JOB_RETRY_MAX_BACKOFF_MS,
    "max_age": settings.PROMIDATA_JOB_MAX_AGE_MS,
    "throws": (PermanentJobError,),
    "store_results": True,
}


@dramatiq.actor(
    queue_name=settings.PROMIDATA_QUEUE_SUPPLIER,
    time_limit=settings.PROMIDATA_JOB_TIMEOUT_SUPPLIER,
    **RETRY_OPTIONS,
)
def sync_supplier(run_id: int) -> dict:
    return stages.supplier_stage(run_id)


@dramatiq.actor(
    queue_name=settings.PROMIDATA_QUEUE_FAMILY,
    time_limit=settings.PROMIDATA_JOB_TIMEOUT_FAMILY,
    **RETRY_OPTIONS,
)
def sync_product_family(run_id: int, supplier_id: int, family_sku: str, url: str, hash: str):
    return stages.family_stage(
        run_id=run_id, supplier_id=supplier_id, family_sku=family_sku, url=url, hash=hash
    )


@dramatiq.actor(
    queue_name=settings.PROMIDATA_QUEUE_IMAGE,
    time_limit=settings.PROMIDATA_JOB_TIMEOUT_IMAGE,
    **RETRY_OPTIONS,
)
def upload_image(run_id: int, url: str) -> dict:
    return stages.image_stage(run_id=run_id, url=url)


def _webhook_retry_when(retries: int, exception: BaseException) -> bool:
    """The delivery's own schedule decides (``Retry`` until ``deliver`` says it is over);
    anything else the actor raised (the database went away) gets the usual transient retries."""
    if isinstance(exception, dramatiq.Retry):
        return True
    return not is_permanent(exception) and retries < settings.PROMIDATA_JOB_MAX_RETRIES


@dramatiq.actor(
    queue_name=settings.PROMIDATA_QUEUE_WEBHOOK,
    time_limit=settings.PROMIDATA_JOB_TIMEOUT_WEBHOOK,
    retry_when=_webhook_retry_when,
    min_backoff=settings.PROMIDATA_JOB_RETRY_MIN_BACKOFF_MS,
    max_backoff=settings.PROMIDATA_JOB_RETRY_MAX_BACKOFF_MS,
    store_results=True,
)
def deliver_webhook(delivery_id: int) -> dict:
    """One attempt at a webhook delivery (``webhooks.deliver``). The delivery row holds the
    schedule: while it says "try again at", the same message is retried at that time, so one
    job record follows a delivery through all its attempts."""
    outcome = webhooks.deliver(delivery_id)
    wait = _seconds_until(outcome.retry_at)
    if outcome.state == "pending" or (
        outcome.state == "skipped" and wait is not None and wait <= webhooks.CLOCK_SKEW_SECONDS
    ):
        raise dramatiq.Retry(
            f"webhook delivery #{delivery_id}: {outcome.error or 'not due yet'}",
            delay=max(0, round((wait or 0) * 1000)),
        )
    return outcome.as_dict()


def _seconds_until(moment) -> float | None:
    return (moment - timezone.now()).total_seconds() if moment else None
