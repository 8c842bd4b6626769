#!/usr/bin/env python3
"""Sync the bundled sample feed into a local SQLite catalog, doing all set-up first.

    python3 scripts/quickstart.py

Creates .venv with the locked dependencies, migrates the database (var/db.sqlite3 unless
DATABASE_URL is set) and runs ``manage.py promidata_sync --direct`` against
sample_feed/Import/Import.txt (unless PROMIDATA_IMPORT_URL is set). Needs no other service.
Exits with the sync's exit code. Running it again fetches nothing: the sample has not changed.
"""

from __future__ import annotations

import sys

from _bootstrap import ROOT, ensure_venv, run


def main() -> int:
    python = str(ensure_venv())
    sample = (ROOT / "sample_feed" / "Import" / "Import.txt").as_uri()
    env = {"PROMIDATA_IMPORT_URL": __import__("os").environ.get("PROMIDATA_IMPORT_URL", sample)}
    code = run([python, "manage.py", "migrate", "--noinput", "-v", "0"], env)
    if code:
        return code
    return run([python, "manage.py", "promidata_sync", "--direct", *sys.argv[1:]], env)


if __name__ == "__main__":
    sys.exit(main())
