#!/usr/bin/env python3
"""First import of heavy families: our write path beside a bare PostgreSQL COPY of the same rows.

    .venv/bin/python scripts/benchmark_first_import.py [--families 400] [--suppliers 2]
                                                       [--database-url URL]

What one run measures and prints, side by side:

1. **ours**: a first import in direct mode (``sync_direct``, the command's path) of
   ``--families`` generated families (about 250 KB each: four languages, nine price regions,
   two variants, three print positions of four options with two costs each, print data half
   inline and half referenced, every rich field) plus ONE family of about 3.6 MB. The feed is
   served by a separate process on loopback with no added latency. Images are served locally
   too and downloaded by the sync after the families, as always; that phase is timed apart and
   left out of the family figures. Printed: families/s and rows/s of the families phase (from
   the first family fetched to the last one written), SQL queries per family (by statement),
   and the kept files' size (mean raw vs mean zstd-compressed bytes). ``family_write`` and
   ``family_parse`` are wrapped to add up their time; nothing else is changed.
2. **the floor**: the same families (the kept bytes) parsed once with ``parse_family``, their
   rows built by hand exactly as the write path stores them (products, variants, every price
   tier, print positions and their images, options, option tiers, costs, cost tiers, variant
   image declarations, the kept file compressed with zstd; JSON fields encoded with
   ``json.dumps``, ids assigned here) and loaded with psycopg's ``cursor.copy`` into the empty
   tables of a second database cloned from the freshly migrated one, in one transaction, on
   one thread. Parse, row building, zstd and COPY are timed apart. The floor's rows are checked
   against ours (an MD5 per table of every row's content, ids and timestamps aside). The floor
   writes no run bookkeeping (SyncRun counters, SyncItem rows): that is ours only.
3. the 3.6 MB family alone in a fresh process (after one normal family, to warm Django up):
   parse and write times, RSS before, and its peak while parsing and while writing (VmHWM,
   reset before each step).
4. where our time goes: cProfile of a shorter first import (``--profile-families``, fresh
   database), families phase only: the writing thread's top project functions by cumulative
   time, each write step's direct callees, Django ORM and driver totals, self time by package,
   and what the fetch threads spent.

How to read it: the "x floor" row divides each column's seconds by the floor's (parse + rows +
zstd + COPY); the issue's target is ours within 3x of the floor. Ours parses in the fetch
threads while the main thread writes, so ours is about max(write, parse) plus GIL contention,
the floor is parse + write in a row; "writing alone" compares ``family_write`` with the floor's
part after parsing. Profiled times are inflated by the profiler: read them as shares.

Everything is deterministic (fixed seed). Databases are named after ``--database-url``
(default ``bench_first_import``; it must start with ``bench``): NAME, NAME_floor and
NAME_profile are created afresh and dropped at the end.
"""

from __future__ import annotations

import argparse
import cProfile
import itertools
import json
import linecache
import pstats
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from contextlib import contextmanager
from pathlib import Path

from _bench import ROOT, Timer, django_setup, prepare_environment

sys.path.insert(0, str(ROOT))

SEED = 20_240_917
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/bench_first_import"
HEAVY_KB = 3400  # the padding step that lands closest to 3.6 MB, the biggest real family seen
FLOOR_CHUNK = 25  # families parsed, built and copied per round of the floor


# --------------------------------------------------------------------------- the feed


def feed_spec(suppliers: int, families_per_supplier: int, *, heavy: bool) -> dict:
    """FeedSpec keyword arguments (JSON-ready) of the benchmark feed.

    ``family_kb`` is not used: padding only grows a family, and nine regions with this print
    data already give ~250 KB. With ``heavy``, index ``families_per_supplier + 1`` is padded to
    ``HEAVY_KB``; the server adds exactly that one family to the first supplier.
    """
    from devtools.feedgen import NINE_LOCALE_REGIONS

    spec = {
        "suppliers": suppliers,
        "families_per_supplier": families_per_supplier,
        "variants_per_family": 2,
        "images_per_variant": 2,
        "seed": SEED,
        "regions": [list(region) for region in NINE_LOCALE_REGIONS],
        "print_positions": 3,
        "print_options": 4,
        "print_costs": 2,
        "print_shape": "mixed",
        "rich": True,
    }
    if heavy:
        spec.update(heavy_every=families_per_supplier + 1, heavy_kb=HEAVY_KB)
    return spec


def serve_phase(spec_json: str, heavy_supplier: str) -> int:
    """Child process: serve the feed until SIGTERM; print the Import.txt URL when ready."""
    from devtools.feedgen import FeedSpec, SyntheticFeed
    from devtools.feedserver import FeedServer

    feed = SyntheticFeed(FeedSpec(**json.loads(spec_json)))
    if heavy_supplier:
        feed.add_family(heavy_supplier)  # its index is heavy_every: the one heavy family
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    with FeedServer(feed) as server:
        feed.import_txt(server.base_url)  # hash (render) every family before the clock starts
        print(server.import_url, flush=True)
        while not stop.wait(0.5):
            pass
    return 0


@contextmanager
def serving(spec: dict, heavy_supplier: str = ""):
    """Run :func:`serve_phase` in a separate process; yield the Import.txt URL."""
    args = [sys.executable, __file__, "--phase", "serve", "--spec", json.dumps(spec)]
    args += ["--heavy-supplier", heavy_supplier]
    process = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        url = process.stdout.readline().strip()
        if not url.startswith("http"):
            raise RuntimeError(f"feed server did not start: {url!r}")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


# --------------------------------------------------------------------------- databases


