"""What the catalog can hold, checked at the edge, before anything reaches a database.

The parsers call these helpers so that a value the database would refuse (too long, out of
range, a NUL character, a malformed URL) never leaves the parser: it becomes a warning (the
field is dropped), a skipped child, a malformed line, or an invalid family, as each parser's
docstring says. SQLite stores what PostgreSQL refuses; checking here makes the embedded
default accept exactly what PostgreSQL accepts.

The numbers mirror the catalog's columns (``tests/feed/test_limits.py`` keeps them in step
with the models). Pure: no Django, no network.
"""

from __future__ import annotations

import re
import unicodedata
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from urllib.parse import urlsplit

from promidata_sync import url_safety

# --- column sizes (characters) -----------------------------------------------------------------
SKU_CHARS = 255  # Product.sku, Variant.sku, supplier_sku
TEXT_CHARS = 255  # Product.brand, Variant.color / size, Supplier.name
SUPPLIER_CODE_CHARS = 32  # Supplier.code
HASH_CHARS = 128  # Product.promidata_hash, SyncItem.token
URL_CHARS = url_safety.MAX_URL_CHARS  # every URL column
URL_BYTES = 2000  # ...and its indexes, in UTF-8 bytes
EAN_CHARS = 32
TARIFF_CHARS = 32
SEARCH_COLOR_CHARS = 64
REGION_CHARS = 32
CALCULATION_TYPE_CHARS = 64  # PrintCost.calculation_type
HEX_COLOR_CHARS = 7  # "#RRGGBB"
PMS_CHARS = 64
RAW_COUNTRY_CHARS = 64  # an unknown country of origin, kept as sent
FILE_NAME_CHARS = 500  # VariantImage.file_name
CATEGORY_KEY_CHARS = 255
CATEGORY_ASSET_CHARS = 1000  # Category.icon / image
CATEGORY_NAME_CHARS = 1000  # a name in Category.names (JSON, but shown in every list)
CATEGORY_DEPTH = 10  # real keys are 2 to 4 levels deep
# --- numbers -------------------------------------------------------------------------------------
MAX_INT = 2_147_483_647  # PositiveIntegerField is a 32-bit integer on PostgreSQL
MEASURE_PLACES, MEASURE_LIMIT = Decimal("0.001"), Decimal(10) ** 9  # DecimalField(12, 3)
PRICE_PLACES, PRICE_LIMIT = Decimal("0.0001"), Decimal(10) ** 10  # DecimalField(14, 4)
# --- sizes of one file ---------------------------------------------------------------------------
# Objects and arrays one family file may hold. A real 3.6 MB family has about 60,000; a 20 MB
# file of empty objects has millions and takes over a gigabyte to decode.
MAX_JSON_CONTAINERS = 1_000_000
# Import.txt lines longer than this are refused unread (a URL of 2,000 plus its hash fit).
INDEX_LINE_CHARS = 4096
# Warnings kept per family; the rest are counted.
WARNINGS_KEPT = 50
# Language blocks read per ProductDetails and images kept per variant (real files: up to 9
# of each); beyond them a small file could make the parser do millions of reads.
LANGUAGES_KEPT = 40
IMAGES_PER_VARIANT = 50
# Price regions read per price object (real: up to nine), and print data per family: a
# referenced print option is stored once per position that uses it, so a small file could
# otherwise ask for millions of rows (real: 72 options in the largest file seen).
REGIONS_KEPT = 50
POSITIONS_PER_VARIANT = 50
OPTIONS_PER_POSITION = 200
COSTS_PER_OPTION = 50
PRINT_OPTIONS_PER_FAMILY = 20_000

SUPPLIER_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,31}")
# An Import.txt hash is an opaque token (40 hex digits so far): printable ASCII, no spaces.
HASH_TOKEN = re.compile(r"[\x21-\x7e]{1,128}")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
# JSON escapes that decode to characters a database refuses or a page should not carry:
# \u0000-\u001f, \u007f, surrogates (\ud800-\udfff), \b and \f. A backslash-escaped backslash
# before "b" or "f" also matches; that only costs a needless (correct) cleaning pass.
_SUSPICIOUS_ESCAPE = re.compile(r"\\(?:u00[01][0-9a-fA-F]|u007[fF]|u[dD][89a-fA-F]|[bf])")
URL_SCHEMES = frozenset({"http", "https", "file"})


# --- text ----------------------------------------------------------------------------------------
def clean_text(text: str) -> str:
    """``text`` without NUL and other control characters (tab, CR and LF stay) and with lone
    surrogates (which no database can encode) replaced by U+FFFD."""
    if _CONTROL.search(text):
        text = _CONTROL.sub("", text)
    if _SURROGATE.search(text):
        text = _SURROGATE.sub("\ufffd", text)
    return text


def needs_cleaning(raw_json: str) -> bool:
    """True when decoded strings of ``raw_json`` may hold characters ``clean_text`` removes.

    Raw control characters cannot occur inside JSON strings (the decoder refuses them), so
    escapes are the only way in; clean files skip the cleaning walk.
    """
    return _SUSPICIOUS_ESCAPE.search(raw_json) is not None


