"""An operator protects a product's brand, edits it, sees "local edit" with the feed's value,
a sync of the changed family keeps the local value, and removing the protection shows the
feed's value again. Headless Chromium, real live server, real loopback feed, direct sync."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from playwright.sync_api import expect

from catalog.models import Product, ProtectedField, RuleChange
from promidata_sync.services.direct import sync_direct
from tests.browser.conftest import make_staff
from tests.rules.feed_edits import family_change

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SKU = "A100-F00001"


def test_operator_protects_edits_and_unprotects_a_brand(
    feed, feed_server, sync_config, login, live_server, django_user_model, artifacts
):
    assert sync_direct(config=sync_config).ok
    product = Product.objects.get(sku=SKU)
    feed_brand = product.brand
    user = make_staff(django_user_model, "operator", operate=True)
    user.user_permissions.add(*Permission.objects.filter(codename__endswith="_protectedfield"))
    page = login(user)
    url = f"{live_server.url}/admin/catalog/product/{product.pk}/change/"

    # Protect "brand", keeping its current value.
    page.goto(url)
    expect(page.locator('input[name="brand"]')).to_have_count(0)  # the feed owns it
    page.click("text=Add another protected field")
    page.select_option('select[name="protected_fields-0-field"]', "brand")
    page.click('input[name="_continue"]')
    expect(page.locator(".messagelist")).to_contain_text("changed successfully")

    # Edit it: "local edit", the feed's value beside it.
    brand = page.locator('input[name="brand"]')
    expect(brand).to_have_value(feed_brand)
    brand.fill("House brand")
    page.click('input[name="_continue"]')
    expect(page.locator('input[name="brand"]')).to_have_value("House brand")
    marker = page.locator(".field-brand .help")
    expect(marker).to_contain_text("local edit")
    expect(marker).to_contain_text(f"feed: {feed_brand}")
    page.screenshot(path=artifacts / "browser-protect-local-edit.png", full_page=True)

    # The supplier changes the family: the local value stays, the feed's is kept beside it.
    family_change(feed, feed_server, SKU, brand="Otherbrand", name_en="A new name")
    assert sync_direct(config=sync_config).ok
    page.reload()
    expect(page.locator('input[name="brand"]')).to_have_value("House brand")
    expect(page.locator(".field-brand .help")).to_contain_text("feed: Otherbrand")
    expect(page.locator(".field-name_list")).to_contain_text("A new name")  # not protected

    # Remove the protection: the feed's value is back, read-only again.
    page.check('input[name="protected_fields-0-DELETE"]')
    page.click('input[name="_continue"]')
    expect(page.locator('input[name="brand"]')).to_have_count(0)
    expect(page.locator(".field-brand .readonly")).to_have_text("Otherbrand")
    expect(page.locator(".field-brand")).not_to_contain_text("local edit")
    assert Product.objects.get(pk=product.pk).brand == "Otherbrand"
    assert not ProtectedField.objects.exists()
    actions = list(RuleChange.objects.order_by("id").values_list("user", "action"))
    assert actions == [("operator", "added"), ("operator", "changed"), ("operator", "removed")]
