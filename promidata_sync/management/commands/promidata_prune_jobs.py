"""``manage.py promidata_prune_jobs [--days N] [--dry-run]``: keep the job table bounded."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand

from promidata_sync.services.jobs import jobs_prune
from promidata_sync.services.workers import workers_prune


class Command(BaseCommand):
    help = "Delete finished job records older than PROMIDATA_JOB_RETENTION_DAYS."

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=settings.PROMIDATA_JOB_RETENTION_DAYS)
        parser.add_argument("--dry-run", action="store_true")

    def handle(self, *args, days, dry_run, **options):
        count = jobs_prune(older_than_days=days, dry_run=dry_run)
        verb = "would delete" if dry_run else "deleted"
        self.stdout.write(f"{verb} {count} job record(s) finished more than {days} day(s) ago")
        if not dry_run:
            self.stdout.write(f"forgot {workers_prune()} silent worker(s)")