def database_names(url: str) -> tuple[str, str, str]:
    base, name = url.rsplit("/", 1)
    if not name.startswith("bench"):
        raise SystemExit(f"refusing to drop and create {name!r}: the name must start with bench")
    return url, f"{base}/{name}_floor", f"{base}/{name}_profile"


def _admin(url: str):
    import psycopg

    return psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True)


def clone_database(source_url: str, target_url: str) -> None:
    """CREATE the target from the (migrated, still empty) source as a template."""
    from django.db import connections
    from psycopg import sql

    connections.close_all()  # a template must have no other connection
    source, target = source_url.rsplit("/", 1)[1], target_url.rsplit("/", 1)[1]
    with _admin(source_url) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(target)))
        conn.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(target), sql.Identifier(source)
            )
        )


def drop_databases(*urls: str) -> None:
    from psycopg import sql

    try:
        from django.db import connections

        connections.close_all()
    except Exception:  # Django never set up (child failed early)
        pass
    with _admin(urls[0]) as conn:
        for url in urls:
            name = sql.Identifier(url.rsplit("/", 1)[1])
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))


# The catalog tables of one first import, in the order they are reported.
TABLES = (
    ("products", "catalog.Product"),
    ("variants", "catalog.Variant"),
    ("price tiers", "catalog.PriceTier"),
    ("print positions", "catalog.PrintPosition"),
    ("position images", "catalog.PrintPositionImage"),
    ("print options", "catalog.PrintOption"),
    ("option tiers", "catalog.PrintOptionTier"),
    ("print costs", "catalog.PrintCost"),
    ("cost tiers", "catalog.PrintCostTier"),
    ("variant images", "promidata_sync.VariantImage"),
    ("kept files", "promidata_sync.FamilyFile"),
)


def _model(label: str):
    from django.apps import apps

    return apps.get_model(label)


def row_counts(cursor) -> dict[str, int]:
    counts = {}
    for name, label in TABLES:
        cursor.execute(f'SELECT count(*) FROM "{_model(label)._meta.db_table}"')
        counts[name] = cursor.fetchone()[0]
    return counts


def content_digests(cursor) -> dict[str, str]:
    """Per table, an MD5 of every row's content, ids, foreign keys and timestamps aside: equal
    digests in two databases mean the same rows (as a multiset)."""
    from django.db import models

    digests = {}
    for name, label in TABLES:
        model = _model(label)
        columns = [
            f'"{field.column}"'
            for field in model._meta.concrete_fields
            if not (
                field.primary_key or field.is_relation or isinstance(field, models.DateTimeField)
            )
        ]
        cursor.execute(
            f"SELECT md5(string_agg(r, '|' ORDER BY r)) FROM "
            f'(SELECT ROW({", ".join(columns)})::text AS r FROM "{model._meta.db_table}") rows'
        )
        digests[name] = cursor.fetchone()[0]
    return digests


# --------------------------------------------------------------------------- 1. ours


class PhaseClock:
    """A ``Progress`` for sync_direct that times its families and images phases and counts
    the SQL queries of each (``connection.execute_wrapper`` calls ``count``)."""

    def __init__(self):
        self.phase = "other"
        self.seconds: dict[str, float] = defaultdict(float)
        self.queries: Counter[str] = Counter()
        self.statements: Counter[str] = Counter()  # of the families phase, by kind and table
        self._started = 0.0

    def start(self, label: str, total: int) -> None:
        self.phase, self._started = label.rsplit(" ", 1)[-1], time.perf_counter()

    def advance(self, n: int = 1) -> None:
        pass

    def finish(self) -> None:
        self.seconds[self.phase] += time.perf_counter() - self._started
        self.phase = "other"

    def count(self, execute, sql, params, many, context):
        self.queries[self.phase] += 1
        if self.phase == "families":
            self.statements[_statement(sql)] += 1
        return execute(sql, params, many, context)


_TABLE = re.compile(r'(?:FROM|INTO|UPDATE)\s+"([^"]+)"')
_EXISTS = re.compile(r'SELECT \S+ AS "a" FROM')


def _statement(sql: str) -> str:
    """ "INSERT catalog_product", "SELECT FOR UPDATE promidata_sync_syncitem"..."""
    verb = sql.split(None, 1)[0].upper()
    if verb == "SELECT" and sql.rstrip().endswith("FOR UPDATE"):
        verb = "SELECT FOR UPDATE"
    elif verb == "SELECT" and _EXISTS.match(sql):
        verb = "SELECT EXISTS"
    table = _TABLE.search(sql)
    return f"{verb} {table[1] if table else ''}".strip()


@contextmanager
def timed_calls(module, name: str, totals: dict[str, float]):
    """Replace ``module.name`` by a wrapper that adds its wall seconds to ``totals[name]``
    (from any thread; behaviour unchanged)."""
    original = getattr(module, name)
    lock = threading.Lock()

    def wrapper(*args, **kwargs):
        started = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            with lock:
                totals[name] += time.perf_counter() - started

    setattr(module, name, wrapper)
    try:
        yield
    finally:
        setattr(module, name, original)


