"""Signed webhooks: recording the events of a finished run, and delivering them.

``webhooks_for_finished_run`` is called by ``runs.run_finish`` inside the transaction that
finishes the run: one ``WebhookDelivery`` per active endpoint and subscribed event
("run.finished" always, "products.changed" when the run changed a product). The unique
``(endpoint, event, run)`` constraint makes it idempotent, and it never raises: a broken
webhook table is logged and the run finishes all the same. Sending starts after the commit
(``transaction.on_commit``), never inside the transaction and never in the sync's thread:

- a queue-mode run with Redis hands them to the queue layer (``use_queue_sender``), whose
  webhook stage (``steps.webhook``) calls ``deliver`` and runs the same job again when the
  delivery's ``next_attempt_at`` comes;
- anything else (direct mode, queue mode on the in-memory broker, Redis unreachable) wakes
  this process's sender, a daemon thread that runs ``deliver_due`` until nothing is due. At
  process exit the thread dies with it: deliveries not sent stay pending in the database, and
  the next ``deliver_due`` pass (the next sync's sender, or ``reconcile`` from
  ``promidata_workers`` / ``promidata_reconcile``) sends them.

The database row is the source of truth in both modes. ``deliver`` claims a delivery with a
conditional UPDATE (pending, due) that pushes ``next_attempt_at`` past the attempt's
deadline, so two senders never post the same delivery at once and a sender that dies
mid-attempt leaves it due again a minute later. Delivery is at-least-once: a receiver
deduplicates by ``X-Promidata-Delivery`` (the event id, also in the body).

An attempt POSTs the compact JSON body, signed (``sign``), through the same pinned transport
as feed fetches (``webhook_transport``): the host is resolved once and only public addresses
are connected to, unless ``PROMIDATA_WEBHOOK_ALLOWED_NETWORKS`` lists the address's network;
plain http only reaches those networks. No redirect is followed, and the whole attempt takes
at most ``PROMIDATA_WEBHOOK_TIMEOUT_SECONDS``. A 2xx succeeds; anything else is retried with
exponential backoff until ``PROMIDATA_WEBHOOK_MAX_ATTEMPTS``; a refused destination fails at
once. Errors are stored as one sanitised line naming the endpoint by host only (a webhook
URL's path often is a token); the secret is never logged or stored anywhere but its column.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import random
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connections, transaction
from django.db.models import Min, Q
from django.utils import timezone

from promidata_sync.models import SyncRun, WebhookDelivery, WebhookEndpoint
from promidata_sync.redaction import REDACTED, sanitize_message
from promidata_sync.services.changes import changes_of_run
from promidata_sync.services.webhook_transport import (
    Attempt,
    allowed_networks,
    post_once,
    shown_url,
)

log = logging.getLogger(__name__)

RUN_FINISHED = WebhookEndpoint.Event.RUN_FINISHED.value
PRODUCTS_CHANGED = WebhookEndpoint.Event.PRODUCTS_CHANGED.value
PING = "ping"  # the admin's "Send test event"; sent whatever the endpoint subscribed to
EVENT_HEADER = "X-Promidata-Event"
DELIVERY_HEADER = "X-Promidata-Delivery"
SIGNATURE_HEADER = "X-Promidata-Signature"
SIGNATURE_TOLERANCE_SECONDS = 300
# The run's counters a payload carries, by their SyncRun names ("unchanged" families are the
# ones skipped by the hash check).
COUNT_FIELDS = (
    "entries",
    "families_total",
    "families_done",
    "families_failed",
    "families_new",
    "families_updated",
    "families_unchanged",
    "families_deactivated",
    "families_reactivated",
    "images_total",
    "images_done",
    "images_failed",
    "images_downloaded",
    "images_reused",
    "warnings",
)
# A claim holds a delivery for its attempt's deadline plus this: past it, a sender that died
# mid-attempt has left the delivery due again.
CLAIM_MARGIN_SECONDS = 30.0
# Deliveries one deliver_due pass takes; the reconciler's pass, which may run inline, fewer.
DUE_BATCH = 100
RESUME_BATCH = 20
# The sender re-reads the next due time at least this often (others may add deliveries).
SENDER_RECHECK_SECONDS = 30.0
# The actor asks to be run again for a delivery not due yet only when it is due this soon
# (clocks of two machines differ a little); later, the sender that scheduled it owns it.
CLOCK_SKEW_SECONDS = 5.0


@dataclass(frozen=True)
class DeliveryOutcome:
    """What ``deliver`` did. ``state``: "succeeded", "pending" (retry at ``retry_at``),
    "failed" (no retry left, or refused) or "skipped" (nothing sent; ``error`` says why)."""

    delivery_id: int
    state: str
    attempts: int = 0
    status: int | None = None
    error: str = ""
    retry_at: datetime | None = None

    def as_dict(self) -> dict:
        data = asdict(self)
        data["retry_at"] = self.retry_at.isoformat() if self.retry_at else None
        return data


# --- signatures ----------------------------------------------------------------------------
def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The ``X-Promidata-Signature`` value: ``t=<unix seconds>,v1=<hex HMAC-SHA256>`` over
    ``f"{timestamp}."`` followed by the exact body bytes, keyed with the endpoint's secret."""
    digest = hmac.new(
        secret.encode("utf-8"), f"{int(timestamp)}.".encode() + body, hashlib.sha256
    ).hexdigest()
    return f"t={int(timestamp)},v1={digest}"


