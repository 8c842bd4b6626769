"""The catalog admin: products, variants, media and categories, at a constant query cost."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from catalog.models import Category, Media, Product, Variant
from tests.admin.factories import make_products, make_suppliers

pytestmark = pytest.mark.django_db


def queries_for(client, url: str, params=None) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, params or {})
    assert response.status_code == 200
    return len(queries)


def test_product_changelist_queries_do_not_grow_with_rows(operator_client):
    url = reverse("admin:catalog_product_changelist")
    category = Category.objects.create(key="MUGS", names={"en": "Mugs"})
    a, b = make_suppliers(2)
    make_products(a, 5, category=category)
    few = queries_for(operator_client, url)

    make_products(b, 45, variants=3, images=2)
    assert Product.objects.count() == 50

    assert queries_for(operator_client, url) == few


def test_product_list_shows_thumbnail_name_supplier_and_variant_count(operator_client):
    (supplier,) = make_suppliers(1)
    (product,) = make_products(supplier, 1, variants=3)
    media = Media.objects.filter(variant_links__variant__product=product).order_by("id").first()

    html = operator_client.get(reverse("admin:catalog_product_changelist")).content.decode()

    assert product.sku in html and "Mug 0" in html
    assert '<td class="field-variants">3</td>' in html
    assert f'src="/media/{media.file.name}"' in html


def test_products_are_searchable_by_sku_and_name_and_filterable(operator_client):
    a, b = make_suppliers(2)
    make_products(a, 3)
    make_products(b, 2, start=10)
    Product.objects.filter(sku="A100-00001").update(is_active=False)
    url = reverse("admin:catalog_product_changelist")

    def count(**params):
        return operator_client.get(url, params).context["cl"].result_count

    assert count(q="A101-00011") == 1
    assert count(q="becher 11") == 1  # any language of the names
    assert count(supplier__id__exact=b.pk) == 2
    assert count(is_active__exact="0") == 1


def test_product_page_shows_variants_with_prices_and_thumbnails(operator_client):
    (supplier,) = make_suppliers(1)
    (few,) = make_products(supplier, 1, variants=2, images=1)
    (many,) = make_products(supplier, 1, variants=20, images=3, start=1)

    def page(product):
        return reverse("admin:catalog_product_change", args=[product.pk])

    html = operator_client.get(page(few)).content.decode()
    assert "EURO sell: 1+ 2.5 EUR" in html
    assert html.count('class="pd-thumb"') == 2
    assert f"{few.sku}-1" in html
    assert 'name="_save"' not in html  # the feed owns products: read-only

    assert queries_for(operator_client, page(many)) == queries_for(operator_client, page(few))


def test_variant_and_media_pages(operator_client):
    (supplier,) = make_suppliers(1)
    make_products(supplier, 1, variants=1, images=2)
    variant = Variant.objects.get()
    media = Media.objects.first()

    variant_html = operator_client.get(
        reverse("admin:catalog_variant_change", args=[variant.pk])
    ).content.decode()
    assert '<table class="pd-prices">' in variant_html and "<th>EURO" in variant_html
    assert variant_html.count('class="pd-thumb"') == 2

    media_list = operator_client.get(reverse("admin:catalog_media_changelist")).content.decode()
    assert media.sha256[:12] in media_list and "1.2 KB" in media_list

    media_html = operator_client.get(
        reverse("admin:catalog_media_change", args=[media.pk])
    ).content.decode()
    assert 'class="pd-preview"' in media_html
    assert f"{supplier.code} {variant.product.sku} / {variant.sku}" in media_html
    assert "secret-guid" not in media_html  # feed URLs are shown masked


def test_media_and_variant_changelists_do_not_grow_with_rows(operator_client):
    (supplier,) = make_suppliers(1)
    make_products(supplier, 2, variants=1, images=2)
    urls = [reverse("admin:catalog_media_changelist"), reverse("admin:catalog_variant_changelist")]
    few = [queries_for(operator_client, url) for url in urls]

    make_products(supplier, 25, variants=2, images=1, start=100)

    assert [queries_for(operator_client, url) for url in urls] == few


def test_catalog_rows_are_read_only(operator_client, admin_client):
    (supplier,) = make_suppliers(1)
    (product,) = make_products(supplier, 1)
    for client in (operator_client, admin_client):
        assert client.get(reverse("admin:catalog_product_add")).status_code == 403
        delete = reverse("admin:catalog_product_delete", args=[product.pk])
        assert client.post(delete, {"post": "yes"}).status_code == 403
    assert Product.objects.filter(pk=product.pk).exists()
