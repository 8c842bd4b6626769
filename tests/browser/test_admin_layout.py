"""The run and product lists fit the window: at 1440 px with the navigation sidebar open, and
on a 390 px phone, the page itself never scrolls sideways (a wide table scrolls inside its own
box instead), the whole table fits at 1440 px, and the lists' key columns stay visible."""

from __future__ import annotations

import pytest

from promidata_sync.models import SyncRun
from tests.admin.factories import make_products, make_run, make_suppliers
from tests.browser.conftest import make_staff

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PAGE_OVERFLOW = (
    "() => ({scroll: document.documentElement.scrollWidth, inner: window.innerWidth,"
    " sidebar: !!document.querySelector('#nav-sidebar')"
    " && getComputedStyle(document.querySelector('#nav-sidebar')).display !== 'none'"
    " && document.querySelector('#nav-sidebar').getBoundingClientRect().width > 0,"
    " table: document.querySelector('#result_list').getBoundingClientRect().width,"
    " box: document.querySelector('#changelist-form .results').clientWidth})"
)


@pytest.fixture
def catalog_with_runs():
    supplier = make_suppliers(1, prefix="A")[0]
    # Long names and messages are what pushes a table wider than its window.
    supplier.name = "Supplier with a rather long name, as real suppliers have " * 2
    supplier.save()
    make_products(supplier, 30)
    for state in (SyncRun.State.COMPLETED, SyncRun.State.PARTIAL, SyncRun.State.FAILED):
        make_run(supplier, state=state, message="family A100-00001: " + "broken JSON " * 30)
    return supplier


@pytest.mark.parametrize(("width", "height"), [(1440, 900), (390, 844)])
def test_the_run_and_product_lists_fit_the_window(
    catalog_with_runs, login, live_server, django_user_model, width, height
):
    page = login(make_staff(django_user_model, "viewer", operate=True), width=width, height=height)
    for path, key_column in [
        ("/admin/promidata_sync/syncrun/", "th.column-run_number"),
        ("/admin/catalog/product/", "th.column-sku"),
    ]:
        page.goto(f"{live_server.url}{path}")
        page.wait_for_selector("#result_list")
        measured = page.evaluate(PAGE_OVERFLOW)
        assert measured["scroll"] <= measured["inner"], (path, measured)
        # The sidebar is open on a wide screen (this is the case that overflowed), hidden on
        # a phone.
        assert measured["sidebar"] is (width >= 1440), (path, measured)
        if width >= 1440:
            # The whole table fits its box: no sideways scrolling to see the last column.
            assert measured["table"] <= measured["box"], (path, measured)
        else:
            # On a phone the secondary columns are left out; the row's name stays.
            assert page.locator("th.column-mode, th.column-category").first.is_hidden()
        key = page.locator(key_column).bounding_box()
        assert key is not None and 0 <= key["x"] < width, (path, key)
