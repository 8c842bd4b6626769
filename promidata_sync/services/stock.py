"""Stock levels: planning a stock run, reading one family's variants, writing what was read.

A stock run is a ``SyncRun`` of kind "stock" for one supplier: one item (kind "stock") per
active family, counted in the run's ``families_*`` counters, planned when the run is created
(it needs no index: the catalog says which families exist). Each family's variants are read
from the stock service (``PROMIDATA_STOCK_URL_TEMPLATE``), one conditional request each, and
written in one transaction per family: every variant's ``StockLevel``, the family's
``Product.stock_total`` / ``stock_read_at`` and the family's item on the run. A read that
fails keeps the last good quantity and says why on its ``StockLevel`` and on the item.

Stock writes never touch ``Product.updated_at`` (the change feed and ``updated_since``
follow catalog data, not hourly stock); the product's API ETag follows ``stock_read_at``.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from catalog.models import Product, StockLevel, Variant
from promidata_sync.conf import SyncConfig
from promidata_sync.errors import describe, is_permanent
from promidata_sync.feed.stock import (
    MAX_STOCK_BYTES,
    parse_on_stock,
    stock_template_problem,
    stock_url,
)
from promidata_sync.fetching import Fetcher
from promidata_sync.models import SyncItem, SyncRun
from promidata_sync.services import runs
from promidata_sync.services.unique_rows import unique_row

STOCK_OFF = "stock is off: PROMIDATA_STOCK_URL_TEMPLATE is empty (see docs/stock.md)"
# Variants named in one item's error line; the rest are counted.
ERRORS_NAMED = 3


class StockNotConfigured(ValueError):
    """The stock URL template is empty or unusable; the message is one line for operators."""


def stock_template_check(config: SyncConfig) -> None:
    """Raise ``StockNotConfigured`` (one clear line) unless stock can be read."""
    template = config.stock_url_template
    if not template:
        raise StockNotConfigured(STOCK_OFF)
    problem = stock_template_problem(template)
    if problem:
        raise StockNotConfigured(f"PROMIDATA_STOCK_URL_TEMPLATE {problem}")


def stock_run_plan(run: SyncRun) -> int:
    """Add one pending stock item per active family of the run's supplier and mark the run
    planned, in one transaction; return how many items the run has. Safe to repeat (items
    are not added twice)."""
    skus = list(
        Product.objects.filter(supplier_id=run.supplier_id, is_active=True)
        .order_by("sku")
        .values_list("sku", flat=True)
    )
    with transaction.atomic():
        runs.items_plan(run.pk, kind=SyncItem.Kind.STOCK, items=[(s, "", "") for s in skus])
        runs.run_set(run.pk, planned_at=timezone.now(), entries=len(skus))
    return len(skus)


@dataclass(frozen=True)
class VariantToRead:
    """One active variant of a family and its last answer's validators."""

    variant_id: int
    sku: str
    etag: str = ""
    last_modified: str = ""


@dataclass(frozen=True)
class FamilyToRead:
    product_id: int
    sku: str
    variants: tuple[VariantToRead, ...]


def families_to_read(run: SyncRun, skus) -> dict[str, FamilyToRead]:
    """The run's supplier's active families among ``skus`` with their active variants and
    stored validators (three queries, whatever the number of families). A family no longer
    active or no longer in the catalog is left out."""
    products = dict(
        Product.objects.filter(
            supplier_id=run.supplier_id, sku__in=list(skus), is_active=True
        ).values_list("sku", "pk")
    )
    variants = list(
        Variant.objects.filter(product_id__in=products.values(), is_active=True)
        .order_by("product_id", "position", "pk")
        .values_list("product_id", "pk", "sku")
    )
    validators = dict(
        (vid, (etag, modified))
        for vid, etag, modified in StockLevel.objects.filter(
            variant_id__in=[pk for _, pk, _ in variants]
        ).values_list("variant_id", "etag", "last_modified")
    )
    per_product: dict[int, list[VariantToRead]] = {pk: [] for pk in products.values()}
    for product_id, pk, sku in variants:
        etag, modified = validators.get(pk, ("", ""))
        per_product[product_id].append(VariantToRead(pk, sku, etag, modified))
    return {sku: FamilyToRead(pk, sku, tuple(per_product[pk])) for sku, pk in products.items()}


@dataclass(frozen=True)
class Reading:
    """What one variant's request brought: a quantity (200), "unchanged" (304), or an error
    (``permanent``: a retry cannot help, e.g. a 404 or a broken answer)."""

    variant: VariantToRead
    quantity: int | None = None
    not_modified: bool = False
    etag: str = ""
    last_modified: str = ""
    error: str = ""
    permanent: bool = True

    @property
    def ok(self) -> bool:
        return not self.error


