"""The Quote panel on the variant admin page: figures for a chosen quantity, region and
print option; bad input is a message in the panel (status 200), never an error page."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from tests.api.quote_factories import OPTION, POSITION, make_quotable_variant

pytestmark = pytest.mark.django_db

PRINT_CHOICE = f"{POSITION}/{OPTION}"


@pytest.fixture
def quote_viewer_client(client, django_user_model):
    """A staff user who may only view the catalog (as in tests/admin/conftest.py)."""
    user = django_user_model.objects.create_user("quote-viewer", is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="catalog", codename__startswith="view_")
    )
    client.force_login(user)
    return client


@pytest.fixture
def variant():
    return make_quotable_variant()


def page(client, variant, **params) -> str:
    url = reverse("admin:catalog_variant_change", args=[variant.pk])
    response = client.get(url, params)
    assert response.status_code == 200
    return response.content.decode()


def breakdown(html: str) -> str:
    start = html.index('<div class="pd-quote">')
    return html[start : html.index("</div>", start)]


def test_panel_shows_the_quote_for_the_choice(quote_viewer_client, variant):
    html = page(quote_viewer_client, variant, quantity="101", region="EURO", print=PRINT_CHOICE)
    panel = breakdown(html)
    # 252.50 + 44.945 + 70.00 + 4.545 = 371.99 (see test_quotes_service)
    for figure in ("252.50", "44.95", "70.00", "4.55", "371.99 EUR", "SETUP-2C (Unique)"):
        assert figure in panel, figure
    assert f'<option value="{PRINT_CHOICE}" selected>' in panel
    assert '<option value="EURO" selected>' in panel
    # The inputs belong to the GET form after the page's own POST form.
    assert 'form="pd-quote-form"' in panel
    assert html.index('<form id="pd-quote-form" method="get">') > html.index("</form>")


def test_panel_defaults_to_the_preferred_region_and_its_first_tier(quote_viewer_client, variant):
    panel = breakdown(page(quote_viewer_client, variant))
    # EURO, Q=100, article only: 100 x 2.50 = 250.00
    assert 'name="quantity" value="100"' in panel and "250.00 EUR" in panel


def test_panel_in_chf_and_on_request(quote_viewer_client, variant):
    # CHF Q=200: 540.00 + 100.00 + 80.00 + 10.00 = 730.00
    panel = breakdown(
        page(quote_viewer_client, variant, quantity="200", region="CHF", print=PRINT_CHOICE)
    )
    assert "730.00 CHF" in panel
    panel = breakdown(page(quote_viewer_client, variant, quantity="1000", region="EURO"))
    assert "on request" in panel and "pd-quote-error" not in panel


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"quantity": "abc"}, "quantity must be a whole number, not &#x27;abc&#x27;"),
        ({"quantity": "-1"}, "quantity must be at least 1, not -1"),
        ({"quantity": "0"}, "quantity must be at least 1"),
        ({"quantity": "9" * 30}, "quantity must be at most"),
        ({"quantity": "9" * 5000}, "quantity must be a whole number"),
        ({"quantity": "1.5"}, "quantity must be a whole number"),
        ({"region": "XYZ"}, "has no prices in region XYZ; its regions are CHF, EURO, SEK"),
        ({"print": "BACK/NOPE"}, "unknown print choice BACK/NOPE"),
        ({"quantity": "<b>x</b>"}, "&lt;b&gt;x&lt;/b&gt;"),
    ],
)
def test_bad_input_is_a_message(quote_viewer_client, variant, params, message):
    panel = breakdown(page(quote_viewer_client, variant, **params))
    assert 'class="pd-error pd-quote-error"' in panel
    assert message in panel
    assert "<b>x</b>" not in panel


def test_variant_without_selling_prices(quote_viewer_client, variant):
    variant.price_tiers.filter(kind="sell").delete()
    assert "nothing to quote" in page(quote_viewer_client, variant, quantity="5")
