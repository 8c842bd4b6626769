"""What ``queue.broker`` asks RabbitMQ directly: is it there, how many messages wait.

Dramatiq's RabbitMQ broker keeps one connection and channel per thread and reconnects only
when it publishes. These reads use the same per-thread channel: a connection the server closed
while this thread was idle (a missed heartbeat, a broker restart) is dropped and opened again
once, then the error goes to the caller.

A queue's numbers come from a passive ``queue_declare`` (which never creates the queue):
``message_count`` is what is ready to deliver, not what consumers hold unacknowledged. So
"active" and "delayed" are read from the job records, which the ``JobRecords`` middleware
keeps for every message (a delayed message sits unacknowledged with a worker until it is due).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import pika.exceptions
from django.db.models import Count
from dramatiq import Message
from dramatiq.brokers.rabbitmq import RabbitmqBroker
from dramatiq.common import dq_name, xq_name

from promidata_sync.models import Job

T = TypeVar("T")
# The reply code of a passive declare of a queue that does not exist (yet).
NOT_FOUND = 404


def _with_channel(broker: RabbitmqBroker, read: Callable[..., T]) -> T:
    """``read(channel)`` on this thread's channel, reconnecting once if it went stale."""
    try:
        return read(broker.channel)
    except pika.exceptions.AMQPConnectionError:
        del broker.connection  # stale: the next use opens a new connection
        return read(broker.channel)


def ping(broker: RabbitmqBroker) -> None:
    """Raise if RabbitMQ does not answer on this thread's connection (opened if need be)."""
    _with_channel(broker, lambda channel: broker.connection.process_data_events(time_limit=0))


def ready_count(broker: RabbitmqBroker, queue_name: str) -> int:
    """Messages ready in ``queue_name``; 0 if the queue was never declared."""

    def read(channel) -> int:
        try:
            frame = channel.queue_declare(queue=queue_name, passive=True)
        except pika.exceptions.ChannelClosedByBroker as exc:
            del broker.channel  # the broker closes a channel that asked for a missing queue
            if exc.reply_code == NOT_FOUND:
                return 0
            raise
        return int(frame.method.message_count)

    return _with_channel(broker, read)


def queue_counts(broker: RabbitmqBroker, queue_name: str) -> dict[str, int]:
    """waiting and dead from RabbitMQ (``<queue>`` and ``<queue>.XQ``), active and delayed
    from the job records. Delayed is at least what ``<queue>.DQ`` holds ready (a record may
    be missing: its write failed), and otherwise what the records say (a worker holds due
    messages unacknowledged, where RabbitMQ no longer counts them)."""
    records = dict(
        Job.objects.filter(queue_name=queue_name, state__in=[Job.State.ACTIVE, Job.State.DELAYED])
        .values_list("state")
        .annotate(n=Count("id"))
        .values_list("state", "n")
    )
    return {
        "waiting": ready_count(broker, queue_name),
        "active": records.get(Job.State.ACTIVE, 0),
        "delayed": max(ready_count(broker, dq_name(queue_name)), records.get(Job.State.DELAYED, 0)),
        "dead": ready_count(broker, xq_name(queue_name)),
    }


def purge(broker: RabbitmqBroker, queue_name: str) -> int:
    """Drop the ready messages of ``queue_name``; return how many (0 if never declared)."""

    def run(channel) -> int:
        try:
            frame = channel.queue_purge(queue=queue_name)
        except pika.exceptions.ChannelClosedByBroker as exc:
            del broker.channel
            if exc.reply_code == NOT_FOUND:
                return 0
            raise
        return int(frame.method.message_count)

    return _with_channel(broker, run)


def dead_messages(broker: RabbitmqBroker, queue_name: str, *, limit: int) -> list[Message]:
    """Up to ``limit`` messages of ``<queue>.XQ``, read with ``basic_get`` and handed back
    unacknowledged (requeued in their order), so reading never removes a dead letter."""

    def read(channel) -> list[Message]:
        found, last_tag = [], None
        try:
            for _ in range(limit):
                method, _props, body = channel.basic_get(queue=xq_name(queue_name))
                if method is None:
                    break
                last_tag = method.delivery_tag
                found.append(Message.decode(body))
        except pika.exceptions.ChannelClosedByBroker as exc:
            del broker.channel
            if exc.reply_code == NOT_FOUND:
                return []
            raise
        finally:
            if last_tag is not None:
                channel.basic_nack(delivery_tag=last_tag, multiple=True, requeue=True)
        return found

    return _with_channel(broker, read)
