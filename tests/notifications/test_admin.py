"""The admin of notification rules and messages (Django's test client)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission

from catalog.models import Supplier
from promidata_sync.models import Notification, NotificationRule
from promidata_sync.services import notifications
from tests.admin.conftest import staff_user

pytestmark = pytest.mark.django_db(transaction=True)

RULES = "/admin/promidata_sync/notificationrule/"
MESSAGES = "/admin/promidata_sync/notification/"


@pytest.fixture
def editor_client(client, django_user_model):
    user = staff_user(django_user_model, "editor", operate=True)
    user.user_permissions.add(
        *Permission.objects.filter(codename__in=["add_notificationrule", "change_notificationrule"])
    )
    client.force_login(user)
    return client


def test_a_rule_is_added_with_checked_events_and_checked_addresses(editor_client):
    supplier = Supplier.objects.create(code="A100", name="Supplier A100")
    page = editor_client.get(f"{RULES}add/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'type="checkbox" name="events" value="feed.unreadable"' in html
    assert 'value="run.finished"' not in html  # not a notification event

    bad = editor_client.post(
        f"{RULES}add/",
        {"name": "ops", "events": ["run.failed"], "emails": "ops@example.com, not-an-address"},
    )
    assert bad.status_code == 200
    assert "not an e-mail address: not-an-address" in bad.content.decode()
    assert not NotificationRule.objects.exists()

    good = editor_client.post(
        f"{RULES}add/",
        {
            "name": "ops",
            "events": ["run.failed", "feed.unreadable"],
            "emails": "ops@example.com; lead@example.com\nops@example.com",
            "suppliers": [supplier.pk],
            "is_active": "on",
        },
    )
    assert good.status_code == 302
    rule = NotificationRule.objects.get()
    assert rule.events == ["run.failed", "feed.unreadable"]
    assert rule.emails == "ops@example.com\nlead@example.com"
    assert rule.created_by == "editor"
    assert list(rule.suppliers.all()) == [supplier]
    assert notifications.recipients_for("run.failed", supplier.pk) == [
        "ops@example.com",
        "lead@example.com",
    ]


def test_a_rule_needs_an_event_and_an_address(editor_client):
    response = editor_client.post(f"{RULES}add/", {"name": "empty", "emails": " \n "})
    assert response.status_code == 200
    assert response.content.decode().count("errorlist") >= 2
    assert not NotificationRule.objects.exists()


def failed_notification() -> Notification:
    return Notification.objects.create(
        event="run.failed",
        key="run:1",
        subject="[promidata-sync] A1: sync #1 failed",
        body="digest",
        recipients=["ops@example.com"],
        state=Notification.State.FAILED,
        error="e-mail via 127.0.0.1:25 failed: ConnectionRefusedError",
        attempts=5,
    )


def test_send_again_sends_a_failed_notification_for_an_operator(operator_client, smtp):
    notification = failed_notification()
    page = operator_client.get(f"{MESSAGES}{notification.pk}/change/")
    assert page.status_code == 200 and "ConnectionRefusedError" in page.content.decode()

    response = operator_client.post(
        MESSAGES, {"action": "send_again", "_selected_action": [notification.pk]}
    )

    assert response.status_code == 302
    [mail] = smtp.wait_for(1)
    assert mail.subject == "[promidata-sync] A1: sync #1 failed"
    assert notifications.wait_for_sending(timeout=10)
    notification.refresh_from_db()
    assert notification.state == Notification.State.SENT


def test_a_viewer_may_not_send_again(viewer_client):
    notification = failed_notification()
    assert viewer_client.get(MESSAGES).status_code == 200
    response = viewer_client.post(
        MESSAGES, {"action": "send_again", "_selected_action": [notification.pk]}
    )
    assert response.status_code == 403
    assert Notification.objects.get().state == Notification.State.FAILED
