#!/usr/bin/env python3
"""Sync the bundled sample feed into a local SQLite catalog, doing all set-up first.

    python3 scripts/quickstart.py

Creates .venv with the locked dependencies, writes ``.env`` when there is none (the sample
import URL, a SQLite database and a media folder under var/; an existing ``.env`` is never
touched), migrates the database and runs ``manage.py promidata_sync --direct``. Every later
process (the web app, ``promidata_workers``, cron) reads the same ``.env``, so the settings live
in one place. Needs no other service. Exits with the sync's exit code. Running it again fetches
nothing: the sample has not changed.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

from _bootstrap import ROOT, ensure_venv, run

DOTENV = ROOT / ".env"


def dotenv_defaults(root: Path = ROOT) -> dict[str, str]:
    var = root / "var"
    return {
        "PROMIDATA_IMPORT_URL": (root / "sample_feed" / "Import" / "Import.txt").as_uri(),
        "DATABASE_URL": f"sqlite:///{var / 'db.sqlite3'}",
        "MEDIA_ROOT": str(var / "media"),
    }


def write_dotenv(path: Path = DOTENV, *, root: Path = ROOT, environ=os.environ) -> bool:
    """Write ``path`` with the quick start's settings unless it exists; True if written.

    Private to its owner (mode 0600): an import URL holds the profile GUID.
    """
    if path.exists():
        return False
    values = {name: environ.get(name) or value for name, value in dotenv_defaults(root).items()}
    # The settings find DATABASE_URL set, so they no longer create var/ for the SQLite file.
    (root / "var").mkdir(exist_ok=True)
    lines = [
        "# Written by scripts/quickstart.py (never overwritten): the settings every process",
        "# of this checkout reads (manage.py, the web app, promidata_workers, cron jobs).",
        "# .env.example lists every other variable, with its default.",
        *(f"{name}={value}" for name, value in values.items()),
        "",
    ]
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write("\n".join(lines))
    return True


def dotenv_sets(name: str, path: Path = DOTENV) -> bool:
    """True when ``path`` assigns ``name`` (a commented-out line does not count)."""
    if not path.is_file():
        return False
    return re.search(rf"^\s*(export\s+)?{re.escape(name)}\s*=", path.read_text(), re.M) is not None


def main() -> int:
    python = str(ensure_venv())
    if write_dotenv():
        print(f"Wrote {DOTENV} (sample feed, SQLite, media under var/); edit it for your own feed.")
    env = {}
    if not os.environ.get("PROMIDATA_IMPORT_URL") and not dotenv_sets("PROMIDATA_IMPORT_URL"):
        # An older .env without an import URL: the quick start still syncs the sample.
        env["PROMIDATA_IMPORT_URL"] = dotenv_defaults()["PROMIDATA_IMPORT_URL"]
    code = run([python, "manage.py", "migrate", "--noinput", "-v", "0"], env)
    if code:
        return code
    return run([python, "manage.py", "promidata_sync", "--direct", *sys.argv[1:]], env)


if __name__ == "__main__":
    sys.exit(main())