def read_variant(variant: VariantToRead, *, config: SyncConfig, fetcher: Fetcher) -> Reading:
    """Ask the stock service about one variant (conditionally when it answered before).
    Network only, no database; never raises."""
    url = stock_url(config.stock_url_template, variant.sku)
    try:
        fetched = fetcher.get(
            url, max_bytes=MAX_STOCK_BYTES, etag=variant.etag, last_modified=variant.last_modified
        )
        if fetched.not_modified:
            return Reading(
                variant,
                not_modified=True,
                etag=fetched.etag or variant.etag,
                last_modified=fetched.last_modified or variant.last_modified,
            )
        quantity = parse_on_stock(fetched.content)
    except Exception as exc:  # FetchError, FeedDataError, a surprise: this variant fails
        return Reading(variant, error=describe(exc), permanent=is_permanent(exc))
    return Reading(
        variant, quantity=quantity, etag=fetched.etag, last_modified=fetched.last_modified
    )


def read_family(family: FamilyToRead, *, config: SyncConfig, fetcher: Fetcher) -> list[Reading]:
    """Every variant of ``family``, one request each, in order (thread-safe, no database)."""
    return [read_variant(v, config=config, fetcher=fetcher) for v in family.variants]


@dataclass(frozen=True)
class StockWritten:
    total: int | None
    read: int
    not_modified: int
    failed: int
    counted: bool


def family_error(readings: list[Reading]) -> str:
    """One line naming the failed variants (the first few) and their errors."""
    failed = [r for r in readings if not r.ok]
    named = "; ".join(f"{r.variant.sku}: {r.error}" for r in failed[:ERRORS_NAMED])
    more = f" (+{len(failed) - ERRORS_NAMED} more)" if len(failed) > ERRORS_NAMED else ""
    return f"stock of {len(failed)} of {len(readings)} variant(s) not read: {named}{more}"


def stock_write_family(
    run_id: int, family: FamilyToRead, readings: list[Reading], *, record_item: bool
) -> StockWritten:
    """Write what was read of one family in ONE transaction: each variant's ``StockLevel``
    (a quantity and its validators; a 304 confirms the quantity; an error keeps it and says
    why), the family's total over its active variants that have a quantity, and, with
    ``record_item``, the family's item on the run (done, or failed with ``family_error``).

    Idempotent: writing the same readings again leaves the same rows (only the times move).
    The product row is locked first, so two deliveries of one family write one after the
    other. ``record_item`` False (a transient failure that will be retried) leaves the item
    pending.
    """
    now = timezone.now()
    with transaction.atomic():
        unique_row(Product.objects.select_for_update().filter(pk=family.product_id).values("pk"))
        ids = [r.variant.variant_id for r in readings]
        stored = {s.variant_id: s for s in StockLevel.objects.filter(variant_id__in=ids)}
        rows = [_level(r, stored.get(r.variant.variant_id), now) for r in readings]
        StockLevel.objects.bulk_create(
            rows,
            update_conflicts=True,
            unique_fields=["variant"],
            update_fields=[
                "quantity",
                "read_at",
                "changed_at",
                "etag",
                "last_modified",
                "error",
                "error_at",
            ],
        )
        total = StockLevel.objects.filter(
            variant__product_id=family.product_id,
            variant__is_active=True,
            quantity__isnull=False,
        ).aggregate(total=Sum("quantity"))["total"]
        any_read = any(r.ok for r in readings) or not readings
        if any_read:
            # .update(): the catalog's updated_at must not move for stock.
            Product.objects.filter(pk=family.product_id).update(
                stock_total=total, stock_read_at=now
            )
        counted = False
        if record_item:
            failed = [r for r in readings if not r.ok]
            counted = runs.item_record(
                run_id,
                kind=SyncItem.Kind.STOCK,
                key=family.sku,
                error=family_error(readings) if failed else "",
                permanent=all(r.permanent for r in failed),
            )
    return StockWritten(
        total=total,
        read=sum(1 for r in readings if r.ok and not r.not_modified),
        not_modified=sum(1 for r in readings if r.not_modified),
        failed=sum(1 for r in readings if not r.ok),
        counted=counted,
    )


def _level(reading: Reading, stored: StockLevel | None, now) -> StockLevel:
    level = stored or StockLevel(variant_id=reading.variant.variant_id)
    if not reading.ok:
        level.error, level.error_at = reading.error, now
        return level
    if not reading.not_modified and level.quantity != reading.quantity:
        level.quantity, level.changed_at = reading.quantity, now
    level.read_at = now
    level.etag, level.last_modified = reading.etag[:255], reading.last_modified[:64]
    level.error, level.error_at = "", None
    return level


def stock_item_fail(run_id: int, sku: str, error: str, *, permanent: bool) -> None:
    """Fail one family's stock item on its run (no retry will come)."""
    runs.item_record(run_id, kind=SyncItem.Kind.STOCK, key=sku, error=error, permanent=permanent)
