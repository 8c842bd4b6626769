#!/usr/bin/env python3
"""Compare queue mode and direct mode on the same generated feed, with feed latency.

    .venv/bin/python scripts/benchmark_queue.py                      # 4 x 100 families, 20 ms
    .venv/bin/python scripts/benchmark_queue.py --families 250 --latency-ms 50

Each mode imports the feed into its own fresh PostgreSQL database (``--database`` names the
server URL prefix) from one feed server process that adds ``--latency-ms`` to every request.
Queue mode runs real ``promidata_workers`` processes against Redis (``--redis``, database 14
by default, flushed). Printed per mode: wall time, families/s (until the last family was
written) and images/s (until the last image was stored); then queue beside direct, and the
queue's image rate beside the C/L bound (the image stage's threads divided by the latency,
the most any number of threads waiting on the feed could do). ``--modes queue`` runs one
mode only; ``--json-out FILE`` also writes the figures as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

from _bench import ROOT, feed_server, prepare_environment

DEFAULT_REDIS = "redis://127.0.0.1:6379/14"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--suppliers", type=int, default=4)
    parser.add_argument("--families", type=int, default=100, help="per supplier")
    parser.add_argument("--variants", type=int, default=2)
    parser.add_argument("--images", type=int, default=2, help="per variant, all distinct")
    parser.add_argument("--latency-ms", type=float, default=20)
    parser.add_argument("--database", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--redis", default=DEFAULT_REDIS)
    parser.add_argument("--modes", default="direct,queue", help="comma-separated")
    parser.add_argument("--json-out", help="also write the figures to this file, as JSON")
    parser.add_argument("--mode", choices=["direct", "queue"], help=argparse.SUPPRESS)
    parser.add_argument("--import-url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.mode:
        figures = run_mode(args)
        print(json.dumps(figures))
        return 0

    families = args.suppliers * args.families
    print(
        f"feed: {args.suppliers} suppliers x {args.families} families x {args.variants} variants"
        f" x {args.images} images = {families:,} families, "
        f"{families * args.variants * args.images:,} images; latency {args.latency_ms:g} ms",
        flush=True,
    )
    with feed_server(
        suppliers=args.suppliers,
        families=args.families,
        variants=args.variants,
        images=args.images,
        latency_ms=args.latency_ms,
    ) as import_url:
        results = {}
        for mode in args.modes.split(","):
            child = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--mode",
                    mode,
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
            f = json.loads(child.stdout.strip().splitlines()[-1])
            results[mode] = f
            print(
                f"{mode:>6}: {f['wall']:.1f}s wall; {f['families']:,} families at "
                f"{f['families_per_s']:.1f}/s; {f['images']:,} images at "
                f"{f['images_per_s']:.1f}/s; runs {f['states']}",
                flush=True,
            )
    summary = _summary(results, args.latency_ms)
    if args.json_out:
        with open(args.json_out, "w") as out:
            json.dump(summary, out)
    return 0


def _summary(results: dict, latency_ms: float) -> dict:
    """Queue beside direct (wall time), and the queue's image rate beside the C/L bound."""
    summary: dict = {"latency_ms": latency_ms, **results}
    if "direct" in results and "queue" in results:
        summary["queue_vs_direct"] = results["direct"]["wall"] / results["queue"]["wall"]
        print(f"  queue is {summary['queue_vs_direct']:.2f}x direct (wall time)")
    if "queue" in results and latency_ms > 0:
        threads = results["queue"]["image_threads"]
        bound = threads / (latency_ms / 1000)
        summary["bound_images_per_s"] = bound
        steady = results["queue"]["images_steady_per_s"]
        summary["queue_vs_bound"] = steady / bound
        print(
            f"  queue images {steady:.1f}/s once under way = {summary['queue_vs_bound']:.0%} of "
            f"the C/L bound ({threads} image threads / {latency_ms:g} ms = {bound:.1f}/s)"
        )
    return summary


def run_mode(args) -> dict:
    if args.mode == "queue":
        os.environ["REDIS_URL"] = args.redis
    prepare_environment(f"{args.database}/promidata_bench_{args.mode}")
    os.environ["PROMIDATA_IMPORT_URL"] = args.import_url
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    if args.mode == "direct":
        return direct_mode(args.import_url)
    return queue_mode()


def direct_mode(import_url: str) -> dict:
    from django.utils import timezone

    from promidata_sync.conf import SyncConfig
    from promidata_sync.services.direct import sync_direct

    started, started_at = time.monotonic(), timezone.now()
    report = sync_direct(config=SyncConfig.from_settings(import_url=import_url))
    return _figures(report.runs, started_at, time.monotonic() - started)


def queue_mode() -> dict:
    import dramatiq

    from promidata_sync.models import SyncRun, WorkerHeartbeat
    from promidata_sync.operations import start_sync

    dramatiq.get_broker().client.flushdb()
    workers = subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), "promidata_workers"],
        cwd=ROOT,
        env=os.environ.copy(),
        stdout=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        while WorkerHeartbeat.objects.count() < 3:
            time.sleep(0.2)
        from django.utils import timezone

        started, started_at = time.monotonic(), timezone.now()
        result = start_sync(None, use_queue=True)
        while SyncRun.objects.filter(pk__in=result["runs"], finished_at__isnull=True).exists():
            time.sleep(0.1)
        wall = time.monotonic() - started
        runs = list(SyncRun.objects.filter(pk__in=result["runs"]))
        return _figures(runs, started_at, wall)
    finally:
        workers.terminate()
        workers.wait(timeout=60)


def _figures(runs, start, wall: float) -> dict:
    """Rates from the item timestamps: each kind from ``start`` until its last item ended;
    for images also the steady rate, from the tenth image to the last (the image phase, once
    the first families have given it work)."""
    from django.conf import settings
    from django.db.models import Max

    from promidata_sync.models import SyncItem, SyncRun

    runs = list(SyncRun.objects.filter(pk__in=[r.pk for r in runs]))
    rates = {}
    for kind in ("family", "image"):
        items = SyncItem.objects.filter(run__in=runs, kind=kind, state="done")
        span = items.aggregate(last=Max("updated_at"))
        count = items.count()
        seconds = (span["last"] - start).total_seconds() if span["last"] else wall
        rates[kind] = (count, count / seconds if seconds > 0 else 0.0)
    done = SyncItem.objects.filter(run__in=runs, kind="image", state="done")
    stamps = list(done.order_by("updated_at").values_list("updated_at", flat=True))
    steady = 0.0
    if len(stamps) > 20:
        steady = (len(stamps) - 10) / (stamps[-1] - stamps[9]).total_seconds()
    return {
        "images_steady_per_s": steady,
        "image_threads": settings.PROMIDATA_CONCURRENCY_IMAGES,
        "wall": wall,
        "families": rates["family"][0],
        "families_per_s": rates["family"][1],
        "images": rates["image"][0],
        "images_per_s": rates["image"][1],
        "states": sorted({r.state for r in runs}),
    }


if __name__ == "__main__":
    sys.exit(main())
