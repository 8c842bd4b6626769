"""``manage.py promidata_sync [CODE ...]``: sync suppliers from the Promidata feed.

``--sku SKU [SKU ...]`` re-imports just those families now (family or variant SKUs),
whatever their stored hashes, in a run of their own per supplier (trigger "manual").

By default the syncs are queued (returns at once, printing run and job ids); ``--wait``
follows them to the end. ``--direct`` runs everything in this process without a broker.
Without a broker (REDIS_URL or BROKER_URL) the queue lives in this process, so the command
always waits.

``--json`` prints one JSON document on stdout at the end (and nothing else there): the runs
(id, supplier, kind, mode, trigger, state code, counters, duration, failures) and the errors
outside any run, in every mode; the exit code is the same as without it.

Failures (a failed family or image, an unknown supplier, a run that did not complete, an
unreadable feed) go to stderr in every mode; the summary goes to stdout. ``-v 2`` also lists
the malformed Import.txt lines of a direct sync, masked.

``--quiet`` is for cron (``promidata_sync --all --trigger cron --quiet``): nothing is printed
on success, one line per failure goes to stderr, and the exit code says whether something
failed. A supplier whose sync is still running is not synced twice: its running sync is
followed instead (see docs/scheduling.md).

Exit codes: 0 everything synced; 1 something failed (a family, an image, a refused
deactivation, an unknown supplier or SKU, or ``--wait`` gave up after ``--timeout``); 2 the feed
could not be read, the broker is unreachable, the configuration is wrong or the sync broke
on an internal error (one line here; the traceback, masked, in the log); 3 syncs are paused
(everything, or every supplier asked for: the admin's Queues page; nothing was started);
130 interrupted (Ctrl-C or SIGTERM: a direct run is marked stopped, one line says which; a
queued run goes on unless its jobs ran in this process). ``--wait`` says once on stderr when
no live worker consumes a queue the runs wait for, and still ends at ``--timeout``.
"""

from __future__ import annotations

import io
import json
import logging
import os
import signal
import sys
import time

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError, OutputWrapper
from django.utils import timezone

