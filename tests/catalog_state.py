"""Reading the catalog back the way a user would check it."""

from __future__ import annotations

from decimal import Decimal

from django.core.files.storage import default_storage

from catalog.models import (
    Category,
    Media,
    PriceTier,
    PrintCost,
    PrintCostTier,
    PrintOption,
    PrintOptionTier,
    PrintPosition,
    PrintPositionImage,
    Product,
    Supplier,
    Variant,
    VariantMedia,
)
from promidata_sync.models import ImageSource, VariantImage

# Bookkeeping columns that a sync may move without changing what the catalog says.
VOLATILE = {"last_seen_at", "last_synced_at", "last_sync_status", "last_sync_message"}


CATALOG_MODELS = (
    Supplier,
    Category,
    Product,
    Variant,
    PriceTier,
    PrintPosition,
    PrintPositionImage,
    PrintOption,
    PrintOptionTier,
    PrintCost,
    PrintCostTier,
    Media,
    VariantMedia,
    ImageSource,
    VariantImage,
)
# Each table's natural key: what names a row whatever its id (ids change when rows are
# replaced, which a re-parse or a changed family does with tiers and print data).
NATURAL_KEYS = {
    Supplier: ("code",),
    Category: ("key",),
    Product: ("supplier", "sku"),
    Variant: ("product", "sku"),
    PrintPosition: ("variant", "order"),
    PrintOption: ("position", "order"),
    PrintCost: ("option", "order"),
    Media: ("sha256",),
}
TIMESTAMPS = {"created_at", "updated_at", "last_seen_at", "fetched_at", "last_synced_at"}


def snapshot() -> dict[str, list[tuple]]:
    """Every row of every catalog table (ordered), minus the volatile bookkeeping columns."""
    result = {}
    for model in CATALOG_MODELS:
        fields = [f.attname for f in model._meta.concrete_fields if f.attname not in VOLATILE]
        result[model.__name__] = list(model.objects.order_by("pk").values_list(*fields))
    return result


def catalog_as_feed() -> dict:
    """The active catalog in the shape of ``SyntheticFeed.expected()``."""
    result: dict[str, dict] = {}
    products = Product.objects.filter(is_active=True).select_related("supplier", "category")
    for product in products:
        variants = {}
        for variant in product.variants.filter(is_active=True):
            tiers = {"sell": [], "buy": []}
            for tier in variant.price_tiers.order_by("kind", "min_quantity"):
                tiers[tier.kind].append((tier.min_quantity, tier.price.normalize()))
            declared = list(
                VariantImage.objects.filter(variant=variant)
                .order_by("position")
                .values_list("url", flat=True)
            )
            variants[variant.sku] = {**tiers, "images": declared}
        result.setdefault(product.supplier.code, {})[product.sku] = {
            "variants": variants,
            "category": product.category.key if product.category else "",
            "names": product.names,
        }
    return result


def normalise_expected(expected: dict) -> dict:
    """``expected()`` with prices normalised like ``catalog_as_feed`` (2.50 == 2.5)."""
    out = {}
    for code, families in expected.items():
        out[code] = {}
        for sku, family in families.items():
            variants = {
                child: {
                    "sell": [(q, p.normalize()) for q, p in v["sell"]],
                    "buy": [(q, p.normalize()) for q, p in v["buy"]],
                    "images": list(v["images"]),
                }
                for child, v in family["variants"].items()
            }
            out[code][sku] = {**family, "variants": variants}
    return {code: fams for code, fams in out.items() if fams}


def assert_images_linked_and_stored() -> None:
    """Every declared image is linked through its stored media, and every media file exists
    in storage with the bytes its sha256 names."""
    import hashlib

    for declared in VariantImage.objects.all():
        source = ImageSource.objects.get(url=declared.url)
        assert source.media_id, f"{declared.url} has no stored media"
        assert VariantMedia.objects.filter(
            variant_id=declared.variant_id, media_id=source.media_id
        ).exists(), f"{declared.url} is not linked to variant {declared.variant_id}"
    for media in Media.objects.all():
        with default_storage.open(media.file.name) as handle:
            data = handle.read()
        assert hashlib.sha256(data).hexdigest() == media.sha256
        assert media.file.name == media.storage_key()


def catalog_content() -> dict[str, list[tuple]]:
    """What the catalog says, table by table, independent of row ids and timestamps: every
    foreign key is replaced by the natural key of the row it points to. Two catalogs with
    the same content compare equal however their rows were written."""
    keys: dict[type, dict[int, tuple]] = {}

    def natural(model, pk):
        if pk is None:
            return None
        if model not in keys:
            fields = NATURAL_KEYS[model]
            rows = model.objects.values_list("pk", *[_attname(model, f) for f in fields])
            keys[model] = {}
            for row in rows:
                keys[model][row[0]] = tuple(
                    natural(model._meta.get_field(f).related_model, value)
                    if model._meta.get_field(f).is_relation
                    else value
                    for f, value in zip(fields, row[1:], strict=True)
                )
        return keys[model][pk]

    result = {}
    for model in CATALOG_MODELS:
        fields = [
            f
            for f in model._meta.concrete_fields
            if f.name != "id" and f.name not in TIMESTAMPS | VOLATILE
        ]
        rows = []
        for values in model.objects.values_list(*[f.attname for f in fields]):
            rows.append(
                tuple(
                    natural(f.related_model, value) if f.is_relation else value
                    for f, value in zip(fields, values, strict=True)
                )
            )
        result[model.__name__] = sorted(rows, key=repr)
    return result


def _attname(model, name: str) -> str:
    return model._meta.get_field(name).attname


