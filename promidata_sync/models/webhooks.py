"""Webhooks: endpoints that are told when a run finishes and when products change, and the
record of every delivery."""

from __future__ import annotations

import uuid

from django.db import models


class WebhookEndpoint(models.Model):
    """A URL that receives signed event bodies (``services.webhooks``)."""

    class Event(models.TextChoices):
        RUN_FINISHED = "run.finished", "A sync run finished"
        PRODUCTS_CHANGED = "products.changed", "A sync run changed products"
        # The notification events (services.notifications), sent to subscribed endpoints.
        FEED_UNREADABLE = "feed.unreadable", "The feed could not be read"
        DEACTIVATION_REFUSED = "deactivation.refused", "A mass deactivation was refused"
        RUN_FAILED = "run.failed", "A run failed or ended with failures"
        RUN_RECONCILED = "run.reconciled", "A stuck run was reconciled"
        DAILY_SUMMARY = "daily.summary", "The daily summary"

    name = models.CharField(max_length=100)
    url = models.URLField(max_length=2000, help_text="https://… (http only for allowed networks)")
    secret = models.CharField(
        max_length=200, help_text="Shared secret of the HMAC-SHA256 signature."
    )
    events = models.JSONField(default=list, help_text="Events sent to this endpoint.")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class WebhookDelivery(models.Model):
    """One event for one endpoint, from its creation to its last attempt.

    ``(endpoint, event, run)`` is unique: a run that is finished twice (a redelivered job)
    sends each event once. ``event_id`` is in the body, for receivers that deduplicate.
    """

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        SUCCEEDED = "succeeded", "Delivered"
        FAILED = "failed", "Failed (no retry left)"

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    event = models.CharField(max_length=32, choices=WebhookEndpoint.Event.choices)
    event_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    run = models.ForeignKey(
        "promidata_sync.SyncRun",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="webhook_deliveries",
    )
    payload = models.JSONField()
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status = models.PositiveIntegerField(null=True, blank=True, help_text="HTTP status")
    last_error = models.TextField(blank=True)
    last_duration_ms = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "webhook deliveries"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["endpoint", "event", "run"], name="webhookdelivery_once_per_run"
            )
        ]
        indexes = [models.Index(fields=["state", "next_attempt_at"], name="webhookdelivery_due")]

    def __str__(self) -> str:
        return f"{self.event} → {self.endpoint}"
