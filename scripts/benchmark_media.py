#!/usr/bin/env python3
"""Media figures against a real S3 API: images/s into S3, and image bytes on re-syncs.

    python scripts/benchmark_media.py [--families 200] [--variants 2] [--images 3]

Runs three direct syncs of a synthetic feed (every image distinct) into a bucket on moto's S3
server (a subprocess) from the feed server (in this process), both on loopback:

1. first import: every image downloaded, verified and uploaded once;
2. unchanged re-sync: no family and no image is asked for;
3. every family changed, no image changed: each known image is revalidated (304, no body).

It prints, per sync, the time, the images stored per second, the image requests the feed
server answered (200 / 304), the image bytes it sent and the S3 uploads. Settings come from the
environment like the application's own, with S3 pointed at the loopback bucket. The database is
``DATABASE_URL`` (a throw-away database created beside it and dropped at the end), or SQLite in
a temporary folder.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REGION = "us-east-1"
ACCESS_KEY, SECRET_KEY = "benchmark-access-key", "benchmark-secret-key"
MOTO_START_SECONDS = 30


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--families", type=int, default=200, help="families in all")
    parser.add_argument("--suppliers", type=int, default=2)
    parser.add_argument("--variants", type=int, default=2, help="variants per family")
    parser.add_argument("--images", type=int, default=3, help="images per variant")
    return parser.parse_args()


@contextlib.contextmanager
def s3_server():
    """Moto's S3 server as a subprocess on a free loopback port (its own interpreter, so it
    does not compete with the sync for this one's GIL), with an empty bucket; the environment
    is set so that the settings put media there. Stopped on exit."""
    import boto3

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + MOTO_START_SECONDS
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise SystemExit("moto's S3 server did not start") from None
                time.sleep(0.1)
        endpoint, bucket = f"http://127.0.0.1:{port}", f"bench-{uuid.uuid4().hex[:10]}"
        boto3.client(
            "s3",
            endpoint_url=endpoint,
            region_name=REGION,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
        ).create_bucket(Bucket=bucket)
        os.environ.update(
            AWS_STORAGE_BUCKET_NAME=bucket,
            AWS_ACCESS_KEY_ID=ACCESS_KEY,
            AWS_SECRET_ACCESS_KEY=SECRET_KEY,
            AWS_S3_ENDPOINT_URL=endpoint,
            AWS_S3_REGION_NAME=REGION,
            AWS_S3_ADDRESSING_STYLE="path",
        )
        yield endpoint
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class S3Uploads:
    """Counts the S3 writes this process makes, from any thread or boto3 session."""

    def __init__(self) -> None:
        from botocore.client import BaseClient

        self.count = 0
        lock, original = threading.Lock(), BaseClient._make_api_call

        def counting(client, operation_name, api_params):
            if operation_name in ("PutObject", "CreateMultipartUpload", "CopyObject"):
                with lock:
                    self.count += 1
            return original(client, operation_name, api_params)

        BaseClient._make_api_call = counting


def image_traffic(feed, feed_server) -> dict:
    """Image requests the feed server answered since its last reset, and the bytes it sent."""
    requests = [r for r in feed_server.requests if "/Images/" in r.path]
    sent = [r for r in requests if r.status == 200]
    return {
        "requests": len(requests),
        "ok": len(sent),
        "not_modified": sum(1 for r in requests if r.status == 304),
        "conditional": sum(1 for r in requests if "If-None-Match" in r.headers),
        "bytes": sum(len(feed.image_png(Path(r.path).stem)) for r in sent),
        "first_at": min((r.time for r in requests), default=None),
    }


def timed_sync(config, feed, feed_server, uploads: S3Uploads) -> dict:
    from catalog.models import Media
    from promidata_sync.services.direct import sync_direct

    feed_server.reset_counts()
    media_before, uploads_before = Media.objects.count(), uploads.count
    started_wall, started = time.time(), time.perf_counter()
    report = sync_direct(config=config)
    seconds = time.perf_counter() - started
    if not report.ok:
        raise SystemExit(f"sync failed: {[r.message for r in report.runs]} {report.errors}")
    traffic = image_traffic(feed, feed_server)
    stored = Media.objects.count() - media_before
    image_seconds = time.time() - traffic["first_at"] if traffic["first_at"] else 0.0
    return {
        "seconds": seconds,
        "image_seconds": image_seconds or (time.time() - started_wall),
        "stored": stored,
        "uploads": uploads.count - uploads_before,
        "families": feed_server.count("family"),
        **traffic,
    }


def run(args: argparse.Namespace) -> None:
    import django

    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    # The feed server below listens on loopback, which the fetcher refuses unless allowed.
    os.environ["PROMIDATA_ALLOWED_NETWORKS"] = "127.0.0.0/8,::1/128"
    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from devtools.feedgen import FeedSpec, SyntheticFeed
    from devtools.feedserver import FeedServer
    from promidata_sync.conf import SyncConfig

    throwaway = connection.vendor != "sqlite"
    if throwaway:  # never touch the catalog DATABASE_URL names: use a database of our own
        connection.settings_dict.setdefault("TEST", {})["NAME"] = (
            f"promidata_benchmark_{os.getpid()}"
        )
        old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    else:
        call_command("migrate", verbosity=0)
    per_supplier = max(1, args.families // args.suppliers)
    spec = FeedSpec(
        suppliers=args.suppliers,
        families_per_supplier=per_supplier,
        variants_per_family=args.variants,
        images_per_variant=args.images,
    )
    feed = SyntheticFeed(spec)
    uploads = S3Uploads()
    try:
        with FeedServer(feed) as feed_server:
            config = SyncConfig.from_settings(import_url=feed_server.import_url)
            first = timed_sync(config, feed, feed_server, uploads)
            unchanged = timed_sync(config, feed, feed_server, uploads)
            for code in feed.supplier_codes:
                for sku in feed.family_skus(code):
                    feed.set_price(sku, 0, Decimal("1.23"))
            changed = timed_sync(config, feed, feed_server, uploads)
    finally:
        if throwaway:
            connection.creation.destroy_test_db(old_name, verbosity=0)
    families = args.suppliers * per_supplier
    print(
        f"feed: {families} families x {args.variants} variants x {args.images} images "
        f"({families * args.variants * args.images} distinct images); database: "
        f"{connection.vendor}; S3: moto server (subprocess) on loopback; "
        f"fetch concurrency {config.fetch_concurrency}"
    )
    print(
        f"{'sync':<34}{'seconds':>8}{'img/s':>8}{'families':>9}{'img 200':>8}{'img 304':>8}"
        f"{'img bytes':>11}{'S3 PUTs':>8}"
    )
    for label, figures in (
        ("first import", first),
        ("unchanged re-sync", unchanged),
        ("every family changed, no image", changed),
    ):
        rate = figures["stored"] / figures["image_seconds"] if figures["stored"] else 0.0
        print(
            f"{label:<34}{figures['seconds']:>8.2f}{rate:>8.0f}{figures['families']:>9}"
            f"{figures['ok']:>8}{figures['not_modified']:>8}{figures['bytes']:>11,}"
            f"{figures['uploads']:>8}"
        )
    print(
        f"first import: {first['stored']} images stored in {first['seconds']:.2f} s "
        f"({first['stored'] / first['seconds']:.0f} images/s over the whole sync, "
        f"{first['stored'] / first['image_seconds']:.0f} images/s in its image phase)"
    )
    print(
        f"re-sync, every family changed: {changed['conditional']} conditional requests, "
        f"{changed['not_modified']} answered 304, {changed['bytes']:,} image bytes sent "
        f"(first import: {first['bytes']:,})"
    )


def main() -> int:
    args = parse_args()
    with tempfile.TemporaryDirectory(prefix="promidata-bench-") as tmp:
        os.environ["PROMIDATA_VAR_DIR"] = tmp
        os.environ.setdefault("DATABASE_URL", f"sqlite:///{Path(tmp) / 'db.sqlite3'}")
        with s3_server():
            run(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
