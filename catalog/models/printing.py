"""Print and decoration data: where a variant can be printed, how, and at what price.

A dealer's quote is the article's tier price plus, per piece, the print option's tier price,
plus the option's costs (setup and other costs, once per order or per piece). The feed gives
each child its ``ImprintPositions``; each position its options (inline, or referenced from
the family's ``ImprintReferences``); each option its ``ImprintCosts``. All of it is stored per
variant and replaced together with its family, in the family's transaction: deleting a
variant's positions cascades to options, costs and every tier, so nothing is left behind.
"""

from django.db import models

from catalog.models.products import Media, PriceBreak, Variant


class PrintPosition(models.Model):
    """A place on the article that can carry a print (``ImprintPositions[]``)."""

    variant = models.ForeignKey(Variant, on_delete=models.CASCADE, related_name="print_positions")
    order = models.PositiveIntegerField(help_text="Order within the child, from 0.")
    code = models.CharField(max_length=255, help_text="PositionCode")
    supplier_code = models.CharField(max_length=255, blank=True)
    names = models.JSONField(default=dict, blank=True)
    descriptions = models.JSONField(default=dict, blank=True)
    max_print_area = models.CharField(max_length=255, blank=True)
    max_width = models.DecimalField(max_digits=12, decimal_places=3, null=True, blank=True)
    max_height = models.DecimalField(max_digits=12, decimal_places=3, null=True, blank=True)
    info = models.JSONField(
        default=dict, blank=True, help_text="PositionInformation and UnstructuredInformation."
    )
    extra = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["variant_id", "order"]
        constraints = [
            models.UniqueConstraint(fields=["variant", "code"], name="print_position_code_uniq"),
            models.UniqueConstraint(fields=["variant", "order"], name="print_position_order_uniq"),
        ]

    def __str__(self) -> str:
        return self.code


class PrintPositionImage(models.Model):
    """A picture of where the print goes; its bytes are stored like variant images."""

    position = models.ForeignKey(PrintPosition, on_delete=models.CASCADE, related_name="images")
    order = models.PositiveIntegerField()
    url = models.URLField(max_length=2000)
    file_name = models.CharField(max_length=500, blank=True)
    media = models.ForeignKey(
        Media, null=True, blank=True, on_delete=models.SET_NULL, related_name="position_images"
    )

    class Meta:
        ordering = ["position_id", "order"]
        constraints = [
            models.UniqueConstraint(fields=["position", "url"], name="print_position_image_uniq")
        ]
        indexes = [models.Index(fields=["url"], name="print_position_image_url_idx")]

    def __str__(self) -> str:
        return self.url


class PrintOption(models.Model):
    """A print technique available on a position (``ImprintOptions[]``)."""

    position = models.ForeignKey(PrintPosition, on_delete=models.CASCADE, related_name="options")
    order = models.PositiveIntegerField()
    sku = models.CharField(max_length=255)
    supplier_sku = models.CharField(max_length=255, blank=True)
    print_code = models.CharField(max_length=255, blank=True, help_text="SupplierPrintCode")
    reference = models.CharField(
        max_length=128, blank=True, help_text="Its ImprintReferences key, when referenced."
    )
    names = models.JSONField(default=dict, blank=True)
    descriptions = models.JSONField(default=dict, blank=True)
    print_colors = models.PositiveIntegerField(null=True, blank=True, help_text="PrintColor")
    print_color_text = models.CharField(max_length=255, blank=True)
    dimension = models.CharField(max_length=255, blank=True, help_text='e.g. "40 x 20 mm"')
    width = models.DecimalField(max_digits=12, decimal_places=3, null=True, blank=True)
    height = models.DecimalField(max_digits=12, decimal_places=3, null=True, blank=True)
    depth = models.DecimalField(max_digits=12, decimal_places=3, null=True, blank=True)
    diameter = models.DecimalField(max_digits=12, decimal_places=3, null=True, blank=True)
    imprint_type = models.CharField(max_length=255, blank=True)
    active_regions = models.JSONField(
        default=dict, blank=True, help_text="IsActiveCountryBased: {country: bool}"
    )
    max_colors = models.PositiveIntegerField(null=True, blank=True)
    is_default = models.BooleanField(null=True, blank=True)
    max_size_cm2 = models.DecimalField(max_digits=12, decimal_places=3, null=True, blank=True)
    info = models.JSONField(default=dict, blank=True, help_text="UnstructuredInformation.")
    region_terms = models.JSONField(default=dict, blank=True)
    extra = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["position_id", "order"]
        constraints = [
            # Some suppliers give two options one SKU: the order within the position is the key.
            models.UniqueConstraint(fields=["position", "order"], name="print_option_order_uniq")
        ]

    def __str__(self) -> str:
        return self.sku


class PrintOptionTier(PriceBreak):
    """A per-piece price break of a print option, in one of its regions."""

    option = models.ForeignKey(PrintOption, on_delete=models.CASCADE, related_name="tiers")

    class Meta:
        ordering = ["option_id", "region", "kind", "min_quantity"]
        constraints = [
            models.UniqueConstraint(
                fields=["option", "region", "kind", "min_quantity"],
                name="print_option_tier_natural_uniq",
            )
        ]


class PrintCost(models.Model):
    """A cost of a print option (``ImprintCosts[]``): setup, film, handling...

    ``calculation_type`` "Unique" is charged once per order, "Multiplied" per piece; any
    other value is kept as sent for the quote to decide."""

    option = models.ForeignKey(PrintOption, on_delete=models.CASCADE, related_name="costs")
    order = models.PositiveIntegerField()
    sku = models.CharField(max_length=255, blank=True)
    supplier_sku = models.CharField(max_length=255, blank=True)
    names = models.JSONField(default=dict, blank=True)
    descriptions = models.JSONField(default=dict, blank=True)
    calculation_type = models.CharField(max_length=64, blank=True)
    calculation_amount = models.DecimalField(max_digits=14, decimal_places=4, null=True, blank=True)
    requirement = models.JSONField(null=True, blank=True, help_text="As sent, or null.")
    active_regions = models.JSONField(default=dict, blank=True)
    info = models.JSONField(default=dict, blank=True)
    region_terms = models.JSONField(default=dict, blank=True)
    extra = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["option_id", "order"]
        constraints = [
            models.UniqueConstraint(fields=["option", "order"], name="print_cost_order_uniq")
        ]

    def __str__(self) -> str:
        return self.sku or f"cost {self.order}"


class PrintCostTier(PriceBreak):
    """A price break of a print cost, in one of its regions."""

    cost = models.ForeignKey(PrintCost, on_delete=models.CASCADE, related_name="tiers")

    class Meta:
        ordering = ["cost_id", "region", "kind", "min_quantity"]
        constraints = [
            models.UniqueConstraint(
                fields=["cost", "region", "kind", "min_quantity"],
                name="print_cost_tier_natural_uniq",
            )
        ]
