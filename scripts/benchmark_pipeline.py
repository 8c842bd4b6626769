#!/usr/bin/env python3
"""The pipeline's figures side by side, in one run: each mode beside its floor or bound.

    .venv/bin/python scripts/benchmark_pipeline.py            # everything (about 25 minutes)
    .venv/bin/python scripts/benchmark_pipeline.py --quick    # smaller feeds, a few minutes

1. **First import vs the floor**: direct mode on heavy families beside parsing plus a bare
   COPY of the same rows (``benchmark_first_import.py``).
2. **Queue vs direct at 50 ms**: an image-heavy feed (4 variants x 4 images a family) served
   with 50 ms latency, imported by each mode into its own database (``benchmark_queue.py``).
3. **Queue vs the C/L bound at 200 ms**: the same at 200 ms, where waiting on the feed
   dominates; the bound is the image stage's threads divided by the latency.
4. **Unchanged re-sync of 40,000 families**: a fresh process re-reads an unchanged feed
   (``benchmark.py``; its first import is the set-up).

Each part runs in its own processes with its own feed server; the summary at the end puts the
figures side by side. Runs on PostgreSQL and Redis on their usual local ports.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _bench import ROOT

SCRIPTS = ROOT / "scripts"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller feeds")
    args = parser.parse_args()
    quick = args.quick
    summary: list[tuple[str, str, str, str]] = []
    started = time.monotonic()

    out = _run(
        "1. first import vs the floor",
        "benchmark_first_import.py",
        "--families",
        "60" if quick else "200",
        "--profile-families",
        "5",
    )
    ratio = re.search(r"^x floor\s+[\d.]+\s+[\d.]+\s+([\d.]+)", out, re.M)
    fps = re.search(r"^families/s\s+[\d.]+\s+([\d.]+)\s+([\d.]+)", out, re.M)
    if ratio and fps:
        summary.append(
            (
                "first import, heavy families",
                f"{fps.group(2)} families/s",
                f"floor {fps.group(1)} families/s",
                f"{ratio.group(1)}x the floor's time",
            )
        )

    families = "20" if quick else "60"
    for latency in (50, 200):
        modes = "direct,queue" if latency == 50 else "queue"
        figures = _queue(f"{2 + (latency == 200)}. queue at {latency} ms", families, latency, modes)
        queue = figures["queue"]
        if latency == 50:
            direct = figures["direct"]
            summary.append(
                (
                    f"image-heavy feed, {latency} ms",
                    f"queue {queue['wall']:.1f} s",
                    f"direct {direct['wall']:.1f} s",
                    f"queue {figures['queue_vs_direct']:.2f}x direct",
                )
            )
        summary.append(
            (
                f"images once under way, {latency} ms",
                f"queue {queue['images_steady_per_s']:.1f}/s",
                f"C/L bound {figures['bound_images_per_s']:.1f}/s",
                f"{figures['queue_vs_bound']:.0%} of the bound",
            )
        )

    out = _run(
        "4. unchanged re-sync",
        "benchmark.py",
        *(["--suppliers", "4", "--families", "1000"] if quick else []),
    )
    resync = re.search(
        r"unchanged re-sync \(fresh process\): ([\d,]+) families unchanged, (\d+) family/image "
        r"fetches; wall ([\d.]+)s, CPU ([\d.]+)s.*?(\d+) SQL queries",
        out,
    )
    if resync:
        summary.append(
            (
                f"unchanged re-sync of {resync.group(1)} families",
                f"{resync.group(3)} s wall",
                f"{resync.group(2)} fetches",
                f"{resync.group(5)} SQL queries",
            )
        )

    print(f"\n=== summary ({time.monotonic() - started:.0f} s in all) ===")
    for row in summary:
        print(f"{row[0]:<38}{row[1]:>22}{row[2]:>26}{row[3]:>26}")
    return 0


def _queue(title: str, families: str, latency: int, modes: str) -> dict:
    with tempfile.NamedTemporaryFile(suffix=".json") as result:
        _run(
            title,
            "benchmark_queue.py",
            "--suppliers",
            "2",
            "--families",
            families,
            "--variants",
            "4",
            "--images",
            "4",
            "--latency-ms",
            str(latency),
            "--modes",
            modes,
            "--json-out",
            result.name,
        )
        return json.loads(Path(result.name).read_text())


def _run(title: str, script: str, *args: str) -> str:
    """Run one benchmark script, showing its output as it comes; return the output."""
    print(f"\n=== {title} ({script} {' '.join(args)}) ===", flush=True)
    process = subprocess.Popen(
        [sys.executable, str(SCRIPTS / script), *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    lines = []
    assert process.stdout is not None
    for line in process.stdout:
        print(line, end="", flush=True)
        lines.append(line)
    if process.wait():
        raise SystemExit(f"{script} failed with exit code {process.returncode}")
    return "".join(lines)


if __name__ == "__main__":
    sys.exit(main())
