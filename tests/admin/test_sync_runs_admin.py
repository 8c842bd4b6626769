"""The sync runs admin: the live changelist, the progress endpoint, a run's page, Retry, Stop."""

from __future__ import annotations

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from promidata_sync.models import SyncItem, SyncRun
from tests.admin.brokers import closed_port_url, redis_broker_at
from tests.admin.factories import make_failed_run, make_run, make_suppliers

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:promidata_sync_syncrun_changelist"
PROGRESS = "admin:promidata_sync_syncrun_progress"


def run_page(run: SyncRun) -> str:
    return reverse("admin:promidata_sync_syncrun_change", args=[run.pk])


def last_message(response) -> str:
    return str(list(response.wsgi_request._messages)[-1])


def changelist_queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse(CHANGELIST))
    assert response.status_code == 200
    return len(queries)


def test_changelist_queries_do_not_grow_with_rows(operator_client):
    suppliers = make_suppliers(50)
    for supplier in suppliers[:5]:
        make_run(supplier, families_total=4, families_done=3, families_failed=1)
    # One running run on the first page too: the page's rates cost one query for all of them.
    make_run(suppliers[5], state=SyncRun.State.RUNNING, families_total=10, families_done=2)
    few = changelist_queries(operator_client)

    for supplier in suppliers[6:]:
        make_run(supplier, state=SyncRun.State.RUNNING, families_total=10, families_done=2)
    assert SyncRun.objects.count() == 50

    assert changelist_queries(operator_client) == few


def test_changelist_shows_newest_first_with_badges_and_progress(operator_client):
    old_supplier, new_supplier = make_suppliers(2)
    old = make_run(old_supplier, families_total=4, families_done=3, families_failed=1)
    new = make_run(
        new_supplier,
        state=SyncRun.State.RUNNING,
        planned_at=None,
        families_total=10,
        families_done=5,
        images_total=4,
    )

    response = operator_client.get(reverse(CHANGELIST))
    html = response.content.decode()

    assert [r.pk for r in response.context["cl"].result_list] == [new.pk, old.pk]
    assert f'data-run-id="{new.pk}" data-run-field="state" data-run-active="true"' in html
    assert f'data-run-id="{old.pk}" data-run-field="state" data-run-active="false"' in html
    assert "5 / 10" in html
    assert "4 / 4 · 1 failed" in html
    assert 'data-percent="100"' in html
    assert "promidata_sync/run_progress.js" in html
    assert reverse(PROGRESS) in html


def test_filters_by_state_supplier_trigger_and_date(operator_client):
    a, b = make_suppliers(2)
    make_run(a, trigger=SyncRun.Trigger.CRON)
    make_run(b, state=SyncRun.State.FAILED)
    url = reverse(CHANGELIST)

    def count(**params):
        return operator_client.get(url, params).context["cl"].result_count

    assert count(state__exact="failed") == 1
    assert count(trigger__exact="cron") == 1
    assert count(supplier__id__exact=a.pk) == 1
    assert count(**{"created_at__gte": "2000-01-01 00:00:00+00:00"}) == 2


def test_progress_endpoint(operator_client, viewer_client):
    (supplier,) = make_suppliers(1)
    run = make_run(
        supplier,
        state=SyncRun.State.RUNNING,
        families_total=4,
        families_done=1,
        families_failed=1,
        images_total=0,
        planned_at=timezone.now(),
    )

    data = viewer_client.get(reverse(PROGRESS), {"ids": f"{run.pk},999999"}).json()

    (entry,) = data["runs"]
    assert entry["id"] == run.pk and entry["active"] is True
    assert entry["state_label"] == "Running"
    assert entry["families"]["percent"] == 50
    assert entry["families"]["label"] == "2 / 4 · 1 failed"
    # Images are planned as families are written: their total is not final yet.
    assert (entry["images"]["percent"], entry["images"]["label"]) == (0, "planning…")
    SyncRun.objects.filter(pk=run.pk).update(families_done=3)
    (entry,) = viewer_client.get(reverse(PROGRESS), {"ids": str(run.pk)}).json()["runs"]
    assert (entry["images"]["percent"], entry["images"]["label"]) == (100, "0 / 0")
    assert viewer_client.get(reverse(PROGRESS), {"ids": "1,x"}).status_code == 400


def test_run_page_lists_jobs_and_failures_without_the_profile_url(operator_client):
    (supplier,) = make_suppliers(1)
    run = make_failed_run(supplier, families=3, failed=2)

    html = operator_client.get(run_page(run)).content.decode()

    assert "Failed families and images (2)" in html
    assert "A100-F00001" in html and "A100-F00002" in html
    assert "HTTP 404" in html
    assert "Jobs (1)" in html and "product-family" in html
    assert "secret-guid" not in html
    assert 'id="pd-retry"' in html


