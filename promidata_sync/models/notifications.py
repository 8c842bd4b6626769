"""Notifications: who is told about which events (``NotificationRule``), and each message
sent (``Notification``: one per event and subject, so a run that fails is told once)."""

from __future__ import annotations

from django.db import models

from promidata_sync.models.webhooks import WebhookEndpoint

# The notification events are the webhook events of the same names.
NOTIFICATION_EVENTS = (
    WebhookEndpoint.Event.FEED_UNREADABLE,
    WebhookEndpoint.Event.DEACTIVATION_REFUSED,
    WebhookEndpoint.Event.RUN_FAILED,
    WebhookEndpoint.Event.RUN_RECONCILED,
    WebhookEndpoint.Event.DAILY_SUMMARY,
)


class NotificationRule(models.Model):
    """E-mail recipients for a set of events, optionally for some suppliers only."""

    name = models.CharField(max_length=100)
    events = models.JSONField(default=list, help_text="Events that send a message.")
    emails = models.TextField(help_text="Recipients, one address per line (or comma-separated).")
    suppliers = models.ManyToManyField(
        "catalog.Supplier", blank=True, help_text="Only these suppliers' runs (none: all)."
    )
    is_active = models.BooleanField(default=True)
    created_by = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class Notification(models.Model):
    """One message about one event and subject (``key``: the run, or the day of a summary).

    ``(event, key)`` is unique: the same event about the same run is sent once, whatever
    calls it twice; the items it concerns go in one digest in ``body``.
    """

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    event = models.CharField(max_length=32, choices=WebhookEndpoint.Event.choices)
    key = models.CharField(max_length=200, help_text="run:<id>, or day:<date> for a summary.")
    run = models.ForeignKey(
        "promidata_sync.SyncRun",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="notifications",
    )
    subject = models.CharField(max_length=300)
    body = models.TextField(blank=True)
    recipients = models.JSONField(default=list, blank=True)
    state = models.CharField(max_length=8, choices=State.choices, default=State.PENDING)
    error = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["event", "key"], name="notification_event_key_uniq")
        ]

    def __str__(self) -> str:
        return f"{self.event} {self.key} ({self.state})"
