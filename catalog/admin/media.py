"""Stored images: preview, size, and the variants that use them."""

from __future__ import annotations

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from catalog.admin.common import BR, ReadOnlyAdmin, counts_by, thumbnail
from catalog.models import Media, VariantMedia
from promidata_sync.admin.display import human_size
from promidata_sync.redaction import mask_url

USES_SHOWN = 50


@admin.register(Media)
class MediaAdmin(ReadOnlyAdmin):
    list_display = (
        "image",
        "short_hash",
        "content_type",
        "size_display",
        "dimensions",
        "uses",
        "created_at",
    )
    list_display_links = ("short_hash",)
    list_filter = ("content_type",)
    search_fields = ("=sha256",)
    list_per_page = 100
    show_full_result_count = False
    fields = (
        "preview",
        "sha256",
        "content_type",
        "size_display",
        "dimensions",
        "source",
        "file",
        "where_used",
        "created_at",
    )

    def annotate_page(self, media_rows):
        counts = counts_by(VariantMedia.objects, "media", [m.pk for m in media_rows])
        for media in media_rows:
            media.use_count = counts.get(media.pk, 0)

    @admin.display(description="")
    def image(self, media):
        return thumbnail(media.file.name)

    @admin.display(description="Preview")
    def preview(self, media):
        url = media.file.url
        return format_html('<a href="{}"><img src="{}" class="pd-preview" alt=""></a>', url, url)

    @admin.display(description="SHA-256", ordering="sha256")
    def short_hash(self, media):
        return media.sha256[:12]

    @admin.display(description="Size", ordering="size")
    def size_display(self, media):
        return human_size(media.size)

    @admin.display(description="Pixels")
    def dimensions(self, media):
        return f"{media.width} x {media.height}" if media.width and media.height else "-"

    @admin.display(description="Variants")
    def uses(self, media):
        return media.use_count

    @admin.display(description="First found at")
    def source(self, media):
        # Feed URLs may hold the profile GUID, the feed's only secret: shown masked.
        return mask_url(media.source_url) if media.source_url else "-"

    @admin.display(description="Used by")
    def where_used(self, media):
        """The first ``USES_SHOWN`` variants showing this image, and how many more."""
        links = media.variant_links.select_related("variant__product__supplier").order_by(
            "variant__product__supplier__code", "variant__sku"
        )[:USES_SHOWN]
        rows = [
            (
                reverse("admin:catalog_variant_change", args=[link.variant_id]),
                link.variant.product.supplier.code,
                link.variant.product.sku,
                link.variant.sku,
            )
            for link in links
        ]
        if not rows:
            return "not linked to any variant"
        shown = format_html_join(BR, '<a href="{}">{} {} / {}</a>', rows)
        if len(rows) < USES_SHOWN:
            return shown
        more = media.variant_links.count() - len(rows)
        return format_html("{}<br>… and {} more", shown, more) if more > 0 else shown
