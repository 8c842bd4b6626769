"""Pure parsers for the Promidata feed (Import.txt, CAT.csv, product-family JSON).

No Django ORM, no network, no database: input is bytes/str (or a decoded dict), output is the
frozen records of :mod:`.records`. See /work/shared/promidata-format.md for the format.
"""

from .categories import parse_categories
from .family import parse_family
from .import_index import parse_import_index
from .records import (
    CategoriesFile,
    CategoryRecord,
    FamilyRecord,
    FeedDataError,
    ImageRecord,
    ImportEntry,
    ImportIndex,
    MalformedLine,
    PriceTierRecord,
    VariantRecord,
)

__all__ = [
    "CategoriesFile",
    "CategoryRecord",
    "FamilyRecord",
    "FeedDataError",
    "ImageRecord",
    "ImportEntry",
    "ImportIndex",
    "MalformedLine",
    "PriceTierRecord",
    "VariantRecord",
    "parse_categories",
    "parse_family",
    "parse_import_index",
]
