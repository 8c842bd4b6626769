"""The one place that turns work into queue messages and enqueues them, after the commit.

``enqueue`` builds one message per work record (its kwargs are the record's fields, the
queue and actor come from the registry) and hands them to the broker once the current
transaction commits (at once outside a transaction), so a worker never looks for a row that
is not there yet. The messages' ids are returned at once: they are the jobs' ids.
"""

from __future__ import annotations

from collections.abc import Iterable

import dramatiq
from django.db import transaction

from promidata_sync.queue.broker import is_persistent
from promidata_sync.queue.registry import stage_of_work
from promidata_sync.services.work import WebhookWork, Work, work_fields


def message_for(work: Work) -> dramatiq.Message:
    """The message of one unit of work (not sent)."""
    stage = stage_of_work(work)
    broker = dramatiq.get_broker()
    broker.declare_queue(stage.queue_name)
    return dramatiq.Message(
        queue_name=stage.queue_name,
        actor_name=stage.actor_name,
        args=(),
        kwargs=work_fields(work),
        options={},
    )


def enqueue(works: Iterable[Work]) -> list[dramatiq.Message]:
    """Send ``works`` once the current transaction has committed; return their messages."""
    messages = [message_for(work) for work in works]
    if messages:
        broker = dramatiq.get_broker()
        transaction.on_commit(lambda: [broker.enqueue(m) for m in messages])
    return messages


def send_deliveries(ids: list[int]) -> bool:
    """Enqueue webhook deliveries now (their rows are committed); False without a persistent
    broker, when the caller's own process sends them (``webhooks.use_queue_sender``)."""
    if not is_persistent():
        return False
    broker = dramatiq.get_broker()
    for delivery_id in ids:
        broker.enqueue(message_for(WebhookWork(delivery_id=delivery_id)))
    return True
