#!/usr/bin/env python
"""Django's command-line utility for promidata-sync."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line
    from django.db import DatabaseError

    try:
        _preflight(sys.argv)
        execute_from_command_line(sys.argv)
    except ImproperlyConfigured as exc:
        # A setting that cannot work: one line (secrets masked) and exit code 2, as the
        # README promises for a wrong configuration; a traceback would say nothing more.
        from promidata_sync.redaction import redact

        print(f"configuration error: {redact(str(exc))}", file=sys.stderr)
        sys.exit(2)
    except DatabaseError as exc:
        # Any command (migrate included) whose database went away: one line, not the driver's
        # traceback. The promidata_* commands have already been checked by _preflight.
        from promidata_sync.preflight import first_line

        print(f"database error: {first_line(exc)}", file=sys.stderr)
        sys.exit(2)


def _preflight(argv: list[str]) -> None:
    """Before a ``promidata_*`` command: a database that answers and is migrated, else one
    line and exit 2 (``promidata_sync.preflight``). ``--help`` needs no database."""
    command = argv[1] if len(argv) > 1 else ""
    # The doctor reports the database among its other checks instead of stopping at it.
    if not command.startswith("promidata_") or command == "promidata_doctor":
        return
    if {"-h", "--help"} & set(argv[2:]):
        return
    import django

    django.setup()
    from django.db import connections

    from promidata_sync.preflight import (
        CONFIGURATION_EXIT_CODE,
        DatabaseUnavailable,
        database_check,
    )

    try:
        database_check()
    except DatabaseUnavailable as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        sys.exit(CONFIGURATION_EXIT_CODE)
    finally:
        # A worker process would otherwise hold this connection idle for its whole life.
        connections.close_all()


if __name__ == "__main__":
    main()
