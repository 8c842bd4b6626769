"""The whole feed in the catalog: every region, print data in both shapes, rich fields,
compared field by field with the generator's oracle, against the loopback feed and
PostgreSQL."""

from __future__ import annotations

import io
from dataclasses import replace
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from catalog.models import (
    PrintCost,
    PrintCostTier,
    PrintOption,
    PrintOptionTier,
    PrintPositionImage,
    Product,
    Supplier,
)
from devtools.feedgen import NINE_LOCALE_REGIONS, FeedSpec, SyntheticFeed
from promidata_sync.feed import ImportEntry, parse_family
from promidata_sync.models import ImageSource, SyncRun
from promidata_sync.services.direct import sync_direct
from promidata_sync.services.families import family_write
from tests.catalog_state import (
    TIMESTAMPS,
    VOLATILE,
    assert_images_linked_and_stored,
    catalog_content,
    catalog_whole,
    expected_whole,
    snapshot,
)

pytestmark = pytest.mark.django_db

PRINTED = {
    "suppliers": 2,
    "families_per_supplier": 4,
    "variants_per_family": 2,
    "images_per_variant": 1,
    "regions": NINE_LOCALE_REGIONS,
    "print_positions": 2,
    "print_options": 3,
    "print_costs": 2,
    "rich": True,
}


@pytest.fixture(params=["inline", "referenced"])
def feed_spec(request) -> FeedSpec:
    return FeedSpec(**PRINTED, print_shape=request.param)


def test_every_region_position_option_cost_and_tier_is_stored(feed, feed_server, sync_config):
    report = sync_direct(config=sync_config)

    assert all(run.state != SyncRun.State.FAILED for run in report.runs)
    assert catalog_whole(rich=True) == expected_whole(feed.expected(), rich=True)
    # The generator's traps were read and reported, not silently kept or dropped.
    warnings = " ".join(w for run in report.runs for w in _warnings(run))
    assert "Price 0 and is not on request" in warnings
    assert "repeated; the first one kept" in warnings
    if feed.spec.print_shape == "referenced":
        assert "reference" in warnings and "is unknown" in warnings


def _warnings(run) -> list[str]:
    return [w for item in run.items.all() for w in item.warnings]


def test_an_unchanged_resync_writes_nothing(feed, feed_server, sync_config):
    assert sync_direct(config=sync_config).runs
    before = snapshot()
    feed_server.reset_counts()

    sync_direct(config=sync_config)

    assert feed_server.count("family") == 0
    assert snapshot() == before


def test_a_changed_option_price_changes_exactly_that(feed, feed_server, sync_config):
    sync_direct(config=sync_config)
    before = catalog_content()
    region = NINE_LOCALE_REGIONS[0][0]

    feed.set_option_price("A100-F00002", 0, 0, 1, Decimal("0.77"))
    sync_direct(config=sync_config)

    after = catalog_content()
    changed = {table for table in before if before[table] != after[table]}
    if feed.spec.print_shape == "referenced":
        # A referenced option is named by the hash of its content: the feed sends a new
        # reference with the new price, and that field alone moves.
        assert changed == {"Product", "PrintOption", "PrintOptionTier"}
        assert _without_reference(before) == _without_reference(after)
    else:
        assert changed == {"Product", "PrintOptionTier"}  # the product only for its new hash
    removed = set(before["PrintOptionTier"]) - set(after["PrintOptionTier"])
    added = set(after["PrintOptionTier"]) - set(before["PrintOptionTier"])
    assert len(removed) == len(added) >= 1
    for tier in added:  # (region, kind, min_quantity, price, currency, on_request, option)
        assert (tier[0], tier[1], tier[3]) == (region, "sell", Decimal("0.7700"))
        assert "'A100-F00002'" in repr(tier[-1])  # an option of that family, no other
    assert catalog_whole(rich=True) == expected_whole(feed.expected(), rich=True)


def _without_reference(content: dict) -> list[tuple]:
    names = [f.name for f in PrintOption._meta.concrete_fields]
    index = [n for n in names if n != "id" and n not in TIMESTAMPS | VOLATILE].index("reference")
    return sorted((row[:index] + row[index + 1 :] for row in content["PrintOption"]), key=repr)


def test_an_option_removed_from_the_feed_leaves_no_row_behind(feed, feed_server, sync_config):
    sync_direct(config=sync_config)

    feed.remove_option("A101-F00001", 0, 0, 0)
    sync_direct(config=sync_config)

    assert catalog_whole(rich=True) == expected_whole(feed.expected(), rich=True)
    expected = feed.expected()
    options = [
        option
        for families in expected.values()
        for family in families.values()
        for variant in family["variants"].values()
        for position in variant["print"]
        for option in position["options"]
    ]
    costs = [cost for option in options for cost in option["costs"]]

    def tiers(owners):
        return sum(len(t["sell"]) + len(t["buy"]) for o in owners for t in o["regions"].values())

    assert PrintOption.objects.count() == len(options)
    assert PrintCost.objects.count() == len(costs)
    assert PrintOptionTier.objects.count() == tiers(options)
    assert PrintCostTier.objects.count() == tiers(costs)


