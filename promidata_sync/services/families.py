"""One product family: fetch its JSON, parse it, and write it in one transaction.

``family_fetch`` touches no database and may run in any thread. ``family_write`` does the
database work with a constant number of queries whatever the number of variants, positions,
options and costs: bulk upserts on the natural keys, then replacement of the family's price
tiers (every region), print data and image declarations, and the file itself, kept. Writing
the same record twice leaves the same rows.
"""

from __future__ import annotations

import functools
import logging
import threading
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from catalog.models import CatalogChange, PriceTier, Product, Supplier, Variant, VariantMedia
from promidata_sync.conf import SyncConfig
from promidata_sync.feed import FamilyRecord, FeedDataError, ImportEntry, parse_family
from promidata_sync.fetching import Fetcher
from promidata_sync.models import ImageSource, SyncItem, VariantImage
from promidata_sync.services.bulk_rows import insert_rows
from promidata_sync.services.changes import changes_record
from promidata_sync.services.family_files import compress, family_file_keep
from promidata_sync.services.feed_index import category_ids_for
from promidata_sync.services.print_rows import TIER_COLUMNS, print_data_replace, tier_values
from promidata_sync.services.protection import (
    NO_PROTECTION,
    FamilyProtection,
    family_protection,
    family_protection_apply,
)
from promidata_sync.services.runs import item_record, items_plan
from promidata_sync.services.unique_rows import unique_row

log = logging.getLogger(__name__)

PRODUCT_FIELDS = [
    "supplier_sku",
    "promidata_hash",
    "source_url",
    "names",
    "descriptions",
    "category",
    "brand",
    "short_descriptions",
    "meta",
    "web_shop_information",
    "secondary_categories",
    "default_products",
    "release_date",
    "videos",
    "documents",
    "sample_prices",
    "certificates",
    "forbidden_regions",
    "extra",
    "is_active",
    "last_seen_at",
    "updated_at",
]
# Packaging fields of ``PackagingRecord`` that are columns of Variant under the same name.
PACKAGING_FIELDS = [
    "carton_length_cm",
    "carton_width_cm",
    "carton_height_cm",
    "carton_weight_net_kg",
    "carton_weight_gross_kg",
    "carton_quantity",
    "item_box_length_cm",
    "item_box_width_cm",
    "item_box_height_cm",
    "item_weight_with_accessories_kg",
]
VARIANT_FIELDS = [
    "supplier_sku",
    "ean",
    "names",
    "descriptions",
    "short_descriptions",
    "meta",
    "web_shop_information",
    "color",
    "size",
    "search_color",
    "attributes",
    "weight_g",
    "length_mm",
    "width_mm",
    "height_mm",
    "diameter_mm",
    "depth_mm",
    "country_of_origin",
    "customs_tariff_number",
    "hex_color",
    "pms_color",
    "filters",
    "fragile",
    "usb_item",
    "delivery_days",
    "delivery_texts",
    "release_date",
    "videos",
    "documents",
    *PACKAGING_FIELDS,
    "battery",
    "price_region",
    "minimum_order_quantity",
    "quantity_increment",
    "region_terms",
    "extra",
    "position",
    "is_active",
    "updated_at",
]


class BrokenFamilyFile(FeedDataError):
    """A family file that could not be parsed; ``content`` is what the feed sent, to keep."""

    def __init__(self, message: str, *, content: bytes):
        super().__init__(message)
        self.content = content


@dataclass(frozen=True)
class FamilyDownload:
    """A fetched and parsed family file: the record, and the bytes to keep (compressed)."""

    record: FamilyRecord
    content: bytes
    compressed: bytes


@dataclass
class FamilyWriteResult:
    """What ``family_write`` did.

    ``missing_image_urls`` are the declared images (variants' and print positions') with no
    stored bytes, to be downloaded after commit; with a run, ``new_image_urls`` are those of
    them the run had not planned yet. ``counted`` is False when the run had already counted
    this family (a second delivery of the same job), in which case nothing new was planned
    either. ``known_image_urls`` are the declared images whose bytes are stored (linked
    already), to be revalidated with a conditional GET after commit; ``new_image_urls``
    covers them too.
    """

    product_id: int
    created: bool
    variants: int
    variants_deactivated: int
    price_tiers: int
    images_linked: int
    print_options: int = 0
    missing_image_urls: list[str] = field(default_factory=list)
    known_image_urls: list[str] = field(default_factory=list)
    new_image_urls: list[str] = field(default_factory=list)
    counted: bool = True


