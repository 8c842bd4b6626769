"""Webhook tests: loopback receivers allowed, short timeouts and backoff, and this process's
sender stopped after each test (it must not outlive the test's database rows)."""

from __future__ import annotations

import pytest

from catalog.models import Supplier
from promidata_sync.models import SyncRun, WebhookEndpoint
from promidata_sync.services import runs, webhooks
from tests.webhooks.receiver import Receiver

SECRET = "whsec-test-4f1c9a7e2b6d8e3f"
BOTH = [webhooks.RUN_FINISHED, webhooks.PRODUCTS_CHANGED]


@pytest.fixture(autouse=True)
def webhook_settings(settings):
    settings.PROMIDATA_WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    settings.PROMIDATA_WEBHOOK_TIMEOUT_SECONDS = 2.0
    settings.PROMIDATA_WEBHOOK_MAX_ATTEMPTS = 3
    settings.PROMIDATA_WEBHOOK_BACKOFF_SECONDS = 0.05
    settings.PROMIDATA_WEBHOOK_BACKOFF_MAX_SECONDS = 0.2
    return settings


@pytest.fixture(autouse=True)
def _sender_stopped():
    yield
    assert webhooks.SENDER.stop(timeout=30), "the webhook sender did not stop"


@pytest.fixture
def receiver():
    with Receiver() as running:
        yield running


def make_endpoint(url: str, *, events=BOTH, secret: str = SECRET, name: str = "shop"):
    return WebhookEndpoint.objects.create(name=name, url=url, secret=secret, events=list(events))


def make_run(*, mode=SyncRun.Mode.DIRECT, code: str = "A1") -> SyncRun:
    supplier, _ = Supplier.objects.get_or_create(code=code, defaults={"name": f"Supplier {code}"})
    run = runs.run_create(supplier=supplier, trigger=SyncRun.Trigger.COMMAND, mode=mode)
    runs.run_mark_running(run)
    return run
