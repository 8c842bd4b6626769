"""The webhook admin: a write-only secret, shown once; the delivery log; its two actions."""

from __future__ import annotations

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse
from django.utils import timezone

from promidata_sync.models import WebhookDelivery, WebhookEndpoint
from tests.admin.conftest import staff_user
from tests.webhooks.conftest import BOTH, SECRET, make_endpoint, make_run

pytestmark = pytest.mark.django_db

ENDPOINTS = "admin:promidata_sync_webhookendpoint_changelist"
DELIVERIES = "admin:promidata_sync_webhookdelivery_changelist"


def change_url(endpoint) -> str:
    return reverse("admin:promidata_sync_webhookendpoint_change", args=[endpoint.pk])


def form_data(**overrides) -> dict:
    data = {"name": "web shop", "url": "https://shop.example.com/hooks/promidata"}
    data |= {"events": BOTH, "is_active": "on", "new_secret": ""}
    return data | overrides


def test_a_secret_left_blank_is_generated_and_shown_once(admin_client):
    response = admin_client.post(reverse("admin:promidata_sync_webhookendpoint_add"), form_data())

    endpoint = WebhookEndpoint.objects.get()
    html = response.content.decode()
    assert response.status_code == 200
    assert len(endpoint.secret) >= 40 and html.count(endpoint.secret) == 1
    assert "not shown again" in html
    assert "no-cache" in response["Cache-Control"] and "no-store" in response["Cache-Control"]
    assert endpoint.events == BOTH and endpoint.is_active

    page = admin_client.get(change_url(endpoint)).content.decode()
    assert endpoint.secret not in page
    assert 'name="new_secret"' in page


def test_the_change_page_never_renders_the_secret_and_blank_keeps_it(admin_client):
    endpoint = make_endpoint("https://shop.example.com/hooks/promidata")

    page = admin_client.get(change_url(endpoint))
    assert page.status_code == 200
    assert SECRET not in page.content.decode()

    kept = admin_client.post(change_url(endpoint), form_data(name="renamed"), follow=True)
    endpoint.refresh_from_db()
    assert kept.status_code == 200 and endpoint.name == "renamed" and endpoint.secret == SECRET
    assert SECRET not in kept.content.decode()

    # A form sent back with an error does not echo a typed secret either.
    typed = "a-new-secret-for-the-rotation"
    invalid = admin_client.post(change_url(endpoint), form_data(url="ftp://x", new_secret=typed))
    assert invalid.status_code == 200 and typed not in invalid.content.decode()

    admin_client.post(change_url(endpoint), form_data(new_secret=typed))
    endpoint.refresh_from_db()
    assert endpoint.secret == typed


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"new_secret": "short"}, "at least 16 characters"),
        ({"url": "https://user:pw@shop.example.com/hook"}, "credentials in URL"),
        ({"url": "ftp://shop.example.com/hook"}, "Webhook URLs are https://"),
    ],
)
def test_bad_input_is_refused_with_a_reason(admin_client, overrides, error):
    response = admin_client.post(
        reverse("admin:promidata_sync_webhookendpoint_add"), form_data(**overrides)
    )
    assert response.status_code == 200
    assert error in response.content.decode()
    assert not WebhookEndpoint.objects.exists()


def test_send_test_event_records_a_ping(admin_client):
    endpoint = make_endpoint("https://shop.example.com/hooks/promidata")

    response = admin_client.post(
        reverse(ENDPOINTS),
        {"action": "send_test_event", ACTION_CHECKBOX_NAME: [endpoint.pk], "index": 0},
        follow=True,
    )

    ping = WebhookDelivery.objects.get()
    assert "Test event sent to 1 endpoint" in response.content.decode()
    assert ping.event == "ping" and ping.run_id is None and ping.endpoint == endpoint
    assert ping.payload["event_id"] == str(ping.event_id)


def delivery(endpoint, **fields) -> WebhookDelivery:
    return WebhookDelivery.objects.create(
        endpoint=endpoint,
        event=fields.pop("event", "run.finished"),
        run=fields.pop("run", None),
        payload=fields.pop("payload", {"event": "run.finished"}),
        **fields,
    )


def test_the_delivery_log_shows_attempts_and_payload_and_retry_now_resends(admin_client):
    endpoint = make_endpoint("https://shop.example.com/hooks/promidata")
    run = make_run()
    failed = delivery(
        endpoint,
        run=run,
        payload={"event": "run.finished", "run": {"id": run.pk}},
        state=WebhookDelivery.State.FAILED,
        attempts=8,
        last_status=503,
        last_error="HTTP 503 from https://shop.example.com/",
        last_duration_ms=41,
    )
    done = delivery(endpoint, state=WebhookDelivery.State.SUCCEEDED, attempts=1, last_status=200)

    listing = admin_client.get(reverse(DELIVERIES), {"state__exact": "failed"})
    html = listing.content.decode()
    assert listing.status_code == 200
    assert "41 ms" in html and f"#{run.pk}</a>" in html
    assert list(listing.context["cl"].result_list) == [failed]
    page = admin_client.get(
        reverse("admin:promidata_sync_webhookdelivery_change", args=[failed.pk])
    ).content.decode()
    assert "HTTP 503 from https://shop.example.com/" in page
    assert "&quot;run&quot;" in page and SECRET not in page

    response = admin_client.post(
        reverse(DELIVERIES),
        {"action": "retry_now", ACTION_CHECKBOX_NAME: [failed.pk, done.pk], "index": 0},
        follow=True,
    )

    assert "1 delivery sent again" in response.content.decode()
    failed.refresh_from_db()
    done.refresh_from_db()
    assert failed.state == WebhookDelivery.State.PENDING
    assert failed.next_attempt_at <= timezone.now()
    assert done.state == WebhookDelivery.State.SUCCEEDED


def test_a_viewer_sees_the_log_but_may_not_retry_or_ping(client, django_user_model):
    client.force_login(staff_user(django_user_model, "viewer", operate=False))
    endpoint = make_endpoint("https://shop.example.com/hooks/promidata")
    failed = delivery(endpoint, state=WebhookDelivery.State.FAILED)

    listing = client.get(reverse(DELIVERIES))
    assert listing.status_code == 200
    assert "retry_now" not in listing.content.decode()
    assert client.get(reverse(ENDPOINTS)).status_code == 200

    forged = client.post(
        reverse(DELIVERIES),
        {"action": "retry_now", ACTION_CHECKBOX_NAME: [failed.pk], "index": 0},
    )
    assert forged.status_code == 403
    forged = client.post(
        reverse(ENDPOINTS),
        {"action": "send_test_event", ACTION_CHECKBOX_NAME: [endpoint.pk], "index": 0},
    )
    assert forged.status_code == 403
    failed.refresh_from_db()
    assert failed.state == WebhookDelivery.State.FAILED
    assert WebhookDelivery.objects.count() == 1
