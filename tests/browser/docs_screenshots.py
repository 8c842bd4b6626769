"""The screenshots in docs/ (supplier list, a running sync, the queue dashboard, a failed
job's page and the dashboard's failed jobs under docs/img/).

Not part of the test suite (the file name keeps pytest from collecting it on its own):
``scripts/screenshots.py`` runs it explicitly to refresh the images. The data is
the synthetic feed: three suppliers synced first (one with a broken family), then a queued
sync of the fourth, slowed down so it is caught running.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from playwright.sync_api import expect

from catalog.models import Supplier
from devtools.feedgen import FeedSpec
from promidata_sync.models import SyncRun
from promidata_sync.operations import start_sync
from tests.browser.conftest import make_staff
from tests.feedpaths import family_path

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]

DOCS = Path(__file__).resolve().parents[2] / "docs"
NAMES = {
    "A100": "Brightline Promo",
    "A101": "Nordic Bags & Co.",
    "A102": "Penworks",
    "A103": "Mugs Unlimited",
}


@pytest.fixture
def feed_spec() -> FeedSpec:
    return FeedSpec(
        suppliers=4, families_per_supplier=12, variants_per_family=3, images_per_variant=2
    )


def wait_for(run_ids: list[int], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while SyncRun.objects.filter(pk__in=run_ids, finished_at__isnull=True).exists():
        assert time.monotonic() < deadline, "the sync did not end"
        time.sleep(0.2)


def test_docs_screenshots(
    feed_server, sync_config, login, live_server, django_user_model, in_process_worker
):
    feed_server.fail(family_path(feed_server, "A102-F00005"), 404)
    for code in ("A100", "A101", "A102"):  # synced by cron earlier; A102 with a broken family
        wait_for(start_sync(code, use_queue=True, trigger="cron")["runs"])
    for code, name in NAMES.items():
        Supplier.objects.filter(code=code).update(name=name)
    feed_server.clear_faults()
    feed_server.latency_ms = 200
    for index in range(8, 12):  # a few slow families keep the sync running for a while
        feed_server.delay(family_path(feed_server, f"A103-F{index:05d}"), 6)
    page = login(make_staff(django_user_model, "operator", operate=True), width=1440, height=860)
    # Room for the tables: the admin's navigation sidebar starts collapsed.
    page.evaluate("localStorage.setItem('django.admin.navSidebarIsOpen', 'false')")

    page.goto(f"{live_server.url}/admin/catalog/supplier/")
    page.check(f'input[value="{Supplier.objects.get(code="A103").pk}"]')
    page.select_option('select[name="action"]', "sync_suppliers")
    page.click('button[name="index"]')
    expect(page.locator(".messagelist")).to_contain_text("Sync queued")
    page.screenshot(path=DOCS / "supplier-list.png")

    page.click(".messagelist a:text('watch progress')")
    page.goto(f"{live_server.url}/admin/promidata_sync/syncrun/")
    bar = page.locator('[data-run-field="families"][data-percent]').first
    expect(bar).not_to_have_attribute("data-percent", "0", timeout=20_000)
    page.mouse.move(0, 0)
    page.screenshot(path=DOCS / "sync-running.png")

    page.goto(f"{live_server.url}/admin/promidata_sync/dashboard/")
    expect(page.locator("#pd-workers")).to_contain_text("Workers seen")
    page.screenshot(path=DOCS / "queue-dashboard.png", full_page=True)

    page.goto(f"{live_server.url}/admin/promidata_sync/syncrun/")
    expect(page.locator("html")).to_have_attribute("data-pd-polling", "stopped", timeout=60_000)


def test_docs_job_screenshots(
    feed_server, sync_config, login, live_server, django_user_model, in_process_worker
):
    """docs/img/job-page.png (a failed job with its traceback) and docs/img/dashboard-jobs.png
    (the dashboard whose counts and latest failed jobs link to the job records)."""
    img = DOCS / "img"
    img.mkdir(exist_ok=True)
    feed_server.replace(family_path(feed_server, "A100-F00005"), b'{"ChildProducts": [{"Sku": ')
    feed_server.fail(family_path(feed_server, "A101-F00002"), 404)
    for code in ("A100", "A101"):
        wait_for(start_sync(code, use_queue=True, trigger="cron")["runs"])
    for code, name in NAMES.items():
        Supplier.objects.filter(code=code).update(name=name)
    page = login(make_staff(django_user_model, "operator", operate=True), width=1440, height=900)
    page.evaluate("localStorage.setItem('django.admin.navSidebarIsOpen', 'false')")

    page.goto(f"{live_server.url}/admin/promidata_sync/dashboard/")
    expect(page.locator("#pd-failed-jobs")).to_contain_text("A100-F00005")
    page.screenshot(path=img / "dashboard-jobs.png", full_page=True)

    page.locator("#pd-failed-jobs a", has_text="-").first.click()
    expect(page.locator("pre.pd-traceback")).to_contain_text("Traceback")
    page.screenshot(path=img / "job-page.png", full_page=True)
