"""``manage.py promidata_doctor [--json]``: check the whole set-up, one line per check.

Exit status 0 when nothing failed, 2 when anything did (skipped checks do not count).
"""

from __future__ import annotations

import json
import sys

from django.core.management.base import BaseCommand

from promidata_sync.doctor import FAIL, as_json, diagnose, failed
from promidata_sync.preflight import CONFIGURATION_EXIT_CODE

LABELS = {"ok": "OK  ", "fail": "FAIL", "skip": "SKIP"}


class Command(BaseCommand):
    help = (
        "Check the database, broker, storage, import URL, workers and their settings; "
        "exit 2 if anything fails."
    )

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="Machine-readable output.")

    def handle(self, *args, **options):
        findings = diagnose()
        if options["json"]:
            self.stdout.write(json.dumps(as_json(findings), indent=2))
        else:
            width = max(len(f.check) for f in findings)
            for f in findings:
                line = f"{LABELS[f.status]} {f.check:<{width}}  {f.detail}"
                self.stdout.write(line + (f" -> fix: {f.hint}" if f.hint else ""))
        if failed(findings):
            # The report stays in order on stdout; the verdict goes to stderr, like every
            # other failure of a command.
            count = sum(f.status == FAIL for f in findings)
            self.stdout.flush()
            self.stderr.write(f"promidata_doctor: {count} check(s) failed")
            sys.exit(CONFIGURATION_EXIT_CODE)
