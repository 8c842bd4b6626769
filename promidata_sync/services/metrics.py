"""The figures behind the Prometheus endpoint, read from our own records.

Every function here is a constant number of aggregate queries, whatever the number of runs,
jobs or families: the database groups and sums, Python only reshapes the few rows that come
back. Labels are bounded: supplier codes, run kinds and states, queue names and fixed words;
never a SKU, a URL or a message.

What "reconciler actions" are counted from (the reconciler keeps no counter of its own; its
records are the truth and survive restarts of any process):

- ``dead_run_finished``: runs finished with ``runs.PROCESS_DIED`` (their process died);
- ``stalled_run_resumed``: the reconciler's lines "the reconciler found this run stalled" in
  run messages (a run resumed twice has two; a message is bounded, so lines past its limit are
  not counted);
- ``job_lost``: job records the reconciler marked lost (``queue.reconcile.LOST``). Job
  records are pruned after ``PROMIDATA_JOB_RETENTION_DAYS``: the count then drops, which
  Prometheus reads as a counter reset.

The caller passes the reconciler's texts and the queue names: services do not import the
queue layer.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import (
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    IntegerField,
    Max,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, Length, Replace
from django.utils import timezone

from catalog.models import Supplier
from promidata_sync.models import Job, SyncRun, WorkerHeartbeat
from promidata_sync.services.runs import PROCESS_DIED
from promidata_sync.services.workers import LIVE_SECONDS

# Runs that count as a success for "time since the last successful sync": the run read the
# feed and ended; failures of single families or images are in their own counters.
SUCCESS_STATES = (SyncRun.State.COMPLETED, SyncRun.State.PARTIAL)
RUN_KINDS = tuple(SyncRun.Kind.values)
RUN_STATES = tuple(SyncRun.State.values)
JOB_STATES = tuple(Job.State.values)


@dataclass(frozen=True)
class SupplierRuns:
    """One supplier's figures for one run kind."""

    supplier: str
    kind: str
    active: bool  # inactive suppliers are not synced: their last success tells nothing
    families_done: int
    families_failed: int
    images_done: int
    images_failed: int
    last_success_at: datetime | None
    last_duration_seconds: float | None  # of its last finished run that had started


@dataclass(frozen=True)
class ReconcilerTexts:
    """What the reconciler writes on the records it acts on (see the module docstring)."""

    stalled_note: str
    lost_error: str


@dataclass
class Figures:
    """Everything the endpoint exports from the database, read at ``read_at``."""

    read_at: datetime
    runs_by_state: dict[tuple[str, str], int]  # (kind, state) -> runs, every pair present
    suppliers: list[SupplierRuns]
    reconciler_actions: dict[str, int]
    jobs_by_state: dict[tuple[str, str], int]  # (queue, state) -> job records
    workers_alive: dict[str, int]  # queue -> live workers consuming it
    worker_threads: dict[str, int] = field(default_factory=dict)  # queue -> their threads


def metrics_read(*, queue_names: tuple[str, ...], reconciler: ReconcilerTexts) -> Figures:
    """Read every figure: eight queries, whatever the size of the records. Read-only."""
    queue_names = tuple(queue_names)
    workers, threads = _workers_alive(queue_names)
    return Figures(
        read_at=timezone.now(),
        runs_by_state=_runs_by_state(),
        suppliers=_supplier_runs(),
        reconciler_actions=_reconciler_actions(queue_names, reconciler),
        jobs_by_state=_jobs_by_state(queue_names),
        workers_alive=workers,
        worker_threads=threads,
    )


def _runs_by_state() -> dict[tuple[str, str], int]:
    counts = dict.fromkeys(((k, s) for k in RUN_KINDS for s in RUN_STATES), 0)
    rows = SyncRun.objects.values_list("kind", "state").annotate(n=Count("id")).order_by()
    for kind, state, n in rows:
        counts[(kind, state)] = n
    return counts


