"""Look at, or poison, the database a hostile-input sync ran against (run as a subprocess).

    python tests/hostile/dbtool.py install-trigger   # an error no code path foresees
    python tests/hostile/dbtool.py inspect           # the state as JSON, admin pages rendered

It is started with the same environment as the ``promidata_sync`` command it checks
(``DATABASE_URL`` is PostgreSQL or SQLite), so both backends are read the same way. ``inspect``
prints one JSON object: products, variants, categories, runs, items, stored messages, and the
admin pages it rendered (status and whether they contain the profile GUID).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.urls import reverse  # noqa: E402

from catalog.models import Category, Media, PriceTier, Product, Supplier, Variant  # noqa: E402
from promidata_sync.models import ImageSource, Job, SyncItem, SyncRun  # noqa: E402
from tests.hostile.cases import POISON_BRAND  # noqa: E402

_PG_TRIGGER = f"""
CREATE OR REPLACE FUNCTION hostile_poison() RETURNS trigger AS $$
BEGIN
  IF NEW.brand = '{POISON_BRAND}' THEN RAISE EXCEPTION 'poisoned row refused by a trigger'; END IF;
  RETURN NEW;
END $$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS hostile_poison ON catalog_product;
CREATE TRIGGER hostile_poison BEFORE INSERT OR UPDATE ON catalog_product
  FOR EACH ROW EXECUTE FUNCTION hostile_poison();
"""
_SQLITE_TRIGGERS = [
    f"""CREATE TRIGGER IF NOT EXISTS hostile_poison_{event.lower()}
        BEFORE {event} ON catalog_product WHEN NEW.brand = '{POISON_BRAND}'
        BEGIN SELECT RAISE(ABORT, 'poisoned row refused by a trigger'); END;"""
    for event in ("INSERT", "UPDATE")
]


def install_trigger() -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(_PG_TRIGGER)
        else:
            for statement in _SQLITE_TRIGGERS:
                cursor.execute(statement)


def _pages() -> list[tuple[str, int]]:
    """(page, the status it must answer): every admin list page, the first object's page of
    each, the run pages, the dashboard, the JSON API of every run, and hostile queries."""
    from django.contrib import admin

    pages = [(reverse("admin:index"), 200), ("/admin/promidata_sync/dashboard/", 200)]
    for model in admin.site._registry:
        name = f"admin:{model._meta.app_label}_{model._meta.model_name}"
        changelist = reverse(f"{name}_changelist")
        pages += [(changelist, 200), (f"{changelist}?q=" + "x" * 10_000, 200)]
        pages += [(f"{changelist}?q=%00", 400), (f"{changelist}?state=%00", 400)]  # NULs
        first = model._default_manager.order_by("pk").first()
        if first is not None:
            pages.append((reverse(f"{name}_change", args=[first.pk]), 200))
    for run in SyncRun.objects.all():
        pages.append((reverse("admin:promidata_sync_syncrun_change", args=[run.pk]), 200))
        pages.append((f"/api/runs/{run.pk}", 200))
    progress = reverse("admin:promidata_sync_syncrun_progress")
    ids = ",".join(str(pk) for pk in SyncRun.objects.values_list("pk", flat=True))
    pages += [(f"{progress}?ids={ids}", 200), (f"{progress}?ids=99999999999999999999", 400)]
    pages.append(("/media/" + "m" * 300, 404))  # a name too long for the file system
    return pages


def _render_pages(guid: str) -> list[dict]:
    user_model = get_user_model()
    user, _ = user_model.objects.get_or_create(
        username="hostile-admin", defaults={"is_staff": True, "is_superuser": True}
    )
    client = Client(raise_request_exception=False)
    client.force_login(user)
    rendered = []
    for page, expected in _pages():
        response = client.get(page)
        body = response.content.decode("utf-8", "replace")
        rendered.append(
            {
                "page": page[:120],
                "status": response.status_code,
                "expected": expected,
                "has_guid": guid in body,
            }
        )
    return rendered


def inspect(guid: str) -> dict:
    products = {
        p.sku: {
            "supplier": p.supplier.code,
            "active": p.is_active,
            "brand": p.brand,
            "category": p.category.key if p.category else None,
            "variants": sorted(p.variants.values_list("sku", flat=True)),
            "names": p.names,
        }
        for p in Product.objects.select_related("supplier", "category")
    }
    items = [
        {
            "run": i.run_id,
            "supplier": i.run.supplier.code,
            "kind": i.kind,
            "key": i.key[:300],
            "state": i.state,
            "error": i.error,
            "permanent": i.permanent,
            "attempts": i.attempts,
            "warnings": i.warnings,
            "warning_count": i.warning_count,
        }
        for i in SyncItem.objects.select_related("run__supplier").order_by("pk")
    ]
    runs = [
        {
            "id": r.pk,
            "supplier": r.supplier.code,
            "state": r.state,
            "finished": r.finished_at is not None,
            "message": r.message,
            "summary": r.summary,
            "warnings": r.warnings,
            "families_failed": r.families_failed,
        }
        for r in SyncRun.objects.select_related("supplier").order_by("pk")
    ]
    messages = (
        [r["message"] for r in runs]
        + [json.dumps(r["summary"]) for r in runs]
        + list(Supplier.objects.values_list("last_sync_message", flat=True))
        + [i["error"] for i in items]
        + [json.dumps(i["warnings"]) for i in items]
        + list(ImageSource.objects.values_list("last_error", flat=True))
        + list(Job.objects.values_list("error", flat=True))
        + list(Job.objects.values_list("traceback", flat=True))
    )
    return {
        "vendor": connection.vendor,
        "products": products,
        "variants": Variant.objects.count(),
        "price_tiers": PriceTier.objects.count(),
        "categories": Category.objects.count(),
        "media": Media.objects.count(),
        "suppliers": sorted(Supplier.objects.values_list("code", flat=True)),
        "runs": runs,
        "items": items,
        "messages_with_guid": [m[:200] for m in messages if guid in (m or "")],
        "pages": _render_pages(guid),
    }


if __name__ == "__main__":
    command = sys.argv[1]
    if command == "install-trigger":
        install_trigger()
    elif command == "inspect":
        print(json.dumps(inspect(sys.argv[2]), default=str))
    else:
        sys.exit(f"unknown command {command}")
