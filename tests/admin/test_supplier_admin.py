"""The supplier admin: its list, and the actions that start and stop syncs."""

from __future__ import annotations

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from catalog.models import Supplier
from promidata_sync.models import SyncRun
from tests.admin.factories import make_products, make_run, make_suppliers

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:catalog_supplier_changelist"


def changelist_queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse(CHANGELIST))
    assert response.status_code == 200
    return len(queries)


def test_changelist_queries_do_not_grow_with_rows(operator_client):
    suppliers = make_suppliers(5)
    for supplier in suppliers:
        make_products(supplier, 2)
        make_run(supplier)
    few = changelist_queries(operator_client)

    for supplier in make_suppliers(45, prefix="B"):
        make_products(supplier, 1)
        make_run(supplier)
    assert Supplier.objects.count() == 50

    assert changelist_queries(operator_client) == few


def test_changelist_shows_counts_last_sync_and_a_running_sync(operator_client):
    (supplier,) = make_suppliers(1)
    make_products(supplier, 3, variants=2)
    finished = make_run(supplier, state=SyncRun.State.PARTIAL)
    Supplier.objects.filter(pk=supplier.pk).update(
        last_synced_at=finished.finished_at,
        last_sync_status="partial",
        last_sync_message="0 new, 0 updated, 3 unchanged, 1 failed families",
    )
    running = make_run(supplier, state=SyncRun.State.RUNNING)

    html = operator_client.get(reverse(CHANGELIST)).content.decode()

    assert '<td class="field-products">3</td>' in html
    assert '<td class="field-variants">6</td>' in html
    assert "Completed with failures" in html
    assert "3 unchanged, 1 failed families" in html
    assert f"Syncing #{running.pk}" in html


def test_search_and_filters(operator_client):
    make_suppliers(3)
    Supplier.objects.filter(code="A101").update(name="Acme Mugs", is_active=False)
    url = reverse(CHANGELIST)

    assert operator_client.get(url, {"q": "acme"}).context["cl"].result_count == 1
    assert operator_client.get(url, {"is_active__exact": "0"}).context["cl"].result_count == 1
    assert operator_client.get(url, {"last_sync": "never"}).context["cl"].result_count == 3


def last_message(response) -> str:
    return str(list(response.wsgi_request._messages)[-1])


def post_action(client, action: str, suppliers, **extra):
    return client.post(
        reverse(CHANGELIST),
        {"action": action, ACTION_CHECKBOX_NAME: [s.pk for s in suppliers], "index": 0, **extra},
    )


def test_sync_supplier_action_queues_one_run_per_supplier(operator_client, no_in_process_worker):
    suppliers = make_suppliers(2)

    response = post_action(operator_client, "sync_suppliers", suppliers)

    assert response.status_code == 302
    runs = SyncRun.objects.order_by("supplier__code")
    assert [(r.supplier.code, r.trigger, r.mode, r.state) for r in runs] == [
        ("A100", "admin", "queue", "queued"),
        ("A101", "admin", "queue", "queued"),
    ]
    message = last_message(response)
    assert "Sync queued for 2 suppliers" in message
    assert f"id__in={runs[0].pk}%2C{runs[1].pk}" in message


def test_sync_supplier_action_does_not_start_a_second_sync(operator_client, no_in_process_worker):
    (supplier,) = make_suppliers(1)
    running = make_run(supplier, state=SyncRun.State.RUNNING)

    response = post_action(operator_client, "sync_suppliers", [supplier])

    assert list(SyncRun.objects.values_list("pk", flat=True)) == [running.pk]
    message = last_message(response)
    assert f"Already syncing, not started again: A100 (#{running.pk})" in message


def test_stop_sync_asks_first_then_stops(operator_client):
    suppliers = make_suppliers(2)
    running = make_run(suppliers[0], state=SyncRun.State.RUNNING)

    confirm = post_action(operator_client, "stop_supplier_syncs", suppliers)

    assert confirm.status_code == 200
    assert "Yes, stop 1 sync" in confirm.content.decode()
    running.refresh_from_db()
    assert running.state == SyncRun.State.RUNNING

    # The confirmation form posts the action back without "index", with post=yes.
    done = operator_client.post(
        reverse(CHANGELIST),
        {
            "action": "stop_supplier_syncs",
            ACTION_CHECKBOX_NAME: [s.pk for s in suppliers],
            "post": "yes",
        },
    )

    assert done.status_code == 302
    running.refresh_from_db()
    assert running.state == SyncRun.State.STOPPED
    assert "Stopped 1 sync: A100" in last_message(done)


def test_deactivate_and_activate(operator_client):
    suppliers = make_suppliers(2)

    post_action(operator_client, "deactivate_suppliers", suppliers)
    assert not Supplier.objects.filter(is_active=True).exists()

    response = post_action(operator_client, "activate_suppliers", suppliers[:1])
    assert list(Supplier.objects.filter(is_active=True)) == suppliers[:1]
    assert "Activated 1 supplier." in last_message(response)


def test_change_page_lists_recent_syncs(operator_client):
    (supplier,) = make_suppliers(1)
    run = make_run(supplier)

    html = operator_client.get(
        reverse("admin:catalog_supplier_change", args=[supplier.pk])
    ).content.decode()

    assert f"#{run.pk}</a>" in html
    assert reverse("admin:promidata_sync_syncrun_change", args=[run.pk]) in html
