"""``promidata_doctor``: the whole set-up checked at once, one line per check.

Each check answers ok, fail (with a hint saying what to do) or skip (it needs something that
failed first, such as the database). Nothing is written, except what the broker and storage
checks themselves need (a ping; the storage check touches nothing). Secrets never appear: the
import URL is shown masked, database and broker without passwords.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

from django.conf import settings

from promidata_sync.checks import StorageUnavailable, storage_check
from promidata_sync.preflight import DatabaseUnavailable, database_check, database_location
from promidata_sync.queue.broker import (
    BrokerUnavailable,
    broker_check,
    broker_location,
    is_persistent,
)
from promidata_sync.queue.registry import QUEUE_NAMES
from promidata_sync.redaction import mask_url, redact

OK, FAIL, SKIP = "ok", "fail", "skip"
# One attempt, bounded: the doctor answers in seconds, not after the sync's retries.
IMPORT_CHECK_DEADLINE_SECONDS = 30.0


@dataclass(frozen=True)
class Finding:
    """One check's answer: ``status`` is ``ok``, ``fail`` or ``skip``; ``hint`` says what to
    do about a failure."""

    check: str
    status: str
    detail: str
    hint: str = ""


def diagnose() -> list[Finding]:
    """Every check, in order: database, broker, storage, import URL, workers per queue, and
    the settings each live worker reports against this process's."""
    findings = [_run("database", _database), _run("broker", _broker)]
    findings.append(_run("storage", _storage))
    findings.append(_run("import URL", _import_url))
    database_ok = findings[0].status == OK
    if not is_persistent():
        findings.append(
            Finding(
                "workers",
                SKIP,
                "in-memory broker (no REDIS_URL or BROKER_URL): queue mode runs inside the "
                "process that starts a sync; there are no separate workers to check",
            )
        )
    elif not database_ok:
        findings.append(Finding("workers", SKIP, "needs the database"))
    else:
        findings.extend(_workers())
    return findings


def failed(findings: list[Finding]) -> bool:
    return any(f.status == FAIL for f in findings)


def as_json(findings: list[Finding]) -> dict:
    """``{"ok": bool, "checks": [{"check", "status", "detail", "hint"}, ...], "settings":
    {...}}``; ``settings`` is this process's fingerprint, as workers report theirs."""
    from promidata_sync.services.fingerprint import settings_fingerprint

    return {
        "ok": not failed(findings),
        "checks": [asdict(f) for f in findings],
        "settings": settings_fingerprint(),
    }


def _run(name: str, check: Callable[[], Finding]) -> Finding:
    """A check that raises something unexpected fails with its type, never a traceback."""
    try:
        return check()
    except Exception as exc:
        return Finding(name, FAIL, redact(f"unexpected {type(exc).__name__}: {exc}"))


def _database() -> Finding:
    try:
        database_check()
    except DatabaseUnavailable as exc:
        hint = (
            "run python manage.py migrate"
            if "not migrated" in str(exc)
            else "start the database or correct DATABASE_URL (in .env)"
        )
        return Finding("database", FAIL, str(exc), hint)
    return Finding("database", OK, f"{database_location()}, migrated")


def _broker() -> Finding:
    try:
        broker_check()
    except BrokerUnavailable as exc:
        return Finding(
            "broker", FAIL, str(exc), "start Redis or RabbitMQ, or correct REDIS_URL / BROKER_URL"
        )
    return Finding("broker", OK, f"{broker_location()} answers")


def _storage() -> Finding:
    try:
        storage_check()
    except StorageUnavailable as exc:
        return Finding("storage", FAIL, str(exc), "see docs/storage.md")
    return Finding("storage", OK, f"{_storage_place()} is writable")


def _storage_place() -> str:
    options = settings.STORAGES["default"].get("OPTIONS", {})
    if "bucket_name" in options:
        return f"bucket {options['bucket_name']!r}"
    return f"media folder {settings.MEDIA_ROOT}"


def _import_url() -> Finding:
    from promidata_sync.conf import SyncConfig
    from promidata_sync.fetching import Fetcher, FetchError

    url = settings.PROMIDATA_IMPORT_URL
    if not url:
        return Finding(
            "import URL",
            FAIL,
            "PROMIDATA_IMPORT_URL is not set",
            "set it in .env to your profile's Import.txt URL (every process reads .env)",
        )
    config = SyncConfig.from_settings(
        http_attempts=1,
        http_deadline_seconds=min(
            IMPORT_CHECK_DEADLINE_SECONDS, settings.PROMIDATA_HTTP_DEADLINE_SECONDS
        ),
    )
    try:
        fetched = Fetcher(config).get(url, max_bytes=settings.PROMIDATA_MAX_INDEX_BYTES)
    except FetchError as exc:
        return Finding(
            "import URL",
            FAIL,
            redact(str(exc)),
            "check PROMIDATA_IMPORT_URL (and PROMIDATA_ALLOWED_HOSTS for another host)",
        )
    lines = len(fetched.content.splitlines())
    return Finding("import URL", OK, f"{mask_url(url)} is readable ({lines} lines)")


def _workers() -> list[Finding]:
    from promidata_sync.services.fingerprint import fingerprint_differences, settings_fingerprint
    from promidata_sync.services.workers import LIVE_SECONDS, workers_live

    live = workers_live()
    findings = []
    for queue in QUEUE_NAMES:
        serving = [w for w in live if queue in w.queues]
        if serving:
            threads = sum(w.threads for w in serving)
            findings.append(
                Finding(
                    f"workers {queue}",
                    OK,
                    f"{len(serving)} live worker(s), {threads} thread(s)",
                )
            )
        else:
            findings.append(
                Finding(
                    f"workers {queue}",
                    FAIL,
                    f"no worker heard from in the last {LIVE_SECONDS} s",
                    "start python manage.py promidata_workers (systemd: docs/deployment.md)",
                )
            )
    mine = settings_fingerprint()
    for worker in live:
        name = f"{worker.hostname}:{worker.pid}"
        if not worker.settings_fingerprint:
            findings.append(
                Finding(
                    f"settings {name}",
                    SKIP,
                    "this worker reports no settings (an older version)",
                )
            )
            continue
        differences = fingerprint_differences(mine, worker.settings_fingerprint)
        if differences:
            findings.append(
                Finding(
                    f"settings {name}",
                    FAIL,
                    "; ".join(differences),
                    "start the worker with the same .env as this shell, then restart it",
                )
            )
        else:
            findings.append(Finding(f"settings {name}", OK, "same settings as here"))
    return findings
