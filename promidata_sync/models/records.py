"""Durable records of what the sync did: runs, failures, and where each image came from."""

from django.db import models
from django.db.models import Q


class SyncRun(models.Model):
    """One sync of one supplier, in direct or queue mode.

    Counters are updated atomically (``F()`` expressions) by whoever does the work, so several
    workers can report into one run. A run is finished when ``finished_at`` is set; only then is
    the supplier's last sync status written.
    """

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        COMPLETED = "completed", "Completed"
        PARTIAL = "partial", "Completed with failures"
        FAILED = "failed", "Failed"
        STOPPED = "stopped", "Stopped"

    class Trigger(models.TextChoices):
        ADMIN = "admin", "Admin"
        COMMAND = "command", "Command"
        CRON = "cron", "Cron"
        API = "api", "API"
        REPARSE = "reparse", "Re-parse of the stored files"
        MANUAL = "manual", "Manual re-import of chosen families"

    class Kind(models.TextChoices):
        CATALOG = "catalog", "Catalog"
        STOCK = "stock", "Stock"

    class Mode(models.TextChoices):
        DIRECT = "direct", "Direct"
        QUEUE = "queue", "Queue"

    ACTIVE_STATES = (State.QUEUED, State.RUNNING)

    supplier = models.ForeignKey(
        "catalog.Supplier", on_delete=models.CASCADE, related_name="sync_runs"
    )
    trigger = models.CharField(max_length=10, choices=Trigger.choices, default=Trigger.COMMAND)
    # A catalog run syncs families and images; a stock run reads stock levels (its items are
    # families, counted in the families_* counters). The two kinds run side by side.
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.CATALOG)
    skus = models.JSONField(
        default=list,
        blank=True,
        help_text="The family SKUs a manual re-import is limited to (empty: the whole supplier).",
    )
    mode = models.CharField(max_length=10, choices=Mode.choices, default=Mode.DIRECT)
    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    force = models.BooleanField(default=False, help_text="Allow mass deactivation.")
    refetch_all = models.BooleanField(
        default=False, help_text="Fetch every family, even with an unchanged hash."
    )
    stop_requested = models.BooleanField(default=False)
    deactivation_refused = models.BooleanField(
        default=False, help_text="The feed shrank suspiciously; nothing was deactivated."
    )

    entries = models.PositiveIntegerField(default=0, help_text="Families in Import.txt.")
    families_total = models.PositiveIntegerField(default=0, help_text="New or changed families.")
    families_done = models.PositiveIntegerField(default=0)
    families_failed = models.PositiveIntegerField(default=0)
    families_new = models.PositiveIntegerField(default=0)
    families_updated = models.PositiveIntegerField(default=0)
    families_unchanged = models.PositiveIntegerField(default=0)
    families_deactivated = models.PositiveIntegerField(default=0)
    families_reactivated = models.PositiveIntegerField(default=0)
    variants_written = models.PositiveIntegerField(default=0)
    variants_deactivated = models.PositiveIntegerField(default=0)
    price_tiers_written = models.PositiveIntegerField(default=0)
    images_total = models.PositiveIntegerField(default=0)
    images_done = models.PositiveIntegerField(default=0)
    images_failed = models.PositiveIntegerField(default=0)
    images_downloaded = models.PositiveIntegerField(default=0)
    images_reused = models.PositiveIntegerField(default=0)
    warnings = models.PositiveIntegerField(
        default=0, help_text="Parser warnings of the run's families and of its index lines."
    )

    message = models.TextField(blank=True, help_text="Warnings and the reason for a failure.")
    summary = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    planned_at = models.DateTimeField(
        null=True, blank=True, help_text="When every family of the run had been planned."
    )
    finished_at = models.DateTimeField(null=True, blank=True)
    # Set for a run whose work lives in one process (direct mode, or queue mode without
    # Redis): when that process is gone, nothing else will ever finish the run.
    owner_host = models.CharField(max_length=255, blank=True)
    # The process table the owner lives in (boot id and pid namespace): its pid means nothing
    # in another one, even under the same host name (containers).
    owner_machine = models.CharField(max_length=128, blank=True)
    owner_pid = models.PositiveIntegerField(null=True, blank=True)
    # When the owner process started (clock ticks since boot, from /proc): a pid reused by
    # another process after a reboot or a wrap-around does not pass for the owner.
    owner_started = models.BigIntegerField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["supplier", "-created_at"], name="sync_run_supplier_idx"),
            models.Index(fields=["state"], name="sync_run_state_idx"),
        ]
        constraints = [
            # One active run per supplier, enforced by the database whatever the caller does.
            models.UniqueConstraint(
                fields=["supplier", "kind"],
                condition=Q(state__in=["queued", "running"]),
                name="sync_run_one_active_per_supplier_kind",
            ),
        ]
        permissions = [("operate_sync", "Can start, stop and retry syncs")]

    def __str__(self) -> str:
        """``Sync #2 A100 (completed)``: the supplier's code, which people know, not its key.
        Lists that show runs load the supplier with them (``select_related``)."""
        return f"Sync #{self.pk} {self.supplier.code} ({self.state})"

    @property
    def is_active(self) -> bool:
        return self.state in self.ACTIVE_STATES

    @property
    def duration_seconds(self) -> float | None:
        if not self.started_at:
            return None
        from django.utils import timezone

        end = self.finished_at or timezone.now()
        return (end - self.started_at).total_seconds()


