"""The queue dashboard: queue counts, live workers, and the broker stated plainly."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from promidata_sync.models import Job, SyncRun, WorkerHeartbeat
from tests.admin.brokers import (
    TEST_BROKER_URL,
    TEST_REDIS_URL,
    closed_amqp_url,
    closed_port_url,
    rabbitmq_broker_at,
    redis_broker_at,
)
from tests.admin.factories import make_run, make_suppliers

pytestmark = pytest.mark.django_db

DASHBOARD = "promidata_sync_dashboard"


def heartbeat(worker_id: str, *, seconds_ago: int) -> WorkerHeartbeat:
    seen = timezone.now() - timedelta(seconds=seconds_ago)
    return WorkerHeartbeat.objects.create(
        worker_id=worker_id,
        hostname="worker-1",
        pid=4242,
        queues=["image-upload", "product-family"],
        threads=10,
        started_at=seen,
        last_seen_at=seen,
    )


def test_in_memory_broker_queues_workers_and_active_runs(operator_client):
    Job.objects.create(
        job_id="j1", queue_name="image-upload", actor_name="upload_image", state=Job.State.FAILED
    )
    heartbeat("worker-1:4242:live", seconds_ago=5)
    heartbeat("worker-1:4243:gone", seconds_ago=600)
    run = make_run(make_suppliers(1)[0], state=SyncRun.State.RUNNING)

    response = operator_client.get(reverse(DASHBOARD))
    html = response.content.decode()

    assert response.status_code == 200
    assert "In-memory broker (REDIS_URL is not set)" in html
    rows = {row["name"]: row["counts"] for row in response.context["queue_rows"]}
    # Every stage of the registry has its row (the stock stage came with one entry there).
    assert set(rows) == {
        "supplier-sync",
        "product-family",
        "image-upload",
        "webhooks",
        "stock-sync",
        "total",
    }
    assert rows["image-upload"][4] == 1  # failed
    assert "worker-1:4242:live" in html and "worker-1:4243:gone" not in html
    assert "Workers seen in the last 60 seconds (1)" in html
    assert f"#{run.pk}</a>" in html and 'data-run-active="true"' in html


def test_unreachable_redis_is_said_plainly(operator_client, settings):
    with redis_broker_at(settings, closed_port_url()):
        response = operator_client.get(reverse(DASHBOARD))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Redis unreachable" in html
    assert "is unreachable" in html and "is REDIS_URL right?" in html
    assert "No queue statistics while the broker is unreachable." in html


def test_reachable_redis(operator_client, settings):
    with redis_broker_at(settings, TEST_REDIS_URL):
        response = operator_client.get(reverse(DASHBOARD))
    html = response.content.decode()
    assert "Redis reachable" in html
    assert "queued jobs wait until one runs" in html  # no worker
    assert len(response.context["queue_rows"]) == 6  # five queues and the total


def test_unreachable_rabbitmq_is_said_in_one_line_without_its_password(operator_client, settings):
    with rabbitmq_broker_at(settings, closed_amqp_url("s3cret-rabbit-pw")):
        response = operator_client.get(reverse(DASHBOARD))
    html = response.content.decode()
    assert response.status_code == 200
    assert "RabbitMQ unreachable" in html
    assert "is unreachable" in html and "is BROKER_URL right?" in html
    assert "s3cret-rabbit-pw" not in html
    assert "No queue statistics while the broker is unreachable." in html


def test_reachable_rabbitmq_counts_its_queues_and_the_job_records(operator_client, settings):
    with rabbitmq_broker_at(settings, TEST_BROKER_URL) as broker:
        run = make_run(make_suppliers(1)[0], state=SyncRun.State.RUNNING)
        for i, state in enumerate([Job.State.ACTIVE, Job.State.DELAYED, Job.State.DELAYED]):
            Job.objects.create(
                job_id=f"j{i}", queue_name="product-family", actor_name="x", run=run, state=state
            )
        broker.declare_queue("product-family", ensure=True)
        broker.channel.queue_purge("product-family")
        broker.channel.basic_publish("", "product-family", b"{}")
        try:
            response = operator_client.get(reverse(DASHBOARD))
        finally:
            broker.channel.queue_delete("product-family")
    html = response.content.decode()
    assert "RabbitMQ reachable" in html and "amqp://guest:********@127.0.0.1:5672" in html
    rows = {
        row["name"]: dict(zip(response.context["columns"], row["counts"], strict=True))
        for row in response.context["queue_rows"]
    }
    family = rows["product-family"]
    assert (family["waiting"], family["active"], family["delayed"]) == (1, 1, 2)
    assert rows["supplier-sync"]["waiting"] == 0  # a queue never declared counts as empty


def test_the_admin_index_links_the_dashboard(operator_client):
    html = operator_client.get(reverse("admin:index")).content.decode()
    assert reverse(DASHBOARD) in html
