"""Reading the catalog back the way a user would check it."""

from __future__ import annotations

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