class SyncItem(models.Model):
    """The outcome of one unit of a run's work: a family or an image (or the index itself).

    One row per (run, kind, key): created ``pending`` when the work is planned (which adds to
    the run's total), then moved to ``done`` or ``failed`` in the same transaction as the work
    it describes. The run's counters move only when an item changes state, so a job delivered
    twice (at-least-once queues) is counted once, and the run is finished exactly when no
    item is pending.
    """

    class Kind(models.TextChoices):
        INDEX = "index", "Import.txt"
        FAMILY = "family", "Family"
        IMAGE = "image", "Image"
        STOCK = "stock", "Stock of a family"

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    run = models.ForeignKey(SyncRun, on_delete=models.CASCADE, related_name="items")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    key = models.CharField(max_length=2000, help_text="Family SKU or image URL.")
    url = models.URLField(max_length=2000, blank=True)
    token = models.CharField(
        max_length=128, blank=True, help_text="The family's Import.txt hash when planned."
    )
    state = models.CharField(max_length=8, choices=State.choices, default=State.PENDING)
    error = models.TextField(blank=True)
    permanent = models.BooleanField(default=True, help_text="Retrying will not help by itself.")
    attempts = models.PositiveIntegerField(default=0)
    warnings = models.JSONField(
        default=list, blank=True, help_text="The first warnings the parser gave for this item."
    )
    warning_count = models.PositiveIntegerField(default=0, help_text="All of its warnings.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["run_id", "kind", "id"]
        constraints = [
            models.UniqueConstraint(fields=["run", "kind", "key"], name="sync_item_natural_uniq")
        ]
        indexes = [
            models.Index(fields=["run", "state"], name="sync_item_run_state_idx"),
            # The dashboard's throughput (items that ended in the last hour, of every run).
            models.Index(fields=["updated_at"], name="sync_item_updated_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.key}: {self.state}"


class ImageSource(models.Model):
    """An image URL met in the feed, and the stored media its bytes became.

    The URL is kept exactly as the feed gives it (S3 keys are case-sensitive). ``etag`` and
    ``last_modified`` allow a conditional request when the URL is met again.
    """

    url = models.URLField(max_length=2000)
    media = models.ForeignKey(
        "catalog.Media", null=True, blank=True, on_delete=models.SET_NULL, related_name="sources"
    )
    etag = models.CharField(max_length=255, blank=True)
    last_modified = models.CharField(max_length=64, blank=True)
    last_error = models.TextField(blank=True)
    fetched_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["url"], name="image_source_url_uniq")]

    def __str__(self) -> str:
        return self.url


class VariantImage(models.Model):
    """An image the feed declares for a variant, by URL, whether or not it is stored yet.

    The family stage writes these in the family's transaction; the image stage turns each into a
    ``catalog.VariantMedia`` link once the URL's bytes are stored.
    """

    variant = models.ForeignKey(
        "catalog.Variant", on_delete=models.CASCADE, related_name="declared_images"
    )
    url = models.URLField(max_length=2000)
    file_name = models.CharField(max_length=500, blank=True)
    position = models.PositiveIntegerField()

    class Meta:
        ordering = ["variant_id", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["variant", "url"], name="variant_image_variant_url_uniq"
            )
        ]
        indexes = [models.Index(fields=["url"], name="variant_image_url_idx")]

    def __str__(self) -> str:
        return f"{self.variant_id} #{self.position}: {self.url}"


