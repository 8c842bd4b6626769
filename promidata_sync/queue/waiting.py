"""Which queued runs wait for a worker that is not there.

A queued run starts when a worker of its first stage takes its message: the supplier-sync
queue for a catalog run, the stock-sync queue for a stock run. With a persistent broker and
no live worker (heartbeat) on that queue, it waits, and the displays say so instead of a
meaningless "0/0". The in-memory broker runs its jobs in the process that queued them: a run
there never waits for another process.
"""

from __future__ import annotations

from collections.abc import Iterable

from promidata_sync.models import SyncRun
from promidata_sync.queue.broker import is_persistent
from promidata_sync.queue.registry import STOCK, SUPPLIER
from promidata_sync.services.workers import queues_live

FIRST_QUEUE: dict[str, str] = {
    SyncRun.Kind.CATALOG: SUPPLIER.queue_name,
    SyncRun.Kind.STOCK: STOCK.queue_name,
}
WAITING_TEXT = "waiting for a worker"


def first_queue(run: SyncRun) -> str:
    return FIRST_QUEUE.get(run.kind, SUPPLIER.queue_name)


def runs_waiting_for_worker(runs: Iterable[SyncRun]) -> set[int]:
    """Ids of the queued ``runs`` no live worker will start. One query, none when no run on
    the list is queued."""
    queued = [run for run in runs if run.state == SyncRun.State.QUEUED]
    if not queued or not is_persistent():
        return set()
    live = queues_live()
    return {run.pk for run in queued if first_queue(run) not in live}
