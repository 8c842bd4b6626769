"""``promidata_sync --sku``: re-import chosen families now, whatever their hashes, in both
modes, with a clear error for a SKU nobody knows."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from catalog.models import Product, Supplier
from promidata_sync.models import SyncItem, SyncRun
from promidata_sync.queue.broker import stop_in_process_worker
from tests.feedpaths import family_path


def run_command(*args) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("promidata_sync", *args, stdout=out, stderr=err)
    except SystemExit as exc:
        return exc.code, out.getvalue(), err.getvalue()
    except CommandError as exc:  # what manage.py prints as one line, with this exit code
        return exc.returncode, out.getvalue(), err.getvalue() + str(exc)
    return 0, out.getvalue(), err.getvalue()


@pytest.fixture
def synced(feed_server, sync_config):
    """The feed synced once, then one family's name edited in the database behind the
    sync's back (its stored hash still matches the feed)."""
    assert run_command("--direct")[0] == 0
    Product.objects.filter(sku="A100-F00002").update(names={"en": "edited by hand"})
    feed_server.reset_counts()
    return feed_server


def _manual_run() -> SyncRun:
    return SyncRun.objects.get(trigger=SyncRun.Trigger.MANUAL)


@pytest.mark.django_db
def test_a_plain_sync_skips_the_family_but_sku_reimports_it(synced):
    assert run_command("--direct", "A100")[0] == 0
    assert Product.objects.get(sku="A100-F00002").names == {"en": "edited by hand"}
    assert synced.count("family") == 0  # the hash said unchanged

    code, out, err = run_command("--direct", "--sku", "A100-F00002")

    assert (code, err) == (0, ""), out
    assert Product.objects.get(sku="A100-F00002").names["en"] != "edited by hand"
    assert synced.count("family") == 1  # that family only, fetched although unchanged
    run = _manual_run()
    assert (run.supplier.code, run.mode, run.state, run.skus) == (
        "A100",
        "direct",
        "completed",
        ["A100-F00002"],
    )
    assert (run.families_total, run.families_done, run.families_deactivated) == (1, 1, 0)
    assert "A100" in out
    # A re-import of one family is not the supplier's last full sync.
    full = SyncRun.objects.filter(supplier__code="A100", trigger="command").order_by("-pk")[0]
    supplier = Supplier.objects.get(code="A100")
    assert supplier.last_synced_at == full.finished_at


@pytest.mark.django_db
def test_variant_skus_and_any_case_name_their_family(synced):
    code, out, err = run_command("--direct", "--sku", "a100-f00003-01", "A101-F00001")

    assert code == 0, (out, err)
    runs = {r.supplier.code: r.skus for r in SyncRun.objects.filter(trigger="manual")}
    assert runs == {"A100": ["A100-F00003"], "A101": ["A101-F00001"]}
    assert synced.count("family") == 2


@pytest.mark.django_db
def test_an_unknown_sku_is_one_clear_line_and_starts_nothing(synced):
    code, out, err = run_command("--direct", "--sku", "A100-F00002", "A100-F0002X")

    assert code == 1
    assert "unknown SKU 'A100-F0002X' (did you mean A100-F00002" in err
    assert "Traceback" not in err + out
    assert not SyncRun.objects.filter(trigger="manual").exists()
    assert synced.count("family") == 0


@pytest.mark.django_db
def test_a_family_the_feed_withdrew_fails_with_the_reason(synced, feed):
    feed.withdraw_family("A100-F00004")

    code, _out, _err = run_command("--direct", "--sku", "A100-F00004", "A100-F00001")

    assert code == 1
    run = _manual_run()
    assert run.state == SyncRun.State.PARTIAL
    assert (run.families_done, run.families_failed, run.families_deactivated) == (1, 1, 0)
    item = run.items.get(kind=SyncItem.Kind.FAMILY, key="A100-F00004")
    assert "not in Import.txt" in item.error
    # A partial run decides nothing about absent families: the withdrawn one stays active.
    assert Product.objects.get(sku="A100-F00004").is_active


@pytest.mark.django_db
def test_sku_with_supplier_codes_is_refused(synced):
    code, _out, err = run_command("--direct", "A100", "--sku", "A100-F00001")
    assert code == 1
    assert "give no supplier codes" in err


@pytest.mark.django_db(transaction=True)
def test_queue_mode_runs_the_same_steps(feed_server, sync_config):
    try:
        assert run_command("--direct")[0] == 0
        Product.objects.filter(sku="A101-F00005").update(brand="edited")
        feed_server.reset_counts()

        code, out, err = run_command("--sku", "A101-F00005", "--no-progress")

        assert (code, err) == (0, ""), out
        run = _manual_run()
        assert (run.mode, run.state, run.families_done) == ("queue", "completed", 1)
        assert Product.objects.get(sku="A101-F00005").brand != "edited"
        assert feed_server.count("family") == 1
    finally:
        stop_in_process_worker()


@pytest.mark.django_db
def test_a_family_never_imported_is_found_in_import_txt(feed_server, sync_config):
    feed_server.fail(family_path(feed_server, "A100-F00006"), 404)
    assert run_command("--direct")[0] == 1
    assert not Product.objects.filter(sku="A100-F00006").exists()
    feed_server.clear_faults()

    code, out, err = run_command("--direct", "--sku", "A100-F00006")

    assert (code, err) == (0, ""), out
    assert Product.objects.filter(sku="A100-F00006", is_active=True).exists()
