"""Pages of product summaries and the category tree, as the catalog API serves them.

``product_page`` is keyset-paginated on the product id: a page is "the next ``limit``
products with an id above the cursor", read in one query whatever the page size. A sync
that writes while a client pages through changes nothing for it: updated products keep
their place, new ones have higher ids and come at the end, nothing shifts, so no product
is skipped or repeated. (Offsets would shift under inserts; ``updated_at`` order would let
a product updated mid-walk jump past the cursor.) What changed after a product was read is
what the change feed (``services.changes``) is for.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from django.db import connection
from django.db.models import BooleanField, Count, Exists, OuterRef, Q, Subquery
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce

from catalog.models import Category, Media, Product, Variant, VariantMedia
from promidata_sync.services.product_detail import product_stock


@dataclass(frozen=True)
class ProductFilters:
    """The list's filters; None means "not filtered"."""

    supplier: str | None = None
    category: str | None = None
    active: bool | None = None
    updated_since: datetime | None = None
    q: str | None = None


class UnknownCategory(LookupError):
    pass


def product_page(
    filters: ProductFilters, *, after: int, limit: int, absolute_url=lambda url: url
) -> tuple[list[dict], bool]:
    """Up to ``limit`` summaries of matching products with id > ``after``, in id order, and
    whether more follow. One query (two with a category filter). ``absolute_url`` turns a
    storage URL into an absolute one."""
    queryset = _filtered(filters).filter(id__gt=after).order_by("id")
    main_image = (
        VariantMedia.objects.filter(variant__product_id=OuterRef("pk"))
        .order_by("variant__position", "variant_id", "position")
        .values("media__file")[:1]
    )
    variant_count = (
        Variant.objects.filter(product_id=OuterRef("pk"))
        .order_by()
        .values("product_id")
        .annotate(n=Count("id"))
        .values("n")
    )
    rows = list(
        queryset.annotate(
            variant_count=Coalesce(Subquery(variant_count), 0), main_image=Subquery(main_image)
        ).values(
            "id",
            "sku",
            "supplier__code",
            "supplier_sku",
            "is_active",
            "updated_at",
            "names",
            "category__key",
            "brand",
            "variant_count",
            "main_image",
            "stock_total",
            "stock_read_at",
        )[: limit + 1]
    )
    storage = Media._meta.get_field("file").storage
    summaries = [
        {
            "id": row["id"],
            "sku": row["sku"],
            "supplier": row["supplier__code"],
            "supplier_sku": row["supplier_sku"],
            "is_active": row["is_active"],
            "updated_at": row["updated_at"],
            "names": row["names"],
            "category": row["category__key"],
            "brand": row["brand"],
            "variant_count": row["variant_count"],
            "image": absolute_url(storage.url(row["main_image"])) if row["main_image"] else None,
            "stock": product_stock(row["stock_total"], row["stock_read_at"]),
        }
        for row in rows[:limit]
    ]
    return summaries, len(rows) > limit


def _filtered(filters: ProductFilters):
    queryset = Product.objects.all()
    if filters.supplier:
        queryset = queryset.filter(supplier__code=filters.supplier)
    if filters.category:
        queryset = queryset.filter(category_id__in=category_and_descendants(filters.category))
    if filters.active is not None:
        queryset = queryset.filter(is_active=filters.active)
    if filters.updated_since is not None:
        queryset = queryset.filter(updated_at__gte=filters.updated_since)
    if filters.q:
        q = filters.q
        variant_match = Variant.objects.filter(product_id=OuterRef("pk")).filter(
            Q(ean=q) | Q(sku__iexact=q)
        )
        queryset = queryset.annotate(name_match=_name_contains(q)).filter(
            Q(sku__icontains=q) | Q(name_match=True) | Exists(variant_match)
        )
    return queryset


def _name_contains(q: str) -> RawSQL:
    """True when one of the product's names (the values of ``names``, not its JSON text:
    that would match language keys, quotes and escapes) contains ``q``, in any case."""
    pattern = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    table = connection.ops.quote_name(Product._meta.db_table)
    if connection.vendor == "postgresql":
        sql = (
            f"EXISTS (SELECT 1 FROM jsonb_each_text(CASE WHEN jsonb_typeof({table}.names) = "
            f"'object' THEN {table}.names ELSE '{{}}'::jsonb END) AS n "
            "WHERE n.value ILIKE %s ESCAPE '\\')"
        )
    else:  # SQLite: LIKE is case-insensitive for ASCII
        sql = (
            f"EXISTS (SELECT 1 FROM json_each(CASE WHEN json_type({table}.names) = 'object' "
            f"THEN {table}.names ELSE '{{}}' END) AS n WHERE n.value LIKE %s ESCAPE '\\')"
        )
    return RawSQL(sql, [pattern], output_field=BooleanField())


def category_and_descendants(key: str) -> list[int]:
    """Ids of the category ``key`` and of every category below it (one query)."""
    children: dict[int | None, list[int]] = defaultdict(list)
    root = None
    for cid, parent_id, ckey in Category.objects.values_list("id", "parent_id", "key"):
        children[parent_id].append(cid)
        if ckey == key:
            root = cid
    if root is None:
        raise UnknownCategory(key)
    found, stack = [], [root]
    while stack:
        cid = stack.pop()
        found.append(cid)
        stack.extend(children.get(cid, ()))
    return found


def category_tree() -> list[dict]:
    """Every category, by key: its parent's key, names, the number of active products in
    it (``product_count``) and in it and all below it (``total_product_count``). Two
    queries."""
    direct = dict(
        Product.objects.filter(is_active=True, category__isnull=False)
        .values("category_id")
        .annotate(n=Count("id"))
        .values_list("category_id", "n")
    )
    rows = list(Category.objects.order_by("key").values("id", "key", "parent_id", "names"))
    key_of = {row["id"]: row["key"] for row in rows}
    parent_of = {row["id"]: row["parent_id"] for row in rows}
    totals: dict[int, int] = defaultdict(int)
    for start, count in direct.items():
        cid: int | None = start
        seen = set()
        while cid is not None and cid not in seen:  # a cycle in hand-edited data must not hang
            seen.add(cid)
            totals[cid] += count
            cid = parent_of.get(cid)
    return [
        {
            "key": row["key"],
            "parent": key_of.get(row["parent_id"]),
            "names": row["names"],
            "product_count": direct.get(row["id"], 0),
            "total_product_count": totals.get(row["id"], 0),
        }
        for row in rows
    ]
