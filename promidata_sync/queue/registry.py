"""The stage registry: one declaration per queue stage, and everything that lists stages
derives from it (the actors in ``tasks``, the worker groups of ``promidata_workers``, the
job records' keys, the reconciler's re-sends, the queue statistics and the dashboard).

Adding a stage means one ``Stage`` here plus its step in ``services.steps``: a work record
(``services.work``), a step function taking it and returning an ``Outcome``, and a
``give_up`` that records a failure once no retry will come.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields

from django.conf import settings

from promidata_sync.models import SyncItem
from promidata_sync.services.steps import family, image, process_tools, stock, supplier, webhook
from promidata_sync.services.work import (
    IMAGE_BATCH,
    STOCK_BATCH,
    FamilyWork,
    ImageWork,
    Outcome,
    StockWork,
    SupplierWork,
    WebhookWork,
    Work,
)


@dataclass(frozen=True)
class Stage:
    """One queue stage.

    - ``queue_name``, ``actor_name``: the Dramatiq queue and actor (message kwargs are the
      ``work`` record's fields);
    - ``key_argument``: the field naming a job's subject on its job record (the job-key
      rule), and with ``item_kind`` how the reconciler tells which pending run item a held
      message covers;
    - ``concurrency_setting``, ``time_limit_setting``: the settings holding the stage's
      threads and a job's time limit in ms; ``processes_setting``: how many worker processes
      share those threads (a process runs Python on one core at a time: a stage whose jobs
      are mostly Python work needs several to use the machine);
    - ``step``: runs one unit of work; ``give_up`` records its failure for good;
    - ``exclusive``: the lease a job must hold while it runs (None: no lease);
    - ``stores_media``: its workers need the media storage (checked at start-up);
    - ``upgrade``: turns the kwargs of a message an earlier version enqueued into this
      version's (messages wait in Redis across an upgrade).
    """

    queue_name: str
    actor_name: str
    work: type
    key_argument: str
    concurrency_setting: str
    time_limit_setting: str
    # Each step takes its own kind of work (``work``); Callable[..., ...] says so loosely.
    step: Callable[..., Outcome]
    give_up: Callable[..., None]
    item_kind: str | None = None
    processes_setting: str | None = None
    exclusive: Callable[..., str] | None = None
    stores_media: bool = False
    upgrade: Callable[[dict], dict] | None = None
    # Items one job may carry: the time-limit setting is per item, a job gets this many.
    batch_size: int = 1

    @property
    def concurrency(self) -> int:
        return max(1, int(getattr(settings, self.concurrency_setting)))

    @property
    def processes(self) -> int:
        if self.processes_setting is None:
            return 1
        return max(1, min(self.concurrency, int(getattr(settings, self.processes_setting))))

    @property
    def threads_per_process(self) -> int:
        return -(-self.concurrency // self.processes)  # the threads, shared out rounding up

    @property
    def time_limit_ms(self) -> int:
        return int(getattr(settings, self.time_limit_setting)) * self.batch_size

    def work_from(self, kwargs: dict) -> Work:
        """The work record of a message's kwargs (unknown keys ignored)."""
        if self.upgrade is not None:
            kwargs = self.upgrade(kwargs)
        names = {f.name for f in fields(self.work)}
        return self.work(**{k: v for k, v in kwargs.items() if k in names})

    def item_keys(self, kwargs: dict) -> list[str]:
        """The run items a message of this stage works on (the job-key rule: the key
        argument's value, or each value when it holds several)."""
        if self.upgrade is not None:
            kwargs = self.upgrade(kwargs)
        value = kwargs.get(self.key_argument, "")
        if isinstance(value, list | tuple):
            return [str(v) for v in value]
        return [str(value)]

    def job_key(self, kwargs: dict) -> str:
        """The subject on the job record: its one key, or the first with how many more."""
        keys = self.item_keys(kwargs)
        if len(keys) > 1:
            return f"{keys[0]} (+{len(keys) - 1} more)"
        return keys[0] if keys else ""


def _plan(work: SupplierWork) -> Outcome:
    config, fetcher = process_tools()
    return supplier.plan_supplier(work, config=config, fetcher=fetcher)


