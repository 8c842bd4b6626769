"""Protected fields: a product's or variant's field whose local value wins over the feed's.

A rule (``catalog.ProtectedField``) holds ``local_value`` (what the catalog shows, and what
every sync writes into the column) and ``feed_value`` (what the feed said last, recorded by
every sync: for comparison, and put back when the rule goes). Values are the field's JSON
form; a category is its key (None: no category).

``protect``, ``set_local_value`` and ``unprotect`` are the operators' writes: each writes the
column and the rule, a ``RuleChange`` (who, when, before/after) and a change-feed entry
(kind "updated", so API readers fetch the product again), in one transaction.
``family_protection`` and ``family_protection_apply`` are the sync's side, called by
``families.family_write`` inside its transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from catalog.models import (
    CatalogChange,
    Category,
    Product,
    ProtectedField,
    RuleChange,
    Variant,
)
from promidata_sync.services.changes import changes_record
from promidata_sync.services.rule_users import username

# {language: text} fields; ``meta`` is {language: {name, description, keywords}}.
TEXT_BY_LANGUAGE = frozenset({"names", "descriptions", "short_descriptions"})
LANGUAGE_MAX_CHARS = 16
TEXT_MAX_CHARS = 1_000_000  # a description's HTML: bounded only against abuse


class ProtectionError(ValueError):
    """A field that cannot be protected, or a value its column cannot hold."""


def allowed_fields(target: Product | Variant) -> tuple[str, ...]:
    return (
        ProtectedField.PRODUCT_FIELDS
        if isinstance(target, Product)
        else ProtectedField.VARIANT_FIELDS
    )


def field_check(target: Product | Variant, name: str) -> None:
    """Raise ``ProtectionError`` unless ``name`` may be protected on ``target``."""
    if name not in allowed_fields(target):
        kind = "product" if isinstance(target, Product) else "variant"
        allowed = ", ".join(allowed_fields(target))
        raise ProtectionError(f"{name!r} cannot be protected on a {kind}; allowed: {allowed}")


def current_value(target: Product | Variant, name: str) -> Any:
    """The column's value in its rule form (a category is its key, None for none)."""
    if name == "category":
        category_id = target.category_id  # type: ignore[union-attr]
        if category_id is None:
            return None
        return Category.objects.filter(pk=category_id).values_list("key", flat=True).first()
    return getattr(target, name)


def value_clean(target: Product | Variant, name: str, value: Any) -> Any:
    """``value`` checked against ``name``'s column; raises ``ProtectionError`` saying why."""
    field_check(target, name)
    if name in TEXT_BY_LANGUAGE:
        return _texts_clean(name, value)
    if name == "meta":
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise ProtectionError("meta must be {language: {name, description, keywords}}")
        return {
            _language(name, lang): _texts_clean(f"meta {lang}", texts, languages=False)
            for lang, texts in value.items()
        }
    if name == "category":
        if value in (None, ""):
            return None
        if not isinstance(value, str) or not Category.objects.filter(key=value).exists():
            raise ProtectionError(f"category {value!r}: no such category key")
        return value
    # brand, color, size: CharFields
    if value is None:
        return ""
    if not isinstance(value, str) or "\x00" in value:
        raise ProtectionError(f"{name} must be text")
    limit = getattr(type(target)._meta.get_field(name), "max_length", None) or 255
    if len(value) > limit:
        raise ProtectionError(f"{name} has at most {limit} characters ({len(value)} given)")
    return value


def _texts_clean(name: str, value: Any, *, languages: bool = True) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ProtectionError(f'{name} must be {{language: text}}, e.g. {{"en": "..."}}')
    cleaned = {}
    for key, text in value.items():
        if not isinstance(text, str) or "\x00" in text or len(text) > TEXT_MAX_CHARS:
            raise ProtectionError(f"{name} [{key}] must be text")
        cleaned[_language(name, key) if languages else str(key)] = text
    return cleaned


def _language(name: str, key: Any) -> str:
    if not isinstance(key, str) or not key or len(key) > LANGUAGE_MAX_CHARS:
        raise ProtectionError(f"{name}: {key!r} is not a language code")
    return key


def protect(
    target: Product | Variant, name: str, *, user=None, value: Any = None
) -> ProtectedField:
    """Protect ``name`` of ``target``: the local value is ``value`` (None: the current one),
    the feed value the current one. Protecting a field already protected sets its local
    value (with ``value``) or changes nothing. Raises ``ProtectionError``."""
    field_check(target, name)
    existing = _rules_of(target).filter(field=name).first()
    if existing is not None:
        return existing if value is None else set_local_value(existing, value, user=user)
    now = timezone.now()
    with transaction.atomic():
        row = _locked(target)
        feed = current_value(row, name)
        local = value_clean(row, name, feed if value is None else value)
        target_kw: dict[str, Product | Variant] = (
            {"product": row} if isinstance(row, Product) else {"variant": row}
        )
        rule = ProtectedField.objects.create(
            **target_kw,
            field=name,
            local_value=local,
            feed_value=feed,
            feed_seen_at=now,
            created_by=username(user),
            updated_by=username(user),
        )
        _column_write(row, name, local, now)
        _audit(rule, row, RuleChange.Action.ADDED, user, {"feed": feed, "after": local})
        changes_record([_product_id(row)], CatalogChange.Kind.UPDATED)
    return rule


