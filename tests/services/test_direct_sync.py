"""Direct sync against a real loopback feed server and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog.models import Media, PriceTier, Product, Supplier, Variant
from promidata_sync.models import SyncItem, SyncRun
from promidata_sync.services.direct import sync_direct
from tests.catalog_state import (
    assert_images_linked_and_stored,
    catalog_as_feed,
    normalise_expected,
    snapshot,
)
from tests.feedpaths import family_path, import_path

pytestmark = pytest.mark.django_db


def test_full_import_matches_the_feed_exactly(feed, feed_server, sync_config):
    report = sync_direct(config=sync_config)

    assert report.ok, report
    assert catalog_as_feed() == normalise_expected(feed.expected())
    assert_images_linked_and_stored()
    assert Supplier.objects.count() == 2
    runs = {run.supplier.code: run for run in report.runs}
    for code in feed.supplier_codes:
        run = runs[code]
        assert run.state == SyncRun.State.COMPLETED
        assert (run.families_new, run.families_failed, run.families_unchanged) == (6, 0, 0)
        assert run.families_total == run.families_done == 6
        assert run.images_failed == 0
    # Every family fetched exactly once; every distinct image downloaded exactly once.
    assert feed_server.count("family") == 12
    distinct_images = {
        url
        for families in feed.expected().values()
        for family in families.values()
        for variant in family["variants"].values()
        for url in variant["images"]
    }
    assert feed_server.count("image") == len(distinct_images)
    assert Media.objects.count() == len(distinct_images)


def test_unchanged_resync_fetches_nothing_and_changes_nothing(feed_server, sync_config):
    assert sync_direct(config=sync_config).ok
    before = snapshot()
    feed_server.reset_counts()

    with CaptureQueriesContext(connection) as queries:
        report = sync_direct(config=sync_config)

    assert report.ok
    assert feed_server.count("family") == 0
    assert feed_server.count("image") == 0
    assert feed_server.count("index") == 1
    assert snapshot() == before
    for run in report.runs:
        assert (run.families_unchanged, run.families_total, run.images_total) == (6, 0, 0)
    # A handful of queries per supplier, whatever its number of families.
    per_supplier = len(queries) / len(report.runs)
    assert per_supplier < 40, [q["sql"][:120] for q in queries.captured_queries]


def test_unchanged_resync_query_count_does_not_grow_with_families(feed, feed_server, sync_config):
    assert sync_direct(config=sync_config).ok
    with CaptureQueriesContext(connection) as small:
        sync_direct(config=sync_config)
    for _ in range(30):
        feed.add_family("A100")
    assert sync_direct(config=sync_config).ok
    with CaptureQueriesContext(connection) as large:
        sync_direct(config=sync_config)
    assert len(large) == len(small)


def test_changed_feed_ends_in_exactly_the_expected_state(feed, feed_server, sync_config):
    assert sync_direct(config=sync_config).ok
    feed.set_price("A100-F00001", 0, Decimal("9.99"))
    feed.remove_variant("A100-F00002", 1)
    added_child = feed.add_variant("A100-F00003")
    feed.withdraw_family("A101-F00004")
    new_family = feed.add_family("A101")
    feed_server.reset_counts()

    report = sync_direct(config=sync_config)

    assert report.ok
    assert feed_server.count("family") == 4  # three changed, one new: nothing else fetched
    runs = {run.supplier.code: run for run in report.runs}
    a100, a101 = runs["A100"], runs["A101"]
    assert (a100.families_updated, a100.families_unchanged, a100.families_new) == (3, 3, 0)
    # A family missing from one index is only counted: one cut index must not withdraw it.
    assert (a101.families_new, a101.families_deactivated, a101.families_unchanged) == (1, 0, 5)
    assert "1 families missing from Import.txt for the first time" in a101.message
    assert Product.objects.get(sku="A101-F00004").is_active
    feed.set_price("A100-F00004", 0, Decimal("7.77"))  # the next day's publication

    again = {run.supplier.code: run for run in sync_direct(config=sync_config).runs}

    assert again["A101"].families_deactivated == 1  # missing from a second publication
    assert again["A101"].state == SyncRun.State.COMPLETED
    assert catalog_as_feed() == normalise_expected(feed.expected())
    assert_images_linked_and_stored()
    first = Variant.objects.get(product__sku="A100-F00001", sku="A100-F00001-01")
    assert first.price_tiers.get(kind="sell", min_quantity=1).price == Decimal("9.99")
    removed = Variant.objects.get(product__sku="A100-F00002", sku="A100-F00002-02")
    assert removed.is_active is False  # deactivated, never deleted
    assert Variant.objects.get(sku=added_child).is_active
    withdrawn = Product.objects.get(sku="A101-F00004")
    assert withdrawn.is_active is False
    assert withdrawn.variants.count() == 2  # rows kept for history
    assert Product.objects.get(sku=new_family).is_active


def test_withdrawn_family_is_reactivated_without_a_fetch_when_it_returns(
    feed, feed_server, sync_config
):
    assert sync_direct(config=sync_config).ok
    full_index = feed.import_txt(feed_server.base_url)
    feed.withdraw_family("A100-F00002")
    assert sync_direct(config=sync_config).ok
    # The next day's publication, otherwise unchanged: the family is missing a second time.
    republished = feed.import_txt(feed_server.base_url) + b"\n"
    feed_server.replace(import_path(feed_server), republished, "text/plain")
    assert sync_direct(config=sync_config).ok
    assert not Product.objects.get(sku="A100-F00002").is_active

    feed_server.replace(import_path(feed_server), full_index, "text/plain")
    feed_server.reset_counts()
    report = sync_direct(config=sync_config)

    assert report.ok
    assert Product.objects.get(sku="A100-F00002").is_active
    assert feed_server.count("family") == 0
    assert {r.supplier.code: r.families_reactivated for r in report.runs}["A100"] == 1


def test_broken_json_missing_family_and_missing_image_are_reported_and_the_rest_imports(
    feed, feed_server, sync_config
):
    feed_server.replace(family_path(feed_server, "A100-F00001"), b'{"Sku": "A100-F00001", ')
    feed_server.fail(family_path(feed_server, "A100-F00002"), 404)
    image_url = feed.expected()["A101"]["A101-F00001"]["variants"]["A101-F00001-01"]["images"][0]
    feed_server.fail(image_url.removeprefix(feed_server.url), 404)

    report = sync_direct(config=sync_config)

    assert not report.ok
    runs = {run.supplier.code: run for run in report.runs}
    assert runs["A100"].state == SyncRun.State.PARTIAL
    assert (runs["A100"].families_failed, runs["A100"].families_new) == (2, 4)
    assert runs["A101"].state == SyncRun.State.PARTIAL
    assert (runs["A101"].images_failed, runs["A101"].families_new) == (1, 6)
    failures = {
        (item.kind, item.key): item.error
        for item in SyncItem.objects.filter(state=SyncItem.State.FAILED)
    }
    assert "broken JSON" in failures[("family", "A100-F00001")]
    assert "HTTP 404" in failures[("family", "A100-F00002")]
    assert "HTTP 404" in failures[("image", image_url)]
    assert not Product.objects.filter(sku__in=["A100-F00001", "A100-F00002"]).exists()
    # The failed families keep no hash, so the next sync tries them again.
    feed_server.clear_faults()
    feed_server.reset_counts()
    report = sync_direct(config=sync_config)
    assert report.ok
    assert feed_server.count("family") == 2
    # The two families' own 2 x 2 images, plus the one image the last run could not store.
    assert feed_server.count("image") == 8 + 1
    assert catalog_as_feed() == normalise_expected(feed.expected())
    assert_images_linked_and_stored()


def test_transient_errors_are_retried_and_429_retry_after_is_honoured(feed_server, sync_config):
    feed_server.fail(family_path(feed_server, "A100-F00001"), 503, times=2)
    feed_server.fail(
        family_path(feed_server, "A100-F00002"), 429, times=1, headers={"Retry-After": "0"}
    )

    report = sync_direct(config=sync_config)

    assert report.ok
    assert Product.objects.filter(sku__in=["A100-F00001", "A100-F00002"]).count() == 2
    requests = [r for r in feed_server.requests if r.path.endswith("A100-F00001.json")]
    assert [r.status for r in requests] == [503, 503, 200]


def test_truncated_import_txt_is_unreadable_and_deactivates_nothing(feed, feed_server, sync_config):
    assert sync_direct(config=sync_config).ok
    feed.withdraw_family("A100-F00006")  # the index changes, so it is downloaded again...
    feed_server.truncate(import_path(feed_server), 300)  # ...and the download is cut short

    report = sync_direct(config=sync_config)

    assert "cannot read Import.txt: incomplete body" in report.index_error
    assert Product.objects.filter(is_active=False).count() == 0


def test_feed_that_shrank_below_half_deactivates_nothing_unless_forced(
    feed, feed_server, sync_config
):
    assert sync_direct(config=sync_config).ok
    for sku in feed.family_skus("A100")[:4]:
        feed.withdraw_family(sku)  # 6 -> 2 families: below half of the last run

    report = sync_direct(config=sync_config)
    run = {r.supplier.code: r for r in report.runs}["A100"]
    assert run.deactivation_refused and "refused to deactivate" in run.message
    assert run.state == SyncRun.State.PARTIAL
    assert Product.objects.filter(supplier__code="A100", is_active=True).count() == 6

    report = sync_direct(config=sync_config, force=True)
    run = {r.supplier.code: r for r in report.runs}["A100"]
    assert run.state == SyncRun.State.COMPLETED
    assert run.families_deactivated == 4
    assert Product.objects.filter(supplier__code="A100", is_active=True).count() == 2


def test_changed_family_costs_the_same_queries_with_1_or_40_variants(settings):
    from devtools.feedgen import FeedSpec, SyntheticFeed
    from promidata_sync.feed import ImportEntry, parse_family
    from promidata_sync.services.families import family_write

    def queries_for(variants: int) -> int:
        feed = SyntheticFeed(
            FeedSpec(suppliers=1, families_per_supplier=1, variants_per_family=variants)
        )
        sku = feed.family_skus("A100")[0]
        url = f"http://feed.test/A100/{sku}.json"
        body = feed.family_json("A100", sku, "http://feed.test")
        record = parse_family(body, family_sku=sku, source_url=url)
        supplier, _ = Supplier.objects.get_or_create(code="A100")
        run = SyncRun.objects.create(supplier=supplier, state="running")
        entry = ImportEntry(url=url, hash="1", supplier_code="A100", family_sku=sku, line_number=2)
        family_write(supplier=supplier, entry=entry, record=record, run_id=run.pk)
        changed = ImportEntry(
            url=url, hash="2", supplier_code="A100", family_sku=sku, line_number=2
        )
        with CaptureQueriesContext(connection) as queries:
            family_write(supplier=supplier, entry=changed, record=record, run_id=run.pk)
        run.state = "completed"
        run.save()
        Product.objects.all().delete()
        return len(queries)

    assert queries_for(1) == queries_for(40)
    assert PriceTier.objects.count() == 0


@pytest.mark.django_db(transaction=True)  # the sync runs in another thread and connection
def test_stop_sync_stops_a_direct_run_between_families(feed, feed_server, sync_config):
    import threading
    import time

    from promidata_sync.operations import stop_sync

    feed_server.latency_ms = 500  # the stop flag is read once a second
    config = replace(sync_config, fetch_concurrency=1)
    outcome = {}

    def sync():
        try:
            outcome["report"] = sync_direct(["A100"], config=config)
        finally:
            connection.close()

    worker = threading.Thread(target=sync)
    worker.start()
    deadline = time.monotonic() + 20
    while not SyncRun.objects.filter(families_done__gte=1, state="running").exists():
        assert time.monotonic() < deadline
        time.sleep(0.02)

    stop_sync(SyncRun.objects.get(state="running"))
    worker.join(timeout=30)

    runs = outcome["report"].runs
    assert runs[0].state == SyncRun.State.STOPPED
    assert runs[0].families_done < 6
    assert Product.objects.count() == runs[0].families_done


def test_retry_failed_in_direct_mode_redoes_failed_families_and_unreadable_feeds(
    feed, feed_server, sync_config
):
    from promidata_sync.operations import retry_failed

    feed_server.fail(family_path(feed_server, "A100-F00003"), 404)
    (run, _) = sync_direct(config=sync_config).runs
    assert run.state == SyncRun.State.PARTIAL
    feed_server.clear_faults()

    assert retry_failed(run, use_queue=False)["families"] == 1
    run.refresh_from_db()
    assert run.state == SyncRun.State.COMPLETED
    assert (run.families_done, run.families_failed, run.families_total) == (6, 0, 6)
    # Nothing failed any more: a second retry does nothing and leaves the run finished.
    assert retry_failed(run, use_queue=False) == {
        "run_id": run.pk,
        "families": 0,
        "images": 0,
        "replanned": False,
        "jobs": [],
    }
    run.refresh_from_db()
    assert run.finished_at and run.state == SyncRun.State.COMPLETED

    feed.withdraw_family("A100-F00006")  # the index changes, so it is read again...
    feed_server.fail(import_path(feed_server), 404)  # ...and cannot be
    (unreadable,) = sync_direct(["A100"], config=sync_config).runs
    assert unreadable.state == SyncRun.State.FAILED and unreadable.planned_at is None
    feed_server.clear_faults()
    retry_failed(unreadable, use_queue=False)
    unreadable.refresh_from_db()
    assert unreadable.state == SyncRun.State.COMPLETED
    # Planned from the index read by the retry: its missing family is counted, once.
    assert Product.objects.get(sku="A100-F00006").absent_count == 1
