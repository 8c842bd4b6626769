"""Dramatiq actors, one per stage of the registry (``queue.registry``), all alike: each runs
its stage's step on the message's work (``queue.runner.run_job``).

Messages carry the work record's identities, never family data: a retry re-reads the source.
"""

from __future__ import annotations

import dramatiq
from django.conf import settings

from promidata_sync.queue.registry import FAMILY, IMAGE, STOCK, SUPPLIER, WEBHOOK, Stage
from promidata_sync.queue.runner import run_job, should_retry


def declare(stage: Stage) -> dramatiq.Actor:
    """The actor of ``stage``, with the retry and time-limit options every stage shares."""

    def run(**kwargs) -> dict:
        return run_job(stage, kwargs)

    run.__name__ = stage.actor_name
    declared = dramatiq.actor(
        actor_name=stage.actor_name,
        queue_name=stage.queue_name,
        time_limit=stage.time_limit_ms,
        retry_when=should_retry,
        min_backoff=settings.PROMIDATA_JOB_RETRY_MIN_BACKOFF_MS,
        max_backoff=settings.PROMIDATA_JOB_RETRY_MAX_BACKOFF_MS,
        max_age=settings.PROMIDATA_JOB_MAX_AGE_MS,
    )
    return declared(run)


sync_supplier = declare(SUPPLIER)
sync_product_family = declare(FAMILY)
upload_image = declare(IMAGE)
deliver_webhook = declare(WEBHOOK)
sync_stock = declare(STOCK)
