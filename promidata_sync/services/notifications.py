"""Notifications: telling operators, by e-mail and webhook, what went wrong with the sync.

Events (``NOTIFICATION_EVENTS``, the webhook events of the same names):

- ``feed.unreadable``: Import.txt could not be read, so a run ended before it was planned
  (or a direct sync could not start). Keyed by the hour (``feed:<date>T<hour>``), not the
  run: one broken feed fails every supplier's run, and one message says so;
- ``deactivation.refused``: planning refused a mass deactivation (``run.deactivation_refused``);
- ``run.failed``: a run ended failed, or with failed families or images;
- ``run.reconciled``: the reconciler resumed a stalled run, or a run whose process died was
  finished as failed ("process died");
- ``daily.summary``: the last 24 hours' runs, from ``promidata_notify --daily-summary``.

One ``Notification`` per ``(event, key)`` (``run:<id>``, ``feed:…``, ``day:<date>``): the
unique constraint makes every call idempotent, even from two processes finishing the same
run, and the body is a digest (counts, the first failed items, a link to the run page).
Recipients are the e-mail addresses of the active ``NotificationRule`` s that chose the
event (and the run's supplier, when a rule names suppliers); active webhook endpoints
subscribed to the event get a ``WebhookDelivery`` created with it, sent by the webhook path.

Never in the sync's way: the rows are written in a savepoint of the caller's transaction
(``runs.run_finish``'s), so a finished run always has its notifications, and nothing that
goes wrong here is raised; e-mail is sent after the commit, on a short-lived thread, within
``EMAIL_TIMEOUT``. A failed send is recorded on the notification (sanitised) and tried again
by the reconciler (``notifications_send_due``) with backoff, up to
``PROMIDATA_NOTIFY_MAX_ATTEMPTS``, or at once by ``promidata_notify --send-failed``.
Subjects and bodies hold no secret: they are built from sanitised texts
(``redaction.sanitize_message``), supplier codes and counters.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.core.validators import validate_email
from django.db import IntegrityError, connections, transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone

from promidata_sync.models import (
    Notification,
    NotificationRule,
    SyncItem,
    SyncRun,
    WebhookEndpoint,
)
from promidata_sync.redaction import REDACTED, sanitize_message
from promidata_sync.services.webhooks import webhooks_for_notification

log = logging.getLogger(__name__)

Event = WebhookEndpoint.Event
SUBJECT_PREFIX = "[promidata-sync]"
# Failed items listed in a digest; the rest are counted ("and 12 more").
DIGEST_ITEMS = 10
# How FeedUnreadable (services.feed_index) words its messages: a run that ended before it was
# planned with one of these reasons could not read the feed. (Matched on the text because a
# queue job's failure reaches ``run_finish`` as its sanitised line, not as the exception.)
FEED_UNREADABLE_PREFIXES = (
    "cannot read Import.txt",
    "Import.txt at ",
    "PROMIDATA_IMPORT_URL is not set",
    "worker environment: PROMIDATA_IMPORT_URL is not set",
)
PROCESS_DIED_PREFIX = "process died"
# The reconciler's retries of a failed send wait this long, doubling per attempt.
RETRY_BASE_SECONDS = 60.0
# A pending notification this much older than a send can take was lost by its sender (the
# process exited): the reconciler sends it.
PENDING_MARGIN_SECONDS = 30.0
DUE_BATCH = 20
NOT_CONFIGURED = "e-mail is not configured: set EMAIL_URL (see docs/notifications.md)"


@dataclass(frozen=True)
class Message:
    event: str
    key: str
    subject: str
    body: str
    run: SyncRun | None = None


# --- recipients ----------------------------------------------------------------------------
def parse_emails(text: str) -> list[str]:
    """The addresses in ``text`` (one per line, or separated by commas or semicolons), in
    order, without duplicates; raise ``ValidationError`` naming each invalid one."""
    found: list[str] = []
    bad: list[str] = []
    for part in str(text or "").replace(";", ",").replace("\n", ",").split(","):
        address = part.strip()
        if not address:
            continue
        try:
            validate_email(address)
        except ValidationError:
            bad.append(address)
            continue
        if address.lower() not in {a.lower() for a in found}:
            found.append(address)
    if bad:
        raise ValidationError(f"not an e-mail address: {', '.join(bad[:5])}")
    return found


def recipients_for(event: str, supplier_id: int | None) -> list[str]:
    """The addresses of the active rules that chose ``event`` and, for a run's event, the
    run's supplier (a rule naming no supplier takes them all). A rule whose addresses no
    longer parse is skipped, with a log line, never an error."""
    addresses: list[str] = []
    rules = NotificationRule.objects.filter(is_active=True).prefetch_related("suppliers")
    for rule in rules:
        if not isinstance(rule.events, list) or event not in rule.events:
            continue
        chosen = {s.pk for s in rule.suppliers.all()}
        if chosen and supplier_id is not None and supplier_id not in chosen:
            continue
        try:
            addresses += parse_emails(rule.emails)
        except ValidationError:
            log.warning("notification rule %r has invalid addresses; skipped", rule.name)
    return list(dict.fromkeys(addresses))


# --- events --------------------------------------------------------------------------------
def notifications_for_finished_run(run: SyncRun, *, failed_reason: str = "") -> list[int]:
    """Record the notifications of ``run``, which has just finished; call it in the
    transaction that finishes it (``runs.run_finish``). Never raises; sends after the commit.
    Returns the ids of the notifications this call created."""
    messages = []
    try:
        reason = sanitize_message(failed_reason) if failed_reason else ""
        feed_failed = (
            run.state == SyncRun.State.FAILED
            and run.planned_at is None
            and reason.startswith(FEED_UNREADABLE_PREFIXES)
        )
        if feed_failed:
            messages.append(_feed_unreadable_message(reason, run))
        elif reason.startswith(PROCESS_DIED_PREFIX):
            messages.append(_reconciled_message(run, "its process died; it was finished as failed"))
        elif run.state == SyncRun.State.FAILED or (
            # A stock run (hourly, say) with a few unknown SKUs would mail every hour: only
            # a stock run that failed as a whole is news.
            run.kind == SyncRun.Kind.CATALOG and (run.families_failed or run.images_failed)
        ):
            messages.append(_run_failed_message(run, reason))
        if run.deactivation_refused:
            messages.append(_refused_message(run))
    except Exception:
        log.exception("notifications of sync #%s could not be built; the run ends anyway", run.pk)
        return []
    return _record_all(messages)


def notify_run_reconciled(run: SyncRun, action: str) -> list[int]:
    """Record that the reconciler acted on ``run`` (``action`` says how). Never raises."""
    try:
        return _record_all([_reconciled_message(run, action)])
    except Exception:
        log.exception("the run.reconciled notification of sync #%s failed", run.pk)
        return []


def notify_feed_unreadable(reason: str) -> list[int]:
    """Record that Import.txt could not be read before any run began (a direct sync of every
    supplier). Shares its hour's key with the runs that failed on the same feed."""
    try:
        return _record_all([_feed_unreadable_message(sanitize_message(reason), None)])
    except Exception:
        log.exception("the feed.unreadable notification could not be recorded")
        return []


