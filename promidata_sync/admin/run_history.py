"""A supplier's sync history on its admin page: a chart of run durations against the usual
(median) one, and a compact table of the same runs (``services.run_history``)."""

from __future__ import annotations

from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from promidata_sync.admin import display
from promidata_sync.admin.charts import Bar, bar_chart
from promidata_sync.eta import duration_text
from promidata_sync.services.run_history import (
    HISTORY_RUNS,
    RunHistoryRow,
    supplier_run_history,
    usual_seconds,
)

TABLE_ROWS = 10


def _when(row: RunHistoryRow) -> str:
    return timezone.localtime(row.started_at).strftime("%Y-%m-%d %H:%M")


def _run_url(row: RunHistoryRow) -> str:
    return reverse("admin:promidata_sync_syncrun_change", args=[row.run_id])


def _title(row: RunHistoryRow) -> str:
    return (
        f"#{row.run_id} {_when(row)} {display.STATE_LABELS.get(row.state, row.state)}: "
        f"{duration_text(row.seconds)}, {row.families_done:,} families written "
        f"({row.families_failed:,} failed, {row.families_unchanged:,} unchanged), "
        f"{row.images_done:,} images ({row.images_failed:,} failed)"
    )


def sync_history_html(supplier_id: int) -> SafeString:
    """The chart and the table, or a line saying there is no finished sync yet."""
    history = supplier_run_history(supplier_id)
    if not history:
        return format_html('<span class="pd-muted">{}</span>', "No finished sync yet.")
    usual = usual_seconds(history)
    chart = bar_chart(
        [Bar(r.seconds, r.state, _title(r), _run_url(r)) for r in history],
        label=f"Duration of the last {len(history)} syncs",
        value_text=duration_text,
        left_label=_when(history[0]),
        right_label=_when(history[-1]),
        reference=usual,
        reference_label=f"usual {duration_text(usual)}" if usual is not None else "",
    )
    rows = format_html_join(
        "",
        "<tr><td><a href='{}'>#{}</a></td><td class='pd-nowrap'>{}</td><td>{}</td>"
        "<td class='pd-number'>{}</td><td class='pd-number'>{}</td>"
        "<td class='pd-number'>{}</td><td class='pd-number'>{}</td></tr>",
        (
            (
                _run_url(r),
                r.run_id,
                _when(r),
                display.state_badge(r.state),
                duration_text(r.seconds),
                f"{r.families_done:,}",
                f"{r.families_failed:,}",
                f"{r.images_done:,}",
            )
            for r in reversed(history[-TABLE_ROWS:])
        ),
    )
    return format_html(
        '<div class="pd-history" id="pd-sync-history">{}'
        '<p class="help">The last {} finished syncs (at most {}), oldest on the left; the '
        "dashed line is the usual (median) duration. Click a bar to open its run.</p>"
        '<table class="pd-numbers pd-history-table"><thead><tr><th>Run</th><th>Started</th>'
        "<th>State</th><th>Duration</th><th>Families</th><th>Failed</th><th>Images</th>"
        "</tr></thead><tbody>{}</tbody></table></div>",
        chart,
        len(history),
        HISTORY_RUNS,
        rows,
    )
