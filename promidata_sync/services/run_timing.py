"""Elapsed time, rate and ETA of sync runs, from their counters and their items' timestamps.

The rate of a running run is measured over the last ``RATE_WINDOW_SECONDS`` from the
``updated_at`` of its finished items (an item is saved once more when it ends), so a run that
slows down (images after families, a throttling feed) shows it at once. One grouped query
serves any number of runs (``recent_item_counts``). The arithmetic is ``promidata_sync.eta``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count
from django.utils import timezone

from promidata_sync.eta import (
    RATE_WINDOW_SECONDS,
    Estimate,
    estimate,
    eta_text,
    latest,
    rate_text,
)
from promidata_sync.models import SyncItem, SyncRun

# Items counted by each of a run's counters (a stock run counts its items as families).
COUNTER_KINDS = {
    "families": (SyncItem.Kind.FAMILY, SyncItem.Kind.STOCK),
    "images": (SyncItem.Kind.IMAGE,),
}


@dataclass(frozen=True)
class RunTiming:
    """A run's elapsed seconds, per-counter estimates, and the time until its last counter
    ends (``eta``; a lower bound while ``eta_is_lower_bound``: images still being planned)."""

    elapsed: float | None
    families: Estimate
    images: Estimate
    eta: float | None
    eta_is_lower_bound: bool


def families_settled(run: SyncRun) -> bool:
    """The families' total is final once the run is planned."""
    return bool(run.planned_at or run.finished_at)


def images_settled(run: SyncRun) -> bool:
    """The images' total is final once every family has been written (each written family
    plans its missing images)."""
    families_over = run.families_done + run.families_failed >= run.families_total
    return bool(run.finished_at or (families_settled(run) and families_over))


def recent_item_counts(
    run_ids: list[int], *, window_seconds: float = RATE_WINDOW_SECONDS, now: datetime | None = None
) -> dict[int, dict[str, int]]:
    """``{run_id: {"families": n, "images": n}}``: items of each run that ended (done or
    failed) in the last ``window_seconds``. One query."""
    if not run_ids:
        return {}
    since = (now or timezone.now()) - timedelta(seconds=window_seconds)
    rows = (
        SyncItem.objects.filter(run_id__in=run_ids, updated_at__gte=since)
        .exclude(state=SyncItem.State.PENDING)
        .values("run_id", "kind")
        .annotate(n=Count("id"))
        .order_by()
    )
    counts: dict[int, dict[str, int]] = {run_id: {"families": 0, "images": 0} for run_id in run_ids}
    for row in rows:
        for counter, kinds in COUNTER_KINDS.items():
            if row["kind"] in kinds:
                counts[row["run_id"]][counter] += row["n"]
    return counts


def run_timing(
    run: SyncRun,
    *,
    recent: dict[str, int] | None = None,
    window_seconds: float = RATE_WINDOW_SECONDS,
    now: datetime | None = None,
) -> RunTiming:
    """The timing of ``run``. ``recent`` (from ``recent_item_counts``) gives rates over the
    recent window; without it the rates are since the run started. A finished run has no
    ETA (0); a run not started yet has neither rate nor ETA."""
    now = now or timezone.now()
    elapsed = None
    if run.started_at:
        elapsed = max(((run.finished_at or now) - run.started_at).total_seconds(), 0.0)
    settled = {"families": families_settled(run), "images": images_settled(run)}
    estimates = {}
    for counter in ("families", "images"):
        done = getattr(run, f"{counter}_done") + getattr(run, f"{counter}_failed")
        estimates[counter] = estimate(
            done=done,
            total=getattr(run, f"{counter}_total"),
            elapsed=elapsed,
            settled=settled[counter],
            recent_done=None if recent is None else recent.get(counter, 0),
            recent_seconds=None if recent is None else window_seconds,
        )
    if run.finished_at:
        eta: float | None = 0.0
    elif not settled["families"] or estimates["families"].eta is None:
        eta = None
    else:
        eta = latest(estimates["families"].eta, estimates["images"].eta)
    return RunTiming(
        elapsed=elapsed,
        families=estimates["families"],
        images=estimates["images"],
        eta=eta,
        eta_is_lower_bound=not run.finished_at and not settled["images"],
    )


def timing_summary(run: SyncRun, timing: RunTiming) -> str:
    """The rate and time left of an active run: ``4.2 families/s · ETA 3m 07s`` (``ETA ≥``
    while the images are still being planned), or ``""`` once it ended or before it started.

    The rate is that of the counter being worked on: the families until they are all
    written, then the images. The same words in the admin and on the ``--wait`` lines."""
    if not run.is_active or timing.elapsed is None:
        return ""
    families_left = not families_settled(run) or (
        run.families_done + run.families_failed < run.families_total
    )
    counter, rate = (
        ("families", timing.families.rate) if families_left else ("images", timing.images.rate)
    )
    eta = eta_text(timing.eta, at_least=timing.eta_is_lower_bound)
    return f"{rate_text(rate, counter)} · {eta}" if rate else eta
