"""The OpenAPI document: valid OpenAPI 3 (openapi-spec-validator), every endpoint in it,
keys protected by bearer authentication, and served to anyone (it holds no data)."""

from __future__ import annotations

import pytest
from openapi_spec_validator import validate

pytestmark = pytest.mark.django_db

ENDPOINTS = {
    "/api/catalog/products/": "get",
    "/api/catalog/products/{sku}/": "get",
    "/api/catalog/categories/": "get",
    "/api/catalog/changes/": "get",
    "/api/catalog/quote/": "get",
    "/api/sync": "post",
    "/api/runs/{run_id}": "get",
    "/api/jobs/{queue_name}/{job_id}": "get",
    "/api/queues": "get",
    "/api/queues/{queue_name}": "get",
}


def test_the_document_is_valid_openapi_3_with_every_endpoint(client):
    response = client.get("/api/schema/")
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    document = response.json()

    validate(document)

    assert document["openapi"].startswith("3.")
    for path, method in ENDPOINTS.items():
        operation = document["paths"][path][method]
        assert operation["security"], path  # each needs a key or a session
        assert "401" in operation["responses"] and "403" in operation["responses"], path
    assert {"HttpBearer"} <= set(document["components"]["securitySchemes"]) or any(
        scheme["type"] == "http" and scheme["scheme"] == "bearer"
        for scheme in document["components"]["securitySchemes"].values()
    )
    detail = document["components"]["schemas"]["Product"]["properties"]
    assert {"sku", "variants", "descriptions", "specifications"} <= set(detail)


def test_the_docs_page_uses_only_local_assets(client):
    page = client.get("/api/docs/").content.decode()
    assert "swagger-ui" in page and "/api/schema/" in page
    assert "cdn." not in page and "unpkg" not in page and "jsdelivr" not in page
