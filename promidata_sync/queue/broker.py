"""The broker as operators and the reconciler see it: which one it is, is it reachable, how
long are the queues, which messages does it still hold.

Each question is one function here that answers for every broker (Redis, RabbitMQ, the
in-memory one), so callers never ask which broker runs (docs/brokers.md):

- Redis: Dramatiq's Redis layout is read directly for what Dramatiq has no API for:
  ``dramatiq:<queue>`` (waiting ids), ``dramatiq:<queue>.DQ`` (delayed ids),
  ``dramatiq:<queue>.XQ`` (dead letters, a sorted set), ``dramatiq:<queue>.msgs`` (every
  message held, by id) and ``dramatiq:__acks__.<worker>.<queue>`` (fetched, not yet
  acknowledged). A dead worker's messages come back through heartbeats and maintenance.
- RabbitMQ: queues are durable and messages persistent (they survive a broker restart), and
  a consumer's unacknowledged messages go back to their queue the moment its connection
  drops, so heartbeat and maintenance are no-ops. RabbitMQ cannot be asked about one message
  by id: a message is taken as held while its job record is open and the broker answers, and
  as running while the worker named on its record still beats. Queue lengths come from a
  passive ``queue_declare`` of ``<queue>``, ``<queue>.DQ`` and ``<queue>.XQ``.
"""

from __future__ import annotations

import logging
import threading
import time

import dramatiq
from django.conf import settings
from dramatiq.brokers.rabbitmq import RabbitmqBroker
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker
from dramatiq.common import xq_name

from promidata_sync.queue import rabbitmq
from promidata_sync.queue.registry import QUEUE_NAMES, STAGES
from promidata_sync.redaction import masked_redis_url, redact

log = logging.getLogger(__name__)


class BrokerUnavailable(Exception):
    """The configured broker cannot be reached; the message names it, password masked."""


BROKER_NAMES = {"redis": "Redis", "rabbitmq": "RabbitMQ", "memory": "the in-memory broker"}


def broker_kind() -> str:
    """``"redis"``, ``"rabbitmq"`` or ``"memory"``: the broker this process enqueues into."""
    broker = dramatiq.get_broker()
    if isinstance(broker, RedisBroker):
        return "redis"
    if isinstance(broker, RabbitmqBroker):
        return "rabbitmq"
    return "memory"


def is_persistent() -> bool:
    """True with Redis or RabbitMQ; False for the in-memory broker (jobs die with the
    process)."""
    return broker_kind() != "memory"


def broker_location() -> str:
    """Which broker, and where, with its password masked: ``Redis at redis://…``."""
    kind = broker_kind()
    if kind == "redis":
        return f"Redis at {masked_redis_url(settings.REDIS_URL)}"
    if kind == "rabbitmq":
        return f"RabbitMQ at {masked_redis_url(settings.BROKER_URL)}"
    return BROKER_NAMES[kind]


def broker_check() -> None:
    """Raise ``BrokerUnavailable`` with one clear line if the broker cannot be reached."""
    broker = dramatiq.get_broker()
    try:
        if isinstance(broker, RedisBroker):
            broker.client.ping()
        elif isinstance(broker, RabbitmqBroker):
            rabbitmq.ping(broker)
        else:
            return
    except Exception as exc:
        setting = "REDIS_URL" if isinstance(broker, RedisBroker) else "BROKER_URL"
        detail = redact(f"{type(exc).__name__}: {exc}".rstrip(": "))
        raise BrokerUnavailable(
            f"{broker_location()} is unreachable ({detail}); is it running and is {setting} right?"
        ) from None


def broker_counts(queue_name: str) -> dict[str, int]:
    """waiting, active, delayed and dead counts of one queue, from the broker itself (and,
    for what RabbitMQ cannot tell, from the job records)."""
    broker = dramatiq.get_broker()
    if isinstance(broker, RedisBroker):
        return _redis_counts(broker, queue_name)
    if isinstance(broker, RabbitmqBroker):
        return rabbitmq.queue_counts(broker, queue_name)
    if isinstance(broker, StubBroker):
        return _stub_counts(broker, queue_name)
    return {"waiting": 0, "active": 0, "delayed": 0, "dead": 0}


