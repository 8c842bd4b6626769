#!/usr/bin/env python3
"""Run the test suite, doing all set-up first.

    python3 scripts/test.py [pytest arguments]

Creates .venv with the locked dependencies, checks ruff, and runs pytest against PostgreSQL
and Redis (DATABASE_URL and REDIS_URL, defaulting to the local servers on their usual ports).
The tests start their own loopback feed and S3 servers.
"""

from __future__ import annotations

import os
import sys

from _bootstrap import ensure_venv, run

DEFAULTS = {
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/promidata_sync",
    "TEST_REDIS_URL": "redis://127.0.0.1:6379/15",
}


def main() -> int:
    python = str(ensure_venv())
    env = {k: os.environ.get(k, v) for k, v in DEFAULTS.items()}
    for check in (["-m", "ruff", "check", "."], ["-m", "ruff", "format", "--check", "."]):
        code = run([python, *check], env)
        if code:
            print("ruff found problems (see above)", file=sys.stderr)
            return code
    return run([python, "-m", "pytest", *sys.argv[1:]], env)


if __name__ == "__main__":
    sys.exit(main())