def daily_summary(*, now: datetime | None = None) -> Notification | None:
    """Record (and send after the commit) the summary of the runs that finished in the 24
    hours before ``now``, keyed by ``now``'s local date: a second call on the same day
    records nothing and returns None."""
    now = now or timezone.now()
    day = timezone.localdate(now)
    finished = SyncRun.objects.filter(
        finished_at__gte=now - timedelta(hours=24), finished_at__lt=now
    ).select_related("supplier")
    by_state: dict[str, int] = {}
    for state in finished.values_list("state", flat=True):
        by_state[state] = by_state.get(state, 0) + 1
    problems = list(finished.exclude(state=SyncRun.State.COMPLETED).order_by("pk")[:DIGEST_ITEMS])
    problem_count = finished.exclude(state=SyncRun.State.COMPLETED).count()
    totals = {
        name: sum(finished.values_list(name, flat=True))
        for name in ("families_new", "families_updated", "families_failed", "images_failed")
    }
    lines = [
        f"Runs finished in the 24 hours before {now:%Y-%m-%d %H:%M %Z}: {sum(by_state.values())}",
        "  " + (", ".join(f"{n} {s}" for s, n in sorted(by_state.items())) or "none"),
        f"Families: {totals['families_new']} new, {totals['families_updated']} updated, "
        f"{totals['families_failed']} failed; images: {totals['images_failed']} failed",
    ]
    if problems:
        lines += ["", "Runs that did not complete:"]
        lines += [f"  - {_run_line(r)}" for r in problems]
        if problem_count > len(problems):
            lines.append(f"  … and {problem_count - len(problems)} more")
    subject = (
        f"{SUBJECT_PREFIX} Daily summary {day:%Y-%m-%d}: {sum(by_state.values())} runs, "
        f"{problem_count} did not complete"
    )
    ids = _record_all([Message(Event.DAILY_SUMMARY, f"day:{day:%Y-%m-%d}", subject, _join(lines))])
    return Notification.objects.filter(pk=ids[0]).first() if ids else None


