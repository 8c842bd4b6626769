"""``manage.py promidata_prune_jobs [--days N] [--dry-run]``: keep the job tables bounded.

Deletes finished job records, and the done items of finished runs, older than the retention
(runs and their failed items stay), and forgets workers silent for an hour.
"""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand

from promidata_sync.services.jobs import jobs_prune, run_items_prune
from promidata_sync.services.workers import workers_prune


class Command(BaseCommand):
    help = "Delete job records and done run items older than PROMIDATA_JOB_RETENTION_DAYS."

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=settings.PROMIDATA_JOB_RETENTION_DAYS)
        parser.add_argument("--dry-run", action="store_true")

    def handle(self, *args, days, dry_run, **options):
        count = jobs_prune(older_than_days=days, dry_run=dry_run)
        verb = "would delete" if dry_run else "deleted"
        self.stdout.write(f"{verb} {count} job record(s) finished more than {days} day(s) ago")
        items = run_items_prune(older_than_days=days, dry_run=dry_run)
        self.stdout.write(f"{verb} {items} done item(s) of sync runs finished before then")
        if not dry_run:
            self.stdout.write(f"forgot {workers_prune()} silent worker(s)")
