"""Authentication and error shapes of the JSON API (``promidata_sync.views``).

A request is let in by either
- ``Authorization: Bearer <token>`` equal to ``settings.PROMIDATA_API_TOKEN`` (compared in
  constant time; an empty setting turns token auth off). No cookie is involved, so these
  requests need no CSRF token; or
- a session of an active staff user holding ``promidata_sync.operate_sync``. Unsafe methods
  must then pass Django's CSRF check, exactly as a form post would.

Every answer is JSON: errors are ``{"error": "..."}`` with a 4xx status (401 without
credentials or with a wrong token, 403 without the permission or the CSRF token, 405 for a
wrong method), and an unexpected exception is logged and answered with a JSON 500.
"""

from __future__ import annotations

import functools
import hmac
import logging

from django.conf import settings
from django.http import JsonResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt

from promidata_sync.admin.permissions import OPERATE_PERMISSION, can_operate

log = logging.getLogger(__name__)

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


class ApiError(Exception):
    """Raised by a view to answer ``{"error": message}`` with ``status``."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def json_error(status: int, message: str, **headers) -> JsonResponse:
    response = JsonResponse({"error": message}, status=status)
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


class _CsrfCheck(CsrfViewMiddleware):
    def _reject(self, request, reason):
        return reason  # the reason instead of Django's HTML 403 page


def csrf_failure(request) -> str | None:
    """Django's CSRF verdict on ``request``: None when it passes, else the reason."""
    check = _CsrfCheck(lambda _request: None)
    check.process_request(request)
    return check.process_view(request, None, (), {})


def authenticate(request) -> JsonResponse | None:
    """None when the request may use the API, else the JSON error to answer."""
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            return json_error(401, "malformed Authorization header: use 'Bearer <token>'")
        expected = settings.PROMIDATA_API_TOKEN
        if not expected:
            return json_error(401, "token authentication is off (PROMIDATA_API_TOKEN is not set)")
        if not hmac.compare_digest(token.encode(), expected.encode()):
            return json_error(401, "invalid token", WWW_Authenticate='Bearer error="invalid_token"')
        return None
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return json_error(
            401,
            "authentication required: a staff session or 'Authorization: Bearer <token>'",
            WWW_Authenticate="Bearer",
        )
    if not can_operate(user):
        return json_error(403, f"permission {OPERATE_PERMISSION} required (staff users only)")
    if request.method not in SAFE_METHODS:
        reason = csrf_failure(request)
        if reason:
            return json_error(403, f"CSRF check failed: {reason}")
    return None


def api_view(*methods: str):
    """Make a view a JSON API endpoint answering ``methods`` to authenticated callers.

    The view returns a JSON-able dict (status 200) or a ``JsonResponse``, and may raise
    ``ApiError``. Token requests are exempt from CSRF (they carry no cookie); session
    requests are checked here instead.
    """

    def decorator(view):
        @csrf_exempt
        @never_cache
        @functools.wraps(view)
        def wrapped(request, *args, **kwargs):
            if request.method not in methods:
                return json_error(
                    405, f"method {request.method} not allowed", Allow=", ".join(methods)
                )
            denied = authenticate(request)
            if denied is not None:
                return denied
            try:
                result = view(request, *args, **kwargs)
            except ApiError as exc:
                return json_error(exc.status, exc.message)
            except Exception:
                log.exception("API %s %s failed", request.method, request.path)
                return json_error(500, "internal error (logged on the server)")
            return result if isinstance(result, JsonResponse) else JsonResponse(result)

        return wrapped

    return decorator
