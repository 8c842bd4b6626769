"""The health of the sync system, for ``/healthz``: database, broker, workers.

Healthy means: the database answers; the broker is reachable, or none is configured (no
REDIS_URL: queue mode runs in-process); and, with Redis, at least one worker has sent a
heartbeat in the last minute (without one, queued syncs would wait forever). Each check
catches its own errors: the report is always produced, and names no host or password.
"""

from __future__ import annotations

import logging

from django.db import connection

from promidata_sync.queue.broker import BrokerUnavailable, broker_check, is_persistent
from promidata_sync.services.workers import LIVE_SECONDS, workers_live

log = logging.getLogger(__name__)

OK = "ok"
NOT_CONFIGURED = "not configured"


def check_database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:
        log.warning("health check: database unavailable: %s", exc)
        return f"unavailable ({type(exc).__name__})"
    return OK


def check_redis() -> str:
    try:
        if not is_persistent():
            return NOT_CONFIGURED
        broker_check()
    except BrokerUnavailable as exc:
        log.warning("health check: %s", exc)
        return "unreachable"
    except Exception as exc:
        log.warning("health check: broker check failed: %s", exc)
        return f"error ({type(exc).__name__})"
    return OK


def count_workers() -> int | None:
    try:
        return len(workers_live(within_seconds=LIVE_SECONDS))
    except Exception as exc:
        log.warning("health check: could not read worker heartbeats: %s", exc)
        return None


def health_report() -> dict:
    """``{"status": "ok"|"unhealthy", "database", "redis", "workers", "problems": [...]}``."""
    database = check_database()
    redis = check_redis()
    workers = count_workers() if database == OK else None
    problems = []
    if database != OK:
        problems.append(f"database {database}")
    if redis not in (OK, NOT_CONFIGURED):
        problems.append(f"redis {redis}")
    if redis == OK and not workers:
        problems.append(f"no worker seen in the last {LIVE_SECONDS} seconds")
    return {
        "status": "unhealthy" if problems else "ok",
        "database": database,
        "redis": redis,
        "workers": workers,
        "workers_window_seconds": LIVE_SECONDS,
        "problems": problems,
    }
