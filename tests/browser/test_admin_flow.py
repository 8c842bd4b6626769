"""An operator syncs a supplier from the admin, watches it finish, and retries a failure;
a user without the permission cannot start a sync. Headless Chromium, real live server,
real loopback feed, queue mode with the in-process worker."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from catalog.models import Product, Supplier
from promidata_sync.models import SyncRun
from tests.browser.conftest import make_staff
from tests.feedpaths import family_path

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

BROKEN_FAMILY = "A100-F00002"
SLOW_FAMILY = "A100-F00004"


@pytest.fixture
def slow_feed(feed_server, sync_config):
    """The test feed, slow enough to watch: every answer takes a little while, one family
    takes seconds (so the sync is still running when its page opens), one family is a 404."""
    feed_server.latency_ms = 60
    feed_server.delay(family_path(feed_server, SLOW_FAMILY), 2.5)
    feed_server.fail(family_path(feed_server, BROKEN_FAMILY), 404)
    return feed_server


def test_operator_syncs_watches_and_retries(
    slow_feed, login, live_server, django_user_model, in_process_worker, artifacts
):
    supplier = Supplier.objects.create(code="A100", name="Synthetic supplier")
    page = login(make_staff(django_user_model, "operator", operate=True))

    # Sync supplier, from the supplier list.
    page.goto(f"{live_server.url}/admin/catalog/supplier/")
    page.check(f'input[name="_selected_action"][value="{supplier.pk}"]')
    page.select_option('select[name="action"]', "sync_suppliers")
    page.click('button[name="index"]')
    expect(page.locator(".messagelist")).to_contain_text("Sync queued for 1 supplier: A100")
    run = SyncRun.objects.get()
    assert (run.trigger, run.mode) == ("admin", "queue")

    # Watch it on the sync runs page: it updates itself, the page is never reloaded.
    page.click(".messagelist a:text('watch progress')")
    state = page.locator(f'[data-run-id="{run.pk}"][data-run-field="state"]')
    families = page.locator(f'.pd-progress[data-run-id="{run.pk}"][data-run-field="families"]')
    expect(state).to_have_attribute("data-run-active", "true")
    page.evaluate("window.pdMarker = 'same page'")
    page.screenshot(path=artifacts / "browser-sync-running.png", full_page=True)

    expect(families).to_have_attribute("data-percent", "100", timeout=30_000)
    expect(state).to_have_text("Completed with failures")
    expect(families.locator(".pd-progress-label")).to_have_text("6 / 6 · 1 failed")
    expect(page.locator("html")).to_have_attribute("data-pd-polling", "stopped")
    assert page.evaluate("window.pdMarker") == "same page"
    assert page.evaluate("performance.getEntriesByType('navigation').length") == 1
    page.screenshot(path=artifacts / "browser-sync-finished.png", full_page=True)

    # The run's page lists the failed family; retry it once the feed serves it again.
    page.click(f"a:text('#{run.pk}')")
    failures = page.locator("#pd-failures")
    expect(failures).to_contain_text(BROKEN_FAMILY)
    expect(failures).to_contain_text("HTTP 404")
    expect(page.locator("#pd-jobs")).to_contain_text("product-family")
    slow_feed.clear_faults()
    page.click("#pd-retry")
    expect(page.locator(".messagelist")).to_contain_text("Retrying 1 family and 0 images")
    expect(page.locator(f'[data-run-id="{run.pk}"][data-run-field="state"]')).to_have_text(
        "Completed", timeout=30_000
    )
    page.reload()
    expect(page.locator("#pd-failures")).to_contain_text("No failed families or images.")
    expect(page.locator("#pd-retry")).to_have_count(0)
    page.screenshot(path=artifacts / "browser-run-retried.png", full_page=True)
    run.refresh_from_db()
    assert (run.state, run.families_done, run.families_failed) == ("completed", 6, 0)
    assert Product.objects.filter(supplier=supplier).count() == 6


def test_a_viewer_cannot_start_a_sync(login, live_server, django_user_model, artifacts):
    Supplier.objects.create(code="A100")
    page = login(make_staff(django_user_model, "viewer", operate=False))

    page.goto(f"{live_server.url}/admin/catalog/supplier/")

    options = page.locator('select[name="action"] option').all_text_contents()
    assert "Activate" in options
    assert "Sync supplier" not in options and "Stop sync" not in options
    page.screenshot(path=artifacts / "browser-viewer-suppliers.png", full_page=True)
    assert not SyncRun.objects.exists()
