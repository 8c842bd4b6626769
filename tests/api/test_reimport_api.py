"""POST api/reimport: re-import chosen families now (scope sync:operate)."""

from __future__ import annotations

import json

import pytest

from catalog.models import Product
from promidata_sync.models import SyncRun
from promidata_sync.services.api_keys import create_key
from promidata_sync.services.direct import sync_direct

pytestmark = pytest.mark.django_db


def post(client, body, key):
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return client.post(
        "/api/reimport", data, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {key}"
    )


@pytest.fixture
def synced(feed_server, sync_config):
    assert sync_direct(config=sync_config).ok
    return feed_server


def test_reimport_queues_one_manual_run_per_supplier(
    client, operate_key, synced, no_in_process_worker
):
    response = post(client, {"skus": ["A100-F00001", "A100-F00002-01", "A101-F00003"]}, operate_key)

    assert response.status_code == 202, response.content
    body = response.json()
    assert body["families"] == {"A100": ["A100-F00001", "A100-F00002"], "A101": ["A101-F00003"]}
    runs = SyncRun.objects.filter(pk__in=body["runs"]).order_by("supplier__code")
    assert [(r.supplier.code, r.trigger, r.mode, r.state, r.skus) for r in runs] == [
        ("A100", "manual", "queue", "queued", ["A100-F00001", "A100-F00002"]),
        ("A101", "manual", "queue", "queued", ["A101-F00003"]),
    ]
    assert {j["status"] for j in body["jobs"]} == {"queued"}


def test_an_unknown_sku_is_404_naming_it_and_starts_nothing(client, operate_key, synced):
    response = post(client, {"skus": ["A100-F00001", "NOPE-1"]}, operate_key)

    assert response.status_code == 404
    assert "unknown SKU 'NOPE-1'" in response.json()["error"]
    assert not SyncRun.objects.filter(trigger="manual").exists()


@pytest.mark.parametrize(
    "body",
    [{}, {"skus": []}, {"skus": "A100-F00001"}, {"skus": [1]}, {"sku": ["A"]}, "[]", "{"],
)
def test_bad_bodies_are_400(client, operate_key, body):
    response = post(client, body, operate_key)
    assert response.status_code == 400
    assert set(response.json()) == {"error"}


def test_a_catalog_key_may_not_reimport(client, catalog_key):
    assert post(client, {"skus": ["A100-F00001"]}, catalog_key).status_code == 403


def test_too_many_skus_is_400(client, operate_key):
    response = post(client, {"skus": [f"A100-F{i:05d}" for i in range(501)]}, operate_key)
    assert response.status_code == 400
    assert "at most 500" in response.json()["error"]


@pytest.mark.django_db(transaction=True)
def test_the_queued_reimport_runs_to_the_end(client, feed_server, sync_config):
    from promidata_sync.queue.broker import stop_in_process_worker
    from tests.queue.conftest import wait_for_runs

    key = create_key("ops", ["sync:operate"])[1]
    assert sync_direct(config=sync_config).ok
    Product.objects.filter(sku="A100-F00001").update(brand="edited")
    try:
        response = post(client, {"skus": ["A100-F00001"]}, key)
        (run,) = wait_for_runs(response.json()["runs"], timeout=60)
    finally:
        stop_in_process_worker()
    assert (run.state, run.families_done) == ("completed", 1)
    assert Product.objects.get(sku="A100-F00001").brand != "edited"