def _redis_counts(broker: RedisBroker, queue_name: str) -> dict[str, int]:
    client, ns = broker.client, broker.namespace
    delayed_name = f"{queue_name}.DQ"
    pipe = client.pipeline(transaction=False)
    pipe.llen(f"{ns}:{queue_name}")
    pipe.llen(f"{ns}:{delayed_name}")
    pipe.zcard(f"{ns}:{queue_name}.XQ")
    waiting, delayed_waiting, dead = pipe.execute()
    active = delayed_held = 0
    ack_keys = list(client.scan_iter(match=f"{ns}:__acks__.*", count=500))
    if ack_keys:
        pipe = client.pipeline(transaction=False)
        for key in ack_keys:
            pipe.scard(key)
        for key, size in zip(ack_keys, pipe.execute(), strict=True):
            name = key.decode() if isinstance(key, bytes) else key
            if name.endswith(f".{delayed_name}"):
                delayed_held += size  # a worker holds delayed messages until they are due
            elif name.endswith(f".{queue_name}"):
                active += size
    return {
        "waiting": waiting,
        "active": active,
        "delayed": delayed_waiting + delayed_held,
        "dead": dead,
    }


def _stub_counts(broker: StubBroker, queue_name: str) -> dict[str, int]:
    queue = broker.queues.get(queue_name)
    delayed = broker.queues.get(f"{queue_name}.DQ")
    waiting = queue.qsize() if queue is not None else 0
    # Unfinished = waiting + taken but not yet acknowledged (Queue's own bookkeeping).
    unfinished = queue.unfinished_tasks if queue is not None else 0
    delayed_unfinished = delayed.unfinished_tasks if delayed is not None else 0
    dead = sum(1 for m in broker.dead_letters if m.queue_name.removesuffix(".DQ") == queue_name)
    return {
        "waiting": waiting,
        "active": max(0, unfinished - waiting),
        "delayed": delayed_unfinished,
        "dead": dead,
    }


_worker_lock = threading.Lock()
_in_process_worker: dramatiq.Worker | None = None


def ensure_in_process_worker() -> dramatiq.Worker | None:
    """Start (once) a worker inside this process when there is no Redis broker.

    Returns the worker, or None with Redis or RabbitMQ (separate worker processes consume it).
    """
    global _in_process_worker
    broker = dramatiq.get_broker()
    if is_persistent():
        return None
    with _worker_lock:
        if _in_process_worker is None:
            log.warning(
                "neither REDIS_URL nor BROKER_URL is set: queue mode uses an in-memory broker "
                "and a worker inside this process; queued jobs are lost when it exits (not "
                "persistent)"
            )
            threads = sum(stage.concurrency for stage in STAGES)
            _in_process_worker = dramatiq.Worker(broker, worker_threads=threads, worker_timeout=100)
            _in_process_worker.start()
        return _in_process_worker


def stop_in_process_worker() -> None:
    """Stop the in-process worker if one runs (it finishes its current jobs first)."""
    global _in_process_worker
    with _worker_lock:
        worker, _in_process_worker = _in_process_worker, None
    if worker is not None:
        worker.stop()


def broker_maintenance() -> None:
    """Run Dramatiq's Redis maintenance on every queue now: the unacknowledged messages of
    workers whose heartbeat is older than the broker's heartbeat timeout go back to their
    queues. Dramatiq runs it only by chance (``maintenance_chance`` per million commands),
    which after a crash of every worker can take many minutes; the reconciler calls this.

    Calls Dramatiq's own dispatch script with its maintenance flag set, with the argument
    order of dramatiq 2.x's ``dispatch.lua`` (the version is pinned in requirements.lock).
    A no-op without Redis: RabbitMQ hands a dead consumer's messages back by itself, the
    moment its connection drops.
    """
    broker = dramatiq.get_broker()
    if not isinstance(broker, RedisBroker):
        return
    dispatch = broker.scripts["dispatch"]
    for queue_name in [*QUEUE_NAMES, *(f"{q}.DQ" for q in QUEUE_NAMES)]:
        args = [
            "qsize",  # a read-only command; the maintenance flag does the work
            int(time.time() * 1000),
            queue_name,
            broker.broker_id,
            broker.heartbeat_timeout,
            broker.dead_message_ttl,
            1,
            broker._max_unpack_size(),
        ]
        dispatch(args=args, keys=[broker.namespace])


