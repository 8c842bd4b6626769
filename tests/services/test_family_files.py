"""Family files are kept as the feed sent them, and the catalog can be rebuilt from them
with no network (``promidata_reparse``)."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.urls import reverse

from catalog.models import Product
from promidata_sync.models import FamilyFile, SyncItem, SyncRun
from promidata_sync.services.direct import sync_direct
from promidata_sync.services.family_files import decompress
from tests.catalog_state import catalog_content
from tests.feedpaths import family_path

pytestmark = pytest.mark.django_db


def test_every_fetched_family_file_is_kept_compressed_beside_its_hash(
    feed, feed_server, sync_config
):
    assert sync_direct(config=sync_config).ok

    kept = {f.family_sku: f for f in FamilyFile.objects.all()}
    assert set(kept) == set(Product.objects.values_list("sku", flat=True))
    for product in Product.objects.select_related("supplier"):
        file = kept[product.sku]
        served = feed.family_json(product.supplier.code, product.sku, feed_server.base_url)
        assert decompress(file.content) == served
        assert file.hash == product.promidata_hash and file.error == ""
        assert file.stored_size < file.size


def test_the_current_and_the_previous_version_are_kept(feed, feed_server, sync_config):
    for price in ("1.00", "2.00", "3.00"):
        feed.set_price("A100-F00001", 0, Decimal(price))
        assert sync_direct(config=sync_config).ok

    versions = FamilyFile.objects.filter(family_sku="A100-F00001").order_by("-fetched_at")
    assert versions.count() == 2
    assert versions[0].hash == Product.objects.get(sku="A100-F00001").promidata_hash
    assert b'"Price":3.0' in decompress(versions[0].content)
    assert b'"Price":2.0' in decompress(versions[1].content)


def test_a_broken_file_is_kept_with_its_error_and_offered_on_the_run_page(
    feed, feed_server, sync_config, admin_client
):
    body = feed.family_json("A100", "A100-F00002", feed_server.base_url)
    cut = body[: len(body) // 2]  # served whole (Content-Length of the cut): broken JSON
    feed_server.replace(family_path(feed_server, "A100-F00002"), cut, "application/json")

    (run, _) = sync_direct(config=sync_config).runs

    item = SyncItem.objects.get(run=run, key="A100-F00002")
    assert item.state == SyncItem.State.FAILED and "broken JSON" in item.error
    kept = FamilyFile.objects.get(family_sku="A100-F00002")
    assert decompress(kept.content) == cut and "broken JSON" in kept.error
    page = admin_client.get(reverse("admin:promidata_sync_syncrun_change", args=[run.pk]))
    download = reverse("admin:promidata_sync_familyfile_download", args=[kept.pk])
    assert download in page.content.decode()
    assert admin_client.get(download).content == cut


def reparse(*args) -> tuple[int, str]:
    out = io.StringIO()
    try:
        call_command("promidata_reparse", *args, stdout=out)
    except SystemExit as exc:
        return exc.code, out.getvalue()
    return 0, out.getvalue()


def test_reparse_after_wiping_the_catalog_rebuilds_it_identically_with_no_request(
    feed_server, sync_config
):
    assert sync_direct(config=sync_config).ok
    synced = catalog_content()
    Product.objects.all().delete()  # variants, tiers, print data and links go with them
    feed_server.reset_counts()

    code, out = reparse()

    assert code == 0, out
    assert feed_server.count() == 0  # not one request: everything came from the kept files
    assert catalog_content() == synced
    runs = SyncRun.objects.filter(trigger=SyncRun.Trigger.REPARSE)
    assert {run.state for run in runs} == {SyncRun.State.COMPLETED}
    assert sum(run.families_done for run in runs) == 12

    assert reparse()[0] == 0  # twice: the same rows
    assert catalog_content() == synced


def test_reparse_of_some_families_only(feed_server, sync_config):
    assert sync_direct(config=sync_config).ok

    code, _ = reparse("--sku", "A101-F00003", "A100-F00001")

    assert code == 0
    items = SyncItem.objects.filter(run__trigger=SyncRun.Trigger.REPARSE)
    assert sorted(items.values_list("key", flat=True)) == ["A100-F00001", "A101-F00003"]
