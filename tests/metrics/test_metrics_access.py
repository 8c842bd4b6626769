"""Who may read GET /metrics: the metrics token, or an API key with the scope metrics:read.
Anyone else gets the API's JSON error and not a single figure."""

from __future__ import annotations

import pytest

from promidata_sync.redaction import REDACTED, sanitize_message
from promidata_sync.services.api_keys import create_key
from tests.metrics.conftest import METRICS_TOKEN, scrape

pytestmark = pytest.mark.django_db


def assert_refused(response, status: int, text: str) -> None:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    assert text in response.json()["error"]
    assert b"promidata_" not in response.content


def test_no_credentials_is_401_and_no_figures(client, metrics_token):
    response = client.get("/metrics")
    assert_refused(response, 401, "authentication required")
    assert response["WWW-Authenticate"] == "Bearer"


def test_a_wrong_token_is_401(client, metrics_token):
    response = client.get("/metrics", HTTP_AUTHORIZATION="Bearer not-the-token")
    assert_refused(response, 401, "invalid or revoked API key")


def test_no_metrics_token_configured_lets_no_token_in(client, settings):
    settings.PROMIDATA_METRICS_TOKEN = ""
    assert_refused(client.get("/metrics", HTTP_AUTHORIZATION="Bearer "), 401, "malformed")
    assert_refused(client.get("/metrics", HTTP_AUTHORIZATION="Bearer x"), 401, "invalid")


def test_the_metrics_token_reads_the_metrics(scraper):
    found = scrape(scraper)
    assert "promidata_runs" in found.families
    assert found.value("promidata_runs", kind="catalog", state="completed") == 0


def test_an_api_key_with_the_scope_reads_the_metrics(client, metrics_key):
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {metrics_key}"
    assert "promidata_broker_up" in scrape(client).families


def test_an_api_key_without_the_scope_is_403(client):
    plain = create_key("shop", ["catalog:read", "sync:operate"])[1]
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {plain}")
    assert_refused(response, 403, "metrics:read")


def test_a_staff_session_without_a_key_is_403(client, django_user_model):
    client.force_login(django_user_model.objects.create_user("staff", is_staff=True))
    assert_refused(client.get("/metrics"), 403, "metrics:read")


def test_the_metrics_token_opens_nothing_else(client, metrics_token):
    response = client.get("/api/catalog/products/", HTTP_AUTHORIZATION=f"Bearer {METRICS_TOKEN}")
    assert response.status_code == 403
    response = client.get("/api/queues", HTTP_AUTHORIZATION=f"Bearer {METRICS_TOKEN}")
    assert response.status_code == 403


def test_only_get_and_head(scraper):
    assert scraper.head("/metrics").status_code == 200
    assert scraper.post("/metrics").status_code == 405


def test_the_metrics_are_not_in_the_public_api_document(client):
    document = client.get("/api/schema/").json()
    assert not any("metrics" in path for path in document["paths"])


def test_a_failure_reading_the_figures_is_a_plain_500_without_traceback(scraper, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("boom at /secret/place")

    monkeypatch.setattr("promidata_sync.metrics.metrics_read", broken)
    response = scraper.get("/metrics")
    assert response.status_code == 500
    assert response.content == b"metrics unavailable (logged on the server)\n"


def test_the_metrics_token_is_masked_in_logs_and_records(metrics_token):
    assert (
        sanitize_message(f"scrape with {METRICS_TOKEN} failed") == f"scrape with {REDACTED} failed"
    )
