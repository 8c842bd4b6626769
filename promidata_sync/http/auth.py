"""Who may call the API, and how often.

A request is let in by either
- ``Authorization: Bearer <key>``: an API key from the admin (``services.api_keys``) that
  holds the endpoint's scope, or the legacy ``PROMIDATA_API_TOKEN`` (every scope). No
  cookie is involved, so these requests need no CSRF token; or
- a session of an active staff user: any staff user may read the catalog, operating syncs
  needs ``promidata_sync.operate_sync``. Unsafe methods must then pass Django's CSRF check,
  exactly as a form post would.

No or wrong credentials: 401. Valid credentials without the scope: 403. Over the key's
requests per minute: 429 with ``Retry-After``. Each answers ``{"error": ...}``.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import cache
from django.middleware.csrf import CsrfViewMiddleware
from ninja.security import HttpBearer

from promidata_sync.admin.permissions import OPERATE_PERMISSION, can_operate
from promidata_sync.http.errors import ApiError
from promidata_sync.models import ApiKey
from promidata_sync.services.api_keys import Caller, caller_for_token

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
CATALOG_READ = ApiKey.Scope.CATALOG_READ.value
SYNC_OPERATE = ApiKey.Scope.SYNC_OPERATE.value
METRICS_READ = ApiKey.Scope.METRICS_READ.value


class _CsrfCheck(CsrfViewMiddleware):
    def _reject(self, request, reason):
        return reason  # the reason instead of Django's HTML 403 page


def csrf_failure(request) -> str | None:
    """Django's CSRF verdict on ``request``: None when it passes, else the reason."""
    check = _CsrfCheck(lambda _request: None)
    check.process_request(request)
    return check.process_view(request, None, (), {})


class ScopedAuth(HttpBearer):
    """ninja authentication for endpoints that need ``scope``; ``request.auth`` is a Caller.

    Declared as HTTP bearer, so the OpenAPI document and the docs page offer a key field.
    """

    def __init__(self, scope: str):
        self.scope = scope
        super().__init__()

    def __call__(self, request) -> Caller:
        header = request.headers.get("Authorization", "")
        caller = self._bearer(header) if header else self._session(request)
        if self.scope not in caller.scopes:
            raise ApiError(403, f"this endpoint needs the scope {self.scope}; the key lacks it")
        throttle(caller)
        return caller

    def authenticate(self, request, token):  # pragma: no cover - __call__ does it all
        raise NotImplementedError

    def _bearer(self, header: str) -> Caller:
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise ApiError(
                401,
                "malformed Authorization header: use 'Bearer <API key>'",
                WWW_Authenticate='Bearer error="invalid_request"',
            )
        caller = caller_for_token(token)
        if caller is None:
            raise ApiError(
                401, "invalid or revoked API key", WWW_Authenticate='Bearer error="invalid_token"'
            )
        return caller

    def _session(self, request) -> Caller:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            raise ApiError(
                401,
                "authentication required: 'Authorization: Bearer <API key>' or a staff session",
                WWW_Authenticate="Bearer",
            )
        if not (user.is_active and user.is_staff):
            raise ApiError(403, "staff users only")
        if request.method not in SAFE_METHODS:
            reason = csrf_failure(request)
            if reason:
                raise ApiError(403, f"CSRF check failed: {reason}")
        scopes = {CATALOG_READ}
        if can_operate(user):
            scopes.add(SYNC_OPERATE)
        elif self.scope == SYNC_OPERATE:
            raise ApiError(403, f"permission {OPERATE_PERMISSION} required")
        return Caller(label=f"user {user.pk}", scopes=frozenset(scopes))


def throttle(caller: Caller) -> None:
    """Count one request of ``caller`` in the current minute; 429 once over its limit.

    A fixed one-minute window in Django's cache (``CACHE_URL``: Redis shares the count
    between web processes; the default local-memory cache counts per process). A limit of
    0 means unlimited. A cache that fails lets the request through: throttling protects
    the server, it must not take the API down with it.
    """
    limit = caller.requests_per_minute
    if limit is None:
        limit = settings.PROMIDATA_API_REQUESTS_PER_MINUTE
    if not limit:
        return
    now = time.time()
    window = int(now // 60)
    key = f"promidata:api-throttle:{caller.label.replace(' ', '-')}:{window}"
    try:
        cache.add(key, 0, timeout=120)
        count = cache.incr(key)
    except Exception:
        return
    if count > limit:
        retry_after = max(1, int(60 - now % 60) + 1)
        raise ApiError(
            429,
            f"more than {limit} requests per minute for this key; retry in {retry_after} s",
            Retry_After=str(retry_after),
        )


catalog_auth = ScopedAuth(CATALOG_READ)
operator_auth = ScopedAuth(SYNC_OPERATE)
metrics_auth = ScopedAuth(METRICS_READ)
