"""The Queues page: pause and resume queues (or everything, or a supplier's syncs), purge a
queue's waiting jobs and clear its dead letters after a confirmation, retry one failed job.

Mounted by ``config/urls.py`` at ``admin/promidata_sync/queues/`` through
``admin.site.admin_view``. Reading needs what the dashboard needs; every action needs
``promidata_sync.operate_sync`` (403 otherwise) and is recorded (``QueueAction``, shown at
the foot of the page). Actions are POSTs answered by a redirect, so a reload repeats none.
The logic is ``promidata_sync.queue_control``'s; this view validates and reports.
"""

from __future__ import annotations

import logging

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.cache import never_cache

from promidata_sync import queue_control
from promidata_sync.admin.dashboard import broker_status, recent_failed_jobs
from promidata_sync.admin.permissions import can_operate, require_operate
from promidata_sync.models import Job, Pause, QueueAction, SyncRun
from promidata_sync.operations import get_queue_stats
from promidata_sync.queue.broker import BrokerUnavailable
from promidata_sync.queue.registry import QUEUE_NAMES
from promidata_sync.services.runs import RunAlreadyActive

log = logging.getLogger(__name__)

DEAD_LETTERS_PER_QUEUE = 20
FAILED_JOBS_SHOWN = 20
ACTIONS_SHOWN = 20
CONFIRMED_ACTIONS = {"purge", "clear_dead"}


@never_cache
def queues_view(request):
    user = request.user
    if not (user.has_perm("promidata_sync.view_syncrun") or can_operate(user)):
        raise PermissionDenied("you may not view sync runs")
    if request.method == "POST":
        require_operate(request)
        action = request.POST.get("action", "")
        if action in CONFIRMED_ACTIONS and request.POST.get("confirm") != "yes":
            return _confirmation(request, action, request.POST.get("queue", ""))
        _act(request, action)
        return HttpResponseRedirect(reverse("promidata_sync_queues"))
    return TemplateResponse(request, "admin/promidata_sync/queues.html", _context(request))


def _act(request, action: str) -> None:
    """Run one posted action and say what it did; never a traceback on the page."""
    post, user = request.POST, request.user
    queue = post.get("queue", "")
    try:
        if action in ("pause", "resume"):
            scope = post.get("scope", Pause.Scope.QUEUE)
            if scope not in Pause.Scope.values:
                raise ValueError("unknown pause scope")
            name = post.get("name", queue).strip()
            if scope == Pause.Scope.SUPPLIER and not name:
                raise ValueError("name the supplier to pause")
            act = queue_control.pause if action == "pause" else queue_control.resume
            changed = act(user=user, scope=scope, name=name)
            target = queue_control.target_label(scope, name)
            verb = "paused" if action == "pause" else "resumed"
            text = f"{target.capitalize()} {verb}." if changed else f"{target} was already so."
            messages.success(request, text)
        elif action == "purge":
            count = queue_control.purge_waiting(queue, user=user)
            messages.success(request, f"{count} waiting job(s) of {queue} dropped.")
        elif action == "clear_dead":
            count = queue_control.dead_letters_clear(queue, user=user)
            messages.success(request, f"{count} dead letter(s) of {queue} deleted.")
        elif action == "retry_job":
            job = Job.objects.filter(job_id=post.get("job_id", "")).first()
            if job is None:
                raise ValueError("no such job")
            result = queue_control.retry_job(job, user=user)
            if result["jobs"]:
                messages.success(request, f"Job {job.job_id} retried: run #{job.run_id}.")
            else:
                messages.info(request, f"Job {job.job_id}: nothing to retry (already queued).")
        elif action == "retry_family":
            run = SyncRun.objects.filter(pk=_int(post.get("run_id", ""))).first()
            sku = post.get("family_sku", "").strip()
            if run is None or not sku:
                raise ValueError("name a run and a family SKU")
            result = queue_control.retry_family(run, sku, user=user)
            if result["jobs"]:
                messages.success(request, f"Family {sku} of run #{run.pk} retried.")
            else:
                messages.info(
                    request, f"Family {sku} of run #{run.pk}: nothing to retry (not failed)."
                )
        else:
            messages.error(request, "That action was not understood.")
    except (ValueError, BrokerUnavailable, RunAlreadyActive) as exc:
        messages.error(request, f"Not done: {exc}")
    except Exception as exc:  # the broker broke mid-way: one line, the trace in the log
        log.exception("queue action %s failed", action)
        messages.error(request, f"Not done: {type(exc).__name__} (see the log)")


def _int(text: str) -> int | None:
    return int(text) if text.isascii() and text.isdigit() and len(text) < 19 else None


def _confirmation(request, action: str, queue: str):
    if queue not in QUEUE_NAMES:
        messages.error(request, f"Not done: unknown queue {queue!r}")
        return HttpResponseRedirect(reverse("promidata_sync_queues"))
    question = {
        "purge": f"Drop every job waiting in {queue}? Their families and images fail "
        '("purged by you") and their runs end partial. Running and delayed jobs stay.',
        "clear_dead": f"Delete every dead letter of {queue}? Their job records stay (failed).",
    }[action]
    context = {
        **admin.site.each_context(request),
        "title": "Are you sure?",
        "question": question,
        "action": action,
        "queue": queue,
    }
    return TemplateResponse(request, "admin/promidata_sync/queue_confirmation.html", context)


def _context(request) -> dict:
    broker = broker_status()
    stats: dict = {}
    error = ""
    if broker["reachable"]:
        try:
            stats = get_queue_stats()["queues"]
        except Exception as exc:
            log.warning("queue statistics unavailable: %s", exc)
            error = f"Queue statistics unavailable: {type(exc).__name__}"
    paused = {(p.scope, p.name): p for p in Pause.objects.all()}
    queues = []
    for name in QUEUE_NAMES:
        letters: list = []
        if broker["reachable"]:
            try:
                letters = queue_control.dead_letters(name, limit=DEAD_LETTERS_PER_QUEUE)
            except Exception as exc:
                log.warning("dead letters of %s unavailable: %s", name, exc)
        queues.append(
            {
                "name": name,
                "counts": stats.get(name, {}),
                "pause": paused.get((Pause.Scope.QUEUE, name)),
                "dead_letters": letters,
            }
        )
    return {
        **admin.site.each_context(request),
        "title": "Queues",
        "broker": broker,
        "stats_error": error,
        "queues": queues,
        "any_dead_letters": any(q["dead_letters"] for q in queues),
        "everything_paused": paused.get((Pause.Scope.ALL, "")),
        "supplier_pauses": [p for p in paused.values() if p.scope == Pause.Scope.SUPPLIER],
        "failed_jobs": recent_failed_jobs(FAILED_JOBS_SHOWN, of_runs=True),
        "actions": QueueAction.objects.all()[:ACTIONS_SHOWN],
        "can_operate": can_operate(request.user),
    }
