#!/usr/bin/env python3
"""Refresh the admin screenshots in docs/ (supplier-list, sync-running, queue-dashboard, and
img/job-page, img/dashboard-jobs).

    python3 scripts/screenshots.py

Runs tests/browser/docs_screenshots.py (not collected by the suite) with pytest: a synthetic
feed on loopback, pytest-django's live server and Debian's headless Chromium
(``apt-get install chromium``). Needs PostgreSQL like the test suite (DATABASE_URL, default
the local server); no Redis (queue mode uses the in-process worker).
"""

from __future__ import annotations

import os
import sys

from _bootstrap import ensure_venv, run

DEFAULTS = {"DATABASE_URL": "postgres://postgres@127.0.0.1:5432/promidata_sync"}


def main() -> int:
    python = str(ensure_venv())
    env = {k: os.environ.get(k, v) for k, v in DEFAULTS.items()}
    test = "tests/browser/docs_screenshots.py"
    return run([python, "-m", "pytest", test, "-q", "-p", "no:cacheprovider", *sys.argv[1:]], env)


if __name__ == "__main__":
    sys.exit(main())
