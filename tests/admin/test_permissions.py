"""Only users holding promidata_sync.operate_sync may start, stop or retry syncs."""

from __future__ import annotations

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse

from promidata_sync.models import SyncRun
from tests.admin.factories import make_failed_run, make_run, make_suppliers

pytestmark = pytest.mark.django_db

SUPPLIERS = "admin:catalog_supplier_changelist"
RUNS = "admin:promidata_sync_syncrun_changelist"
SYNC_ACTIONS = {"sync_suppliers", "stop_supplier_syncs"}
RUN_ACTIONS = {"retry_failed_runs", "stop_runs"}


def action_names(response) -> set[str]:
    form = response.context["action_form"]
    return {name for name, _ in form.fields["action"].choices if name} if form else set()


def test_a_viewer_sees_no_sync_actions(viewer_client):
    make_suppliers(1)
    suppliers = viewer_client.get(reverse(SUPPLIERS))
    assert suppliers.status_code == 200
    names = action_names(suppliers)
    assert not names & SYNC_ACTIONS
    assert {"activate_suppliers", "deactivate_suppliers"} <= names  # change_supplier
    assert "Sync supplier" not in suppliers.content.decode()

    assert not action_names(viewer_client.get(reverse(RUNS))) & RUN_ACTIONS


def test_an_operator_sees_them(operator_client):
    make_suppliers(1)
    assert action_names(operator_client.get(reverse(SUPPLIERS))) >= SYNC_ACTIONS
    assert action_names(operator_client.get(reverse(RUNS))) >= RUN_ACTIONS


@pytest.mark.parametrize("action", sorted(SYNC_ACTIONS))
def test_a_forged_supplier_action_is_refused(viewer_client, action, no_in_process_worker):
    suppliers = make_suppliers(1)
    make_run(suppliers[0], state=SyncRun.State.RUNNING)

    response = viewer_client.post(
        reverse(SUPPLIERS),
        {"action": action, ACTION_CHECKBOX_NAME: [suppliers[0].pk], "index": 0, "post": "yes"},
    )

    assert response.status_code == 403
    assert list(SyncRun.objects.values_list("state", flat=True)) == ["running"]


@pytest.mark.parametrize("action", sorted(RUN_ACTIONS))
def test_a_forged_run_action_is_refused(viewer_client, action, no_in_process_worker):
    run = make_failed_run(make_suppliers(1)[0])

    response = viewer_client.post(
        reverse(RUNS), {"action": action, ACTION_CHECKBOX_NAME: [run.pk], "index": 0}
    )

    assert response.status_code == 403
    run.refresh_from_db()
    assert run.state == SyncRun.State.PARTIAL and run.families_failed == 1


def test_the_run_page_buttons_are_refused_and_hidden(viewer_client, no_in_process_worker):
    (supplier,) = make_suppliers(1)
    failed = make_failed_run(supplier)
    running = make_run(make_suppliers(1, prefix="B")[0], state=SyncRun.State.RUNNING)

    page = viewer_client.get(reverse("admin:promidata_sync_syncrun_change", args=[failed.pk]))
    assert page.status_code == 200
    assert 'id="pd-retry"' not in page.content.decode()
    retry = reverse("admin:promidata_sync_syncrun_retry", args=[failed.pk])
    stop = reverse("admin:promidata_sync_syncrun_stop", args=[running.pk])

    assert viewer_client.post(retry).status_code == 403
    assert viewer_client.get(stop).status_code == 403
    assert viewer_client.post(stop, {"post": "yes"}).status_code == 403
    failed.refresh_from_db()
    running.refresh_from_db()
    assert failed.state == SyncRun.State.PARTIAL
    assert running.state == SyncRun.State.RUNNING


def test_the_run_pages_need_a_staff_login(client):
    run = make_run(make_suppliers(1)[0])
    for url in (
        reverse(RUNS),
        reverse("admin:promidata_sync_syncrun_progress") + f"?ids={run.pk}",
        reverse("promidata_sync_dashboard"),
    ):
        response = client.get(url)
        assert response.status_code == 302 and "/admin/login/" in response.url


def test_staff_without_view_permission_cannot_poll_or_see_the_dashboard(client, django_user_model):
    user = django_user_model.objects.create_user("staff", is_staff=True)
    client.force_login(user)
    assert client.get(reverse("admin:promidata_sync_syncrun_progress")).status_code == 403
    assert client.get(reverse("promidata_sync_dashboard")).status_code == 403
