"""``manage.py promidata_stock [--supplier CODE ...]``: read stock levels from the stock service.

One stock run per supplier (all active suppliers by default): every active family's variants
are read from ``PROMIDATA_STOCK_URL_TEMPLATE``, conditionally when read before. Queued by
default (``--wait`` follows the runs); ``--direct`` reads in this process. Meant for cron,
more often than the catalog sync (docs/stock.md).

Exit codes as ``promidata_sync``: 0 every family read; 1 something failed (a variant, an
unknown supplier, ``--wait`` gave up); 2 stock is off or misconfigured, the broker is
unreachable, or an internal error stopped it (one line; the traceback in the log); 3 syncs
are paused (nothing started); 130 interrupted.
"""

from __future__ import annotations

import logging
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand

from promidata_sync.errors import describe
from promidata_sync.models import SyncRun
from promidata_sync.operations import StockNotConfigured, UnknownSupplier, start_stock_sync
from promidata_sync.queue.broker import BrokerUnavailable, is_persistent
from promidata_sync.services.pauses import EXIT_PAUSED, SyncPaused
from promidata_sync.summary import format_failures, state_label

EXIT_OK, EXIT_FAILURES, EXIT_BROKEN, EXIT_INTERRUPTED = 0, 1, 2, 130
WAIT_POLL_SECONDS = 0.5
log = logging.getLogger("promidata_sync.commands")


class Command(BaseCommand):
    help = "Read stock levels (all active suppliers by default) from the stock service."

    def add_arguments(self, parser):
        parser.add_argument("--supplier", nargs="+", default=[], metavar="CODE")
        mode = parser.add_mutually_exclusive_group()
        mode.add_argument("--direct", action="store_true", help="Read in this process.")
        mode.add_argument("--queue", action="store_true", help="Queue the runs (the default).")
        parser.add_argument("--wait", action="store_true", help="Queue mode: follow the runs.")
        parser.add_argument("--timeout", type=float, default=None, metavar="SECONDS")
        parser.add_argument(
            "--trigger",
            choices=[c for c, _ in SyncRun.Trigger.choices],
            default="command",
            help="Recorded on the runs (cron jobs pass --trigger cron).",
        )
        parser.add_argument("--quiet", action="store_true", help="Print failures only.")

    def handle(self, *args, **options):
        try:
            code = self._stock(**options)
        except KeyboardInterrupt:
            self.stderr.write("promidata_stock: interrupted")
            code = EXIT_INTERRUPTED
        except Exception as exc:
            log.exception("promidata_stock failed")
            self.stderr.write(f"promidata_stock: {describe(exc)}; the traceback is in the log")
            code = EXIT_BROKEN
        if code:
            sys.exit(code)

    def _stock(self, *, supplier, direct, wait, timeout, trigger, quiet, **options) -> int:
        self.quiet = quiet
        results, errors = [], []
        try:
            for code in supplier or [None]:
                try:
                    results.append(start_stock_sync(code, use_queue=not direct, trigger=trigger))
                except UnknownSupplier as exc:
                    errors.append(str(exc))
        except (StockNotConfigured, BrokerUnavailable) as exc:
            self.stderr.write(str(exc))
            return EXIT_BROKEN
        except SyncPaused as exc:
            self.stderr.write(str(exc))
            return EXIT_PAUSED
        for error in errors:
            self.stderr.write(error)
        run_ids = sorted({pk for result in results for pk in result["runs"]})
        if not direct and not wait and is_persistent():
            for result in results:
                for job in result["jobs"]:
                    self._say(
                        f"{job['supplier']}: stock run #{job['run_id']}, job {job['job_id']} "
                        f"on {job['queue_name']} ({job['status'].replace('_', ' ')})"
                    )
            return EXIT_FAILURES if errors else EXIT_OK
        finished, still_open = self._follow(run_ids, timeout)
        for run in finished:
            self._say(
                f"{run.supplier.code}: stock run #{run.pk} {state_label(run)}: "
                f"{run.families_done} families read, {run.families_failed} failed"
            )
        for line in format_failures([r for r in finished if r.state != SyncRun.State.COMPLETED]):
            self.stderr.write(line.strip())
        for run in still_open:
            self.stderr.write(f"{run.supplier.code}: stock run #{run.pk} still {state_label(run)}")
        ok = not errors and not still_open
        ok = ok and all(r.state == SyncRun.State.COMPLETED for r in finished)
        return EXIT_OK if ok else EXIT_FAILURES

    def _say(self, line: str) -> None:
        if not self.quiet:
            self.stdout.write(line)

    def _follow(self, run_ids: list[int], timeout: float | None):
        limit = settings.PROMIDATA_WAIT_TIMEOUT_SECONDS if timeout is None else timeout
        started = time.monotonic()
        while True:
            runs = list(
                SyncRun.objects.filter(pk__in=run_ids)
                .select_related("supplier")
                .order_by("supplier__code")
            )
            if all(r.finished_at for r in runs) or time.monotonic() - started >= limit:
                return [r for r in runs if r.finished_at], [r for r in runs if not r.finished_at]
            time.sleep(WAIT_POLL_SECONDS)