from promidata_sync.checks import StorageUnavailable, storage_check
from promidata_sync.conf import SyncConfig
from promidata_sync.errors import describe
from promidata_sync.eta import duration_text
from promidata_sync.models import SyncRun
from promidata_sync.operations import UnknownSupplier, reimport_families, start_sync, stop_sync
from promidata_sync.progress import TerminalProgress
from promidata_sync.queue.broker import BrokerUnavailable, is_persistent
from promidata_sync.queue.reconcile import reconcile
from promidata_sync.queue.registry import FAMILY, IMAGE, STOCK, SUPPLIER
from promidata_sync.queue.waiting import WAITING_TEXT, first_queue, runs_waiting_for_worker
from promidata_sync.redaction import redact
from promidata_sync.services.direct import SyncReport, sync_direct
from promidata_sync.services.exclusions import ExcludedFamilies
from promidata_sync.services.feed_index import FeedUnreadable
from promidata_sync.services.pauses import EXIT_PAUSED, SyncPaused, sync_pause_check
from promidata_sync.services.reimport import TooManySkus, UnknownSku
from promidata_sync.services.run_timing import (
    RunTiming,
    families_settled,
    images_settled,
    recent_item_counts,
    run_timing,
    timing_summary,
)
from promidata_sync.services.workers import workers_live
from promidata_sync.summary import (
    failure_lines,
    format_report,
    format_runs,
    run_document,
    state_label,
    warning_lines,
)

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
            "--json",
            action="store_true",
            help="Print one JSON document (runs, states, counters, failures) on stdout at the end.",
        )
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
        self.as_json = options["json"]
        self.json_out = self.stdout
        if self.as_json:
            self.stdout = OutputWrapper(io.StringIO())  # stdout holds the document only
        self.started_at = timezone.now()
        self.mode = SyncRun.Mode.DIRECT if options["direct"] else SyncRun.Mode.QUEUE
        self.run_ids: list[int] = []
        self.errors: list[str] = []
        self.report: SyncReport | None = None
        self.timed_out = False
        try:
            code = self._sync(**options)
        except CommandError as exc:
            if not self.as_json:
                raise
            self._error(str(exc))
            code = exc.returncode
        except KeyboardInterrupt:
            self._error(self._interrupted())
            code = EXIT_INTERRUPTED
        except SyncPaused as exc:  # paused while it started (a re-import, a race)
            self.stderr.write(str(exc))
            code = EXIT_PAUSED
        except ImproperlyConfigured as exc:  # found while starting (a setting read late)
            self._error(f"configuration error: {redact(str(exc))}")
            code = EXIT_FEED_UNREADABLE
        except Exception as exc:
            log.exception("promidata_sync failed")
            self._error(f"promidata_sync: {describe(exc)}; the traceback is in the log")
            code = EXIT_FEED_UNREADABLE
        if self.as_json:
            self.json_out.write(json.dumps(self._document(code), indent=2))
        if code:
            sys.exit(code)

    def _error(self, line: str) -> None:
        """A problem outside any run: one line on stderr, and in the JSON document."""
        self.errors.append(line)
        self.stderr.write(line)

    def _interrupted(self) -> str:
        """Settle the runs Ctrl-C left behind and say in one line what became of them.

        A direct run has already been finished as stopped by the driver. Queue runs whose
        jobs live in this process (no broker) die with it: they are stopped here. Queue runs
        on a broker go on without us.
        """
        if self.mode == SyncRun.Mode.DIRECT:
            stopped = SyncRun.objects.filter(
                owner_pid=os.getpid(),
                created_at__gte=self.started_at,
                state=SyncRun.State.STOPPED,
            )
            named = _runs_named(stopped)
            self.run_ids += [run.pk for run in stopped]
            return f"interrupted: {named} marked stopped" if named else "interrupted: no sync ran"
        runs = SyncRun.objects.filter(pk__in=self.run_ids, finished_at__isnull=True)
        if not runs:
            return "interrupted: stopped waiting (the syncs had ended)"
        if not is_persistent():
            for run in runs:
                stop_sync(run)
            return f"interrupted: {_runs_named(runs)} marked stopped (its jobs ran here)"
        return f"interrupted: stopped waiting; {_runs_named(runs)} goes on in the workers"

    def _document(self, code: int) -> dict:
        """The ``--json`` document: every run this command started or followed, fresh from
        the database, and the problems outside runs."""
        if self.report is not None:
            self.run_ids += [run.pk for run in self.report.runs]
        runs = SyncRun.objects.filter(pk__in=self.run_ids).select_related("supplier")
        document = {
            "ok": code == EXIT_OK,
            "exit_code": code,
            "mode": self.mode,
            "runs": [run_document(run) for run in runs.order_by("supplier__code", "pk")],
            "errors": self.errors,
            "timed_out": self.timed_out,
            "index": None,
        }
        if self.report is not None:
            document["index"] = {
                "error": self.report.index_error,
                "malformed_lines": self.report.malformed_lines,
                "duplicate_lines": self.report.duplicate_lines,
                "categories": self.report.categories,
                "categories_error": self.report.categories_error,
            }
            document["seconds"] = round(self.report.seconds, 3)
        return document

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
        self.verbosity = opts["verbosity"]
        if self.quiet or self.as_json:
            no_progress = True
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
            self.report = report
        else:
            report = sync_direct(
                codes or None,
                force=force,
                refetch_all=refetch_all,
                trigger=trigger,
                progress=progress,
            )
            self.report = report
        self.stdout.write(format_report(report, list_malformed=self.verbosity >= 2))
        if report.index_error:  # every run failed for this one reason
            self._write_failures([f"Feed unreadable: {report.index_error}"])
        else:
            self._write_failures(failure_lines(report.runs) + report.errors)
        self.errors += report.errors + (
            [f"Feed unreadable: {report.index_error}"] if report.index_error else []
        )
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
        self.run_ids = sorted({job["run_id"] for job in jobs})
        for job in jobs:
            self.stdout.write(
                f"{job['supplier']}: sync run #{job['run_id']}, job {job['job_id']} "
                f"on {job['queue_name']} ({job['status'].replace('_', ' ')})"
            )
        for error in errors:
            self._error(error)
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
            self.timed_out = True
            self._write_failures(
                [
                    f"{run.supplier.code}: sync run #{run.pk} still {state_label(run)} after "
                    f"{self.wait_timeout:.0f}s; stopped waiting (it goes on)"
                    for run in open_runs
                ]
            )
            return EXIT_FAILURES
        self.stdout.write("\n".join(format_runs(finished)) + "\n")
        warnings = warning_lines(finished)
        if warnings:
            self.stdout.write("Warnings:\n" + "\n".join(warnings) + "\n")
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
        told: set[str] = set()
        while True:
            runs = list(SyncRun.objects.filter(pk__in=run_ids).select_related("supplier"))
            waiting = runs_waiting_for_worker(runs)
            self._tell_missing_workers(runs, told)
            if live:
                if drawn:
                    self.stdout.write(f"\x1b[{drawn}F", ending="")
                recent = recent_item_counts([r.pk for r in runs if r.is_active])
                for run in runs:
                    timing = run_timing(run, recent=recent.get(run.pk))
                    line = _progress_line(run, timing=timing, waiting=run.pk in waiting, bar=True)
                    self.stdout.write("\x1b[2K" + line)
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

    def _tell_missing_workers(self, runs: list[SyncRun], told: set[str]) -> None:
        """Say once per queue, on stderr, that no live worker consumes a queue these runs
        wait for: otherwise ``--wait`` would sit silent until its deadline. Heartbeats are a
        minute fresh, so the notice comes within a minute of the last worker's end."""
        if not is_persistent():
            return  # the jobs run in this process
        for queue in queues_without_workers(runs):
            if queue not in told:
                told.add(queue)
                self.stderr.write(
                    f"no worker is consuming {queue}: start promidata_workers "
                    "(the runs wait until one does)"
                )


