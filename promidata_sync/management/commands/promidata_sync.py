"""``manage.py promidata_sync [CODE ...]``: sync suppliers from the Promidata feed.

``--sku SKU [SKU ...]`` re-imports just those families now (family or variant SKUs),
whatever their stored hashes, in a run of their own per supplier (trigger "manual").

By default the syncs are queued (returns at once, printing run and job ids); ``--wait``
follows them to the end. ``--direct`` runs everything in this process without a broker.
Without a broker (REDIS_URL or BROKER_URL) the queue lives in this process, so the command
always waits.

``--quiet`` is for cron (``promidata_sync --all --trigger cron --quiet``): nothing is printed
on success, one line per failure goes to stderr, and the exit code says whether something
failed. A supplier whose sync is still running is not synced twice: its running sync is
followed instead (see docs/scheduling.md).

Exit codes: 0 everything synced; 1 something failed (a family, an image, a refused
deactivation, an unknown supplier or SKU, or ``--wait`` gave up after ``--timeout``); 2 the feed
could not be read, the broker is unreachable, the configuration is wrong or the sync broke
on an internal error (one line here; the traceback, masked, in the log); 3 syncs are paused
(everything, or every supplier asked for: the admin's Queues page; nothing was started);
130 interrupted.
"""

from __future__ import annotations

import io
import logging
import signal
import sys
import time

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError, OutputWrapper

from promidata_sync.checks import StorageUnavailable, storage_check
from promidata_sync.conf import SyncConfig
from promidata_sync.errors import describe
from promidata_sync.models import SyncRun
from promidata_sync.operations import UnknownSupplier, reimport_families, start_sync
from promidata_sync.progress import TerminalProgress
from promidata_sync.queue.broker import BrokerUnavailable, is_persistent
from promidata_sync.queue.reconcile import reconcile
from promidata_sync.redaction import redact
from promidata_sync.services.direct import SyncReport, sync_direct
from promidata_sync.services.exclusions import ExcludedFamilies
from promidata_sync.services.feed_index import FeedUnreadable
from promidata_sync.services.pauses import EXIT_PAUSED, SyncPaused, sync_pause_check
from promidata_sync.services.reimport import TooManySkus, UnknownSku
from promidata_sync.summary import format_failures, format_report, format_runs

EXIT_OK, EXIT_FAILURES, EXIT_FEED_UNREADABLE, EXIT_INTERRUPTED = 0, 1, 2, 130
WAIT_POLL_SECONDS = 1.0
log = logging.getLogger("promidata_sync.commands")


