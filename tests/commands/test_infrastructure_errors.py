"""A database or broker the commands cannot use is one line on stderr and exit 2, for every
``promidata_*`` command, never a traceback nor a password."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = (ROOT / "sample_feed" / "Import" / "Import.txt").as_uri()


def _manage(command: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    base = {
        k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "BROKER_URL", "DATABASE_URL")
    }
    return subprocess.run(
        [sys.executable, "manage.py", command],
        cwd=ROOT,
        env={
            **base,
            "PROMIDATA_IMPORT_URL": SAMPLE,
            "PROMIDATA_LOG_FILE": str(tmp_path / "log"),
            "PROMIDATA_VAR_DIR": str(tmp_path / "var"),
            **env,
        },
        capture_output=True,
        text=True,
        timeout=60,
    )


def _one_line(done: subprocess.CompletedProcess) -> str:
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode == 2, done.stderr
    assert len(lines) == 1, done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    return lines[0]


COMMANDS = ["promidata_status", "promidata_sync"]


@pytest.mark.parametrize("command", COMMANDS)
def test_a_database_on_a_closed_port_is_one_line_and_exit_2(command, tmp_path):
    done = _manage(command, tmp_path, DATABASE_URL="postgres://sync:s3cret@127.0.0.1:1/catalog")
    line = _one_line(done)
    assert "PostgreSQL database 'catalog' at 127.0.0.1:1 is unreachable" in line
    assert "DATABASE_URL" in line
    assert "s3cret" not in done.stderr + done.stdout


@pytest.mark.parametrize("command", COMMANDS)
def test_a_database_never_migrated_is_one_line_naming_migrate(command, tmp_path):
    empty = tmp_path / "empty.sqlite3"
    done = _manage(command, tmp_path, DATABASE_URL=f"sqlite:///{empty}")
    line = _one_line(done)
    assert f"SQLite {empty} is not migrated" in line
    assert "run python manage.py migrate" in line


@pytest.mark.parametrize(
    ("command", "variable", "value", "says"),
    [
        ("promidata_status", "REDIS_URL", "localhost:6379", "is not a redis://, rediss://"),
        ("promidata_sync", "REDIS_URL", "localhost:6379", "is not a redis://, rediss://"),
        ("promidata_status", "BROKER_URL", "rabbit:s3cret@mq:5672", "is not an amqp://"),
    ],
)
def test_a_broker_url_without_a_scheme_is_one_line_and_exit_2(
    command, variable, value, says, tmp_path
):
    done = _manage(
        command, tmp_path, DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}", **{variable: value}
    )
    line = _one_line(done)
    assert line.startswith(f"configuration error: {variable}")
    assert says in line
    assert "s3cret" not in done.stderr


def test_a_worker_against_a_closed_database_port_stops_at_once(tmp_path):
    redis_url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    done = _manage(
        "promidata_worker",
        tmp_path,
        DATABASE_URL="postgres://sync:s3cret@127.0.0.1:1/catalog",
        REDIS_URL=redis_url,
    )
    assert "is unreachable" in _one_line(done)


def test_migrate_itself_runs_on_the_empty_database(tmp_path):
    """The check stands in front of the promidata_* commands only: migrate must still work."""
    done = _manage("migrate", tmp_path, DATABASE_URL=f"sqlite:///{tmp_path / 'fresh.sqlite3'}")
    assert done.returncode == 0, done.stderr
