"""Who gets in: API keys (hashed, scoped, revocable, throttled), the shared token, staff
sessions; and every refusal is a JSON 401, 403 or 429."""

from __future__ import annotations

import hashlib

import pytest
from django.test import Client

from promidata_sync.models import ApiKey
from promidata_sync.services.api_keys import create_key, revoke_key

pytestmark = pytest.mark.django_db

CATALOG = "/api/catalog/categories/"
OPERATOR = "/api/queues"


def bearer(key: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {key}"}


def assert_json_error(response, status: int, text: str = "") -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == {"error"} and text in body["error"], body
    return body


def test_only_the_hash_of_a_key_is_stored(db):
    key, plain = create_key("shop", ["catalog:read"])

    stored = ApiKey.objects.get(pk=key.pk)
    assert plain.startswith("pds_") and len(plain) > 40
    assert stored.key_hash == hashlib.sha256(plain.encode()).hexdigest()
    assert plain not in str(ApiKey.objects.values().get(pk=key.pk))
    assert stored.prefix == plain[:12]


@pytest.mark.parametrize(
    ("method", "url"),
    [("get", CATALOG), ("get", "/api/catalog/products/"), ("get", OPERATOR), ("post", "/api/sync")],
)
def test_no_credentials_is_a_json_401(client, method, url):
    response = getattr(client, method)(url)
    assert_json_error(response, 401, "authentication required")
    assert response["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize(
    "header", ["Bearer pds_wrong", "Bearer nonsense", "Basic dXNlcjpwYXNz", "Bearer ", "Bearer"]
)
def test_a_wrong_or_malformed_key_is_a_json_401(client, header):
    assert_json_error(client.get(CATALOG, HTTP_AUTHORIZATION=header), 401)


def test_a_catalog_key_reads_the_catalog_but_cannot_operate(client, catalog_key):
    assert client.get(CATALOG, **bearer(catalog_key)).status_code == 200
    assert_json_error(client.get(OPERATOR, **bearer(catalog_key)), 403, "sync:operate")
    response = client.post(
        "/api/sync", "{}", content_type="application/json", **bearer(catalog_key)
    )
    assert_json_error(response, 403, "sync:operate")


def test_an_operate_key_operates_but_cannot_read_the_catalog(client, operate_key):
    assert client.get(OPERATOR, **bearer(operate_key)).status_code == 200
    assert_json_error(client.get(CATALOG, **bearer(operate_key)), 403, "catalog:read")


def test_a_revoked_key_is_refused_and_kept(client):
    key, plain = create_key("old shop", ["catalog:read"])
    assert client.get(CATALOG, **bearer(plain)).status_code == 200

    revoke_key(key)
    revoke_key(key)  # twice changes nothing

    assert_json_error(client.get(CATALOG, **bearer(plain)), 401, "revoked")
    key.refresh_from_db()
    assert key.revoked_at is not None and key.last_used_at is not None


def test_the_last_use_is_recorded(client, catalog_key):
    assert ApiKey.objects.get().last_used_at is None
    client.get(CATALOG, **bearer(catalog_key))
    first = ApiKey.objects.get().last_used_at
    client.get(CATALOG, **bearer(catalog_key))  # within a minute: not written again
    assert first is not None and ApiKey.objects.get().last_used_at == first


def test_the_shared_token_holds_every_scope(client, settings):
    settings.PROMIDATA_API_TOKEN = "shared-token-for-tests"
    assert client.get(CATALOG, **bearer("shared-token-for-tests")).status_code == 200
    assert client.get(OPERATOR, **bearer("shared-token-for-tests")).status_code == 200


def test_a_key_over_its_requests_per_minute_gets_429_with_retry_after(client, settings):
    settings.PROMIDATA_API_REQUESTS_PER_MINUTE = 1000
    _key, plain = create_key("greedy", ["catalog:read"], requests_per_minute=3)
    _other, patient = create_key("patient", ["catalog:read"])

    statuses = [client.get(CATALOG, **bearer(plain)).status_code for _ in range(4)]
    refused = client.get(CATALOG, **bearer(plain))

    assert statuses == [200, 200, 200, 429]
    body = assert_json_error(refused, 429, "3 requests per minute")
    assert 1 <= int(refused["Retry-After"]) <= 61 and "retry in" in body["error"]
    assert client.get(CATALOG, **bearer(patient)).status_code == 200  # counted per key


def test_a_staff_session_reads_the_catalog_and_a_non_staff_one_is_refused(
    client, viewer_client, django_user_model
):
    assert viewer_client.get(CATALOG).status_code == 200
    assert_json_error(viewer_client.get(OPERATOR), 403, "operate_sync")
    shopper = django_user_model.objects.create_user("shopper")
    client.force_login(shopper)
    assert_json_error(client.get(CATALOG), 403, "staff")


def test_session_posts_need_the_csrf_token_and_key_posts_do_not(operator, operate_key):
    session = Client(enforce_csrf_checks=True)
    session.force_login(operator)
    response = session.post("/api/sync", "{}", content_type="application/json")
    assert_json_error(response, 403, "CSRF")

    keyed = Client(enforce_csrf_checks=True, **bearer(operate_key))
    response = keyed.post("/api/sync", '{"supplier": 5}', content_type="application/json")
    assert_json_error(response, 400, "supplier must be")  # past authentication, no CSRF asked


def test_a_wrong_method_is_a_json_405(client, catalog_key):
    response = client.post(CATALOG, **bearer(catalog_key))
    assert_json_error(response, 405, "POST")
    assert response["Allow"] == "GET, HEAD"


def test_an_unknown_api_path_is_a_json_404(client):
    assert_json_error(client.get("/api/catalog/nothing/here"), 404, "no API endpoint")
