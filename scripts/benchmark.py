#!/usr/bin/env python3
"""Benchmark the direct sync on a generated feed and print the figures.

    python scripts/benchmark.py                       # 40 suppliers x 1,000 families
    python scripts/benchmark.py --suppliers 4 --families 250 --database sqlite

Phases, each printed as it ends:
1. first import of the whole feed (families/s, images/s);
2. an unchanged re-sync in a fresh process, as cron would run it: wall time, CPU time of the
   sync beyond downloading Import.txt, SQL queries per supplier, family and image requests
   (must be zero), peak memory of that process;
3. SQL queries to write one changed family of 1 and of 40 variants (must be equal).

The feed server runs in a separate process; the database is dropped and created afresh
(``--database`` takes a PostgreSQL URL, or ``sqlite``; default: local PostgreSQL).
Use the project's virtual environment (``python3 scripts/test.py`` creates it), e.g.
``.venv/bin/python scripts/benchmark.py``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

from _bench import ROOT, Timer, django_setup, feed_server, peak_rss_mb, prepare_environment


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--suppliers", type=int, default=40)
    parser.add_argument("--families", type=int, default=1000, help="per supplier")
    parser.add_argument("--variants", type=int, default=2)
    parser.add_argument("--images", type=int, default=1, help="per variant")
    parser.add_argument("--image-pool", type=int, default=500, help="distinct images in all")
    parser.add_argument("--database", help="PostgreSQL URL or 'sqlite'")
    parser.add_argument("--phase", choices=["resync"], help=argparse.SUPPRESS)
    parser.add_argument("--import-url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase == "resync":
        return resync_phase(args.import_url)

    prepare_environment(args.database)
    django_setup()
    total = args.suppliers * args.families
    print(
        f"feed: {args.suppliers} suppliers x {args.families} families x {args.variants} "
        f"variants x {args.images} images (pool {args.image_pool}) = {total:,} families",
        flush=True,
    )
    with feed_server(
        suppliers=args.suppliers,
        families=args.families,
        variants=args.variants,
        images=args.images,
        image_pool=args.image_pool,
    ) as import_url:
        first_import(import_url, total)
        child = subprocess.run(
            [sys.executable, __file__, "--phase", "resync", "--import-url", import_url],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
        figures = json.loads(child.stdout.strip().splitlines()[-1])
    print_resync(figures, args.suppliers)
    changed_family_queries()
    return 0


def first_import(import_url: str, families: int) -> None:
    from promidata_sync.conf import SyncConfig
    from promidata_sync.services.direct import sync_direct

    config = SyncConfig.from_settings(import_url=import_url)
    with Timer() as timer:
        report = sync_direct(config=config)
    images = sum(r.images_downloaded for r in report.runs)
    print(
        f"first import: {families:,} families in {timer.wall:.1f}s = "
        f"{families / timer.wall:,.0f} families/s; {images:,} images downloaded "
        f"({images / timer.wall:,.1f}/s overall); ok={report.ok}",
        flush=True,
    )


def resync_phase(import_url: str) -> int:
    """Run in a fresh process: one unchanged re-sync, measured; print JSON on the last line."""
    import os

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from promidata_sync.conf import SyncConfig
    from promidata_sync.fetching import Fetcher
    from promidata_sync.services.direct import sync_direct

    config = SyncConfig.from_settings(import_url=import_url)
    # What downloading Import.txt alone costs, to subtract from the sync.
    with Timer() as download:
        size = len(Fetcher(config).get(import_url, max_bytes=config.max_index_bytes).content)
    with CaptureQueriesContext(connection) as queries, Timer() as sync:
        report = sync_direct(config=config)
    fetched = sum(r.families_total + r.images_total for r in report.runs)
    print(
        json.dumps(
            {
                "ok": report.ok,
                "wall": sync.wall,
                "cpu": sync.cpu,
                "download_cpu": download.cpu,
                "download_wall": download.wall,
                "index_bytes": size,
                "queries": len(queries),
                "unchanged": sum(r.families_unchanged for r in report.runs),
                "fetched": fetched,
                "peak_mb": peak_rss_mb(),
            }
        )
    )
    return 0


def print_resync(f: dict, suppliers: int) -> None:
    print(
        f"unchanged re-sync (fresh process): {f['unchanged']:,} families unchanged, "
        f"{f['fetched']} family/image fetches; wall {f['wall']:.2f}s, CPU {f['cpu']:.2f}s, of "
        f"which downloading the {f['index_bytes'] / 1e6:.1f} MB Import.txt takes "
        f"{f['download_cpu']:.2f}s -> {f['cpu'] - f['download_cpu']:.2f}s CPU beyond the "
        f"download; {f['queries']} SQL queries = {f['queries'] / suppliers:.1f} per supplier; "
        f"peak memory {f['peak_mb']:.0f} MB; ok={f['ok']}",
        flush=True,
    )


def changed_family_queries() -> None:
    from dataclasses import replace

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from catalog.models import Supplier
    from devtools.feedgen import FeedSpec, SyntheticFeed
    from promidata_sync.feed import ImportEntry, parse_family
    from promidata_sync.models import SyncRun
    from promidata_sync.services.families import family_write

    counts = {}
    for variants in (1, 40):
        feed = SyntheticFeed(
            FeedSpec(suppliers=1, families_per_supplier=1, variants_per_family=variants, seed=9)
        )
        sku = feed.family_skus("A100")[0]
        url = f"http://bench.invalid/A100/{sku}-{variants}.json"
        body = feed.family_json("A100", sku, "http://bench.invalid")
        record = parse_family(body, family_sku=f"{sku}-{variants}", source_url=url)
        supplier, _ = Supplier.objects.get_or_create(code="ZBENCH")
        run = SyncRun.objects.create(supplier=supplier, state="completed")
        entry = ImportEntry(url, "1", "ZBENCH", f"{sku}-{variants}", 0)
        family_write(supplier=supplier, entry=entry, record=record)
        with CaptureQueriesContext(connection) as queries:
            family_write(
                supplier=supplier, entry=replace(entry, hash="2"), record=record, run_id=run.pk
            )
        counts[variants] = len(queries)
    print(
        f"changed family: {counts[1]} SQL queries with 1 variant, {counts[40]} with 40 variants",
        flush=True,
    )
    print(f"peak memory of the first-import process: {peak_rss_mb():.0f} MB", flush=True)


if __name__ == "__main__":
    sys.exit(main())