def verify_signature(
    secret: str,
    header: str,
    body: bytes,
    tolerance_seconds: float = SIGNATURE_TOLERANCE_SECONDS,
    now: float | None = None,
) -> bool:
    """True if ``header`` signs ``body`` with ``secret`` and its timestamp is at most
    ``tolerance_seconds`` away from ``now`` (default: the clock), which bounds replays.
    Compares in constant time; any ``v1`` may match (several during a secret rotation)."""
    timestamp, candidates = None, []
    for part in str(header or "").split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isdigit():
            timestamp = int(value)
        elif key == "v1":
            candidates.append(value)
    if timestamp is None or not candidates:
        return False
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance_seconds:
        return False
    expected = sign(secret, timestamp, body).partition(",v1=")[2]
    # Every candidate is compared, so the time taken says nothing about which one matched.
    matches = [hmac.compare_digest(expected, candidate) for candidate in candidates]
    return any(matches)


def body_bytes(payload: dict) -> bytes:
    """The body sent for ``payload``: compact UTF-8 JSON, keys sorted, so every attempt of a
    delivery sends the same bytes (the database does not keep key order)."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False, sort_keys=True).encode()


# --- events --------------------------------------------------------------------------------
def webhooks_for_finished_run(run: SyncRun) -> list[int]:
    """Record the deliveries of the events of ``run``, which has just finished; return the
    ids created by this call. Call it inside the transaction that finishes the run.

    Idempotent: a run finished again (a retried run) creates nothing new, by the
    ``(endpoint, event, run)`` constraint. Never raises: whatever goes wrong is logged and
    rolled back to a savepoint, so the run's own transaction goes on. Sending is enqueued on
    commit (see the module docstring).
    """
    try:
        with transaction.atomic():
            ids = _record_run_events(run)
    except Exception:
        log.exception("webhooks of sync #%s could not be recorded; the run ends anyway", run.pk)
        return []
    if ids:
        queued = run.mode == SyncRun.Mode.QUEUE
        transaction.on_commit(lambda: _dispatch(ids, queued=queued), robust=True)
    return ids


def _record_run_events(run: SyncRun) -> list[int]:
    endpoints = [
        endpoint
        for endpoint in WebhookEndpoint.objects.filter(is_active=True).only("id", "events")
        if isinstance(endpoint.events, list)
        and {RUN_FINISHED, PRODUCTS_CHANGED} & set(endpoint.events)
    ]
    if not endpoints:
        return []
    changes = changes_of_run(run.pk)
    events = [RUN_FINISHED, *([PRODUCTS_CHANGED] if changes else [])]
    now = timezone.now()
    rows = []
    for endpoint in endpoints:
        for event in events:
            if event in endpoint.events:
                event_id = uuid.uuid4()
                rows.append(
                    WebhookDelivery(
                        endpoint=endpoint,
                        event=event,
                        event_id=event_id,
                        run_id=run.pk,
                        payload=run_payload(event, event_id, run, changes),
                        next_attempt_at=now,
                    )
                )
    WebhookDelivery.objects.bulk_create(rows, ignore_conflicts=True)
    # ignore_conflicts leaves no primary keys behind: the event ids tell which rows are ours.
    return list(
        WebhookDelivery.objects.filter(event_id__in=[r.event_id for r in rows]).values_list(
            "pk", flat=True
        )
    )


def run_payload(event: str, event_id: uuid.UUID, run: SyncRun, changes) -> dict:
    """The body of a run event (documented in docs/webhooks.md). ``changes`` is
    ``changes_of_run``'s range or None; ``changes.url`` reads the feed from just before it."""
    supplier = run.supplier if run.supplier_id else None
    return {
        "event": event,
        "event_id": str(event_id),
        "occurred_at": _iso(run.finished_at or timezone.now()),
        "run": {
            "id": run.pk,
            "kind": run.kind,
            "state": run.state,
            "trigger": run.trigger,
            "mode": run.mode,
            "started_at": _iso(run.started_at),
            "finished_at": _iso(run.finished_at),
            "counts": {name: getattr(run, name) for name in COUNT_FIELDS},
        },
        "supplier": {"code": supplier.code, "name": supplier.name} if supplier else None,
        "changes": {
            "first": changes.first if changes else None,
            "last": changes.last if changes else None,
            "count": changes.count if changes else 0,
            "url": f"/api/catalog/changes/?since={changes.first - 1}" if changes else None,
        },
    }


