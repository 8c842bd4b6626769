"""Small routing helpers shared by the API's routers.

``route`` registers one view under a path with and without its trailing slash (scripts get
the same answer either way; only the canonical form is in the OpenAPI document).
``json_method_not_allowed`` makes ninja's plain-text 405 a JSON error like every other, and
marks answers private.
"""

from __future__ import annotations

from django.http import HttpResponseNotAllowed
from django.urls import URLPattern

from promidata_sync.http.errors import json_error


def route(router, method: str, path: str, **options):
    """Decorator: ``router.<method>(path)`` plus the same view at the other slash form."""
    other = path[:-1] if path.endswith("/") else f"{path}/"

    method = method.upper()

    def decorator(view):
        hidden = {k: v for k, v in options.items() if k != "url_name"}
        if method == "GET":
            # HEAD wherever GET (RFC 9110 9.3.2): the same answer without its body (_wrap).
            for each in (other, path):  # the order of the patterns, as below
                router.api_operation(["HEAD"], each, include_in_schema=False, **hidden)(view)
        # The slashless form first: "products/<path:sku>" then sees "A5-9/" of a SKU that
        # ends in a slash, and the view strips exactly one.
        router.api_operation([method], other, include_in_schema=False, **hidden)(view)
        return router.api_operation([method], path, **options)(view)

    return decorator


def json_method_not_allowed(patterns: list) -> list:
    """The URL patterns with each view wrapped so that a 405 answers ``{"error": ...}``."""
    wrapped = []
    for pattern in patterns:
        if isinstance(pattern, URLPattern):
            callback = pattern.callback
            if pattern.name in ("openapi-json", "openapi-view"):  # ninja's, for any method
                callback = _read_only(callback)
            pattern = URLPattern(
                pattern.pattern, _wrap(callback), pattern.default_args, pattern.name
            )
        wrapped.append(pattern)
    return wrapped


def _read_only(view):
    def answer(request, *args, **kwargs):
        if request.method not in ("GET", "HEAD"):
            return HttpResponseNotAllowed(["GET", "HEAD"])
        return view(request, *args, **kwargs)

    return answer


def _wrap(view):
    def answer(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        if isinstance(response, HttpResponseNotAllowed):
            allowed = ", ".join(sorted(m.strip() for m in response["Allow"].split(",")))
            return json_error(405, f"method {request.method} not allowed", Allow=allowed)

        if request.method == "HEAD" and not response.streaming:
            length = len(response.content)
            response.content = b""
            response["Content-Length"] = str(length)
        if not response.has_header("Cache-Control"):
            # Authenticated answers: no shared cache may keep them, and a client must
            # revalidate (with If-None-Match where there is an ETag) before reusing one.
            response["Cache-Control"] = "private, no-cache"
        return response

    # The API's own authentication checks CSRF for sessions (``auth``); Django's middleware
    # would answer its HTML 403 page before the view runs.
    answer.csrf_exempt = True
    return answer