def set_local_value(rule: ProtectedField, value: Any, *, user=None) -> ProtectedField:
    """Set the rule's local value and write it into the column. Raises ``ProtectionError``."""
    now = timezone.now()
    with transaction.atomic():
        rule = ProtectedField.objects.select_for_update().get(pk=rule.pk)
        row = _locked(_target(rule))
        local = value_clean(row, rule.field, value)
        before = rule.local_value
        if local == before:
            return rule
        rule.local_value, rule.updated_by = local, username(user)
        rule.save(update_fields=["local_value", "updated_by", "updated_at"])
        _column_write(row, rule.field, local, now)
        _audit(rule, row, RuleChange.Action.CHANGED, user, {"before": before, "after": local})
        changes_record([_product_id(row)], CatalogChange.Kind.UPDATED)
    return rule


def unprotect(rule: ProtectedField, *, user=None) -> None:
    """Remove the rule and put the feed's value back into the column (a feed value the
    catalog cannot hold any more, such as a deleted category, becomes empty). Removing a rule
    already gone does nothing."""
    now = timezone.now()
    with transaction.atomic():
        found = ProtectedField.objects.select_for_update().filter(pk=rule.pk).first()
        if found is None:
            return
        rule = found
        row = _locked(_target(rule))
        try:
            restored = value_clean(row, rule.field, rule.feed_value)
        except ProtectionError:
            restored = value_clean(row, rule.field, None)
        _column_write(row, rule.field, restored, now)
        detail = {"before": rule.local_value, "after": restored}
        _audit(rule, row, RuleChange.Action.REMOVED, user, detail)
        rule.delete()
        changes_record([_product_id(row)], CatalogChange.Kind.UPDATED)


# ----------------------------------------------------------------------------- the sync's side


@dataclass
class FamilyProtection:
    """The rules of one family: the product's by field, the variants' by SKU and field."""

    product: dict[str, ProtectedField] = field(default_factory=dict)
    variants: dict[str, dict[str, ProtectedField]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.product or self.variants)

    def category_key(self, feed_key: str) -> str:
        rule = self.product.get("category")
        return feed_key if rule is None else (rule.local_value or "")


NO_PROTECTION = FamilyProtection()


def family_protection(product_id: int | None) -> FamilyProtection:
    """Every rule of the family (one query; none for a family not stored yet)."""
    if product_id is None:
        return NO_PROTECTION
    found = FamilyProtection()
    rules = ProtectedField.objects.filter(
        Q(product_id=product_id) | Q(variant__product_id=product_id)
    ).select_related("variant")
    for rule in rules:
        if rule.product_id is not None:
            found.product[rule.field] = rule
        elif rule.variant is not None:
            found.variants.setdefault(rule.variant.sku, {})[rule.field] = rule
    return found


def family_protection_apply(
    protection: FamilyProtection,
    *,
    product: Product | None = None,
    variants: list[Variant] = (),  # type: ignore[assignment]
    feed_category_key: str = "",
    now,
) -> None:
    """Before the upsert of ``product`` or of ``variants`` (rows built from the feed): record
    the feed's values on their rules (``feed_value``, one bulk update) and put the local
    values into the rows. A product's ``category_id`` is already the local category's id
    (``FamilyProtection.category_key`` chose it); ``feed_category_key`` is the feed's."""
    touched: list[ProtectedField] = []
    for name, rule in (protection.product if product is not None else {}).items():
        feed = (feed_category_key or None) if name == "category" else getattr(product, name)
        _feed_seen(rule, feed, now, touched)
        if name != "category":
            setattr(product, name, rule.local_value if rule.local_value is not None else feed)
    for variant in variants:
        for name, rule in protection.variants.get(variant.sku, {}).items():
            feed = getattr(variant, name)
            _feed_seen(rule, feed, now, touched)
            setattr(variant, name, rule.local_value if rule.local_value is not None else feed)
    if touched:
        ProtectedField.objects.bulk_update(touched, ["feed_value", "feed_seen_at"])


def _feed_seen(rule: ProtectedField, feed: Any, now, touched: list[ProtectedField]) -> None:
    rule.feed_value, rule.feed_seen_at = feed, now
    touched.append(rule)


# ----------------------------------------------------------------------------- helpers


def _rules_of(target: Product | Variant):
    if isinstance(target, Product):
        return ProtectedField.objects.filter(product_id=target.pk)
    return ProtectedField.objects.filter(variant_id=target.pk)


def _target(rule: ProtectedField) -> Product | Variant:
    if rule.product_id is not None:
        return Product(pk=rule.product_id)
    return Variant(pk=rule.variant_id)


def _locked(target: Product | Variant) -> Product | Variant:
    """The target's row, locked till commit (a sync writing the family waits, then keeps the
    new local value)."""
    model = type(target)
    return model.objects.select_for_update().get(pk=target.pk)


def _column_write(row: Product | Variant, name: str, value: Any, now) -> None:
    if name == "category":
        category_id = (
            Category.objects.filter(key=value).values_list("pk", flat=True).first()
            if value
            else None
        )
        type(row).objects.filter(pk=row.pk).update(category_id=category_id, updated_at=now)
    else:
        type(row).objects.filter(pk=row.pk).update(**{name: value, "updated_at": now})


def _product_id(row: Product | Variant) -> int:
    return row.pk if isinstance(row, Product) else row.product_id


def _audit(rule: ProtectedField, row: Product | Variant, action: str, user, detail: dict) -> None:
    supplier_id: int | None
    if isinstance(row, Product):
        sku, supplier_id = row.sku, row.supplier_id
    else:
        sku = row.sku
        products = Product.objects.filter(pk=row.product_id)
        supplier_id = products.values_list("supplier_id", flat=True).first()
    RuleChange.objects.create(
        user=username(user),
        rule=RuleChange.Rule.PROTECTION,
        action=action,
        supplier_id=supplier_id,
        subject=f"{sku} {rule.field}"[:500],
        detail=detail,
    )
