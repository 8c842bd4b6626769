"""The ``/healthz`` check. (The JSON API is ``promidata_sync.http``.)"""

from __future__ import annotations

from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from promidata_sync.health import health_report


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
