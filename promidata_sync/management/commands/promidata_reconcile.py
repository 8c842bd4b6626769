"""``manage.py promidata_reconcile``: finish dead runs and resume stalled queue runs.

The worker supervisor (``promidata_workers``) does this on its own every
PROMIDATA_RECONCILE_INTERVAL_SECONDS; run this from cron where workers are started some other
way (``promidata_worker`` per machine). Exit code 0, also when there was nothing to do; 2 when
Redis or the database cannot be reached (one line; the traceback is in the log).
"""

from __future__ import annotations

import logging

from django.core.management.base import BaseCommand, CommandError

from promidata_sync.errors import describe
from promidata_sync.queue.broker import BrokerUnavailable, broker_check
from promidata_sync.queue.reconcile import reconcile

log = logging.getLogger("promidata_sync.commands")


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
        try:
            broker_check()
            report = reconcile(stalled_after_seconds=stalled_after)
        except BrokerUnavailable as exc:
            raise CommandError(str(exc), returncode=2) from None
        except Exception as exc:
            log.exception("promidata_reconcile failed")
            raise CommandError(
                f"{describe(exc)}; the traceback is in the log", returncode=2
            ) from None
        self.stdout.write(f"reconcile: {report}")
