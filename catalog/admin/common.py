"""Shared pieces of the catalog admin: read-only pages, per-page figures, thumbnails."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.views.main import ChangeList
from django.db.models import Count
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from catalog.models import Media

BR = mark_safe("<br>")


def muted(text: str) -> str:
    return format_html('<span class="pd-muted">{}</span>', text)


def media_url(name: str | None) -> str:
    return Media._meta.get_field("file").storage.url(name) if name else ""


def thumbnail(name: str | None, *, css: str = "pd-thumb") -> str:
    """An ``<img>`` of a stored media file (by its storage name), loaded lazily."""
    if not name:
        return muted("-")
    return format_html('<img src="{}" class="{}" alt="" loading="lazy">', media_url(name), css)


def counts_by(queryset, field: str, ids) -> dict:
    """``{value of field: number of rows}`` of ``queryset`` for ``field`` in ``ids``: one
    grouped query."""
    rows = queryset.filter(**{f"{field}__in": ids}).order_by().values_list(field)
    return dict(rows.annotate(n=Count("pk")))


class PageChangeList(ChangeList):
    """Hands the rows of the page shown to ``model_admin.annotate_page`` once."""

    def get_results(self, request):
        super().get_results(request)
        # Evaluating the page's queryset fills its cache: the template reuses these objects.
        self.model_admin.annotate_page(list(self.result_list))


class PageAnnotatedAdmin(admin.ModelAdmin):
    """A changelist whose per-row figures (counts, thumbnails) are read for the page's rows
    only, in a constant number of grouped queries.

    Why not annotations: a correlated subquery is evaluated for every row an OFFSET skips
    (page 1,000 of 100,000 products), and a JOIN + GROUP BY aggregates the whole table for
    every page. ``annotate_page`` sets attributes on the page's objects; display methods read
    them, and compute them for a single object (the change page) when missing.
    """

    def get_changelist(self, request, **kwargs):
        return PageChangeList

    def annotate_page(self, rows: list) -> None:
        raise NotImplementedError


class ReadOnlyAdmin(PageAnnotatedAdmin):
    """Rows written by the sync: viewable, never added, edited or deleted by hand (the next
    sync would overwrite any edit)."""

    class Media:
        css = {"all": ["promidata_sync/admin.css"]}

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
