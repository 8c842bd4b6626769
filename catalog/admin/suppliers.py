"""The supplier admin: last sync, counts, and the actions that sync, stop, (de)activate.

Syncing and stopping are the ``promidata_sync`` admin actions (``operate_sync`` permission);
activating needs the ordinary change permission.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import Exists, Max, OuterRef
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.text import Truncator

from catalog.admin.common import BR, PageAnnotatedAdmin, counts_by, muted
from catalog.admin.rules import ExclusionInline, exclusions_save
from catalog.models import Product, Supplier, SupplierExclusion, Variant
from promidata_sync.admin import display
from promidata_sync.admin.actions import stop_supplier_syncs, sync_suppliers
from promidata_sync.admin.permissions import OperateSyncAdminMixin
from promidata_sync.admin.run_history import sync_history_html
from promidata_sync.models import SyncRun

RECENT_RUNS_SHOWN = 10


@admin.action(permissions=["change"], description="Activate")
def activate_suppliers(modeladmin, request, queryset):
    _set_active(modeladmin, request, queryset, active=True)


@admin.action(permissions=["change"], description="Deactivate (skipped by syncs of all)")
def deactivate_suppliers(modeladmin, request, queryset):
    _set_active(modeladmin, request, queryset, active=False)


def _set_active(modeladmin, request, queryset, *, active: bool) -> None:
    changing = list(queryset.exclude(is_active=active))
    Supplier.objects.filter(pk__in=[s.pk for s in changing]).update(is_active=active)
    verb = "Activated" if active else "Deactivated"
    for supplier in changing:
        modeladmin.log_change(request, supplier, verb)
    unchanged = queryset.count() - len(changing)
    note = f" ({unchanged} already {'active' if active else 'inactive'})" if unchanged else ""
    modeladmin.message_user(
        request,
        f"{verb} {len(changing)} supplier{'' if len(changing) == 1 else 's'}{note}.",
        messages.SUCCESS,
    )


class LastSyncFilter(admin.SimpleListFilter):
    title = "last sync"
    parameter_name = "last_sync"

    def lookups(self, request, model_admin):
        finished = [
            (s, label) for s, label in SyncRun.State.choices if s not in SyncRun.ACTIVE_STATES
        ]
        return [("syncing", "Syncing now"), *finished, ("never", "Never synced")]

    def queryset(self, request, queryset):
        value = self.value()
        if value == "syncing":
            active = SyncRun.objects.filter(
                supplier=OuterRef("pk"), kind=SyncRun.Kind.CATALOG, state__in=SyncRun.ACTIVE_STATES
            )
            return queryset.filter(Exists(active))
        if value == "never":
            return queryset.filter(last_synced_at__isnull=True)
        if value:
            return queryset.filter(last_sync_status=value)
        return queryset


@admin.register(Supplier)
class SupplierAdmin(OperateSyncAdminMixin, PageAnnotatedAdmin):
    list_display = ("code", "name", "is_active", "last_sync", "products", "variants")
    list_display_links = ("code",)
    search_fields = ("code", "name")
    list_filter = ("is_active", LastSyncFilter)
    ordering = ("code",)
    list_per_page = 100
    actions = [sync_suppliers, stop_supplier_syncs, activate_suppliers, deactivate_suppliers]
    inlines = [ExclusionInline]
    fields = (
        "code",
        "name",
        "is_active",
        "last_sync",
        "last_sync_message",
        "last_entry_count",
        "products",
        "variants",
        "recent_runs",
        "sync_history",
        "created_at",
        "updated_at",
    )
    readonly_fields = fields[3:]

    class Media:
        css = {"all": ["promidata_sync/admin.css"]}

    def save_formset(self, request, form, formset, change):
        if formset.model is not SupplierExclusion:
            return super().save_formset(request, form, formset, change)
        exclusions_save(self, request, formset)  # through the service: audited

    def get_readonly_fields(self, request, obj=None):
        # The code is the feed's folder name: fixed once the supplier exists.
        return (*self.readonly_fields, "code") if obj else self.readonly_fields

    def annotate_page(self, suppliers):
        """Product, active product and variant counts, the active and the latest run: four
        grouped queries for the whole page."""
        ids = [s.pk for s in suppliers]
        products = counts_by(Product.objects, "supplier", ids)
        active = counts_by(Product.objects.filter(is_active=True), "supplier", ids)
        variants = counts_by(Variant.objects, "product__supplier", ids)
        runs = SyncRun.objects.filter(supplier__in=ids, kind=SyncRun.Kind.CATALOG).order_by()
        running = dict(runs.filter(state__in=SyncRun.ACTIVE_STATES).values_list("supplier", "pk"))
        latest = dict(runs.values_list("supplier").annotate(last=Max("pk")))
        for supplier in suppliers:
            supplier.product_count = products.get(supplier.pk, 0)
            supplier.active_product_count = active.get(supplier.pk, 0)
            supplier.variant_count = variants.get(supplier.pk, 0)
            supplier.active_run_id = running.get(supplier.pk)
            supplier.last_run_id = latest.get(supplier.pk)

    def _annotated(self, supplier):
        if not hasattr(supplier, "product_count"):  # the change page: one supplier
            self.annotate_page([supplier] if supplier.pk else [])
        return supplier

    @admin.display(description="Last sync", ordering="last_synced_at")
    def last_sync(self, supplier):
        if supplier.pk is None:
            return "-"
        supplier = self._annotated(supplier)
        parts = []
        if supplier.active_run_id:
            url = reverse("admin:promidata_sync_syncrun_change", args=[supplier.active_run_id])
            parts.append(
                format_html(
                    '<a href="{}"><span class="pd-badge pd-badge-running">Syncing #{}</span></a>',
                    url,
                    supplier.active_run_id,
                )
            )
        if supplier.last_synced_at:
            badge = display.state_badge(supplier.last_sync_status)
            if supplier.last_run_id and supplier.last_run_id != supplier.active_run_id:
                url = reverse("admin:promidata_sync_syncrun_change", args=[supplier.last_run_id])
                badge = format_html('<a href="{}">{}</a>', url, badge)
            lines = (supplier.last_sync_message or "").strip().splitlines()
            parts.append(
                format_html(
                    '{} {}<br><span class="pd-muted" title="{}">{}</span>',
                    badge,
                    timezone.localtime(supplier.last_synced_at).strftime("%Y-%m-%d %H:%M"),
                    supplier.last_sync_message,
                    Truncator(lines[0] if lines else "").chars(90),
                )
            )
        if not parts:
            return muted("never")
        return format_html_join(" ", "{}", ((part,) for part in parts))

    @admin.display(description="Products")
    def products(self, supplier):
        if supplier.pk is None:
            return "-"
        supplier = self._annotated(supplier)
        if supplier.active_product_count == supplier.product_count:
            return f"{supplier.product_count:,}"
        return f"{supplier.product_count:,} ({supplier.active_product_count:,} active)"

    @admin.display(description="Variants")
    def variants(self, supplier):
        if supplier.pk is None:
            return "-"
        return f"{self._annotated(supplier).variant_count:,}"

    @admin.display(description="Recent syncs")
    def recent_runs(self, supplier):
        if supplier.pk is None:
            return "-"
        runs = supplier.sync_runs.order_by("-created_at", "-id")[:RECENT_RUNS_SHOWN]
        rows = [
            (
                reverse("admin:promidata_sync_syncrun_change", args=[run.pk]),
                run.pk,
                display.state_badge(run.state),
                timezone.localtime(run.created_at).strftime("%Y-%m-%d %H:%M"),
                run.get_trigger_display(),
                run.families_done,
                run.families_failed,
            )
            for run in runs
        ]
        if not rows:
            return "none yet"
        return format_html_join(
            BR, '<a href="{}">#{}</a> {} {} ({}): {} families done, {} failed', rows
        )

    @admin.display(description="Sync history")
    def sync_history(self, supplier):
        if supplier.pk is None:
            return "-"
        return sync_history_html(supplier.pk)
