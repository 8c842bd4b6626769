"""The figures of GET /metrics are those of the records: a real direct sync of the loopback
feed (one family and one image failing), the reconciler acting on real runs and jobs, live
workers, the broker up and down, and a query count that does not grow with the runs."""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys
from datetime import timedelta

import pytest
from django.utils import timezone

from catalog.models import Product, Supplier
from devtools.feedserver import FAKE_PROFILE_GUID
from promidata_sync.models import Job, SyncItem, SyncRun, WorkerHeartbeat
from promidata_sync.queue.reconcile import reconcile
from promidata_sync.services import runs
from promidata_sync.services.direct import sync_direct
from promidata_sync.services.run_owners import machine
from promidata_sync.services.workers import heartbeat_write
from tests.admin.brokers import closed_port_url, redis_broker_at
from tests.admin.factories import make_run, make_suppliers
from tests.feedpaths import family_path
from tests.metrics.conftest import METRICS_TOKEN, scrape

pytestmark = pytest.mark.django_db


def test_the_figures_are_those_of_a_real_sync_with_a_failed_family(
    feed, feed_server, sync_config, scraper
):
    feed_server.fail(family_path(feed_server, "A100-F00002"), 404)
    image_url = feed.expected()["A101"]["A101-F00001"]["variants"]["A101-F00001-01"]["images"][0]
    feed_server.fail(image_url.removeprefix(feed_server.url), 404)
    report = sync_direct(config=sync_config)
    assert not report.ok
    by_code = {run.supplier.code: run for run in SyncRun.objects.select_related("supplier")}

    found = scrape(scraper)

    assert found.value("promidata_runs", kind="catalog", state="partial") == 2
    assert found.value("promidata_runs", kind="catalog", state="completed") == 0
    assert found.value("promidata_runs_active", kind="catalog") == 0
    # What an operator counts in the catalog: A100 has 5 of its 6 families, the 6th failed.
    a100 = {"supplier": "A100", "kind": "catalog"}
    assert found.value("promidata_run_families_total", **a100, result="done") == 5
    assert Product.objects.filter(supplier__code="A100").count() == 5
    assert found.value("promidata_run_families_total", **a100, result="failed") == 1
    failed_images = SyncItem.objects.filter(kind="image", state="failed")
    assert list(failed_images.values_list("run__supplier__code", flat=True)) == ["A101"]
    assert found.value("promidata_run_images_total", supplier="A101", result="failed") == 1
    for code, run in by_code.items():
        assert run.images_done > 0
        assert found.value("promidata_run_images_total", supplier=code, result="done") == (
            run.images_done
        )
        labels = {"supplier": code, "kind": "catalog"}
        assert found.value("promidata_run_duration_seconds", **labels) == pytest.approx(
            run.duration_seconds, abs=0.001
        )
        # A run with failed items still read the feed and ended: a success for the alert.
        ended = run.finished_at.timestamp()
        assert found.value(
            "promidata_supplier_last_success_timestamp_seconds", **labels
        ) == pytest.approx(ended, abs=0.001)
        since = found.value("promidata_supplier_last_success_age_seconds", **labels)
        assert 0 <= since <= (timezone.now() - run.finished_at).total_seconds() + 0.001
    assert found.value("promidata_reconciler_actions_total", action="dead_run_finished") == 0
    # No secret and no unbounded label value: no profile GUID, token, SKU or URL.
    for secret in (FAKE_PROFILE_GUID, METRICS_TOKEN, feed_server.url, "A100-F0000", "http"):
        assert secret not in found.text


def test_a_supplier_never_synced_shows_infinity_and_an_inactive_one_nothing(scraper):
    never, inactive = make_suppliers(2)
    Supplier.objects.filter(pk=inactive.pk).update(is_active=False)
    make_run(inactive, started_at=timezone.now())

    found = scrape(scraper)

    never_labels = {"supplier": never.code, "kind": "catalog"}
    assert math.isinf(found.value("promidata_supplier_last_success_age_seconds", **never_labels))
    assert not found.has("promidata_supplier_last_success_timestamp_seconds", **never_labels)
    assert all(
        labels["supplier"] != inactive.code
        for labels in found.labelsets("promidata_supplier_last_success_age_seconds")
    )
    # Its runs still count.
    assert found.value("promidata_runs", kind="catalog", state="completed") == 1


def test_runs_in_progress_and_stock_runs_have_their_own_kind(scraper):
    first, second = make_suppliers(2)
    make_run(first, state=SyncRun.State.RUNNING, families_total=10, families_done=4)
    make_run(first, kind=SyncRun.Kind.STOCK, families_done=7, families_failed=2)
    make_run(second, kind=SyncRun.Kind.STOCK, state=SyncRun.State.QUEUED)

    found = scrape(scraper)

    assert found.value("promidata_runs_active", kind="catalog") == 1
    assert found.value("promidata_runs_active", kind="stock") == 1
    assert found.value("promidata_runs", kind="stock", state="completed") == 1
    # A running sync's families count already, so a rate moves during a long sync.
    catalog = {"supplier": first.code, "kind": "catalog"}
    assert found.value("promidata_run_families_total", **catalog, result="done") == 4
    stock = {"supplier": first.code, "kind": "stock"}
    assert found.value("promidata_run_families_total", **stock, result="done") == 7
    assert found.value("promidata_run_families_total", **stock, result="failed") == 2
    assert found.has("promidata_supplier_last_success_timestamp_seconds", **stock)
    assert not found.has("promidata_supplier_last_success_timestamp_seconds", **catalog)


def finished_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