@pytest.mark.parametrize("feed_spec", ["inline"], indirect=True)
def test_a_changed_family_costs_the_same_queries_whatever_its_print_data(feed_spec):
    counts = {}
    for variants, positions, options in ((1, 1, 1), (40, 3, 8)):
        spec = FeedSpec(
            suppliers=1,
            families_per_supplier=1,
            variants_per_family=variants,
            print_positions=positions,
            print_options=options,
            print_costs=2,
            regions=NINE_LOCALE_REGIONS,
            seed=5,
        )
        feed = SyntheticFeed(spec)
        sku = feed.family_skus("A100")[0]
        url = f"http://127.0.0.1/{variants}/A100/{sku}.json"
        record = parse_family(
            feed.family_json("A100", sku, "http://127.0.0.1"), family_sku=sku, source_url=url
        )
        supplier, _ = Supplier.objects.get_or_create(code=f"Z{variants}")
        entry = ImportEntry(
            url=url, hash="1", supplier_code=supplier.code, family_sku=sku, line_number=0
        )
        family_write(supplier=supplier, entry=entry, record=record)
        run = SyncRun.objects.create(supplier=supplier, state="running")
        with CaptureQueriesContext(connection) as queries:
            family_write(
                supplier=supplier, entry=replace(entry, hash="2"), record=record, run_id=run.pk
            )
        counts[(variants, positions, options)] = len(queries)

    assert counts[(1, 1, 1)] == counts[(40, 3, 8)], counts


def test_position_images_go_through_the_image_stage(feed, feed_server, sync_config):
    assert sync_direct(config=sync_config).runs

    images = PrintPositionImage.objects.select_related("media")
    assert images.exists()
    for image in images:
        assert image.media_id, f"{image.url} was not stored"
        assert ImageSource.objects.get(url=image.url).media_id == image.media_id
    assert_images_linked_and_stored()  # same storage and dedup as the variants' images


def test_reparse_rebuilds_the_print_data_identically_with_no_request(
    feed, feed_server, sync_config
):
    sync_direct(config=sync_config)
    synced = catalog_content()
    Product.objects.all().delete()
    feed_server.reset_counts()

    call_command("promidata_reparse", stdout=io.StringIO())

    assert feed_server.count() == 0
    assert catalog_content() == synced
    assert catalog_whole(rich=True) == expected_whole(feed.expected(), rich=True)


@pytest.mark.parametrize("feed_spec", ["inline"], indirect=True)
def test_the_variant_page_shows_every_region_and_the_print_data_in_constant_queries(
    feed_spec, admin_client
):
    counts = {}
    for positions, options, costs in ((1, 1, 1), (3, 8, 2)):
        spec = FeedSpec(
            suppliers=1,
            families_per_supplier=1,
            variants_per_family=1,
            print_positions=positions,
            print_options=options,
            print_costs=costs,
            regions=NINE_LOCALE_REGIONS,
            seed=7,
        )
        variant = _written_family(SyntheticFeed(spec), f"P{positions}").variants.get()
        url = reverse("admin:catalog_variant_change", args=[variant.pk])
        admin_client.get(url)  # the first page of a session also loads the session's caches
        with CaptureQueriesContext(connection) as queries:
            page = admin_client.get(url)
        assert page.status_code == 200
        counts[(positions, options, costs)] = len(queries)
        html = page.content.decode()
        for region, currency in {(t.region, t.currency) for t in variant.price_tiers.all()}:
            assert region in html and currency in html
        for option in PrintOption.objects.filter(position__variant=variant):
            assert option.sku in html
        for cost in PrintCost.objects.filter(option__position__variant=variant):
            assert cost.sku in html

    assert counts[(1, 1, 1)] == counts[(3, 8, 2)], counts


def _written_family(feed: SyntheticFeed, supplier_code: str) -> Product:
    sku = feed.family_skus("A100")[0]
    url = f"http://127.0.0.1/{supplier_code}/A100/{sku}.json"
    record = parse_family(
        feed.family_json("A100", sku, "http://127.0.0.1"), family_sku=sku, source_url=url
    )
    supplier, _ = Supplier.objects.get_or_create(code=supplier_code)
    entry = ImportEntry(
        url=url, hash="1", supplier_code=supplier.code, family_sku=sku, line_number=0
    )
    family_write(supplier=supplier, entry=entry, record=record)
    return Product.objects.get(supplier=supplier, sku=sku)
