"""One product, whole, as the catalog API serves it (``GET api/catalog/products/<sku>/``).

``product_read(sku, absolute_url)`` is the entry point: it reads the product in one snapshot
(on PostgreSQL a REPEATABLE READ, READ ONLY transaction), so a family rewritten by a sync
between two of its queries can never give a document that is half old and half new, and it
computes the ETag first (``product_etag``), so that a client holding the current version is
answered without building anything.
``product_find(sku)`` resolves a family SKU; ``product_document(product, absolute_url)``
builds the JSON-able document: the family, every variant with every price tier of every
region, its stored images, and its print positions with their options, option tiers,
costs and cost tiers. It reads a fixed number of queries (nine) whatever the number of
variants, options and tiers: each table is read once for the whole family, by joins on the
family, as plain tuples (no model instances: a real-size family holds tens of thousands of
tier rows). Description HTML is sanitised (``html_sanitise``); decimals are strings.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

import nh3
from django.db import connection, transaction
from django.db.models import Count, Max, Sum

from catalog.models import (
    Media,
    PriceTier,
    PrintCost,
    PrintCostTier,
    PrintOption,
    PrintOptionTier,
    PrintPosition,
    PrintPositionImage,
    Product,
    StockLevel,
    Variant,
    VariantMedia,
)
from promidata_sync.services.html_sanitise import sanitise_texts

# Bump when the document's shape or rendering changes: every ETag changes with it.
DOCUMENT_VERSION = "2"  # 2: stock levels
TIER_FIELDS = ("region", "kind", "min_quantity", "price", "currency", "on_request")


@dataclass(frozen=True)
class ProductRead:
    """What ``product_read`` found: the document's ``etag`` and the ``document`` itself, or
    None for it when the caller already holds that version."""

    etag: str
    document: dict | None


def product_read(
    sku: str,
    absolute_url: Callable[[str], str],
    *,
    base: str = "",
    already_have: Callable[[str], bool] = lambda etag: False,
) -> ProductRead | None:
    """The family ``sku`` (see ``product_find``), None if there is none.

    Reads in one snapshot. The ETag (``product_etag``) comes first and costs two queries; when
    ``already_have(etag)`` the document is not built at all (a 304 costs no more than that).
    ``base`` is the scheme and host the absolute URLs are built on (part of the tag).
    """
    # Inside a caller's transaction (a test's, a script's) its snapshot rules, and SET
    # TRANSACTION would fail after its first query.
    own_transaction = not connection.in_atomic_block
    with transaction.atomic():
        if connection.vendor == "postgresql" and own_transaction:
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        product = product_find(sku)
        if product is None:
            return None
        etag = product_etag(product, base=base)
        if already_have(etag):
            return ProductRead(etag, None)
        return ProductRead(etag, product_document(product, absolute_url))


def product_etag(product: Product, *, base: str = "") -> str:
    """A weak ETag that changes whenever the document would.

    Built from what the document is made of, not from the document (building it is what a
    304 saves): the product's ``updated_at`` (every family write, deactivation and image
    arrival moves it), its variants' count and latest ``updated_at``, its stored images (the
    image stage bumps ``updated_at`` only after its commit), the supplier and category shown,
    the family's stock total and read time (the stock stage moves the time with every
    write of its variants' stock), the storage's URL and the request's host (URLs are
    absolute), and ``DOCUMENT_VERSION``
    with the sanitiser's version (a new release may render the same rows differently).
    Two queries.
    """
    variants = Variant.objects.filter(product_id=product.pk).aggregate(
        n=Count("id"),
        last=Max("updated_at"),
        images=Count("media_links"),
        image_sum=Sum("media_links__media_id"),
    )
    position_images = PrintPositionImage.objects.filter(
        position__variant__product_id=product.pk, media__isnull=False
    ).aggregate(n=Count("id"), media_sum=Sum("media_id"))
    storage = Media._meta.get_field("file").storage
    parts = (
        DOCUMENT_VERSION,
        nh3.__version__ if hasattr(nh3, "__version__") else "",
        base,
        storage.url("x"),
        product.pk,
        product.updated_at.isoformat(),
        product.is_active,
        product.supplier.code,
        product.supplier.name,
        product.category.key if product.category else "",
        # The stock stage moves stock_read_at whenever it writes a variant's stock.
        product.stock_total,
        product.stock_read_at.isoformat() if product.stock_read_at else "",
        *variants.values(),
        *position_images.values(),
    )
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:32]
    return f'W/"{digest}"'


def product_find(sku: str) -> Product | None:
    """The family with SKU ``sku``. SKUs are unique per supplier only; feed SKUs start with
    the supplier's A-number, so a family of the supplier whose code prefixes the SKU wins,
    then an active one, then the oldest."""
    candidates = list(
        Product.objects.filter(sku=sku).select_related("supplier", "category").order_by("id")[:20]
    )
    if not candidates:
        return None
    return min(
        candidates,
        key=lambda p: (not code_prefixes(p.supplier.code, sku), not p.is_active, p.id),
    )


def code_prefixes(code: str, sku: str) -> bool:
    """True when supplier ``code`` starts ``sku`` as its own part: "A23" for "A23-1234" or
    "A23", not "A2" for "A23-1234"."""
    return bool(code) and (sku == code or sku.startswith(f"{code}-"))


def decimal_text(value: Decimal | None, *, places: int = 0) -> str | None:
    """A decimal as a string without trailing zeros beyond ``places`` ("1.2500" → "1.25"
    for places=2, "12.000" → "12" for places=0); None stays None."""
    if value is None:
        return None
    text = format(value, "f")
    if "." in text:
        whole, _, fraction = text.partition(".")
        fraction = fraction.rstrip("0").ljust(places, "0")
        text = f"{whole}.{fraction}" if fraction else whole
    elif places:
        text = f"{text}.{'0' * places}"
    return text


def tier_document(row) -> dict:
    region, kind, min_quantity, price, currency, on_request = row
    return {
        "region": region,
        "kind": kind,
        "min_quantity": min_quantity,
        "price": decimal_text(price, places=2),
        "currency": currency,
        "on_request": on_request,
    }


def product_document(product: Product, absolute_url: Callable[[str], str]) -> dict:
    """The whole of ``product`` (loaded with supplier and category, as ``product_find``
    does). ``absolute_url`` turns a storage URL into an absolute one."""
    storage = Media._meta.get_field("file").storage

    def image(name, sha256, content_type, width, height) -> dict:
        return {
            "url": absolute_url(storage.url(name)),
            "sha256": sha256,
            "content_type": content_type,
            "width": width,
            "height": height,
        }

    pid = product.pk
    variants = list(Variant.objects.filter(product_id=pid).order_by("position", "id"))
    tiers = _tiers(PriceTier.objects.filter(variant__product_id=pid), "variant_id")
    images = _grouped(
        VariantMedia.objects.filter(variant__product_id=pid).order_by("variant_id", "position"),
        "variant_id",
        IMAGE_FIELDS,
        lambda row: image(*row),
    )
    positions = _print_positions(pid, image)
    stock = {
        vid: {"quantity": quantity, "read_at": read_at}
        for vid, quantity, read_at in StockLevel.objects.filter(
            variant__product_id=pid
        ).values_list("variant_id", "quantity", "read_at")
    }
    return {
        "sku": product.sku,
        "supplier": product.supplier.code,
        "supplier_name": product.supplier.name,
        "supplier_sku": product.supplier_sku,
        "is_active": product.is_active,
        "created_at": product.created_at,
        "updated_at": product.updated_at,
        "names": product.names,
        "descriptions": sanitise_texts(product.descriptions),
        "short_descriptions": product.short_descriptions,
        "category": product.category.key if product.category else None,
        "secondary_categories": product.secondary_categories,
        "brand": product.brand,
        "specifications": product.web_shop_information,
        "meta": product.meta,
        "default_products": product.default_products,
        "release_date": product.release_date,
        "videos": product.videos,
        "documents": product.documents,
        "sample_prices": product.sample_prices,
        "certificates": product.certificates,
        "forbidden_regions": product.forbidden_regions,
        "extra": product.extra,
        "stock": product_stock(product.stock_total, product.stock_read_at),
        "variants": [
            {
                **_variant_document(
                    v, tiers.get(v.pk, []), images.get(v.pk, []), positions.get(v.pk)
                ),
                "stock": stock.get(v.pk, NO_STOCK),
            }
            for v in variants
        ],
    }


NO_STOCK = {"quantity": None, "read_at": None}


def product_stock(total: int | None, read_at) -> dict:
    """A family's stock as the API shows it: the total over its active variants that have
    a quantity, and when it was last read (both null until the stock stage ran)."""
    return {"total": total, "read_at": read_at}


def _variant_document(variant: Variant, prices, images, positions) -> dict:
    v = variant
    return {
        "sku": v.sku,
        "supplier_sku": v.supplier_sku,
        "ean": v.ean,
        "is_active": v.is_active,
        "names": v.names,
        "descriptions": sanitise_texts(v.descriptions),
        "short_descriptions": v.short_descriptions,
        "color": v.color,
        "size": v.size,
        "search_color": v.search_color,
        "hex_color": v.hex_color,
        "pms_color": v.pms_color,
        "attributes": v.attributes,
        "weight_g": decimal_text(v.weight_g),
        "dimensions_mm": {
            "length": decimal_text(v.length_mm),
            "width": decimal_text(v.width_mm),
            "height": decimal_text(v.height_mm),
            "diameter": decimal_text(v.diameter_mm),
            "depth": decimal_text(v.depth_mm),
        },
        "country_of_origin": v.country_of_origin,
        "customs_tariff_number": v.customs_tariff_number,
        "specifications": v.web_shop_information,
        "filters": v.filters,
        "meta": v.meta,
        "fragile": v.fragile,
        "usb_item": v.usb_item,
        "battery": v.battery,
        "delivery_days": v.delivery_days,
        "delivery_texts": v.delivery_texts,
        "release_date": v.release_date,
        "videos": v.videos,
        "documents": v.documents,
        "carton": {
            "length_cm": decimal_text(v.carton_length_cm),
            "width_cm": decimal_text(v.carton_width_cm),
            "height_cm": decimal_text(v.carton_height_cm),
            "weight_net_kg": decimal_text(v.carton_weight_net_kg),
            "weight_gross_kg": decimal_text(v.carton_weight_gross_kg),
            "quantity": v.carton_quantity,
        },
        "item_box": {
            "length_cm": decimal_text(v.item_box_length_cm),
            "width_cm": decimal_text(v.item_box_width_cm),
            "height_cm": decimal_text(v.item_box_height_cm),
            "weight_with_accessories_kg": decimal_text(v.item_weight_with_accessories_kg),
        },
        "region_terms": v.region_terms,
        "extra": v.extra,
        "images": images,
        "prices": prices,
        "print_positions": positions or [],
    }


COST_FIELDS = (
    "id", "sku", "supplier_sku", "names", "descriptions", "calculation_type",
    "calculation_amount", "requirement", "active_regions", "info", "region_terms", "extra",
)  # fmt: skip
OPTION_FIELDS = (
    "id", "sku", "supplier_sku", "print_code", "reference", "names", "descriptions",
    "print_colors", "print_color_text", "max_colors", "imprint_type", "dimension", "width",
    "height", "depth", "diameter", "max_size_cm2", "is_default", "active_regions", "info",
    "region_terms", "extra",
)  # fmt: skip
POSITION_FIELDS = (
    "id", "code", "supplier_code", "names", "descriptions", "max_print_area", "max_width",
    "max_height", "info", "extra",
)  # fmt: skip
IMAGE_FIELDS = (
    "media__file", "media__sha256", "media__content_type", "media__width", "media__height",
)  # fmt: skip


def _print_positions(pid: int, image) -> dict[int, list[dict]]:
    """``{variant id: [position document]}`` for the family: six queries in all."""
    cost_tiers = _tiers(
        PrintCostTier.objects.filter(cost__option__position__variant__product_id=pid), "cost_id"
    )
    costs = _grouped(
        PrintCost.objects.filter(option__position__variant__product_id=pid).order_by(
            "option_id", "order"
        ),
        "option_id",
        COST_FIELDS,
        lambda row: _cost_document(row, cost_tiers),
    )
    option_tiers = _tiers(
        PrintOptionTier.objects.filter(option__position__variant__product_id=pid), "option_id"
    )
    options = _grouped(
        PrintOption.objects.filter(position__variant__product_id=pid).order_by(
            "position_id", "order"
        ),
        "position_id",
        OPTION_FIELDS,
        lambda row: _option_document(row, option_tiers, costs),
    )
    position_images = _grouped(
        PrintPositionImage.objects.filter(
            position__variant__product_id=pid, media__isnull=False
        ).order_by("position_id", "order"),
        "position_id",
        IMAGE_FIELDS,
        lambda row: image(*row),
    )
    return _grouped(
        PrintPosition.objects.filter(variant__product_id=pid).order_by("variant_id", "order"),
        "variant_id",
        POSITION_FIELDS,
        lambda row: _position_document(row, position_images, options),
    )


def _position_document(row, position_images, options) -> dict:
    (
        pid, code, supplier_code, names, descriptions, max_print_area, max_width, max_height,
        info, extra,
    ) = row  # fmt: skip
    return {
        "code": code,
        "supplier_code": supplier_code,
        "names": names,
        "descriptions": sanitise_texts(descriptions),
        "max_print_area": max_print_area,
        "max_width": decimal_text(max_width),
        "max_height": decimal_text(max_height),
        "info": info,
        "extra": extra,
        "images": position_images.get(pid, []),
        "options": options.get(pid, []),
    }


def _option_document(row, option_tiers, costs) -> dict:
    (
        oid, sku, supplier_sku, print_code, reference, names, descriptions, print_colors,
        print_color_text, max_colors, imprint_type, dimension, width, height, depth, diameter,
        max_size_cm2, is_default, active_regions, info, region_terms, extra,
    ) = row  # fmt: skip
    return {
        "sku": sku,
        "supplier_sku": supplier_sku,
        "print_code": print_code,
        "reference": reference,
        "names": names,
        "descriptions": sanitise_texts(descriptions),
        "colors": print_colors,
        "color_text": print_color_text,
        "max_colors": max_colors,
        "imprint_type": imprint_type,
        "dimensions": {
            "text": dimension,
            "width": decimal_text(width),
            "height": decimal_text(height),
            "depth": decimal_text(depth),
            "diameter": decimal_text(diameter),
            "max_size_cm2": decimal_text(max_size_cm2),
        },
        "is_default": is_default,
        "active_regions": active_regions,
        "info": info,
        "region_terms": region_terms,
        "extra": extra,
        "prices": option_tiers.get(oid, []),
        "costs": costs.get(oid, []),
    }


def _cost_document(row, cost_tiers) -> dict:
    (
        cid, sku, supplier_sku, names, descriptions, calculation_type, calculation_amount,
        requirement, active_regions, info, region_terms, extra,
    ) = row  # fmt: skip
    return {
        "sku": sku,
        "supplier_sku": supplier_sku,
        "names": names,
        "descriptions": sanitise_texts(descriptions),
        "calculation_type": calculation_type,
        "calculation_amount": decimal_text(calculation_amount),
        "requirement": requirement,
        "active_regions": active_regions,
        "info": info,
        "region_terms": region_terms,
        "extra": extra,
        "prices": cost_tiers.get(cid, []),
    }


def _tiers(queryset, owner: str) -> dict[int, list[dict]]:
    """``{owner id: [tier document]}``, each owner's tiers by region, kind, quantity.

    Equal tiers share one document: a real-size family repeats the same few price breaks
    across hundreds of options and costs, and formatting 25,000 decimals is most of the time
    a document takes. (The documents are read only: sharing them is safe.)"""
    ordered = queryset.order_by(owner, "region", "kind", "min_quantity")
    built: dict[tuple, dict] = {}

    def document(row) -> dict:
        key = tuple(row)
        found = built.get(key)
        if found is None:
            found = built[key] = tier_document(key)
        return found

    return _grouped(ordered, owner, TIER_FIELDS, document)


def _grouped(queryset, group_field: str, fields, build) -> dict[int, list]:
    """``{group id: [build(row) ...]}`` from one query of ``fields`` (in queryset order)."""
    grouped: dict[int, list] = defaultdict(list)
    for group, *row in queryset.values_list(group_field, *fields):
        grouped[group].append(build(row))
    return grouped