def family_fetch(entry: ImportEntry, *, config: SyncConfig, fetcher: Fetcher) -> FamilyDownload:
    """Fetch, parse and compress one family file. Raises ``FetchError``, or
    ``BrokenFamilyFile`` (a ``FeedDataError`` carrying the bytes, to keep them anyway).

    Any number of threads may fetch at once, but at most ``config.parse_concurrency`` parse at
    once in this process: decoding is where a family's memory goes (a 20 MB file may take
    hundreds of MB while decoded), so memory is bounded by that, not by the fetch concurrency.
    """
    content = fetcher.get(entry.url, max_bytes=config.max_family_bytes).content
    return family_parse(entry, content, config=config)


def family_parse(entry: ImportEntry, content: bytes, *, config: SyncConfig) -> FamilyDownload:
    """Parse (and compress) a family file's bytes, fetched now or kept from before."""
    with _parse_slots(config.parse_concurrency):
        try:
            record = parse_family(
                content,
                family_sku=entry.family_sku,
                source_url=entry.url,
                price_regions=config.price_regions,
                languages=config.languages,
                max_children=config.max_children_per_family,
            )
        except FeedDataError as exc:
            raise BrokenFamilyFile(str(exc), content=content) from exc
    return FamilyDownload(record=record, content=content, compressed=compress(content))


@functools.lru_cache(maxsize=4)
def _parse_slots(concurrency: int) -> threading.BoundedSemaphore:
    """The process-wide gate of family parsing (one per configured concurrency)."""
    return threading.BoundedSemaphore(concurrency)


def family_keep_broken(supplier: Supplier, entry: ImportEntry, error: BrokenFamilyFile) -> None:
    """Keep the bytes of a family file that could not be parsed, with the reason. Best
    effort: keeping the evidence must never stop the failure itself from being recorded."""
    try:
        with transaction.atomic():
            family_file_keep(
                supplier=supplier,
                family_sku=entry.family_sku,
                hash=entry.hash,
                url=entry.url,
                content=error.content,
                error=str(error),
            )
    except Exception:
        log.warning("could not keep the broken file of %s", entry.family_sku, exc_info=True)


