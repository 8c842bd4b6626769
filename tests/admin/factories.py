"""Small catalog and run factories for the admin tests (bulk inserts, no feed needed)."""

from __future__ import annotations

import hashlib
from decimal import Decimal

from django.utils import timezone

from catalog.models import Category, Media, PriceTier, Product, Supplier, Variant, VariantMedia
from promidata_sync.models import Job, SyncItem, SyncRun


def make_suppliers(count: int, *, prefix: str = "A") -> list[Supplier]:
    return Supplier.objects.bulk_create(
        [Supplier(code=f"{prefix}{100 + i}", name=f"Supplier {i}") for i in range(count)]
    )


def make_products(
    supplier: Supplier,
    count: int,
    *,
    variants: int = 2,
    images: int = 1,
    category: Category | None = None,
    start: int = 0,
) -> list[Product]:
    """``count`` products of ``supplier``, each with ``variants`` variants carrying one price
    tier per variant and ``images`` linked media each."""
    products = Product.objects.bulk_create(
        [
            Product(
                supplier=supplier,
                sku=f"{supplier.code}-{start + i:05d}",
                names={"en": f"Mug {start + i}", "de": f"Becher {start + i}"},
                category=category,
            )
            for i in range(count)
        ]
    )
    rows = Variant.objects.bulk_create(
        [
            Variant(product=p, sku=f"{p.sku}-{v}", color=f"colour {v}", position=v)
            for p in products
            for v in range(variants)
        ]
    )
    PriceTier.objects.bulk_create(
        [
            PriceTier(
                variant=v,
                region="EURO",
                kind=PriceTier.Kind.SELL,
                min_quantity=1,
                price=Decimal("2.50"),
                currency="EUR",
            )
            for v in rows
        ]
    )
    media = make_media(len(rows) * images, seed=f"{supplier.code}-{start}")
    VariantMedia.objects.bulk_create(
        [
            VariantMedia(variant=v, media=media[i * images + k], position=k)
            for i, v in enumerate(rows)
            for k in range(images)
        ]
    )
    return products


def make_media(count: int, *, seed: str = "") -> list[Media]:
    rows = []
    for i in range(count):
        sha = hashlib.sha256(f"{seed}:{i}".encode()).hexdigest()
        rows.append(
            Media(
                sha256=sha,
                file=f"media/{sha[:2]}/{sha[2:4]}/{sha}.png",
                content_type="image/png",
                extension="png",
                size=1234 + i,
                width=64,
                height=64,
                source_url=f"https://images.example.com/secret-guid/Images/{sha}.png",
            )
        )
    return Media.objects.bulk_create(rows)


def make_run(supplier: Supplier, **fields) -> SyncRun:
    """A run of ``supplier``; finished (completed) unless ``state`` says otherwise."""
    now = timezone.now()
    fields.setdefault("state", SyncRun.State.COMPLETED)
    fields.setdefault("mode", SyncRun.Mode.QUEUE)
    fields.setdefault("trigger", SyncRun.Trigger.ADMIN)
    if fields["state"] not in SyncRun.ACTIVE_STATES:
        fields.setdefault("finished_at", now)
        fields.setdefault("planned_at", now)
    if fields["state"] != SyncRun.State.QUEUED:
        fields.setdefault("started_at", now)
    return SyncRun.objects.create(supplier=supplier, **fields)


def make_failed_run(supplier: Supplier, *, families: int = 3, failed: int = 1) -> SyncRun:
    """A finished partial run whose last ``failed`` of ``families`` families failed."""
    run = make_run(
        supplier,
        state=SyncRun.State.PARTIAL,
        families_total=families,
        families_done=families - failed,
        families_failed=failed,
    )
    SyncItem.objects.bulk_create(
        [
            SyncItem(
                run=run,
                kind=SyncItem.Kind.FAMILY,
                key=f"{supplier.code}-F{i:05d}",
                url=f"https://promi-dl.de/Profiles/Live/secret-guid/{supplier.code}/F{i}.json",
                token=f"hash{i}",
                state=SyncItem.State.FAILED if i >= families - failed else SyncItem.State.DONE,
                error="HTTP 404" if i >= families - failed else "",
            )
            for i in range(families)
        ]
    )
    Job.objects.create(
        job_id="0f0e0d0c-0b0a-4000-8000-000000000001",
        queue_name="product-family",
        actor_name="sync_product_family",
        run=run,
        key=f"{supplier.code}-F{families - 1:05d}",
        state=Job.State.FAILED,
        error="HTTP 404",
        attempts_made=1,
    )
    return run
