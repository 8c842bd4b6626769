"""JSON endpoints for scripts (under ``api/``) and the ``/healthz`` check.

    POST api/sync                    {"supplier": "A23"} or {} for all active suppliers
    GET  api/runs/<id>               run_status(run)
    GET  api/jobs/<queue>/<job_id>   get_job_status(queue, job_id)
    GET  api/queues[/<name>]         get_queue_stats([name])

Each view validates its input and calls the service API; authentication, CSRF and the
``{"error": ...}`` shape live in ``api_auth``. Bad input is a 4xx, never a 500.
"""

from __future__ import annotations

import json
import uuid

from django.core.exceptions import RequestDataTooBig
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from promidata_sync.api import (
    UnknownSupplier,
    get_job_status,
    get_queue_stats,
    run_status,
    start_sync,
)
from promidata_sync.api_auth import ApiError, api_view, json_error
from promidata_sync.feed.limits import supplier_code_problem
from promidata_sync.health import health_report
from promidata_sync.models import SyncRun
from promidata_sync.queue.broker import QUEUES, BrokerUnavailable, broker_check
from promidata_sync.services.feed_index import FeedUnreadable

SYNC_FIELDS = {"supplier", "force"}


@api_view("POST")
def sync_start(request):
    """Queue a sync of one supplier (``{"supplier": "A23"}``) or of all active ones (``{}``).

    202 with ``start_sync``'s result; a supplier already syncing keeps its run (its job says
    ``already_running``). Unknown keys are refused: a misspelt "supplier" must not sync all.
    """
    body = _json_object(request)
    unknown = sorted(set(body) - SYNC_FIELDS)
    if unknown:
        raise ApiError(400, f"unknown field(s) {', '.join(unknown)}; allowed: supplier, force")
    supplier = body.get("supplier")
    if supplier is not None and (
        not isinstance(supplier, str) or supplier_code_problem(supplier.strip()) is not None
    ):
        raise ApiError(400, 'supplier must be a supplier code such as "A23"')
    force = body.get("force", False)
    if not isinstance(force, bool):
        raise ApiError(400, "force must be true or false")
    try:
        result = start_sync(
            supplier.strip() if supplier else None,
            use_queue=True,
            trigger=SyncRun.Trigger.API,
            force=force,
        )
    except UnknownSupplier as exc:
        raise ApiError(404, str(exc)) from None
    except BrokerUnavailable as exc:
        raise ApiError(503, str(exc)) from None
    except FeedUnreadable as exc:
        raise ApiError(502, f"feed unreadable: {exc}") from None
    return JsonResponse(result, status=202)


@api_view("GET", "HEAD")
def run_detail(request, run_id: str):
    run = SyncRun.objects.select_related("supplier").filter(pk=_positive_int(run_id)).first()
    if run is None:
        raise ApiError(404, f"no sync run {run_id}")
    return run_status(run)


@api_view("GET", "HEAD")
def job_detail(request, queue_name: str, job_id: str):
    _known_queue(queue_name)
    try:
        uuid.UUID(job_id)
    except ValueError:
        raise ApiError(400, "malformed job id: expected a UUID") from None
    status = get_job_status(queue_name, job_id)
    if status is None:
        raise ApiError(404, f"no job {job_id} in queue {queue_name}")
    return status


@api_view("GET", "HEAD")
def queue_stats(request, queue_name: str | None = None):
    if queue_name is not None:
        _known_queue(queue_name)
    try:
        broker_check()
    except BrokerUnavailable as exc:
        raise ApiError(503, str(exc)) from None
    return get_queue_stats(queue_name)


@never_cache
def not_found(request, path: str = ""):
    """Anything else under ``api/``: a JSON 404 instead of the HTML page."""
    return json_error(404, f"no API endpoint at /api/{path}")


@never_cache
@require_safe
def healthz(request):
    """Health of the sync system (``health.health_report``); 200 healthy, 503 otherwise.

    No authentication (load balancers and monitors call it), so it says what is wrong without
    naming hosts, and it never answers with a traceback.
    """
    try:
        report = health_report()
    except Exception:  # health_report catches per check; this is the last line of defence
        report = {"status": "unhealthy", "problems": ["health check failed"]}
    return JsonResponse(report, status=200 if report["status"] == "ok" else 503)


def _json_object(request) -> dict:
    """The request body as a JSON object, or a 400 for anything else: not JSON, not UTF-8,
    nested too deeply, a number Python refuses (over 4,300 digits), or over Django's
    DATA_UPLOAD_MAX_MEMORY_SIZE."""
    try:
        body = json.loads(request.body or b"")
    except RequestDataTooBig:
        raise ApiError(400, "the body is too large") from None
    except (ValueError, RecursionError):  # JSONDecodeError and UnicodeDecodeError included
        body = None
    if not isinstance(body, dict):
        raise ApiError(400, 'the body must be a JSON object, e.g. {"supplier": "A23"} or {}')
    return body


def _positive_int(value: str) -> int:
    if not value.isascii() or not value.isdigit() or len(value) > 18:
        raise ApiError(400, f"malformed run id {value[:40]!r}: expected a number")
    return int(value)


def _known_queue(name: str) -> None:
    if name not in QUEUES:
        raise ApiError(404, f"unknown queue {name[:64]!r}; queues are {', '.join(QUEUES)}")
