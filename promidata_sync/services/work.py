"""Units of work and what became of them: the vocabulary the steps, the direct driver and
the queue share.

A work record names one unit of work by identities only (ids, a SKU, a URL, a hash): a queue
message is exactly its fields, and a retry re-reads the source. A step takes one and returns
an ``Outcome``: done (maybe with follow-up work), failed for good, failed for now (a retry
may help), or to be tried again at a given time (a webhook's own schedule).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from promidata_sync.feed import ImportEntry
from promidata_sync.models import SyncItem


@dataclass(frozen=True)
class SupplierWork:
    """Plan one supplier's run: read the index, compare hashes, list the families to fetch."""

    run_id: int


@dataclass(frozen=True)
class FamilyWork:
    """Fetch and write one family file of a run."""

    run_id: int
    supplier_id: int
    family_sku: str
    url: str
    hash: str

    def entry(self, supplier_code: str) -> ImportEntry:
        """The Import.txt line this work stands for (its line number is not kept)."""
        return ImportEntry(
            url=self.url,
            hash=self.hash,
            supplier_code=supplier_code,
            family_sku=self.family_sku,
            line_number=0,
        )


@dataclass(frozen=True)
class ImageWork:
    """Download, verify and store a few image URLs of a run, and link them to their variants.

    One unit of work holds up to ``IMAGE_BATCH`` URLs (``batched``): a queue job per image
    would spend more on the job than on the image. Each URL is still its own run item,
    counted and failed on its own.
    """

    run_id: int
    urls: tuple[str, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "urls", tuple(self.urls))  # a message's kwargs hold a list


IMAGE_BATCH = 8


def image_batches(run_id: int, urls: Iterable[str], size: int = IMAGE_BATCH) -> list[ImageWork]:
    """``urls`` (each once, in order) as image work of at most ``size`` URLs."""
    unique = list(dict.fromkeys(urls))
    return [
        ImageWork(run_id=run_id, urls=tuple(unique[i : i + size]))
        for i in range(0, len(unique), size)
    ]


@dataclass(frozen=True)
class WebhookWork:
    """One attempt at one webhook delivery."""

    delivery_id: int


@dataclass(frozen=True)
class StockWork:
    """Read the stock levels of a few families of a stock run (each family its own item).

    A family's variants are read one request each, so a job of ``STOCK_BATCH`` families
    costs a few dozen small requests: enough to spread the job's own cost, small enough
    that a retry redoes little.
    """

    run_id: int
    family_skus: tuple[str, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "family_skus", tuple(self.family_skus))  # kwargs hold a list


STOCK_BATCH = 5


def stock_batches(run_id: int, skus: Iterable[str], size: int = STOCK_BATCH) -> list[StockWork]:
    """``skus`` (each once, in order) as stock work of at most ``size`` families."""
    unique = list(dict.fromkeys(skus))
    return [
        StockWork(run_id=run_id, family_skus=tuple(unique[i : i + size]))
        for i in range(0, len(unique), size)
    ]


Work = SupplierWork | FamilyWork | ImageWork | WebhookWork | StockWork


def work_fields(work: Work) -> dict[str, Any]:
    """The work as keyword arguments (a queue message's kwargs)."""
    return dataclasses.asdict(work)


def items_work(
    run_id: int, supplier_id: int, items: Iterable[tuple[str, str, str, str]]
) -> list[FamilyWork | ImageWork | StockWork]:
    """The work that finishes ``(kind, key, url, token)`` items of a run: one per family,
    images and stock reads in batches; the index item needs none."""
    families: list[FamilyWork | ImageWork | StockWork] = []
    images: list[str] = []
    stock: list[str] = []
    for kind, key, url, token in items:
        if kind == SyncItem.Kind.FAMILY:
            families.append(
                FamilyWork(
                    run_id=run_id, supplier_id=supplier_id, family_sku=key, url=url, hash=token
                )
            )
        elif kind == SyncItem.Kind.IMAGE:
            images.append(url)
        elif kind == SyncItem.Kind.STOCK:
            stock.append(key)
    return [*families, *image_batches(run_id, images), *stock_batches(run_id, stock)]


Status = Literal["done", "skipped", "failed", "later"]


@dataclass(frozen=True)
class Outcome:
    """What a step did. Build one with the class methods.

    - ``done``: the work is written and accounted for; ``follow_ups`` are to run after it
      (sent after its commit in queue mode).
    - ``skipped``: nothing to do (the run finished or was stopped).
    - ``failed``: nothing was written. ``permanent`` is the one answer to "will a retry
      help?" (``errors.is_permanent``); the failure is recorded on its item by the step's
      ``give_up`` once no retry will come (at once in direct mode, after the queue's last
      retry in queue mode).
    - ``later``: not failed, but to be tried again in ``retry_in_seconds``.
    """

    status: Status
    result: dict[str, Any] = field(default_factory=dict)
    follow_ups: tuple[Work, ...] = ()
    error: str = ""
    permanent: bool = True
    retry_in_seconds: float = 0.0

    @classmethod
    def done(cls, result: dict[str, Any], follow_ups: tuple[Work, ...] = ()) -> Outcome:
        return cls("done", result=result, follow_ups=tuple(follow_ups))

    @classmethod
    def skipped(cls, reason: str) -> Outcome:
        return cls("skipped", result={"skipped": reason})

    @classmethod
    def failed(cls, error: str, *, permanent: bool) -> Outcome:
        return cls("failed", error=error, permanent=permanent)

    @classmethod
    def later(cls, reason: str, *, seconds: float) -> Outcome:
        return cls("later", error=reason, permanent=False, retry_in_seconds=max(0.0, seconds))

    @property
    def ok(self) -> bool:
        return self.status in ("done", "skipped")
