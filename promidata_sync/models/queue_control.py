"""What operators did to the queues: pauses in force, and the trail of every queue action."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Pause(models.Model):
    """One pause in force; the row's absence means "running".

    - scope ``queue``, name a queue: its workers start no new job (running ones finish);
    - scope ``all`` (name empty): every queue, and no sync may be started;
    - scope ``supplier``, name a supplier code: no sync of that supplier may be started.
    """

    class Scope(models.TextChoices):
        ALL = "all", "everything"
        QUEUE = "queue", "queue"
        SUPPLIER = "supplier", "supplier"

    scope = models.CharField(max_length=10, choices=Scope.choices)
    name = models.CharField(max_length=255, blank=True)
    paused_by = models.CharField(max_length=150, blank=True)
    paused_at = models.DateTimeField()
    reason = models.CharField(max_length=500, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["scope", "name"], name="pause_unique_scope_name"),
        ]
        ordering = ["scope", "name"]

    def __str__(self) -> str:
        return f"{self.get_scope_display()} {self.name}".strip()


class QueueAction(models.Model):
    """The audit trail of queue actions (pause, resume, purge, clear dead letters, retry):
    who, what, on which target, with a one-line outcome."""

    class Action(models.TextChoices):
        PAUSE = "pause", "paused"
        RESUME = "resume", "resumed"
        PURGE = "purge", "purged waiting jobs"
        CLEAR_DEAD = "clear_dead", "cleared dead letters"
        RETRY_JOB = "retry_job", "retried a job"
        RETRY_FAMILY = "retry_family", "retried a family"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    username = models.CharField(max_length=150, blank=True, help_text="Kept if the user goes.")
    action = models.CharField(max_length=20, choices=Action.choices)
    target = models.CharField(max_length=500)
    detail = models.CharField(max_length=2000, blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["-at"], name="queueaction_at")]

    def __str__(self) -> str:
        return f"{self.username} {self.get_action_display()} {self.target}"
