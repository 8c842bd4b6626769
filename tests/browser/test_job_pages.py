"""An operator follows a failed job from the queue dashboard to its page and reads its
traceback; the dashboard redraws itself. Headless Chromium, real live server, real loopback
feed (one family's JSON broken), queue mode with the in-process worker."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from catalog.models import Supplier
from promidata_sync.admin import dashboard
from promidata_sync.models import Job, SyncRun
from promidata_sync.operations import start_sync
from tests.browser.conftest import make_staff
from tests.feedpaths import base_path, family_path
from tests.queue.conftest import wait_for_runs

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

BROKEN_FAMILY = "A100-F00003"


def test_a_failed_job_is_found_from_the_dashboard_with_its_traceback(
    feed_server,
    sync_config,
    login,
    live_server,
    django_user_model,
    in_process_worker,
    artifacts,
    monkeypatch,
):
    # Quick redraws, so the test sees one without waiting the production interval.
    monkeypatch.setattr(dashboard, "REFRESH_INTERVAL_MS", 400)
    feed_server.replace(family_path(feed_server, BROKEN_FAMILY), b'{"ChildProducts": [{"Sku": ')
    Supplier.objects.create(code="A100", name="Synthetic supplier")
    (run_id,) = start_sync("A100", use_queue=True, trigger="admin")["runs"]
    (run,) = wait_for_runs([run_id])
    assert (run.state, run.families_failed) == (SyncRun.State.PARTIAL, 1)
    failed_job = Job.objects.get(state=Job.State.FAILED)
    page = login(make_staff(django_user_model, "viewer", operate=False), width=1440, height=900)

    # The dashboard's failed count of the family queue opens the job list filtered so.
    page.goto(f"{live_server.url}/admin/promidata_sync/dashboard/")
    row = page.locator("#pd-queues tr", has=page.locator("th", has_text="product-family"))
    failed_count = row.locator("td").nth(4).locator("a")
    expect(failed_count).to_have_text("1")
    page.screenshot(path=artifacts / "browser-dashboard-links.png", full_page=True)
    failed_count.click()
    page.wait_for_url(re.compile(r"/admin/promidata_sync/job/\?"))
    query = urlsplit(page.url).query
    assert "queue_name__exact=product-family" in query and "state__exact=failed" in query
    rows = page.locator("#result_list tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(BROKEN_FAMILY)

    # The job's page: what ran, where, and the traceback as stored, readable.
    rows.first.get_by_role("link", name=failed_job.job_id).click()
    traceback = page.locator("pre.pd-traceback")
    expect(traceback).to_contain_text("Traceback (most recent call last)")
    expect(traceback).to_contain_text("StepFailed")
    content = page.locator("#content")
    expect(content).to_contain_text("sync_product_family")
    expect(content).to_contain_text(failed_job.worker)
    expect(page.locator(f"a:text('#{run.pk} A100')")).to_be_visible()
    assert traceback.evaluate("e => getComputedStyle(e).overflow") == "auto"
    # The profile's folder (its GUID) is never on the page, even inside the arguments.
    assert base_path(feed_server).strip("/").split("/")[-1] not in page.content()
    page.screenshot(path=artifacts / "browser-job-page.png", full_page=True)

    # Back to the run: its page lists the job with a link to the same page.
    page.click(f"a:text('#{run.pk} A100')")
    expect(page.locator("#pd-jobs").get_by_role("link", name=failed_job.job_id)).to_be_visible()

    # The dashboard redraws itself: a job failing after the page loaded appears, no reload.
    page.goto(f"{live_server.url}/admin/promidata_sync/dashboard/")
    page.evaluate("window.pdMarker = 'same page'")
    Job.objects.create(
        job_id="late-failure-0001",
        queue_name="image-upload",
        actor_name="upload_image",
        run=run,
        key="A100-late",
        state=Job.State.FAILED,
        error="HTTP 500 from the image host",
    )
    expect(page.locator("#pd-failed-jobs")).to_contain_text("late-failure-0001", timeout=10_000)
    image_row = page.locator("#pd-queues tr", has=page.locator("th", has_text="image-upload"))
    expect(image_row.locator("td").nth(4)).to_contain_text("1")
    assert page.evaluate("window.pdMarker") == "same page"
    assert int(page.evaluate("document.documentElement.dataset.pdRefreshes")) >= 1
