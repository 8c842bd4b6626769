#!/usr/bin/env python
"""Django's command-line utility for promidata-sync."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    try:
        execute_from_command_line(sys.argv)
    except ImproperlyConfigured as exc:
        # A setting that cannot work: one line (secrets masked) and exit code 2, as the
        # README promises for a wrong configuration; a traceback would say nothing more.
        from promidata_sync.redaction import redact

        print(f"configuration error: {redact(str(exc))}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