class Command(BaseCommand):
    help = "Sync suppliers (all active ones by default) from the Promidata feed."

    def add_arguments(self, parser):
        parser.add_argument("codes", nargs="*", metavar="CODE", help="Supplier codes, e.g. A23.")
        parser.add_argument(
            "--all", action="store_true", help="Every active supplier (the default without CODE)."
        )
        parser.add_argument(
            "--sku",
            dest="skus",
            nargs="+",
            action="extend",
            default=[],
            metavar="SKU",
            help="Re-import only these families (family or variant SKUs) now, whatever their "
            "hashes say.",
        )
        parser.add_argument(
            "--direct",
            action="store_true",
            help="Run in this process without a broker (same services as the queue).",
        )
        parser.add_argument(
            "--wait", action="store_true", help="Queue mode: follow the runs until they end."
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
        parser.add_argument(
            "--quiet",
            action="store_true",
            help="For cron: print nothing on success, one line per failure on stderr.",
        )
        parser.add_argument(
            "--timeout",
            type=float,
            default=None,
            metavar="SECONDS",
            help="With --wait: give up (exit 1) after this long; the runs go on "
            "(default: PROMIDATA_WAIT_TIMEOUT_SECONDS, 6 hours).",
        )

    def handle(self, *args, **options):
        """Run the sync; whatever breaks ends in one line and the documented exit code.

        SIGTERM (a service manager stopping cron's job, a container shutting down) ends the
        sync as Ctrl-C does: the running run is finished as stopped, not left for the next
        sync to find dead.
        """
        signal.signal(signal.SIGTERM, _interrupt)
        try:
            code = self._sync(**options)
        except CommandError:
            raise
        except KeyboardInterrupt:
            self.stderr.write("promidata_sync: interrupted")
            code = EXIT_INTERRUPTED
        except SyncPaused as exc:  # paused while it started (a re-import, a race)
            self.stderr.write(str(exc))
            code = EXIT_PAUSED
        except ImproperlyConfigured as exc:  # found while starting (a setting read late)
            self.stderr.write(f"configuration error: {redact(str(exc))}")
            code = EXIT_FEED_UNREADABLE
        except Exception as exc:
            log.exception("promidata_sync failed")
            self.stderr.write(f"promidata_sync: {describe(exc)}; the traceback is in the log")
            code = EXIT_FEED_UNREADABLE
        if code:
            sys.exit(code)

    def _sync(self, *, codes, direct, wait, force, refetch_all, trigger, no_progress, **opts):
        codes = [c.strip() for c in codes if c.strip()]
        self.wait_timeout = (
            settings.PROMIDATA_WAIT_TIMEOUT_SECONDS if opts["timeout"] is None else opts["timeout"]
        )
        if opts["all"] and codes:
            raise CommandError("give supplier codes or --all, not both", returncode=EXIT_FAILURES)
        skus = [s for s in opts["skus"] if s.strip()]
        if opts["skus"] and not skus:
            raise CommandError("--sku needs at least one SKU", returncode=EXIT_FAILURES)
        if skus and (codes or opts["all"] or force or refetch_all):
            raise CommandError(
                "--sku re-imports the families it names: give no supplier codes, --all, "
                "--force or --refetch-all with it",
                returncode=EXIT_FAILURES,
            )
        self.skus = skus
        if skus:
            trigger = SyncRun.Trigger.MANUAL
        if direct or not is_persistent():  # this process will store the images itself
            try:
                storage_check()
            except StorageUnavailable as exc:
                raise CommandError(str(exc), returncode=EXIT_FEED_UNREADABLE) from None
        self.quiet = opts["quiet"]
        if self.quiet:
            # Success prints nothing: the summary goes nowhere, failures to stderr (below).
            self.stdout = OutputWrapper(io.StringIO())
            no_progress = True
        level = logging.getLogger("promidata_sync").level
        dramatiq_level = logging.getLogger("dramatiq").level
        if opts["verbosity"] < 2:
            # The summary says what happened; per-step log lines are for -v 2 and the workers.
            logging.getLogger("promidata_sync").setLevel(logging.WARNING)
        if self.quiet:
            # Each failure is reported once, below; warnings and worker logs would repeat them.
            logging.getLogger("promidata_sync").setLevel(logging.ERROR)
            logging.getLogger("dramatiq").setLevel(logging.CRITICAL)
        SyncConfig.from_settings()  # a setting that cannot work is said before pauses are read
        try:
            codes = sync_pause_check(codes or None) if not skus else codes
        except SyncPaused as exc:
            raise CommandError(str(exc), returncode=EXIT_PAUSED) from None
        try:
            if direct:
                return self._direct(codes, force, refetch_all, trigger, no_progress)
            return self._queue(codes, wait, force, refetch_all, trigger, no_progress)
        finally:
            logging.getLogger("promidata_sync").setLevel(level)
            logging.getLogger("dramatiq").setLevel(dramatiq_level)

    # --- direct mode ---------------------------------------------------------------------------
    def _direct(self, codes, force, refetch_all, trigger, no_progress) -> int:
        progress = None
        if not no_progress and sys.stderr.isatty():
            progress = TerminalProgress(sys.stderr)
        if self.skus:
            try:
                result = reimport_families(self.skus, use_queue=False, progress=progress)
            except (UnknownSku, TooManySkus, ExcludedFamilies) as exc:
                raise CommandError(str(exc), returncode=EXIT_FAILURES) from None
            report = result["report"]
        else:
            report = sync_direct(
                codes or None,
                force=force,
                refetch_all=refetch_all,
                trigger=trigger,
                progress=progress,
            )
        self.stdout.write(format_report(report))
        if self.quiet:
            if report.index_error:  # every run failed for this one reason
                self._write_failures([f"Feed unreadable: {report.index_error}"])
            else:
                self._write_failures(failure_lines(report.runs) + report.errors)
        return self._direct_exit_code(report)

    def _write_failures(self, lines: list[str]) -> None:
        for line in lines:
            self.stderr.write(line)

    @staticmethod
    def _direct_exit_code(report: SyncReport) -> int:
        if report.index_error:
            return EXIT_FEED_UNREADABLE
        return EXIT_OK if report.ok else EXIT_FAILURES

    # --- queue mode ----------------------------------------------------------------------------
    def _queue(self, codes, wait, force, refetch_all, trigger, no_progress) -> int:
        results, errors = [], []
        try:
            if self.skus:
                try:
                    results.append(reimport_families(self.skus, use_queue=True))
                except (UnknownSku, TooManySkus, ExcludedFamilies) as exc:
                    errors.append(str(exc))
            for target in [] if self.skus else codes or [None]:
                try:
                    results.append(
                        start_sync(
                            target,
                            use_queue=True,
                            trigger=trigger,
                            force=force,
                            refetch_all=refetch_all,
                        )
                    )
                except UnknownSupplier as exc:
                    errors.append(str(exc))
        except BrokerUnavailable as exc:
            raise CommandError(str(exc), returncode=EXIT_FEED_UNREADABLE) from None
        except FeedUnreadable as exc:
            raise CommandError(f"Feed unreadable: {exc}", returncode=EXIT_FEED_UNREADABLE) from None
        jobs = [job for result in results for job in result["jobs"]]
        for job in jobs:
            self.stdout.write(
                f"{job['supplier']}: sync run #{job['run_id']}, job {job['job_id']} "
                f"on {job['queue_name']} ({job['status'].replace('_', ' ')})"
            )
        for error in errors:
            self.stderr.write(error)
        if not is_persistent() and not wait:
            self.stdout.write(
                "no broker (REDIS_URL or BROKER_URL) is set: the jobs run in this process; "
                "waiting for them"
            )
            wait = True
        if not wait:
            return EXIT_FAILURES if errors else EXIT_OK
        run_ids = sorted({job["run_id"] for job in jobs})
        finished, open_runs = self._follow(run_ids, live=not no_progress and sys.stdout.isatty())
        if open_runs:
            lines = [
                f"{run.supplier.code}: sync run #{run.pk} still {run.state} after "
                f"{self.wait_timeout:.0f}s; stopped waiting (it goes on)"
                for run in open_runs
            ]
            if self.quiet:
                self._write_failures(lines)
            else:
                self.stdout.write("\n".join(lines))
            return EXIT_FAILURES
        self.stdout.write("\n".join(format_runs(finished)) + "\n")
        problems = format_failures(finished)
        if problems:
            self.stdout.write("Problems:\n" + "\n".join(problems) + "\n")
        if self.quiet:
            self._write_failures(failure_lines(finished))
        ok = not errors and all(r.state == SyncRun.State.COMPLETED for r in finished)
        if any(r.state == SyncRun.State.FAILED and r.planned_at is None for r in finished):
            return EXIT_FEED_UNREADABLE
        return EXIT_OK if ok else EXIT_FAILURES

    def _follow(self, run_ids: list[int], *, live: bool) -> tuple[list[SyncRun], list[SyncRun]]:
        """Poll the runs until each has finished or ``--timeout`` passed, redrawing one line
        per run on a terminal; return (finished runs, runs still open). While waiting, the
        reconciler runs now and then, so a run whose messages were lost resumes even where
        no worker supervisor runs it."""
        drawn = 0
        started = last_reconcile = time.monotonic()
        while True:
            runs = list(SyncRun.objects.filter(pk__in=run_ids).select_related("supplier"))
            if live:
                if drawn:
                    self.stdout.write(f"\x1b[{drawn}F", ending="")
                for run in runs:
                    self.stdout.write("\x1b[2K" + _progress_line(run))
                drawn = len(runs)
            if all(run.finished_at for run in runs):
                return sorted(runs, key=lambda r: r.supplier.code), []
            now = time.monotonic()
            if now - started >= self.wait_timeout:
                return [r for r in runs if r.finished_at], [r for r in runs if not r.finished_at]
            if (
                is_persistent()
                and now - last_reconcile >= settings.PROMIDATA_RECONCILE_INTERVAL_SECONDS
            ):
                last_reconcile = now
                try:
                    reconcile()
                except Exception:  # Redis or the database hiccupped: keep waiting
                    log.warning("reconcile while waiting failed", exc_info=True)
            time.sleep(WAIT_POLL_SECONDS)


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def failure_lines(runs: list[SyncRun]) -> list[str]:
    """One line per failure of the runs that did not complete cleanly (for ``--quiet``).

    A completed run's messages are warnings, not failures: it prints nothing.
    """
    lines = []
    for run in runs:
        if run.state == SyncRun.State.COMPLETED:
            continue
        found = [line.strip() for line in format_failures([run])]
        lines += found or [f"{run.supplier.code}: sync run #{run.pk} ended {run.state}"]
    return lines


def _progress_line(run: SyncRun) -> str:
    def part(done, failed, total):
        share = (done + failed) / total if total else 1.0
        return f"{done + failed}/{total} ({share:.0%}, {failed} failed)"

    return (
        f"{run.supplier.code:<8} #{run.pk:<6} {run.state:<9} families "
        f"{part(run.families_done, run.families_failed, run.families_total)}  images "
        f"{part(run.images_done, run.images_failed, run.images_total)}"
    )