def webhooks_for_notification(event: str, *, run: SyncRun | None, notification: dict) -> list[int]:
    """Record one delivery of the notification ``event`` (``services.notifications``) per
    active endpoint subscribed to it; the body is a run event's (or, without a run, its
    ``run`` and ``supplier`` are null) plus ``notification`` (key, subject, text). Call it
    in the transaction that creates the notification: its unique ``(event, key)`` is what
    makes this once (a daily summary has no run for this table's own constraint to hold).
    Sends after the commit."""
    endpoints = [
        endpoint
        for endpoint in WebhookEndpoint.objects.filter(is_active=True).only("id", "events")
        if isinstance(endpoint.events, list) and event in endpoint.events
    ]
    rows = []
    for endpoint in endpoints:
        event_id = uuid.uuid4()
        if run is not None:
            payload = run_payload(event, event_id, run, None)
        else:
            payload = {
                "event": event,
                "event_id": str(event_id),
                "occurred_at": _iso(timezone.now()),
                "run": None,
                "supplier": None,
            }
        payload["notification"] = notification
        rows.append(
            WebhookDelivery(
                endpoint=endpoint,
                event=event,
                event_id=event_id,
                run_id=run.pk if run else None,
                payload=payload,
                next_attempt_at=timezone.now(),
            )
        )
    WebhookDelivery.objects.bulk_create(rows, ignore_conflicts=True)
    ids = list(
        WebhookDelivery.objects.filter(event_id__in=[r.event_id for r in rows]).values_list(
            "pk", flat=True
        )
    )
    if ids:
        queued = run is not None and run.mode == SyncRun.Mode.QUEUE
        transaction.on_commit(lambda: _dispatch(ids, queued=queued), robust=True)
    return ids


def delivery_ping(endpoint: WebhookEndpoint) -> WebhookDelivery:
    """Record a "ping" delivery to ``endpoint`` (the admin's test event) and send it after
    the commit. Not tied to a run, so every call makes a new one."""
    event_id = uuid.uuid4()
    delivery = WebhookDelivery.objects.create(
        endpoint=endpoint,
        event=PING,
        event_id=event_id,
        payload={
            "event": PING,
            "event_id": str(event_id),
            "occurred_at": _iso(timezone.now()),
            "endpoint": {"id": endpoint.pk, "name": endpoint.name},
        },
        next_attempt_at=timezone.now(),
    )
    transaction.on_commit(lambda: _dispatch([delivery.pk], queued=True), robust=True)
    return delivery


