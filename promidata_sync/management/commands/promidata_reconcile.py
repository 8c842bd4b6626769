"""``manage.py promidata_reconcile``: finish dead runs and resume stalled queue runs.

The worker supervisor (``promidata_workers``) does this on its own every
PROMIDATA_RECONCILE_INTERVAL_SECONDS; run this from cron where workers are started some other
way (``promidata_worker`` per machine). Exit code 0, also when there was nothing to do.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand

from promidata_sync.queue.reconcile import reconcile


class Command(BaseCommand):
    help = "Finish runs whose process died and resume queue runs whose messages were lost."

    def add_arguments(self, parser):
        parser.add_argument(
            "--stalled-after",
            type=float,
            default=None,
            metavar="SECONDS",
            help="Resume queue runs without progress for this long "
            "(default: PROMIDATA_RECONCILE_AFTER_SECONDS).",
        )

    def handle(self, *args, stalled_after, **options):
        report = reconcile(stalled_after_seconds=stalled_after)
        self.stdout.write(f"reconcile: {report}")