def first_import(import_url: str) -> dict:
    """Run sync_direct (families, then images) and return its figures."""
    from django.db import connection

    from promidata_sync.conf import SyncConfig
    from promidata_sync.services import families
    from promidata_sync.services.direct import sync_direct
    from promidata_sync.services.steps import family as family_step

    config = SyncConfig.from_settings(import_url=import_url)
    clock, totals = PhaseClock(), defaultdict(float)
    with (
        connection.execute_wrapper(clock.count),
        timed_calls(family_step, "family_write", totals),
        timed_calls(families, "family_parse", totals),
        Timer() as whole,
    ):
        report = sync_direct(config=config, progress=clock)
    with connection.cursor() as cursor:
        counts, digests = row_counts(cursor), content_digests(cursor)
    done = sum(r.families_done for r in report.runs)
    return {
        "ok": report.ok,
        "families": done,
        "failed": sum(r.families_failed for r in report.runs),
        "images": sum(r.images_downloaded for r in report.runs),
        "images_failed": sum(r.images_failed for r in report.runs),
        "wall": whole.wall,
        "families_wall": clock.seconds["families"],
        "images_wall": clock.seconds["images"],
        "queries": dict(clock.queries),
        "statements": clock.statements,
        "write_seconds": totals["family_write"],
        "parse_seconds": totals["family_parse"],
        "rows": counts,
        "digests": digests,
    }


def kept_files(heavy_sku: str) -> dict:
    """Sizes of the kept family files: the normal ones and the heavy one, apart."""
    from django.db import connection

    from promidata_sync.models import FamilyFile

    rows = list(FamilyFile.objects.values_list("family_sku", "size", "stored_size"))
    normal = [(size, stored) for sku, size, stored in rows if sku != heavy_sku]
    heavy = [(size, stored) for sku, size, stored in rows if sku == heavy_sku]
    with connection.cursor() as cursor:  # what the table takes on disk, TOAST and index included
        cursor.execute("SELECT pg_total_relation_size(%s)", [FamilyFile._meta.db_table])
        (table_bytes,) = cursor.fetchone()
    return {
        "count": len(normal),
        "table_bytes_per_file": table_bytes / len(rows),
        "raw_mean": sum(s for s, _ in normal) / len(normal),
        "raw_min": min(s for s, _ in normal),
        "raw_max": max(s for s, _ in normal),
        "stored_mean": sum(c for _, c in normal) / len(normal),
        "heavy_raw": heavy[0][0] if heavy else 0,
        "heavy_stored": heavy[0][1] if heavy else 0,
    }


def kept_bodies():
    """(supplier_id, family_sku, hash, url, raw bytes) of every kept file, in import order."""
    from promidata_sync.models import FamilyFile
    from promidata_sync.services.family_files import decompress

    files = FamilyFile.objects.order_by("pk").values_list(
        "supplier_id", "family_sku", "hash", "source_url", "content"
    )
    return [(s, sku, h, url, decompress(content)) for s, sku, h, url, content in files]


# --------------------------------------------------------------------------- 2. the floor


def _columns(label: str, names: str) -> tuple[str, ...]:
    """The column list of a table, checked against the model so no column is forgotten."""
    columns = tuple(names.split())
    expected = {field.column for field in _model(label)._meta.concrete_fields}
    if set(columns) != expected:
        raise RuntimeError(f"{label}: columns {sorted(expected ^ set(columns))} differ")
    return columns


TIER = "region kind min_quantity price currency on_request"


def floor_columns() -> dict[str, tuple[str, ...]]:
    from promidata_sync.services.families import PACKAGING_FIELDS

    packaging = " ".join(PACKAGING_FIELDS)
    return {
        "products": _columns(
            "catalog.Product",
            "id supplier_id sku supplier_sku promidata_hash source_url names descriptions "
            "category_id brand short_descriptions meta web_shop_information "
            "secondary_categories default_products release_date videos documents "
            "sample_prices certificates forbidden_regions extra is_active last_seen_at "
            "absent_count absent_index stock_total stock_read_at created_at updated_at",
        ),
        "variants": _columns(
            "catalog.Variant",
            "id product_id sku supplier_sku ean names descriptions short_descriptions meta "
            "web_shop_information color size search_color attributes weight_g length_mm "
            "width_mm height_mm diameter_mm depth_mm country_of_origin customs_tariff_number "
            "hex_color pms_color filters fragile usb_item delivery_days delivery_texts "
            f"release_date videos documents {packaging} battery price_region "
            "minimum_order_quantity quantity_increment region_terms extra position is_active "
            "created_at updated_at",
        ),
        "price tiers": _columns("catalog.PriceTier", f"id variant_id {TIER}"),
        "print positions": _columns(
            "catalog.PrintPosition",
            "id variant_id order code supplier_code names descriptions max_print_area "
            "max_width max_height info extra",
        ),
        "position images": _columns(
            "catalog.PrintPositionImage", "id position_id order url file_name media_id"
        ),
        "print options": _columns(
            "catalog.PrintOption",
            "id position_id order sku supplier_sku print_code reference names descriptions "
            "print_colors print_color_text dimension width height depth diameter imprint_type "
            "active_regions max_colors is_default max_size_cm2 info region_terms extra",
        ),
        "option tiers": _columns("catalog.PrintOptionTier", f"id option_id {TIER}"),
        "print costs": _columns(
            "catalog.PrintCost",
            "id option_id order sku supplier_sku names descriptions calculation_type "
            "calculation_amount requirement active_regions info region_terms extra",
        ),
        "cost tiers": _columns("catalog.PrintCostTier", f"id cost_id {TIER}"),
        "variant images": _columns(
            "promidata_sync.VariantImage", "id variant_id url file_name position"
        ),
        "kept files": _columns(
            "promidata_sync.FamilyFile",
            "id supplier_id family_sku hash source_url encoding content size stored_size "
            "error fetched_at",
        ),
    }


