"""Hostile URLs in a feed are refused, recorded, and never fetched."""

from __future__ import annotations

import json

import pytest

from catalog.models import Product
from promidata_sync.conf import SyncConfig
from promidata_sync.fetching import Fetcher, URLNotAllowed
from promidata_sync.models import SyncItem
from promidata_sync.services.direct import sync_direct
from tests.feedpaths import base_path, import_path, port

pytestmark = pytest.mark.django_db


def test_index_lines_pointing_elsewhere_are_refused_and_recorded(feed, feed_server, sync_config):
    index = feed.import_txt(feed_server.base_url).decode()
    hostile = [
        "http://169.254.169.254/A100/A100-EVIL1.json|AAAA",
        "http://evil.example/A100/A100-EVIL2.json|BBBB",
        f"http://user:pw@127.0.0.1:{port(feed_server)}/A100/A100-EVIL3.json|CCCC",
        "file:///etc/A100/A100-EVIL4.json|DDDD",
    ]
    feed_server.replace(import_path(feed_server), (index + "\n".join(hostile) + "\n").encode())

    report = sync_direct(config=sync_config)

    failures = {
        item.key: item.error
        for item in SyncItem.objects.filter(kind="family", state=SyncItem.State.FAILED)
    }
    assert "not in PROMIDATA_ALLOWED_HOSTS" in failures["A100-EVIL1"]
    assert "not in PROMIDATA_ALLOWED_HOSTS" in failures["A100-EVIL2"]
    assert "file URL" in failures["A100-EVIL4"]
    # Credentials never make it past the index parser: a malformed line of A100's.
    assert "A100-EVIL3" not in failures
    index = SyncItem.objects.get(kind="index", run__supplier__code="A100")
    assert any("credentials in URL" in warning for warning in index.warnings)
    assert not Product.objects.filter(sku__startswith="A100-EVIL").exists()
    assert Product.objects.filter(supplier__code="A100").count() == 6  # the rest imported
    assert not report.ok


def test_image_url_to_a_foreign_host_is_refused(feed, feed_server, sync_config):
    sku = "A100-F00001"
    body = json.loads(feed.family_json("A100", sku, feed_server.base_url))
    details = body["ChildProducts"][0]["ProductDetails"]
    for block in details.values():
        block["Image"]["Url"] = "http://10.0.0.1/latest/meta-data.png"
    feed_server.replace(f"{base_path(feed_server)}/A100/{sku}.json", json.dumps(body).encode())

    sync_direct(config=sync_config)

    item = SyncItem.objects.get(kind="image", key="http://10.0.0.1/latest/meta-data.png")
    assert item.state == SyncItem.State.FAILED
    assert "not in PROMIDATA_ALLOWED_HOSTS" in item.error


def test_file_urls_cannot_leave_the_feed_folder(tmp_path):
    feed_dir = tmp_path / "profile"
    (feed_dir / "Import").mkdir(parents=True)
    (feed_dir / "A1").mkdir()
    (feed_dir / "A1" / "A1-1.json").write_text("{}")
    (tmp_path / "secret.json").write_text("{}")
    config = SyncConfig.from_settings(import_url=(feed_dir / "Import" / "Import.txt").as_uri())
    fetcher = Fetcher(config)

    assert fetcher.get((feed_dir / "A1" / "A1-1.json").as_uri(), max_bytes=100).content == b"{}"
    for url in [
        (tmp_path / "secret.json").as_uri(),
        (feed_dir / "A1" / ".." / ".." / "secret.json").as_uri(),
        "file:///etc/passwd",
        "file://otherhost/etc/passwd",
    ]:
        with pytest.raises(URLNotAllowed):
            fetcher.get(url, max_bytes=100)


def test_file_urls_are_refused_when_the_import_url_is_http(feed_server, sync_config):
    with pytest.raises(URLNotAllowed):
        Fetcher(sync_config).get("file:///etc/passwd", max_bytes=100)


def test_oversized_family_is_refused_without_reading_it_all(feed_server, sync_config):
    path = f"{base_path(feed_server)}/A100/A100-F00001.json"
    feed_server.replace(path, b"[" + b" " * 5_000_000 + b"]")
    config = SyncConfig.from_settings(
        import_url=sync_config.import_url, max_family_bytes=1_000_000, http_backoff_seconds=0.01
    )

    sync_direct(config=config)

    item = SyncItem.objects.get(kind="family", key="A100-F00001")
    assert "over the limit" in item.error


def test_an_unusable_categories_line_is_reported_and_every_supplier_syncs(
    feed, feed_server, sync_config
):
    index = feed.import_txt(feed_server.base_url).decode().splitlines()
    index[0] = "http://127.0.0.1:99999/CAT.csv"  # a port no URL can have
    feed_server.replace(import_path(feed_server), "\n".join(index).encode())

    report = sync_direct(config=sync_config)

    assert report.categories_error == "Import.txt has no CAT.csv line"
    assert report.malformed_lines == 1
    assert {run.supplier.code: run.families_new for run in report.runs} == {"A100": 6, "A101": 6}