def family_write(
    *,
    supplier: Supplier,
    entry: ImportEntry,
    record: FamilyRecord,
    run_id: int | None = None,
    download: FamilyDownload | None = None,
    plan_images: bool = True,
) -> FamilyWriteResult:
    """Upsert the family (product, variants, every region's price tiers, print data, image
    declarations, known media links), its file (``download``, when given) and its hash in
    ONE transaction, so the stored hash and file always describe the stored rows.

    Operators' protected fields (``services.protection``) keep their local value: the rule
    records the feed's value (same transaction) and the row gets the local one.
    Variants that left the family are deactivated, never deleted; returning ones are
    reactivated. ``run_id`` counters are bumped inside the same transaction, and with
    ``plan_images`` the images still to download (or revalidate) are planned on the run.
    Idempotent and safe to run twice or concurrently for the same family (upserts on natural
    keys; the product row lock serialises the rest). The parser has fitted every value to
    its column; should the database still refuse one, the whole family is rolled back (a
    savepoint when called inside a transaction) and the error propagates.
    """
    now = timezone.now()
    with transaction.atomic():
        stored = unique_row(
            Product.objects.filter(supplier=supplier, sku=entry.family_sku).values_list(
                "pk", "is_active"
            )
        )
        was_active = None if stored is None else stored[1]
        existed = stored is not None
        # Operators' protected fields: one query, none for a new family.
        protection = family_protection(stored[0] if stored else None)
        category_key = protection.category_key(record.category_key)
        category_id = category_ids_for({category_key}).get(category_key)
        row = _product_row(supplier, entry, record, category_id, now)
        if protection:
            family_protection_apply(
                protection, product=row, feed_category_key=record.category_key, now=now
            )
        (product,) = Product.objects.bulk_create(
            [row],
            update_conflicts=True,
            unique_fields=["supplier", "sku"],
            update_fields=PRODUCT_FIELDS,
        )
        if product.pk is None:  # backends that do not return ids from upserts
            product = Product.objects.get(supplier=supplier, sku=entry.family_sku)
        # No explicit lock needed: the upsert above locks the product row until commit, which
        # serialises concurrent writers of the same family for the replace-steps below.
        variant_ids = _upsert_variants(product, record, now, protection)
        deactivated = (
            Variant.objects.filter(product=product, is_active=True)
            .exclude(pk__in=variant_ids.values())
            .update(is_active=False, updated_at=now)
        )
        # A new family has no tiers, print data or images yet: nothing to delete first.
        tiers = _replace_price_tiers(record, variant_ids, existed=existed)
        images = _replace_images(record, variant_ids, existed=existed)
        if download is not None:
            family_file_keep(
                supplier=supplier,
                family_sku=entry.family_sku,
                hash=entry.hash,
                url=entry.url,
                content=download.content,
                compressed=download.compressed,
            )
        new, counted = [*images.missing, *images.known], True
        if run_id is not None:
            counted = item_record(
                run_id,
                kind=SyncItem.Kind.FAMILY,
                key=entry.family_sku,
                url=entry.url,
                warnings=record.warnings,
                warning_count=record.warning_count,
                done_counters={
                    "families_new": 0 if existed else 1,
                    "families_updated": 1 if existed else 0,
                    "variants_written": len(variant_ids),
                    "variants_deactivated": deactivated,
                    "price_tiers_written": tiers,
                    # Known images count as reused when their revalidation answers 304.
                },
            )
            if plan_images:
                # Planned in the family's transaction, so that a run never looks finished
                # while images it still needs are not counted; only URLs new to the run come
                # back. Known URLs too: a changed family revalidates its stored images.
                items = [(u, u, "") for u in new]
                new = [
                    url for url, _, _ in items_plan(run_id, kind=SyncItem.Kind.IMAGE, items=items)
                ]
            else:
                new = []
        # Last: the change feed's counter stays locked from here to the commit.
        changes_record([product.pk], _change_kind(was_active), run_id=run_id)
    if record.supplier_name and not supplier.name:
        Supplier.objects.filter(pk=supplier.pk, name="").update(name=record.supplier_name)
    return FamilyWriteResult(
        product_id=product.pk,
        created=not existed,
        variants=len(variant_ids),
        variants_deactivated=deactivated,
        price_tiers=tiers,
        images_linked=images.linked,
        print_options=images.print_options,
        missing_image_urls=images.missing,
        known_image_urls=images.known,
        new_image_urls=new,
        counted=counted,
    )


def _change_kind(was_active: bool | None) -> str:
    if was_active is None:
        return CatalogChange.Kind.CREATED
    return CatalogChange.Kind.UPDATED if was_active else CatalogChange.Kind.REACTIVATED


def _product_row(supplier, entry, record: FamilyRecord, category_id, now) -> Product:
    return Product(
        supplier=supplier,
        sku=entry.family_sku,
        supplier_sku=record.supplier_sku,
        promidata_hash=entry.hash,
        source_url=entry.url,
        names=record.names,
        descriptions=record.descriptions,
        category_id=category_id,
        brand=record.brand,
        short_descriptions=record.short_descriptions,
        meta=record.meta,
        web_shop_information=record.web_shop_information,
        secondary_categories=record.secondary_categories,
        default_products=record.default_products,
        release_date=record.release_date,
        videos=list(record.videos),
        documents=list(record.documents),
        sample_prices=record.sample_prices,
        certificates=record.certificates,
        forbidden_regions=record.forbidden_regions,
        extra=record.extra,
        is_active=True,
        last_seen_at=now,
        updated_at=now,
    )