class Job(models.Model):
    """Durable status of one queued job (one Dramatiq message), kept by a middleware.

    ``job_id`` is the message id. A retried message keeps its id, so one row follows a job
    through all its attempts.
    """

    class State(models.TextChoices):
        WAITING = "waiting", "Waiting"
        ACTIVE = "active", "Active"
        DELAYED = "delayed", "Delayed (waiting for a retry)"
        COMPLETED = "completed", "Completed"
        FAILED = "failed", "Failed"

    FINAL_STATES = (State.COMPLETED, State.FAILED)

    job_id = models.CharField(max_length=64)
    queue_name = models.CharField(max_length=64)
    actor_name = models.CharField(max_length=64)
    run = models.ForeignKey(
        SyncRun, null=True, blank=True, on_delete=models.CASCADE, related_name="jobs"
    )
    key = models.CharField(max_length=2000, blank=True, help_text="Supplier, family or URL.")
    args = models.JSONField(default=dict, blank=True, help_text="The message's identities.")
    state = models.CharField(max_length=10, choices=State.choices, default=State.WAITING)
    progress = models.JSONField(default=dict, blank=True, help_text="{step, percentage}")
    result = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    traceback = models.TextField(blank=True)
    attempts_made = models.PositiveIntegerField(default=0)
    # The broker's own id of the message's current copy (Redis keeps each enqueued copy under
    # its own id): the reconciler asks the broker whether it still holds it.
    broker_ref = models.CharField(max_length=64, blank=True)
    worker = models.CharField(
        max_length=128, blank=True, help_text="The worker (host:pid) of its latest attempt."
    )
    enqueued_at = models.DateTimeField(null=True, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]
        constraints = [models.UniqueConstraint(fields=["job_id"], name="job_job_id_uniq")]
        indexes = [
            models.Index(fields=["queue_name", "state"], name="job_queue_state_idx"),
            models.Index(fields=["run", "state"], name="job_run_state_idx"),
            models.Index(fields=["finished_at"], name="job_finished_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.queue_name} {self.job_id} ({self.state})"


class WorkerHeartbeat(models.Model):
    """A worker process that is (or was) consuming queues; refreshed every few seconds."""

    worker_id = models.CharField(max_length=64)
    hostname = models.CharField(max_length=255)
    pid = models.PositiveIntegerField()
    queues = models.JSONField(default=list)
    threads = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()
    # What this worker is configured to work against (services.workers.settings_fingerprint):
    # hosts and names only, never a secret. promidata_doctor compares it with its own.
    settings_fingerprint = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-last_seen_at"]
        constraints = [
            models.UniqueConstraint(fields=["worker_id"], name="worker_heartbeat_worker_uniq")
        ]

    def __str__(self) -> str:
        return f"{self.hostname}:{self.pid} {','.join(self.queues)}"


class FamilyFile(models.Model):
    """The bytes of a family file as the feed sent them, compressed, keyed by its hash.

    Kept in the database, written in the family's own transaction: the stored file is always
    the one the catalog rows were made from (``promidata_reparse`` rebuilds them from it with
    no network), and a file that failed to parse is kept too, so an operator can see what the
    feed sent. The current and the previous version of each family are kept.
    """

    class Encoding(models.TextChoices):
        ZSTD = "zstd", "zstd"

    supplier = models.ForeignKey(
        "catalog.Supplier", on_delete=models.CASCADE, related_name="family_files"
    )
    family_sku = models.CharField(max_length=255)
    hash = models.CharField(max_length=128, help_text="The Import.txt hash it was fetched for.")
    source_url = models.URLField(max_length=2000, blank=True)
    encoding = models.CharField(max_length=8, choices=Encoding.choices, default=Encoding.ZSTD)
    content = models.BinaryField()
    size = models.PositiveBigIntegerField(help_text="Bytes before compression.")
    stored_size = models.PositiveBigIntegerField(help_text="Bytes stored.")
    error = models.TextField(blank=True, help_text="Why it could not be used, if it could not.")
    fetched_at = models.DateTimeField()

    class Meta:
        ordering = ["supplier_id", "family_sku", "-fetched_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["supplier", "family_sku", "hash"], name="family_file_version_uniq"
            )
        ]
        indexes = [
            models.Index(fields=["supplier", "family_sku", "-fetched_at"], name="family_file_idx")
        ]

    def __str__(self) -> str:
        return f"{self.family_sku} {self.hash[:12]}"


class Lease(models.Model):
    """A named lock that lapses at ``expires_at`` unless its holder renews it: where leases
    live when the broker has no store of its own for them (RabbitMQ; ``queue.leases``)."""

    name = models.CharField(max_length=255, primary_key=True)
    token = models.CharField(max_length=64)
    expires_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} until {self.expires_at:%H:%M:%S}"
