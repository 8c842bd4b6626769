"""``manage.py promidata_sync --direct``: summary and exit codes, on the sample feed too."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.management import call_command

from catalog.models import Media, PriceTier, Product, Supplier, Variant
from promidata_sync.models import SyncRun
from tests.catalog_state import snapshot
from tests.feedpaths import base_path, import_path

pytestmark = pytest.mark.django_db

SAMPLE_IMPORT = Path(__file__).resolve().parents[2] / "sample_feed" / "Import" / "Import.txt"


def run_command(*args) -> tuple[int, str]:
    out = io.StringIO()
    try:
        call_command("promidata_sync", *args, stdout=out)
    except SystemExit as exc:
        return exc.code, out.getvalue()
    return 0, out.getvalue()


def test_sample_feed_imports_with_exit_0_and_a_second_run_changes_nothing(settings):
    settings.PROMIDATA_IMPORT_URL = SAMPLE_IMPORT.as_uri()

    code, out = run_command("--direct")

    assert code == 0, out
    assert "OK" in out
    assert set(Supplier.objects.values_list("code", flat=True)) == {"A23", "A130", "A360"}
    assert Product.objects.count() >= 25
    assert Variant.objects.count() > Product.objects.count()
    assert PriceTier.objects.filter(currency="EUR").exists()
    assert Media.objects.count() >= 15
    assert not SyncRun.objects.exclude(state=SyncRun.State.COMPLETED).exists()
    before = snapshot()

    code, out = run_command("--direct")

    assert code == 0, out
    assert snapshot() == before
    second = SyncRun.objects.order_by("-pk")[:3]
    assert all(r.families_total == 0 and r.images_total == 0 for r in second)


def test_sample_feed_tricky_names_survive(settings):
    settings.PROMIDATA_IMPORT_URL = SAMPLE_IMPORT.as_uri()
    assert run_command("--direct")[0] == 0
    skus = set(Product.objects.values_list("sku", flat=True))
    assert {"A23-P300.18", "A130-mo1001b", "A360-CMSOCK_CS01", "A130-100+1"} <= skus


def test_exit_code_1_when_a_family_fails(feed_server, sync_config, settings):
    feed_server.fail(f"{base_path(feed_server)}/A100/A100-F00001.json", 404)
    code, out = run_command("--direct")
    assert code == 1
    assert "A100 family A100-F00001: HTTP 404" in out


def test_exit_code_2_when_the_feed_is_unreadable(feed_server, sync_config):
    feed_server.fail(import_path(feed_server), 404)
    code, out = run_command("--direct")
    assert code == 2
    assert "Feed unreadable" in out
    assert feed_server.import_url not in out  # the profile URL is a secret


def test_exit_code_2_without_an_import_url(settings):
    settings.PROMIDATA_IMPORT_URL = ""
    code, out = run_command("--direct")
    assert code == 2
    assert "PROMIDATA_IMPORT_URL is not set" in out


def test_unknown_supplier_code_is_an_error(feed_server, sync_config):
    code, out = run_command("--direct", "A999")
    assert code == 1
    assert "A999: unknown supplier" in out
