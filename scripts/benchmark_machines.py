#!/usr/bin/env python3
"""One worker machine beside two, on the same latency-bound feed, in one run.

    .venv/bin/python scripts/benchmark_machines.py                     # 2 x 30 families, 200 ms
    .venv/bin/python scripts/benchmark_machines.py --families 60 --latency-ms 100

One feed server process serves an image-heavy generated feed (``--variants`` x ``--images``
distinct images a family) adding ``--latency-ms`` to every request, on loopback. The feed is
then synced twice, each time into a fresh PostgreSQL database (``--database`` names the server
URL prefix) through a flushed Redis (``--redis``): once with one ``promidata_workers``
supervisor, once with two, named machine-1 and machine-2 by ``PROMIDATA_WORKER_HOSTNAME`` (two
"machines" sharing this box's cores, the database and the broker). Printed side by side:
families/s and images/s (from the sync's start until the last item of that kind was done,
as ``benchmark_queue.py`` counts them), the images/s once under way, the C/L bound (image
threads of all machines divided by the latency) and each machine's share of the jobs.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

from _bench import ROOT, feed_server, prepare_environment
from benchmark_queue import _figures

DEFAULT_REDIS = "redis://127.0.0.1:6379/13"
DEFAULT_DATABASE = "postgres://postgres@127.0.0.1:5432"
WORKERS_LIVE_TIMEOUT_SECONDS = 120


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--suppliers", type=int, default=2)
    parser.add_argument("--families", type=int, default=30, help="per supplier")
    parser.add_argument("--variants", type=int, default=4)
    parser.add_argument("--images", type=int, default=4, help="per variant, all distinct")
    parser.add_argument("--latency-ms", type=float, default=200)
    parser.add_argument("--database", default=DEFAULT_DATABASE)
    parser.add_argument("--redis", default=DEFAULT_REDIS)
    parser.add_argument("--machines", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--import-url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.machines:
        print(json.dumps(run_machines(args)))
        return 0

    families = args.suppliers * args.families
    print(
        f"feed: {args.suppliers} suppliers x {args.families} families x {args.variants} variants"
        f" x {args.images} images = {families:,} families, "
        f"{families * args.variants * args.images:,} images; latency {args.latency_ms:g} ms",
        flush=True,
    )
    results = {}
    with feed_server(
        suppliers=args.suppliers,
        families=args.families,
        variants=args.variants,
        images=args.images,
        latency_ms=args.latency_ms,
    ) as import_url:
        for machines in (1, 2):
            child = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--machines",
                    str(machines),
                    "--import-url",
                    import_url,
                    "--database",
                    args.database,
                    "--redis",
                    args.redis,
                ],
                cwd=ROOT,
                capture_output=True,
                text=True,
            )
            if child.returncode:
                print(child.stdout, child.stderr, file=sys.stderr)
                return child.returncode
            results[machines] = json.loads(child.stdout.strip().splitlines()[-1])
            print(f"{machines} machine(s) done in {results[machines]['wall']:.1f} s", flush=True)
    _print_side_by_side(results, args.latency_ms)
    return 0


def _print_side_by_side(results: dict, latency_ms: float) -> None:
    one, two = results[1], results[2]
    rows = [
        ("wall time (s)", f"{one['wall']:.1f}", f"{two['wall']:.1f}"),
        ("families/s", f"{one['families_per_s']:.1f}", f"{two['families_per_s']:.1f}"),
        ("images/s", f"{one['images_per_s']:.1f}", f"{two['images_per_s']:.1f}"),
        (
            "images/s once under way",
            f"{one['images_steady_per_s']:.1f}",
            f"{two['images_steady_per_s']:.1f}",
        ),
        (
            "C/L bound (images/s)",
            f"{one['image_threads'] / (latency_ms / 1000):.1f}",
            f"{two['image_threads'] / (latency_ms / 1000):.1f}",
        ),
        ("runs", ",".join(one["states"]), ",".join(two["states"])),
        ("jobs per machine", _shares(one["jobs_by_host"]), _shares(two["jobs_by_host"])),
    ]
    print(f"\n{'':<26}{'one machine':>22}{'two machines':>34}")
    for label, a, b in rows:
        print(f"{label:<26}{a:>22}{b:>34}")
    print(
        f"\ntwo machines: {two['families_per_s'] / one['families_per_s']:.2f}x the families/s, "
        f"{two['images_per_s'] / one['images_per_s']:.2f}x the images/s of one"
    )


def _shares(by_host: dict) -> str:
    return " ".join(f"{host}={count}" for host, count in sorted(by_host.items()))


def run_machines(args) -> dict:
    """Sync the feed with ``args.machines`` supervisors into a fresh database; the figures."""
    os.environ["REDIS_URL"] = args.redis
    prepare_environment(f"{args.database}/promidata_bench_machines_{args.machines}")
    os.environ["PROMIDATA_IMPORT_URL"] = args.import_url
    import django
    import dramatiq
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    dramatiq.get_broker().client.flushdb()
    names = [f"machine-{i}" for i in range(1, args.machines + 1)]
    supervisors = [
        subprocess.Popen(
            [sys.executable, str(ROOT / "manage.py"), "promidata_workers"],
            cwd=ROOT,
            env={**os.environ, "PROMIDATA_WORKER_HOSTNAME": name},
            stdout=subprocess.DEVNULL,
            start_new_session=True,
        )
        for name in names
    ]
    try:
        _wait_for_machines(names)
        return _sync_and_measure(len(names))
    finally:
        for supervisor in supervisors:
            supervisor.terminate()
        for supervisor in supervisors:
            supervisor.wait(timeout=60)


def _wait_for_machines(names: list[str]) -> None:
    """Until every machine's stages all beat (one per registered worker process)."""
    from promidata_sync.models import WorkerHeartbeat
    from promidata_sync.queue.registry import STAGES

    per_machine = sum(stage.processes for stage in STAGES)
    deadline = time.monotonic() + WORKERS_LIVE_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        beats = list(WorkerHeartbeat.objects.values_list("hostname", flat=True))
        if all(beats.count(name) >= per_machine for name in names):
            return
        time.sleep(0.2)
    raise SystemExit(f"the workers of {names} did not all start in time")


def _sync_and_measure(machines: int) -> dict:
    from django.db.models import Count
    from django.utils import timezone

    from promidata_sync.models import Job, SyncRun
    from promidata_sync.operations import start_sync

    started, started_at = time.monotonic(), timezone.now()
    result = start_sync(None, use_queue=True, trigger="command")
    while SyncRun.objects.filter(pk__in=result["runs"], finished_at__isnull=True).exists():
        time.sleep(0.1)
    wall = time.monotonic() - started
    figures = _figures(list(SyncRun.objects.filter(pk__in=result["runs"])), started_at, wall)
    figures["image_threads"] *= machines
    by_host: dict[str, int] = {}
    work = Job.objects.filter(actor_name__in=["sync_product_family", "upload_image"])
    for row in work.values("worker").annotate(n=Count("id")):
        host = row["worker"].rsplit(":", 1)[0]
        by_host[host] = by_host.get(host, 0) + row["n"]
    figures["jobs_by_host"] = by_host
    return figures


if __name__ == "__main__":
    sys.exit(main())