def test_run_page_shows_the_warnings_of_each_family_and_of_the_index(operator_client):
    (supplier,) = make_suppliers(1)
    run = make_run(supplier, warnings=9)
    SyncItem.objects.create(
        run=run,
        kind=SyncItem.Kind.FAMILY,
        key="A100-F00007",
        state=SyncItem.State.DONE,
        warnings=[f"A100-F00007-0{i}: Ean of 40 characters dropped (at most 32)" for i in range(6)],
        warning_count=8,
    )
    SyncItem.objects.create(
        run=run,
        kind=SyncItem.Kind.INDEX,
        key="Import.txt",
        state=SyncItem.State.DONE,
        warnings=["Import.txt line 7: hash is 200 characters long (at most 128)"],
        warning_count=1,
    )

    html = operator_client.get(run_page(run)).content.decode()

    assert "Warnings (9 in 2 items)" in html
    assert "A100-F00007-00: Ean of 40 characters dropped (at most 32)" in html
    assert "A100-F00007-05" not in html  # the first five are shown...
    assert "… 3 more" in html  # ...and the rest counted
    assert "Import.txt line 7: hash is 200 characters long" in html


def test_retry_button_requeues_the_failed_families(operator_client, no_in_process_worker):
    (supplier,) = make_suppliers(1)
    run = make_failed_run(supplier, families=3, failed=2)

    response = operator_client.post(reverse("admin:promidata_sync_syncrun_retry", args=[run.pk]))

    assert response.status_code == 302 and response.url == run_page(run)
    run.refresh_from_db()
    assert run.state == SyncRun.State.RUNNING and run.finished_at is None
    assert run.families_failed == 0
    assert run.items.filter(state=SyncItem.State.PENDING).count() == 2
    assert "Retrying 2 families and 0 images of 1 run" in last_message(response)


def test_retry_of_a_run_without_failures_changes_nothing(operator_client):
    (supplier,) = make_suppliers(1)
    run = make_run(supplier)

    response = operator_client.post(reverse("admin:promidata_sync_syncrun_retry", args=[run.pk]))

    run.refresh_from_db()
    assert run.state == SyncRun.State.COMPLETED and run.finished_at
    assert "Nothing to retry" in last_message(response)


def test_retry_action_on_the_changelist(operator_client, no_in_process_worker):
    a, b = make_suppliers(2)
    failed = make_failed_run(a)
    clean = make_run(b)

    response = operator_client.post(
        reverse(CHANGELIST),
        {"action": "retry_failed_runs", ACTION_CHECKBOX_NAME: [failed.pk, clean.pk], "index": 0},
    )

    assert response.status_code == 302
    failed.refresh_from_db()
    clean.refresh_from_db()
    assert failed.state == SyncRun.State.RUNNING
    assert clean.state == SyncRun.State.COMPLETED


def test_stop_button_asks_then_stops(operator_client):
    (supplier,) = make_suppliers(1)
    run = make_run(supplier, state=SyncRun.State.RUNNING)
    stop_url = reverse("admin:promidata_sync_syncrun_stop", args=[run.pk])
    assert stop_url in operator_client.get(run_page(run)).content.decode()

    confirm = operator_client.get(stop_url)
    assert confirm.status_code == 200 and "Yes, stop 1 sync" in confirm.content.decode()

    response = operator_client.post(stop_url, {"post": "yes"})

    assert response.status_code == 302
    run.refresh_from_db()
    assert run.state == SyncRun.State.STOPPED
    assert f"Sync #{run.pk} of A100 stopped." in last_message(response)


def test_runs_cannot_be_added_edited_or_deleted(operator_client):
    (supplier,) = make_suppliers(1)
    run = make_run(supplier)
    assert operator_client.get(reverse("admin:promidata_sync_syncrun_add")).status_code == 403
    page = operator_client.get(run_page(run)).content.decode()
    assert 'name="_save"' not in page
    delete = reverse("admin:promidata_sync_syncrun_delete", args=[run.pk])
    assert operator_client.post(delete, {"post": "yes"}).status_code == 403
    assert SyncRun.objects.filter(pk=run.pk).exists()


def test_the_changelist_can_show_just_some_runs(operator_client):
    a, b, c = make_suppliers(3)
    runs = [make_run(a), make_run(b), make_run(c)]

    response = operator_client.get(reverse(CHANGELIST), {"id__in": f"{runs[0].pk},{runs[2].pk}"})

    assert {r.pk for r in response.context["cl"].result_list} == {runs[0].pk, runs[2].pk}


def test_retry_with_the_broker_down_leaves_the_run_alone(operator_client, settings):
    run = make_failed_run(make_suppliers(1)[0])

    with redis_broker_at(settings, closed_port_url()):
        response = operator_client.post(
            reverse("admin:promidata_sync_syncrun_retry", args=[run.pk])
        )

    run.refresh_from_db()
    assert (run.state, run.families_failed) == (SyncRun.State.PARTIAL, 1)
    assert "Could not queue retries" in last_message(response)
