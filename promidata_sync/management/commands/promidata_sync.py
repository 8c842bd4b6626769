"""``manage.py promidata_sync [CODE ...] --direct``: sync suppliers from the Promidata feed.

Exit codes: 0 everything synced; 1 something failed (a family, an image, a refused
deactivation, an unknown supplier); 2 the feed could not be read or the configuration is wrong.
"""

from __future__ import annotations

import logging
import sys

from django.core.management.base import BaseCommand, CommandError

from promidata_sync.models import SyncRun
from promidata_sync.progress import TerminalProgress
from promidata_sync.services.direct import SyncReport, sync_direct
from promidata_sync.summary import format_report

EXIT_OK, EXIT_FAILURES, EXIT_FEED_UNREADABLE = 0, 1, 2


class Command(BaseCommand):
    help = "Sync suppliers (all active ones by default) from the Promidata feed."

    def add_arguments(self, parser):
        parser.add_argument("codes", nargs="*", metavar="CODE", help="Supplier codes, e.g. A23.")
        parser.add_argument(
            "--direct",
            action="store_true",
            help="Run in this process without a broker (same services as the queue).",
        )
        parser.add_argument(
            "--force",
            action="store_true",
            help="Deactivate families missing from Import.txt even if the feed shrank a lot.",
        )
        parser.add_argument(
            "--refetch-all",
            action="store_true",
            help="Fetch every family even when its hash is unchanged (full resync).",
        )
        parser.add_argument(
            "--trigger",
            choices=[c for c, _ in SyncRun.Trigger.choices],
            default="command",
            help="Recorded on the runs (cron jobs pass --trigger cron).",
        )
        parser.add_argument("--no-progress", action="store_true", help="Never draw a progress bar.")

    def handle(self, *args, codes, direct, force, refetch_all, trigger, no_progress, **options):
        if not direct:
            raise CommandError(
                "queue mode is not available yet; run with --direct",
                returncode=EXIT_FEED_UNREADABLE,
            )
        if options["verbosity"] < 2:
            # The summary says what happened; per-step log lines are for -v 2 and the workers.
            logging.getLogger("promidata_sync").setLevel(logging.WARNING)
        progress = None
        if not no_progress and sys.stderr.isatty():
            progress = TerminalProgress(sys.stderr)
        report = sync_direct(
            [c.strip() for c in codes if c.strip()] or None,
            force=force,
            refetch_all=refetch_all,
            trigger=trigger,
            progress=progress,
        )
        self.stdout.write(format_report(report))
        code = self._exit_code(report)
        if code:
            sys.exit(code)

    @staticmethod
    def _exit_code(report: SyncReport) -> int:
        if report.index_error:
            return EXIT_FEED_UNREADABLE
        return EXIT_OK if report.ok else EXIT_FAILURES
