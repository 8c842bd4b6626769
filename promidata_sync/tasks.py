"""Dramatiq actors: thin shells that call the stage services with identities only.

Messages carry ids, SKUs, URLs and hashes, never family data: a retry re-reads the source.
"""

from __future__ import annotations

import dramatiq
from django.conf import settings

from promidata_sync.errors import PermanentJobError
from promidata_sync.services import stages

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
