"""Categories, products and variants: read-only, searchable, one page at constant cost."""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.db.models import Prefetch, prefetch_related_objects
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from catalog.admin.common import BR, ReadOnlyAdmin, counts_by, muted, thumbnail
from catalog.admin.printing import PRINT_DETAILS, print_table, region_table
from catalog.admin.quote_calculator import QuoteCalculatorMixin
from catalog.admin.rules import (
    ProductProtectedFieldInline,
    ProtectedFieldsAdminMixin,
    VariantProtectedFieldInline,
)
from catalog.models import Category, PriceTier, Product, StockLevel, Variant, VariantMedia
from promidata_sync.admin.actions import reimport_products
from promidata_sync.admin.family_files import download_url
from promidata_sync.admin.permissions import OperateSyncAdminMixin
from promidata_sync.models import FamilyFile
from promidata_sync.redaction import mask_url

THUMBS_PER_VARIANT = 8
# What a variant's prices and images need, in two queries for any number of variants.
VARIANT_DETAILS = (
    "price_tiers",
    Prefetch("media_links", queryset=VariantMedia.objects.select_related("media")),
)


def first_name(names: dict) -> str:
    for language in settings.PROMIDATA_LANGUAGES:
        if names.get(language):
            return names[language]
    return next(iter(names.values()), "")


def price_lines(variant: Variant) -> str:
    """Price tiers of a prefetched variant, one line per region and kind."""
    groups: dict[tuple[str, str], list[PriceTier]] = {}
    for tier in variant.price_tiers.all():
        groups.setdefault((tier.region, tier.kind), []).append(tier)
    if not groups:
        return muted("no prices")
    return format_html_join(
        BR,
        "{} {}: {}",
        (
            (
                region,
                kind,
                ", ".join(
                    "on request"
                    if t.on_request
                    else f"{t.min_quantity}+ {t.price.normalize():f} {t.currency}"
                    for t in tiers
                ),
            )
            for (region, kind), tiers in groups.items()
        ),
    )


def stock_line(level: StockLevel | None) -> str:
    """A variant's stock as the admin shows it: quantity and when read, and the last
    read's problem if it failed (the quantity shown is then the last good one)."""
    if level is None or (level.quantity is None and not level.error):
        return muted("not read")
    parts = [
        format_html(
            '{} <span class="pd-muted">read {}</span>',
            "?" if level.quantity is None else f"{level.quantity:,}",
            f"{level.read_at:%Y-%m-%d %H:%M}" if level.read_at else "never",
        )
    ]
    if level.error:
        parts.append(format_html("<span class='pd-error'>{}</span>", level.error))
    return format_html_join(BR, "{}", ((p,) for p in parts))


def variant_thumbnails(variant: Variant) -> str:
    """Thumbnails of a prefetched variant's images, main image first."""
    links = sorted(variant.media_links.all(), key=lambda link: link.position)
    if not links:
        return muted("no images")
    thumbs = format_html_join(
        "", "{}", ((thumbnail(link.media.file.name),) for link in links[:THUMBS_PER_VARIANT])
    )
    more = len(links) - THUMBS_PER_VARIANT
    extra = format_html(' <span class="pd-muted">+{}</span>', more) if more > 0 else ""
    return format_html('<div class="pd-thumbs">{}{}</div>', thumbs, extra)


@admin.register(Category)
class CategoryAdmin(ReadOnlyAdmin):
    list_display = ("key", "name", "parent", "products")
    list_select_related = ("parent",)
    search_fields = ("key", "names")
    fields = ("key", "names", "parent", "icon", "image", "products")

    def annotate_page(self, categories):
        counts = counts_by(Product.objects, "category", [c.pk for c in categories])
        for category in categories:
            category.product_count = counts.get(category.pk, 0)

    @admin.display(description="Name")
    def name(self, category):
        return first_name(category.names)

    @admin.display(description="Products")
    def products(self, category):
        if not hasattr(category, "product_count"):
            self.annotate_page([category])
        return f"{category.product_count:,}"


class VariantInline(admin.TabularInline):
    model = Variant
    fields = ("sku", "color", "size", "ean", "is_active", "stock_level", "prices", "images")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return (
            super().get_queryset(request).select_related("stock").prefetch_related(*VARIANT_DETAILS)
        )

    @admin.display(description="Stock")
    def stock_level(self, variant):  # not "stock": the admin would show the relation's str
        return stock_line(getattr(variant, "stock", None))

    @admin.display(description="Prices")
    def prices(self, variant):
        return price_lines(variant)

    @admin.display(description="Images")
    def images(self, variant):
        return variant_thumbnails(variant)


