"""The dealer's catalog as the Promidata feed describes it: suppliers, categories, products
(one per family file), variants (its ``ChildProducts``), their price tiers, stored images.

Rows are never deleted by a sync: what leaves the feed is deactivated and comes back to life
when it returns. Every natural key has a named unique constraint, so that the sync can upsert
and a job that runs twice changes nothing. Everything the feed says is kept: structured
columns for what shops filter and print on, ``extra`` JSON for the rest, every price region.
"""

from django.db import models
from django.db.models.functions import Upper


class Supplier(models.Model):
    """A supplier of the profile, identified by Promidata's A-number (the feed folder)."""

    code = models.CharField(max_length=32, help_text="Promidata A-number, e.g. A23.")
    name = models.CharField(max_length=255, blank=True)
    is_active = models.BooleanField(
        default=True, help_text="Inactive suppliers are skipped by syncs of all suppliers."
    )
    last_synced_at = models.DateTimeField(null=True, blank=True)
    last_sync_status = models.CharField(max_length=20, blank=True)
    last_sync_message = models.TextField(blank=True)
    # Entries of this supplier in the last completely read Import.txt: the baseline for the
    # mass-deactivation guard.
    last_entry_count = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["code"]
        constraints = [models.UniqueConstraint(fields=["code"], name="catalog_supplier_code_uniq")]

    def __str__(self) -> str:
        return f"{self.code} {self.name}".strip()


class Category(models.Model):
    """A Promidata category from CAT.csv; the hierarchy comes from the key path."""

    key = models.CharField(max_length=255, help_text="Upper-case path, e.g. BAGS/SHOPPING_BAGS.")
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    names = models.JSONField(default=dict, blank=True, help_text="{language: name}")
    icon = models.CharField(max_length=1000, blank=True)
    image = models.CharField(max_length=1000, blank=True)

    class Meta:
        ordering = ["key"]
        verbose_name_plural = "categories"
        constraints = [models.UniqueConstraint(fields=["key"], name="catalog_category_key_uniq")]

    def __str__(self) -> str:
        return self.key