class FloorRows:
    """Rows of every table, built from parsed records the way the write path stores them."""

    def __init__(self, category_ids: dict[str, int], now):
        from promidata_sync.services.families import PACKAGING_FIELDS

        self.category_ids, self.now, self.packaging = category_ids, now, PACKAGING_FIELDS
        self.ids = {name: itertools.count(1) for name, _ in TABLES}
        self.rows: dict[str, list[tuple]] = {name: [] for name, _ in TABLES}

    def _add(self, table: str, *values) -> int:
        row_id = next(self.ids[table])
        self.rows[table].append((row_id, *values))
        return row_id

    def family(self, supplier_id, sku, hash, url, record) -> None:
        j, now = json.dumps, self.now
        product_id = self._add(
            "products", supplier_id, sku, record.supplier_sku, hash, url, j(record.names),
            j(record.descriptions), self.category_ids.get(record.category_key), record.brand,
            j(record.short_descriptions), j(record.meta), j(record.web_shop_information),
            j(record.secondary_categories), j(record.default_products), record.release_date,
            j(list(record.videos)), j(list(record.documents)), j(record.sample_prices),
            j(record.certificates), j(record.forbidden_regions), j(record.extra), True, now,
            0, "", None, None, now, now,
        )  # fmt: skip
        for position, v in enumerate(record.variants):
            self.variant(product_id, position, v)

    def variant(self, product_id: int, position: int, v) -> None:
        j, now = json.dumps, self.now
        variant_id = self._add(
            "variants", product_id, v.sku, v.supplier_sku, v.ean, j(v.names), j(v.descriptions),
            j(v.short_descriptions), j(v.meta), j(v.web_shop_information), v.color, v.size,
            v.search_color, j(v.attributes), v.weight_g, v.length_mm, v.width_mm, v.height_mm,
            v.diameter_mm, v.depth_mm, v.country_of_origin, v.customs_tariff_number,
            v.hex_color, v.pms_color, j(v.filters), v.fragile, v.usb_item, v.delivery_days,
            j(v.delivery_texts), v.release_date, j(list(v.videos)), j(list(v.documents)),
            *(getattr(v.packaging, name) for name in self.packaging), j(v.battery),
            v.price_region, v.minimum_order_quantity, v.quantity_increment, j(v.region_terms),
            j(v.extra), position, True, now, now,
        )  # fmt: skip
        for t in v.price_tiers:
            self._tier("price tiers", variant_id, t)
        for image in v.images:
            self._add("variant images", variant_id, image.url, image.file_name, image.position)
        for order, p in enumerate(v.print_positions):
            self.position(variant_id, order, p)

    def position(self, variant_id: int, order: int, p) -> None:
        j = json.dumps
        position_id = self._add(
            "print positions", variant_id, order, p.code, p.supplier_code, j(p.names),
            j(p.descriptions), p.max_print_area, p.max_width, p.max_height, j(p.info), j(p.extra),
        )  # fmt: skip
        for image in p.images:
            # media_id: NULL, as on a first import (no image bytes are stored yet).
            self._add("position images", position_id, image.position, image.url,
                      image.file_name, None)  # fmt: skip
        for order, o in enumerate(p.options):
            option_id = self._add(
                "print options", position_id, order, o.sku, o.supplier_sku, o.print_code,
                o.reference, j(o.names), j(o.descriptions), o.print_colors, o.print_color_text,
                o.dimension, o.width, o.height, o.depth, o.diameter, o.imprint_type,
                j(o.active_regions), o.max_colors, o.is_default, o.max_size_cm2, j(o.info),
                j(o.region_terms), j(o.extra),
            )  # fmt: skip
            for t in o.tiers:
                self._tier("option tiers", option_id, t)
            for order, c in enumerate(o.costs):
                cost_id = self._add(
                    "print costs", option_id, order, c.sku, c.supplier_sku, j(c.names),
                    j(c.descriptions), c.calculation_type, c.calculation_amount,
                    None if c.requirement is None else j(c.requirement), j(c.active_regions),
                    j(c.info), j(c.region_terms), j(c.extra),
                )  # fmt: skip
                for t in c.tiers:
                    self._tier("cost tiers", cost_id, t)

    def _tier(self, table: str, owner_id: int, t) -> None:
        self._add(table, owner_id, t.region, t.kind, t.min_quantity, t.price, t.currency,
                  t.on_request)  # fmt: skip

    def kept_file(self, supplier_id, sku, hash, url, content: bytes, compressed: bytes) -> None:
        self._add("kept files", supplier_id, sku, hash, url, "zstd", compressed, len(content),
                  len(compressed), "", self.now)  # fmt: skip

    def take(self) -> dict[str, list[tuple]]:
        rows, self.rows = self.rows, {name: [] for name, _ in TABLES}
        return rows


def copy_rows(cursor, columns: dict[str, tuple[str, ...]], rows: dict[str, list[tuple]]) -> None:
    from psycopg import sql

    for name, label in TABLES:
        if not rows[name]:
            continue
        statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
            sql.Identifier(_model(label)._meta.db_table),
            sql.SQL(", ").join(map(sql.Identifier, columns[name])),
        )
        with cursor.copy(statement) as copy:
            for row in rows[name]:
                copy.write_row(row)


def prepare_floor(floor_url: str) -> dict[str, int]:
    """Suppliers and categories of the main database, copied to the floor (not timed);
    returns {category key: id}."""
    import psycopg
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT id, code, name, is_active, last_sync_status, last_sync_message, "
                       "created_at, updated_at FROM catalog_supplier")  # fmt: skip
        suppliers = cursor.fetchall()
        cursor.execute("SELECT id, key, parent_id, names::text, icon, image FROM catalog_category")
        categories = cursor.fetchall()
    with psycopg.connect(floor_url) as conn, conn.cursor() as cursor:
        with cursor.copy(
            "COPY catalog_supplier (id, code, name, is_active, last_sync_status, "
            "last_sync_message, created_at, updated_at) FROM STDIN"
        ) as copy:
            for row in suppliers:
                copy.write_row(row)
        with cursor.copy(
            "COPY catalog_category (id, key, parent_id, names, icon, image) FROM STDIN"
        ) as copy:
            for row in categories:
                copy.write_row(row)
    return {key: pk for pk, key, *_ in categories}


