"""Exclusions and protected fields through a real direct sync: loopback feed, PostgreSQL."""

from __future__ import annotations

import pytest

from catalog.models import CatalogChange, Product, ProtectedField, RuleChange, Supplier, Variant
from promidata_sync.services.direct import sync_direct
from promidata_sync.services.exclusions import (
    ExcludedFamilies,
    ExclusionError,
    exclusion_add,
    exclusion_change,
    exclusion_remove,
    exclusion_rules,
    exclusions_check_skus,
)
from promidata_sync.services.protection import (
    ProtectionError,
    protect,
    set_local_value,
    unprotect,
)
from tests.feedpaths import family_path
from tests.rules.feed_edits import family_change

pytestmark = pytest.mark.django_db


def _run(report, code: str):
    return next(run for run in report.runs if run.supplier.code == code)


def _family_requests(server, sku: str) -> int:
    return sum(1 for r in server.requests if r.path == family_path(server, sku))


def test_rules_match_exact_skus_and_globs_case_insensitively():
    supplier = Supplier.objects.create(code="A100")
    exclusion_add(supplier, "A100-F00001", user="ops")
    exclusion_add(supplier, "a100-f1*", note="seasonal", user="ops")
    exclusion_add(supplier, "A100-X?", user="ops")
    rules = exclusion_rules(supplier)

    assert rules.is_excluded("a100-f00001")
    assert not rules.is_excluded("A100-F00002")
    assert rules.is_excluded("A100-F1234") and rules.is_excluded("A100-f1")
    assert rules.is_excluded("A100-X9") and not rules.is_excluded("A100-X99")
    assert rules.rule_for("A100-F1234") == "a100-f1*"
    assert not exclusion_rules(Supplier.objects.create(code="A101")).is_excluded("A100-F00001")


def test_bad_patterns_are_refused_with_a_reason():
    supplier = Supplier.objects.create(code="A100")
    exclusion_add(supplier, "A100-F1*", user="ops")
    with pytest.raises(ExclusionError, match="already excludes"):
        exclusion_add(supplier, "a100-f1*", user="ops")
    with pytest.raises(ExclusionError, match="needs a SKU"):
        exclusion_add(supplier, "  ", user="ops")
    with pytest.raises(ExclusionError, match="no spaces"):
        exclusion_add(supplier, "A100 F1", user="ops")
    assert RuleChange.objects.count() == 1


def test_excluded_family_is_not_fetched_is_deactivated_and_comes_back(feed_server, sync_config):
    assert sync_direct(config=sync_config).ok
    supplier = Supplier.objects.get(code="A100")
    rule = exclusion_add(supplier, "A100-F0000[12]", note="not ours", user="alice")
    feed_server.reset_counts()

    report = sync_direct(config=sync_config, refetch_all=True)

    run = _run(report, "A100")
    assert _family_requests(feed_server, "A100-F00001") == 0
    assert _family_requests(feed_server, "A100-F00002") == 0
    assert _family_requests(feed_server, "A100-F00003") == 1  # the others are still synced
    assert (run.families_updated, run.families_deactivated) == (4, 2)
    assert "2 families excluded by rules, not imported (A100-F00001, A100-F00002)" in run.message
    excluded = Product.objects.get(sku="A100-F00001")
    assert excluded.is_active is False and excluded.variants.count() == 2  # never deleted
    assert CatalogChange.objects.filter(
        product=excluded, kind=CatalogChange.Kind.DEACTIVATED, run_id=run.pk
    ).exists()

    exclusion_remove(rule, user="alice")
    feed_server.reset_counts()
    again = _run(sync_direct(config=sync_config), "A100")

    assert Product.objects.get(sku="A100-F00001").is_active
    assert again.families_reactivated == 2
    assert _family_requests(feed_server, "A100-F00001") == 0  # unchanged: back without a fetch
    assert CatalogChange.objects.filter(
        product=excluded, kind=CatalogChange.Kind.REACTIVATED, run_id=again.pk
    ).exists()


def test_excluded_family_changed_meanwhile_is_fetched_when_allowed_again(
    feed, feed_server, sync_config
):
    assert sync_direct(config=sync_config).ok
    rule = exclusion_add(Supplier.objects.get(code="A100"), "A100-F00003", user="alice")
    assert sync_direct(config=sync_config).ok
    family_change(feed, feed_server, "A100-F00003", brand="Newbrand", name_en="New name")
    assert _run(sync_direct(config=sync_config), "A100").families_updated == 0  # still excluded
    assert Product.objects.get(sku="A100-F00003").brand != "Newbrand"

    exclusion_remove(rule, user="alice")
    run = _run(sync_direct(config=sync_config), "A100")

    product = Product.objects.get(sku="A100-F00003")
    assert (product.is_active, product.brand, product.names["en"]) == (True, "Newbrand", "New name")
    assert run.families_updated == 1


def test_a_new_family_excluded_before_its_first_import_is_never_created(feed_server, sync_config):
    supplier = Supplier.objects.create(code="A101")
    exclusion_add(supplier, "A101-*", user="alice")

    report = sync_direct(config=sync_config)

    run = _run(report, "A101")
    assert not Product.objects.filter(supplier=supplier).exists()
    assert (run.families_new, run.families_total, run.entries) == (0, 0, 6)
    assert _family_requests(feed_server, "A101-F00001") == 0
    assert Product.objects.filter(supplier__code="A100").count() == 6


