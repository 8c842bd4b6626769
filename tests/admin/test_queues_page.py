"""The Queues page: readable by viewers, every action only for operators (403 otherwise),
destructive ones after a confirmation, each recorded."""

from __future__ import annotations

import pytest
from django.urls import reverse

from promidata_sync.models import Pause, QueueAction, SyncItem, SyncRun
from tests.admin.factories import make_failed_run, make_suppliers

pytestmark = pytest.mark.django_db

QUEUES = "promidata_sync_queues"


def test_a_viewer_sees_the_queues_but_no_action_and_may_post_none(viewer_client):
    page = viewer_client.get(reverse(QUEUES))
    assert page.status_code == 200
    text = page.content.decode()
    assert "product-family" in text and "Paused suppliers" in text
    assert 'name="action"' not in text  # no button of any queue action
    for action in ("pause", "resume", "purge", "clear_dead", "retry_job", "retry_family"):
        data = {"action": action, "queue": "product-family", "confirm": "yes"}
        assert viewer_client.post(reverse(QUEUES), data).status_code == 403
    assert not Pause.objects.exists() and not QueueAction.objects.exists()


def test_an_operator_pauses_and_resumes_a_queue_and_it_is_recorded(operator_client):
    data = {"action": "pause", "scope": "queue", "queue": "image-upload"}
    response = operator_client.post(reverse(QUEUES), data, follow=True)
    assert "Queue image-upload paused." in response.content.decode()
    assert Pause.objects.get().paused_by == "operator"
    operator_client.post(reverse(QUEUES), data)  # a second pause changes nothing
    assert Pause.objects.count() == 1
    operator_client.post(reverse(QUEUES), {**data, "action": "resume"})
    assert not Pause.objects.exists()
    assert list(QueueAction.objects.order_by("id").values_list("action", "detail")) == [
        ("pause", "paused"),
        ("pause", "already paused"),
        ("resume", "resumed"),
    ]


def test_purge_and_clear_ask_first(operator_client):
    # What each does to a real broker's messages is tested in tests/queue/test_queue_actions.py;
    # here: the question first, then the action done and said (nothing was waiting or dead).
    for action, question, said in (
        ("purge", "Drop every job", "0 waiting job(s) of product-family dropped."),
        ("clear_dead", "Delete every dead", "0 dead letter(s) of product-family deleted."),
    ):
        data = {"action": action, "queue": "product-family"}
        asked = operator_client.post(reverse(QUEUES), data)
        assert asked.status_code == 200 and question in asked.content.decode()
        assert not QueueAction.objects.filter(action=action).exists()
        done = operator_client.post(reverse(QUEUES), {**data, "confirm": "yes"}, follow=True)
        assert said in done.content.decode()
        assert QueueAction.objects.filter(action=action, username="operator").exists()


def test_an_unknown_queue_is_one_message_not_an_error(operator_client):
    data = {"action": "pause", "scope": "queue", "queue": "nope"}
    response = operator_client.post(reverse(QUEUES), data, follow=True)
    assert response.status_code == 200
    assert "Not done: unknown queue &#x27;nope&#x27;" in response.content.decode()
    assert not Pause.objects.exists()


def test_a_paused_supplier_is_not_synced_from_the_admin(operator_client, no_in_process_worker):
    (supplier,) = make_suppliers(1)
    operator_client.post(
        reverse(QUEUES), {"action": "pause", "scope": "supplier", "name": supplier.code}
    )
    response = operator_client.post(
        reverse("admin:catalog_supplier_changelist"),
        {"action": "sync_suppliers", "_selected_action": [supplier.pk]},
        follow=True,
    )
    assert f"Not started: syncs of {supplier.code} are paused" in response.content.decode()
    assert not SyncRun.objects.exists()


def test_retry_one_family_of_a_run(operator_client, no_in_process_worker):
    (supplier,) = make_suppliers(1)
    run = make_failed_run(supplier, families=4, failed=2)
    sku = run.items.filter(state=SyncItem.State.FAILED).values_list("key", flat=True).first()
    data = {"action": "retry_family", "run_id": str(run.pk), "family_sku": sku}
    first = operator_client.post(reverse(QUEUES), data, follow=True)
    assert f"Family {sku} of run #{run.pk} retried." in first.content.decode()
    again = operator_client.post(reverse(QUEUES), data, follow=True)
    assert "nothing to retry" in again.content.decode()
    assert run.items.filter(state=SyncItem.State.PENDING).count() == 1
    assert run.items.filter(state=SyncItem.State.FAILED).count() == 1


def test_the_api_answers_409_while_syncs_are_paused(client, settings, operator_client):
    settings.PROMIDATA_API_TOKEN = "a-token-for-this-test"
    operator_client.post(reverse(QUEUES), {"action": "pause", "scope": "all"})
    response = client.post(
        "/api/sync",
        "{}",
        content_type="application/json",
        HTTP_AUTHORIZATION="Bearer a-token-for-this-test",
    )
    assert response.status_code == 409
    assert "syncs are paused by operator" in response.json()["error"]
    assert not SyncRun.objects.exists()