def _upsert_variants(
    product: Product, record: FamilyRecord, now, protection: FamilyProtection = NO_PROTECTION
) -> dict[str, int]:
    if not record.variants:
        return {}
    rows = [
        Variant(
            product=product,
            sku=v.sku,
            supplier_sku=v.supplier_sku,
            ean=v.ean,
            names=v.names,
            descriptions=v.descriptions,
            short_descriptions=v.short_descriptions,
            meta=v.meta,
            web_shop_information=v.web_shop_information,
            color=v.color,
            size=v.size,
            search_color=v.search_color,
            attributes=v.attributes,
            weight_g=v.weight_g,
            length_mm=v.length_mm,
            width_mm=v.width_mm,
            height_mm=v.height_mm,
            diameter_mm=v.diameter_mm,
            depth_mm=v.depth_mm,
            country_of_origin=v.country_of_origin,
            customs_tariff_number=v.customs_tariff_number,
            hex_color=v.hex_color,
            pms_color=v.pms_color,
            filters=v.filters,
            fragile=v.fragile,
            usb_item=v.usb_item,
            delivery_days=v.delivery_days,
            delivery_texts=v.delivery_texts,
            release_date=v.release_date,
            videos=list(v.videos),
            documents=list(v.documents),
            **{name: getattr(v.packaging, name) for name in PACKAGING_FIELDS},
            battery=v.battery,
            price_region=v.price_region,
            minimum_order_quantity=v.minimum_order_quantity,
            quantity_increment=v.quantity_increment,
            region_terms=v.region_terms,
            extra=v.extra,
            position=position,
            is_active=True,
            updated_at=now,
        )
        for position, v in enumerate(record.variants)
    ]
    if protection.variants:
        family_protection_apply(protection, variants=rows, now=now)
    created = Variant.objects.bulk_create(
        rows, update_conflicts=True, unique_fields=["product", "sku"], update_fields=VARIANT_FIELDS
    )
    if all(v.pk for v in created):
        return {v.sku: v.pk for v in created}
    return dict(
        Variant.objects.filter(product=product, sku__in=[v.sku for v in rows]).values_list(
            "sku", "pk"
        )
    )


def _replace_price_tiers(
    record: FamilyRecord, variant_ids: dict[str, int], *, existed: bool
) -> int:
    if existed:
        PriceTier.objects.filter(variant_id__in=variant_ids.values()).delete()
    tiers = [
        (variant_ids[v.sku], *tier_values(tier)) for v in record.variants for tier in v.price_tiers
    ]
    return insert_rows(PriceTier, ("variant_id", *TIER_COLUMNS), tiers)


@dataclass
class _ImagesWritten:
    linked: int
    known: list[str]
    missing: list[str]
    print_options: int


def _replace_images(
    record: FamilyRecord, variant_ids: dict[str, int], *, existed: bool
) -> _ImagesWritten:
    """Store the declared image URLs of variants and print positions (with the print data),
    and link those whose bytes are already stored. One lookup of stored media for all."""
    ids = list(variant_ids.values())
    if existed:
        VariantImage.objects.filter(variant_id__in=ids).delete()
    declared = [
        VariantImage(
            variant_id=variant_ids[v.sku],
            url=image.url,
            file_name=image.file_name,
            position=image.position,
        )
        for v in record.variants
        for image in v.images
    ]
    VariantImage.objects.bulk_create(declared)
    urls = {d.url for d in declared} | {
        image.url
        for v in record.variants
        for position in v.print_positions
        for image in position.images
    }
    stored = dict(
        ImageSource.objects.filter(url__in=urls, media__isnull=False).values_list("url", "media_id")
    )
    printed = print_data_replace(record, variant_ids, existed=existed, stored_media=stored)
    if existed:
        VariantMedia.objects.filter(variant_id__in=ids).delete()
    links = media_links_for(declared, stored)
    VariantMedia.objects.bulk_create(links)
    return _ImagesWritten(
        linked=len(links),
        known=sorted(stored),
        missing=sorted(urls - stored.keys()),
        print_options=printed.options,
    )


def media_links_for(declared, stored: dict[str, int]) -> list[VariantMedia]:
    """``VariantMedia`` rows for ``declared`` images whose URL maps to stored media.

    Two URLs of one variant may carry the same bytes: the link keeps the lower position.
    """
    best: dict[tuple[int, int], int] = {}
    for image in declared:
        media_id = stored.get(image.url)
        if media_id is None:
            continue
        key = (image.variant_id, media_id)
        if key not in best or image.position < best[key]:
            best[key] = image.position
    return [
        VariantMedia(variant_id=variant_id, media_id=media_id, position=position)
        for (variant_id, media_id), position in best.items()
    ]
