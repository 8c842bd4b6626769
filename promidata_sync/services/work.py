"""Units of work and what became of them: the vocabulary the steps, the direct driver and
the queue share.

A work record names one unit of work by identities only (ids, a SKU, a URL, a hash): a queue
message is exactly its fields, and a retry re-reads the source. A step takes one and returns
an ``Outcome``: done (maybe with follow-up work), failed for good, failed for now (a retry
may help), or to be tried again at a given time (a webhook's own schedule).
"""

from __future__ import annotations

import dataclasses
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
    """Download, verify and store one image URL of a run, and link it to its variants."""

    run_id: int
    url: str


@dataclass(frozen=True)
class WebhookWork:
    """One attempt at one webhook delivery."""

    delivery_id: int


Work = SupplierWork | FamilyWork | ImageWork | WebhookWork


def work_fields(work: Work) -> dict[str, Any]:
    """The work as keyword arguments (a queue message's kwargs)."""
    return dataclasses.asdict(work)


def item_work(
    run_id: int, supplier_id: int, *, kind: str, key: str, url: str, token: str
) -> FamilyWork | ImageWork | None:
    """The work that finishes one pending ``SyncItem`` of a run (None for the index item)."""
    if kind == SyncItem.Kind.FAMILY:
        return FamilyWork(
            run_id=run_id, supplier_id=supplier_id, family_sku=key, url=url, hash=token
        )
    if kind == SyncItem.Kind.IMAGE:
        return ImageWork(run_id=run_id, url=url)
    return None


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
