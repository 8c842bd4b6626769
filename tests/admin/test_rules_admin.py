"""The rules in the admin, with Django's test client: exclusions on the supplier page,
protected fields on the product and variant pages, the audit trail, and the permissions."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from catalog.models import CatalogChange, Product, ProtectedField, RuleChange, SupplierExclusion
from promidata_sync.services.protection import protect
from tests.admin.conftest import staff_user
from tests.admin.factories import make_products, make_suppliers

pytestmark = pytest.mark.django_db

RULE_PERMISSIONS = [
    f"{action}_{model}"
    for action in ("add", "change", "delete")
    for model in ("protectedfield", "supplierexclusion")
]


@pytest.fixture
def editor_client(client, django_user_model):
    user = staff_user(django_user_model, "editor", operate=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=RULE_PERMISSIONS))
    client.force_login(user)
    return client


def management(prefix: str, *, total: int = 0, initial: int = 0) -> dict:
    return {
        f"{prefix}-TOTAL_FORMS": str(total),
        f"{prefix}-INITIAL_FORMS": str(initial),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }


def product_post(product, *, rules=(), new=None, **fields) -> dict:
    """The product change form's POST: the inline's existing ``rules`` (with ``DELETE``
    flags), one ``new`` rule (field, local value), the protected fields' values."""
    rows = list(rules) + ([new] if new else [])
    data = {**management("variants"), **management("protected_fields", total=len(rows))}
    data["protected_fields-INITIAL_FORMS"] = str(len(rules))
    for i, row in enumerate(rows):
        if isinstance(row[0], str):  # new: (field, local value JSON)
            data[f"protected_fields-{i}-field"], data[f"protected_fields-{i}-local_value"] = row
        else:
            rule, delete = row
            data[f"protected_fields-{i}-id"] = str(rule.pk)
            data[f"protected_fields-{i}-product"] = str(product.pk)
            data[f"protected_fields-{i}-field"] = rule.field
            data[f"protected_fields-{i}-local_value"] = _json(rule.local_value)
            if delete:
                data[f"protected_fields-{i}-DELETE"] = "on"
        data[f"protected_fields-{i}-product"] = str(product.pk)
    data.update(fields)
    return data


def _errors(response):
    context = response.context_data
    inlines = [f.errors for i in context["inline_admin_formsets"] for f in i.formset.forms]
    return [context["errors"], inlines]


def _json(value) -> str:
    return json.dumps(value)


def test_an_editor_protects_edits_and_unprotects_a_products_brand(editor_client):
    (supplier,) = make_suppliers(1)
    (product,) = make_products(supplier, 1)
    Product.objects.filter(pk=product.pk).update(brand="FeedBrand")
    url = reverse("admin:catalog_product_change", args=[product.pk])
    page = editor_client.get(url).content.decode()
    assert 'name="brand"' not in page  # nothing protected yet: nothing editable

    response = editor_client.post(url, product_post(product, new=("brand", "")))

    assert response.status_code == 302, _errors(response)
    rule = ProtectedField.objects.get(product=product, field="brand")
    assert (rule.local_value, rule.feed_value) == ("FeedBrand", "FeedBrand")
    assert rule.created_by == "editor"
    page = editor_client.get(url).content.decode()
    assert 'name="brand"' in page and "local edit" in page and "FeedBrand" in page
    assert 'name="names"' not in page and 'name="descriptions"' not in page  # still read-only

    response = editor_client.post(url, product_post(product, rules=[(rule, False)], brand="Ours"))

    assert response.status_code == 302, _errors(response)
    product.refresh_from_db()
    assert product.brand == "Ours"
    rule.refresh_from_db()
    assert (rule.local_value, rule.feed_value, rule.updated_by) == ("Ours", "FeedBrand", "editor")

    response = editor_client.post(url, product_post(product, rules=[(rule, True)], brand="Ours"))

    assert response.status_code == 302
    product.refresh_from_db()
    assert product.brand == "FeedBrand"
    assert not ProtectedField.objects.exists()
    assert list(RuleChange.objects.order_by("id").values_list("user", "action", "subject")) == [
        ("editor", "added", f"{product.sku} brand"),
        ("editor", "changed", f"{product.sku} brand"),
        ("editor", "removed", f"{product.sku} brand"),
    ]
    assert CatalogChange.objects.filter(product=product, kind="updated").count() == 3


