"""The Prometheus metrics of the sync system: what ``GET /metrics`` answers.

A custom ``prometheus_client`` collector on a registry of its own (not the library's global
one, so nothing else a library registers there leaks out, and a test can read it alone). On
each scrape it reads the figures from our records (``services.metrics``: a constant number
of aggregate queries) and asks the broker for its queue lengths; nothing is kept between
scrapes, so every web process answers the same.

The broker may be down: the answer then says ``promidata_broker_up 0`` and carries no broker
figures, and everything read from the database is still there. The names and labels are
listed in docs/metrics.md; ``METRIC_NAMES`` is the set this module exports.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from promidata_sync.queue.broker import broker_check, broker_counts
from promidata_sync.queue.reconcile import LOST, STALLED_NOTE
from promidata_sync.queue.registry import QUEUE_NAMES
from promidata_sync.services.metrics import Figures, ReconcilerTexts, metrics_read

log = logging.getLogger(__name__)

BROKER_STATES = ("waiting", "active", "delayed", "dead")


def figures_read() -> Figures:
    return metrics_read(
        queue_names=QUEUE_NAMES,
        reconciler=ReconcilerTexts(stalled_note=STALLED_NOTE, lost_error=LOST),
    )


class SyncCollector:
    """Yields every metric family on each ``collect()`` (one database read per scrape)."""

    def describe(self) -> list[Metric]:
        # Registering must not read the database (it happens at import time).
        return []

    def collect(self) -> Iterator[Metric]:
        figures = figures_read()
        yield from _run_metrics(figures)
        yield from _supplier_metrics(figures)
        yield from _queue_metrics(figures)
        yield from _broker_metrics()


def _run_metrics(figures: Figures) -> Iterator[Metric]:
    runs = GaugeMetricFamily(
        "promidata_runs", "Sync runs recorded, by kind and state.", labels=["kind", "state"]
    )
    active = GaugeMetricFamily(
        "promidata_runs_active", "Sync runs queued or running, by kind.", labels=["kind"]
    )
    active_by_kind: dict[str, int] = {}
    for (kind, state), n in sorted(figures.runs_by_state.items()):
        runs.add_metric([kind, state], n)
        if state in ("queued", "running"):
            active_by_kind[kind] = active_by_kind.get(kind, 0) + n
    for kind, n in sorted(active_by_kind.items()):
        active.add_metric([kind], n)
    actions = CounterMetricFamily(
        "promidata_reconciler_actions",
        "What the reconciler did, counted from the records it left: dead runs finished, "
        "stalled runs resumed, job records marked lost.",
        labels=["action"],
    )
    for action, n in sorted(figures.reconciler_actions.items()):
        actions.add_metric([action], n)
    yield from (runs, active, actions)


def _supplier_metrics(figures: Figures) -> Iterator[Metric]:
    families = CounterMetricFamily(
        "promidata_run_families",
        "New or changed families processed by sync runs (stock runs: families read), by result.",
        labels=["supplier", "kind", "result"],
    )
    images = CounterMetricFamily(
        "promidata_run_images",
        "Images processed by sync runs, by result.",
        labels=["supplier", "result"],
    )
    duration = GaugeMetricFamily(
        "promidata_run_duration_seconds",
        "Duration of the supplier's last finished run of this kind.",
        labels=["supplier", "kind"],
    )
    last_success = GaugeMetricFamily(
        "promidata_supplier_last_success_timestamp_seconds",
        "When the supplier's last successful run (completed, or completed with failures) "
        "ended, Unix time; absent: never.",
        labels=["supplier", "kind"],
    )
    since_success = GaugeMetricFamily(
        "promidata_supplier_last_success_age_seconds",
        "Seconds since the supplier's last successful run ended; +Inf: never.",
        labels=["supplier", "kind"],
    )
    now = figures.read_at.timestamp()
    for row in figures.suppliers:
        families.add_metric([row.supplier, row.kind, "done"], row.families_done)
        families.add_metric([row.supplier, row.kind, "failed"], row.families_failed)
        if row.kind == "catalog":
            images.add_metric([row.supplier, "done"], row.images_done)
            images.add_metric([row.supplier, "failed"], row.images_failed)
        if row.last_duration_seconds is not None:
            duration.add_metric([row.supplier, row.kind], row.last_duration_seconds)
        if not row.active:
            continue
        if row.last_success_at is None:
            since_success.add_metric([row.supplier, row.kind], math.inf)
        else:
            ended = row.last_success_at.timestamp()
            last_success.add_metric([row.supplier, row.kind], ended)
            since_success.add_metric([row.supplier, row.kind], max(0.0, now - ended))
    yield from (families, images, duration, last_success, since_success)


def _queue_metrics(figures: Figures) -> Iterator[Metric]:
    jobs = GaugeMetricFamily(
        "promidata_queue_jobs",
        "Job records (one per queued message, kept by the job middleware), by queue and state.",
        labels=["queue", "state"],
    )
    for (queue, state), n in sorted(figures.jobs_by_state.items()):
        jobs.add_metric([queue, state], n)
    workers = GaugeMetricFamily(
        "promidata_workers_alive",
        "Worker processes consuming the queue that sent a heartbeat in the last minute.",
        labels=["queue"],
    )
    threads = GaugeMetricFamily(
        "promidata_worker_threads",
        "Threads of the live worker processes consuming the queue.",
        labels=["queue"],
    )
    for queue in QUEUE_NAMES:
        workers.add_metric([queue], figures.workers_alive.get(queue, 0))
        threads.add_metric([queue], figures.worker_threads.get(queue, 0))
    yield from (jobs, workers, threads)


def _broker_metrics() -> Iterator[Metric]:
    up = GaugeMetricFamily(
        "promidata_broker_up", "1 when the broker answered this scrape, 0 when it did not."
    )
    messages = GaugeMetricFamily(
        "promidata_broker_messages",
        "Messages the broker holds, by queue and state (waiting, active: fetched and not yet "
        "acknowledged, delayed: waiting for a retry, dead: given up).",
        labels=["queue", "state"],
    )
    try:
        broker_check()
        counts = {queue: broker_counts(queue) for queue in QUEUE_NAMES}
    except Exception as exc:  # BrokerUnavailable, or a broker that fails half-way
        # BrokerUnavailable's text names the broker with its password masked.
        log.warning("metrics: no broker figures: %s", exc)
        up.add_metric([], 0)
        yield up
        return
    up.add_metric([], 1)
    for queue, by_state in counts.items():
        for state in BROKER_STATES:
            messages.add_metric([queue, state], by_state.get(state, 0))
    yield from (up, messages)


REGISTRY = CollectorRegistry(auto_describe=False)
REGISTRY.register(SyncCollector())


def metrics_exposition() -> bytes:
    """The whole answer, in Prometheus' text exposition format (version 0.0.4)."""
    return generate_latest(REGISTRY)
