"""``manage.py promidata_reparse [CODE ...] [--sku SKU ...]``: rebuild catalog rows from the
kept family files, with no network access (``services.reparse``).

Run it after upgrading promidata-sync when the new version reads fields the old one did not:
the catalog gets them without fetching a single file. Same summary and exit codes as
``promidata_sync``: 0 every family re-parsed; 1 some failed (or had no kept file); 2 the
configuration is wrong or an internal error stopped it.
"""

from __future__ import annotations

import logging
import sys

from django.core.management.base import BaseCommand, CommandError

from promidata_sync.errors import describe
from promidata_sync.models import SyncRun
from promidata_sync.progress import TerminalProgress
from promidata_sync.services.reparse import reparse
from promidata_sync.services.runs import RunAlreadyActive
from promidata_sync.summary import format_failures, format_runs

EXIT_OK, EXIT_FAILURES, EXIT_BROKEN = 0, 1, 2
log = logging.getLogger("promidata_sync.commands")


class Command(BaseCommand):
    help = "Rebuild the catalog from the kept family files, without fetching anything."

    def add_arguments(self, parser):
        parser.add_argument(
            "codes", nargs="*", metavar="CODE", help="Supplier codes (default: all)."
        )
        parser.add_argument(
            "--sku", nargs="+", default=None, metavar="SKU", help="Only these families."
        )
        parser.add_argument("--no-progress", action="store_true", help="Never draw a progress bar.")

    def handle(self, *args, codes, sku, no_progress, **options):
        progress = None if no_progress or not sys.stderr.isatty() else TerminalProgress(sys.stderr)
        try:
            finished = reparse(codes or None, skus=sku, progress=progress)
        except RunAlreadyActive as exc:
            raise CommandError(
                f"{exc}: wait for it to end, then re-parse", returncode=EXIT_FAILURES
            ) from None
        except Exception as exc:
            log.exception("promidata_reparse failed")
            raise CommandError(
                f"{describe(exc)}; the traceback is in the log", returncode=EXIT_BROKEN
            ) from None
        if not finished:
            self.stdout.write("No kept family files match.")
            return
        self.stdout.write("\n".join(format_runs(finished)))
        problems = format_failures(finished)
        if problems:
            self.stdout.write("Problems:\n" + "\n".join(problems))
        if any(run.state != SyncRun.State.COMPLETED for run in finished):
            sys.exit(EXIT_FAILURES)
