"""Notification tests: Django's SMTP backend talking to a real SMTP server on loopback,
loopback webhook receivers allowed, and this process's senders finished after each test."""

from __future__ import annotations

import pytest

from promidata_sync.models import NotificationRule
from promidata_sync.services import notifications, webhooks
from tests.admin.conftest import (  # noqa: F401  (fixtures these tests use)
    operator,
    operator_client,
    viewer,
    viewer_client,
)
from tests.notifications.smtp_sink import PASSWORD, USER, SmtpSink, free_port
from tests.queue.conftest import queue_broker, redis_broker  # noqa: F401  (fixtures these tests use)
from tests.webhooks.receiver import Receiver

SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"


@pytest.fixture(autouse=True)
def mail_settings(settings):
    """The SMTP backend (not locmem), with a login, a short timeout and a site URL."""
    settings.EMAIL_BACKEND = SMTP_BACKEND
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = free_port()  # nothing listens until a test starts a sink there
    settings.EMAIL_HOST_USER = USER
    settings.EMAIL_HOST_PASSWORD = PASSWORD
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_TIMEOUT = 3.0
    settings.DEFAULT_FROM_EMAIL = "sync@example.com"
    settings.PROMIDATA_SITE_URL = "https://sync.example.com"
    settings.PROMIDATA_HTTP_ATTEMPTS = 1
    settings.PROMIDATA_WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    settings.PROMIDATA_WEBHOOK_TIMEOUT_SECONDS = 2.0
    return settings


@pytest.fixture
def smtp(mail_settings):
    with SmtpSink(mail_settings.EMAIL_PORT) as sink:
        yield sink


@pytest.fixture(autouse=True)
def _senders_finished():
    yield
    assert notifications.wait_for_sending(timeout=30), "a notification sender did not end"
    assert webhooks.SENDER.stop(timeout=30), "the webhook sender did not stop"


@pytest.fixture
def receiver():
    with Receiver() as running:
        yield running


def make_rule(events, emails="ops@example.com", *, name="ops", suppliers=()):
    rule = NotificationRule.objects.create(name=name, events=list(events), emails=emails)
    rule.suppliers.set(suppliers)
    return rule


def settle() -> None:
    """Wait for every send this process started (threads after the commits)."""
    assert notifications.wait_for_sending(timeout=30)
