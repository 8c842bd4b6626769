"""Shared plumbing for the benchmark scripts: a fresh database, a feed server subprocess.

The feed server runs in its own process so that its CPU time never counts as the sync's.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/promidata_bench"
# The benchmark feeds are served on loopback, which the fetcher refuses unless it is allowed.
LOOPBACK_NETWORKS = "127.0.0.0/8,::1/128"


def prepare_environment(database_url: str | None) -> Path:
    """Point Django at a fresh database and a temporary media folder; return the folder.

    PostgreSQL databases are dropped and created again; ``sqlite`` gives a file in the
    temporary folder.
    """
    work = Path(tempfile.mkdtemp(prefix="promidata-bench-"))
    url = database_url or os.environ.get("BENCH_DATABASE_URL") or DEFAULT_DATABASE_URL
    if url == "sqlite":
        url = f"sqlite:///{work / 'bench.sqlite3'}"
    elif url.startswith("postgres"):
        _recreate_postgres_database(url)
    os.environ.update(
        {
            "DATABASE_URL": url,
            "MEDIA_ROOT": str(work / "media"),
            "PROMIDATA_VAR_DIR": str(work),
            "PROMIDATA_ALLOWED_NETWORKS": LOOPBACK_NETWORKS,
            "LOG_LEVEL": "WARNING",
        }
    )
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    return work


def _recreate_postgres_database(url: str) -> None:
    import psycopg
    from psycopg import sql

    name = url.rsplit("/", 1)[1]
    admin_url = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def django_setup() -> None:
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


@contextmanager
def feed_server(**options):
    """Run ``python -m devtools.feedserver`` with ``options``; yield its URL."""
    args = [sys.executable, "-m", "devtools.feedserver"]
    for key, value in options.items():
        if value is not None:
            args += [f"--{key.replace('_', '-')}", str(value)]
    process = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        url = process.stdout.readline().strip()
        if not url.startswith("http"):
            raise RuntimeError(f"feed server did not start: {url!r}")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


def peak_rss_mb() -> float:
    """This process's peak resident memory in MB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Timer:
    """Wall and CPU seconds of a block (CPU of this process: user + system)."""

    def __enter__(self):
        self.wall0, self.cpu0 = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        self.wall = time.perf_counter() - self.wall0
        self.cpu = time.process_time() - self.cpu0
