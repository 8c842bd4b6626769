"""Admin actions that operate syncs: start, stop, retry. Thin: each calls the service API.

Every action is declared with ``permissions=["operate_sync"]`` (so users without
``promidata_sync.operate_sync`` never see it) and checks the permission again itself, in case
it is ever called some other way. Stopping asks for confirmation first.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode

from promidata_sync.admin.permissions import require_operate
from promidata_sync.models import SyncRun
from promidata_sync.operations import reimport_families, retry_failed, start_sync, stop_sync
from promidata_sync.queue.broker import BrokerUnavailable, broker_check
from promidata_sync.services.exclusions import ExcludedFamilies
from promidata_sync.services.feed_index import FeedUnreadable
from promidata_sync.services.pauses import SyncPaused
from promidata_sync.services.reimport import MAX_SKUS, TooManySkus, UnknownSku
from promidata_sync.services.runs import RunAlreadyActive, run_retryable


def runs_link(run_ids: list[int], text: str = "watch progress") -> str:
    """A link to the sync runs changelist showing exactly ``run_ids`` (where they update
    themselves until they end)."""
    url = reverse("admin:promidata_sync_syncrun_changelist")
    if run_ids:
        url += "?" + urlencode({"id__in": ",".join(str(i) for i in run_ids)})
    return format_html('<a href="{}">{}</a>', url, text)


def _run_list(jobs: list[dict]) -> str:
    return format_html_join(", ", "{} (#{})", ((j["supplier"], j["run_id"]) for j in jobs))


def _tell_started(modeladmin, request, queued, running, *, queued_text, running_text) -> None:
    """The messages after starting work: the runs queued (with a link to watch them), and
    those that were already running (with a link to them)."""
    if queued:
        modeladmin.message_user(
            request,
            format_html(
                "{}: {}; {}.",
                queued_text,
                _run_list(queued),
                runs_link([j["run_id"] for j in queued]),
            ),
            messages.SUCCESS,
        )
    if running:
        modeladmin.message_user(
            request,
            format_html(
                "{}: {}; {}.",
                running_text,
                _run_list(running),
                runs_link([j["run_id"] for j in running], "see the running sync"),
            ),
            messages.WARNING,
        )


@admin.action(permissions=["operate_sync"], description="Sync supplier")
def sync_suppliers(modeladmin, request, queryset):
    """Queue a sync of each selected supplier (``start_sync(..., trigger="admin")``).

    A supplier that is already syncing keeps its running sync; it is not started twice.
    """
    require_operate(request)
    queued, running = [], []
    try:
        for supplier in queryset.order_by("code"):
            result = start_sync(supplier, use_queue=True, trigger=SyncRun.Trigger.ADMIN)
            for job in result["jobs"]:
                (queued if job["status"] == "queued" else running).append(job)
                modeladmin.log_change(request, supplier, f"Started sync #{job['run_id']}")
    except BrokerUnavailable as exc:
        modeladmin.message_user(request, f"Could not queue syncs: {exc}", messages.ERROR)
    except SyncPaused as exc:
        modeladmin.message_user(request, f"Not started: {exc}", messages.WARNING)
    _tell_started(
        modeladmin,
        request,
        queued,
        running,
        queued_text=f"Sync queued for {len(queued)} supplier{'' if len(queued) == 1 else 's'}",
        running_text="Already syncing, not started again",
    )


@admin.action(permissions=["operate_sync"], description="Re-import from feed")
def reimport_products(modeladmin, request, queryset):
    """Re-import the selected products' families now, whatever their hashes, in a run per
    supplier of their own (``reimport_families``, trigger "manual")."""
    require_operate(request)
    skus = list(queryset.order_by("sku").values_list("sku", flat=True)[: MAX_SKUS + 1])
    try:
        result = reimport_families(skus, use_queue=True)
    except (
        BrokerUnavailable,
        FeedUnreadable,
        UnknownSku,
        TooManySkus,
        ExcludedFamilies,
        SyncPaused,
    ) as exc:
        modeladmin.message_user(request, f"Could not re-import: {exc}", messages.ERROR)
        return None
    queued = [j for j in result["jobs"] if j["status"] == "queued"]
    running = [j for j in result["jobs"] if j["status"] != "queued"]
    for product in queryset:
        modeladmin.log_change(request, product, "Re-import from feed requested")
    _tell_started(
        modeladmin,
        request,
        queued,
        running,
        queued_text=f"Re-import of {len(skus)} famil{'y' if len(skus) == 1 else 'ies'} queued",
        running_text="Not re-imported, a sync of the supplier is running",
    )
    return None


@admin.action(permissions=["operate_sync"], description="Stop sync")
def stop_supplier_syncs(modeladmin, request, queryset):
    """Stop the active sync of each selected supplier, after a confirmation page."""
    require_operate(request)
    active = SyncRun.objects.filter(supplier__in=queryset, state__in=SyncRun.ACTIVE_STATES)
    return confirm_and_stop(
        modeladmin, request, active, action="stop_supplier_syncs", selected=queryset
    )


@admin.action(permissions=["operate_sync"], description="Stop selected syncs")
def stop_runs(modeladmin, request, queryset):
    """Stop the selected runs that are still active, after a confirmation page."""
    require_operate(request)
    active = queryset.filter(state__in=SyncRun.ACTIVE_STATES)
    return confirm_and_stop(modeladmin, request, active, action="stop_runs", selected=active)


def confirm_and_stop(modeladmin, request, runs, *, action: str, selected):
    """Show what would stop; on the confirming POST (``post=yes``) call ``stop_sync`` on each.

    ``selected`` is what the confirmation form posts back as the action's selection.
    """
    runs = list(runs.select_related("supplier").order_by("supplier__code"))
    if not runs:
        modeladmin.message_user(request, "None of the selected syncs is running.", messages.INFO)
        return None
    if request.POST.get("post") != "yes":
        return TemplateResponse(
            request,
            "admin/promidata_sync/stop_confirmation.html",
            {
                **modeladmin.admin_site.each_context(request),
                "title": "Stop syncs?",
                "opts": modeladmin.opts,
                "runs": runs,
                "action": action,
                "selected": [obj.pk for obj in selected],
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            },
        )
    results = [stop_sync(run) for run in runs]
    stopped = [run for run in results if run.finished_at]
    # A direct run stops between two families, in the process that runs it.
    stopping = [run for run in results if not run.finished_at]
    for runs_, text in ((stopped, "Stopped"), (stopping, "Asked to stop (direct mode)")):
        if runs_:
            modeladmin.message_user(
                request,
                format_html(
                    "{} {} sync{}: {}.",
                    text,
                    len(runs_),
                    "" if len(runs_) == 1 else "s",
                    format_html_join(", ", "{} (#{})", ((r.supplier.code, r.pk) for r in runs_)),
                ),
                messages.SUCCESS,
            )
    return None


@admin.action(permissions=["operate_sync"], description="Retry failed jobs")
def retry_failed_runs(modeladmin, request, queryset):
    """Run the failed families and images of each selected run again (``retry_failed``)."""
    require_operate(request)
    retry_and_report(modeladmin, request, list(queryset.select_related("supplier")))


def retry_and_report(modeladmin, request, runs: list[SyncRun]) -> None:
    """Retry each run that has failures; tell the user what was retried and what was not."""
    try:
        # retry_failed reopens the run before it checks the broker: with Redis down the run
        # would stay open with nothing queued. Checking first keeps it untouched.
        broker_check()
    except BrokerUnavailable as exc:
        modeladmin.message_user(request, f"Could not queue retries: {exc}", messages.ERROR)
        return
    retried, skipped, refused = [], [], []
    for run in runs:
        if not run_retryable(run):
            skipped.append(run)
            continue
        try:
            result = retry_failed(run, use_queue=True)
        except RunAlreadyActive as exc:
            refused.append(f"#{run.pk}: {exc}")
            continue
        except BrokerUnavailable as exc:
            modeladmin.message_user(request, f"Could not queue retries: {exc}", messages.ERROR)
            break
        retried.append(result)
    if retried:
        families = sum(r["families"] for r in retried)
        images = sum(r["images"] for r in retried)
        modeladmin.message_user(
            request,
            format_html(
                "Retrying {} famil{} and {} image{} of {} run{}{}; {}.",
                families,
                "y" if families == 1 else "ies",
                images,
                "" if images == 1 else "s",
                len(retried),
                "" if len(retried) == 1 else "s",
                _replanned(retried),
                runs_link([r["run_id"] for r in retried]),
            ),
            messages.SUCCESS,
        )
    if skipped:
        modeladmin.message_user(
            request,
            "Nothing to retry (no failed families or images, and planned): "
            + ", ".join(f"#{run.pk}" for run in skipped),
            messages.INFO,
        )
    for line in refused:
        modeladmin.message_user(request, f"Not retried, {line}", messages.WARNING)


def _replanned(retried: list[dict]) -> str:
    """ ", planning N of them again" when some runs failed before they were planned."""
    count = sum(1 for r in retried if r.get("replanned"))
    return f", planning {count} of them again" if count else ""
