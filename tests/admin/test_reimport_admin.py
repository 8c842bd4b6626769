"""The products admin's "Re-import from feed" action."""

from __future__ import annotations

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse

from catalog.models import Product
from promidata_sync.models import SyncRun
from tests.admin.factories import make_products, make_run, make_suppliers

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:catalog_product_changelist"


def post_action(client, products):
    return client.post(
        reverse(CHANGELIST),
        {"action": "reimport_products", ACTION_CHECKBOX_NAME: [p.pk for p in products], "index": 0},
    )


def last_message(response) -> str:
    return str(list(response.wsgi_request._messages)[-1])


def test_the_action_queues_a_manual_run_of_just_those_families(
    operator_client, no_in_process_worker
):
    (supplier,) = make_suppliers(1)
    products = make_products(supplier, 3)

    response = post_action(operator_client, products[:2])

    assert response.status_code == 302
    run = SyncRun.objects.get()
    assert (run.trigger, run.mode, run.state) == ("manual", "queue", "queued")
    assert run.skus == sorted(p.sku for p in products[:2])
    message = last_message(response)
    assert "Re-import of 2 families queued" in message and f"#{run.pk}" in message


def test_a_running_sync_is_not_doubled(operator_client, no_in_process_worker):
    (supplier,) = make_suppliers(1)
    (product,) = make_products(supplier, 1)
    running = make_run(supplier, state=SyncRun.State.RUNNING)

    response = post_action(operator_client, [product])

    assert list(SyncRun.objects.values_list("pk", flat=True)) == [running.pk]
    assert "Not re-imported, a sync of the supplier is running: A100" in last_message(response)


def test_a_viewer_does_not_get_the_action(viewer_client):
    (supplier,) = make_suppliers(1)
    (product,) = make_products(supplier, 1)

    page = viewer_client.get(reverse(CHANGELIST))
    assert page.status_code == 200
    assert "reimport_products" not in page.content.decode()
    assert post_action(viewer_client, [product]).status_code == 403
    assert not SyncRun.objects.exists()
    assert Product.objects.count() == 1