def _number(value) -> Decimal | None:
    """A number of a JSON column or a Decimal column, comparable with the oracle's."""
    if value is None:
        return None
    return Decimal(str(value)).normalize()


def _regions(tiers, terms: dict) -> dict:
    """Every region of a price owner in the shape of ``expected()``'s "regions"."""
    regions = {}
    for region, region_terms in terms.items():
        regions[region] = {
            "currency": region_terms.get("currency"),
            "sell": [],
            "buy": [],
            "minimum_order_quantity": region_terms.get("minimum_order_quantity"),
            "quantity_increment": region_terms.get("quantity_increment"),
            "vat_percentage": _number(region_terms.get("vat_percentage")),
            "vat_setting_id": region_terms.get("vat_setting_id"),
        }
    for tier in sorted(tiers, key=lambda t: (t.region, t.kind, t.min_quantity)):
        regions[tier.region][tier.kind].append((tier.min_quantity, tier.price.normalize()))
    return regions


def _print_data(variant) -> list[dict]:
    positions = []
    for position in variant.print_positions.all():
        positions.append(
            {
                "code": position.code,
                "supplier_code": position.supplier_code,
                "names": position.names,
                "descriptions": position.descriptions,
                "max_print_area": position.max_print_area,
                "images": [image.url for image in position.images.all()],
                "options": [
                    {
                        "sku": option.sku,
                        "supplier_sku": option.supplier_sku,
                        "print_code": option.print_code,
                        "names": option.names,
                        "descriptions": option.descriptions,
                        "print_colors": option.print_colors,
                        "print_color_text": option.print_color_text,
                        "dimension": option.dimension,
                        "imprint_type": option.imprint_type,
                        "active_regions": option.active_regions,
                        "max_colors": option.max_colors,
                        "is_default": option.is_default,
                        "regions": _regions(option.tiers.all(), option.region_terms),
                        "costs": [
                            {
                                "sku": cost.sku,
                                "names": cost.names,
                                "calculation_type": cost.calculation_type,
                                "calculation_amount": _number(cost.calculation_amount),
                                "requirement": cost.requirement,
                                "regions": _regions(cost.tiers.all(), cost.region_terms),
                            }
                            for cost in option.costs.all()
                        ],
                    }
                    for option in position.options.all()
                ],
            }
        )
    return positions


def catalog_whole(*, rich: bool = False) -> dict:
    """Per active variant, what ``expected()`` states beyond prices and images: every
    region, the print data and, with ``rich``, the rich fields. ``{code: {family: {child:
    {...}}}}``, read with a constant number of queries."""
    from django.db.models import Prefetch

    positions = PrintPosition.objects.order_by("order").prefetch_related(
        Prefetch("images", queryset=PrintPositionImage.objects.order_by("order")),
        Prefetch(
            "options",
            queryset=PrintOption.objects.order_by("order").prefetch_related(
                "tiers",
                Prefetch(
                    "costs", queryset=PrintCost.objects.order_by("order").prefetch_related("tiers")
                ),
            ),
        ),
    )
    variants = (
        Variant.objects.filter(is_active=True, product__is_active=True)
        .select_related("product__supplier")
        .prefetch_related("price_tiers", Prefetch("print_positions", queryset=positions))
    )
    result: dict = {}
    for variant in variants:
        entry = {
            "regions": _regions(variant.price_tiers.all(), variant.region_terms),
            "print": _print_data(variant),
        }
        if rich:
            entry.update(
                videos=variant.videos,
                release_date=variant.release_date.isoformat() if variant.release_date else None,
                country_of_origin=variant.country_of_origin,
                carton={
                    "length_cm": _number(variant.carton_length_cm),
                    "width_cm": _number(variant.carton_width_cm),
                    "height_cm": _number(variant.carton_height_cm),
                    "weight_net_kg": _number(variant.carton_weight_net_kg),
                    "weight_gross_kg": _number(variant.carton_weight_gross_kg),
                    "quantity": variant.carton_quantity,
                },
                hex_color=variant.hex_color,
                filters=variant.filters,
                extra_keys=sorted(variant.extra.get("child", {})),
            )
        product = variant.product
        result.setdefault(product.supplier.code, {}).setdefault(product.sku, {})[variant.sku] = (
            entry
        )
    return result


def expected_whole(expected: dict, *, rich: bool = False) -> dict:
    """``expected()`` in the shape of ``catalog_whole`` (numbers normalised alike)."""

    def regions(value: dict) -> dict:
        return {
            region: {
                **terms,
                "sell": [(q, p.normalize()) for q, p in terms["sell"]],
                "buy": [(q, p.normalize()) for q, p in terms["buy"]],
                "vat_percentage": _number(terms["vat_percentage"]),
            }
            for region, terms in value.items()
        }

    def option(value: dict) -> dict:
        return {
            **value,
            "regions": regions(value["regions"]),
            "costs": [
                {
                    **cost,
                    "calculation_amount": _number(cost["calculation_amount"]),
                    "regions": regions(cost["regions"]),
                }
                for cost in value["costs"]
            ],
        }

    keys = ("videos", "release_date", "country_of_origin", "hex_color", "filters", "extra_keys")
    result: dict = {}
    for code, families in expected.items():
        for sku, family in families.items():
            for child, variant in family["variants"].items():
                entry = {
                    "regions": regions(variant["regions"]),
                    "print": [
                        {**position, "options": [option(o) for o in position["options"]]}
                        for position in variant["print"]
                    ],
                }
                if rich:
                    entry.update({key: variant[key] for key in keys})
                    entry["carton"] = {
                        key: value if key == "quantity" else _number(value)
                        for key, value in variant["carton"].items()
                    }
                result.setdefault(code, {}).setdefault(sku, {})[child] = entry
    return result