@pytest.mark.django_db(transaction=True)
def test_reconciler_actions_and_the_broker_queues_are_counted(redis_broker, scraper):
    # A direct run whose process died, and a queue run whose two messages Redis lost.
    dead = runs.run_create(
        supplier=Supplier.objects.create(code="A1"), trigger="cron", mode="direct"
    )
    SyncRun.objects.filter(pk=dead.pk).update(
        owner_host=os.uname().nodename, owner_pid=finished_pid(), started_at=timezone.now()
    )
    SyncRun.objects.filter(pk=dead.pk).update(owner_machine=machine())
    stalled = runs.run_create(
        supplier=Supplier.objects.create(code="A2"), trigger="cron", mode="queue"
    )
    runs.run_mark_running(stalled)
    runs.items_plan(
        stalled.pk,
        kind=SyncItem.Kind.FAMILY,
        items=[
            ("A2-1", "http://127.0.0.1/A2/A2-1.json", "H1"),
            ("A2-2", "http://127.0.0.1/A2/A2-2.json", "H2"),
        ],
    )
    runs.run_set(stalled.pk, planned_at=timezone.now())
    for sku in ("A2-1", "A2-2"):
        Job.objects.create(
            job_id=f"job-{sku}",
            queue_name="product-family",
            actor_name="sync_product_family",
            run=stalled,
            key=sku,
            state=Job.State.ACTIVE,
            broker_ref=f"gone-{sku}",
        )

    report = reconcile(stalled_after_seconds=0)
    assert report.runs_reaped == [dead.pk] and report.runs_resumed == [stalled.pk]
    found = scrape(scraper)

    actions = "promidata_reconciler_actions_total"
    assert found.value(actions, action="dead_run_finished") == 1
    assert found.value(actions, action="stalled_run_resumed") == 1
    assert found.value(actions, action="job_lost") == 2
    # The two families were enqueued again: the broker holds them, their records say waiting.
    assert found.value("promidata_broker_up") == 1
    assert found.value("promidata_broker_messages", queue="product-family", state="waiting") == 2
    assert found.value("promidata_queue_jobs", queue="product-family", state="waiting") == 2
    assert found.value("promidata_queue_jobs", queue="product-family", state="failed") == 2

    reconcile(stalled_after_seconds=0)  # the broker holds the work now: nothing more to do
    again = scrape(scraper)
    assert again.value(actions, action="stalled_run_resumed") == 1
    assert again.value(actions, action="job_lost") == 2


def test_live_workers_per_queue(scraper):
    heartbeat_write("w1", queues=["image-upload"], threads=5)
    heartbeat_write("w2", queues=["image-upload"], threads=5)
    heartbeat_write("w3", queues=["supplier-sync", "product-family"], threads=3)
    heartbeat_write("gone", queues=["webhooks"], threads=2)
    WorkerHeartbeat.objects.filter(worker_id="gone").update(
        last_seen_at=timezone.now() - timedelta(minutes=5)
    )

    found = scrape(scraper)

    assert found.value("promidata_workers_alive", queue="image-upload") == 2
    assert found.value("promidata_worker_threads", queue="image-upload") == 10
    assert found.value("promidata_workers_alive", queue="product-family") == 1
    assert found.value("promidata_workers_alive", queue="webhooks") == 0


def test_a_broker_that_is_down_still_answers_with_broker_up_0(scraper, settings):
    make_run(make_suppliers(1)[0])
    with redis_broker_at(settings, closed_port_url()):
        found = scrape(scraper)
    assert found.value("promidata_broker_up") == 0
    assert not found.labelsets("promidata_broker_messages")
    assert found.value("promidata_runs", kind="catalog", state="completed") == 1
    assert "promidata_workers_alive" in found.families


def many_records(suppliers: int, runs_each: int) -> None:
    for supplier in make_suppliers(suppliers, prefix=f"B{suppliers}"):
        for i in range(runs_each):
            state = SyncRun.State.PARTIAL if i % 2 else SyncRun.State.COMPLETED
            run = make_run(supplier, state=state, families_done=3, images_failed=i % 2)
            Job.objects.create(
                job_id=f"{supplier.code}-{i}",
                queue_name="product-family",
                actor_name="sync_product_family",
                run=run,
                state=Job.State.COMPLETED,
            )


def test_the_query_count_does_not_grow_with_the_records(
    client, metrics_key, django_assert_max_num_queries, django_assert_num_queries
):
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {metrics_key}"
    many_records(1, 1)
    scrape(client)  # the key's last use is written once a minute: out of the counts
    with django_assert_max_num_queries(10) as small:
        scrape(client)
    many_records(12, 15)
    with django_assert_num_queries(len(small.captured_queries)):
        found = scrape(client)
    assert found.value("promidata_runs", kind="catalog", state="partial") == 12 * 7


def test_names_and_labels_follow_prometheus_conventions(scraper):
    make_run(make_suppliers(1)[0], state=SyncRun.State.RUNNING, started_at=timezone.now())
    found = scrape(scraper)

    allowed_labels = {"kind", "state", "supplier", "result", "action", "queue"}
    assert len(found.families) >= 10  # the conventions are checked on every metric, not none
    for family in found.families.values():
        assert re.fullmatch(r"promidata_[a-z][a-z0-9_]*", family.name), family.name
        assert family.documentation, family.name
        for sample in family.samples:
            assert set(sample.labels) <= allowed_labels, sample
            if family.type == "counter":
                assert sample.name == f"{family.name}_total", sample.name
        if "timestamp" in family.name or "duration" in family.name or "since" in family.name:
            assert family.name.endswith("_seconds"), family.name