@admin.register(Product)
class ProductAdmin(OperateSyncAdminMixin, ProtectedFieldsAdminMixin, ReadOnlyAdmin):
    actions = [reimport_products]
    list_display = (
        "image",
        "sku",
        "name",
        "supplier_code",
        "category",
        "variants",
        "is_active",
        "updated_at",
    )
    list_display_links = ("sku",)
    list_select_related = ("supplier", "category")
    list_filter = ("is_active", "supplier", "category")
    # "names" matches the name in any language (JSON text, case-insensitive).
    search_fields = ("sku", "supplier_sku", "names")
    list_per_page = 50
    show_full_result_count = False
    inlines = [ProductProtectedFieldInline, VariantInline]
    fields = (
        "supplier",
        "sku",
        "supplier_sku",
        "name_list",
        "category",
        "brand",
        "descriptions",
        "short_descriptions",
        "meta",
        "web_shop_information",
        ("release_date", "secondary_categories", "default_products"),
        ("videos", "documents"),
        ("sample_prices", "certificates", "forbidden_regions"),
        "extra",
        "is_active",
        "stock_summary",
        "last_seen_at",
        "promidata_hash",
        "source",
        "feed_files",
        "created_at",
        "updated_at",
    )

    @admin.display(description="Stock (family total)")
    def stock_summary(self, product):
        if product.stock_read_at is None:
            return muted("not read yet (manage.py promidata_stock)")
        total = "no quantity" if product.stock_total is None else f"{product.stock_total:,}"
        return f"{total}, read {product.stock_read_at:%Y-%m-%d %H:%M}"

    @admin.display(description="Feed files")
    def feed_files(self, product):
        """The kept versions of the family file, newest first, each downloadable; one that
        could not be used says why."""
        versions = (
            FamilyFile.objects.filter(supplier_id=product.supplier_id, family_sku=product.sku)
            .order_by("-fetched_at", "-pk")
            .defer("content")
        )
        rows = [
            (
                download_url(kept),
                kept.hash[:12],
                "current" if kept.hash == product.promidata_hash else "kept",
                f"{kept.size:,}",
                f"{kept.stored_size:,}",
                kept.fetched_at.strftime("%Y-%m-%d %H:%M"),
                kept.error or "",
            )
            for kept in versions
        ]
        if not rows:
            return muted("no kept file (synced before files were kept)")
        return format_html(
            '<table class="pd-files"><thead><tr><th>Version</th><th></th><th>Bytes</th>'
            "<th>Stored</th><th>Fetched</th><th>Problem</th></tr></thead><tbody>{}</tbody></table>",
            format_html_join(
                "",
                '<tr><td><a href="{}" download>{}</a></td><td>{}</td><td>{}</td><td>{}</td>'
                '<td>{}</td><td class="pd-error">{}</td></tr>',
                rows,
            ),
        )

    def annotate_page(self, products):
        """Variant counts and the main image (the first variant's position-0 image)."""
        ids = [p.pk for p in products]
        counts = counts_by(Variant.objects, "product", ids)
        main: dict[int, str] = {}
        first_images = (
            VariantMedia.objects.filter(variant__product__in=ids, position=0)
            .order_by("variant__product", "variant__position")
            .values_list("variant__product", "media__file")
        )
        for product_id, file_name in first_images:
            main.setdefault(product_id, file_name)
        for product in products:
            product.variant_count = counts.get(product.pk, 0)
            product.main_image = main.get(product.pk)

    @admin.display(description="")
    def image(self, product):
        return thumbnail(product.main_image)

    @admin.display(description="Name")
    def name(self, product):
        return first_name(product.names)

    @admin.display(description="Supplier", ordering="supplier__code")
    def supplier_code(self, product):
        return product.supplier.code

    @admin.display(description="Variants")
    def variants(self, product):
        return product.variant_count

    @admin.display(description="Names")
    def name_list(self, product):
        return format_html_join(BR, "{}: {}", sorted(product.names.items()))

    @admin.display(description="Source")
    def source(self, product):
        # The feed URL holds the profile GUID, the feed's only secret: shown masked.
        return mask_url(product.source_url) if product.source_url else "-"


@admin.register(Variant)
class VariantAdmin(ProtectedFieldsAdminMixin, QuoteCalculatorMixin, ReadOnlyAdmin):
    inlines = [VariantProtectedFieldInline]
    list_display = ("sku", "product_link", "supplier_code", "color", "size", "ean", "is_active")
    list_select_related = ("product__supplier",)
    list_filter = ("is_active", ("product__supplier", admin.RelatedFieldListFilter))
    search_fields = ("sku", "=ean", "supplier_sku")
    list_per_page = 100
    show_full_result_count = False
    fields = (
        "product_link",
        "sku",
        "supplier_sku",
        "ean",
        "names",
        "descriptions",
        "short_descriptions",
        "meta",
        "web_shop_information",
        "color",
        "size",
        "search_color",
        ("hex_color", "pms_color"),
        "attributes",
        "filters",
        ("fragile", "usb_item"),
        ("weight_g", "length_mm", "width_mm", "height_mm", "diameter_mm", "depth_mm"),
        ("country_of_origin", "customs_tariff_number"),
        ("carton_length_cm", "carton_width_cm", "carton_height_cm", "carton_quantity"),
        ("carton_weight_net_kg", "carton_weight_gross_kg"),
        ("item_box_length_cm", "item_box_width_cm", "item_box_height_cm"),
        ("item_weight_with_accessories_kg", "battery"),
        ("delivery_days", "delivery_texts", "release_date"),
        ("videos", "documents"),
        "prices",
        "quote",
        "print_data",
        "images",
        "extra",
        "position",
        "is_active",
        "updated_at",
    )

    def annotate_page(self, variants):
        pass  # every column comes from the row and its select_related product and supplier

    def get_object(self, request, object_id, from_field=None):
        variant = super().get_object(request, object_id, from_field)
        if variant is not None:
            prefetch_related_objects([variant], *VARIANT_DETAILS, *PRINT_DETAILS)
        return variant

    @admin.display(description="Product", ordering="product__sku")
    def product_link(self, variant):
        url = reverse("admin:catalog_product_change", args=[variant.product_id])
        return format_html('<a href="{}">{}</a>', url, variant.product.sku)

    @admin.display(description="Supplier", ordering="product__supplier__code")
    def supplier_code(self, variant):
        return variant.product.supplier.code

    @admin.display(description="Prices (every region)")
    def prices(self, variant):
        return region_table(
            variant.price_tiers.all(), variant.region_terms, preferred=variant.price_region
        )

    @admin.display(description="Print positions, options and costs")
    def print_data(self, variant):
        return print_table(variant, settings.PROMIDATA_LANGUAGES)

    @admin.display(description="Images")
    def images(self, variant):
        return variant_thumbnails(variant)
