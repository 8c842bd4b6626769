"""An operator watches a running sync's elapsed time, rate and ETA on the run list and on
the run's page; both go when it ends. Then the supplier's history chart and the dashboard's
throughput chart. Headless Chromium, live server, loopback feed, in-process worker."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from catalog.models import Supplier
from promidata_sync.models import SyncRun
from promidata_sync.operations import start_sync
from tests.browser.conftest import make_staff
from tests.feedpaths import family_path

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SLOW_FAMILIES = ("A100-F00003", "A100-F00005")
# "1.2 families/s · ETA 3s", "40 families/min · ETA ≥ 12s" (images still being planned)
ETA_SHOWN = re.compile(r"\d+(\.\d)? (families|images)/(s|min) · ETA (≥ )?(<1s|\d+)")


@pytest.fixture
def slow_feed(feed_server, sync_config):
    """Slow enough to watch for a few seconds: every answer waits, two families longer."""
    feed_server.latency_ms = 250
    for sku in SLOW_FAMILIES:
        feed_server.delay(family_path(feed_server, sku), 5.0)
    return feed_server


def past_runs(supplier: Supplier) -> None:
    """Two weeks of nightly syncs (durations around 4 minutes, one slow night, one with
    failures) for the history chart: the screenshot's background."""
    now = timezone.now()
    for night, minutes in enumerate([4, 4.5, 3.8, 4.2, 9.5, 4.1, 3.9, 4.4, 4.0, 5.2, 4.3, 4.1]):
        end = now - timedelta(days=12 - night, hours=1)
        SyncRun.objects.create(
            supplier=supplier,
            trigger=SyncRun.Trigger.CRON,
            mode=SyncRun.Mode.QUEUE,
            state=SyncRun.State.PARTIAL if night == 9 else SyncRun.State.COMPLETED,
            started_at=end - timedelta(minutes=minutes),
            planned_at=end - timedelta(minutes=minutes - 0.2),
            finished_at=end,
            families_total=40 + night,
            families_done=40 + night - (2 if night == 9 else 0),
            families_failed=2 if night == 9 else 0,
            images_done=120,
        )


def test_eta_shows_while_a_sync_runs_and_goes_when_it_ends(
    slow_feed, login, live_server, django_user_model, in_process_worker, artifacts
):
    supplier = Supplier.objects.create(code="A100", name="Synthetic supplier")
    past_runs(supplier)
    page = login(make_staff(django_user_model, "operator", operate=True), width=1440, height=900)

    start_sync("A100", use_queue=True, trigger=SyncRun.Trigger.ADMIN)
    run = SyncRun.objects.get(state__in=SyncRun.ACTIVE_STATES)

    # The run list: elapsed time, then rate and ETA, updated in place.
    page.goto(f"{live_server.url}/admin/promidata_sync/syncrun/")
    eta = page.locator(f'[data-run-id="{run.pk}"][data-run-field="eta"]')
    expect(eta).to_have_text(ETA_SHOWN, timeout=20_000)
    page.screenshot(path=artifacts / "browser-eta-run-list.png", full_page=True)

    # The run's own page says the same while the run lasts.
    page.goto(f"{live_server.url}/admin/promidata_sync/syncrun/{run.pk}/change/")
    page_eta = page.locator(f'[data-run-id="{run.pk}"][data-run-field="eta"]')
    expect(page_eta).to_have_text(ETA_SHOWN, timeout=10_000)
    page.screenshot(path=artifacts / "browser-eta-run-page.png", full_page=True)

    # When it ends, rate and ETA go; the elapsed time stays.
    state = page.locator(f'[data-run-id="{run.pk}"][data-run-field="state"]')
    expect(state).to_have_attribute("data-run-active", "false", timeout=60_000)
    expect(page_eta).to_have_text("")
    expect(page.locator(f'[data-run-id="{run.pk}"][data-run-field="duration"]')).to_have_text(
        re.compile(r"^\d+s$|^\d+m \d\ds$")
    )
    run.refresh_from_db()
    assert run.state == SyncRun.State.COMPLETED

    # The supplier's history: one bar per finished sync, this one included.
    page.goto(f"{live_server.url}/admin/catalog/supplier/{supplier.pk}/change/")
    history = page.locator("#pd-sync-history")
    expect(history.locator("rect.pd-chart-bar")).to_have_count(13)
    expect(history).to_contain_text("usual 4m 06s")
    history.screenshot(path=artifacts / "supplier-history.png")

    # The dashboard's throughput: this sync's families and images in the last hour.
    page.goto(f"{live_server.url}/admin/promidata_sync/dashboard/")
    throughput = page.locator("#pd-throughput")
    expect(throughput).to_contain_text("6 families")
    expect(throughput.locator("polyline")).to_have_count(2)
    throughput.screenshot(path=artifacts / "dashboard-throughput.png")