def _family(work: FamilyWork) -> Outcome:
    config, fetcher = process_tools()
    return family.sync_family(work, config=config, fetcher=fetcher)


def _one_url_to_urls(kwargs: dict) -> dict:
    """Image messages of earlier versions named one ``url``."""
    if "urls" not in kwargs and "url" in kwargs:
        return {**kwargs, "urls": [kwargs["url"]]}
    return kwargs


def _image(work: ImageWork) -> Outcome:
    config, fetcher = process_tools()
    return image.sync_images(work, config=config, fetcher=fetcher)


def _stock(work: StockWork) -> Outcome:
    config, fetcher = process_tools()
    return stock.sync_stock(work, config=config, fetcher=fetcher)


SUPPLIER = Stage(
    queue_name="supplier-sync",
    actor_name="sync_supplier",
    work=SupplierWork,
    key_argument="run_id",
    concurrency_setting="PROMIDATA_CONCURRENCY_SUPPLIER",
    time_limit_setting="PROMIDATA_JOB_TIMEOUT_SUPPLIER",
    step=_plan,
    give_up=supplier.give_up,
    # One planner per run at a time, even when its message is delivered twice (the run's
    # database constraint already allows one active run per supplier).
    exclusive=lambda work: f"supplier-sync:run:{work.run_id}",  # a SupplierWork
)
FAMILY = Stage(
    queue_name="product-family",
    actor_name="sync_product_family",
    work=FamilyWork,
    key_argument="family_sku",
    concurrency_setting="PROMIDATA_CONCURRENCY_FAMILIES",
    time_limit_setting="PROMIDATA_JOB_TIMEOUT_FAMILY",
    step=_family,
    give_up=family.give_up,
    item_kind=SyncItem.Kind.FAMILY,
)
IMAGE = Stage(
    queue_name="image-upload",
    actor_name="upload_image",
    work=ImageWork,
    key_argument="urls",
    concurrency_setting="PROMIDATA_CONCURRENCY_IMAGES",
    time_limit_setting="PROMIDATA_JOB_TIMEOUT_IMAGE",
    step=_image,
    give_up=image.give_up,
    item_kind=SyncItem.Kind.IMAGE,
    processes_setting="PROMIDATA_PROCESSES_IMAGES",
    stores_media=True,
    upgrade=_one_url_to_urls,
    batch_size=IMAGE_BATCH,
)
WEBHOOK = Stage(
    queue_name="webhooks",
    actor_name="deliver_webhook",
    work=WebhookWork,
    key_argument="delivery_id",
    concurrency_setting="PROMIDATA_CONCURRENCY_WEBHOOKS",
    time_limit_setting="PROMIDATA_JOB_TIMEOUT_WEBHOOK",
    step=webhook.deliver_webhook,
    give_up=webhook.give_up,
)

STOCK = Stage(
    queue_name="stock-sync",
    actor_name="sync_stock",
    work=StockWork,
    key_argument="family_skus",
    concurrency_setting="PROMIDATA_CONCURRENCY_STOCK",
    time_limit_setting="PROMIDATA_JOB_TIMEOUT_STOCK",
    step=_stock,
    give_up=stock.give_up,
    item_kind=SyncItem.Kind.STOCK,
    batch_size=STOCK_BATCH,
)

STAGES: tuple[Stage, ...] = (SUPPLIER, FAMILY, IMAGE, WEBHOOK, STOCK)
QUEUE_NAMES: tuple[str, ...] = tuple(s.queue_name for s in STAGES)
_BY_ACTOR = {s.actor_name: s for s in STAGES}
_BY_WORK = {s.work: s for s in STAGES}
_BY_KIND = {s.item_kind: s for s in STAGES if s.item_kind}


def stage_of_actor(actor_name: str) -> Stage | None:
    return _BY_ACTOR.get(actor_name)


def stage_of_work(work: Work) -> Stage:
    return _BY_WORK[type(work)]


def stage_of_item_kind(kind: str) -> Stage | None:
    return _BY_KIND.get(kind)
