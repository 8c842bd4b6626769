"""The health of the sync system, for ``/healthz``: database, broker, workers.

Healthy means: the database answers; the broker (Redis or RabbitMQ) is reachable, or none is
configured (queue mode runs in-process); and, with a broker, at least one worker has sent a
heartbeat in the last minute (without one, queued syncs would wait forever). The report says
"redis" and "rabbitmq" apart: the one not in use is "not configured". Each check
catches its own errors: the report is always produced, and names no host or password.
"""

from __future__ import annotations

import logging

from django.db import connection

from promidata_sync.queue.broker import BrokerUnavailable, broker_check, broker_kind
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


def check_broker(kind: str) -> str:
    """ "ok", "unreachable", "error (…)", or "not configured" when ``kind`` is not the broker
    in use."""
    try:
        if broker_kind() != kind:
            return NOT_CONFIGURED
        broker_check()
    except BrokerUnavailable as exc:
        log.warning("health check: %s", exc)
        return "unreachable"
    except Exception as exc:
        log.warning("health check: broker check failed: %s", exc)
        return f"error ({type(exc).__name__})"
    return OK


def check_redis() -> str:
    return check_broker("redis")


def count_workers() -> int | None:
    try:
        return len(workers_live(within_seconds=LIVE_SECONDS))
    except Exception as exc:
        log.warning("health check: could not read worker heartbeats: %s", exc)
        return None


def health_report() -> dict:
    """``{"status": "ok"|"unhealthy", "database", "redis", "rabbitmq", "workers",
    "problems": [...]}``."""
    database = check_database()
    brokers = {kind: check_broker(kind) for kind in ("redis", "rabbitmq")}
    workers = count_workers() if database == OK else None
    problems = []
    if database != OK:
        problems.append(f"database {database}")
    problems += [
        f"{kind} {state}" for kind, state in brokers.items() if state not in (OK, NOT_CONFIGURED)
    ]
    if OK in brokers.values() and not workers:
        problems.append(f"no worker seen in the last {LIVE_SECONDS} seconds")
    return {
        "status": "unhealthy" if problems else "ok",
        "database": database,
        **brokers,
        "workers": workers,
        "workers_window_seconds": LIVE_SECONDS,
        "problems": problems,
    }
