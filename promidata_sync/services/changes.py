"""Writing and reading the catalog's change feed (``catalog.models.changes``).

``changes_record`` appends one change per product inside the caller's transaction. It must
be the **last** write of that transaction: it locks the counter row until the commit, so
changes become visible in ``seq`` order, and a transaction holding the counter never waits
for another lock (no deadlock). Every writer of the catalog calls it: ``family_write``
(created, updated, reactivated), the planning of a run (deactivated, reactivated) and the
image stage (updated: a product's images arrived).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import Count, Max, Min
from django.utils import timezone

from catalog.models import CatalogChange, ChangeCounter


@dataclass(frozen=True)
class ChangeRange:
    """The changes a run made: ``first`` to ``last`` (cursors), ``count`` of them. Others'
    changes may lie between: a reader pulls ``since=first - 1`` up to ``last``."""

    first: int
    last: int
    count: int


def changes_record(
    product_ids: Iterable[int], kind: str, *, run_id: int | None = None
) -> ChangeRange | None:
    """Append a change of ``kind`` for each product (in the given order, duplicates dropped);
    return their range, None when there is none."""
    ids = list(dict.fromkeys(product_ids))
    if not ids:
        return None
    now = timezone.now()
    with transaction.atomic():
        last = _advance(len(ids))
        first = last - len(ids) + 1
        CatalogChange.objects.bulk_create(
            [
                CatalogChange(seq=first + i, product_id=pid, kind=kind, run_id=run_id, at=now)
                for i, pid in enumerate(ids)
            ]
        )
    return ChangeRange(first, last, len(ids))


def _advance(count: int) -> int:
    """Hand out ``count`` cursors: the new last one. Locks the counter row till commit."""
    table = connection.ops.quote_name(ChangeCounter._meta.db_table)
    sql = f"UPDATE {table} SET value = value + %s WHERE id = 1 RETURNING value"
    with connection.cursor() as cursor:
        cursor.execute(sql, [count])
        row = cursor.fetchone()
        if row is None:  # the row is gone (a partial restore): carry on from the feed's end
            start = CatalogChange.objects.aggregate(last=Max("seq"))["last"] or 0
            ChangeCounter.objects.get_or_create(id=1, defaults={"value": start})
            cursor.execute(sql, [count])
            row = cursor.fetchone()
    return row[0]


def changes_after(cursor: int, *, limit: int) -> list[CatalogChange]:
    """Up to ``limit`` changes after ``cursor``, oldest first, with the product's SKU and
    state and its supplier's code (only those: a product's JSON columns are large)."""
    return list(
        CatalogChange.objects.filter(seq__gt=cursor)
        .select_related("product__supplier")
        .only(
            "seq",
            "kind",
            "run_id",
            "at",
            "product__sku",
            "product__is_active",
            "product__supplier__code",
        )
        .order_by("seq")[:limit]
    )


def changes_last_cursor() -> int:
    """The cursor of the newest committed change (0 for an empty feed)."""
    return CatalogChange.objects.aggregate(last=Max("seq"))["last"] or 0


def changes_of_run(run_id: int) -> ChangeRange | None:
    """The range of the changes ``run_id`` made, None when it made none."""
    found = CatalogChange.objects.filter(run_id=run_id).aggregate(
        first=Min("seq"), last=Max("seq"), count=Count("id")
    )
    if not found["count"]:
        return None
    return ChangeRange(found["first"], found["last"], found["count"])