def floor(floor_url: str, bodies: list, config) -> dict:
    """Parse, build and COPY every family into the floor database; time each step apart."""
    import psycopg
    from django.utils import timezone

    from promidata_sync.feed import parse_family
    from promidata_sync.services.family_files import compress

    rows = FloorRows(prepare_floor(floor_url), timezone.now())
    columns = floor_columns()
    seconds = Counter()
    with psycopg.connect(floor_url) as conn, conn.cursor() as cursor:
        for start in range(0, len(bodies), FLOOR_CHUNK):
            chunk = bodies[start : start + FLOOR_CHUNK]
            with Timer() as t:
                records = [
                    parse_family(
                        content,
                        family_sku=sku,
                        source_url=url,
                        price_regions=config.price_regions,
                        languages=config.languages,
                        max_children=config.max_children_per_family,
                    )
                    for _, sku, _, url, content in chunk
                ]
            seconds["parse"] += t.wall
            with Timer() as t:
                compressed = [compress(body[4]) for body in chunk]
            seconds["compress"] += t.wall
            with Timer() as t:
                for (supplier_id, sku, hash, url, content), record, packed in zip(
                    chunk, records, compressed, strict=True
                ):
                    rows.family(supplier_id, sku, hash, url, record)
                    rows.kept_file(supplier_id, sku, hash, url, content, packed)
                batch = rows.take()
            seconds["build"] += t.wall
            with Timer() as t:
                copy_rows(cursor, columns, batch)
            seconds["copy"] += t.wall
            del records, compressed, batch
        with Timer() as t:
            conn.commit()
        seconds["copy"] += t.wall
        counts, digests = row_counts(cursor), content_digests(cursor)
    return {"seconds": dict(seconds), "rows": counts, "digests": digests}


# --------------------------------------------------------------------------- 3. heavy family


def _memory_mb() -> tuple[float, float]:
    """(current, peak) resident memory of this process in MB: VmRSS and VmHWM.

    Not ``ru_maxrss``: on Linux it survives ``exec``, so a child forked from a big parent
    would report the parent's peak."""
    values = {}
    with open("/proc/self/status") as status:
        for line in status:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = int(rest.split()[0]) / 1024
    return values["VmRSS"], values["VmHWM"]