def deliveries_retry(ids) -> int:
    """Make the given pending or failed deliveries due now and send them after the commit;
    return how many. A failed one gets one more attempt: failing again fails it again."""
    with transaction.atomic():
        retry = WebhookDelivery.objects.filter(
            pk__in=list(ids),
            state__in=[WebhookDelivery.State.PENDING, WebhookDelivery.State.FAILED],
        )
        chosen = list(retry.values_list("pk", flat=True))
        count = retry.update(state=WebhookDelivery.State.PENDING, next_attempt_at=timezone.now())
        transaction.on_commit(lambda: _dispatch(chosen, queued=True), robust=True)
    return count


# How to hand deliveries to the queue: registered by the queue layer at start-up
# (``queue.dispatch.send_deliveries``), so this module needs no broker. It returns False when
# there is no persistent queue to hand them to.
_queue_sender: Callable[[list[int]], bool] | None = None


def use_queue_sender(sender: Callable[[list[int]], bool] | None) -> None:
    global _queue_sender
    _queue_sender = sender


def _dispatch(ids: list[int], *, queued: bool) -> None:
    """Start sending ``ids``: through the "webhooks" queue when ``queued`` and the queue
    takes them (Redis), else (or when Redis refuses the message) by this process's sender
    thread."""
    if not ids:
        return
    if queued and _queue_sender is not None:
        try:
            if _queue_sender(ids):
                return
        except Exception as exc:
            log.warning("webhook deliveries not enqueued (%s); sending them from here", exc)
    SENDER.wake()


# --- delivering ----------------------------------------------------------------------------
def deliver(delivery_id: int) -> DeliveryOutcome:
    """Make one attempt at a pending, due delivery; see the module docstring.

    Skips (sends nothing) a delivery that is not pending, not due, claimed by another sender,
    or whose endpoint is inactive (it stays pending until the endpoint is active again).
    Raises only when the database does, or ``ImproperlyConfigured`` for a bad
    ``PROMIDATA_WEBHOOK_ALLOWED_NETWORKS`` (then nothing was claimed).
    """
    networks = allowed_networks()
    timeout = float(settings.PROMIDATA_WEBHOOK_TIMEOUT_SECONDS)
    now = timezone.now()
    # One UPDATE whose conditions are all on the row itself (the endpoint is a subquery, not
    # a join): of two concurrent claims PostgreSQL re-checks them on the row the first one
    # changed, so exactly one wins.
    claimed = WebhookDelivery.objects.filter(
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now),
        pk=delivery_id,
        state=WebhookDelivery.State.PENDING,
        endpoint__in=WebhookEndpoint.objects.filter(is_active=True).values("pk"),
    ).update(next_attempt_at=now + timedelta(seconds=timeout + CLAIM_MARGIN_SECONDS))
    if not claimed:
        return _skipped(delivery_id, now)
    delivery = WebhookDelivery.objects.select_related("endpoint").get(pk=delivery_id)
    endpoint = delivery.endpoint
    body = body_bytes(delivery.payload)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": f"{settings.PROMIDATA_USER_AGENT} (webhooks)",
        EVENT_HEADER: delivery.event,
        DELIVERY_HEADER: str(delivery.event_id),
        SIGNATURE_HEADER: sign(endpoint.secret, int(time.time()), body),
    }
    started = time.monotonic()
    if endpoint.secret:
        attempt = post_once(endpoint.url, body, headers, timeout=timeout, networks=networks)
    else:  # an unsigned body would be accepted by nobody: nothing is sent
        attempt = Attempt(None, "the endpoint has no secret; set one in the admin", True)
    duration_ms = round((time.monotonic() - started) * 1000)
    return _record_attempt(delivery, attempt, duration_ms)


