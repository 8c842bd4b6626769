"""An operator re-imports one product from the product list and watches its run finish.
Headless Chromium, real live server, real loopback feed, queue mode with the in-process
worker."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from catalog.models import Product
from promidata_sync.models import SyncRun
from promidata_sync.services.direct import sync_direct
from tests.browser.conftest import make_staff

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FAMILY = "A100-F00003"


def test_operator_reimports_one_product(
    feed_server, sync_config, login, live_server, django_user_model, in_process_worker, artifacts
):
    assert sync_direct(config=sync_config).ok
    Product.objects.filter(sku=FAMILY).update(brand="edited behind the sync's back")
    product = Product.objects.get(sku=FAMILY)
    feed_server.reset_counts()
    page = login(make_staff(django_user_model, "operator", operate=True))

    page.goto(f"{live_server.url}/admin/catalog/product/?q={FAMILY}")
    page.check(f'input[name="_selected_action"][value="{product.pk}"]')
    page.select_option('select[name="action"]', "reimport_products")
    page.click('button[name="index"]')
    expect(page.locator(".messagelist")).to_contain_text("Re-import of 1 family queued: A100")

    run = SyncRun.objects.get(trigger=SyncRun.Trigger.MANUAL)
    page.click(".messagelist a:text('watch progress')")
    state = page.locator(f'[data-run-id="{run.pk}"][data-run-field="state"]')
    expect(state).to_have_text("Completed", timeout=30_000)
    page.screenshot(path=artifacts / "browser-reimport-finished.png", full_page=True)

    run.refresh_from_db()
    assert (run.skus, run.families_total, run.families_done) == ([FAMILY], 1, 1)
    assert Product.objects.get(sku=FAMILY).brand != "edited behind the sync's back"
    assert feed_server.count("family") == 1