def _reset_peak() -> bool:
    """Reset VmHWM to the current RSS (Linux >= 4.0); False if the kernel refuses."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def heavy_phase(heavy_file: str, warm_file: str) -> int:
    """Child process (the parent's environment): write one normal family to warm Django up,
    then parse and write the heavy one; print JSON figures on the last line."""
    import gc

    import django

    django.setup()
    from catalog.models import Supplier
    from promidata_sync.conf import SyncConfig
    from promidata_sync.feed import ImportEntry
    from promidata_sync.services.families import family_parse, family_write

    config = SyncConfig.from_settings(import_url="http://127.0.0.1/Import/Import.txt")

    def entry(path: str) -> ImportEntry:
        sku = Path(path).stem
        return ImportEntry(f"http://127.0.0.1/Z/{sku}.json", "H1", "ZHEAVY", sku, 0)

    supplier = Supplier.objects.create(code="ZHEAVY")
    warm = entry(warm_file)
    download = family_parse(warm, Path(warm_file).read_bytes(), config=config)
    family_write(supplier=supplier, entry=warm, record=download.record, download=download)
    content = Path(heavy_file).read_bytes()
    del download
    gc.collect()
    heavy = entry(heavy_file)
    reset = _reset_peak()
    before_parse, _ = _memory_mb()
    with Timer() as parse:
        download = family_parse(heavy, content, config=config)
    after_parse, parse_peak = _memory_mb()
    reset = _reset_peak() and reset
    with Timer() as write:
        result = family_write(
            supplier=supplier, entry=heavy, record=download.record, download=download
        )
    after_write, write_peak = _memory_mb()
    record = download.record
    positions = [p for v in record.variants for p in v.print_positions]
    options = [o for p in positions for o in p.options]
    print(
        json.dumps(
            {
                "bytes": len(content),
                "variants": len(record.variants),
                "positions": len(positions),
                "options": len(options),
                "tiers": result.price_tiers
                + sum(len(o.tiers) + sum(len(c.tiers) for c in o.costs) for o in options),
                "parse_wall": parse.wall,
                "write_wall": write.wall,
                "peaks_reset": reset,
                "before_parse_mb": before_parse,
                "parse_peak_mb": parse_peak,
                "after_parse_mb": after_parse,
                "write_peak_mb": write_peak,
                "after_write_mb": after_write,
            }
        )
    )
    return 0


def heavy_family(bodies: list, heavy_sku: str) -> dict:
    """Run :func:`heavy_phase` in a fresh process on the kept bytes of the heavy family."""
    folder = Path(tempfile.mkdtemp(prefix="bench-heavy-"))
    try:
        (heavy,) = [content for _, sku, _, _, content in bodies if sku == heavy_sku]
        _, warm_sku, _, _, warm = bodies[0]
        (folder / f"{heavy_sku}.json").write_bytes(heavy)
        (folder / f"{warm_sku}.json").write_bytes(warm)
        done = subprocess.run(
            [sys.executable, __file__, "--phase", "heavy",
             "--heavy-file", str(folder / f"{heavy_sku}.json"),
             "--warm-file", str(folder / f"{warm_sku}.json")],
            cwd=ROOT, capture_output=True, text=True, check=True,
        )  # fmt: skip
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------- 4. profile


class ProfiledPhases(PhaseClock):
    """Profiles the families phase only: the calling (writing) thread, and every fetch thread
    started meanwhile (each its own profiler, merged afterwards)."""

    def __init__(self):
        super().__init__()
        self.writer = cProfile.Profile()
        self.fetchers: list[cProfile.Profile] = []

    def _thread_hook(self, *_):
        profiler = cProfile.Profile()
        self.fetchers.append(profiler)
        profiler.enable()  # replaces this hook in the new thread

    def start(self, label: str, total: int) -> None:
        super().start(label, total)
        if self.phase == "families":
            threading.setprofile(self._thread_hook)
            self.writer.enable()

    def finish(self) -> None:
        if self.phase == "families":
            self.writer.disable()
            threading.setprofile(None)
        super().finish()


def profile_phase(families: int, database_url: str) -> int:
    """Child process: a first import of ``families`` families on a fresh database, profiled;
    prints the report."""
    work = prepare_environment(database_url)
    try:
        django_setup()
        from promidata_sync.conf import SyncConfig
        from promidata_sync.services.direct import sync_direct

        with serving(feed_spec(1, families, heavy=False)) as import_url:
            config = SyncConfig.from_settings(import_url=import_url)
            phases = ProfiledPhases()
            report = sync_direct(config=config, progress=phases)
        wall = phases.seconds["families"]
        print(
            f"  {families} families (ok={report.ok}), families phase {wall:.2f}s under the "
            f"profiler = {families / wall:.1f} families/s\n"
        )
        print_profile(pstats.Stats(phases.writer), wall, families)
        print_fetch_threads(phases.fetchers)
    finally:
        drop_databases(database_url)
        shutil.rmtree(work, ignore_errors=True)
    return 0


def _where(key) -> str:
    filename, line, function = key
    if filename == "~":
        return function  # a built-in: "<built-in method ...>"
    path = Path(filename)
    for root in (ROOT, *map(Path, sys.path)):
        try:
            path = path.relative_to(root)
            break
        except ValueError:
            continue
    return f"{path}:{line}({function})"


def _is_project(filename: str) -> bool:
    path = Path(filename)
    if ROOT not in path.parents or ".venv" in path.parts:
        return False
    return path.parts[len(ROOT.parts)] in ("promidata_sync", "catalog")


def _cum(entries, suffix: str, *names: str) -> float:
    """Cumulative seconds of the functions ``names`` defined in a file ending in ``suffix``."""
    return sum(v[3] for k, v in entries.items() if k[0].endswith(suffix) and k[2] in names)


def _label(key) -> str:
    """A function's place; a comprehension is named by the line that opens it."""
    where = _where(key)
    if key[2] == "manager_method":
        return f"{where} = Model.objects.bulk_create/filter/... (the ORM)"
    if key[2].startswith("<") and key[0] != "~":
        where += "  " + linecache.getline(key[0], key[1]).strip()[:40]
    return where


def _key(entries, suffix: str, name: str):
    return next((k for k in entries if k[0].endswith(suffix) and k[2] == name), None)


def print_profile(stats: pstats.Stats, wall: float, families: int) -> None:
    entries = stats.stats  # {(file, line, func): (cc, nc, tt, ct, callers)}
    ms = 1e3 / families
    project = sorted(
        ((key, value) for key, value in entries.items() if _is_project(key[0])),
        key=lambda item: -item[1][3],
    )
    print("  writing thread, top 15 project functions by cumulative time (ms per family):")
    print(f"  {'cum ms':>8} {'self ms':>8} {'calls':>7}  function")
    for key, (_, calls, tottime, cumtime, _) in project[:15]:
        print(f"  {cumtime * ms:8.1f} {tottime * ms:8.1f} {calls:7d}  {_label(key)}")
    print_steps(entries, ms)
    print_orm_totals(entries, ms, wall)


# The write path's steps: each of these functions with what it calls directly.
STEPS = (
    ("promidata_sync/services/families.py", "family_write"),
    ("promidata_sync/services/families.py", "_replace_images"),
    ("promidata_sync/services/print_rows.py", "print_data_replace"),
)


def print_steps(entries, ms: float) -> None:
    """Each step's direct callees with the cumulative time spent under it (from the callers
    table of cProfile), so nested functions are not counted twice."""
    for suffix, name in STEPS:
        parent = _key(entries, suffix, name)
        if parent is None:
            continue
        total = entries[parent][3]
        print(f"\n  {name}: {total * ms:.1f} ms per family, of which (direct callees)")
        children = [
            (value[4][parent][3], key) for key, value in entries.items() if parent in value[4]
        ]
        for cumtime, key in sorted(children, reverse=True)[:9]:
            print(f"  {cumtime * ms:8.1f}  {_label(key)}")


def print_orm_totals(entries, ms: float, wall: float) -> None:
    execute = _cum(entries, "psycopg/cursor.py", "execute", "executemany")
    convert = _cum(entries, "psycopg/_cursor_base.py", "_convert_query")
    lines = (
        ("ORM objects built (Model.__init__)", _cum(entries, "django/db/models/base.py",
                                                    "__init__")),
        ("QuerySet.bulk_create, all of it", _cum(entries, "django/db/models/query.py",
                                                 "bulk_create")),
        ("  field values prepared one by one (pre_save_val, prepare_value)",
         _cum(entries, "django/db/models/sql/compiler.py", "pre_save_val", "prepare_value")),
        ("  rows transposed into UNNEST arrays (assemble_as_sql)",
         _cum(entries, "django/db/backends/postgresql/compiler.py", "assemble_as_sql")),
        ("psycopg cursor.execute, all queries", execute),
        ("  client-side binding: params dumped to text, merged into the SQL", convert),
        ("    of which UNNEST arrays dumped element by element",
         _cum(entries, "psycopg/types/array.py", "dump")),
        ("    of which JSON values dumped (json.dumps)",
         _cum(entries, "psycopg/types/json.py", "dump")),
        ("  sending the SQL, PostgreSQL executing it, reading the reply", execute - convert),
        ("COMMIT", _cum(entries, "psycopg/connection.py", "commit")),
        ("QuerySet.delete (Collector)", _cum(entries, "django/db/models/deletion.py", "delete")),
        ("waiting for the next fetched family", _cum(entries, "concurrent/futures/_base.py",
                                                     "wait")),
    )  # fmt: skip
    print(f"\n  writing thread, Django ORM and driver totals (ms per family; phase {wall:.2f}s):")
    for label, seconds in lines:
        print(f"  {seconds * ms:8.1f}  {label}")
    by_package = Counter()
    for (filename, _, function), value in entries.items():
        by_package[_package(filename, function)] += value[2]
    print("\n  writing thread, self time by package (ms per family):")
    for package, tottime in by_package.most_common(8):
        print(f"  {tottime * ms:8.1f}  {package}")


def _package(filename: str, function: str) -> str:
    if filename == "~":
        if "zstd" in function or "compress" in function:
            return "zstd (built-in)"
        if "psycopg" in function or "pq" in function:
            return "psycopg C code (built-in)"
        return "other built-ins (" + function.split(" of ")[0].removeprefix("<") + "…)"
    parts = Path(filename).parts
    for package in ("django", "psycopg", "promidata_sync", "catalog", "json", "zstandard"):
        if package in parts:
            index = parts.index(package)
            return "/".join(parts[index : index + 3 if package == "django" else index + 1])
    return "other Python"


def print_fetch_threads(profilers: list[cProfile.Profile]) -> None:
    if not profilers:
        return
    stats = pstats.Stats(profilers[0])
    for profiler in profilers[1:]:
        stats.add(profiler)
    entries = stats.stats
    parse = sum(v[3] for k, v in entries.items() if k[2] == "parse_family" and _is_project(k[0]))
    compress = sum(v[3] for k, v in entries.items() if k[2] == "compress" and _is_project(k[0]))
    fetch = sum(v[3] for k, v in entries.items() if k[2] == "get" and k[0].endswith("fetching.py"))
    print(
        f"\n  fetch threads ({len(profilers)}), summed: parse_family {parse:.2f}s, zstd "
        f"{compress:.2f}s, HTTP get {fetch:.2f}s (they overlap the writing thread, GIL shared)"
    )


# --------------------------------------------------------------------------- the report


def print_report(spec: dict, ours: dict, files: dict, floor_figures: dict, heavy: dict) -> None:
    families, rows = ours["families"], ours["rows"]
    print(
        f"\nfeed: {spec['suppliers']} suppliers x {spec['families_per_supplier']} families + 1 "
        f"heavy = {families} families; 2 variants, 4 languages, {len(spec['regions'])} price "
        f"regions, {spec['print_positions']} print positions x {spec['print_options']} options x "
        f"{spec['print_costs']} costs per variant, print data inline/referenced alternately, "
        f"rich fields; seed {SEED}"
    )
    print(
        f"family size: mean {files['raw_mean'] / 1024:.0f} KB (min {files['raw_min'] / 1024:.0f}, "
        f"max {files['raw_max'] / 1024:.0f}) over {files['count']}; the heavy family "
        f"{files['heavy_raw'] / 1e6:.2f} MB"
    )
    print(
        f"sync_direct: ok={ours['ok']}, {ours['failed']} families failed; whole run "
        f"{ours['wall']:.1f}s = families phase {ours['families_wall']:.1f}s + images phase "
        f"{ours['images_wall']:.1f}s ({ours['images']:,} images served locally, "
        f"{ours['images_failed']} failed; left out below) + planning/index/runs"
    )
    s = floor_figures["seconds"]
    parse, build_copy = s["parse"], s["build"] + s["compress"] + s["copy"]
    floor_wall, ours_wall = parse + build_copy, ours["families_wall"]
    total_rows = sum(rows.values())

    print(f"\n{'':34}{'parse only':>12}{'COPY floor':>12}{'ours':>12}")
    print(f"{'seconds':34}{parse:12.2f}{floor_wall:12.2f}{ours_wall:12.2f}")
    print(
        f"{'families/s':34}{families / parse:12.1f}{families / floor_wall:12.1f}"
        f"{families / ours_wall:12.1f}"
    )
    print(f"{'rows/s (all tables)':34}{'':12}{total_rows / floor_wall:12,.0f}"
          f"{total_rows / ours_wall:12,.0f}")  # fmt: skip
    print(f"{'x floor':34}{parse / floor_wall:12.2f}{1:12.2f}{ours_wall / floor_wall:12.2f}")
    print(
        f"  floor = parse {parse:.2f}s + build rows & json.dumps {s['build']:.2f}s + zstd "
        f"{s['compress']:.2f}s + COPY & commit {s['copy']:.2f}s (one thread)"
    )
    print(
        f"  ours  = families phase wall {ours_wall:.2f}s; inside it the writing thread spent "
        f"{ours['write_seconds']:.2f}s in family_write, fetch threads {ours['parse_seconds']:.2f}s "
        f"(summed) in family_parse (parse + zstd)"
    )
    print(
        f"  writing alone: family_write {ours['write_seconds']:.2f}s vs the floor's build + zstd "
        f"+ COPY {build_copy:.2f}s = {ours['write_seconds'] / build_copy:.2f}x"
    )

    print(f"\n{'rows written':34}{'rows':>12}{'per family':>12}{'ours rows/s':>14}"
          f"{'floor rows/s':>14}")  # fmt: skip
    for name, _ in TABLES:
        print(
            f"{name:34}{rows[name]:12,}{rows[name] / families:12.1f}"
            f"{rows[name] / ours_wall:14,.0f}{rows[name] / floor_wall:14,.0f}"
        )
    print(f"{'total':34}{total_rows:12,}{total_rows / families:12.1f}"
          f"{total_rows / ours_wall:14,.0f}{total_rows / floor_wall:14,.0f}")  # fmt: skip
    differ = [name for name, _ in TABLES if floor_figures["digests"][name] != ours["digests"][name]]
    if floor_figures["rows"] != rows or differ:
        print(f"  WARNING: the floor's rows differ from ours in: {differ or 'the row counts'}")
    else:
        print(
            "  (checked: the floor database holds the same rows as ours, ids and timestamps aside)"
        )

    q = ours["queries"]
    print(
        f"\nSQL queries: {q.get('families', 0) / families:.1f} per family in the families phase "
        f"({q.get('families', 0):,}); {q.get('images', 0):,} in the images phase, "
        f"{q.get('other', 0):,} elsewhere (index, categories, planning, runs). Per family:"
    )
    cells = [f"{n / families:4.1f} {kind}" for kind, n in ours["statements"].most_common()]
    for start in range(0, len(cells), 2):
        print("  " + "".join(f"{cell:<48}" for cell in cells[start : start + 2]).rstrip())
    raw, stored = files["raw_mean"], files["stored_mean"]
    print(
        f"kept files: mean {raw / 1024:.0f} KB raw -> {stored / 1024:.1f} KB stored (zstd, "
        f"{raw / stored:.1f}x); heavy {files['heavy_raw'] / 1024:.0f} KB -> "
        f"{files['heavy_stored'] / 1024:.0f} KB"
    )
    per_file = files["table_bytes_per_file"]
    print(
        f"  on disk (table, TOAST and indexes): {per_file / 1024:.1f} KB per file; a 40,000-family "
        f"profile of such families: {40_000 * per_file / 1e9:.2f} GB for one version, "
        f"{2 * 40_000 * per_file / 1e9:.2f} GB with the previous one kept"
    )
    h = heavy
    print(
        f"\nheavy family, fresh process: {h['bytes'] / 1e6:.2f} MB, {h['variants']} variants, "
        f"{h['positions']} print positions, {h['options']} options, {h['tiers']:,} tiers; "
        f"parse {h['parse_wall']:.2f}s (+ zstd), write {h['write_wall']:.2f}s"
    )
    before, parse_peak, held, write_peak = (
        h[k] for k in ("before_parse_mb", "parse_peak_mb", "after_parse_mb", "write_peak_mb")
    )
    print(
        f"  RSS: {before:.0f} MB before (interpreter, Django, the file); peak {parse_peak:.0f} MB "
        f"while parsing (+{parse_peak - before:.0f}), {held:.0f} MB holding the record; peak "
        f"{write_peak:.0f} MB while writing (+{write_peak - held:.0f})"
        + ("" if h["peaks_reset"] else " (peaks not reset: each is the peak so far)")
    )


# --------------------------------------------------------------------------- main


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--families", type=int, default=400, help="normal families in all")
    parser.add_argument("--suppliers", type=int, default=2)
    parser.add_argument("--profile-families", type=int, default=50)
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL)
    parser.add_argument("--phase", choices=["serve", "heavy", "profile"], help=argparse.SUPPRESS)
    parser.add_argument("--spec", help=argparse.SUPPRESS)
    parser.add_argument("--heavy-supplier", default="", help=argparse.SUPPRESS)
    parser.add_argument("--heavy-file", help=argparse.SUPPRESS)
    parser.add_argument("--warm-file", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase == "serve":
        return serve_phase(args.spec, args.heavy_supplier)
    if args.phase == "heavy":
        return heavy_phase(args.heavy_file, args.warm_file)
    if args.phase == "profile":
        return profile_phase(args.profile_families, args.database_url)

    main_url, floor_url, profile_url = database_names(args.database_url)
    per_supplier = max(1, args.families // args.suppliers)
    spec = feed_spec(args.suppliers, per_supplier, heavy=True)
    work = prepare_environment(main_url)
    try:
        django_setup()
        clone_database(main_url, floor_url)
        print("1. first import (sync_direct)...", flush=True)
        with serving(spec, heavy_supplier="A100") as import_url:
            ours = first_import(import_url)
        from promidata_sync.conf import SyncConfig

        config = SyncConfig.from_settings(import_url=import_url)
        heavy_sku = f"A100-F{per_supplier + 1:05d}"
        files = kept_files(heavy_sku)
        bodies = kept_bodies()
        print("2. the floor (parse + COPY)...", flush=True)
        floor_figures = floor(floor_url, bodies, config)
        print("3. the heavy family in a fresh process...", flush=True)
        heavy = heavy_family(bodies, heavy_sku)
        del bodies
        print_report(spec, ours, files, floor_figures, heavy)
        print(f"\n4. cProfile of a first import of {args.profile_families} families:", flush=True)
        subprocess.run(
            [sys.executable, __file__, "--phase", "profile",
             "--profile-families", str(args.profile_families), "--database-url", profile_url],
            cwd=ROOT, check=True,
        )  # fmt: skip
    finally:
        drop_databases(main_url, floor_url, profile_url)
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
