"""How long a supplier's syncs take, run after run: the data of its history chart."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from statistics import median

from promidata_sync.models import SyncRun

HISTORY_RUNS = 30


@dataclass(frozen=True)
class RunHistoryRow:
    """One finished run: when, how it ended, how long it took, what it did."""

    run_id: int
    state: str
    trigger: str
    started_at: datetime
    seconds: float
    families_done: int
    families_failed: int
    families_unchanged: int
    images_done: int
    images_failed: int


def supplier_run_history(supplier_id: int, *, limit: int = HISTORY_RUNS) -> list[RunHistoryRow]:
    """The last ``limit`` finished catalog runs of the supplier that started, oldest first.
    One query; stock runs (minutes, hourly) would drown the nightly syncs."""
    rows = (
        SyncRun.objects.filter(
            supplier_id=supplier_id,
            kind=SyncRun.Kind.CATALOG,
            started_at__isnull=False,
            finished_at__isnull=False,
        )
        .order_by("-finished_at", "-id")
        .values(
            "id",
            "state",
            "trigger",
            "started_at",
            "finished_at",
            "families_done",
            "families_failed",
            "families_unchanged",
            "images_done",
            "images_failed",
        )[:limit]
    )
    history = []
    for row in rows:
        started, finished = row["started_at"], row["finished_at"]
        if started is None or finished is None:  # filtered out above; for the type checker
            continue
        history.append(
            RunHistoryRow(
                run_id=row["id"],
                state=row["state"],
                trigger=row["trigger"],
                started_at=started,
                seconds=max((finished - started).total_seconds(), 0.0),
                families_done=row["families_done"],
                families_failed=row["families_failed"],
                families_unchanged=row["families_unchanged"],
                images_done=row["images_done"],
                images_failed=row["images_failed"],
            )
        )
    return history[::-1]


def usual_seconds(history: list[RunHistoryRow]) -> float | None:
    """The median duration of the runs that completed (with or without failures): what
    "usual" means when tonight's sync looks slow."""
    finished = [r.seconds for r in history if r.state in (SyncRun.State.COMPLETED, "partial")]
    return median(finished) if finished else None
