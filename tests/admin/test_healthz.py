"""/healthz: database, broker and workers; 200 when healthy, 503 otherwise, no auth."""

from __future__ import annotations

import pytest
from django.utils import timezone

from promidata_sync.models import WorkerHeartbeat
from tests.admin.brokers import (
    TEST_BROKER_URL,
    TEST_REDIS_URL,
    closed_amqp_url,
    closed_port_url,
    rabbitmq_broker_at,
    redis_broker_at,
)

pytestmark = pytest.mark.django_db


def test_healthy_without_redis(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "database": "ok",
        "redis": "not configured",
        "rabbitmq": "not configured",
        "workers": 0,
        "workers_window_seconds": 60,
        "problems": [],
    }
    assert "no-cache" in response["Cache-Control"]


def test_unhealthy_when_redis_is_unreachable(client, settings):
    url = closed_port_url()
    with redis_broker_at(settings, url):
        response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unhealthy"
    assert body["database"] == "ok" and body["redis"] == "unreachable"
    assert url.split(":")[2].split("/")[0] not in response.content.decode()  # no port leaked


def test_with_redis_a_live_worker_is_required(client, settings):
    with redis_broker_at(settings, TEST_REDIS_URL):
        without = client.get("/healthz")
        now = timezone.now()
        WorkerHeartbeat.objects.create(
            worker_id="w1",
            hostname="h",
            pid=1,
            queues=["image-upload"],
            threads=1,
            started_at=now,
            last_seen_at=now,
        )
        with_worker = client.get("/healthz")

    assert without.status_code == 503
    assert without.json()["problems"] == ["no worker seen in the last 60 seconds"]
    assert with_worker.status_code == 200
    assert with_worker.json()["workers"] == 1 and with_worker.json()["redis"] == "ok"


def test_a_failing_check_is_a_503_not_a_traceback(client, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr("promidata_sync.health.workers_live", broken)
    monkeypatch.setattr("promidata_sync.health.broker_kind", lambda: "redis")
    monkeypatch.setattr("promidata_sync.health.broker_check", broken)

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["redis"] == "error (RuntimeError)"
    assert "Traceback" not in response.content.decode()


def test_post_is_not_allowed(client):
    assert client.post("/healthz").status_code == 405


def test_unhealthy_when_rabbitmq_is_unreachable(client, settings):
    with rabbitmq_broker_at(settings, closed_amqp_url("s3cret-rabbit-pw")):
        response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert (body["redis"], body["rabbitmq"]) == ("not configured", "unreachable")
    assert body["problems"] == ["rabbitmq unreachable"]
    assert "s3cret-rabbit-pw" not in response.content.decode()


def test_with_rabbitmq_a_live_worker_is_required(client, settings):
    with rabbitmq_broker_at(settings, TEST_BROKER_URL):
        alone = client.get("/healthz")
    assert alone.status_code == 503 and alone.json()["rabbitmq"] == "ok"
    assert alone.json()["problems"] == ["no worker seen in the last 60 seconds"]
