"""The HTTP API (django-ninja): the catalog under ``api/catalog/``, the sync operator's
endpoints under ``api/``, one authentication (``auth``), one error shape (``errors``), an
OpenAPI document at ``api/schema/`` and its interactive docs at ``api/docs/``.

Views are thin: they parse the request, call a service and shape the answer with the
pydantic schemas of ``schemas``, which are both the published contract and what is checked
when a response is built.
"""
