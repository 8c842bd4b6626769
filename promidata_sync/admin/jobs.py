"""The job records admin: a list per queue, state, actor and run, and a read-only page per job
with its masked arguments, result, error and stored traceback.

Jobs are records of what the workers did (the ``JobRecords`` middleware writes them, and
``promidata_prune_jobs`` removes old ones), so nobody adds, edits or deletes them here.

The list stays cheap on a table of hundreds of thousands of rows: the filters offer the
registry's queues and actors (no ``SELECT DISTINCT`` over the table), the run filter offers
recent runs only (any run can still be chosen by ``?run=<number>``, as the run page links do),
the list never loads the large columns (traceback, result, arguments), and the full count of
the unfiltered table is never asked for. The filters by queue and state and by run and state
use the table's two indexes.

Django Dramatiq's own "Tasks" admin is removed: its middleware is not installed, so it was
always empty and looked like the place to find jobs.
"""

from __future__ import annotations

import json
from urllib.parse import urlencode

import django_dramatiq.admin  # noqa: F401  (registers Task, so it can be unregistered here)
from django.contrib import admin
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django_dramatiq.models import Task

from promidata_sync.models import Job, SyncRun
from promidata_sync.queue.registry import QUEUE_NAMES, STAGES
from promidata_sync.redaction import mask_url, redact

if admin.site.is_registered(Task):
    admin.site.unregister(Task)

# Runs offered by the run filter; others are reached by ?run=<number>.
RUNS_OFFERED = 15
# Characters of the error shown in the list (the job page shows it whole).
ERROR_SHOWN_CHARS = 160
# Columns the list never needs: they can hold kilobytes per row.
HEAVY_COLUMNS = ("traceback", "result", "args")


def job_list_url(*, run: int | None = None, queue: str = "", state: str = "") -> str:
    """The job list filtered by run, queue and state (each optional)."""
    query = {
        key: value
        for key, value in (
            (RunFilter.parameter_name, run),
            (QueueFilter.parameter_name, queue),
            ("state__exact", state),
        )
        if value
    }
    url = reverse("admin:promidata_sync_job_changelist")
    return f"{url}?{urlencode(query)}" if query else url


