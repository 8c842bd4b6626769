"""API keys: who may read the catalog or operate syncs over the HTTP API."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class ApiKey(models.Model):
    """A secret that a program sends as ``Authorization: Bearer <key>``.

    Only the SHA-256 of the key is stored (keys are 256 random bits, so a fast hash is
    enough); the key itself is shown once, when it is created (``services.api_keys``).
    ``prefix`` (the key's first characters) tells keys apart in the admin and the logs.
    A revoked key is kept, so its name and last use stay visible.
    """

    class Scope(models.TextChoices):
        CATALOG_READ = "catalog:read", "Read the catalog (products, categories, changes, quotes)"
        SYNC_OPERATE = "sync:operate", "Start syncs and read runs, jobs and queues"
        METRICS_READ = "metrics:read", "Read the Prometheus metrics (/metrics)"

    name = models.CharField(max_length=100, help_text="Who uses the key, e.g. 'web shop'.")
    prefix = models.CharField(max_length=16, unique=True, editable=False)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    scopes = models.JSONField(default=list, help_text="Scopes the key grants.")
    requests_per_minute = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Throttle for this key; empty: PROMIDATA_API_REQUESTS_PER_MINUTE.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, editable=False
    )
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = "API key"
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
