"""The API's response shapes: the published contract (they make the OpenAPI document) and
what every response but one is checked against before it is sent. The exception is the
whole product (``Product``): checking a real-size family's 25,000 tiers costs more than
building them (0.4 s), so it is sent as built, and the contract tests check every product
of a synced catalog against it.

They are plain pydantic models, not ninja's ``Schema``: that one runs a Python validator on
every nested object (to read Django model attributes, which the services never hand over),
which made checking the largest product take 1.2 s instead of 0.4 s.

Decimal values (prices, dimensions, weights) are strings such as ``"1.25"``: JSON numbers
are binary floats in most clients, and a price must not turn into 1.2499999. Free-form
feed data (``names``, ``attributes``, ``extra``...) is passed on as the feed sent it.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Texts = dict[str, Any]  # {language: text}, as the feed sends it


class Error(BaseModel):
    error: str = Field(description="What went wrong, in one line.")


# --- catalog: products ---------------------------------------------------------------------
class FamilyStock(BaseModel):
    total: int | None = Field(
        description="Pieces on stock over the active variants with a known quantity; "
        "null until stock was read (PROMIDATA_STOCK_URL_TEMPLATE)."
    )
    read_at: datetime | None = Field(description="When the stock stage last read it.")


class VariantStock(BaseModel):
    quantity: int | None = Field(
        description="The stock service's OnStock, as last read (kept when a read fails)."
    )
    read_at: datetime | None = Field(description="When it was last confirmed (200 or 304).")


class ProductSummary(BaseModel):
    id: int = Field(description="Stable row id; the list is ordered by it.")
    sku: str
    supplier: str = Field(description="The supplier's A-number, e.g. A23.")
    supplier_sku: str
    is_active: bool
    updated_at: datetime
    names: Texts
    category: str | None = Field(description="Category key, e.g. BAGS/SHOPPING_BAGS.")
    brand: str
    variant_count: int
    image: str | None = Field(description="Absolute URL of the main image, if stored.")
    stock: FamilyStock
    url: str = Field(description="Absolute URL of the whole product.")


class ProductPage(BaseModel):
    results: list[ProductSummary]
    next: str | None = Field(description="URL of the next page; null on the last page.")


class PriceTier(BaseModel):
    region: str = Field(description="Price region as the feed names it, e.g. EURO, CHF, SEK.")
    kind: Literal["sell", "buy"]
    min_quantity: int = Field(description="From this many pieces on.")
    price: str = Field(description="Decimal string: the price of one piece (or unit).")
    currency: str = Field(description="ISO 4217.")
    on_request: bool


class Image(BaseModel):
    url: str = Field(description="Absolute URL in the dealer's storage.")
    sha256: str
    content_type: str
    width: int | None
    height: int | None


class PrintCost(BaseModel):
    sku: str
    supplier_sku: str
    names: Texts
    descriptions: Texts
    calculation_type: str = Field(
        description='"Unique" (once per order), "Multiplied" (per piece).'
    )
    calculation_amount: str | None
    requirement: Any = Field(description="As the feed sends it; a quote does not apply it.")
    active_regions: Any
    info: Any
    region_terms: Any
    extra: Any
    prices: list[PriceTier]


class PrintOption(BaseModel):
    sku: str
    supplier_sku: str
    print_code: str
    reference: str
    names: Texts
    descriptions: Texts
    colors: int | None = Field(description="Number of print colours (PrintColor).")
    color_text: str
    max_colors: int | None
    imprint_type: str
    dimensions: dict[str, str | None]
    is_default: bool | None
    active_regions: Any
    info: Any
    region_terms: Any
    extra: Any
    prices: list[PriceTier]
    costs: list[PrintCost]


class PrintPosition(BaseModel):
    code: str
    supplier_code: str
    names: Texts
    descriptions: Texts
    max_print_area: str
    max_width: str | None
    max_height: str | None
    info: Any
    extra: Any
    images: list[Image]
    options: list[PrintOption]


class Variant(BaseModel):
    sku: str
    supplier_sku: str
    ean: str
    is_active: bool
    names: Texts
    descriptions: Texts = Field(description="{language: sanitised HTML}")
    short_descriptions: Texts
    color: str
    size: str
    search_color: str
    hex_color: str
    pms_color: str
    attributes: dict[str, Any]
    weight_g: str | None
    dimensions_mm: dict[str, str | None]
    country_of_origin: str
    customs_tariff_number: str
    specifications: dict[str, Any]
    filters: dict[str, Any]
    meta: dict[str, Any]
    fragile: bool | None
    usb_item: bool | None
    battery: dict[str, Any]
    delivery_days: int | None
    delivery_texts: Texts
    release_date: date | None
    videos: list[Any]
    documents: list[Any]
    carton: dict[str, Any]
    item_box: dict[str, Any]
    region_terms: dict[str, Any]
    extra: dict[str, Any]
    images: list[Image]
    prices: list[PriceTier] = Field(description="Every tier of every region.")
    print_positions: list[PrintPosition]
    stock: VariantStock


class Product(BaseModel):
    sku: str
    supplier: str
    supplier_name: str
    supplier_sku: str
    is_active: bool
    created_at: datetime
    updated_at: datetime
    names: Texts
    descriptions: Texts = Field(description="{language: sanitised HTML}")
    short_descriptions: Texts
    category: str | None
    secondary_categories: list[Any]
    brand: str
    specifications: dict[str, Any]
    meta: dict[str, Any]
    default_products: dict[str, Any]
    release_date: date | None
    videos: list[Any]
    documents: list[Any]
    sample_prices: dict[str, Any]
    certificates: dict[str, Any]
    forbidden_regions: list[Any]
    extra: dict[str, Any]
    stock: FamilyStock
    variants: list[Variant]


# --- catalog: categories, changes ----------------------------------------------------------
class CategoryNode(BaseModel):
    key: str
    parent: str | None = Field(description="The parent's key; null at the top.")
    names: Texts
    product_count: int = Field(description="Active products in this category.")
    total_product_count: int = Field(description="Active products here and in every descendant.")


class CategoryList(BaseModel):
    results: list[CategoryNode]


class Change(BaseModel):
    cursor: int = Field(description="This change's position in the feed.")
    kind: Literal["created", "updated", "deactivated", "reactivated"]
    sku: str
    supplier: str
    is_active: bool = Field(description="The product's state now (it may have changed since).")
    run_id: int | None
    at: datetime
    url: str = Field(description="Absolute URL of the product.")


class ChangePage(BaseModel):
    results: list[Change] = Field(description="Oldest first.")
    next: int = Field(description="The cursor to pass as since= next time.")
    has_more: bool = Field(description="True when more changes are waiting already.")
    next_url: str


# --- catalog: quote ------------------------------------------------------------------------
class QuoteLine(BaseModel):
    unit_price: str | None
    min_quantity: int | None = Field(description="The tier used.")
    total: str | None


class QuoteCost(BaseModel):
    sku: str
    calculation_type: str
    calculation_amount: str | None
    requirement: Any
    unit_price: str | None
    min_quantity: int | None
    total: str | None
    on_request: bool


class QuotePrint(BaseModel):
    option: str
    position: str
    unit_price: str | None
    min_quantity: int | None
    total: str | None
    costs: list[QuoteCost]


class Quote(BaseModel):
    variant: str
    quantity: int
    region: str
    currency: str
    article: QuoteLine
    print: QuotePrint | None
    total: str | None = Field(description="Null when any tier used is on request.")
    on_request: bool


# --- operator endpoints ----------------------------------------------------------------------
class SyncRequest(BaseModel):
    supplier: str | None = Field(None, description='A supplier code such as "A23"; omit for all.')
    force: bool = Field(False, description="Re-import families whose hash did not change.")


class ReimportRequest(BaseModel):
    skus: list[str] = Field(
        ...,
        description="Family or variant SKUs (at most 500); their families are re-imported now, "
        "whatever their stored hashes, in a run per supplier with trigger manual.",
    )


class Anything(BaseModel):
    """An object whose keys are described by the endpoint."""

    model_config = ConfigDict(extra="allow")
