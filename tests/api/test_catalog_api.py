"""The catalog API against a catalog synced from the generated feed (every region, print
data, images) into PostgreSQL: every contract key, pagination, filters, ETags, categories,
and constant query counts."""

from __future__ import annotations

from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils.timezone import now

from catalog.models import Category, Media, Product, Supplier, Variant, VariantMedia
from devtools.feedgen import NINE_LOCALE_REGIONS, FeedSpec
from promidata_sync.http import schemas
from promidata_sync.services.direct import sync_direct

pytestmark = pytest.mark.django_db

PRINTED = FeedSpec(
    suppliers=2,
    families_per_supplier=4,
    variants_per_family=2,
    images_per_variant=1,
    regions=NINE_LOCALE_REGIONS,
    print_positions=2,
    print_options=2,
    print_costs=2,
    rich=True,
)

PRODUCT_KEYS = {
    "sku", "supplier", "supplier_sku", "is_active", "updated_at", "names", "descriptions",
    "category", "brand", "specifications", "variants",
}  # fmt: skip
VARIANT_KEYS = {
    "sku", "supplier_sku", "ean", "is_active", "names", "descriptions", "color", "size",
    "attributes", "weight_g", "dimensions_mm", "country_of_origin", "customs_tariff_number",
    "specifications", "images", "prices", "print_positions",
}  # fmt: skip
IMAGE_KEYS = {"url", "sha256", "content_type", "width", "height"}
TIER_KEYS = {"region", "kind", "min_quantity", "price", "currency", "on_request"}
POSITION_KEYS = {"code", "supplier_code", "names", "max_print_area", "images", "options"}
OPTION_KEYS = {
    "sku", "supplier_sku", "names", "descriptions", "colors", "imprint_type", "dimensions",
    "prices", "costs",
}  # fmt: skip
COST_KEYS = {"sku", "names", "calculation_type", "calculation_amount", "prices"}


@pytest.fixture
def feed_spec() -> FeedSpec:
    return PRINTED


@pytest.fixture
def synced(feed, feed_server, sync_config):
    report = sync_direct(config=sync_config)
    assert report.ok
    return feed.expected(feed_server.base_url)


def get_product(reader, sku, **headers):
    response = reader.get(f"/api/catalog/products/{sku}/", **headers)
    assert response.status_code == 200, response.content
    return response.json()


# --- one product ---------------------------------------------------------------------------
def test_a_product_holds_every_contract_key_and_every_tier_of_every_region(reader, synced):
    for code, families in synced.items():
        for family_sku, expected in families.items():
            body = get_product(reader, family_sku)

            schemas.Product.model_validate(body)  # the published schema holds for it
            assert set(body) >= PRODUCT_KEYS
            assert (body["sku"], body["supplier"], body["is_active"]) == (family_sku, code, True)
            assert body["names"] == expected["names"]
            assert body["category"] == expected["category"]
            assert {v["sku"] for v in body["variants"]} == set(expected["variants"])
            for variant in body["variants"]:
                assert set(variant) >= VARIANT_KEYS
                assert_prices_are_the_feeds(variant, expected["variants"][variant["sku"]])
                assert_print_data_is_the_feeds(variant, expected["variants"][variant["sku"]])


def assert_prices_are_the_feeds(variant: dict, expected: dict) -> None:
    for tier in variant["prices"]:
        assert set(tier) == TIER_KEYS
        assert isinstance(tier["min_quantity"], int) and isinstance(tier["price"], str)
    for region, terms in expected["regions"].items():
        for kind in ("sell", "buy"):
            served = [
                (t["min_quantity"], Decimal(t["price"]))
                for t in variant["prices"]
                if (t["region"], t["kind"]) == (region, kind)
            ]
            assert served == [(q, Decimal(p)) for q, p in terms[kind]], (region, kind)
        currencies = {t["currency"] for t in variant["prices"] if t["region"] == region}
        assert currencies == {terms["currency"]}


def assert_print_data_is_the_feeds(variant: dict, expected: dict) -> None:
    positions = variant["print_positions"]
    assert [p["code"] for p in positions] == [p["code"] for p in expected["print"]]
    for position, wanted in zip(positions, expected["print"], strict=True):
        assert set(position) >= POSITION_KEYS
        assert position["max_print_area"] == wanted["max_print_area"]
        assert [o["sku"] for o in position["options"]] == [o["sku"] for o in wanted["options"]]
        for option in position["options"]:
            assert set(option) >= OPTION_KEYS
            assert option["prices"] and all(set(t) == TIER_KEYS for t in option["prices"])
            for cost in option["costs"]:
                assert set(cost) >= COST_KEYS
                assert all(set(t) == TIER_KEYS for t in cost["prices"])
        for image in position["images"]:
            assert set(image) == IMAGE_KEYS


