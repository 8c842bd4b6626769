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

    def decorator(view):
        add = getattr(router, method.lower())
        hidden = {k: v for k, v in options.items() if k != "url_name"}
        add(other, include_in_schema=False, **hidden)(view)
        return add(path, **options)(view)

    return decorator


def json_method_not_allowed(patterns: list) -> list:
    """The URL patterns with each view wrapped so that a 405 answers ``{"error": ...}``."""
    wrapped = []
    for pattern in patterns:
        if isinstance(pattern, URLPattern):
            pattern = URLPattern(
                pattern.pattern, _wrap(pattern.callback), pattern.default_args, pattern.name
            )
        wrapped.append(pattern)
    return wrapped


def _wrap(view):
    def answer(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        if isinstance(response, HttpResponseNotAllowed):
            allowed = response["Allow"]
            return json_error(405, f"method {request.method} not allowed", Allow=allowed)

        if not response.has_header("Cache-Control"):
            # Authenticated answers: no shared cache may keep them, and a client must
            # revalidate (with If-None-Match where there is an ETag) before reusing one.
            response["Cache-Control"] = "private, no-cache"
        return response

    answer.csrf_exempt = getattr(view, "csrf_exempt", False)
    return answer