class Product(models.Model):
    """One product family: one JSON file of the feed."""

    supplier = models.ForeignKey(Supplier, on_delete=models.PROTECT, related_name="products")
    sku = models.CharField(max_length=255, help_text="Family SKU: the root Sku / file name.")
    supplier_sku = models.CharField(max_length=255, blank=True)
    promidata_hash = models.CharField(
        max_length=128, blank=True, help_text="Import.txt hash of the imported file."
    )
    source_url = models.URLField(max_length=2000, blank=True)
    names = models.JSONField(default=dict, blank=True)
    descriptions = models.JSONField(default=dict, blank=True)
    category = models.ForeignKey(
        Category, null=True, blank=True, on_delete=models.SET_NULL, related_name="products"
    )
    brand = models.CharField(max_length=255, blank=True)
    short_descriptions = models.JSONField(default=dict, blank=True, help_text="{language: text}")
    meta = models.JSONField(
        default=dict, blank=True, help_text="{language: {name, description, keywords}}"
    )
    web_shop_information = models.JSONField(
        default=dict, blank=True, help_text="{language: {key: {label, value}}}"
    )
    secondary_categories = models.JSONField(default=list, blank=True)
    default_products = models.JSONField(
        default=dict, blank=True, help_text="{price region: default variant SKU}"
    )
    release_date = models.DateField(null=True, blank=True)
    videos = models.JSONField(default=list, blank=True, help_text="[{url, description, file_name}]")
    documents = models.JSONField(default=list, blank=True, help_text="InformationFiles as sent.")
    sample_prices = models.JSONField(
        default=dict, blank=True, help_text="SamplePriceCountryBased: {region: {tiers...}}."
    )
    certificates = models.JSONField(
        default=dict, blank=True, help_text="ProductCertificates and RequiredCertificates as sent."
    )
    forbidden_regions = models.JSONField(default=list, blank=True)
    extra = models.JSONField(
        default=dict, blank=True, help_text="Everything else the family file says, as sent."
    )
    is_active = models.BooleanField(default=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    # Complete Import.txt publications in a row that did not list this family; it is
    # deactivated at the second (one truncated or half-published index must not withdraw
    # anything). ``absent_index`` is the SHA-256 of the publication that counted the last
    # miss: reading the same publication again counts nothing.
    absent_count = models.PositiveSmallIntegerField(default=0)
    absent_index = models.CharField(max_length=64, blank=True)
    # The sum of the variants' StockLevel quantities, written by the stock stage.
    stock_total = models.IntegerField(null=True, blank=True)
    stock_read_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["supplier_id", "sku"]
        constraints = [
            models.UniqueConstraint(
                fields=["supplier", "sku"], name="catalog_product_supplier_sku_uniq"
            )
        ]
        indexes = [
            models.Index(fields=["sku"], name="catalog_product_sku_idx"),
            models.Index(fields=["supplier", "is_active"], name="catalog_product_sup_active_idx"),
            # The API's pages of one supplier, in id order.
            models.Index(fields=["supplier", "id"], name="catalog_product_sup_id_idx"),
        ]

    def __str__(self) -> str:
        return self.sku

    def display_name(self, languages=("en", "de", "nl", "fr")) -> str:
        """The name in the first available language of ``languages``, else any name."""
        for lang in languages:
            if self.names.get(lang):
                return self.names[lang]
        return next(iter(self.names.values()), "")


class Variant(models.Model):
    """One child of a family (``ChildProducts`` entry)."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="variants")
    # Unique per product only: a single-variant family's child may carry its parent's Sku.
    sku = models.CharField(max_length=255)
    supplier_sku = models.CharField(max_length=255, blank=True)
    ean = models.CharField(max_length=32, blank=True)
    names = models.JSONField(default=dict, blank=True)
    descriptions = models.JSONField(default=dict, blank=True, help_text="{language: html}")
    short_descriptions = models.JSONField(default=dict, blank=True)
    meta = models.JSONField(
        default=dict, blank=True, help_text="{language: {name, description, keywords}}"
    )
    web_shop_information = models.JSONField(
        default=dict, blank=True, help_text="{language: {key: {label, value}}}"
    )
    color = models.CharField(max_length=255, blank=True)
    size = models.CharField(max_length=255, blank=True)
    search_color = models.CharField(max_length=64, blank=True)
    attributes = models.JSONField(
        default=dict, blank=True, help_text="All configuration fields, by configuration name."
    )
    weight_g = models.DecimalField(max_digits=12, decimal_places=3, null=True, blank=True)
    length_mm = models.DecimalField(max_digits=12, decimal_places=3, null=True, blank=True)
    width_mm = models.DecimalField(max_digits=12, decimal_places=3, null=True, blank=True)
    height_mm = models.DecimalField(max_digits=12, decimal_places=3, null=True, blank=True)
    diameter_mm = models.DecimalField(max_digits=12, decimal_places=3, null=True, blank=True)
    depth_mm = models.DecimalField(max_digits=12, decimal_places=3, null=True, blank=True)
    country_of_origin = models.CharField(
        max_length=64, blank=True, help_text="ISO 3166 alpha-2; an unknown value as sent."
    )
    customs_tariff_number = models.CharField(max_length=32, blank=True)
    hex_color = models.CharField(max_length=7, blank=True, help_text="#RRGGBB")
    pms_color = models.CharField(max_length=64, blank=True)
    filters = models.JSONField(
        default=dict, blank=True, help_text="ProductFiltersByGroup: {name: value as sent}."
    )
    fragile = models.BooleanField(null=True, blank=True)
    usb_item = models.BooleanField(null=True, blank=True)
    delivery_days = models.PositiveIntegerField(null=True, blank=True)
    delivery_texts = models.JSONField(default=dict, blank=True, help_text="{language: text}")
    release_date = models.DateField(null=True, blank=True)
    videos = models.JSONField(default=list, blank=True, help_text="[{url, description, file_name}]")
    documents = models.JSONField(default=list, blank=True, help_text="InformationFiles as sent.")
    carton_length_cm = models.DecimalField(max_digits=12, decimal_places=3, null=True, blank=True)
    carton_width_cm = models.DecimalField(max_digits=12, decimal_places=3, null=True, blank=True)
    carton_height_cm = models.DecimalField(max_digits=12, decimal_places=3, null=True, blank=True)
    carton_weight_net_kg = models.DecimalField(
        max_digits=12, decimal_places=3, null=True, blank=True
    )
    carton_weight_gross_kg = models.DecimalField(
        max_digits=12, decimal_places=3, null=True, blank=True
    )
    carton_quantity = models.PositiveIntegerField(null=True, blank=True)
    item_box_length_cm = models.DecimalField(max_digits=12, decimal_places=3, null=True, blank=True)
    item_box_width_cm = models.DecimalField(max_digits=12, decimal_places=3, null=True, blank=True)
    item_box_height_cm = models.DecimalField(max_digits=12, decimal_places=3, null=True, blank=True)
    item_weight_with_accessories_kg = models.DecimalField(
        max_digits=12, decimal_places=3, null=True, blank=True
    )
    battery = models.JSONField(
        default=dict, blank=True, help_text="NeedBatteries, BatteryWeight, BatteryInformation."
    )
    # The preferred region (PROMIDATA_PRICE_REGIONS) and its terms, for lists and summaries;
    # every region's tiers are in PriceTier and every region's terms in region_terms.
    price_region = models.CharField(max_length=32, blank=True)
    minimum_order_quantity = models.PositiveIntegerField(null=True, blank=True)
    quantity_increment = models.PositiveIntegerField(null=True, blank=True)
    region_terms = models.JSONField(
        default=dict,
        blank=True,
        help_text="{region: {currency, minimum_order_quantity, quantity_increment, "
        "vat_percentage, vat_setting_id}}",
    )
    extra = models.JSONField(
        default=dict, blank=True, help_text="Everything else the child says, as sent."
    )
    position = models.PositiveIntegerField(default=0, help_text="Order within the family file.")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["product_id", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["product", "sku"], name="catalog_variant_product_sku_uniq"
            )
        ]
        indexes = [
            models.Index(fields=["sku"], name="catalog_variant_sku_idx"),
            # The API's q= finds a variant by its EAN or its SKU in any case.
            models.Index(fields=["ean"], name="catalog_variant_ean_idx"),
            models.Index(Upper("sku"), name="catalog_variant_upper_sku_idx"),
        ]

    def __str__(self) -> str:
        return self.sku


class PriceBreak(models.Model):
    """A price break of one region: from ``min_quantity`` pieces on, one piece (or, for a
    cost, one unit of its calculation) costs ``price`` in ``currency``.

    The same semantics for a variant's tiers, a print option's and a print cost's."""

    class Kind(models.TextChoices):
        SELL = "sell", "Recommended selling price"
        BUY = "buy", "General buying price"

    region = models.CharField(max_length=32)
    kind = models.CharField(max_length=4, choices=Kind.choices)
    min_quantity = models.PositiveIntegerField()
    price = models.DecimalField(max_digits=14, decimal_places=4)
    currency = models.CharField(max_length=3, help_text="ISO 4217 (the feed's EURO is EUR).")
    on_request = models.BooleanField(default=False)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.kind} {self.region} {self.min_quantity}+ {self.price} {self.currency}"