def _supplier_runs() -> list[SupplierRuns]:
    """Per (supplier, kind): summed counters over all its runs (finished or going on, so a
    rate moves while a long sync runs), its last success and its last run's duration.

    Catalog figures for every active supplier (one never synced has no last success: an
    operator wants to see that); stock figures only where the supplier has had a stock run,
    so a profile without stock does not look like one whose stock never succeeds.
    """
    sums = {
        (code, kind): (fd or 0, ff or 0, idone or 0, ifail or 0, last_ok)
        for code, kind, fd, ff, idone, ifail, last_ok in SyncRun.objects.values_list(
            "supplier__code", "kind"
        )
        .annotate(
            fd=Sum("families_done"),
            ff=Sum("families_failed"),
            idone=Sum("images_done"),
            ifail=Sum("images_failed"),
            last_ok=Max("finished_at", filter=Q(state__in=SUCCESS_STATES)),
        )
        .order_by()
    }
    suppliers = list(
        Supplier.objects.annotate(
            **{f"last_{kind}": Subquery(_last_finished(kind)) for kind in RUN_KINDS}
        ).values_list("code", "is_active", *(f"last_{kind}" for kind in RUN_KINDS))
    )
    last_runs = {
        (code, kind): run_id
        for code, _active, *run_ids in suppliers
        for kind, run_id in zip(RUN_KINDS, run_ids, strict=True)
        if run_id is not None
    }
    seconds = dict(
        SyncRun.objects.filter(pk__in=list(last_runs.values()))
        .annotate(duration=ExpressionWrapper(F("finished_at") - F("started_at"), DurationField()))
        .values_list("pk", "duration")
    )
    durations = {key: seconds.get(run_id) for key, run_id in last_runs.items()}
    active = {code for code, is_active, *_ in suppliers if is_active}
    keys = set(sums) | {(code, SyncRun.Kind.CATALOG.value) for code in active}
    found = []
    for code, kind in sorted(keys):
        fd, ff, idone, ifail, last_ok = sums.get((code, kind), (0, 0, 0, 0, None))
        duration = durations.get((code, kind))
        found.append(
            SupplierRuns(
                supplier=code,
                kind=kind,
                active=code in active,
                families_done=fd,
                families_failed=ff,
                images_done=idone,
                images_failed=ifail,
                last_success_at=last_ok,
                last_duration_seconds=None if duration is None else duration.total_seconds(),
            )
        )
    return found


def _last_finished(kind: str):
    """The id of a supplier's last finished run of ``kind`` that had started (a subquery per
    supplier, through the (supplier, created_at) index)."""
    return (
        SyncRun.objects.filter(
            supplier=OuterRef("pk"),
            kind=kind,
            finished_at__isnull=False,
            started_at__isnull=False,
        )
        .order_by("-finished_at", "-pk")
        .values("pk")[:1]
    )


def _reconciler_actions(queue_names: tuple[str, ...], texts: ReconcilerTexts) -> dict[str, int]:
    note = texts.stalled_note
    # Occurrences of the note in each message: (length - length without the note) / its length.
    occurrences = ExpressionWrapper(
        (Length("message") - Length(Replace("message", Value(note), Value("")))) / len(note),
        IntegerField(),
    )
    runs = SyncRun.objects.aggregate(
        dead=Count("id", filter=Q(state=SyncRun.State.FAILED, message__contains=PROCESS_DIED)),
        resumed=Coalesce(Sum(occurrences, filter=Q(message__contains=note)), 0),
    )
    # queue_name first: the (queue_name, state) index finds the few failed records.
    lost = Job.objects.filter(
        queue_name__in=queue_names, state=Job.State.FAILED, error=texts.lost_error
    ).count()
    return {
        "dead_run_finished": runs["dead"],
        "stalled_run_resumed": runs["resumed"],
        "job_lost": lost,
    }


def _jobs_by_state(queue_names: tuple[str, ...]) -> dict[tuple[str, str], int]:
    counts = dict.fromkeys(((q, s) for q in queue_names for s in JOB_STATES), 0)
    rows = (
        Job.objects.filter(queue_name__in=queue_names)
        .values_list("queue_name", "state")
        .annotate(n=Count("id"))
        .order_by()
    )
    for queue, state, n in rows:
        counts[(queue, state)] = n
    return counts


def _workers_alive(queue_names: tuple[str, ...]) -> tuple[dict[str, int], dict[str, int]]:
    """Live workers (heard from within ``LIVE_SECONDS``) and their threads, per queue. One
    row per worker process: a handful, however much work there is."""
    since = timezone.now() - timedelta(seconds=LIVE_SECONDS)
    alive: Counter[str] = Counter(dict.fromkeys(queue_names, 0))
    threads: Counter[str] = Counter(dict.fromkeys(queue_names, 0))
    for queues, n_threads in WorkerHeartbeat.objects.filter(last_seen_at__gte=since).values_list(
        "queues", "threads"
    ):
        for queue in set(queues or ()) & set(queue_names):
            alive[queue] += 1
            threads[queue] += n_threads
    return dict(alive), dict(threads)
