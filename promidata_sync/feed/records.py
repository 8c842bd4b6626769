"""Plain, immutable records produced by the Promidata feed parsers.

The parsers in this package turn raw feed files (Import.txt, CAT.csv, product-family JSON)
into these records. Nothing here touches the database or the network: the sync services
consume the records and decide what to write.
"""

from __future__ import annotations

from dataclasses import dataclass
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
    """One image of a variant; position 0 is the main image."""

    url: str
    file_name: str
    position: int


@dataclass(frozen=True, slots=True)
class VariantRecord:
    """One child product of a family (the thing that is actually sold)."""

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