def broker_heartbeat() -> None:
    """Tell the broker this process is alive (Dramatiq's own heartbeat, in its sorted set).

    Dramatiq beats only when a consumer fetches or acknowledges; a worker whose threads are
    all busy with long jobs fetches nothing, and would look dead after the heartbeat timeout
    (its running messages handed to others). The ``WorkerHeartbeats`` thread calls this every
    few seconds, which lets the timeout be short, so a dead worker's messages come back soon.
    A no-op without Redis (RabbitMQ's connection heartbeats are pika's business, and its
    consumers run their own I/O loop).
    """
    broker = dramatiq.get_broker()
    if isinstance(broker, RedisBroker):
        broker.client.zadd(
            f"{broker.namespace}:__heartbeats__", {broker.broker_id: int(time.time() * 1000)}
        )


def broker_ref_of(message: dramatiq.Message) -> str:
    """The id the broker keeps this copy of ``message`` under, for its job record: Redis'
    ``redis_message_id`` (each enqueued copy has its own); with RabbitMQ, which keeps no id of
    its own, the message's id; nothing with the in-memory broker."""
    kind = broker_kind()
    if kind == "redis":
        return str(message.options.get("redis_message_id", ""))
    if kind == "rabbitmq":
        return message.message_id
    return ""


def messages_in_flight() -> set[str]:
    """The broker ids (``redis_message_id``) of every message a worker has fetched and not yet
    acknowledged, over all queues. Without Redis, an empty set (see ``messages_running``)."""
    broker = dramatiq.get_broker()
    if not isinstance(broker, RedisBroker):
        return set()
    client = broker.client
    keys = list(client.scan_iter(match=f"{broker.namespace}:__acks__.*", count=500))
    if not keys:
        return set()
    pipe = client.pipeline(transaction=False)
    for key in keys:
        pipe.smembers(key)
    return {
        (ref.decode() if isinstance(ref, bytes) else ref)
        for members in pipe.execute()
        for ref in members
    }


def messages_running(active: list[tuple[str, str]]) -> set[str]:
    """Of the ``(broker_ref, worker)`` of job records that say "active", the refs whose
    message a live worker still holds.

    Redis: the ref is in some worker's acknowledgement set. RabbitMQ: the worker named on the
    record (``host:pid``) beat within ``PROMIDATA_BROKER_HEARTBEAT_TIMEOUT_MS`` (a dead
    worker's connection dropped, and RabbitMQ gave its messages back). In-memory: all of them
    (its worker lives in this process)."""
    kind = broker_kind()
    if kind == "redis":
        in_flight = messages_in_flight()
        return {ref for ref, _ in active if ref in in_flight}
    if kind == "rabbitmq":
        from promidata_sync.services.workers import live_worker_names

        live = live_worker_names(
            within_seconds=settings.PROMIDATA_BROKER_HEARTBEAT_TIMEOUT_MS / 1000
        )
        return {ref for ref, worker in active if worker in live}
    return {ref for ref, _ in active}


def messages_held(refs: list[tuple[str, str]]) -> set[tuple[str, str]]:
    """Which ``(queue_name, broker_ref)`` messages the broker still holds (waiting, delayed,
    fetched by a worker or being retried).

    Redis: asked by id. RabbitMQ: every one, once the broker answers (``BrokerUnavailable``
    if not): its queues are durable, so a message whose job record is still open is there
    (waiting, or handed back when its consumer died). Without either, all of them (the
    in-memory broker lives and dies with this process)."""
    broker = dramatiq.get_broker()
    refs = [ref for ref in refs if ref[1]]
    if isinstance(broker, RabbitmqBroker) and refs:
        broker_check()
        return set(refs)
    if not isinstance(broker, RedisBroker) or not refs:
        return set(refs)
    ns = broker.namespace
    pipe = broker.client.pipeline(transaction=False)
    for queue_name, ref in refs:
        pipe.hexists(f"{ns}:{queue_name}.msgs", ref)
        pipe.hexists(f"{ns}:{queue_name}.DQ.msgs", ref)
    found = pipe.execute()
    return {ref for i, ref in enumerate(refs) if found[2 * i] or found[2 * i + 1]}


