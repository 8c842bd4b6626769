"""The webhook step: one attempt at one delivery (``webhooks.deliver``).

The delivery row holds the schedule: while it says "try again at", the outcome is ``later``
with the wait, and the queue runs the same job again at that time, so one job record follows
a delivery through all its attempts. Its failures are recorded on the delivery itself, so
``give_up`` has nothing to add.
"""

from __future__ import annotations

from django.utils import timezone

from promidata_sync.services import webhooks
from promidata_sync.services.work import Outcome, WebhookWork


def deliver_webhook(work: WebhookWork) -> Outcome:
    """Attempt the delivery; ``later`` while its schedule says to try again."""
    outcome = webhooks.deliver(work.delivery_id)
    wait = (outcome.retry_at - timezone.now()).total_seconds() if outcome.retry_at else None
    if outcome.state == "pending" or (
        outcome.state == "skipped" and wait is not None and wait <= webhooks.CLOCK_SKEW_SECONDS
    ):
        return Outcome.later(
            f"webhook delivery #{work.delivery_id}: {outcome.error or 'not due yet'}",
            seconds=wait or 0.0,
        )
    return Outcome.done(outcome.as_dict())


def give_up(work: WebhookWork, error: str, *, permanent: bool) -> None:
    """Nothing to record: the delivery row keeps its own attempts and errors, and the
    reconciler sends a delivery again once it is overdue."""