def test_images_are_absolute_storage_urls_of_the_stored_bytes(reader, synced, settings):
    settings.PROMIDATA_SERVE_MEDIA = True  # as with DEBUG on; in production nginx serves them
    sku = next(iter(synced["A100"]))
    variant = get_product(reader, sku)["variants"][0]

    assert variant["images"]
    for image in variant["images"]:
        assert set(image) == IMAGE_KEYS
        media = Media.objects.get(sha256=image["sha256"])
        assert image["url"] == f"http://testserver{media.file.url}"
        assert (image["content_type"], image["width"]) == (media.content_type, media.width)
        stored = reader.get(urlsplit(image["url"]).path)  # served by the app from local disk
        assert stored.status_code == 200


def test_descriptions_are_sanitised_and_the_raw_text_stays_stored(reader, synced):
    product = Product.objects.filter(supplier__code="A100").order_by("id").first()
    hostile = '<p onclick="steal()">Mug<script>alert(1)</script> <a href="javascript:x">l</a></p>'
    product.descriptions = {"en": hostile}
    product.save(update_fields=["descriptions"])

    served = get_product(reader, product.sku)["descriptions"]["en"]

    assert served.startswith("<p>Mug") and "script" not in served and "onclick" not in served
    assert "javascript" not in served
    product.refresh_from_db()
    assert product.descriptions == {"en": hostile}


