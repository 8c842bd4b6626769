"""Families and images finished per minute, across all runs: the dashboard's throughput."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count
from django.db.models.functions import TruncMinute
from django.utils import timezone

from promidata_sync.models import SyncItem

THROUGHPUT_MINUTES = 60
FAMILY_KINDS = (SyncItem.Kind.FAMILY, SyncItem.Kind.STOCK)


@dataclass(frozen=True)
class Minute:
    start: datetime
    families: int
    images: int


def throughput_per_minute(
    *, minutes: int = THROUGHPUT_MINUTES, now: datetime | None = None
) -> list[Minute]:
    """The last ``minutes`` whole minutes up to now, oldest first, each with the families
    (stock items count as families) and images that ended in it, done or failed. Minutes
    with nothing are 0. One grouped query (``SyncItem.updated_at`` is indexed)."""
    now = now or timezone.now()
    last = now.replace(second=0, microsecond=0)
    first = last - timedelta(minutes=minutes - 1)
    rows = (
        SyncItem.objects.filter(updated_at__gte=first)
        .exclude(state=SyncItem.State.PENDING)
        .exclude(kind=SyncItem.Kind.INDEX)
        .annotate(minute=TruncMinute("updated_at"))
        .values("minute", "kind")
        .annotate(n=Count("id"))
        .order_by()
    )
    families: dict[datetime, int] = {}
    images: dict[datetime, int] = {}
    for row in rows:
        target = families if row["kind"] in FAMILY_KINDS else images
        target[row["minute"]] = target.get(row["minute"], 0) + row["n"]
    starts = [first + timedelta(minutes=i) for i in range(minutes)]
    return [Minute(start=s, families=families.get(s, 0), images=images.get(s, 0)) for s in starts]
