#!/usr/bin/env python3
"""Latency of the catalog read API on a big catalog with print data, served on loopback.

    .venv/bin/python scripts/benchmark_api.py [--families 20000] [--suppliers 10]
                                              [--database-url URL] [--keep]
                                              [--conn-max-age SECONDS] [--runserver]

What one run does and prints:

1. **the catalog**, built fast on a fresh, migrated PostgreSQL database (default
   ``bench_api``; the name must start with ``bench``). Eight template families are generated
   (``feedgen``: four languages, nine price regions, two variants, 3-4 print positions of
   three options with two costs each, print data inline and referenced, every rich field;
   110-190 KB of JSON each) and written once by the real write path (``family_write``), their
   images pointing at six shared ``Media`` rows. Their rows are then cloned by ``INSERT ...
   SELECT`` into ``--families`` families over ``--suppliers`` suppliers (A100-F000001, ...;
   each supplier a block of ids, as supplier-by-supplier imports leave them), every table a
   product has rows in: variants, price tiers, declared images and media links, print
   positions and their images, options, option tiers, costs, cost tiers, and one "created"
   change each. Categories are spread over the leaves of the tree; every 20th product is
   inactive; ``updated_at`` is spread over two weeks, scattered over the ids. A family's
   rows are inserted next to each other, as an import writes them. While cloning,
   foreign-key triggers are off (``session_replication_role = replica``: every id is
   computed, so every reference is right by construction) and the tier tables' indexes are
   dropped and built again afterwards; row counts are checked against the templates', and
   one clone is read back and compared with its template. The templates are deleted, then ONE
   family of about 3.5 MB of JSON (``benchmark_first_import``'s heavy family, padded to its
   ``HEAVY_KB``) is written by ``family_write``: "the largest product". Then VACUUM ANALYZE
   (so no autovacuum runs during the measurements). Printed: each step's time and each
   table's rows.
2. **the server**, in a subprocess: Django's runserver classes (a thread per connection,
   HTTP/1.1 keep-alive) with TCP_NODELAY set, DEBUG off, no throttling, the project's
   default ``DATABASE_CONN_MAX_AGE`` (0) unless ``--conn-max-age`` says otherwise.
   ``--runserver`` serves with ``manage.py runserver --noreload`` itself instead, whose
   kept-alive connections stall about 40 ms per response (Nagle's algorithm against the
   client's delayed ACK: see ``serve_phase``). An API key with ``catalog:read`` is made in
   this process.
3. **the requests**, one at a time from one ``requests`` Session (keep-alive), after a
   warm-up: list pages (the whole list walked from the start; 50 pages from 75% of the way
   on; filtered by the first and by the last supplier, by a top category with its
   descendants, ``active=true``, ``q`` a word of the names, ``q`` an exact variant EAN,
   ``updated_since`` the last 5%), the largest product (200, and 304 with If-None-Match), 200
   random typical products, the category tree, pages of the change feed.

How to read the table: times are wall milliseconds on the client, from sending the request
to the last byte of the body (loopback: no network). "resp KB" is the mean body size.
"service p50" is the service behind the endpoint (``product_page``, ``product_find`` +
``product_document``, ``category_tree``, ``changes_after``) called in this process with the
first 20 requests' parameters, on the same database: no HTTP, no authentication, no pydantic,
no JSON. The rest of a request's time is the server, Django, ninja, the key lookup, the
response's validation and serialisation (and, by default, connecting to PostgreSQL). The
breakdown below the table splits the detail view in this process: find, document, pydantic
``to_json``, the ETag (computed first in the view: a 304 costs find and ETag only), their sum,
and in brackets what checking the document against ``schemas.Product`` would add (the view
skips it). Server, client and PostgreSQL share the same cores, so a figure includes some
client CPU and whatever else the machine runs.

Everything is deterministic (fixed seed). The database is dropped at the end unless ``--keep``.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import random
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

from _bench import ROOT, Timer, django_setup, prepare_environment

sys.path.insert(0, str(ROOT))

SEED = 20_250_301
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/bench_api"
TEMPLATES = 8  # template families cloned into the catalog
SHARED_MEDIA = 6  # Media rows every image points to
CHUNK = 1000  # families cloned per INSERT ... SELECT
INDEXES_REBUILT = ("price tiers", "option tiers", "cost tiers")  # dropped while cloning
BASE_URL = "http://127.0.0.1:9/Profiles/Live/bench-api"  # never fetched: rows only
LIST_REQUESTS = 50
HEAVY_REQUESTS = 20
TYPICAL_REQUESTS = 200
SMALL_REQUESTS = 30
SERVICE_CALLS = 20  # per row, the first requests' calls repeated in-process


# --------------------------------------------------------------------------- 1. the catalog


def template_spec():
    from devtools.feedgen import NINE_LOCALE_REGIONS, FeedSpec

    return FeedSpec(
        suppliers=1,
        families_per_supplier=TEMPLATES,
        variants_per_family=2,
        images_per_variant=2,
        seed=SEED,
        regions=NINE_LOCALE_REGIONS,
        print_positions=2,
        print_options=3,
        print_costs=2,
        print_shape="mixed",
        rich=True,
    )


def heavy_feed():
    """The feed of ``benchmark_first_import`` reduced to its one ~3.6 MB family."""
    from benchmark_first_import import feed_spec

    from devtools.feedgen import FeedSpec, SyntheticFeed

    spec = feed_spec(1, 0, heavy=True)  # heavy_every=1: the one family added is heavy
    spec["regions"] = [tuple(region) for region in spec["regions"]]
    feed = SyntheticFeed(FeedSpec(**spec))
    return feed, feed.add_family("A100")


def shared_media() -> list[int]:
    from catalog.models import Media

    rows = []
    for k in range(SHARED_MEDIA):
        sha = hashlib.sha256(f"bench-api-media-{k}".encode()).hexdigest()
        media = Media(
            sha256=sha,
            content_type="image/jpeg",
            extension="jpg",
            size=48_000 + k,
            width=800,
            height=800,
            source_url=f"{BASE_URL}/images/{k}.jpg",
        )
        media.file.name = media.storage_key()
        rows.append(media)
    return [m.pk for m in Media.objects.bulk_create(rows)]


def write_family(supplier, code: str, sku: str, content: bytes, media_ids: list[int], *, keep):
    """Parse and write one family by the real write path, its images already "stored"
    (each URL points at one of the shared Media rows); returns (product id, record)."""
    from promidata_sync.conf import SyncConfig
    from promidata_sync.feed import ImportEntry
    from promidata_sync.models import ImageSource
    from promidata_sync.services.families import family_parse, family_write

    config = SyncConfig.from_settings(import_url=f"{BASE_URL}/Import/Import.txt")
    digest = hashlib.sha1(content).hexdigest().upper()
    entry = ImportEntry(f"{BASE_URL}/{code}/{sku}.json", digest, code, sku, 1)
    download = family_parse(entry, content, config=config)
    record = download.record
    urls = {i.url for v in record.variants for i in v.images} | {
        i.url for v in record.variants for p in v.print_positions for i in p.images
    }

    def pick(url: str) -> int:
        return media_ids[int(hashlib.md5(url.encode()).hexdigest(), 16) % len(media_ids)]

    ImageSource.objects.bulk_create(
        [ImageSource(url=url, media_id=pick(url)) for url in sorted(urls)], ignore_conflicts=True
    )
    result = family_write(
        supplier=supplier, entry=entry, record=record, download=download if keep else None
    )
    return result.product_id, record


# Tables cloned, parents first: (name, model label, parent name, foreign-key column).
CLONED = (
    ("products", "catalog.Product", None, None),
    ("variants", "catalog.Variant", "products", "product_id"),
    ("price tiers", "catalog.PriceTier", "variants", "variant_id"),
    ("variant images", "promidata_sync.VariantImage", "variants", "variant_id"),
    ("variant media", "catalog.VariantMedia", "variants", "variant_id"),
    ("print positions", "catalog.PrintPosition", "variants", "variant_id"),
    ("position images", "catalog.PrintPositionImage", "print positions", "position_id"),
    ("print options", "catalog.PrintOption", "print positions", "position_id"),
    ("option tiers", "catalog.PrintOptionTier", "print options", "option_id"),
    ("print costs", "catalog.PrintCost", "print options", "option_id"),
    ("cost tiers", "catalog.PrintCostTier", "print costs", "cost_id"),
    ("changes", "catalog.CatalogChange", "products", "product_id"),
)


def _model(label: str):
    from django.apps import apps

    return apps.get_model(label)


def _table(label: str) -> str:
    return _model(label)._meta.db_table


def _overrides(name: str) -> dict[str, str]:
    """SQL expressions of the cloned columns that differ from the template's row (``x``:
    the template row, ``f``: the family, ``idx``: the new id)."""
    return {
        "products": {
            "supplier_id": "f.supplier_id",
            "sku": "f.sku",
            "supplier_sku": "substr(f.sku, length(f.code) + 2)",
            "promidata_hash": "upper(md5(f.sku))",
            "source_url": "replace(x.source_url, f.tpl_sku, f.sku)",
            "category_id": "f.category_id",
            "default_products": "replace(x.default_products::text, f.tpl_sku, f.sku)::jsonb",
            "is_active": "f.is_active",
            "last_seen_at": "f.updated_at",
            "created_at": "f.created_at",
            "updated_at": "f.updated_at",
        },
        "variants": {
            "sku": "replace(x.sku, f.tpl_sku, f.sku)",
            "supplier_sku": "replace(x.supplier_sku, f.tpl_sku, f.sku)",
            "ean": "'2' || lpad((idx)::text, 12, '0')",
            "created_at": "f.created_at",
            "updated_at": "f.updated_at",
        },
        "print options": {"sku": "replace(x.sku, f.tpl_sku, f.sku)"},
        "print costs": {"sku": "replace(x.sku, f.tpl_sku, f.sku)"},
        "changes": {"seq": "%(seq_base)s + f.i", "at": "f.created_at", "run_id": "NULL"},
    }.get(name, {})


class Cloner:
    """Clones the template families' rows into ``families`` families, by SQL alone.

    Template ``t`` is family ``i`` for every ``i % T == t``. A cloned row's id is
    ``base + i * K + r``: ``base`` above every id of the table, ``K`` the most rows one
    template has in it, ``r`` the row's rank within its template (in id order); its parent's
    id follows from the same formula, so no id has to be looked up. Rows go in in id order,
    a family's rows next to each other, as an import writes them."""

    def __init__(self, conn, templates: list[tuple[int, str]], families: int):
        self.conn, self.templates, self.families = conn, templates, families
        self.base: dict[str, int] = {}
        self.width: dict[str, int] = {}
        self.seconds: dict[str, float] = {}
        self.expected: dict[str, int] = {}

    def prepare(self, suppliers: list[tuple[int, str]], category_ids: list[int], now) -> None:
        per = -(-self.families // len(suppliers))
        c = self.conn
        c.execute("CREATE TEMP TABLE tpl (t int PRIMARY KEY, product_id bigint, sku text)")
        with c.cursor().copy("COPY tpl FROM STDIN") as copy:
            for t, (product_id, sku) in enumerate(self.templates):
                copy.write_row((t, product_id, sku))
        c.execute(
            """
            CREATE TEMP TABLE fam AS
            SELECT g.i, g.i %% %(t)s AS t, tpl.sku AS tpl_sku,
                   (%(sup_ids)s::bigint[])[g.i / %(per)s + 1] AS supplier_id,
                   (%(codes)s::text[])[g.i / %(per)s + 1] AS code,
                   (%(codes)s::text[])[g.i / %(per)s + 1] || '-F'
                       || lpad((g.i %% %(per)s + 1)::text, 6, '0') AS sku,
                   (%(cats)s::bigint[])[g.i %% %(ncat)s + 1] AS category_id,
                   g.i %% 20 <> 7 AS is_active,
                   %(now)s::timestamptz - interval '60 days' + g.i * interval '1 second'
                       AS created_at,
                   %(now)s::timestamptz - ((g.i::bigint * 7919) %% %(n)s)
                       * (interval '14 days' / %(n)s) AS updated_at
            FROM generate_series(0, %(n)s - 1) AS g(i) JOIN tpl ON tpl.t = g.i %% %(t)s
            """,
            {
                "t": len(self.templates),
                "per": per,
                "sup_ids": [pk for pk, _ in suppliers],
                "codes": [code for _, code in suppliers],
                "cats": category_ids,
                "ncat": len(category_ids),
                "now": now,
                "n": self.families,
            },
        )
        c.execute("CREATE INDEX ON fam (i)")
        c.execute("ANALYZE fam")
        per_template = {}
        for name, label, parent, fk in CLONED:
            table = _table(label)
            if parent is None:
                c.execute(
                    f"CREATE TEMP TABLE map_{_slug(name)} AS "
                    "SELECT product_id AS old_id, t, 0 AS r, 0 AS pr FROM tpl"
                )
            else:
                c.execute(
                    f"""
                    CREATE TEMP TABLE map_{_slug(name)} AS
                    SELECT x.id AS old_id, p.t,
                           (row_number() OVER (PARTITION BY p.t ORDER BY x.id) - 1)::int AS r,
                           p.r AS pr
                    FROM "{table}" x JOIN map_{_slug(parent)} p ON p.old_id = x."{fk}"
                    """
                )
            c.execute(f"ANALYZE map_{_slug(name)}")
            c.execute(
                f"CREATE TEMP TABLE src_{_slug(name)} AS SELECT m.t AS _t, m.r AS _r, "
                f'm.pr AS _pr, x.* FROM map_{_slug(name)} m JOIN "{table}" x ON x.id = m.old_id'
            )
            c.execute(f"CREATE INDEX ON src_{_slug(name)} (_t, _r)")
            c.execute(f"ANALYZE src_{_slug(name)}")
            width, base = c.execute(
                f"SELECT (SELECT coalesce(max(r) + 1, 0) FROM map_{_slug(name)}), "
                f'(SELECT coalesce(max(id), 0) + 1 FROM "{table}")'
            ).fetchone()
            self.width[name], self.base[name] = width, base
            per_template[name] = dict(
                c.execute(f"SELECT t, count(*) FROM map_{_slug(name)} GROUP BY t").fetchall()
            )
        (self.seq_base,) = c.execute(
            "SELECT coalesce(max(seq), 0) + 1 FROM catalog_catalogchange"
        ).fetchone()
        for name, counts in per_template.items():
            self.expected[name] = sum(
                counts.get(i % len(self.templates), 0) for i in range(self.families)
            )

    def statement(self, name: str, label: str, parent: str | None, fk: str | None) -> str:
        model = _model(label)
        overrides = _overrides(name)
        idx = f"{self.base[name]} + f.i::bigint * {self.width[name]} + x._r"
        columns, values = [], []
        for field in model._meta.concrete_fields:
            column = field.column
            columns.append(f'"{column}"')
            if field.primary_key:
                values.append(idx)
            elif column == fk:
                values.append(f"{self.base[parent]} + f.i::bigint * {self.width[parent]} + x._pr")
            elif column in overrides:
                values.append(overrides[column].replace("idx", idx) % {"seq_base": self.seq_base})
            else:
                values.append(f'x."{column}"')
        return (
            f'INSERT INTO "{model._meta.db_table}" ({", ".join(columns)}) '
            f"SELECT {', '.join(values)} FROM fam f CROSS JOIN LATERAL "
            f"(SELECT * FROM src_{_slug(name)} s WHERE s._t = f.t ORDER BY s._r) x "
            "WHERE f.i >= %s AND f.i < %s ORDER BY f.i"
        )

    def run(self) -> None:
        statements = {name: self.statement(name, *rest) for name, *rest in CLONED}
        for start in range(0, self.families, CHUNK):
            for name, _label, _parent, _fk in CLONED:
                started = time.perf_counter()
                self.conn.execute(statements[name], (start, start + CHUNK))
                self.seconds[name] = self.seconds.get(name, 0) + time.perf_counter() - started
            self.conn.commit()
            done = min(start + CHUNK, self.families)
            print(f"   cloned {done:,} of {self.families:,} families", end="\r", flush=True)
        print(" " * 60, end="\r")

    def drop_indexes(self) -> None:
        """Drop the indexes (primary key and unique constraints included) of the tier
        tables, which hold nine rows in ten: building them afterwards, by sorting, is several
        times faster than keeping them up to date row by row. No foreign key points at them."""
        self.dropped: list[tuple[str, str, str, bool]] = []
        for name, label, *_ in CLONED:
            if name not in INDEXES_REBUILT:
                continue
            table = _table(label)
            rows = self.conn.execute(
                """
                SELECT i.relname, c.conname, coalesce(pg_get_constraintdef(c.oid),
                                                      pg_get_indexdef(i.oid))
                FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
                LEFT JOIN pg_constraint c ON c.conindid = x.indexrelid AND c.conrelid = x.indrelid
                WHERE x.indrelid = %s::regclass ORDER BY x.indisprimary DESC, i.relname
                """,
                (table,),
            ).fetchall()
            for index, constraint, definition in rows:
                if constraint:
                    self.conn.execute(f'ALTER TABLE "{table}" DROP CONSTRAINT "{constraint}"')
                else:
                    self.conn.execute(f'DROP INDEX "{index}"')
                self.dropped.append((table, constraint or index, definition, bool(constraint)))
        self.conn.commit()

    def restore_indexes(self) -> float:
        """Build the dropped indexes again, exactly as they were; return the seconds."""
        started = time.perf_counter()
        for table, name, definition, is_constraint in self.dropped:
            if is_constraint:
                self.conn.execute(f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {definition}')
            else:
                self.conn.execute(definition)
            self.conn.commit()
        return time.perf_counter() - started

    def finish(self) -> None:
        """Identity sequences past the new ids; the change counter past the new cursors."""
        c = self.conn
        for _name, label, _parent, _fk in CLONED:
            table = _table(label)
            c.execute(
                f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
                f'(SELECT max(id) FROM "{table}"))'
            )
        c.execute(
            "INSERT INTO catalog_changecounter (id, value) "
            "VALUES (1, (SELECT max(seq) FROM catalog_catalogchange)) "
            "ON CONFLICT (id) DO UPDATE SET value = EXCLUDED.value"
        )
        c.commit()


def _slug(name: str) -> str:
    return name.replace(" ", "_")


def leaf_categories() -> list[int]:
    from catalog.models import Category

    parents = set(Category.objects.exclude(parent=None).values_list("parent_id", flat=True))
    return [pk for pk in Category.objects.order_by("id").values_list("id", flat=True)
            if pk not in parents]  # fmt: skip


def build_catalog(args, database_url: str) -> dict:
    import psycopg
    from django.db import connection
    from django.utils import timezone

    from catalog.models import Product, Supplier
    from devtools.feedgen import SyntheticFeed, render_categories_csv
    from promidata_sync.feed import parse_categories
    from promidata_sync.models import FamilyFile, ImageSource
    from promidata_sync.services.feed_index import categories_upsert, suppliers_ensure

    figures: dict = {"seconds": {}}
    now = timezone.now()
    parsed = parse_categories(render_categories_csv())
    categories_upsert([(c.key, c.parent_key, c.names, c.icon, c.image) for c in parsed.categories])
    codes = [f"A{100 + k}" for k in range(args.suppliers)]
    suppliers = suppliers_ensure(codes)
    media_ids = shared_media()

    with Timer() as t:  # the templates, by the write path, under a supplier of their own
        feed = SyntheticFeed(template_spec())
        holder = Supplier.objects.create(code="ZTEMPLATES")
        templates = []
        for sku in feed.family_skus("A100"):
            content = feed.family_json("A100", sku, BASE_URL)
            product_id, _ = write_family(holder, "A100", sku, content, media_ids, keep=False)
            templates.append((product_id, sku))
    figures["seconds"]["templates"] = t.wall
    figures["template_kb"] = [
        len(feed.family_json("A100", sku, BASE_URL)) / 1024 for _, sku in templates
    ]

    with Timer() as t, psycopg.connect(database_url) as conn:
        conn.execute("SET synchronous_commit = off")
        try:
            conn.execute("SET session_replication_role = replica")  # no FK triggers
            figures["fk_triggers"] = "off"
        except psycopg.errors.InsufficientPrivilege:
            conn.rollback()
            figures["fk_triggers"] = "on (not a superuser)"
        cloner = Cloner(conn, templates, args.families)
        conn.execute("SET work_mem = '256MB'")  # sorts and hashes of a chunk in memory
        conn.execute("SET maintenance_work_mem = '1GB'")  # index builds
        cloner.prepare([(suppliers[code].pk, code) for code in codes], leaf_categories(), now)
        conn.commit()
        cloner.drop_indexes()
        cloner.run()
        figures["index_seconds"] = cloner.restore_indexes()
        cloner.finish()
        counts = {}
        for name, label, _parent, _fk in CLONED:
            (counts[name],) = conn.execute(
                f'SELECT count(*) FROM "{_table(label)}" WHERE id >= %s', (cloner.base[name],)
            ).fetchone()
        wrong = {
            n: (counts[n], cloner.expected[n]) for n in counts if counts[n] != cloner.expected[n]
        }
        if wrong:
            raise RuntimeError(f"cloned row counts differ from the templates': {wrong}")
    figures["seconds"]["clone"] = t.wall
    figures["clone_seconds"] = cloner.seconds
    figures["check_sku"] = check_clone(templates[0], f"{codes[0]}-F000001")

    with Timer() as t:  # the templates go; the largest product comes, by the write path
        Product.objects.filter(supplier=holder).delete()
        FamilyFile.objects.filter(supplier=holder).delete()
        holder.delete()
        feed, heavy_sku = heavy_feed()
        content = feed.family_json("A100", heavy_sku, BASE_URL)
        figures["heavy_bytes"] = len(content)
        with Timer() as w:
            heavy_id, _ = write_family(
                suppliers["A100"], "A100", heavy_sku, content, media_ids, keep=True
            )
        figures["heavy_write"] = w.wall
    figures["seconds"]["heavy"] = t.wall
    figures["heavy_sku"], figures["heavy_id"] = heavy_sku, heavy_id

    with Timer() as t:
        connection.close()
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute("VACUUM (ANALYZE)")
    figures["seconds"]["vacuum"] = t.wall

    with connection.cursor() as cursor:
        figures["rows"] = {}
        for name, label, _parent, _fk in CLONED:
            cursor.execute(f'SELECT count(*) FROM "{_table(label)}"')
            figures["rows"][name] = cursor.fetchone()[0]
        cursor.execute("SELECT pg_database_size(current_database())")
        figures["db_bytes"] = cursor.fetchone()[0]
    figures["image_sources"] = ImageSource.objects.count()
    return figures


def check_clone(template: tuple[int, str], clone_sku: str) -> str:
    """The first clone of template 0 reads back as the template does, SKUs aside."""
    from catalog.models import Product
    from promidata_sync.services.product_detail import product_document, product_find

    template_id, template_sku = template
    clone = product_find(clone_sku)
    a = product_document(Product.objects.get(id=template_id), str)
    b = product_document(clone, str)
    for key in ("sku", "supplier", "supplier_sku", "category", "created_at", "updated_at",
                "is_active", "supplier_name"):  # fmt: skip
        a.pop(key), b.pop(key)
    text_a = json.dumps(a, sort_keys=True, default=str).replace(template_sku, "@")
    text_b = json.dumps(b, sort_keys=True, default=str).replace(clone.sku, "@")
    text_a = _without_eans(text_a)
    text_b = _without_eans(text_b)
    if text_a != text_b:
        folder = Path(tempfile.mkdtemp(prefix="bench-api-check-"))
        (folder / "template.json").write_text(text_a)
        (folder / "clone.json").write_text(text_b)
        raise RuntimeError(f"the clone {clone.sku} does not read back as its template: {folder}")
    return clone.sku


def _without_eans(text: str) -> str:
    import re

    return re.sub(r'"ean": "\d+"', '"ean": ""', text)


# --------------------------------------------------------------------------- 2. the server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve_phase(port: int) -> int:
    """Child process: serve the project's WSGI application on loopback until terminated.

    Django's own runserver classes (``ThreadedWSGIServer``, ``WSGIRequestHandler``: a thread
    per connection, HTTP/1.1 keep-alive) with one change: TCP_NODELAY on every connection.
    runserver writes the headers and the body of a response in separate sends; on a kept-alive
    connection Nagle's algorithm then holds the body back until the client's delayed ACK of
    the headers, about 40 ms later, on every request (``--runserver`` shows it)."""
    import django

    django.setup()
    from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler

    from config.wsgi import application  # refuses to serve with DEBUG off and no real key

    class Server(ThreadedWSGIServer):
        def get_request(self):
            sock, address = super().get_request()
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return sock, address

    server = Server(("127.0.0.1", port), WSGIRequestHandler, ipv6=False)
    server.set_app(application)
    server.serve_forever()
    return 0


def start_server(work: Path, conn_max_age: int | None, runserver: bool):
    port = free_port()
    env = dict(os.environ)
    env.update(
        {
            "DJANGO_DEBUG": "0",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
            "PROMIDATA_API_REQUESTS_PER_MINUTE": "0",
            "PYTHONUNBUFFERED": "1",
        }
    )
    if conn_max_age is not None:
        env["DATABASE_CONN_MAX_AGE"] = str(conn_max_age)
    log = open(work / "server.log", "wb")  # noqa: SIM115 (closed with the process)
    if runserver:
        command = [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"]
    else:
        command = [sys.executable, __file__, "--phase", "serve", "--port", str(port)]
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    import requests

    deadline = time.monotonic() + 60
    while True:
        try:
            if requests.get(f"{base}/api/schema/", timeout=5).status_code == 200:
                break
        except requests.ConnectionError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(
                "the server did not start:\n" + (work / "server.log").read_text()[-3000:]
            )
        time.sleep(0.2)
    return process, base, log


# --------------------------------------------------------------------------- 3. the requests


class Series:
    """One row of the table: a label, and for each request its URL, status, ms and bytes."""

    def __init__(self, label: str, kind: str):
        self.label, self.kind = label, kind
        self.urls: list[str] = []
        self.ms: list[float] = []
        self.sizes: list[int] = []
        self.statuses: set[int] = set()
        self.service_ms: list[float] = []


def timed_get(session, url: str, **headers):
    started = time.perf_counter()
    response = session.get(url, headers=headers, timeout=120)
    body = response.content
    return response, body, (time.perf_counter() - started) * 1e3


def walk(session, series: Series, first_url: str, count: int, *, key: str = "next") -> set:
    """``count`` requests following each page's next link from ``first_url``, starting over
    at the end; returns the SKUs of the first pass."""
    url, first_pass, passes = first_url, set(), 0
    for _ in range(count):
        response, body, ms = timed_get(session, url)
        series.urls.append(url)
        series.ms.append(ms)
        series.sizes.append(len(body))
        series.statuses.add(response.status_code)
        data = json.loads(body)
        if passes == 0:
            first_pass.update(row.get("sku") for row in data["results"])
        if key == "next_url":
            url = data["next_url"] if data["has_more"] else None
        else:
            url = data["next"]
        if url is None:
            url, passes = first_url, passes + 1
    return first_pass


def repeat(session, series: Series, urls: list[str], **headers) -> None:
    for url in urls:
        response, body, ms = timed_get(session, url, **headers)
        series.urls.append(url)
        series.ms.append(ms)
        series.sizes.append(len(body))
        series.statuses.add(response.status_code)


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"id:{last_id}".encode()).decode().rstrip("=")


def service_call(series: Series, url: str) -> None:
    """The service behind ``url``, called here; its ms appended to ``series.service_ms``."""
    from promidata_sync.http.catalog import _decode_cursor, _iso_time
    from promidata_sync.services.changes import changes_after
    from promidata_sync.services.product_detail import product_document, product_find
    from promidata_sync.services.product_list import ProductFilters, category_tree, product_page

    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    started = time.perf_counter()
    if series.kind == "list":
        active = query.get("active")
        filters = ProductFilters(
            supplier=query.get("supplier"),
            category=query.get("category"),
            active=None if active is None else active == "true",
            updated_since=_iso_time(query.get("updated_since")),
            q=query.get("q"),
        )
        product_page(filters, after=_decode_cursor(query.get("cursor")),
                     limit=int(query.get("limit", 100)))  # fmt: skip
    elif series.kind == "detail":
        sku = parts.path.rstrip("/").rsplit("/", 1)[1]
        product_document(product_find(sku), str)
    elif series.kind == "categories":
        category_tree()
    elif series.kind == "changes":
        limit = int(query.get("limit", 500))
        for change in changes_after(int(query.get("since", 0)), limit=limit + 1)[:limit]:
            _ = (change.product.sku, change.product.supplier.code, change.product.is_active)
    series.service_ms.append((time.perf_counter() - started) * 1e3)


def measure(base: str, key: str, figures: dict, families: int) -> tuple[list[Series], dict]:
    import requests
    from django.db import connection

    from catalog.models import Category, Product, Variant

    api = f"{base}/api/catalog"
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {key}"
    rng = random.Random(SEED)
    heavy_url = f"{api}/products/{figures['heavy_sku']}/"

    ids = list(Product.objects.order_by("id").values_list("id", flat=True))
    deep_cursor = encode_cursor(ids[int(len(ids) * 0.75)])
    last = Product.objects.exclude(id=figures["heavy_id"]).order_by("-id").first()
    last_code = last.supplier.code
    top = top_category()
    word = Product.objects.order_by("id").first().names["en"].split()[0]
    variant_ids = list(Variant.objects.values_list("id", flat=True))
    eans = list(
        Variant.objects.filter(id__in=rng.sample(variant_ids, LIST_REQUESTS))
        .order_by("id")
        .values_list("ean", flat=True)
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT percentile_disc(0.95) WITHIN GROUP (ORDER BY updated_at) FROM catalog_product"
        )
        since = cursor.fetchone()[0].isoformat().replace("+00:00", "Z")
    typical = rng.sample([i for i in ids if i != figures["heavy_id"]], TYPICAL_REQUESTS)
    typical_skus = dict(Product.objects.filter(id__in=typical).values_list("id", "sku"))
    del ids

    # Warm-up: every kind of request once or twice (connections, lazy imports, caches).
    for url in (f"{api}/products/?limit=100", f"{api}/products/?limit=100&q={word}", heavy_url,
                f"{api}/products/{typical_skus[typical[0]]}/", f"{api}/categories/",
                f"{api}/changes/?since=0&limit=500") * 2:  # fmt: skip
        response = session.get(url, timeout=120)
        if response.status_code != 200:
            raise RuntimeError(f"warm-up {url}: {response.status_code} {response.text[:300]}")

    out: list[Series] = []

    def series(label: str, kind: str) -> Series:
        out.append(Series(label, kind))
        return out[-1]

    pages = max(LIST_REQUESTS, families // 100 + 1)
    seen = walk(session, series("list: whole list from the start", "list"),
                f"{api}/products/?limit=100", pages)  # fmt: skip
    walk(session, series("list: from 75% of the list", "list"),
         f"{api}/products/?limit=100&cursor={deep_cursor}", LIST_REQUESTS)  # fmt: skip
    walk(session, series("list: supplier=A100 (first)", "list"),
         f"{api}/products/?limit=100&supplier=A100", LIST_REQUESTS)  # fmt: skip
    walk(session, series(f"list: supplier={last_code} (last)", "list"),
         f"{api}/products/?limit=100&supplier={last_code}", LIST_REQUESTS)  # fmt: skip
    walk(session, series(f"list: category={top}", "list"),
         f"{api}/products/?limit=100&category={top}", LIST_REQUESTS)  # fmt: skip
    walk(session, series("list: active=true", "list"),
         f"{api}/products/?limit=100&active=true", LIST_REQUESTS)  # fmt: skip
    walk(session, series(f"list: q={word}", "list"),
         f"{api}/products/?limit=100&q={word}", LIST_REQUESTS)  # fmt: skip
    repeat(session, series("list: q=<a variant's EAN>", "list"),
           [f"{api}/products/?limit=100&q={ean}" for ean in eans])  # fmt: skip
    walk(session, series("list: updated_since (last 5%)", "list"),
         f"{api}/products/?limit=100&updated_since={since}", LIST_REQUESTS)  # fmt: skip
    repeat(session, series("detail: the largest product", "detail"), [heavy_url] * HEAVY_REQUESTS)
    etag = session.get(heavy_url, timeout=120).headers["ETag"]
    repeat(session, series("detail: the largest, If-None-Match", "detail"),
           [heavy_url] * HEAVY_REQUESTS, **{"If-None-Match": etag})  # fmt: skip
    repeat(session, series("detail: typical, random SKUs", "detail"),
           [f"{api}/products/{typical_skus[i]}/" for i in typical])  # fmt: skip
    repeat(session, series("categories", "categories"), [f"{api}/categories/"] * SMALL_REQUESTS)
    walk(session, series("changes: since=N&limit=500", "changes"),
         f"{api}/changes/?since=0&limit=500", SMALL_REQUESTS, key="next_url")  # fmt: skip

    for s in out:  # the floor: the same calls in this process, after the HTTP ones
        for url in s.urls[:SERVICE_CALLS]:
            service_call(s, url)
    heavy = session.get(heavy_url, timeout=120).json()
    extra = {
        "walk_seen": len(seen),
        "products": Product.objects.count(),
        "top": top,
        "top_categories": Category.objects.filter(key__startswith=f"{top}/").count() + 1,
        "heavy": heavy,
        "breakdown": breakdown(figures["heavy_sku"], typical_skus[typical[0]]),
        "requests": sum(len(x.ms) for x in out),
        "connections": connections_opened(session, base),
    }
    return out, extra


def top_category() -> str:
    """The top-level category with the most products in it and below it."""
    from promidata_sync.services.product_list import category_tree

    tops = [c for c in category_tree() if c["parent"] is None]
    return max(tops, key=lambda c: (c["total_product_count"], c["key"]))["key"]


def connections_opened(session, base: str) -> int:
    """TCP connections the session opened to the server (1 when keep-alive always held)."""
    pools = session.get_adapter(base).poolmanager.pools
    return sum(pools[key].num_connections for key in pools.keys())  # noqa: SIM118


def breakdown(heavy_sku: str, typical_sku: str) -> dict:
    """ms of each step of the detail view, in this process: the service, pydantic's
    validation and dump, the ETag (``product_etag``, two queries; median of 3)."""
    from pydantic_core import to_json

    from promidata_sync.http import schemas
    from promidata_sync.services.product_detail import (
        product_document,
        product_etag,
        product_find,
    )

    out = {}
    for label, sku in (("largest", heavy_sku), ("typical", typical_sku)):
        steps: dict[str, list[float]] = {"find": [], "document": [], "validate": [], "dump": [],
                                         "etag": []}  # fmt: skip
        for _ in range(3):
            t0 = time.perf_counter()
            product = product_find(sku)
            t1 = time.perf_counter()
            doc = product_document(product, str)
            t2 = time.perf_counter()
            schemas.Product.model_validate(doc)  # what the view no longer does, for scale
            t3 = time.perf_counter()
            body = to_json(doc)  # what the view does
            t4 = time.perf_counter()
            assert body
            product_etag(product)
            t5 = time.perf_counter()
            for key, seconds in zip(steps, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4),
                                    strict=True):  # fmt: skip
                steps[key].append(seconds * 1e3)
        out[label] = {key: statistics.median(values) for key, values in steps.items()}
    return out


# --------------------------------------------------------------------------- the report


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def print_build(args, figures: dict) -> None:
    s = figures["seconds"]
    kb = figures["template_kb"]
    print(
        f"\ncatalog: {args.families:,} families over {args.suppliers} suppliers, cloned from "
        f"{TEMPLATES} generated families ({min(kb):.0f}-{max(kb):.0f} KB of JSON each: 4 "
        f"languages, 9 price regions, 2 variants, 3-4 print positions x 3 options x 2 costs, "
        f"rich fields; seed {SEED}), + the largest product, {figures['heavy_bytes'] / 1e6:.2f} "
        f"MB of JSON"
    )
    total = sum(s.values())
    print(
        f"build {total:.1f}s: templates by family_write {s['templates']:.1f}s, clone by INSERT "
        f"... SELECT {s['clone']:.1f}s (FK triggers {figures['fk_triggers']}; of which rebuilding "
        f"the tier tables' indexes {figures['index_seconds']:.1f}s), the largest "
        f"product by family_write {figures['heavy_write']:.1f}s (+ deleting the templates and "
        f"generating it "
        f"{s['heavy'] - figures['heavy_write']:.1f}s), VACUUM ANALYZE {s['vacuum']:.1f}s; "
        f"database {figures['db_bytes'] / 1e9:.2f} GB"
    )
    print(f"checked: cloned row counts as expected; {figures['check_sku']} reads back as its "
          "template (SKUs and EANs aside)")  # fmt: skip
    rows, seconds = figures["rows"], figures["clone_seconds"]
    print(f"\n  {'table':18}{'rows':>13}{'per family':>12}{'clone s':>10}{'rows/s':>12}")
    for name, *_ in CLONED:
        per = rows[name] / (args.families + 1)
        rate = rows[name] / seconds[name] if seconds.get(name) else 0
        print(f"  {name:18}{rows[name]:13,}{per:12.1f}{seconds.get(name, 0):10.1f}{rate:12,.0f}")
    total_rows = sum(rows.values())
    clone_s = sum(seconds.values())
    print(f"  {'total':18}{total_rows:13,}{total_rows / (args.families + 1):12.1f}"
          f"{clone_s:10.1f}{total_rows / clone_s:12,.0f}")  # fmt: skip
    print(f"  (and {figures['image_sources']:,} image sources, {SHARED_MEDIA} shared media)")


def print_results(out: list[Series], extra: dict, args) -> None:
    server = (
        "manage.py runserver --noreload"
        if args.runserver
        else "runserver's ThreadedWSGIServer + TCP_NODELAY"
    )
    age = args.conn_max_age
    print(
        f"\nserver: {server}, DEBUG off, no throttling, DATABASE_CONN_MAX_AGE="
        f"{age if age is not None else '0 (the default: a new database connection per request)'}"
        f"; client: one requests.Session, sequential, {extra['requests']:,} requests over "
        f"{extra['connections']} connection(s)"
    )
    print(f"\n{'endpoint':40}{'req':>5}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}{'resp KB':>10}"
          f"{'service p50':>13}{'status':>8}")  # fmt: skip
    for s in out:
        print(
            f"{s.label:40}{len(s.ms):5}{statistics.median(s.ms):9.1f}{_p(s.ms, 0.95):9.1f}"
            f"{max(s.ms):9.1f}{statistics.mean(s.sizes) / 1024:10.1f}"
            f"{statistics.median(s.service_ms):13.1f}"
            f"{','.join(map(str, sorted(s.statuses))):>8}"
        )
    print(
        f"  the walk from the start saw {extra['walk_seen']:,} distinct products of "
        f"{extra['products']:,}; category={extra['top']} spans {extra['top_categories']} "
        "categories"
    )
    h = extra["heavy"]
    variants = h["variants"]
    positions = [p for v in variants for p in v["print_positions"]]
    options = [o for p in positions for o in p["options"]]
    costs = [c for o in options for c in o["costs"]]
    price_tiers = sum(len(v["prices"]) for v in variants)
    option_tiers = sum(len(o["prices"]) for o in options)
    cost_tiers = sum(len(c["prices"]) for c in costs)
    size = next(s for s in out if s.label == "detail: the largest product").sizes[0]
    print(
        f"\nthe largest product {h['sku']}: response {size / 1e6:.2f} MB; {len(variants)} "
        f"variants, {len(positions)} print positions, {len(options)} options, {len(costs)} "
        f"costs, {price_tiers + option_tiers + cost_tiers:,} tiers ({price_tiers:,} price, "
        f"{option_tiers:,} option, {cost_tiers:,} cost), "
        f"{sum(len(v['images']) for v in variants)} variant images"
    )
    print("detail view, step by step in this process (median of 3, ms):")
    print(f"  {'':10}{'find':>8}{'document':>10}{'to_json':>9}{'etag':>8}{'view':>8}"
          f"   (validating, skipped by the view)")  # fmt: skip
    for label, steps in extra["breakdown"].items():
        view = ("find", "document", "dump", "etag")
        cells = "".join(f"{steps[k]:>{w}.1f}" for k, w in zip(view, (8, 10, 9, 8), strict=True))
        print(f"  {label:10}{cells}{sum(steps[k] for k in view):8.1f}   ({steps['validate']:.1f})")


# --------------------------------------------------------------------------- main


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--families", type=int, default=20_000)
    parser.add_argument("--suppliers", type=int, default=10)
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL)
    parser.add_argument("--conn-max-age", type=int, help="DATABASE_CONN_MAX_AGE of the server")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument(
        "--runserver", action="store_true", help="serve with manage.py runserver as it is"
    )
    parser.add_argument("--phase", choices=["serve"], help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase == "serve":
        return serve_phase(args.port)
    name = args.database_url.rsplit("/", 1)[1]
    if not args.database_url.startswith("postgres") or not name.startswith("bench"):
        raise SystemExit("--database-url must be PostgreSQL and its name must start with bench")
    if args.families < TEMPLATES or args.suppliers < 1:
        raise SystemExit(f"--families must be at least {TEMPLATES}, --suppliers at least 1")

    started = time.perf_counter()
    work = prepare_environment(args.database_url)
    process = log = None
    try:
        django_setup()
        print("1. building the catalog...", flush=True)
        figures = build_catalog(args, args.database_url)
        print_build(args, figures)
        from promidata_sync.services.api_keys import create_key

        _, key = create_key("benchmark_api", ["catalog:read"])
        print("\n2. serving it and 3. measuring...", flush=True)
        process, base, log = start_server(work, args.conn_max_age, args.runserver)
        out, extra = measure(base, key, figures, args.families)
        print_results(out, extra, args)
    finally:
        if process is not None:
            process.terminate()
            process.wait(timeout=30)
            log.close()
        if args.keep:
            print(f"\nkept the database {args.database_url}")
        else:
            from benchmark_first_import import drop_databases

            drop_databases(args.database_url)
        shutil.rmtree(work, ignore_errors=True)
    print(f"\nwhole run {time.perf_counter() - started:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
