"""``GET /metrics``: the Prometheus metrics (``promidata_sync.metrics``), for a scraper.

Not part of the JSON API (nor of its OpenAPI document): a plain Django view at the path
Prometheus asks by default. It takes the API's authentication with the scope
``metrics:read``: ``Authorization: Bearer <PROMIDATA_METRICS_TOKEN>`` or an API key holding
the scope. No or wrong credentials: 401; credentials without the scope: 403; each with the
API's ``{"error": ...}`` and no figure. A failure while reading the figures is logged and
answered with a plain 500 (Prometheus marks the target down), never a traceback.

The answer is the classic text format 0.0.4, which every Prometheus version reads (the names
are plain ASCII, so the newer formats would say nothing more).
"""

from __future__ import annotations

import logging

from django.http import HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

from promidata_sync.http.auth import metrics_auth
from promidata_sync.http.errors import ApiError, json_error
from promidata_sync.metrics import metrics_exposition

log = logging.getLogger(__name__)


@never_cache
@require_safe
def metrics_view(request):
    try:
        metrics_auth(request)
    except ApiError as exc:
        return json_error(exc.status, exc.message, **exc.headers)
    try:
        body = metrics_exposition()
    except Exception:
        log.exception("metrics: the figures could not be read")
        return HttpResponse(
            "metrics unavailable (logged on the server)\n", status=500, content_type="text/plain"
        )
    return HttpResponse(body, content_type=CONTENT_TYPE_PLAIN_0_0_4)
