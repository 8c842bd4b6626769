"""Can this process use its database at all? Asked once, before a ``promidata_*`` command runs.

A wrong ``DATABASE_URL`` or a database nobody migrated would otherwise surface deep inside a
command as 25 to 60 lines of traceback. ``database_check()`` answers in one line naming the
database (password masked) and what to do; ``manage.py`` prints it and exits 2, like any other
configuration error (``DATABASE_EXIT_CODE``).
"""

from __future__ import annotations

from django.db import DatabaseError, connections

from promidata_sync.redaction import redact

# The exit status of a configuration the process cannot work with (README: "exit 2").
CONFIGURATION_EXIT_CODE = 2


class DatabaseUnavailable(Exception):
    """The database cannot be reached, or is not migrated; the message says which, in one
    line, without its password."""


def database_location(alias: str = "default") -> str:
    """``PostgreSQL promidata at 127.0.0.1:5432`` or ``SQLite /path/db.sqlite3``: no password."""
    conf = connections[alias].settings_dict
    engine = conf.get("ENGINE", "").rsplit(".", 1)[-1]
    if engine == "sqlite3":
        return f"SQLite {conf.get('NAME')}"
    vendor = {"postgresql": "PostgreSQL", "mysql": "MySQL"}.get(engine, engine)
    port = f":{conf['PORT']}" if conf.get("PORT") else ""
    return f"{vendor} database {conf.get('NAME')!r} at {conf.get('HOST') or 'localhost'}{port}"


def database_check(alias: str = "default") -> None:
    """Raise ``DatabaseUnavailable`` unless the database answers and has every migration.

    Reachable: one connection is opened (the driver's own connect timeout applies).
    Migrated: Django's migration plan towards the latest migrations is empty. Nothing is
    written; a check never creates the SQLite file's tables.
    """
    from django.db.migrations.executor import MigrationExecutor

    connection = connections[alias]
    where = database_location(alias)
    try:
        connection.ensure_connection()
    except DatabaseError as exc:
        raise DatabaseUnavailable(
            f"{where} is unreachable ({first_line(exc)}); is it running and is DATABASE_URL right?"
        ) from None
    try:
        executor = MigrationExecutor(connection)
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except DatabaseError as exc:
        raise DatabaseUnavailable(
            f"{where} cannot be read ({first_line(exc)}); is DATABASE_URL right?"
        ) from None
    if plan:
        apps = sorted({migration.app_label for migration, _backwards in plan})
        raise DatabaseUnavailable(
            f"{where} is not migrated ({len(plan)} migration(s) of {', '.join(apps)} to apply): "
            "run python manage.py migrate"
        )


def first_line(exc: BaseException) -> str:
    """The driver's message, first line only (psycopg adds hints on further lines)."""
    text = str(exc).strip().splitlines()
    return redact(text[0] if text else type(exc).__name__)
