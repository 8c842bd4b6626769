"""The NinjaAPI instance: routers, error handlers, the OpenAPI document and the docs page.

Mounted at ``api/`` by ``config/urls.py``:
    api/schema/   the OpenAPI 3 document
    api/docs/     Swagger UI, its assets served by ninja from this server (no CDN)
    api/catalog/  ``http.catalog``
    api/          ``http.operator`` (sync, runs, jobs, queues)
"""

from __future__ import annotations

from django.urls import path, re_path
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.generic import RedirectView
from ninja import NinjaAPI

from promidata_sync.http import catalog, operator
from promidata_sync.http.errors import install_error_handlers, json_error
from promidata_sync.http.routing import json_method_not_allowed

DESCRIPTION = """\
The dealer's Promidata catalog, and control of its syncs.

**Authentication.** Send `Authorization: Bearer <API key>`. Keys are created in the admin
(API keys), shown once, and hold scopes: `catalog:read` for everything under
`/api/catalog/`, `sync:operate` for syncs, runs, jobs and queues. A staff session (the
admin's login) works too; unsafe methods then need the CSRF token.

**Errors** are `{"error": "..."}` with the HTTP status: 400 bad parameter, 401 no or wrong
credentials, 403 missing scope, 404 unknown thing, 429 over the key's requests per minute
(see `Retry-After`).

**Decimals** (prices, dimensions) are strings, e.g. `"1.25"`.
"""

api = NinjaAPI(
    title="promidata-sync",
    version="1",
    description=DESCRIPTION,
    openapi_url="/schema/",
    docs_url="/docs/",
    urls_namespace="api",
)
install_error_handlers(api)
api.add_router("/catalog/", catalog.router)
api.add_router("/", operator.router)


@csrf_exempt
@never_cache
def not_found(request, path: str = ""):
    """Anything else under ``api/``: a JSON 404 instead of the HTML page."""
    return json_error(404, f"no API endpoint at /api/{path[:200]}")


def urlpatterns() -> list:
    """``api/...`` patterns: ninja's (with JSON 405s), the schema and docs without their
    slash, then the JSON 404 for the rest."""
    patterns, _app, _namespace = api.urls
    return [
        path("api/", (json_method_not_allowed(patterns), "ninja", "api")),
        path("api/schema", RedirectView.as_view(pattern_name="api:openapi-json")),
        path("api/docs", RedirectView.as_view(pattern_name="api:openapi-view")),
        re_path(r"^api/(?P<path>.*)$", not_found),
    ]
