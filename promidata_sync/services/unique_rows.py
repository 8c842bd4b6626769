"""Reading a row by a unique key, cheaply."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

T = TypeVar("T")


def unique_row(rows: Iterable[T]) -> T | None:
    """The one row of a query on a unique key, or None.

    ``QuerySet.first()`` adds ORDER BY and LIMIT, which the database does not need when at
    most one row can match, and which cost Python time to compile on paths run once per
    image. Only for queries that match at most one row.
    """
    for row in rows:
        return row
    return None
