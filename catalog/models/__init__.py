"""The dealer's catalog: what the feed says about each product, its variants, prices and
print options, and the stored images. ``products`` holds the articles, ``printing`` the
decoration options a quote prices on top of them, ``changes`` the feed of what changed."""

from catalog.models.changes import CatalogChange, ChangeCounter
from catalog.models.printing import (
    PrintCost,
    PrintCostTier,
    PrintOption,
    PrintOptionTier,
    PrintPosition,
    PrintPositionImage,
)
from catalog.models.products import (
    Category,
    Media,
    PriceTier,
    Product,
    Supplier,
    Variant,
    VariantMedia,
    media_upload_to,
)
from catalog.models.rules import ProtectedField, RuleChange, SupplierExclusion
from catalog.models.stock import StockLevel

__all__ = [
    "CatalogChange",
    "Category",
    "ChangeCounter",
    "Media",
    "PriceTier",
    "PrintCost",
    "PrintCostTier",
    "PrintOption",
    "PrintOptionTier",
    "PrintPosition",
    "PrintPositionImage",
    "Product",
    "ProtectedField",
    "RuleChange",
    "StockLevel",
    "Supplier",
    "SupplierExclusion",
    "Variant",
    "VariantMedia",
    "media_upload_to",
]
