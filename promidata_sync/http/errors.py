"""The API's one error shape: ``{"error": "<one line>"}`` with a 4xx or 5xx status.

Views and the authentication raise ``ApiError``; ninja's own exceptions (a query parameter
that does not parse, an unknown path, a throttled key) and anything unexpected are turned
into the same shape by ``install_error_handlers``. An unexpected exception is logged with its
traceback on the server and answered with a plain 500: the caller never sees a traceback.
"""

from __future__ import annotations

import logging

from django.http import Http404, JsonResponse
from ninja.errors import AuthenticationError, HttpError, ValidationError

log = logging.getLogger(__name__)


class ApiError(Exception):
    """Answer ``{"error": message}`` with ``status`` (and any extra ``headers``)."""

    def __init__(self, status: int, message: str, **headers: str):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = {name.replace("_", "-"): value for name, value in headers.items()}


def json_error(status: int, message: str, **headers: str) -> JsonResponse:
    response = JsonResponse({"error": message}, status=status)
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    response["Cache-Control"] = "no-store"
    return response


def describe_validation_error(exc: ValidationError) -> str:
    """``"quantity: Input should be a valid integer; region: Field required"``, from ninja's
    list of pydantic errors (``loc`` is e.g. ``["query", "quantity"]``)."""
    parts = []
    for error in exc.errors[:5]:
        location = [str(part) for part in error.get("loc", ()) if part not in ("query", "path")]
        field = ".".join(location) or "request"
        message = str(error.get("msg", "invalid value"))
        if error.get("type") == "missing":
            message = "is required"
        parts.append(f"{field}: {message}"[:200])
    return "; ".join(parts) or "invalid request"


def install_error_handlers(api) -> None:
    """Route every exception ninja hands to ``api.on_exception`` to ``{"error": ...}``."""

    def api_error(request, exc: ApiError):
        return json_error(exc.status, exc.message, **exc.headers)

    def validation_error(request, exc: ValidationError):
        return json_error(400, describe_validation_error(exc))

    def authentication_error(request, exc: AuthenticationError):
        return json_error(
            401,
            "authentication required: 'Authorization: Bearer <API key>' or a staff session",
            WWW_Authenticate="Bearer",
        )

    def http_error(request, exc: HttpError):
        return json_error(exc.status_code, str(exc))

    def not_found(request, exc: Http404):
        return json_error(404, str(exc) or "not found")

    def unexpected(request, exc: Exception):
        log.exception("API %s %s failed", request.method, request.path)
        return json_error(500, "internal error (logged on the server)")

    api.add_exception_handler(Exception, unexpected)
    api.add_exception_handler(Http404, not_found)
    api.add_exception_handler(HttpError, http_error)
    api.add_exception_handler(AuthenticationError, authentication_error)
    api.add_exception_handler(ValidationError, validation_error)
    api.add_exception_handler(ApiError, api_error)


def bad_request(request, exception=None):
    """``handler400``: a JSON 400 under ``api/`` (a request Django refused before any view:
    too many fields, a host not in ALLOWED_HOSTS), Django's page elsewhere."""
    if _is_api(request):
        return json_error(400, "bad request")
    from django.views.defaults import bad_request as django_bad_request

    return django_bad_request(request, exception)


def csrf_failure(request, reason=""):
    """``CSRF_FAILURE_VIEW``: a JSON 403 under ``api/``, Django's page elsewhere."""
    if _is_api(request):
        return json_error(403, f"CSRF check failed: {reason}")
    from django.views.csrf import csrf_failure as django_csrf_failure

    return django_csrf_failure(request, reason)


def _is_api(request) -> bool:
    return request.path_info.startswith("/api/") or request.path_info == "/api"
