"""``manage.py promidata_status [JOB_ID | --run N] [--json]``: queues, workers and recent runs,
one job, or one run with its failures.

``--json`` prints one flat document: ``broker`` ({"ok", "location", "error"}), ``queues``
({name: counts}), ``total`` (counts), ``workers`` and ``runs`` (the run documents of
``promidata_sync --json``); one job or one run is that object alone. Errors are JSON too
(``{"error": "..."}``) with the same exit codes: 0 shown, 1 no such job or run, 2 the broker
is unreachable (the rest of the overview is shown all the same).
"""

from __future__ import annotations

import json
import sys

from django.core.management.base import BaseCommand

from promidata_sync.models import Job, SyncRun
from promidata_sync.operations import get_queue_stats
from promidata_sync.queue.broker import BrokerUnavailable, broker_check, broker_location
from promidata_sync.redaction import redact
from promidata_sync.services.jobs import job_as_dict
from promidata_sync.services.workers import workers_live
from promidata_sync.summary import format_failures, run_document, state_label

RECENT_RUNS = 10
EXIT_OK, EXIT_NOT_FOUND, EXIT_BROKER_DOWN = 0, 1, 2


class Command(BaseCommand):
    help = "Print queue statistics, live workers and recent runs, or one job, or one run."

    def add_arguments(self, parser):
        parser.add_argument("job_id", nargs="?", help="A job id (Dramatiq message id).")
        parser.add_argument("--run", type=int, metavar="N", help="Show sync run N and failures.")
        parser.add_argument("--json", action="store_true", help="Machine-readable output.")

    def handle(self, *args, job_id, **options):
        self.as_json = options["json"]
        if job_id and options["run"] is not None:
            return self._fail("give a job id or --run, not both", EXIT_NOT_FOUND)
        if job_id:
            return self._job(job_id)
        if options["run"] is not None:
            return self._run(options["run"])
        return self._overview()

    def _fail(self, message: str, code: int) -> None:
        """One line on stderr (``{"error": ...}`` on stdout under ``--json``), then exit."""
        if self.as_json:
            self.stdout.write(json.dumps({"error": message}))
        else:
            self.stderr.write(message)
        sys.exit(code)

    def _job(self, job_id: str) -> None:
        job = Job.objects.filter(job_id=job_id).first()
        if job is None:
            return self._fail(f"no job with id {job_id!r}", EXIT_NOT_FOUND)
        status = job_as_dict(job)
        self.stdout.write(json.dumps(status, indent=2) if self.as_json else _job_text(status))

    def _run(self, run_id: int) -> None:
        run = SyncRun.objects.select_related("supplier").filter(pk=run_id).first()
        if run is None:
            return self._fail(f"no sync run #{run_id}", EXIT_NOT_FOUND)
        if self.as_json:
            self.stdout.write(json.dumps(run_document(run), indent=2))
            return
        self.stdout.write(_run_text(run))

    def _overview(self) -> None:
        broker = {"ok": True, "location": broker_location(), "error": ""}
        try:
            broker_check()
            stats = get_queue_stats()
        except BrokerUnavailable as exc:
            stats, broker["ok"], broker["error"] = None, False, str(exc)
        except Exception as exc:  # the broker went away between the check and the counts
            stats, broker["ok"] = None, False
            broker["error"] = redact(f"queue statistics unavailable: {exc}")
        workers = [
            {
                "worker": w.worker_id,
                "queues": w.queues,
                "threads": w.threads,
                "last_seen_at": w.last_seen_at.isoformat(),
            }
            for w in workers_live()
        ]
        recent = SyncRun.objects.select_related("supplier").order_by("-id")[:RECENT_RUNS]
        runs = [run_document(run) for run in recent]
        if self.as_json:
            payload = {
                "broker": broker,
                "queues": stats["queues"] if stats else None,
                "total": stats["total"] if stats else None,
                "workers": workers,
                "runs": runs,
            }
            self.stdout.write(json.dumps(payload, indent=2))
        else:
            self.stdout.write(_overview_text(stats, workers, runs))
        if not broker["ok"]:
            if not self.as_json:
                self.stderr.write(f"Broker: {broker['error']}")
            sys.exit(EXIT_BROKER_DOWN)


def _run_text(run: SyncRun) -> str:
    doc = run_document(run)
    c = doc["counters"]
    duration = doc["duration_seconds"]
    lines = [
        f"sync run #{run.pk} of {run.supplier.code} ({run.get_kind_display()}, "
        f"{run.get_mode_display()}, trigger {run.trigger}): {state_label(run)}",
        f"  families {c['families_done'] + c['families_failed']}/{c['families_total']} "
        f"({c['families_failed']} failed; {c['families_new']} new, {c['families_updated']} "
        f"updated, {c['families_unchanged']} unchanged, {c['families_deactivated']} "
        f"deactivated)",
        f"  images {c['images_done'] + c['images_failed']}/{c['images_total']} "
        f"({c['images_failed']} failed; {c['images_downloaded']} downloaded, "
        f"{c['images_reused']} reused)",
        f"  started {doc['started_at'] or '-'}, finished {doc['finished_at'] or '-'}"
        + (f", {duration:.1f}s" if duration is not None else ""),
    ]
    failures = format_failures([run])
    if failures:
        lines.append("Failures and messages:")
        lines += failures
    return "\n".join(lines)


def _job_text(status: dict) -> str:
    progress = status["progress"]
    lines = [
        f"job {status['job_id']} on {status['queue_name']} ({status['actor_name']} "
        f"{status['key']}): {status['state']}",
        f"  progress: {progress.get('step', '')} {progress.get('percentage', 0)}%",
        f"  attempts: {status['attempts_made']}",
        f"  enqueued {status['enqueued_at']}, processed {status['processed_at']}, "
        f"finished {status['finished_at']}",
    ]
    if status["error"]:
        lines.append(f"  error: {status['error']}")
    if status["result"] is not None:
        lines.append(f"  result: {json.dumps(status['result'])}")
    return "\n".join(lines)


def _overview_text(stats, workers, runs) -> str:
    lines = []
    if stats is None:
        lines.append("Queues: no statistics while the broker is unreachable")
    else:
        keys = ["waiting", "active", "delayed", "dead", "completed", "failed", "total"]
        lines.append("queue            " + "".join(f"{k:>10}" for k in keys))
        for name, row in [*stats["queues"].items(), ("total", stats["total"])]:
            lines.append(f"{name:<17}" + "".join(f"{row[k]:>10}" for k in keys))
    lines.append(f"Workers seen in the last minute: {len(workers)}")
    for w in workers:
        lines.append(
            f"  {w['worker']}  {','.join(w['queues'])} x{w['threads']}  {w['last_seen_at']}"
        )
    lines.append("Recent runs:")
    for r in runs:
        c = r["counters"]
        lines.append(
            f"  #{r['id']:<6} {r['supplier']:<8} {r['mode']:<6} {r['state_label']:<9} families "
            f"{c['families_done']}/{c['families_total']} ({c['families_failed']} failed) images "
            f"{c['images_done']}/{c['images_total']} ({c['images_failed']} failed)"
        )
    return "\n".join(lines)
