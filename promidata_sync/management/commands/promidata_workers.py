"""``manage.py promidata_workers [--queues ...]``: run and supervise the worker groups.

One process per stage of the registry (``queue.registry``), with its configured threads
(PROMIDATA_CONCURRENCY_SUPPLIER/FAMILIES/IMAGES/WEBHOOKS/STOCK). A crashed group is restarted;
SIGTERM/SIGINT stop every group gracefully. Use ``--queues`` to run a subset, so stages can be
scaled on separate machines. Every
PROMIDATA_RECONCILE_INTERVAL_SECONDS the supervisor also runs the reconciler, which finishes
dead runs and resumes queue runs whose messages were lost (``queue.reconcile``).
"""

from __future__ import annotations

import sys
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import close_old_connections

from promidata_sync.checks import (
    StorageUnavailable,
    local_media_shared_warning,
    storage_check,
)
from promidata_sync.queue.broker import BrokerUnavailable, broker_check, is_persistent
from promidata_sync.queue.manager import WorkerGroup, WorkerManager
from promidata_sync.queue.reconcile import reconcile
from promidata_sync.queue.registry import QUEUE_NAMES, STAGES


class Command(BaseCommand):
    help = "Run one supervised worker group per queue."

    def add_arguments(self, parser):
        parser.add_argument(
            "--queues",
            nargs="+",
            choices=QUEUE_NAMES,
            default=list(QUEUE_NAMES),
            metavar="QUEUE",
            help=f"Queues to consume (default: all of {', '.join(QUEUE_NAMES)}).",
        )

    def handle(self, *args, queues, **options):
        if not is_persistent():
            raise CommandError(
                "neither REDIS_URL nor BROKER_URL is set: without a broker, queue mode runs "
                "inside the process that starts the sync (manage.py promidata_sync); separate "
                "workers need Redis or RabbitMQ"
            )
        try:
            broker_check()
            if any(s.stores_media and s.queue_name in queues for s in STAGES):
                storage_check()
        except (BrokerUnavailable, StorageUnavailable) as exc:
            raise CommandError(str(exc)) from None
        if any(s.stores_media and s.queue_name in queues for s in STAGES):
            warning = local_media_shared_warning()
            if warning:
                self.stderr.write(warning)
        groups = [
            WorkerGroup(queue_name=s.queue_name, threads=s.threads_per_process)
            for s in STAGES
            if s.queue_name in queues
            for _ in range(s.processes)
        ]
        manage_py = Path(settings.BASE_DIR) / "manage.py"
        self.stdout.write(
            "worker groups: "
            + ", ".join(f"{g.queue_name} x{g.threads}" for g in groups)
            + " (Ctrl-C or SIGTERM stops them gracefully)"
        )
        manager = WorkerManager(
            groups,
            manage_py=manage_py,
            housekeeping=_reconcile,
            housekeeping_seconds=settings.PROMIDATA_RECONCILE_INTERVAL_SECONDS,
        )
        sys.exit(manager.run())


def _reconcile() -> None:
    try:
        reconcile()
    finally:
        close_old_connections()