def _feed_unreadable_message(reason: str, run: SyncRun | None) -> Message:
    hour = timezone.localtime(run.finished_at if run and run.finished_at else None)
    lines = [f"Import.txt could not be read: {reason}", ""]
    if run is not None:
        lines += [
            f"Sync #{run.pk} of {run.supplier.code} ended without importing anything; other "
            "suppliers' runs that fail on the feed within the hour are not mailed again.",
            *_link_lines(run),
        ]
    lines.append("Nothing was deactivated: an unreadable feed is never read as empty.")
    return Message(
        Event.FEED_UNREADABLE,
        f"feed:{hour:%Y-%m-%dT%H}",
        f"{SUBJECT_PREFIX} The feed could not be read: {_short(reason)}",
        _join(lines),
        run,
    )


def _run_failed_message(run: SyncRun, reason: str) -> Message:
    failures = run.families_failed + run.images_failed
    if run.state == SyncRun.State.FAILED:
        what = f"failed: {_short(reason)}" if reason else "failed"
    else:
        what = f"ended with {failures} failure{'' if failures == 1 else 's'}"
    subject = f"{SUBJECT_PREFIX} {run.supplier.code}: sync #{run.pk} {what}"
    lines = [*_count_lines(run), *_failed_item_lines(run)]
    if run.message:
        lines += ["", "Run messages:", sanitize_message(run.message, max_chars=4000)]
    return Message(Event.RUN_FAILED, f"run:{run.pk}", subject, _join(lines + _link_lines(run)), run)


def _refused_message(run: SyncRun) -> Message:
    subject = f"{SUBJECT_PREFIX} {run.supplier.code}: sync #{run.pk} refused a mass deactivation"
    lines = [
        "Import.txt listed suspiciously few of this supplier's families, so none was "
        "deactivated. If the supplier really withdrew them, sync it with --force.",
        "",
        sanitize_message(run.message, max_chars=4000),
        *_link_lines(run),
    ]
    return Message(Event.DEACTIVATION_REFUSED, f"run:{run.pk}", subject, _join(lines), run)


def _reconciled_message(run: SyncRun, action: str) -> Message:
    action = sanitize_message(action, max_chars=300)
    subject = f"{SUBJECT_PREFIX} {run.supplier.code}: sync #{run.pk} was stuck: {_short(action)}"
    lines = [f"Sync #{run.pk} of {run.supplier.code} was stuck: {action}.", "", *_count_lines(run)]
    body = _join(lines + _link_lines(run))
    return Message(Event.RUN_RECONCILED, f"run:{run.pk}", subject, body, run)


def _count_lines(run: SyncRun) -> list[str]:
    return [
        f"State: {run.state}; trigger: {run.trigger}; mode: {run.mode}",
        f"Families: {run.families_total} to fetch, {run.families_done} done "
        f"({run.families_new} new, {run.families_updated} updated), "
        f"{run.families_failed} failed; {run.families_unchanged} unchanged, "
        f"{run.families_deactivated} deactivated",
        f"Images: {run.images_total} to fetch, {run.images_done} done, {run.images_failed} failed",
    ]


def _failed_item_lines(run: SyncRun) -> list[str]:
    failed = SyncItem.objects.filter(run_id=run.pk, state=SyncItem.State.FAILED)
    count = failed.count()
    if not count:
        return []
    lines = ["", f"Failed items ({count}):"]
    for kind, key, error in failed.order_by("kind", "pk").values_list("kind", "key", "error")[
        :DIGEST_ITEMS
    ]:
        shown_key = sanitize_message(key, max_chars=200)
        lines.append(f"  - {kind} {shown_key}: {sanitize_message(error, max_chars=300)}")
    if count > DIGEST_ITEMS:
        lines.append(f"  … and {count - DIGEST_ITEMS} more")
    return lines


