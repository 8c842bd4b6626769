"""The interactive API docs render in headless Chromium from this server alone: every asset
comes from the live server, and the page lists the catalog endpoints from /api/schema/."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_docs_render_with_no_external_request(browser, live_server, artifacts):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    requested = []
    context.on("request", lambda request: requested.append(request.url))
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/api/docs/")

        expect(page.locator(".swagger-ui .info .title")).to_contain_text("promidata-sync")
        expect(page.get_by_text("/api/catalog/products/{sku}/").first).to_be_visible()
        expect(page.get_by_text("/api/catalog/quote/").first).to_be_visible()
        expect(page.locator(".btn.authorize")).to_be_visible()  # a field for the API key
        page.screenshot(path=str(artifacts / "api-docs.png"), full_page=False)
    finally:
        context.close()

    server = urlsplit(live_server.url).netloc
    external = [url for url in requested if urlsplit(url).netloc not in (server, "")]
    assert requested and not external, external
    assert any(url.endswith("/api/schema/") for url in requested)
