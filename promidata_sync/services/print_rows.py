"""Writing a family's print data: positions, their images, options, costs and every tier.

``print_data_replace`` runs inside the family's transaction (``family_write``): the family's
old print rows are deleted bottom-up and the new ones inserted in bulk, level by level (the
leaves, tiers and images, by COPY), so a family costs the same number of queries whatever its
number of variants, positions, options and costs (Django splits a bulk insert only where the
database needs it: SQLite's variable limit), and no row of an option the feed removed is left
behind.
"""

from __future__ import annotations

from dataclasses import dataclass

from catalog.models import (
    PrintCost,
    PrintCostTier,
    PrintOption,
    PrintOptionTier,
    PrintPosition,
    PrintPositionImage,
)
from promidata_sync.feed import FamilyRecord
from promidata_sync.services.bulk_rows import insert_rows

# Column orders of the leaf rows, which go in by COPY (``bulk_rows``).
TIER_COLUMNS = ("region", "kind", "min_quantity", "price", "currency", "on_request")
IMAGE_COLUMNS = ("position_id", "order", "url", "file_name", "media_id")


@dataclass
class PrintWriteResult:
    positions: int = 0
    options: int = 0
    costs: int = 0
    tiers: int = 0
    image_urls: frozenset[str] = frozenset()  # every position image URL the family declares


def print_data_delete(variant_ids: list[int]) -> None:
    """Delete the print rows of these variants, leaves first, one DELETE per table.

    ``QuerySet.delete()`` would collect every option and cost first and delete them by
    batches of 100 ids; with the leaves gone nothing cascades any more, so each level is
    deleted by one statement (``_raw_delete``: Django's own fast path for deletes that
    cascade nothing and send no signals; no signal receivers are attached to these models).
    """
    if not variant_ids:
        return
    levels = (
        PrintCostTier.objects.filter(cost__option__position__variant_id__in=variant_ids),
        PrintOptionTier.objects.filter(option__position__variant_id__in=variant_ids),
        PrintPositionImage.objects.filter(position__variant_id__in=variant_ids),
        PrintCost.objects.filter(option__position__variant_id__in=variant_ids),
        PrintOption.objects.filter(position__variant_id__in=variant_ids),
        PrintPosition.objects.filter(variant_id__in=variant_ids),
    )
    for queryset in levels:
        queryset._raw_delete(queryset.db)


def print_data_replace(
    record: FamilyRecord,
    variant_ids: dict[str, int],
    *,
    existed: bool,
    stored_media: dict[str, int],
) -> PrintWriteResult:
    """Replace the print data of the record's variants; link position images whose bytes
    are stored already (``stored_media``: URL -> media id)."""
    if existed:
        print_data_delete(list(variant_ids.values()))
    result = PrintWriteResult()
    positions = [
        (
            position,
            PrintPosition(
                variant_id=variant_ids[variant.sku],
                order=order,
                code=position.code,
                supplier_code=position.supplier_code,
                names=position.names,
                descriptions=position.descriptions,
                max_print_area=position.max_print_area,
                max_width=position.max_width,
                max_height=position.max_height,
                info=position.info,
                extra=position.extra,
            ),
        )
        for variant in record.variants
        for order, position in enumerate(variant.print_positions)
    ]
    if not positions:
        return result
    PrintPosition.objects.bulk_create([row for _, row in positions])
    images = [
        (row.pk, image.position, image.url, image.file_name, stored_media.get(image.url))
        for position, row in positions
        for image in position.images
    ]
    insert_rows(PrintPositionImage, IMAGE_COLUMNS, images)
    options = [
        (option, _option_row(option, row.pk, order))
        for position, row in positions
        for order, option in enumerate(position.options)
    ]
    PrintOption.objects.bulk_create([row for _, row in options])
    option_tiers = [
        (row.pk, *tier_values(tier)) for option, row in options for tier in option.tiers
    ]
    insert_rows(PrintOptionTier, ("option_id", *TIER_COLUMNS), option_tiers)
    costs = [
        (cost, _cost_row(cost, row.pk, order))
        for option, row in options
        for order, cost in enumerate(option.costs)
    ]
    PrintCost.objects.bulk_create([row for _, row in costs])
    cost_tiers = [(row.pk, *tier_values(tier)) for cost, row in costs for tier in cost.tiers]
    insert_rows(PrintCostTier, ("cost_id", *TIER_COLUMNS), cost_tiers)
    result.positions, result.options, result.costs = len(positions), len(options), len(costs)
    result.tiers = len(option_tiers) + len(cost_tiers)
    result.image_urls = frozenset(url for _, _, url, _, _ in images)
    return result


def _option_row(option, position_id: int, order: int) -> PrintOption:
    return PrintOption(
        position_id=position_id,
        order=order,
        sku=option.sku,
        supplier_sku=option.supplier_sku,
        print_code=option.print_code,
        reference=option.reference,
        names=option.names,
        descriptions=option.descriptions,
        print_colors=option.print_colors,
        print_color_text=option.print_color_text,
        dimension=option.dimension,
        width=option.width,
        height=option.height,
        depth=option.depth,
        diameter=option.diameter,
        imprint_type=option.imprint_type,
        active_regions=option.active_regions,
        max_colors=option.max_colors,
        is_default=option.is_default,
        max_size_cm2=option.max_size_cm2,
        info=option.info,
        region_terms=option.region_terms,
        extra=option.extra,
    )


def _cost_row(cost, option_id: int, order: int) -> PrintCost:
    return PrintCost(
        option_id=option_id,
        order=order,
        sku=cost.sku,
        supplier_sku=cost.supplier_sku,
        names=cost.names,
        descriptions=cost.descriptions,
        calculation_type=cost.calculation_type,
        calculation_amount=cost.calculation_amount,
        requirement=cost.requirement,
        active_regions=cost.active_regions,
        info=cost.info,
        region_terms=cost.region_terms,
        extra=cost.extra,
    )


def tier_values(tier) -> tuple:
    """A ``PriceTierRecord``'s values in the order of ``TIER_COLUMNS``."""
    return (
        tier.region,
        tier.kind,
        tier.min_quantity,
        tier.price,
        tier.currency,
        tier.on_request,
    )