def _skipped(delivery_id: int, now: datetime) -> DeliveryOutcome:
    found = WebhookDelivery.objects.filter(pk=delivery_id).select_related("endpoint").first()
    if found is None:
        return DeliveryOutcome(delivery_id, "skipped", error="no such delivery")
    if found.state != WebhookDelivery.State.PENDING:
        why = f"already {found.get_state_display().lower()}"
        return DeliveryOutcome(delivery_id, "skipped", found.attempts, found.last_status, why)
    if not found.endpoint.is_active:
        return DeliveryOutcome(delivery_id, "skipped", found.attempts, error="endpoint inactive")
    return DeliveryOutcome(
        delivery_id,
        "skipped",
        found.attempts,
        error="not due yet (or being sent by another sender)",
        retry_at=found.next_attempt_at,
    )


def _record_attempt(delivery, attempt: Attempt, duration_ms: int) -> DeliveryOutcome:
    """Store the attempt's outcome on the delivery (only if it is still pending)."""
    endpoint = delivery.endpoint
    status, error = attempt.status, attempt.error
    attempts = delivery.attempts + 1
    now = timezone.now()
    fields = {"attempts": attempts, "last_status": status, "last_duration_ms": duration_ms}
    target = (
        f"{delivery.event} #{delivery.pk} to endpoint {endpoint.name!r} ({shown_url(endpoint.url)})"
    )
    if not error:
        fields.update(
            state=WebhookDelivery.State.SUCCEEDED,
            delivered_at=now,
            next_attempt_at=None,
            last_error="",
        )
        outcome = DeliveryOutcome(delivery.pk, "succeeded", attempts, status)
        log.info("webhook %s delivered: HTTP %s in %d ms", target, status, duration_ms)
    else:
        # The secret cannot be in the line (it is built from statuses and exception types),
        # but it is replaced all the same, as every known secret is.
        if endpoint.secret:
            error = error.replace(endpoint.secret, REDACTED)
        error = sanitize_message(error, max_chars=500)
        fields["last_error"] = error
        if attempt.permanent or attempts >= settings.PROMIDATA_WEBHOOK_MAX_ATTEMPTS:
            fields.update(state=WebhookDelivery.State.FAILED, next_attempt_at=None)
            outcome = DeliveryOutcome(delivery.pk, "failed", attempts, status, error)
            log.warning(
                "webhook %s failed for good after %d attempt(s): %s", target, attempts, error
            )
        else:
            retry_at = now + timedelta(seconds=_backoff_seconds(attempts))
            fields["next_attempt_at"] = retry_at
            outcome = DeliveryOutcome(delivery.pk, "pending", attempts, status, error, retry_at)
            log.info(
                "webhook %s attempt %d failed: %s; next at %s",
                target,
                attempts,
                error,
                _iso(retry_at),
            )
    WebhookDelivery.objects.filter(pk=delivery.pk, state=WebhookDelivery.State.PENDING).update(
        **fields
    )
    return outcome


def _backoff_seconds(attempts: int) -> float:
    """Seconds before the next attempt after ``attempts`` failed ones: doubling from
    ``PROMIDATA_WEBHOOK_BACKOFF_SECONDS`` up to ``..._MAX_SECONDS``, with jitter so the
    deliveries of a receiver that was down do not all come back at once."""
    base = settings.PROMIDATA_WEBHOOK_BACKOFF_SECONDS * 2 ** (attempts - 1)
    return min(settings.PROMIDATA_WEBHOOK_BACKOFF_MAX_SECONDS, base) * random.uniform(0.75, 1.0)


def _due(*, overdue_seconds: float = 0.0):
    cutoff = timezone.now() - timedelta(seconds=overdue_seconds)
    return WebhookDelivery.objects.filter(
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=cutoff),
        state=WebhookDelivery.State.PENDING,
        endpoint__is_active=True,
    )


