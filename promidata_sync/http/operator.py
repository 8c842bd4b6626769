"""The sync operator's endpoints (scope ``sync:operate``, or a staff session with the
``promidata_sync.operate_sync`` permission):

    POST api/sync                    {"supplier": "A23"} or {} for all active suppliers
    POST api/reimport                {"skus": ["A23-100", ...]}: re-import those families now
    GET  api/runs/<id>               run_status(run)
    GET  api/jobs/<queue>/<job_id>   get_job_status(queue, job_id)
    GET  api/queues[/<name>]         get_queue_stats([name])

Each validates its input and calls the service API (``promidata_sync.operations``). Bad input is
a 4xx with ``{"error": ...}``, never a 500.
"""

from __future__ import annotations

import contextlib
import json
import uuid

from django.core.exceptions import RequestDataTooBig
from django.http import JsonResponse
from ninja import Router

from promidata_sync import operations as service
from promidata_sync.feed.limits import supplier_code_problem
from promidata_sync.http import schemas
from promidata_sync.http.auth import operator_auth
from promidata_sync.http.errors import ApiError
from promidata_sync.http.routing import route
from promidata_sync.models import SyncRun
from promidata_sync.queue.broker import BrokerUnavailable, broker_check
from promidata_sync.queue.registry import QUEUE_NAMES
from promidata_sync.services import reimport as reimport_service
from promidata_sync.services.exclusions import ExcludedFamilies
from promidata_sync.services.feed_index import FeedUnreadable
from promidata_sync.services.pauses import SyncPaused

router = Router(auth=operator_auth, tags=["operator"])

SYNC_FIELDS = {"supplier", "force"}
ERRORS = {400: schemas.Error, 401: schemas.Error, 403: schemas.Error, 429: schemas.Error}
# What starting work can answer: 202, or the caller's error, an unknown supplier or SKU (404),
# a pause or an exclusion (409), the feed (502), the broker (503).
START_RESPONSES = {
    202: schemas.Anything,
    **ERRORS,
    404: schemas.Error,
    409: schemas.Error,
    502: schemas.Error,
    503: schemas.Error,
}
SYNC_BODY = {
    "requestBody": {
        "required": False,
        "content": {
            "application/json": {
                "schema": schemas.SyncRequest.model_json_schema(),
                "example": {"supplier": "A23"},
            }
        },
    }
}


@route(
    router,
    "POST",
    "/sync",
    response=START_RESPONSES,
    openapi_extra=SYNC_BODY,
    summary="Start a sync",
)
def sync_start(request):
    """Queue a sync of one supplier (``{"supplier": "A23"}``) or of all active ones (``{}``).

    202 with ``start_sync``'s result; a supplier already syncing keeps its run (its job says
    ``already_running``). Unknown keys are refused: a misspelt "supplier" must not sync all.
    409 when syncs are paused (everything, or that supplier: the admin's Queues page).
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
    with _start_errors():
        result = service.start_sync(
            supplier.strip() if supplier else None,
            use_queue=True,
            trigger=SyncRun.Trigger.API,
            force=force,
        )
    return JsonResponse(result, status=202)


REIMPORT_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": schemas.ReimportRequest.model_json_schema(),
                "example": {"skus": ["A23-100"]},
            }
        },
    }
}


@route(
    router,
    "POST",
    "/reimport",
    response=START_RESPONSES,
    openapi_extra=REIMPORT_BODY,
    summary="Re-import families now",
)
def reimport(request):
    """Re-import the families of ``{"skus": [...]}`` (family or variant SKUs) now, whatever
    their stored hashes: 202 with the runs (one per supplier, trigger manual); 404 naming
    each unknown SKU, with suggestions, and nothing started."""
    body = _json_object(request)
    unknown = sorted(set(body) - {"skus"})
    if unknown:
        raise ApiError(400, f"unknown field(s) {', '.join(unknown)}; allowed: skus")
    skus = body.get("skus")
    if (
        not isinstance(skus, list)
        or not skus
        or not all(isinstance(s, str) and s.strip() for s in skus)
    ):
        raise ApiError(400, 'skus must be a non-empty list of SKUs, e.g. {"skus": ["A23-100"]}')
    with _start_errors():
        result = service.reimport_families(skus, use_queue=True)
    return JsonResponse(result, status=202)


@route(
    router,
    "GET",
    "/runs/{run_id}",
    response={200: schemas.Anything, **ERRORS, 404: schemas.Error},
    summary="One run",
)
def run_detail(request, run_id: str):
    """A run's state, counts and progress."""
    run = SyncRun.objects.select_related("supplier").filter(pk=_positive_int(run_id)).first()
    if run is None:
        raise ApiError(404, f"no sync run {run_id}")
    return JsonResponse(service.run_status(run))


@route(
    router,
    "GET",
    "/jobs/{queue_name}/{job_id}",
    response={200: schemas.Anything, **ERRORS, 404: schemas.Error},
    summary="One job",
)
def job_detail(request, queue_name: str, job_id: str):
    """One job of a queue: state, progress, attempts, its run."""
    _known_queue(queue_name)
    try:
        uuid.UUID(job_id)
    except ValueError:
        raise ApiError(400, "malformed job id: expected a UUID") from None
    status = service.get_job_status(queue_name, job_id)
    if status is None:
        raise ApiError(404, f"no job {job_id} in queue {queue_name}")
    return JsonResponse(status)


@route(
    router,
    "GET",
    "/queues",
    response={200: schemas.Anything, **ERRORS, 503: schemas.Error},
    summary="All queues",
)
def queue_stats(request):
    """Counts of every queue: waiting, active, delayed, completed, failed, dead."""
    return _queue_stats(None)


@route(
    router,
    "GET",
    "/queues/{queue_name}",
    response={200: schemas.Anything, **ERRORS, 404: schemas.Error, 503: schemas.Error},
    summary="One queue",
)
def one_queue_stats(request, queue_name: str):
    """Counts of one queue."""
    _known_queue(queue_name)
    return _queue_stats(queue_name)


def _queue_stats(queue_name: str | None):
    try:
        broker_check()
    except BrokerUnavailable as exc:
        raise ApiError(503, str(exc)) from None
    return JsonResponse(service.get_queue_stats(queue_name))


@contextlib.contextmanager
def _start_errors():
    """What starting work may raise, as the API's answers (``START_RESPONSES``)."""
    try:
        yield
    except reimport_service.TooManySkus as exc:
        raise ApiError(400, str(exc)) from None
    except (service.UnknownSupplier, reimport_service.UnknownSku) as exc:
        raise ApiError(404, str(exc)) from None
    except (ExcludedFamilies, SyncPaused) as exc:
        raise ApiError(409, str(exc)) from None
    except FeedUnreadable as exc:
        raise ApiError(502, f"feed unreadable: {exc}") from None
    except BrokerUnavailable as exc:
        raise ApiError(503, str(exc)) from None


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
    if name not in QUEUE_NAMES:
        raise ApiError(404, f"unknown queue {name[:64]!r}; queues are {', '.join(QUEUE_NAMES)}")