def test_a_bad_local_value_is_reported_not_saved(editor_client):
    (supplier,) = make_suppliers(1)
    (product,) = make_products(supplier, 1)
    url = reverse("admin:catalog_product_change", args=[product.pk])

    response = editor_client.post(
        url, product_post(product, new=("names", '"not a dict"')), follow=True
    )

    assert "Protection not saved: names must be {language: text}" in response.content.decode()
    assert not ProtectedField.objects.exists()


def test_a_viewer_sees_the_marker_and_the_feed_value_but_cannot_change(viewer_client, operator):
    (supplier,) = make_suppliers(1)
    (product,) = make_products(supplier, 1)
    Product.objects.filter(pk=product.pk).update(brand="FeedBrand")
    protect(product, "brand", user="editor", value="Ours")
    url = reverse("admin:catalog_product_change", args=[product.pk])

    page = viewer_client.get(url).content.decode()

    assert "local edit" in page and "FeedBrand" in page and "Ours" in page
    assert 'name="brand"' not in page and 'name="_save"' not in page
    assert viewer_client.post(url, product_post(product, brand="Mine")).status_code == 403
    assert Product.objects.get(pk=product.pk).brand == "Ours"


def test_a_variant_field_is_protected_from_the_variant_page(editor_client):
    (supplier,) = make_suppliers(1)
    (product,) = make_products(supplier, 1)
    variant = product.variants.get(position=0)
    url = reverse("admin:catalog_variant_change", args=[variant.pk])
    data = {**management("protected_fields", total=1)}
    data["protected_fields-0-field"] = "color"
    data["protected_fields-0-local_value"] = '"Deep red"'
    data["protected_fields-0-variant"] = str(variant.pk)

    response = editor_client.post(url, data)

    assert response.status_code == 302, response.content.decode()[:2000]
    variant.refresh_from_db()
    assert variant.color == "Deep red"
    assert ProtectedField.objects.get(variant=variant).feed_value == "colour 0"
    assert "local edit" in editor_client.get(url).content.decode()


def test_exclusions_are_added_from_the_supplier_page_and_audited(editor_client):
    (supplier,) = make_suppliers(1)
    url = reverse("admin:catalog_supplier_change", args=[supplier.pk])
    data = {"name": supplier.name, "is_active": "on", **management("exclusions", total=1)}
    data["exclusions-0-pattern"] = "A100-F1*"
    data["exclusions-0-note"] = "seasonal"
    data["exclusions-0-supplier"] = str(supplier.pk)

    response = editor_client.post(url, data)

    assert response.status_code == 302, response.content.decode()[:2000]
    rule = SupplierExclusion.objects.get(supplier=supplier)
    assert (rule.pattern, rule.note, rule.created_by) == ("A100-F1*", "seasonal", "editor")
    change = RuleChange.objects.get()
    assert (change.user, change.rule, change.action) == ("editor", "exclusion", "added")
    trail = editor_client.get(reverse("admin:catalog_rulechange_changelist") + "?rule=exclusion")
    assert "A100: A100-F1*" in trail.content.decode()


def test_without_rule_permissions_exclusions_are_read_only(operator_client):
    (supplier,) = make_suppliers(1)
    SupplierExclusion.objects.create(supplier=supplier, pattern="A100-X*", created_by="someone")
    url = reverse("admin:catalog_supplier_change", args=[supplier.pk])
    page = operator_client.get(url).content.decode()
    assert "A100-X*" in page and 'name="exclusions-0-pattern"' not in page
    assert operator_client.get(reverse("admin:catalog_rulechange_add")).status_code == 403
