"""Where people see stock: the catalog API (list and detail, with an ETag that follows the
stock), the admin (the product page, the run list and page), and the promidata_stock
command (its summary, exit codes, and one line when stock is off)."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.urls import reverse

from catalog.models import Product
from promidata_sync.models import SyncRun
from promidata_sync.operations import start_stock_sync

pytestmark = pytest.mark.django_db


def test_the_api_serves_variant_and_family_stock_and_its_etag_follows_it(
    catalog, stock_server, reader
):
    before = reader.get("/api/catalog/products/A100-00001/")
    assert before.json()["stock"] == {"total": None, "read_at": None}
    assert start_stock_sync("A100", use_queue=False)["success"]

    detail = reader.get("/api/catalog/products/A100-00001/", HTTP_IF_NONE_MATCH=before["ETag"])

    assert detail.status_code == 200  # the stock changed: the old ETag no longer matches
    body = detail.json()
    assert body["stock"]["total"] == 23 and body["stock"]["read_at"]
    assert [(v["sku"], v["stock"]["quantity"]) for v in body["variants"]] == [
        ("A100-00001-0", 11),
        ("A100-00001-1", 12),
    ]
    assert all(v["stock"]["read_at"] for v in body["variants"])
    same = reader.get("/api/catalog/products/A100-00001/", HTTP_IF_NONE_MATCH=detail["ETag"])
    assert same.status_code == 304
    listed = reader.get("/api/catalog/products/?supplier=A100").json()["results"]
    assert {p["sku"]: p["stock"]["total"] for p in listed} == {
        "A100-00000": 3,
        "A100-00001": 23,
        "A100-00002": 43,
    }

    stock_server.quantities["A100-00001-0"] = 0
    assert start_stock_sync("A100", use_queue=False)["success"]
    changed = reader.get("/api/catalog/products/A100-00001/", HTTP_IF_NONE_MATCH=detail["ETag"])
    assert changed.status_code == 200 and changed.json()["stock"]["total"] == 12


def test_the_admin_shows_stock_on_the_product_and_the_kind_of_each_run(
    catalog, stock_server, viewer_client
):
    product = Product.objects.get(sku="A100-00002")
    page = viewer_client.get(reverse("admin:catalog_product_change", args=[product.pk]))
    assert "not read yet" in page.content.decode()
    del stock_server.quantities["A100-00002-1"]
    start_stock_sync("A100", use_queue=False)

    page = viewer_client.get(reverse("admin:catalog_product_change", args=[product.pk]))

    html = page.content.decode()
    assert "Stock (family total)" in html and "21, read " in html
    assert '21 <span class="pd-muted">read ' in html  # the variant read: quantity, time
    assert "HTTP 404" in html  # the variant it could not read says why
    runs = viewer_client.get(reverse("admin:promidata_sync_syncrun_changelist")).content.decode()
    assert "Stock" in runs and "field-kind" in runs
    run = SyncRun.objects.get(kind="stock")
    detail = viewer_client.get(reverse("admin:promidata_sync_syncrun_change", args=[run.pk]))
    assert detail.status_code == 200 and "Stock" in detail.content.decode()


def test_the_command_reads_stock_and_exits_with_what_happened(catalog, stock_server, capsys):
    call_command("promidata_stock", "--supplier", "A100", "--direct")

    out = capsys.readouterr().out
    assert "A100: stock run #" in out and "Completed: 3 families read, 0 failed" in out

    del stock_server.quantities["A100-00000-0"]
    with pytest.raises(SystemExit) as failed:
        call_command("promidata_stock", "--direct")
    assert failed.value.code == 1
    assert "A100 stock A100-00000: stock of 1 of 2 variant(s) not read" in capsys.readouterr().err

    with pytest.raises(SystemExit) as unknown:
        call_command("promidata_stock", "--supplier", "A999", "--direct")
    assert unknown.value.code == 1 and "unknown supplier 'A999'" in capsys.readouterr().err


def test_the_command_says_in_one_line_that_stock_is_off(catalog, settings, capsys):
    settings.PROMIDATA_STOCK_URL_TEMPLATE = ""

    with pytest.raises(SystemExit) as off:
        call_command("promidata_stock", "--direct")

    err = capsys.readouterr().err.strip()
    assert off.value.code == 2
    assert err == "stock is off: PROMIDATA_STOCK_URL_TEMPLATE is empty (see docs/stock.md)"
    assert not SyncRun.objects.exists()
