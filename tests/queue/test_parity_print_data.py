"""Queue mode and direct mode give the same catalog on the whole feed: print data in both
shapes, nine price regions and the rich fields (the feed of issue 7)."""

from __future__ import annotations

import pytest

from devtools.feedgen import NINE_LOCALE_REGIONS, FeedSpec
from promidata_sync.models import SyncRun
from promidata_sync.operations import start_sync
from promidata_sync.services.direct import sync_direct
from tests.catalog_state import (
    assert_images_linked_and_stored,
    catalog_content,
    catalog_whole,
    expected_whole,
)
from tests.queue.conftest import wait_for_runs
from tests.queue.test_queue_pipeline import clear_catalog

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def feed_spec() -> FeedSpec:
    return FeedSpec(
        suppliers=2,
        families_per_supplier=4,
        variants_per_family=2,
        images_per_variant=2,
        regions=NINE_LOCALE_REGIONS,
        print_positions=2,
        print_options=2,
        print_costs=2,
        print_shape="mixed",
        rich=True,
    )


def test_queue_and_direct_give_the_same_catalog_with_print_data(
    feed, feed_server, sync_config, start_workers
):
    assert sync_direct(config=sync_config).ok
    direct_catalog = catalog_content()
    assert catalog_whole(rich=True) == expected_whole(feed.expected(), rich=True)
    assert direct_catalog["PrintOption"], "the feed must carry print data"
    clear_catalog()
    SyncRun.objects.all().delete()
    start_workers()

    runs = wait_for_runs(start_sync(None, use_queue=True)["runs"])

    assert all(run.state == SyncRun.State.COMPLETED for run in runs), runs
    # Every table, row for row, ids and timestamps aside.
    assert catalog_content() == direct_catalog
    assert catalog_whole(rich=True) == expected_whole(feed.expected(), rich=True)
    assert_images_linked_and_stored()