def _link_lines(run: SyncRun) -> list[str]:
    if not settings.PROMIDATA_SITE_URL:
        return []
    path = reverse("admin:promidata_sync_syncrun_change", args=[run.pk])
    return ["", f"Run page: {settings.PROMIDATA_SITE_URL}{path}"]


def _run_line(run: SyncRun) -> str:
    return (
        f"{run.supplier.code} sync #{run.pk}: {run.state}, {run.families_failed} failed "
        f"families, {run.images_failed} failed images"
    )


def _short(text: str, limit: int = 120) -> str:
    first = text.splitlines()[0] if text else ""
    return first if len(first) <= limit else first[: limit - 1] + "…"


def _join(lines: list[str]) -> str:
    return "\n".join(lines).strip() + "\n"


# --- recording -----------------------------------------------------------------------------
def _record_all(messages: list[Message]) -> list[int]:
    ids = []
    for message in messages:
        try:
            with transaction.atomic():
                created = _record(message)
        except IntegrityError:  # already recorded (by another process, or a second finish)
            continue
        except Exception:
            log.exception("notification %s %s could not be recorded", message.event, message.key)
            continue
        if created is not None:
            ids.append(created)
    if ids:
        transaction.on_commit(lambda: send_soon(ids), robust=True)
    return ids


def _record(message: Message) -> int | None:
    """Create the notification and its webhook deliveries, or nothing when no rule and no
    endpoint wants the event. The notification's unique ``(event, key)`` is what makes the
    deliveries once too (a summary's have no run for their own constraint to hold)."""
    if Notification.objects.filter(event=message.event, key=message.key).exists():
        return None
    run = message.run
    recipients = recipients_for(message.event, run.supplier_id if run else None)
    subscribed = any(
        isinstance(e.events, list) and message.event in e.events
        for e in WebhookEndpoint.objects.filter(is_active=True).only("events")
    )
    if not recipients and not subscribed:
        return None
    now = timezone.now()
    notification = Notification.objects.create(
        event=message.event,
        key=message.key,
        run=run,
        subject=sanitize_message(message.subject, max_chars=300),
        body=message.body,
        recipients=recipients,
        # Nobody to mail: the webhook deliveries keep their own records.
        state=Notification.State.PENDING if recipients else Notification.State.SENT,
        sent_at=None if recipients else now,
    )
    if subscribed:
        webhooks_for_notification(
            message.event,
            run=run,
            notification={
                "key": message.key,
                "subject": notification.subject,
                "text": notification.body,
            },
        )
    return notification.pk


# --- sending -------------------------------------------------------------------------------
def notification_send(notification_id: int) -> str:
    """Make one attempt at e-mailing a pending or failed notification; return its state
    afterwards ("sent", "failed"), or "skipped" when it was not ours to send (already sent,
    or claimed by another sender). Records a failure sanitised; never raises for one."""
    found = Notification.objects.filter(pk=notification_id).first()
    if found is None or found.state == Notification.State.SENT:
        return "skipped"
    # The claim: of two senders, the one whose UPDATE moves ``attempts`` first sends.
    claimed = Notification.objects.filter(
        pk=found.pk, state=found.state, attempts=found.attempts
    ).update(attempts=F("attempts") + 1)
    if not claimed:
        return "skipped"
    try:
        if settings.EMAIL_BACKEND.endswith("dummy.EmailBackend"):
            raise RuntimeError(NOT_CONFIGURED)
        EmailMessage(
            subject=found.subject,
            body=found.body,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=list(found.recipients),
        ).send()
    except Exception as exc:
        error = _send_error(exc)
        failed = Notification.State.FAILED
        Notification.objects.filter(pk=found.pk).update(state=failed, error=error)
        log.warning("notification #%s (%s) not sent: %s", found.pk, found.event, error)
        return "failed"
    Notification.objects.filter(pk=found.pk).update(
        state=Notification.State.SENT, error="", sent_at=timezone.now()
    )
    return "sent"


