#!/usr/bin/env python3
"""Run the test suite, doing all set-up first.

    python3 scripts/test.py [pytest arguments]

Installs Debian's Chromium for the browser tests when it is missing (or stops with one clear
line), creates .venv with the locked dependencies, checks ruff and mypy (services, queue,
tasks), and runs pytest against PostgreSQL, Redis and RabbitMQ (DATABASE_URL, TEST_REDIS_URL
and TEST_BROKER_URL, defaulting to the local servers on their usual ports). The tests start
their own loopback feed and S3 servers.
"""

from __future__ import annotations

import os
import shutil
import sys

from _bootstrap import ensure_venv, run

DEFAULTS = {
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/promidata_sync",
    "TEST_REDIS_URL": "redis://127.0.0.1:6379/15",
    "TEST_BROKER_URL": "amqp://guest:guest@127.0.0.1:5672/promidata_test",
}


CHROMIUM = "/usr/bin/chromium"


def ensure_chromium() -> int:
    """The browser tests drive Debian's Chromium: install it when it is missing (as root,
    with apt-get), or stop with one clear line. Never a silent skip."""
    if os.path.exists(CHROMIUM):
        return 0
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("installing Debian's chromium for the browser tests (apt-get)", flush=True)
        env = {"DEBIAN_FRONTEND": "noninteractive"}
        code = run(["apt-get", "update", "-qq"], env) or run(
            ["apt-get", "install", "-y", "-qq", "chromium"], env
        )
        if code == 0 and os.path.exists(CHROMIUM):
            return 0
    print(
        f"{CHROMIUM} is missing and could not be installed: run `apt-get install chromium` "
        'as root, or leave the browser tests out with -m "not browser"',
        file=sys.stderr,
    )
    return 2


def main() -> int:
    if "not browser" not in " ".join(sys.argv[1:]):
        code = ensure_chromium()
        if code:
            return code
    python = str(ensure_venv())
    env = {k: os.environ.get(k, v) for k, v in DEFAULTS.items()}
    checks = (
        ("ruff", ["-m", "ruff", "check", "."]),
        ("ruff", ["-m", "ruff", "format", "--check", "."]),
        ("mypy", ["-m", "mypy"]),  # the files are named in pyproject.toml
    )
    for tool, check in checks:
        code = run([python, *check], env)
        if code:
            print(f"{tool} found problems (see above)", file=sys.stderr)
            return code
    return run([python, "-m", "pytest", *sys.argv[1:]], env)


if __name__ == "__main__":
    sys.exit(main())
