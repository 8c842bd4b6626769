"""Plain-text summaries of sync runs, for commands and logs."""

from __future__ import annotations

from promidata_sync.models import SyncItem, SyncRun
from promidata_sync.redaction import mask_url

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


def format_runs(runs: list[SyncRun]) -> list[str]:
    """A table with one row per run and a total row."""
    rows = []
    totals = dict.fromkeys((f for _, f in COLUMNS if f), 0)
    for run in runs:
        row = [run.supplier.code, run.state]
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
            key = mask_url(failure.key) if "://" in failure.key else failure.key
            lines.append(f"  {run.supplier.code} {failure.kind} {key}: {failure.error}")
        if len(failures) > FAILURES_SHOWN:
            lines.append(f"  … more failures of {run.supplier.code}: see sync run #{run.pk}")
        for message in filter(None, run.message.splitlines()):
            lines.append(f"  {run.supplier.code}: {message}")
    return lines


def format_report(report) -> str:
    lines = []
    if report.index_error:
        lines.append(f"Feed unreadable: {report.index_error}")
    else:
        lines.append(
            f"Import.txt read: {report.malformed_lines} malformed and "
            f"{report.duplicate_lines} duplicate lines skipped; "
            f"{report.categories} categories"
            + (f" ({report.categories_error})" if report.categories_error else "")
        )
    if report.runs:
        lines += format_runs(report.runs)
    problems = format_failures(report.runs) + [f"  {e}" for e in report.errors]
    if problems:
        lines.append("Problems:")
        lines += problems
    lines.append(f"Finished in {report.seconds:.1f}s: {'OK' if report.ok else 'with failures'}")
    return "\n".join(lines) + "\n"
