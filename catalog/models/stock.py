"""Stock levels, read by the stock stage from the stock service (not from Import.txt)."""

from __future__ import annotations

from django.db import models

from catalog.models.products import Variant


class StockLevel(models.Model):
    """What the stock service last said about one variant (its SKU), and when.

    ``quantity`` is the service's ``OnStock``; ``etag`` / ``last_modified`` make the next
    read a conditional request. A failed read keeps the last good quantity and says why in
    ``error``. The family's total is on ``Product.stock_total``.
    """

    variant = models.OneToOneField(
        Variant, primary_key=True, on_delete=models.CASCADE, related_name="stock"
    )
    quantity = models.IntegerField(null=True, blank=True, help_text="OnStock, as last read.")
    read_at = models.DateTimeField(
        null=True, blank=True, help_text="When the quantity was last confirmed (200 or 304)."
    )
    changed_at = models.DateTimeField(null=True, blank=True, help_text="When it last changed.")
    etag = models.CharField(max_length=255, blank=True)
    last_modified = models.CharField(max_length=64, blank=True)
    error = models.TextField(blank=True, help_text="Why the last read failed, if it did.")
    error_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["variant_id"]

    def __str__(self) -> str:
        return f"{self.variant_id}: {self.quantity}"