def deliver_due(limit: int = DUE_BATCH, *, overdue_seconds: float = 0.0) -> list[DeliveryOutcome]:
    """Make one attempt at up to ``limit`` pending deliveries due for ``overdue_seconds`` or
    more, oldest due first, ``PROMIDATA_CONCURRENCY_WEBHOOKS`` at a time; return their
    outcomes. Blocks until they are done (each attempt is bounded by the timeout). Safe
    beside any other sender: each delivery is claimed first."""
    ids = list(
        _due(overdue_seconds=overdue_seconds)
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    if len(ids) <= 1:
        return [deliver(i) for i in ids]
    with ThreadPoolExecutor(max_workers=max(1, settings.PROMIDATA_CONCURRENCY_WEBHOOKS)) as pool:
        return list(pool.map(_deliver_in_thread, ids))


def _deliver_in_thread(delivery_id: int) -> DeliveryOutcome:
    try:
        return deliver(delivery_id)
    finally:
        connections.close_all()  # this pool thread's own connection; the pool is short-lived


def deliveries_overdue(*, overdue_seconds: float, limit: int = RESUME_BATCH) -> list[int]:
    """Ids of deliveries still pending ``overdue_seconds`` after they were due (their message
    was lost, their process died): the reconciler sends them again."""
    return list(
        _due(overdue_seconds=overdue_seconds).order_by("pk").values_list("pk", flat=True)[:limit]
    )


def seconds_until_next_due() -> float | None:
    """Seconds until the next pending delivery of an active endpoint is due (0 or less: one
    is due now); None when nothing is pending."""
    nearest = WebhookDelivery.objects.filter(
        state=WebhookDelivery.State.PENDING, endpoint__is_active=True
    ).aggregate(nearest=Min("next_attempt_at"))["nearest"]
    if nearest is None:
        exists = WebhookDelivery.objects.filter(
            state=WebhookDelivery.State.PENDING, endpoint__is_active=True, next_attempt_at=None
        ).exists()
        return 0.0 if exists else None
    return (nearest - timezone.now()).total_seconds()


class Sender:
    """This process's webhook sender: a daemon thread running ``deliver_due`` while anything
    is pending, sleeping until the next delivery is due; it ends when nothing is pending and
    starts again on ``wake``.

    A daemon: it never delays the process's exit, and a hanging receiver never delays a sync
    (the sync only wakes it). What it had not sent at exit stays pending in the database.
    """

    def __init__(self):
        self._reset()
        # A forked child has the lock and the thread object but not the thread.
        os.register_at_fork(after_in_child=self._reset)

    def _reset(self) -> None:
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def wake(self) -> None:
        """Look for due deliveries now, starting the thread if it is not running."""
        with self._lock:
            self._wake.set()
            if self._thread is None or not self._thread.is_alive():
                self._stop.clear()
                self._thread = threading.Thread(
                    target=self._run, name="promidata-webhooks", daemon=True
                )
                self._thread.start()

    def stop(self, timeout: float = 30.0) -> bool:
        """Stop the thread after its current pass (tests; an orderly shutdown); True if it
        ended within ``timeout`` seconds."""
        with self._lock:
            thread = self._thread
            self._stop.set()
            self._wake.set()
        if thread is not None:
            thread.join(timeout)
            return not thread.is_alive()
        return True

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                self._wake.clear()
                outcomes = deliver_due()
                wait = seconds_until_next_due()
                with self._lock:
                    if self._stop.is_set() or (wait is None and not self._wake.is_set()):
                        self._thread = None
                        return
                if wait is not None and wait <= 0 and all(o.state == "skipped" for o in outcomes):
                    wait = 1.0  # due, yet nothing could be claimed: do not spin on it
                # No connection is held while idle (this thread may wait for hours).
                connections.close_all()
                if wait is not None and wait > 0:
                    self._wake.wait(min(wait, SENDER_RECHECK_SECONDS))
        except Exception:
            # Left pending in the database: the next wake or reconciler pass sends them.
            log.exception("the webhook sender stopped")
            with self._lock:
                self._thread = None
        finally:
            connections.close_all()


SENDER = Sender()


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
