"""``manage.py promidata_status [JOB_ID] [--json]``: queues, workers and recent runs, or one job."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from promidata_sync.models import Job, SyncRun
from promidata_sync.operations import get_queue_stats, run_status
from promidata_sync.queue.broker import BrokerUnavailable, broker_check
from promidata_sync.redaction import redact
from promidata_sync.services.jobs import job_as_dict
from promidata_sync.services.workers import workers_live

RECENT_RUNS = 10


class Command(BaseCommand):
    help = "Print queue statistics, live workers and recent runs, or the status of one job."

    def add_arguments(self, parser):
        parser.add_argument("job_id", nargs="?", help="A job id (Dramatiq message id).")
        parser.add_argument("--json", action="store_true", help="Machine-readable output.")

    def handle(self, *args, job_id, **options):
        as_json = options["json"]
        if job_id:
            job = Job.objects.filter(job_id=job_id).first()
            if job is None:
                raise CommandError(f"no job with id {job_id!r}")
            status = job_as_dict(job)
            self.stdout.write(json.dumps(status, indent=2) if as_json else _job_text(status))
            return
        try:
            broker_check()
            stats, broker_error = get_queue_stats(), ""
        except BrokerUnavailable as exc:
            stats, broker_error = None, str(exc)
        except Exception as exc:  # the broker went away between the check and the counts
            stats, broker_error = None, redact(f"queue statistics unavailable: {exc}")
        workers = [
            {
                "worker": w.worker_id,
                "queues": w.queues,
                "threads": w.threads,
                "last_seen_at": w.last_seen_at.isoformat(),
            }
            for w in workers_live()
        ]
        runs = [
            run_status(run)
            for run in SyncRun.objects.select_related("supplier").order_by("-id")[:RECENT_RUNS]
        ]
        if as_json:
            payload = {
                "queues": stats,
                "broker_error": broker_error,
                "workers": workers,
                "runs": runs,
            }
            self.stdout.write(json.dumps(payload, indent=2))
            return
        self.stdout.write(_overview_text(stats, broker_error, workers, runs))


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


def _overview_text(stats, broker_error, workers, runs) -> str:
    lines = []
    if stats is None:
        lines.append(f"Broker: {broker_error}")
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
        f, i = r["families"], r["images"]
        lines.append(
            f"  #{r['run_id']:<6} {r['supplier']:<8} {r['mode']:<6} {r['state']:<9} families "
            f"{f['done']}/{f['total']} ({f['failed']} failed) images {i['done']}/{i['total']} "
            f"({i['failed']} failed)"
        )
    return "\n".join(lines)
