#!/usr/bin/env python3
"""How much memory one huge family file costs, side by side with what it cost before.

    .venv/bin/python scripts/benchmark_memory.py [--megabytes 18] [--families 8]

Each scenario runs in a fresh process and reports that process's peak RSS beyond its
baseline (interpreter, Django, the parser loaded), so the figures do not mix:

1. an 18 MB family of empty children (``{}`` six million times): decoded alone
   (``json.loads``), parsed by the parser of before issue 8 (read from git at commit
   ``BEFORE``), and parsed now (refused before decoding);
2. an 18 MB family of real-looking children, under every limit, parsed now;
3. ``--families`` such families fetched at once from a loopback server by
   ``PROMIDATA_FETCH_CONCURRENCY`` threads, parsed with ``PROMIDATA_PARSE_CONCURRENCY`` 2
   (the default) and with it equal to the fetch concurrency (no gate).

Nothing large is committed: the files are built in memory at run time.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BEFORE = "4e9c0dd"  # the commit before issue 8


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _bomb(megabytes: int) -> bytes:
    count = megabytes * 1024 * 1024 // 3
    return b'{"Sku": "A1-BOMB", "ChildProducts": [' + b"{}," * count + b"{}]}"


def _heavy(megabytes: int) -> bytes:
    """A family of real-looking children (all languages, tiers, images) of about that size,
    each carrying print data the way real files do: many small objects (94% of the values of
    the real files measured for issue 9 are ``ImprintPositions``)."""
    from devtools.feedgen import FeedSpec, SyntheticFeed

    feed = SyntheticFeed(FeedSpec(suppliers=1, families_per_supplier=1, variants_per_family=1))
    body = json.loads(feed.family_json("A100", "A100-F00001", "http://127.0.0.1/base"))
    child = body["ChildProducts"][0]
    count = 400
    option = {"Sku": "PRINT-1", "Quantity": 100, "Price": 0.35, "Valuta": "EURO", "OnRequest": 0}
    per_child = megabytes * 1024 * 1024 // count - len(json.dumps(child))
    options = max(1, per_child // len(json.dumps(option)))
    body["ChildProducts"] = [
        {**child, "Sku": f"A100-F00001-{i:04}", "ImprintPositions": [option] * options}
        for i in range(count)
    ]
    return json.dumps(body).encode()


def scenario(name: str, megabytes: int, families: int) -> dict:
    """Run one scenario in this process; return its figures."""
    import os

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ["PROMIDATA_ALLOWED_NETWORKS"] = "127.0.0.0/8"
    import django

    django.setup()
    from promidata_sync.feed import FeedDataError, parse_family

    data = _bomb(megabytes) if name.startswith("bomb") else _heavy(megabytes)
    baseline = _rss_mb()
    started = time.perf_counter()
    outcome = ""
    if name == "bomb-json-loads":
        json.loads(data)
        outcome = "decoded"
    elif name == "bomb-parser-before":
        outcome = _parse_before(data)
    elif name in ("bomb-parser", "heavy-parser"):
        try:
            record = parse_family(data, family_sku="A100-F00001", source_url="http://h/a.json")
            outcome = f"{len(record.variants)} variants"
        except FeedDataError as exc:
            outcome = f"refused: {str(exc)[:60]}…"
    else:  # heavy-fetch-gate-N
        outcome = _fetch_many(data, families, parse_concurrency=int(name.rsplit("-", 1)[1]))
    return {
        "scenario": name,
        "file_mb": round(len(data) / 1024 / 1024, 1),
        "peak_rss_mb": round(_rss_mb() - baseline, 1),
        "seconds": round(time.perf_counter() - started, 2),
        "outcome": outcome,
    }


def _parse_before(data: bytes) -> str:
    """Parse with the feed package as it was before issue 8 (commit 4e9c0dd), read from git
    into a temporary folder: it decoded the file whole and warned once per child."""
    import importlib
    import tempfile

    folder = Path(tempfile.mkdtemp()) / "feed_before"
    folder.mkdir()
    names = subprocess.run(
        ["git", "ls-tree", "--name-only", f"{BEFORE}:promidata_sync/feed"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    for name in names:
        source = subprocess.run(
            ["git", "show", f"{BEFORE}:promidata_sync/feed/{name}"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        (folder / name).write_text(source)
    sys.path.insert(0, str(folder.parent))
    before = importlib.import_module("feed_before")
    record = before.parse_family(data, family_sku="A1-BOMB", source_url="http://h/a.json")
    return f"{len(record.warnings):,} warnings kept"


def _fetch_many(data: bytes, families: int, *, parse_concurrency: int) -> str:
    from devtools.feedserver import FeedServer
    from promidata_sync.concurrency import bounded_map
    from promidata_sync.conf import SyncConfig
    from promidata_sync.feed import ImportEntry
    from promidata_sync.fetching import Fetcher
    from promidata_sync.services.families import family_fetch

    folder = Path(sys.argv[0]).resolve().parent  # any folder: the server only needs a root
    with FeedServer(directory=folder) as server:
        for i in range(families):
            server.replace(f"/A100/A100-F{i:05}.json", data, "application/json")
        config = SyncConfig.from_settings(
            import_url=f"{server.url}/Import/Import.txt",
            fetch_concurrency=families,
            parse_concurrency=parse_concurrency,
            max_family_bytes=64 * 1024 * 1024,
        )
        fetcher = Fetcher(config)
        entries = [
            ImportEntry(
                url=f"{server.url}/A100/A100-F{i:05}.json",
                hash="H",
                supplier_code="A100",
                family_sku=f"A100-F{i:05}",
                line_number=i,
            )
            for i in range(families)
        ]

        def fetch(entry):
            return len(family_fetch(entry, config=config, fetcher=fetcher).record.variants)

        results = list(bounded_map(fetch, entries, concurrency=families))
    errors = [error for _, _, error in results if error]
    return f"{families} families parsed" if not errors else f"errors: {errors[:1]}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--megabytes", type=int, default=18)
    parser.add_argument("--families", type=int, default=8)
    parser.add_argument("--scenario", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.scenario:
        print(json.dumps(scenario(args.scenario, args.megabytes, args.families)))
        return 0
    names = [
        "bomb-json-loads",
        "bomb-parser-before",
        "bomb-parser",
        "heavy-parser",
        "heavy-fetch-gate-2",
        f"heavy-fetch-gate-{args.families}",
    ]
    print(f"{'scenario':<22} {'file MB':>8} {'peak RSS MB':>12} {'seconds':>8}  outcome")
    for name in names:
        done = subprocess.run(
            [
                sys.executable,
                __file__,
                "--scenario",
                name,
                "--megabytes",
                str(args.megabytes),
                "--families",
                str(args.families),
            ],
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
        if done.returncode:
            print(f"{name:<22} failed: {done.stderr.strip().splitlines()[-1:]}")
            continue
        row = json.loads(done.stdout.strip().splitlines()[-1])
        print(
            f"{row['scenario']:<22} {row['file_mb']:>8} {row['peak_rss_mb']:>12} "
            f"{row['seconds']:>8}  {row['outcome']}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
