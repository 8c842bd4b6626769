"""Plain, immutable records produced by the Promidata feed parsers.

The parsers in this package turn raw feed files (Import.txt, CAT.csv, product-family JSON)
into these records. Nothing here touches the database or the network: the sync services
consume the records and decide what to write.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal


class FeedDataError(ValueError):
    """Raised with a clear, human message for broken JSON / invalid family data."""


@dataclass(frozen=True, slots=True)
class ImportEntry:
    """One product-family line of Import.txt.

    ``url`` is absolute, ``hash`` is stripped and upper-cased, ``supplier_code`` is the URL
    folder holding the file and ``family_sku`` the URL-decoded file name without ``.json``.
    """

    url: str
    hash: str
    supplier_code: str
    family_sku: str
    line_number: int


@dataclass(frozen=True, slots=True)
class MalformedLine:
    """A line (or CSV row) that could not be used, with the reason in plain words."""

    line_number: int
    text: str
    reason: str
    supplier_code: str | None


@dataclass(frozen=True, slots=True)
class ImportIndex:
    """The parsed Import.txt: the categories URL plus one entry per product family."""

    categories_url: str | None
    entries: tuple[ImportEntry, ...]
    malformed: tuple[MalformedLine, ...]
    duplicate_lines: int
    # False when the bytes came without any framing that proves they are whole (no
    # Content-Length, not chunked): such an index may be cut at a line boundary unnoticed, so
    # nothing may be deactivated because of it. The parser cannot know; the reader sets it.
    complete: bool = True
    # SHA-256 of the file's bytes, set by the reader: which publication this is, so that
    # reading the same one twice never counts as two absences of a family.
    digest: str = ""

    def by_supplier(self) -> dict[str, list[ImportEntry]]:
        """Group entries by supplier code; suppliers ordered by first appearance."""
        grouped: dict[str, list[ImportEntry]] = {}
        for entry in self.entries:
            grouped.setdefault(entry.supplier_code, []).append(entry)
        return grouped

    def supplier_codes(self) -> list[str]:
        """Distinct supplier codes in order of first appearance."""
        return list(self.by_supplier())


@dataclass(frozen=True, slots=True)
class CategoryRecord:
    """One category of CAT.csv; ``names`` maps a lower-case language to the leaf name."""

    key: str
    parent_key: str | None
    names: dict[str, str]
    icon: str
    image: str


@dataclass(frozen=True, slots=True)
class CategoriesFile:
    """All categories of CAT.csv (parents before children) plus the rows that were unusable."""

    categories: tuple[CategoryRecord, ...]
    malformed: tuple[MalformedLine, ...]
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class PriceTierRecord:
    """One price break: ``price`` applies from ``min_quantity`` pieces on."""

    region: str
    kind: str
    min_quantity: int
    price: Decimal
    currency: str
    on_request: bool


@dataclass(frozen=True, slots=True)
class ImageRecord:
    """One image of a variant or a print position; position 0 is the main image."""

    url: str
    file_name: str
    position: int


# A region's terms, JSON-ready: {"currency": "EUR", "minimum_order_quantity": int | None,
# "quantity_increment": int | None, "vat_percentage": int | float | None,
# "vat_setting_id": int | None}, keyed by region ("EURO", "de-CH"...).
RegionTerms = dict[str, dict]


@dataclass(frozen=True, slots=True)
class PrintCostRecord:
    """A cost of a print option (``ImprintCosts[]``): setup, film, handling..."""

    sku: str
    supplier_sku: str
    names: dict[str, str]
    descriptions: dict[str, str]
    calculation_type: str
    calculation_amount: Decimal | None
    requirement: dict | None
    active_regions: dict[str, bool]
    info: dict
    region_terms: RegionTerms
    tiers: tuple[PriceTierRecord, ...]
    extra: dict


@dataclass(frozen=True, slots=True)
class PrintOptionRecord:
    """A print technique of a position, inline or resolved from ``ImprintReferences``."""

    sku: str
    supplier_sku: str
    print_code: str
    reference: str  # its ImprintReferences key; "" when inline
    names: dict[str, str]
    descriptions: dict[str, str]
    print_colors: int | None
    print_color_text: str
    dimension: str
    width: Decimal | None
    height: Decimal | None
    depth: Decimal | None
    diameter: Decimal | None
    imprint_type: str
    active_regions: dict[str, bool]
    max_colors: int | None
    is_default: bool | None
    max_size_cm2: Decimal | None
    info: dict
    region_terms: RegionTerms
    tiers: tuple[PriceTierRecord, ...]
    costs: tuple[PrintCostRecord, ...]
    extra: dict


@dataclass(frozen=True, slots=True)
class PrintPositionRecord:
    """A place on a variant that can carry a print (``ImprintPositions[]``)."""

    code: str
    supplier_code: str
    names: dict[str, str]
    descriptions: dict[str, str]
    max_print_area: str
    max_width: Decimal | None
    max_height: Decimal | None
    info: dict
    images: tuple[ImageRecord, ...]
    options: tuple[PrintOptionRecord, ...]
    extra: dict


@dataclass(frozen=True, slots=True)
class PackagingRecord:
    """Carton and item box data of a variant (read from numbers or decimal-comma strings)."""

    carton_length_cm: Decimal | None = None
    carton_width_cm: Decimal | None = None
    carton_height_cm: Decimal | None = None
    carton_weight_net_kg: Decimal | None = None
    carton_weight_gross_kg: Decimal | None = None
    carton_quantity: int | None = None
    item_box_length_cm: Decimal | None = None
    item_box_width_cm: Decimal | None = None
    item_box_height_cm: Decimal | None = None
    item_weight_with_accessories_kg: Decimal | None = None


@dataclass(frozen=True, slots=True)
class VariantRecord:
    """One child product of a family (the thing that is actually sold).

    ``price_tiers`` and ``region_terms`` hold every region of the child; ``price_region`` is
    the preferred one (``PROMIDATA_PRICE_REGIONS``), with its minimum order quantity and step
    copied for lists and summaries. ``extra`` holds everything else the child says.
    """

    sku: str
    supplier_sku: str
    ean: str
    names: dict[str, str]
    color: str
    size: str
    search_color: str
    attributes: dict[str, dict[str, dict[str, str]]]
    weight_g: Decimal | None
    length_mm: Decimal | None
    width_mm: Decimal | None
    height_mm: Decimal | None
    diameter_mm: Decimal | None
    depth_mm: Decimal | None
    country_of_origin: str
    customs_tariff_number: str
    price_region: str
    minimum_order_quantity: int | None
    quantity_increment: int | None
    price_tiers: tuple[PriceTierRecord, ...]
    images: tuple[ImageRecord, ...]
    descriptions: dict[str, str] = field(default_factory=dict)
    short_descriptions: dict[str, str] = field(default_factory=dict)
    meta: dict[str, dict[str, str]] = field(default_factory=dict)
    web_shop_information: dict[str, dict] = field(default_factory=dict)
    hex_color: str = ""
    pms_color: str = ""
    filters: dict[str, str] = field(default_factory=dict)
    fragile: bool | None = None
    usb_item: bool | None = None
    delivery_days: int | None = None
    delivery_texts: dict[str, str] = field(default_factory=dict)
    release_date: date | None = None
    videos: tuple[dict, ...] = ()
    documents: tuple[dict, ...] = ()
    packaging: PackagingRecord = field(default_factory=PackagingRecord)
    battery: dict = field(default_factory=dict)
    region_terms: RegionTerms = field(default_factory=dict)
    print_positions: tuple[PrintPositionRecord, ...] = ()
    extra: dict = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class FamilyRecord:
    """One product-family JSON file: the family texts plus all of its variants."""

    sku: str
    supplier_sku: str
    supplier_code: str
    supplier_name: str
    names: dict[str, str]
    descriptions: dict[str, str]
    category_key: str
    brand: str
    variants: tuple[VariantRecord, ...]
    warnings: tuple[str, ...]  # the first few (``limits.WARNINGS_KEPT``)
    warning_count: int = 0  # all of them
    short_descriptions: dict[str, str] = field(default_factory=dict)
    meta: dict[str, dict[str, str]] = field(default_factory=dict)
    web_shop_information: dict[str, dict] = field(default_factory=dict)
    secondary_categories: list = field(default_factory=list)
    default_products: dict[str, str] = field(default_factory=dict)
    release_date: date | None = None
    videos: tuple[dict, ...] = ()
    documents: tuple[dict, ...] = ()
    sample_prices: dict = field(default_factory=dict)
    certificates: dict = field(default_factory=dict)
    forbidden_regions: list = field(default_factory=list)
    extra: dict = field(default_factory=dict)
