"""Operators' rules over what the feed writes: families never imported (``SupplierExclusion``),
fields whose local value wins over the feed's (``ProtectedField``), and the record of every
change to either (``RuleChange``: who, when, what)."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from catalog.models.products import Product, Supplier, Variant


class SupplierExclusion(models.Model):
    """A family SKU, or a pattern of them, that a supplier's syncs never import.

    ``pattern`` is an exact SKU or a glob (``*`` any run of characters, ``?`` one), matched
    case-insensitively against the family SKU. An excluded family already in the catalog
    is deactivated by the next sync (never deleted), and reactivated once no rule excludes it.
    """

    supplier = models.ForeignKey(Supplier, on_delete=models.CASCADE, related_name="exclusions")
    pattern = models.CharField(
        max_length=255, help_text="A family SKU, or a pattern such as A100-F1* (* and ? match)."
    )
    note = models.CharField(max_length=255, blank=True, help_text="Why (for the next operator).")
    created_by = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["supplier_id", "pattern"]
        constraints = [
            models.UniqueConstraint(
                fields=["supplier", "pattern"], name="catalog_exclusion_supplier_pattern_uniq"
            )
        ]

    def __str__(self) -> str:
        return f"{self.supplier_id}: {self.pattern}"


class ProtectedField(models.Model):
    """One field of one product or variant whose local value the sync keeps.

    ``local_value`` is what the catalog shows and the sync writes back; ``feed_value`` is
    what the feed last said (kept by every sync, for comparison and for un-protecting:
    removing the rule puts the feed's value back). Values are the field's JSON form (a
    category is its key).
    """

    PRODUCT_FIELDS = ("names", "descriptions", "short_descriptions", "brand", "category", "meta")
    VARIANT_FIELDS = ("names", "descriptions", "short_descriptions", "color", "size")

    product = models.ForeignKey(
        Product, null=True, blank=True, on_delete=models.CASCADE, related_name="protected_fields"
    )
    variant = models.ForeignKey(
        Variant, null=True, blank=True, on_delete=models.CASCADE, related_name="protected_fields"
    )
    field = models.CharField(max_length=64)
    local_value = models.JSONField(null=True, blank=True)
    feed_value = models.JSONField(null=True, blank=True)
    feed_seen_at = models.DateTimeField(
        null=True, blank=True, help_text="When a sync last recorded the feed's value."
    )
    created_by = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_by = models.CharField(max_length=150, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["product_id", "variant_id", "field"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(product__isnull=False) & Q(variant__isnull=True))
                | (Q(product__isnull=True) & Q(variant__isnull=False)),
                name="catalog_protected_field_one_target",
            ),
            models.UniqueConstraint(
                fields=["product", "field"],
                condition=Q(product__isnull=False),
                name="catalog_protected_field_product_uniq",
            ),
            models.UniqueConstraint(
                fields=["variant", "field"],
                condition=Q(variant__isnull=False),
                name="catalog_protected_field_variant_uniq",
            ),
        ]

    def __str__(self) -> str:
        target = f"product {self.product_id}" if self.product_id else f"variant {self.variant_id}"
        return f"{target}.{self.field}"


class RuleChange(models.Model):
    """The audit trail of the operators' rules: one row per added, changed or removed
    exclusion or protected field, with who and when (kept when the rule itself is gone)."""

    class Rule(models.TextChoices):
        EXCLUSION = "exclusion", "Exclusion"
        PROTECTION = "protection", "Protected field"

    class Action(models.TextChoices):
        ADDED = "added", "Added"
        CHANGED = "changed", "Changed"
        REMOVED = "removed", "Removed"

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    user = models.CharField(max_length=150, blank=True)
    rule = models.CharField(max_length=12, choices=Rule.choices)
    action = models.CharField(max_length=8, choices=Action.choices)
    supplier = models.ForeignKey(
        Supplier, null=True, blank=True, on_delete=models.SET_NULL, related_name="rule_changes"
    )
    subject = models.CharField(max_length=500, help_text="e.g. 'A100-F1*' or 'A100-F1 brand'.")
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.user or '?'} {self.action} {self.subject}"
