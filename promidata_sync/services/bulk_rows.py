"""Inserting many rows whose ids nobody needs back: ``COPY`` on PostgreSQL.

A family's leaf rows (price tiers of every region, print option and cost tiers, position
images) are nine in ten of the rows a sync writes, thousands per heavy family. Built as model
instances and sent through ``bulk_create`` they cost the writing thread about four times what
the database needs for them: an object per row, every value prepared by its field, the rows
escaped into arrays and quoted into one SQL string (``scripts/benchmark_first_import.py``
shows the split). ``COPY ... FROM STDIN`` streams plain tuples in psycopg's C encoder instead.

``insert_rows`` takes values the parser has already validated against the columns
(``feed/limits.py``), in the order of ``columns``; it runs in the caller's transaction, so the
rows commit or roll back with their family. Other databases (SQLite for the quick start) get
``bulk_create`` with the same result.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from contextlib import nullcontext

from django.db import connections, router
from django.db.backends.utils import CursorDebugWrapper
from django.db.models import Model


def insert_rows(model: type[Model], columns: Sequence[str], rows: Sequence[tuple]) -> int:
    """Insert ``rows`` (tuples of values for ``columns``, field names or attnames such as
    ``option_id``) into ``model``'s table; return how many. Sends no signals and sets no
    Python-side defaults: ``columns`` must name every column without a database default."""
    if not rows:
        return 0
    connection = connections[router.db_for_write(model)]
    if connection.vendor != "postgresql":
        model._default_manager.bulk_create(
            [model(**dict(zip(columns, row, strict=True))) for row in rows]
        )
        return len(rows)
    quote = connection.ops.quote_name
    names = ", ".join(quote(_column(model, name)) for name in columns)
    sql = f"COPY {quote(model._meta.db_table)} ({names}) FROM STDIN"

    def copy_rows(sql, params, many, context):
        connection.validate_no_broken_transaction()
        with connection.wrap_database_errors, context["cursor"].cursor.copy(sql) as copy:
            for row in rows:
                copy.write_row(row)

    with connection.cursor() as cursor:
        # Like any statement: through the connection's execute wrappers (instrumentation sees
        # it) and, when queries are logged, into connection.queries (query-count tests).
        executor = copy_rows
        for wrapper in reversed(connection.execute_wrappers):
            executor = functools.partial(wrapper, executor)
        logged = (
            cursor.debug_sql(f"{sql} -- {len(rows)} rows")
            if isinstance(cursor, CursorDebugWrapper)
            else nullcontext()
        )
        with logged:
            executor(sql, None, False, {"connection": connection, "cursor": cursor})
    return len(rows)


def _column(model: type[Model], name: str) -> str:
    """The database column of a concrete field named ``name`` (or its attname)."""
    field = model._meta.get_field(name)
    column = getattr(field, "column", None)
    if not isinstance(column, str):
        raise ValueError(f"{model.__name__}.{name} has no column")
    return column