def clean_tree(value):
    """Return ``(cleaned copy of a decoded JSON value, number of strings changed)``.

    Iterative, so a deeply nested document cannot exhaust the stack. Keys are cleaned too; when
    two keys of an object become equal, the first one wins.
    """
    changed = 0

    def clean(item):
        nonlocal changed
        if isinstance(item, str):
            cleaned = clean_text(item)
            if cleaned != item:
                changed += 1
            return cleaned
        return item

    root = [value]
    stack = [(root, 0)]
    while stack:
        container, key = stack.pop()
        item = container[key]
        if isinstance(item, dict):
            copy: dict = {}
            for k, v in item.items():
                copy.setdefault(clean(k), v)
            container[key] = copy
            stack.extend((copy, k) for k in copy)
        elif isinstance(item, list):
            copy = list(item)
            container[key] = copy
            stack.extend((copy, i) for i in range(len(copy)))
        else:
            container[key] = clean(item)
    return root[0], changed


# --- numbers -------------------------------------------------------------------------------------
def fit_decimal(value: Decimal, places: Decimal, limit: Decimal) -> Decimal | None:
    """``value`` rounded (half up) to ``places``, or None when it does not fit the column.

    Rounding here, not in the database, keeps SQLite and PostgreSQL identical: a price of
    9,999,999,999.99995 passes a naive ``< 10**10`` check but rounds to 11 integer digits.
    """
    try:
        rounded = value.quantize(places, rounding=ROUND_HALF_UP)
    except InvalidOperation:  # more digits than the decimal context can hold
        return None
    return rounded if abs(rounded) < limit else None


def fits_int(value: int) -> bool:
    return 0 <= value <= MAX_INT


# --- identifiers ---------------------------------------------------------------------------------
def _has_format_or_control(text: str) -> bool:
    """Any Unicode "other" character (control, format such as bidi marks, unassigned...):
    none belongs in an identifier, and tab or line feed would break one-line output."""
    return any(unicodedata.category(char).startswith("C") for char in text)


def supplier_code_problem(code: str) -> str | None:
    """Why ``code`` cannot be a supplier code (an A-number such as A23), or None."""
    if len(code) > SUPPLIER_CODE_CHARS:
        return f"supplier folder is {len(code):,} characters long (at most {SUPPLIER_CODE_CHARS})"
    if not SUPPLIER_CODE.fullmatch(code):
        return f"supplier folder {code[:40]!r} is not a supplier code such as A23"
    return None


def sku_problem(sku: str) -> str | None:
    """Why ``sku`` cannot be a product or variant SKU, or None."""
    if len(sku) > SKU_CHARS:
        return f"SKU is {len(sku):,} characters long (at most {SKU_CHARS})"
    if _has_format_or_control(sku):
        return "SKU contains control or format characters"
    if sku.strip() in ("", ".", ".."):
        return "SKU is empty"
    return None


def hash_problem(token: str) -> str | None:
    """Why ``token`` cannot be an Import.txt hash, or None."""
    if len(token) > HASH_CHARS:
        return f"hash is {len(token):,} characters long (at most {HASH_CHARS})"
    if not HASH_TOKEN.fullmatch(token):
        return "hash contains characters other than printable ASCII"
    return None


def url_problem(url: str) -> str | None:
    """Why ``url`` cannot be stored and fetched, or None.

    Its syntax only (``url_safety.url_problem``: length, control characters, an authority the
    HTTP library reads as ``urlsplit`` does, a valid port), at most ``URL_BYTES`` in UTF-8, an
    http, https or file scheme, and a host. Whether that host may be reached is the fetcher's
    decision.
    """
    problem = url_safety.url_problem(url)
    if problem:
        return problem
    size = len(url.encode("utf-8", "surrogatepass"))
    if size > URL_BYTES:
        # PostgreSQL's btree indexes on the URL columns hold about 2,700 bytes a row: 2,000
        # characters of Chinese are 6,000.
        return f"URL is {size:,} bytes long in UTF-8 (at most {URL_BYTES:,})"
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in URL_SCHEMES:
        return f"URL scheme {scheme or '(none)'!r} is not http, https or file"
    if scheme != "file" and not parts.hostname:
        return "URL has no host"
    return None


def category_key_problem(key: str) -> str | None:
    """Why ``key`` cannot be a category key, or None."""
    if len(key) > CATEGORY_KEY_CHARS:
        return f"category key is {len(key):,} characters long (at most {CATEGORY_KEY_CHARS})"
    segments = key.split("/")
    if len(segments) > CATEGORY_DEPTH:
        return f"category key is {len(segments):,} levels deep (at most {CATEGORY_DEPTH})"
    if any(not segment.strip() for segment in segments):
        return f"category key {key[:60]!r} has an empty path segment"
    if _CONTROL.search(key):
        return "category key contains control characters"
    return None