def test_an_etag_is_sent_and_if_none_match_gets_a_304(reader, synced):
    sku = next(iter(synced["A100"]))
    first = reader.get(f"/api/catalog/products/{sku}/")
    etag = first["ETag"]

    again = reader.get(f"/api/catalog/products/{sku}/", HTTP_IF_NONE_MATCH=etag)
    other = reader.get(f"/api/catalog/products/{sku}/", HTTP_IF_NONE_MATCH='"something-else"')

    assert etag.startswith('W/"') and again.status_code == 304 and again.content == b""
    assert again["ETag"] == etag and other.status_code == 200
    strong_form = reader.get(f"/api/catalog/products/{sku}/", HTTP_IF_NONE_MATCH=etag[2:])
    assert strong_form.status_code == 304  # If-None-Match compares weakly
    # Whatever a sync changes moves the tag: a variant rewritten (its updated_at moves)...
    Variant.objects.filter(product__sku=sku).update(color="Ultraviolet", updated_at=now())
    changed = reader.get(f"/api/catalog/products/{sku}/", HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200 and changed["ETag"] != etag
    assert changed.json()["variants"][0]["color"] == "Ultraviolet"
    # ...an image linked before the product's updated_at is bumped, the supplier renamed.
    etag = changed["ETag"]
    VariantMedia.objects.filter(variant__product__sku=sku).delete()
    imageless = reader.get(f"/api/catalog/products/{sku}/", HTTP_IF_NONE_MATCH=etag)
    assert imageless.status_code == 200 and imageless["ETag"] != etag
    etag = imageless["ETag"]
    Supplier.objects.filter(code="A100").update(name="Renamed Ltd")
    renamed = reader.get(f"/api/catalog/products/{sku}/", HTTP_IF_NONE_MATCH=etag)
    assert renamed.status_code == 200 and renamed.json()["supplier_name"] == "Renamed Ltd"


def test_a_304_does_not_build_the_document(reader, synced):
    sku = next(iter(synced["A100"]))
    etag = reader.get(f"/api/catalog/products/{sku}/")["ETag"]
    with CaptureQueriesContext(connection) as captured:
        again = reader.get(f"/api/catalog/products/{sku}/", HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304
    assert not any("catalog_pricetier" in q["sql"] for q in captured.captured_queries)


def test_a_sku_names_the_family_of_the_supplier_it_starts_with(reader, synced):
    # Another supplier holds a family with the same SKU (SKUs are unique per supplier only).
    stranger = Supplier.objects.create(code="B7", name="Stranger")
    sku = next(iter(synced["A100"]))
    Product.objects.create(supplier=stranger, sku=sku, names={"en": "Impostor"})

    assert get_product(reader, sku)["supplier"] == "A100"


def test_an_unknown_product_is_a_json_404(reader, synced):
    response = reader.get("/api/catalog/products/A100-NOPE/")
    assert response.status_code == 404 and response.json() == {"error": "no product 'A100-NOPE'"}


def test_the_detail_costs_the_same_queries_whatever_the_family_size(reader, synced):
    small = Product.objects.order_by("id").first()
    reader.get("/api/catalog/categories/")  # the key's first use is recorded once, not measured
    queries = []
    for sku in (small.sku, grow(small, variants=12)):
        with CaptureQueriesContext(connection) as captured:
            assert reader.get(f"/api/catalog/products/{sku}/").status_code == 200
        queries.append(len(captured))
    assert queries[0] == queries[1], queries


def grow(product: Product, *, variants: int) -> str:
    """A copy of ``product`` with ``variants`` copies of its first variant, print data and
    tiers included (the ORM's way: slow, but any size)."""
    from catalog.models import (
        PriceTier,
        PrintCost,
        PrintCostTier,
        PrintOption,
        PrintOptionTier,
        PrintPosition,
    )

    template = product.variants.order_by("position").first()
    big = Product.objects.create(
        supplier=product.supplier, sku=f"{product.sku}-BIG", names=product.names
    )
    for n in range(variants):
        variant = Variant.objects.get(pk=template.pk)
        variant.pk, variant.product, variant.sku, variant.position = None, big, f"V{n}", n
        variant.save()
        for tier in template.price_tiers.all():
            tier.pk, tier.variant = None, variant
            tier.save()
        for position in PrintPosition.objects.filter(variant=template):
            options = list(position.options.all())
            position.pk, position.variant = None, variant
            position.save()
            for option in options:
                costs, tiers = list(option.costs.all()), list(option.tiers.all())
                option.pk, option.position = None, position
                option.save()
                PrintOptionTier.objects.bulk_create(
                    [PrintOptionTier(**_tier(t), option=option) for t in tiers]
                )
                for cost in costs:
                    cost_tiers = list(cost.tiers.all())
                    cost.pk, cost.option = None, option
                    cost.save()
                    PrintCostTier.objects.bulk_create(
                        [PrintCostTier(**_tier(t), cost=cost) for t in cost_tiers]
                    )
    assert PriceTier.objects.filter(variant__product=big).count() > 100
    assert PrintCost.objects.filter(option__position__variant__product=big).count() >= 12
    assert PrintOption.objects.filter(position__variant__product=big).exists()
    return big.sku


def _tier(tier) -> dict:
    fields = ("region", "kind", "min_quantity", "price", "currency", "on_request")
    return {name: getattr(tier, name) for name in fields}


# --- the list ------------------------------------------------------------------------------
def walk(reader, url: str) -> list[dict]:
    """Every summary of every page, following ``next``."""
    seen = []
    while url:
        response = reader.get(url)
        assert response.status_code == 200, response.content
        body = response.json()
        seen += body["results"]
        url = body["next"]
    return seen


def test_pages_follow_next_and_hold_every_product_once(reader, synced):
    summaries = walk(reader, "/api/catalog/products/?limit=3")

    assert [s["sku"] for s in summaries] == list(
        Product.objects.order_by("id").values_list("sku", flat=True)
    )
    first = summaries[0]
    assert set(first) >= {"sku", "supplier", "names", "is_active", "updated_at", "url", "image"}
    assert first["url"] == f"http://testserver/api/catalog/products/{first['sku']}/"
    assert first["image"].startswith("http://testserver/media/")
    assert first["variant_count"] == 2


def test_the_cursor_stays_stable_while_a_sync_writes(reader, synced):
    page = reader.get("/api/catalog/products/?limit=4").json()
    before = [s["sku"] for s in page["results"]]
    # Meanwhile: products already read are updated, a new one arrives, one is deactivated.
    Product.objects.filter(sku__in=before).update(brand="Renamed")
    supplier = Supplier.objects.get(code="A100")
    Product.objects.create(supplier=supplier, sku="A100-NEW", names={"en": "New"})
    Product.objects.exclude(sku__in=before).filter(sku__endswith="4").update(is_active=False)

    rest = [s["sku"] for s in walk(reader, page["next"])]

    everything = list(Product.objects.order_by("id").values_list("sku", flat=True))
    assert before + rest == everything  # none skipped, none repeated, the new one last
    assert rest[-1] == "A100-NEW"


def test_filters(reader, synced):
    def skus(query: str) -> set[str]:
        return {s["sku"] for s in walk(reader, f"/api/catalog/products/?{query}")}

    a101 = set(synced["A101"])
    assert skus("supplier=A101") == a101
    one = sorted(a101)[0]
    Product.objects.filter(sku=one).update(is_active=False)
    assert skus("supplier=A101&active=false") == {one}
    assert skus("supplier=A101&active=true") == a101 - {one}

    leaf = Product.objects.get(sku=one).category
    parent = leaf.parent or leaf
    in_parent = set(
        Product.objects.filter(category__in=[parent, *parent.children.all()]).values_list(
            "sku", flat=True
        )
    )
    assert one in skus(f"category={parent.key}") == in_parent

    Product.objects.filter(sku=one).update(updated_at="2099-01-01T00:00:00Z")
    assert skus("updated_since=2098-12-31T23:00:00Z") == {one}
    assert skus("updated_since=2098-12-31T23:00:00%2B00:00") == {one}

    variant = Variant.objects.filter(product__sku=one).first()
    Variant.objects.filter(pk=variant.pk).update(ean="4006381333931")
    assert skus("q=4006381333931") == {one}
    assert skus(f"q={one.lower()}") == {one}
    name = Product.objects.get(sku=one).names["en"]
    assert one in skus(f"q={name.split()[0]}")


def test_the_list_costs_the_same_queries_whatever_the_page_size(reader, synced):
    reader.get("/api/catalog/categories/")  # the key's first use is recorded once, not measured
    counts = []
    for query in ("limit=1", "limit=8", "limit=8&category=X&supplier=A100&q=F0"):
        Category.objects.get_or_create(key="X")
        with CaptureQueriesContext(connection) as captured:
            assert reader.get(f"/api/catalog/products/?{query}").status_code == 200
        counts.append(len(captured))
    assert counts[0] == counts[1] and counts[2] <= counts[1] + 1, counts


@pytest.mark.parametrize(
    ("query", "text"),
    [
        ("limit=0", "limit"),
        ("limit=5000", "limit"),
        ("limit=abc", "limit"),
        ("cursor=garbage", "malformed cursor"),
        ("cursor=aWQ6LTE", "malformed cursor"),
        ("updated_since=yesterday", "ISO 8601"),
        ("updated_since=2026-13-45T00:00:00", "ISO 8601"),
        ("active=perhaps", "active"),
        ("category=NO/SUCH", "unknown category"),
        ("q=" + "x" * 300, "longer than"),
    ],
)
def test_bad_list_parameters_are_json_400(reader, db, query, text):
    response = reader.get(f"/api/catalog/products/?{query}")
    assert response.status_code == 400, response.content
    assert text in response.json()["error"]


def test_next_keeps_the_filters(reader, synced):
    first = reader.get("/api/catalog/products/?supplier=A100&limit=2").json()
    params = parse_qs(urlsplit(first["next"]).query)
    assert params["supplier"] == ["A100"] and params["limit"] == ["2"] and params["cursor"]


# --- categories ----------------------------------------------------------------------------
def test_categories_form_a_tree_with_product_counts(reader, synced):
    body = reader.get("/api/catalog/categories/").json()
    nodes = {node["key"]: node for node in body["results"]}

    assert set(nodes) == set(Category.objects.values_list("key", flat=True))
    for node in nodes.values():
        category = Category.objects.get(key=node["key"])
        assert node["parent"] == (category.parent.key if category.parent else None)
        assert node["names"] == category.names
        assert node["product_count"] == category.products.filter(is_active=True).count()
    for key, node in nodes.items():
        below = sum(n["product_count"] for k, n in nodes.items() if k.startswith(f"{key}/"))
        assert node["total_product_count"] == node["product_count"] + below
    assert (
        sum(n["product_count"] for n in nodes.values())
        == Product.objects.filter(is_active=True, category__isnull=False).count()
    )


@pytest.mark.django_db(transaction=True)
def test_a_product_is_read_in_one_snapshot(client):
    """Outside any caller's transaction the document's queries share one REPEATABLE READ
    snapshot: a sync committing between two of them cannot make it half old, half new."""
    from promidata_sync.services.api_keys import create_key

    supplier = Supplier.objects.create(code="A5")
    Product.objects.create(supplier=supplier, sku="A5-1", names={"en": "Pen"})
    key = create_key("shop", ["catalog:read"])[1]

    with CaptureQueriesContext(connection) as captured:
        response = client.get("/api/catalog/products/A5-1/", HTTP_AUTHORIZATION=f"Bearer {key}")

    assert response.status_code == 200 and response.json()["names"] == {"en": "Pen"}
    statements = [q["sql"] for q in captured.captured_queries]
    snapshot = next(i for i, sql in enumerate(statements) if "REPEATABLE READ" in sql)
    assert any('"catalog_product"' in sql for sql in statements[snapshot:])