def _send_error(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    if str(exc) != NOT_CONFIGURED:
        server = f"{settings.EMAIL_HOST}:{settings.EMAIL_PORT}"
        text = f"e-mail via {server} failed: {type(exc).__name__}: {text}"
    if settings.EMAIL_HOST_PASSWORD:
        text = text.replace(settings.EMAIL_HOST_PASSWORD, REDACTED)
    return sanitize_message(text, max_chars=500)


def notifications_send(ids) -> dict[str, int]:
    """Attempt each of ``ids``; return how many ended in each state."""
    counts: dict[str, int] = {}
    for notification_id in ids:
        state = notification_send(notification_id)
        counts[state] = counts.get(state, 0) + 1
    return counts


def notifications_due(*, now: datetime | None = None, limit: int = DUE_BATCH) -> list[int]:
    """Ids of notifications to send again: failed ones whose backoff (``RETRY_BASE_SECONDS``
    doubling from their creation) has passed and with attempts left, and pending ones their
    sender lost (older than a send can take)."""
    now = now or timezone.now()
    stale = now - timedelta(seconds=float(settings.EMAIL_TIMEOUT) * 2 + PENDING_MARGIN_SECONDS)
    candidates = Notification.objects.filter(
        Q(state=Notification.State.FAILED, attempts__lt=settings.PROMIDATA_NOTIFY_MAX_ATTEMPTS)
        | Q(state=Notification.State.PENDING, created_at__lt=stale)
    ).order_by("pk")
    due = []
    for pk, state, attempts, created_at in candidates.values_list(
        "pk", "state", "attempts", "created_at"
    )[: limit * 5]:
        wait = RETRY_BASE_SECONDS * (2 ** max(0, attempts - 1) - 1) if attempts else 0
        if state == Notification.State.PENDING or created_at + timedelta(seconds=wait) <= now:
            due.append(pk)
    return due[:limit]


def notifications_send_due(*, now: datetime | None = None) -> int:
    """The reconciler's pass: attempt the due notifications (``notifications_due``); return
    how many were sent. Never raises."""
    try:
        return notifications_send(notifications_due(now=now)).get("sent", 0)
    except Exception:
        log.exception("notifications could not be sent again")
        return 0


def notifications_retry(ids) -> int:
    """Make the given failed notifications pending again and send them after the commit
    (the admin's "Send again"): one more attempt each, whatever their count. Return how
    many."""
    with transaction.atomic():
        chosen = list(
            Notification.objects.filter(
                pk__in=list(ids), state=Notification.State.FAILED
            ).values_list("pk", flat=True)
        )
        Notification.objects.filter(pk__in=chosen).update(state=Notification.State.PENDING)
        transaction.on_commit(lambda: send_soon(chosen), robust=True)
    return len(chosen)


_senders: set[threading.Thread] = set()
_senders_lock = threading.Lock()


def send_soon(ids: list[int]) -> None:
    """Send ``ids`` on a thread of their own, so no sync waits for a mail server. At exit
    the process waits for such threads up to a send's timeout (``wait_for_sending``)."""
    if not ids:
        return
    thread = threading.Thread(
        target=_send_in_thread, args=(list(ids),), name="promidata-notify", daemon=True
    )
    with _senders_lock:
        _senders.add(thread)
    thread.start()


def _send_in_thread(ids: list[int]) -> None:
    try:
        notifications_send(ids)
    except Exception:  # left pending or failed in the database: the reconciler sends them
        log.exception("notifications %s could not be sent", ids)
    finally:
        connections.close_all()
        with _senders_lock:
            _senders.discard(threading.current_thread())


def wait_for_sending(timeout: float | None = None) -> bool:
    """Wait for this process's sending threads; True if none is left running."""
    limit = float(settings.EMAIL_TIMEOUT) * 2 if timeout is None else timeout
    deadline = timezone.now() + timedelta(seconds=limit)
    while True:
        with _senders_lock:
            running = [t for t in _senders if t.is_alive()]
        if not running:
            return True
        left = (deadline - timezone.now()).total_seconds()
        if left <= 0:
            return False
        running[0].join(left)


@atexit.register
def _finish_sending_at_exit() -> None:
    # A command that finished a run a moment ago (cron's direct sync) should still mail it;
    # what is not sent within the bound stays pending for the reconciler.
    with contextlib.suppress(Exception):
        wait_for_sending()