# --- Acting on queues: dead letters and purges (the admin's Queues page) --------------------

DEAD_LETTERS_SHOWN = 100


def dead_letters(queue_name: str, *, limit: int = DEAD_LETTERS_SHOWN) -> list:
    """Up to ``limit`` dead messages of ``queue_name`` (newest first where the broker keeps
    an order), left where they are. Redis: ``<queue>.XQ``; RabbitMQ: ``<queue>.XQ`` read
    without acknowledging (the messages go back); the in-memory broker: its dead letters."""
    broker = dramatiq.get_broker()
    if isinstance(broker, RedisBroker):
        ns = broker.namespace
        refs: list = broker.client.zrevrange(f"{ns}:{queue_name}.XQ", 0, max(0, limit - 1))
        if not refs:
            return []
        bodies: list = broker.client.hmget(f"{ns}:{queue_name}.XQ.msgs", refs)
        return [dramatiq.Message.decode(body) for body in bodies if body]
    if isinstance(broker, RabbitmqBroker):
        return rabbitmq.dead_messages(broker, queue_name, limit=limit)
    if isinstance(broker, StubBroker):
        dead = [m for m in broker.dead_letters if m.queue_name.removesuffix(".DQ") == queue_name]
        return list(reversed(dead))[:limit]
    return []


def dead_letters_clear(queue_name: str) -> int:
    """Delete every dead message of ``queue_name``; return how many there were."""
    broker = dramatiq.get_broker()
    if isinstance(broker, RedisBroker):
        ns = broker.namespace
        pipe = broker.client.pipeline(transaction=True)
        pipe.zcard(f"{ns}:{queue_name}.XQ")
        pipe.delete(f"{ns}:{queue_name}.XQ", f"{ns}:{queue_name}.XQ.msgs")
        count, _ = pipe.execute()
        return int(count)
    if isinstance(broker, RabbitmqBroker):
        return rabbitmq.purge(broker, xq_name(queue_name))
    if isinstance(broker, StubBroker):
        names = (queue_name, f"{queue_name}.DQ")
        before = sum(len(broker.dead_letters_by_queue.get(name, [])) for name in names)
        for name in names:
            broker.dead_letters_by_queue.pop(name, None)
        return before
    return 0


def waiting_purge(queue_name: str) -> tuple[int, list[str] | None]:
    """Drop the messages waiting in ``queue_name`` (not the delayed ones, nor those a worker
    holds); return ``(how many, their message ids)``.

    Redis removes the waiting list in one transaction, so a worker takes each message or the
    purge does, never both. RabbitMQ purges the queue and cannot tell which messages went
    (ids None: the caller takes the job records that said "waiting").
    """
    broker = dramatiq.get_broker()
    if isinstance(broker, RedisBroker):
        ns, client = broker.namespace, broker.client
        pipe = client.pipeline(transaction=True)
        pipe.lrange(f"{ns}:{queue_name}", 0, -1)
        pipe.delete(f"{ns}:{queue_name}")
        refs, _ = pipe.execute()
        if not refs:
            return 0, []
        bodies: list = client.hmget(f"{ns}:{queue_name}.msgs", refs)
        client.hdel(f"{ns}:{queue_name}.msgs", *refs)
        ids = [dramatiq.Message.decode(body).message_id for body in bodies if body]
        return len(refs), ids
    if isinstance(broker, RabbitmqBroker):
        return rabbitmq.purge(broker, queue_name), None
    if isinstance(broker, StubBroker):
        queue = broker.queues.get(queue_name)
        ids = []
        while queue is not None and not queue.empty():
            body = queue.get_nowait()
            queue.task_done()
            ids.append(dramatiq.Message.decode(body).message_id)
        return len(ids), ids
    return 0, []
