"""``manage.py promidata_worker --queue Q --threads N``: one worker group (used by
``promidata_workers``; run it yourself to place a single stage on a machine)."""

from __future__ import annotations

import signal
import sys
import threading

from django.core.management.base import BaseCommand, CommandError

from promidata_sync.checks import StorageUnavailable, storage_check
from promidata_sync.queue.broker import BrokerUnavailable, broker_check, is_persistent
from promidata_sync.queue.manager import run_worker_group
from promidata_sync.queue.registry import QUEUE_NAMES, STAGES


class Command(BaseCommand):
    help = "Consume one queue with a number of threads until SIGTERM/SIGINT."

    def add_arguments(self, parser):
        parser.add_argument("--queue", required=True, choices=QUEUE_NAMES)
        parser.add_argument("--threads", type=int, default=1)

    def handle(self, *args, queue, threads, **options):
        if not is_persistent():
            raise CommandError(
                "worker processes need a broker: REDIS_URL (redis:// or rediss://) or "
                "BROKER_URL (amqp:// or amqps://)"
            )
        try:
            broker_check()
            if any(s.stores_media and s.queue_name == queue for s in STAGES):
                storage_check()
        except (BrokerUnavailable, StorageUnavailable) as exc:
            raise CommandError(str(exc)) from None
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        sys.exit(run_worker_group(queue, max(1, threads), stop=stop))