def queues_without_workers(runs: list[SyncRun]) -> list[str]:
    """The queues the unfinished ``runs`` still need that no live worker consumes, sorted."""
    needed: set[str] = set()
    for run in runs:
        if run.finished_at:
            continue
        if run.kind == SyncRun.Kind.STOCK:
            needed.add(STOCK.queue_name)
        elif run.state == SyncRun.State.QUEUED or run.planned_at is None:
            needed.add(SUPPLIER.queue_name)
        else:
            if run.families_done + run.families_failed < run.families_total:
                needed.add(FAMILY.queue_name)
            if run.images_done + run.images_failed < run.images_total:
                needed.add(IMAGE.queue_name)
    if not needed:
        return []
    consumed = {queue for worker in workers_live() for queue in worker.queues}
    return sorted(needed - consumed)


def _runs_named(runs) -> str:
    """``sync #12 of A100`` (or several, joined), for the one line after Ctrl-C."""
    return ", ".join(f"sync #{run.pk} of {run.supplier.code}" for run in runs)


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def _progress_line(
    run: SyncRun, *, timing: RunTiming, waiting: bool = False, bar: bool = False
) -> str:
    """One run's ``--wait`` line: its counters, elapsed time, rate and ETA (``eta``), or
    "waiting for a worker"; ``bar`` (on a terminal) adds a bar of the counter being worked on.

    A run whose total is 0 before it is planned is not 100 % done: it says "planning"."""

    def part(done, failed, total, settled):
        if not total and not settled:
            return "planning"
        share = (done + failed) / total if total else 1.0
        return f"{done + failed}/{total} ({share:.0%}, {failed} failed)"

    head = f"{run.supplier.code:<8} #{run.pk:<6} {state_label(run):<9} "
    if waiting:
        return head + f"{WAITING_TEXT} on {first_queue(run)} (start promidata_workers)"
    families = part(
        run.families_done, run.families_failed, run.families_total, families_settled(run)
    )
    images = part(run.images_done, run.images_failed, run.images_total, images_settled(run))
    line = head
    if bar:
        line += _bar(run) + " "
    line += f"families {families}  images {images}  {duration_text(timing.elapsed)}"
    if run.is_active:
        line += f"  {timing_summary(run, timing)}"
    return line


BAR_WIDTH = 20


def _bar(run: SyncRun) -> str:
    """``[#######-------]`` of the families until they are written, then of the images."""
    counter = (
        "families" if run.families_done + run.families_failed < run.families_total else "images"
    )
    done = getattr(run, f"{counter}_done") + getattr(run, f"{counter}_failed")
    total = getattr(run, f"{counter}_total")
    filled = (
        BAR_WIDTH * min(done, total) // total if total else (BAR_WIDTH if run.finished_at else 0)
    )
    return "[" + "#" * filled + "-" * (BAR_WIDTH - filled) + "]"
