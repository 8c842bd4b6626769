"""The sync runs admin: a live changelist, a read-only run page with its jobs and failures,
and the Retry / Stop buttons.

Runs are records of what happened, so nobody adds, edits or deletes them here (job records
are pruned by ``promidata_prune_jobs``). Pages showing an active run poll ``progress/`` (a
small JSON view) through ``run_progress.js`` until no run on the page is active.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin.utils import flatten_fieldsets
from django.db.models import Case, Count, IntegerField, Value, When
from django.http import Http404, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from catalog.admin.common import PageChangeList
from promidata_sync.admin import display
from promidata_sync.admin.actions import (
    retry_and_report,
    retry_failed_runs,
    stop_runs,
)
from promidata_sync.admin.jobs import HEAVY_COLUMNS, job_list_url
from promidata_sync.admin.permissions import OperateSyncAdminMixin, can_operate, require_operate
from promidata_sync.models import FamilyFile, Job, SyncItem, SyncRun
from promidata_sync.operations import stop_sync
from promidata_sync.queue.registry import QUEUE_NAMES
from promidata_sync.queue.waiting import runs_waiting_for_worker
from promidata_sync.services.run_timing import recent_item_counts, run_timing
from promidata_sync.services.runs import run_retryable

JOBS_SHOWN = 50
FAILURES_SHOWN = 200
WARNED_ITEMS_SHOWN = 200
PROGRESS_MAX_IDS = 200
# Jobs needing attention first on the run page.
JOB_STATE_ORDER = Case(
    When(state=Job.State.FAILED, then=Value(0)),
    When(state=Job.State.ACTIVE, then=Value(1)),
    When(state=Job.State.DELAYED, then=Value(2)),
    When(state=Job.State.WAITING, then=Value(3)),
    default=Value(4),
    output_field=IntegerField(),
)
PROGRESS_FIELDS = ("families_progress", "images_progress")


@admin.register(SyncRun)
class SyncRunAdmin(OperateSyncAdminMixin, admin.ModelAdmin):
    list_display = (
        "run_number",
        "supplier_code",
        "kind",
        "trigger",
        "mode",
        "state_badge",
        "families_progress",
        "images_progress",
        "duration",
        "created",
    )
    list_display_links = ("run_number",)
    list_filter = (
        "state",
        "kind",
        "trigger",
        "mode",
        ("created_at", admin.DateFieldListFilter),
        "supplier",
    )
    list_select_related = ("supplier",)
    search_fields = ("=supplier__code", "supplier__name")
    ordering = ("-created_at", "-id")
    list_per_page = 50
    show_full_result_count = False
    actions = [retry_failed_runs, stop_runs]
    fieldsets = (
        (
            None,
            {
                "fields": (
                    ("supplier_link", "state_badge"),
                    ("kind", "trigger", "mode"),
                    ("force", "refetch_all", "stop_requested"),
                )
            },
        ),
        ("Progress", {"fields": (PROGRESS_FIELDS, "duration")}),
        (
            "Families",
            {
                "fields": (
                    ("entries", "families_new", "families_updated", "families_unchanged"),
                    ("families_deactivated", "families_reactivated", "deactivation_refused"),
                    ("warnings",),
                )
            },
        ),
        (
            "Variants and images",
            {
                "fields": (
                    ("variants_written", "variants_deactivated", "price_tiers_written"),
                    ("images_downloaded", "images_reused"),
                )
            },
        ),
        ("Timing", {"fields": (("created_at", "started_at"), ("planned_at", "finished_at"))}),
        ("Messages", {"fields": ("message",)}),
    )
    readonly_fields = flatten_fieldsets(fieldsets)

    class Media:
        css = {"all": ["promidata_sync/admin.css"]}
        js = ["promidata_sync/run_progress.js"]

    # --- permissions: runs are records ---------------------------------------------------
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    # --- columns -------------------------------------------------------------------------
    @admin.display(description="Run", ordering="-id")
    def run_number(self, run):
        return f"#{run.pk}"

    @admin.display(description="Supplier", ordering="supplier__code")
    def supplier_code(self, run):
        return run.supplier.code

    @admin.display(description="Supplier")
    def supplier_link(self, run):
        url = reverse("admin:catalog_supplier_change", args=[run.supplier_id])
        return format_html('<a href="{}">{}</a>', url, run.supplier)

    @admin.display(description="State", ordering="state")
    def state_badge(self, run):
        return display.state_badge(run.state, run_id=run.pk)

    @admin.display(description="Families")
    def families_progress(self, run):
        return display.progress_bar(run, "families", waiting=self._timed(run).pd_waiting)

    @admin.display(description="Images")
    def images_progress(self, run):
        return display.progress_bar(run, "images", waiting=self._timed(run).pd_waiting)

    @admin.display(description="Created", ordering="created_at")
    def created(self, run):
        return format_html(
            '<span class="pd-nowrap">{}</span>',
            timezone.localtime(run.created_at).strftime("%Y-%m-%d %H:%M"),
        )

    @admin.display(description="Duration")
    def duration(self, run):
        run = self._timed(run)
        return display.timing_cell(run, timing=run.pd_timing, waiting=run.pd_waiting)

    # --- time: rate and ETA of the page's runs, in two queries for the whole page --------
    def get_changelist(self, request, **kwargs):
        return PageChangeList

    def annotate_page(self, runs: list[SyncRun]) -> None:
        """Sets ``pd_timing`` (``run_timing`` over the recent window for active runs) and
        ``pd_waiting`` (queued with no live worker for its queue) on each run."""
        active = [run.pk for run in runs if run.is_active]
        recent = recent_item_counts(active)
        waiting = runs_waiting_for_worker(runs)
        for run in runs:
            run.pd_timing = run_timing(run, recent=recent.get(run.pk))
            run.pd_waiting = run.pk in waiting

    def _timed(self, run: SyncRun) -> SyncRun:
        if not hasattr(run, "pd_timing"):  # the run's own page: one run
            self.annotate_page([run])
        return run

    # --- pages ---------------------------------------------------------------------------
    def get_urls(self):
        info = f"{self.opts.app_label}_{self.opts.model_name}"
        view = self.admin_site.admin_view
        return [
            path("progress/", view(self.progress_view), name=f"{info}_progress"),
            path("<path:object_id>/retry/", view(self.retry_view), name=f"{info}_retry"),
            path("<path:object_id>/stop/", view(self.stop_view), name=f"{info}_stop"),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        run = self.get_object(request, object_id)
        if run is not None:
            extra_context = {**(extra_context or {}), **self.run_page_context(request, run)}
        return super().change_view(request, object_id, form_url, extra_context)

    def run_page_context(self, request, run: SyncRun) -> dict:
        """The run's jobs (per stage and state, each count a link to the job list filtered so,
        and the first ``JOBS_SHOWN`` by urgency, each a link to its page; all of them are in
        the job list, ``jobs_url``) and its failed families and images; a handful of queries
        whatever the run's size."""
        per_stage: dict[str, dict[str, int]] = {}
        for row in run.jobs.values("queue_name", "state").annotate(n=Count("id")):
            per_stage.setdefault(row["queue_name"], {})[row["state"]] = row["n"]
        jobs_url = job_list_url(run=run.pk)
        stages = [
            {
                "name": name,
                "counts": [
                    {
                        "n": per_stage.get(name, {}).get(s, 0),
                        "url": job_list_url(run=run.pk, queue=name, state=s),
                    }
                    for s in Job.State
                ],
            }
            for name in [*QUEUE_NAMES, *sorted(set(per_stage) - set(QUEUE_NAMES))]
        ]
        failures = run.items.filter(state=SyncItem.State.FAILED)
        warned = run.items.filter(warning_count__gt=0)
        shown = list(failures.order_by("kind", "id")[:FAILURES_SHOWN])
        # The kept file of each failed family (a broken one is kept to show what was sent).
        kept = dict(
            FamilyFile.objects.filter(
                supplier_id=run.supplier_id,
                family_sku__in=[i.key for i in shown if i.kind == SyncItem.Kind.FAMILY],
            )
            .order_by("family_sku", "fetched_at")
            .values_list("family_sku", "pk")
        )
        for item in shown:
            file_id = kept.get(item.key) if item.kind == SyncItem.Kind.FAMILY else None
            item.file_url = (
                reverse("admin:promidata_sync_familyfile_download", args=[file_id])
                if file_id
                else ""
            )
        return {
            "can_operate": can_operate(request.user),
            "can_retry": run_retryable(run),
            "job_states": [label for _, label in Job.State.choices],
            "job_stages": stages,
            "jobs_total": sum(c["n"] for s in stages for c in s["counts"]),
            "jobs_url": jobs_url,
            # The list itself never loads the large columns; the job page shows them.
            "jobs": run.jobs.defer(*HEAVY_COLUMNS).order_by(JOB_STATE_ORDER, "-id")[:JOBS_SHOWN],
            "failures": shown,
            "failures_total": failures.count(),
            "warned_items": warned.order_by("kind", "id")[:WARNED_ITEMS_SHOWN],
            "warned_total": warned.count(),
        }

    def progress_view(self, request):
        """JSON for ``run_progress.js``: ``{"runs": [run_progress(run), ...]}`` for ``?ids=``.

        Wrapped in ``admin_view`` (staff login, never cached) by ``get_urls``."""
        if not self.has_view_permission(request):
            return JsonResponse({"error": "permission denied"}, status=403)
        try:
            ids = [int(i) for i in request.GET.get("ids", "").split(",") if i.strip()]
        except ValueError:
            ids = [-1]
        if any(not 0 < i < 2**63 for i in ids):  # SQLite cannot even compare a larger one
            return JsonResponse({"error": "ids must be comma-separated run numbers"}, status=400)
        runs = list(SyncRun.objects.filter(pk__in=ids[:PROGRESS_MAX_IDS]).order_by("-id"))
        self.annotate_page(runs)
        return JsonResponse(
            {
                "runs": [
                    display.run_progress(run, timing=run.pd_timing, waiting=run.pd_waiting)
                    for run in runs
                ]
            }
        )

    def retry_view(self, request, object_id):
        """POST: retry the run's failed families and images, then back to the run page."""
        require_operate(request)
        run = get_object_or_404(SyncRun, pk=_int_or_404(object_id))
        if request.method == "POST":
            retry_and_report(self, request, [run])
        return HttpResponseRedirect(reverse("admin:promidata_sync_syncrun_change", args=[run.pk]))

    def stop_view(self, request, object_id):
        """GET: ask for confirmation; POST ``post=yes``: stop the run (``stop_sync``)."""
        require_operate(request)
        run = get_object_or_404(
            SyncRun.objects.select_related("supplier"), pk=_int_or_404(object_id)
        )
        page = reverse("admin:promidata_sync_syncrun_change", args=[run.pk])
        if not run.is_active:
            self.message_user(request, f"Sync #{run.pk} has already ended.", messages.INFO)
            return HttpResponseRedirect(page)
        if request.method == "POST" and request.POST.get("post") == "yes":
            run = stop_sync(run)
            # A direct run stops between two families, in the process that runs it.
            outcome = "stopped" if run.finished_at else "will stop after its current family"
            self.message_user(
                request, f"Sync #{run.pk} of {run.supplier.code} {outcome}.", messages.SUCCESS
            )
            return HttpResponseRedirect(page)
        return TemplateResponse(
            request,
            "admin/promidata_sync/stop_confirmation.html",
            {
                **self.admin_site.each_context(request),
                "title": "Stop sync?",
                "opts": self.opts,
                "runs": [run],
            },
        )


def _int_or_404(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise Http404("no such sync run") from None
