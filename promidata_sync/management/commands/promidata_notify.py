"""``manage.py promidata_notify``: the daily summary, and sending failed notifications again.

    promidata_notify --daily-summary   # cron, once a day: one message per day, whatever runs it
    promidata_notify --send-failed     # every failed or lost notification, now

Waits for the messages it sends (each within EMAIL_TIMEOUT). Exit code 0 when everything it
tried was sent (or there was nothing to do), 1 when a message failed (its error is on it, in
the admin), 2 on a configuration or database error (one line; the traceback is in the log).
"""

from __future__ import annotations

import logging

from django.core.management.base import BaseCommand, CommandError

from promidata_sync.errors import describe
from promidata_sync.models import Notification
from promidata_sync.services import notifications, webhooks

log = logging.getLogger("promidata_sync.commands")


class Command(BaseCommand):
    help = "Send the daily summary, or send failed notifications again."

    def add_arguments(self, parser):
        parser.add_argument(
            "--daily-summary", action="store_true", help="Record and send today's summary."
        )
        parser.add_argument(
            "--send-failed",
            action="store_true",
            help="Send every failed (or lost) notification again now, whatever its attempts.",
        )

    def handle(self, *args, daily_summary, send_failed, **options):
        if not (daily_summary or send_failed):
            raise CommandError("say what to do: --daily-summary and/or --send-failed")
        try:
            failed = 0
            if daily_summary:
                failed += self._summary()
            if send_failed:
                failed += self._send_failed()
        except CommandError:
            raise
        except Exception as exc:
            log.exception("promidata_notify failed")
            raise CommandError(describe(exc), returncode=2) from None
        if failed:
            raise CommandError(f"{failed} notification(s) not sent", returncode=1)

    def _summary(self) -> int:
        summary = notifications.daily_summary()
        if summary is None:
            self.stdout.write("Daily summary: already sent today (or nobody subscribed).")
            return 0
        notifications.wait_for_sending()
        webhooks.deliver_due()  # its webhook deliveries, before this process exits
        summary.refresh_from_db()
        self.stdout.write(f"Daily summary #{summary.pk}: {summary.get_state_display().lower()}")
        return int(summary.state == Notification.State.FAILED)

    def _send_failed(self) -> int:
        ids = list(
            Notification.objects.filter(
                state__in=[Notification.State.FAILED, Notification.State.PENDING]
            ).values_list("pk", flat=True)
        )
        counts = notifications.notifications_send(ids)
        self.stdout.write(
            f"Sent {counts.get('sent', 0)}, failed {counts.get('failed', 0)} "
            f"of {len(ids)} notification(s)."
        )
        return counts.get("failed", 0)
