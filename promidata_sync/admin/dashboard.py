"""The queue dashboard: queue lengths, live workers, whether the broker is reachable, the
latest failed jobs. Every count backed by job records links to the job list filtered by its
queue and state; the page redraws its sections every ``REFRESH_INTERVAL_MS``
(``page_refresh.js``).

Mounted by ``config/urls.py`` at ``admin/promidata_sync/dashboard/`` through
``admin.site.admin_view`` (staff login); readable by whoever may view sync runs.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.views.decorators.cache import never_cache

from promidata_sync.admin import display
from promidata_sync.admin.jobs import HEAVY_COLUMNS, job_list_url
from promidata_sync.admin.permissions import can_operate
from promidata_sync.admin.throughput import throughput_context
from promidata_sync.models import Job, SyncRun
from promidata_sync.operations import get_queue_stats
from promidata_sync.queue.broker import (
    BROKER_NAMES,
    BrokerUnavailable,
    broker_check,
    broker_kind,
    broker_location,
)
from promidata_sync.queue.registry import QUEUE_NAMES
from promidata_sync.redaction import redact
from promidata_sync.services.workers import LIVE_SECONDS, workers_live

log = logging.getLogger(__name__)

COUNT_COLUMNS = ("waiting", "active", "delayed", "completed", "failed", "dead", "total")
ACTIVE_RUNS_SHOWN = 50
FAILED_JOBS_SHOWN = 10
JOB_STATES = frozenset(Job.State.values)
# How often the page redraws its sections (page_refresh.js); each redraw counts the queues.
REFRESH_INTERVAL_MS = 5000


def broker_status() -> dict:
    """``{"kind": "redis"|"rabbitmq"|"memory", "name", "reachable": bool, "text": one plain
    sentence}``."""
    kind = broker_kind()
    if kind == "memory":
        return {
            "kind": "memory",
            "name": BROKER_NAMES[kind],
            "reachable": True,
            "text": "In-memory broker (REDIS_URL is not set): queued jobs run in a worker "
            "inside the process that queued them and are lost when it exits.",
        }
    status = {"kind": kind, "name": BROKER_NAMES[kind]}
    try:
        broker_check()
    except BrokerUnavailable as exc:
        return {**status, "reachable": False, "text": str(exc)}
    except Exception as exc:  # never a traceback on the page, whatever the client raised
        log.warning("broker check failed: %s", exc)
        return {**status, "reachable": False, "text": f"{broker_location()} cannot be checked"}
    return {**status, "reachable": True, "text": f"{broker_location()} is reachable."}


def queue_rows() -> tuple[list[dict], str]:
    """One row per queue plus a total row, and an error line when counting failed."""
    try:
        stats = get_queue_stats()
    except Exception as exc:  # the broker went away between the check and the counts
        log.warning("queue statistics unavailable: %s", exc)
        return [], redact(f"Queue statistics unavailable: {type(exc).__name__}: {exc}")
    rows = [
        _row(name, [counts[c] for c in COUNT_COLUMNS], queue=name)
        for name, counts in stats["queues"].items()
    ]
    rows.append(_row("total", [stats["total"][c] for c in COUNT_COLUMNS], queue=""))
    return rows, ""


def _row(name: str, counts: list[int], *, queue: str) -> dict:
    """A queue's row: its ``counts`` and its ``cells`` (``{"n", "url"}``), where ``url`` is
    the job list filtered by that queue and state, "" where no job record answers it (dead
    letters live in the broker only)."""
    cells = []
    for column, n in zip(COUNT_COLUMNS, counts, strict=True):
        if column in JOB_STATES or column == "total":
            state = "" if column == "total" else column
            url = job_list_url(queue=queue, state=state)
        else:
            url = ""
        cells.append({"n": n, "url": url})
    return {"name": name, "counts": counts, "cells": cells}


def recent_failed_jobs(limit: int = FAILED_JOBS_SHOWN, *, of_runs: bool = False) -> list[Job]:
    """The latest failed jobs, newest first (``of_runs``: only those of a run). Filtered on
    the registry's queues so that the (queue, state) index finds them, however large the
    table."""
    jobs = Job.objects.filter(queue_name__in=QUEUE_NAMES, state=Job.State.FAILED)
    if of_runs:
        jobs = jobs.filter(run__isnull=False)
    return list(jobs.select_related("run__supplier").defer(*HEAVY_COLUMNS).order_by("-id")[:limit])


@never_cache
def dashboard_view(request):
    user = request.user
    if not (user.has_perm("promidata_sync.view_syncrun") or can_operate(user)):
        raise PermissionDenied("you may not view sync runs")
    broker = broker_status()
    rows, stats_error = queue_rows() if broker["reachable"] else ([], "")
    active_runs = list(
        SyncRun.objects.filter(state__in=SyncRun.ACTIVE_STATES)
        .select_related("supplier")
        .order_by("-created_at")[:ACTIVE_RUNS_SHOWN]
    )
    context = {
        **admin.site.each_context(request),
        "title": "Queue dashboard",
        "broker": broker,
        "columns": COUNT_COLUMNS,
        "queue_rows": rows,
        "stats_error": stats_error,
        "workers": workers_live(),
        "live_seconds": LIVE_SECONDS,
        "retention_days": settings.PROMIDATA_JOB_RETENTION_DAYS,
        "refresh_interval_ms": REFRESH_INTERVAL_MS,
        "failed_jobs": recent_failed_jobs(),
        "failed_jobs_url": job_list_url(state=Job.State.FAILED),
        "throughput": throughput_context(),
        "active_runs": [
            {
                "run": run,
                "badge": display.state_badge(run.state, run_id=run.pk),
                "families": display.progress_bar(run, "families"),
                "images": display.progress_bar(run, "images"),
            }
            for run in active_runs
        ],
    }
    return TemplateResponse(request, "admin/promidata_sync/dashboard.html", context)
