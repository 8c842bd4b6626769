"""How runs look in the admin: state badges, progress bars, durations, and their JSON.

The HTML rendered here and the JSON the pages poll (``run_progress``) come from the same
numbers, so ``run_progress.js`` only has to copy values into the elements these functions
render (``data-run-id`` / ``data-run-field`` attributes).
"""

from __future__ import annotations

from django.utils.html import format_html

from promidata_sync.eta import duration_text
from promidata_sync.models import SyncRun
from promidata_sync.queue.waiting import WAITING_TEXT
from promidata_sync.services.run_timing import (
    RunTiming,
    families_settled,
    images_settled,
    run_timing,
    timing_summary,
)

STATE_LABELS = dict(SyncRun.State.choices)


def state_badge(state: str, *, run_id: int | None = None, active: bool | None = None) -> str:
    """A coloured badge for a run state. With ``run_id`` it is the element the poller
    updates, and ``data-run-active`` tells it whether that run still needs polling."""
    label = STATE_LABELS.get(state, state or "never")
    if run_id is None:
        return format_html('<span class="pd-badge pd-badge-{}">{}</span>', state or "none", label)
    if active is None:
        active = state in SyncRun.ACTIVE_STATES
    return format_html(
        '<span class="pd-badge pd-badge-{}" data-run-id="{}" data-run-field="state" '
        'data-run-active="{}">{}</span>',
        state,
        run_id,
        "true" if active else "false",
        label,
    )


def progress_numbers(done: int, failed: int, total: int, *, settled: bool) -> dict:
    """Shares of ``total`` (percentages, rounded down so 100 means really finished).

    ``settled``: the total is final (see ``run_numbers``); nothing to do shows 0 % while the
    total may still grow, 100 % once it is final.
    """
    if total > 0:
        percent = min(done + failed, total) * 100 // total
        done_width = round(min(done, total) * 100 / total, 2)
        failed_width = round(min(failed, total) * 100 / total, 2)
    else:
        percent = 100 if settled else 0
        done_width, failed_width = float(percent), 0.0
    return {
        "done": done,
        "failed": failed,
        "total": total,
        "percent": percent,
        "done_width": done_width,
        "failed_width": failed_width,
        "settled": settled,
    }


def progress_label(numbers: dict, *, waiting: bool = False) -> str:
    if numbers["total"] == 0 and not numbers["settled"]:
        return WAITING_TEXT if waiting else "planning…"
    label = f"{numbers['done'] + numbers['failed']:,} / {numbers['total']:,}"
    if numbers["failed"]:
        label += f" · {numbers['failed']:,} failed"
    return label


def run_numbers(run: SyncRun) -> dict:
    """Families and images progress of ``run`` (see ``progress_numbers``).

    The families' total is final once the run is planned; the images' total only once every
    family has been written (each written family plans its missing images).
    """
    return {
        "families": progress_numbers(
            run.families_done,
            run.families_failed,
            run.families_total,
            settled=families_settled(run),
        ),
        "images": progress_numbers(
            run.images_done, run.images_failed, run.images_total, settled=images_settled(run)
        ),
    }


def progress_bar(run: SyncRun, kind: str, *, waiting: bool = False) -> str:
    """A bar with a done and a failed segment, and a "done / total · failed" label
    ("waiting for a worker" when ``waiting``)."""
    numbers = run_numbers(run)[kind]
    return format_html(
        '<div class="pd-progress" data-run-id="{}" data-run-field="{}" data-percent="{}" '
        'role="progressbar" aria-valuemin="0" aria-valuemax="100" aria-valuenow="{}">'
        '<div class="pd-progress-track">'
        '<span class="pd-progress-done" style="width: {}%"></span>'
        '<span class="pd-progress-failed" style="width: {}%"></span>'
        "</div>"
        '<span class="pd-progress-label">{}</span>'
        "</div>",
        run.pk,
        kind,
        numbers["percent"],
        numbers["percent"],
        numbers["done_width"],
        numbers["failed_width"],
        progress_label(numbers, waiting=waiting),
    )


def timing_text(run: SyncRun, timing: RunTiming, *, waiting: bool = False) -> str:
    """ "waiting for a worker", or the rate and ETA of an active run (``timing_summary``)."""
    return WAITING_TEXT if waiting else timing_summary(run, timing)


def timing_cell(run: SyncRun, *, timing: RunTiming | None = None, waiting: bool = False) -> str:
    """The run's elapsed time and, while it is active, its rate and ETA (``timing_text``)."""
    timing = timing or run_timing(run)
    return format_html(
        '<span data-run-id="{}" data-run-field="duration">{}</span>'
        '<br><span class="pd-muted pd-eta" data-run-id="{}" data-run-field="eta">{}</span>',
        run.pk,
        duration_text(run.duration_seconds),
        run.pk,
        timing_text(run, timing, waiting=waiting),
    )


def run_progress(run: SyncRun, *, timing: RunTiming | None = None, waiting: bool = False) -> dict:
    """What the poller needs to redraw one run (the JSON of the progress endpoint)."""
    numbers = run_numbers(run)
    for kind in ("families", "images"):
        numbers[kind]["label"] = progress_label(numbers[kind], waiting=waiting)
    timing = timing or run_timing(run)
    return {
        "id": run.pk,
        "state": run.state,
        "state_label": STATE_LABELS.get(run.state, run.state),
        "active": run.is_active,
        "duration": duration_text(run.duration_seconds),
        "eta": timing_text(run, timing, waiting=waiting),
        "eta_seconds": timing.eta,
        "waiting_for_worker": waiting,
        **numbers,
    }


def human_size(size: int | None) -> str:
    """Bytes in the largest unit that keeps the number ≥ 1 (``12.3 KB``)."""
    if size is None:
        return "-"
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"