def test_a_manual_reimport_of_an_excluded_sku_is_refused_clearly():
    supplier = Supplier.objects.create(code="A100")
    exclusion_add(supplier, "A100-F1*", user="ops")
    exclusions_check_skus(supplier, ["A100-F00001"])  # allowed: no error
    with pytest.raises(ExcludedFamilies) as refused:
        exclusions_check_skus(supplier, ["A100-F00001", "A100-F123"])
    assert str(refused.value) == (
        "refused to re-import A100-F123 (rule 'A100-F1*'): excluded from A100's syncs; "
        "remove the exclusion first"
    )


def test_exclusion_changes_are_recorded_with_who_and_what():
    supplier = Supplier.objects.create(code="A100")
    rule = exclusion_add(supplier, "A100-F1*", note="a", user="alice")
    exclusion_change(rule, pattern="A100-F2*", note="b", user="bob")
    exclusion_remove(rule, user="carol")

    trail = list(RuleChange.objects.order_by("id").values_list("user", "action", "subject"))
    assert trail == [
        ("alice", "added", "A100: A100-F1*"),
        ("bob", "changed", "A100: A100-F2*"),
        ("carol", "removed", "A100: A100-F2*"),
    ]
    changed = RuleChange.objects.get(action="changed")
    assert changed.detail == {
        "before": {"pattern": "A100-F1*", "note": "a"},
        "after": {"pattern": "A100-F2*", "note": "b"},
    }
    assert rule.supplier.rule_changes.count() == 3


def test_a_protected_field_survives_a_changed_family(feed, feed_server, sync_config):
    assert sync_direct(config=sync_config).ok
    product = Product.objects.get(sku="A100-F00001")
    feed_brand = product.brand
    protect(product, "brand", user="alice", value="House brand")
    names = protect(product, "names", user="alice")
    set_local_value(names, {**product.names, "en": "Our mug"}, user="bob")
    family_change(feed, feed_server, "A100-F00001", brand="Otherbrand", name_en="Feed's new name")

    run = _run(sync_direct(config=sync_config), "A100")

    assert run.families_updated == 1
    product.refresh_from_db()
    assert product.brand == "House brand"
    assert product.names["en"] == "Our mug"
    brand_rule = ProtectedField.objects.get(product=product, field="brand")
    assert brand_rule.feed_value == "Otherbrand" and brand_rule.feed_value != feed_brand
    assert ProtectedField.objects.get(product=product, field="names").feed_value["en"] == (
        "Feed's new name"
    )
    # The rest of the family follows the feed.
    assert Variant.objects.filter(product=product, is_active=True).count() == 2

    unprotect(brand_rule, user="carol")
    unprotect(ProtectedField.objects.get(product=product, field="names"), user="carol")

    product.refresh_from_db()
    assert (product.brand, product.names["en"]) == ("Otherbrand", "Feed's new name")
    assert not ProtectedField.objects.filter(product=product).exists()
    updates = CatalogChange.objects.filter(product=product, kind=CatalogChange.Kind.UPDATED)
    assert updates.filter(run_id__isnull=True).count() == 5  # each operator write is in the feed
    trail = list(RuleChange.objects.order_by("id").values_list("user", "action", "subject"))
    assert trail == [
        ("alice", "added", "A100-F00001 brand"),
        ("alice", "added", "A100-F00001 names"),
        ("bob", "changed", "A100-F00001 names"),
        ("carol", "removed", "A100-F00001 brand"),
        ("carol", "removed", "A100-F00001 names"),
    ]
    assert RuleChange.objects.filter(action="added", subject__endswith="brand").get().detail == {
        "feed": feed_brand,
        "after": "House brand",
    }


def test_protected_variant_fields_and_category_keep_their_local_value(
    feed, feed_server, sync_config
):
    assert sync_direct(config=sync_config).ok
    variant = Variant.objects.get(sku="A100-F00002-01")
    feed_colour = variant.color
    protect(variant, "color", user="alice", value="Sunset orange")
    product = variant.product
    other = Product.objects.exclude(category=product.category).exclude(category=None).first()
    assert other is not None
    protect(product, "category", user="alice", value=other.category.key)
    family_change(feed, feed_server, "A100-F00002", brand="Otherbrand", name_en="x")

    assert sync_direct(config=sync_config).ok

    variant.refresh_from_db()
    product.refresh_from_db()
    assert variant.color == "Sunset orange"
    assert ProtectedField.objects.get(variant=variant).feed_value == feed_colour
    assert product.category_id == other.category_id
    assert product.brand == "Otherbrand"  # not protected: the feed's


def test_protection_validates_fields_and_values(feed_server, sync_config):
    assert sync_direct(config=sync_config).ok
    product = Product.objects.get(sku="A100-F00001")
    variant = product.variants.first()
    with pytest.raises(ProtectionError, match="cannot be protected on a product"):
        protect(product, "extra", user="a")
    with pytest.raises(ProtectionError, match="cannot be protected on a variant"):
        protect(variant, "brand", user="a")
    with pytest.raises(ProtectionError, match=r"names must be \{language: text\}"):
        protect(product, "names", user="a", value="just text")
    with pytest.raises(ProtectionError, match="at most 255 characters"):
        protect(product, "brand", user="a", value="x" * 256)
    with pytest.raises(ProtectionError, match="no such category"):
        protect(product, "category", user="a", value="NOPE/NOTHING")
    assert not ProtectedField.objects.exists() and not RuleChange.objects.exists()
