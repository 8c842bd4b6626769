"""Request-level defences that no page or API view should have to repeat."""

from __future__ import annotations

from django.http import HttpResponseBadRequest, JsonResponse


class RefuseNulCharacters:
    """Answer 400 to a request whose path, query or form carries a NUL character.

    PostgreSQL refuses NUL in text, so any view that filters on a query value (an admin list
    filter, a search box) would answer 500 for ``?state=%00``; no legitimate request carries
    one. API paths get the API's JSON error shape.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if _has_nul(request):
            message = "the request contains a NUL character"
            if request.path.startswith("/api/"):
                return JsonResponse({"error": message}, status=400)
            return HttpResponseBadRequest(message)
        return self.get_response(request)


def _has_nul(request) -> bool:
    if "\x00" in request.path:
        return True
    for data in (request.GET, _form(request)):
        for key, values in data.lists():
            if "\x00" in key or any("\x00" in value for value in values):
                return True
    return False


def _form(request):
    """The form fields of a POST (empty for JSON and other bodies, which views parse)."""
    if request.method != "POST" or request.content_type not in (
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    ):
        return request.GET.__class__()
    return request.POST
