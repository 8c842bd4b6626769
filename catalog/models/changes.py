"""The change feed: every product created, updated, deactivated or reactivated, in the order
the changes committed.

``seq`` is the feed's cursor. It is drawn from ``ChangeCounter``'s single row, inside the
transaction that makes the change and as its last step: the row stays locked until that
transaction commits, so a later ``seq`` never becomes visible before an earlier one. A
reader that saw every change up to ``seq`` N has nothing left to miss below N.
(Timestamps and plain sequences are not enough: two transactions can commit in the opposite
order from the one their values were drawn in.) ``services.changes`` writes both.
"""

from __future__ import annotations

from django.db import models

from catalog.models.products import Product


class CatalogChange(models.Model):
    class Kind(models.TextChoices):
        CREATED = "created", "Created"
        UPDATED = "updated", "Updated"
        DEACTIVATED = "deactivated", "Deactivated"
        REACTIVATED = "reactivated", "Reactivated"

    seq = models.BigIntegerField(unique=True)
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="changes")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    # The SyncRun that made the change (promidata_sync's table: no FK from the catalog).
    run_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    at = models.DateTimeField()

    class Meta:
        ordering = ["seq"]

    def __str__(self) -> str:
        return f"#{self.seq} {self.kind} {self.product_id}"


class ChangeCounter(models.Model):
    """The one row whose ``value`` is the last ``CatalogChange.seq`` handed out."""

    value = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"last change #{self.value}"
