"""``manage.py promidata_media_prune [--dry-run]``: delete stored images nothing refers to.

What counts as referred to is defined in ``promidata_sync.services.media_prune``; run it
between syncs.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from promidata_sync.checks import StorageUnavailable, storage_check
from promidata_sync.services.media_prune import media_prune


class Command(BaseCommand):
    help = "Delete media (stored object and row) that no variant links any more."

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run", action="store_true", help="Only report what would be deleted."
        )

    def handle(self, *args, dry_run, **options):
        if not dry_run:
            try:
                storage_check()
            except StorageUnavailable as exc:
                raise CommandError(str(exc)) from None
        report = media_prune(dry_run=dry_run)
        verb = "would delete" if dry_run else "deleted"
        self.stdout.write(
            f"{verb} {report.media} media ({report.bytes:,} bytes) "
            f"and {report.sources} image source(s)"
        )
