"""Withdrawing a family takes a complete index, twice: a cut Import.txt deactivates nothing."""

from __future__ import annotations

from decimal import Decimal

import pytest

from catalog.models import Product
from promidata_sync.models import SyncRun
from promidata_sync.services.direct import sync_direct
from tests.feedpaths import import_path

pytestmark = pytest.mark.django_db


def cut_after(index: bytes, lines: int) -> int:
    """Bytes of ``index`` up to and including its line ``lines`` (a cut at a line boundary)."""
    return len(b"".join(index.splitlines(keepends=True)[:lines]))


def test_an_index_cut_at_a_line_boundary_without_framing_deactivates_nothing(
    feed, feed_server, sync_config
):
    assert sync_direct(config=sync_config).ok
    index = feed.import_txt(feed_server.base_url) + b"\n"  # republished: a new ETag
    feed_server.replace(import_path(feed_server), index, "text/plain")
    # HTTP/1.0 style, no Content-Length: cut after the categories line and 8 of 12 families,
    # the body looks whole to anyone who does not ask how it was framed.
    feed_server.truncate(import_path(feed_server), cut_after(index, 9), framing="close")

    for _ in range(2):  # twice in a row: a cut index must not count as a miss either
        report = sync_direct(config=sync_config)
        runs = {run.supplier.code: run for run in report.runs}
        cut = runs["A101"]  # its last four families fell off the end
        assert cut.families_deactivated == 0
        assert cut.deactivation_refused and cut.state == SyncRun.State.PARTIAL
        assert "without Content-Length or chunked framing" in cut.message
        assert runs["A100"].state == SyncRun.State.COMPLETED  # nothing of it is missing
        assert not report.ok

    assert Product.objects.filter(is_active=False).count() == 0
    assert set(Product.objects.values_list("absent_count", flat=True)) == {0}


@pytest.mark.parametrize("framing", ["length", "chunked"])
def test_a_framed_index_is_trusted_and_a_family_goes_at_its_second_miss(
    feed, feed_server, sync_config, framing
):
    feed_server.frame(import_path(feed_server), framing)
    assert sync_direct(config=sync_config).ok
    feed.withdraw_family("A101-F00006")

    first = {r.supplier.code: r for r in sync_direct(config=sync_config).runs}["A101"]
    assert (first.families_deactivated, first.state) == (0, SyncRun.State.COMPLETED)
    assert Product.objects.get(sku="A101-F00006").is_active

    # The same publication read again (a second sync the same morning) counts nothing.
    again = {r.supplier.code: r for r in sync_direct(config=sync_config).runs}["A101"]
    assert again.families_deactivated == 0
    assert Product.objects.get(sku="A101-F00006").absent_count == 1

    feed.set_price("A101-F00001", 0, Decimal("3.33"))  # the next publication
    second = {r.supplier.code: r for r in sync_direct(config=sync_config).runs}["A101"]
    assert second.families_deactivated == 1
    assert not Product.objects.get(sku="A101-F00006").is_active


def test_a_family_back_before_its_second_miss_starts_counting_again(feed, feed_server, sync_config):
    assert sync_direct(config=sync_config).ok
    full_index = feed.import_txt(feed_server.base_url)
    feed.withdraw_family("A100-F00003")
    assert sync_direct(config=sync_config).ok  # missed once
    feed_server.replace(import_path(feed_server), full_index, "text/plain")
    assert sync_direct(config=sync_config).ok  # back: the count starts over
    assert Product.objects.get(sku="A100-F00003").absent_count == 0
    feed_server.clear_faults()

    assert sync_direct(config=sync_config).ok  # missed once more, not twice in a row

    family = Product.objects.get(sku="A100-F00003")
    assert family.is_active and family.absent_count == 1