def redact_data(value):
    """``value`` (JSON data) with every string redacted (URLs masked, secrets replaced)."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, list):
        return [redact_data(v) for v in value]
    if isinstance(value, dict):
        return {str(k): redact_data(v) for k, v in value.items()}
    return value


def pretty_json(value) -> str:
    """``value`` redacted, as a ``<pre>`` block (escaped), or ``-`` when there is none."""
    if value in (None, "", {}, []):
        return "-"
    text = json.dumps(redact_data(value), indent=2, ensure_ascii=False, sort_keys=True)
    return format_html('<pre class="pd-pre">{}</pre>', text)


class QueueFilter(admin.SimpleListFilter):
    title = "queue"
    parameter_name = "queue_name__exact"

    def lookups(self, request, model_admin):
        return [(name, name) for name in QUEUE_NAMES]

    def queryset(self, request, queryset):
        return queryset.filter(queue_name=self.value()) if self.value() else queryset


class ActorFilter(admin.SimpleListFilter):
    title = "actor"
    parameter_name = "actor_name__exact"

    def lookups(self, request, model_admin):
        return [(stage.actor_name, stage.actor_name) for stage in STAGES]

    def queryset(self, request, queryset):
        return queryset.filter(actor_name=self.value()) if self.value() else queryset


class RunFilter(admin.SimpleListFilter):
    """The latest runs, and the chosen one if it is older; ``?run=N`` selects any run."""

    title = "sync run"
    parameter_name = "run"

    def lookups(self, request, model_admin):
        runs = list(SyncRun.objects.select_related("supplier").order_by("-id")[:RUNS_OFFERED])
        chosen = _run_number(self.value())
        if chosen is not None and chosen not in {run.pk for run in runs}:
            runs += list(SyncRun.objects.select_related("supplier").filter(pk=chosen))
        return [(str(run.pk), f"#{run.pk} {run.supplier.code}") for run in runs]

    def queryset(self, request, queryset):
        if self.value() is None:
            return queryset
        chosen = _run_number(self.value())
        # A value that is no run number matches nothing, rather than an error page.
        return queryset.filter(run_id=chosen) if chosen is not None else queryset.none()


def _run_number(value) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if 0 < number < 2**63 else None


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = (
        "job_link",
        "queue_name",
        "actor_name",
        "state_badge",
        "subject",
        "run_link",
        "attempts_made",
        "short_error",
        "last_change",
    )
    list_display_links = None
    list_filter = ("state", QueueFilter, ActorFilter, RunFilter)
    # Job id exactly, or a family SKU / supplier / URL part, or words of the error.
    search_fields = ("=job_id", "key", "error")
    search_help_text = "Job id, family SKU (or supplier, image URL part), or error text."
    list_select_related = ("run__supplier",)
    ordering = ("-id",)
    list_per_page = 100
    show_full_result_count = False
    fieldsets = (
        (
            None,
            {
                "fields": (
                    ("job_id_code", "state_badge"),
                    ("actor_name", "queue_name"),
                    ("run_link", "subject_full"),
                    ("attempts_made", "progress_text", "worker"),
                )
            },
        ),
        ("Timing", {"fields": (("enqueued_at", "processed_at"), ("finished_at", "updated_at"))}),
        ("Arguments", {"fields": ("args_json",)}),
        ("Result", {"fields": ("result_json",)}),
        ("Error", {"fields": ("error_text", "traceback_text")}),
    )
    readonly_fields = (
        "job_id_code",
        "state_badge",
        "actor_name",
        "queue_name",
        "run_link",
        "subject_full",
        "attempts_made",
        "progress_text",
        "worker",
        "enqueued_at",
        "processed_at",
        "finished_at",
        "updated_at",
        "args_json",
        "result_json",
        "error_text",
        "traceback_text",
    )

    class Media:
        css = {"all": ["promidata_sync/admin.css"]}

    # --- permissions: jobs are records ---------------------------------------------------
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.resolver_match and request.resolver_match.url_name.endswith("_changelist"):
            queryset = queryset.defer(*HEAVY_COLUMNS)
        return queryset

    # --- columns -------------------------------------------------------------------------
    @admin.display(description="Job", ordering="-id")
    def job_link(self, job):
        url = reverse("admin:promidata_sync_job_change", args=[job.pk])
        return format_html('<a href="{}"><code>{}</code></a>', url, job.job_id)

    @admin.display(description="Job id")
    def job_id_code(self, job):
        return format_html("<code>{}</code>", job.job_id)

    @admin.display(description="State", ordering="state")
    def state_badge(self, job):
        return format_html(
            '<span class="pd-badge pd-job-{}">{}</span>', job.state, job.get_state_display()
        )

    @admin.display(description="Subject")
    def subject(self, job):
        text = _masked(job.key)
        if len(text) > 90:
            text = text[:89] + "…"
        return format_html('<span class="pd-wrap">{}</span>', text)

    @admin.display(description="Subject")
    def subject_full(self, job):
        return format_html('<span class="pd-wrap">{}</span>', _masked(job.key) or "-")

    @admin.display(description="Run", ordering="run_id")
    def run_link(self, job):
        if job.run_id is None:
            return "-"
        url = reverse("admin:promidata_sync_syncrun_change", args=[job.run_id])
        return format_html('<a href="{}">#{} {}</a>', url, job.run_id, job.run.supplier.code)

    @admin.display(description="Error")
    def short_error(self, job):
        if not job.error:
            return ""
        text = redact(job.error)  # a secret added since the error was stored is masked too
        if len(text) > ERROR_SHOWN_CHARS:
            text = text[: ERROR_SHOWN_CHARS - 1] + "…"
        return format_html('<span class="pd-wrap pd-error">{}</span>', text)

    @admin.display(description="Last change", ordering="updated_at")
    def last_change(self, job):
        return format_html(
            '<span class="pd-nowrap">{}</span>',
            timezone.localtime(job.updated_at).strftime("%Y-%m-%d %H:%M:%S"),
        )

    @admin.display(description="Progress")
    def progress_text(self, job):
        progress = job.progress or {}
        if not progress:
            return "-"
        return f"{progress.get('step', '')} {progress.get('percentage', 0)}%".strip()

    @admin.display(description="Arguments (masked)")
    def args_json(self, job):
        return pretty_json(job.args)

    @admin.display(description="Result")
    def result_json(self, job):
        return pretty_json(job.result)

    @admin.display(description="Error")
    def error_text(self, job):
        if not job.error:
            return "-"
        return format_html('<span class="pd-wrap pd-error">{}</span>', redact(job.error))

    @admin.display(description="Traceback")
    def traceback_text(self, job):
        # Stored sanitised by the middleware; redacted again in case a secret was added since.
        if not job.traceback:
            return "-"
        return format_html('<pre class="pd-pre pd-traceback">{}</pre>', redact(job.traceback))


def _masked(value: str) -> str:
    value = str(value or "")
    return mask_url(value) if "://" in value else redact(value)
