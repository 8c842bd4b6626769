"""The kept family files: what the feed sent, version by version, downloadable as sent.

Read-only: the files are evidence (a broken one shows why its family failed) and the source
of ``promidata_reparse``. A list costs one query (the compressed bytes are never loaded for
it); the download decompresses one file.
"""

from __future__ import annotations

from django.contrib import admin
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html

from promidata_sync.models import FamilyFile
from promidata_sync.services.family_files import decompress


def download_url(kept: FamilyFile) -> str:
    return reverse("admin:promidata_sync_familyfile_download", args=[kept.pk])


class BrokenFilter(admin.SimpleListFilter):
    title = "usable"
    parameter_name = "broken"

    def lookups(self, request, model_admin):
        return [("yes", "could not be used"), ("no", "used")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.exclude(error="")
        if self.value() == "no":
            return queryset.filter(error="")
        return queryset


@admin.register(FamilyFile)
class FamilyFileAdmin(admin.ModelAdmin):
    list_display = (
        "family_sku",
        "supplier",
        "version",
        "size",
        "stored_size",
        "fetched_at",
        "problem",
    )
    list_select_related = ("supplier",)
    list_filter = (BrokenFilter, "supplier")
    search_fields = ("=family_sku", "hash")
    list_per_page = 100
    show_full_result_count = False
    fields = (
        "supplier",
        "family_sku",
        "hash",
        "size",
        "stored_size",
        "encoding",
        "fetched_at",
        "error",
        "download",
    )
    readonly_fields = fields

    class Media:
        css = {"all": ["promidata_sync/admin.css"]}

    def get_queryset(self, request):
        return super().get_queryset(request).defer("content")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_urls(self):
        view = self.admin_site.admin_view(self.download_view)
        return [
            path("<int:file_id>/download/", view, name="promidata_sync_familyfile_download"),
            *super().get_urls(),
        ]

    def download_view(self, request, file_id: int):
        """The file as the feed sent it (JSON, or whatever bytes a broken file held)."""
        if not self.has_view_permission(request):
            raise Http404("no such file")
        kept = get_object_or_404(FamilyFile, pk=file_id)
        response = HttpResponse(decompress(kept.content), content_type="application/json")
        response["Content-Disposition"] = (
            f'attachment; filename="{kept.family_sku}-{kept.hash[:12]}.json"'
        )
        return response

    @admin.display(description="Version")
    def version(self, kept):
        return kept.hash[:12]

    @admin.display(description="Problem")
    def problem(self, kept):
        return kept.error[:120] or "-"

    @admin.display(description="File")
    def download(self, kept):
        return format_html('<a href="{}" download>download as sent</a>', download_url(kept))
