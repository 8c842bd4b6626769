"""What a process is configured to work against, in a form two processes can compare.

Workers publish it in their heartbeat; ``promidata_doctor`` compares each live worker's with
its own and names every field that differs, which catches the commonest multi-shell mistake:
a worker started without the settings (``.env``) the operator set in another shell.

Hosts, names and kinds only: never the profile GUID of the import URL, a password or a key.
"""

from __future__ import annotations

import functools
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings

# Field name -> what the doctor calls it when two processes disagree.
FIELD_LABELS = {
    "import_host": "import URL host (PROMIDATA_IMPORT_URL)",
    "database": "database (DATABASE_URL)",
    "broker": "broker (REDIS_URL / BROKER_URL)",
    "storage": "media storage (MEDIA_ROOT / AWS_STORAGE_BUCKET_NAME)",
    "code_version": "code version",
}
GIT_TIMEOUT_SECONDS = 2


def settings_fingerprint() -> dict[str, str]:
    """This process's fingerprint: one short string per ``FIELD_LABELS`` key.

    ``import_host`` is ``"file"`` for a local Import.txt and ``""`` when none is set; the
    database is engine, host, port and name; the broker its kind and host; the storage its
    backend and bucket or folder; the code version the git revision (or the package version
    outside a checkout).
    """
    return {
        "import_host": _import_host(settings.PROMIDATA_IMPORT_URL),
        "database": _database(),
        "broker": _broker(),
        "storage": _storage(),
        "code_version": code_version(),
    }


def fingerprint_differences(mine: dict, theirs: dict) -> list[str]:
    """``"<label>: here X, worker Y"`` for every field both name and disagree on, in
    ``FIELD_LABELS`` order. A field one side lacks (an older worker) is not a difference."""
    return [
        f"{label}: here {mine[key] or '(none)'}, worker {theirs[key] or '(none)'}"
        for key, label in FIELD_LABELS.items()
        if key in mine and key in theirs and mine[key] != theirs[key]
    ]


def _import_host(url: str) -> str:
    if not url:
        return ""
    try:
        parts = urlsplit(url)
        return "file" if parts.scheme == "file" else (parts.hostname or "")
    except ValueError:
        return "<invalid URL>"


def _database() -> str:
    conf = settings.DATABASES["default"]
    engine = conf.get("ENGINE", "").rsplit(".", 1)[-1]
    if engine == "sqlite3":
        return f"sqlite:{conf.get('NAME')}"
    return f"{engine}:{conf.get('HOST') or 'localhost'}:{conf.get('PORT') or ''}/{conf.get('NAME')}"


def _broker() -> str:
    kind = settings.BROKER_KIND
    url = {"redis": settings.REDIS_URL, "rabbitmq": settings.BROKER_URL}.get(kind, "")
    if not url:
        return kind
    try:
        parts = urlsplit(url)
        return f"{kind}:{parts.hostname or ''}:{parts.port or ''}{parts.path}"
    except ValueError:
        return kind


def _storage() -> str:
    default: dict[str, Any] = settings.STORAGES["default"]  # type: ignore[assignment]
    backend = str(default["BACKEND"]).rsplit(".", 1)[-1]
    options: dict = default.get("OPTIONS", {})
    if "bucket_name" in options:
        return f"{backend}:{options.get('endpoint_url') or 'aws'}/{options['bucket_name']}"
    return f"{backend}:{settings.MEDIA_ROOT}"


@functools.cache
def code_version() -> str:
    """The git revision of this checkout (12 hex digits), else the package's version; asked
    once per process."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        done = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"],
            cwd=Path(settings.BASE_DIR),
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT_SECONDS,
        )
        if done.returncode == 0 and done.stdout.strip():
            return done.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        pass
    try:
        return version("promidata-sync")
    except PackageNotFoundError:
        return "unknown"
