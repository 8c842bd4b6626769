"""Summaries of sync runs for commands and logs: text tables, failure lines, JSON documents.

One state vocabulary: text shows a run's state by its display label ("Completed with
failures"), the same words as the admin; JSON carries the code ("partial").
"""

from __future__ import annotations

from promidata_sync.models import SyncItem, SyncRun
from promidata_sync.redaction import mask_url, redact
from promidata_sync.services.runs import SUMMARY_FIELDS

COLUMNS = [
    ("supplier", None),
    ("state", None),
    ("new", "families_new"),
    ("updated", "families_updated"),
    ("unchanged", "families_unchanged"),
    ("failed", "families_failed"),
    ("deact.", "families_deactivated"),
    ("variants", "variants_written"),
    ("tiers", "price_tiers_written"),
    ("img dl", "images_downloaded"),
    ("img reused", "images_reused"),
    ("img failed", "images_failed"),
    ("warnings", "warnings"),
]
FAILURES_SHOWN = 20
# A JSON document lists at most this many failures per run (and says how many there were).
FAILURES_IN_JSON = 1000


def state_label(run: SyncRun) -> str:
    """The run's state in the admin's words ("Completed with failures", not "partial")."""
    return str(SyncRun.State(run.state).label)


def format_runs(runs: list[SyncRun]) -> list[str]:
    """A table with one row per run and a total row."""
    rows = []
    totals = dict.fromkeys((f for _, f in COLUMNS if f), 0)
    for run in runs:
        row = [run.supplier.code, state_label(run)]
        for _, field in COLUMNS[2:]:
            value = getattr(run, field)
            totals[field] += value
            row.append(str(value))
        rows.append(row)
    if len(runs) > 1:
        rows.append(["total", ""] + [str(totals[f]) for _, f in COLUMNS[2:]])
    header = [name for name, _ in COLUMNS]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    return [_format_row(row, widths) for row in [header, *rows]]


def _format_row(row: list[str], widths: list[int]) -> str:
    # Names left-aligned, numbers right-aligned.
    cells = zip(row, widths, strict=True)
    return "  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(cells))


def format_failures(runs: list[SyncRun]) -> list[str]:
    lines = []
    for run in runs:
        failures = list(
            SyncItem.objects.filter(run=run, state=SyncItem.State.FAILED).order_by("kind", "id")[
                : FAILURES_SHOWN + 1
            ]
        )
        for failure in failures[:FAILURES_SHOWN]:
            lines.append(
                f"  {run.supplier.code} {failure.kind} {_shown_key(failure.key)}: {failure.error}"
            )
        if len(failures) > FAILURES_SHOWN:
            lines.append(f"  … more failures of {run.supplier.code}: see sync run #{run.pk}")
        for message in filter(None, run.message.splitlines()):
            lines.append(f"  {run.supplier.code}: {message}")
    return lines


def _shown_key(key: str) -> str:
    return mask_url(key) if "://" in key else key


def failure_lines(runs: list[SyncRun]) -> list[str]:
    """One line per failure of the runs that did not complete cleanly (what goes to stderr).

    A completed run's messages are warnings, not failures: it gives no line.
    """
    lines = []
    for run in runs:
        if run.state == SyncRun.State.COMPLETED:
            continue
        found = [line.strip() for line in format_failures([run])]
        lines += found or [f"{run.supplier.code}: sync run #{run.pk} ended {state_label(run)}"]
    return lines


def warning_lines(runs: list[SyncRun]) -> list[str]:
    """The messages of the runs that completed cleanly (warnings: they go to stdout)."""
    return [
        f"  {run.supplier.code}: {message}"
        for run in runs
        if run.state == SyncRun.State.COMPLETED
        for message in filter(None, run.message.splitlines())
    ]


def malformed_lines(report) -> list[str]:
    """The malformed Import.txt lines of a direct report, masked (their URLs hold the GUID)."""
    return [
        f"  Import.txt line {m.line_number}: {m.reason}: {redact(m.text)}" for m in report.malformed
    ]


def format_report(report, *, list_malformed: bool = False) -> str:
    """The text summary of a direct sync (stdout). Failures are not in it: they are
    ``failure_lines`` on stderr. ``list_malformed`` (``-v 2``) lists the skipped lines."""
    lines = []
    if not report.index_error:  # an unreadable feed is a failure: stderr says it
        lines.append(
            f"Import.txt read: {report.malformed_lines} malformed and "
            f"{report.duplicate_lines} duplicate lines skipped; "
            f"{report.categories} categories"
            + (f" ({report.categories_error})" if report.categories_error else "")
        )
        if list_malformed and report.malformed:
            lines.append("Malformed Import.txt lines:")
            lines += malformed_lines(report)
    if report.runs:
        lines += format_runs(report.runs)
    warnings = warning_lines(report.runs)
    if warnings:
        lines.append("Warnings:")
        lines += warnings
    lines.append(f"Finished in {report.seconds:.1f}s: {'OK' if report.ok else 'with failures'}")
    return "\n".join(lines) + "\n"


def run_document(run: SyncRun) -> dict:
    """A run as JSON-ready data for ``--json``: identity, state code and label, counters,
    duration and failures (kind, key, error; URLs masked), at most ``FAILURES_IN_JSON``."""
    failed = SyncItem.objects.filter(run=run, state=SyncItem.State.FAILED).order_by("kind", "id")
    failures = [
        {"kind": kind, "key": _shown_key(key), "error": error}
        for kind, key, error in failed.values_list("kind", "key", "error")[:FAILURES_IN_JSON]
    ]
    duration = run.duration_seconds
    return {
        "id": run.pk,
        "supplier": run.supplier.code,
        "kind": run.kind,
        "mode": run.mode,
        "trigger": run.trigger,
        "state": run.state,
        "state_label": state_label(run),
        "finished": run.finished_at is not None,
        "counters": {field: getattr(run, field) for field in SUMMARY_FIELDS},
        "duration_seconds": round(duration, 3) if duration is not None else None,
        "started_at": run.started_at.isoformat() if run.started_at else None,
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "message": run.message,
        "failures": failures,
        "failures_total": failed.count() if len(failures) == FAILURES_IN_JSON else len(failures),
    }