class PriceTier(PriceBreak):
    """A price break of a variant, in one of its regions."""

    Kind = PriceBreak.Kind
    variant = models.ForeignKey(Variant, on_delete=models.CASCADE, related_name="price_tiers")

    class Meta:
        ordering = ["variant_id", "region", "kind", "min_quantity"]
        constraints = [
            models.UniqueConstraint(
                fields=["variant", "region", "kind", "min_quantity"],
                name="catalog_pricetier_natural_uniq",
            )
        ]


def media_upload_to(instance: "Media", filename: str) -> str:
    """Content-addressed key: identical bytes always land on the same object."""
    return instance.storage_key()


class Media(models.Model):
    """One stored image, identified by the SHA-256 of its bytes."""

    sha256 = models.CharField(max_length=64)
    file = models.FileField(upload_to=media_upload_to, max_length=255)
    content_type = models.CharField(max_length=100)
    extension = models.CharField(max_length=10)
    size = models.PositiveBigIntegerField(help_text="Bytes.")
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    source_url = models.URLField(max_length=2000, help_text="Where the bytes were first found.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "media"
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["sha256"], name="catalog_media_sha256_uniq")]

    def __str__(self) -> str:
        return self.sha256[:12]

    def storage_key(self) -> str:
        return f"media/{self.sha256[:2]}/{self.sha256[2:4]}/{self.sha256}.{self.extension}"


class VariantMedia(models.Model):
    """A stored image shown for a variant; position 0 is the main image."""

    variant = models.ForeignKey(Variant, on_delete=models.CASCADE, related_name="media_links")
    media = models.ForeignKey(Media, on_delete=models.PROTECT, related_name="variant_links")
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["variant_id", "position"]
        verbose_name = "variant image"
        constraints = [
            models.UniqueConstraint(fields=["variant", "media"], name="catalog_variantmedia_uniq")
        ]

    def __str__(self) -> str:
        return f"{self.variant_id} #{self.position}: {self.media_id}"
