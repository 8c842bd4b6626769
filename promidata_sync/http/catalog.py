"""``api/catalog/``: products, one product, categories, the change feed and quotes.

Every endpoint needs the ``catalog:read`` scope (or a staff session). Views parse and check
the query, call a service and shape the answer; the logic is in ``services.product_list``,
``services.product_detail``, ``services.changes`` and ``services.quotes``.
"""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime, time
from urllib.parse import urlencode

from django.http import HttpResponse, HttpResponseNotModified
from django.urls import reverse
from django.utils.dateparse import parse_date, parse_datetime
from ninja import Query, Router, Schema
from pydantic import Field
from pydantic_core import to_json

from promidata_sync.http import schemas
from promidata_sync.http.auth import catalog_auth
from promidata_sync.http.errors import ApiError
from promidata_sync.http.routing import route
from promidata_sync.services.changes import changes_after
from promidata_sync.services.product_detail import product_read
from promidata_sync.services.product_list import (
    ProductFilters,
    UnknownCategory,
    category_tree,
    product_page,
)
from promidata_sync.services.quotes import QuoteError, quote

router = Router(auth=catalog_auth, tags=["catalog"])

ERRORS = {400: schemas.Error, 401: schemas.Error, 403: schemas.Error, 429: schemas.Error}
PAGE_DEFAULT, PAGE_MAX = 100, 500
MAX_TEXT = 200  # a filter value longer than any column it is compared with


class ProductQuery(Schema):
    supplier: str | None = Field(None, description="Supplier code, e.g. A23.")
    category: str | None = Field(None, description="Category key; includes its descendants.")
    active: bool | None = Field(None, description="true: active only; false: inactive only.")
    updated_since: str | None = Field(
        None, description="ISO 8601 time; products updated at or after it."
    )
    q: str | None = Field(None, description="Part of the SKU or a name, or a variant's EAN/SKU.")
    limit: int = Field(PAGE_DEFAULT, ge=1, le=PAGE_MAX, description="Page size.")
    cursor: str | None = Field(None, description="From the previous page's next URL.")


@route(
    router,
    "GET",
    "/products/",
    response={200: schemas.ProductPage, **ERRORS},
    summary="List products",
)
def products(request, query: Query[ProductQuery]):
    """Product summaries, in a stable order; follow ``next`` for the following page."""
    filters = ProductFilters(
        supplier=_text(query.supplier, "supplier"),
        category=_text(query.category, "category"),
        active=query.active,
        updated_since=_iso_time(query.updated_since),
        q=_text(query.q, "q"),
    )
    after = _decode_cursor(query.cursor)
    try:
        rows, more = product_page(
            filters, after=after, limit=query.limit, absolute_url=request.build_absolute_uri
        )
    except UnknownCategory:
        raise ApiError(400, f"unknown category {filters.category[:80]!r}") from None
    for row in rows:
        row["url"] = _product_url(request, row["sku"])
    next_url = None
    if more:
        params = {k: v for k, v in request.GET.items() if k != "cursor"}
        params["cursor"] = _encode_cursor(rows[-1]["id"])
        next_url = request.build_absolute_uri(f"{request.path}?{urlencode(params)}")
    return {"results": rows, "next": next_url}


@route(
    router,
    "GET",
    "/products/{path:sku}/",
    response={200: schemas.Product, 304: None, **ERRORS, 404: schemas.Error},
    url_name="catalog_product",
    summary="One product, whole",
)
def product(request, sku: str):
    """The whole product: every variant, every tier of every region, images, print data.

    Sends a weak ``ETag``; a request with ``If-None-Match`` naming it gets 304 and no body,
    without the document being built.
    """
    sku = sku.removesuffix("/")
    wanted = request.headers.get("If-None-Match", "")
    found = product_read(
        sku,
        request.build_absolute_uri,
        base=f"{request.scheme}://{request.get_host()}",
        already_have=lambda etag: _etag_matches(wanted, etag),
    )
    if found is None:
        raise ApiError(404, f"no product {sku[:80]!r}")
    if found.document is None:
        response = HttpResponseNotModified()
    else:
        # Serialised as built: checking a real-size family against ``schemas.Product`` would
        # cost more than building it (25,000 tiers); the contract tests check every document
        # of a synced catalog against the schema instead.
        response = HttpResponse(to_json(found.document), content_type="application/json")
    response["ETag"] = found.etag
    return response


@route(
    router,
    "GET",
    "/categories/",
    response={200: schemas.CategoryList, **ERRORS},
    summary="Category tree",
)
def categories(request):
    """Every category with its parent, names and product counts (active products)."""
    return {"results": category_tree()}


class ChangeQuery(Schema):
    since: int = Field(0, ge=0, le=2**63 - 1, description="The last cursor already seen.")
    limit: int = Field(500, ge=1, le=5000)


@route(
    router, "GET", "/changes/", response={200: schemas.ChangePage, **ERRORS}, summary="Change feed"
)
def changes(request, query: Query[ChangeQuery]):
    """Products created, updated, deactivated or reactivated after ``since``, oldest first.

    Pass the answer's ``next`` as ``since`` on the next call. A change is visible only once
    every earlier one is, so a client polling this way never misses or repeats a change.
    """
    found = changes_after(query.since, limit=query.limit + 1)
    page = found[: query.limit]
    next_cursor = page[-1].seq if page else query.since
    return {
        "results": [
            {
                "cursor": change.seq,
                "kind": change.kind,
                "sku": change.product.sku,
                "supplier": change.product.supplier.code,
                "is_active": change.product.is_active,
                "run_id": change.run_id,
                "at": change.at,
                "url": _product_url(request, change.product.sku),
            }
            for change in page
        ],
        "next": next_cursor,
        "has_more": len(found) > query.limit,
        "next_url": request.build_absolute_uri(
            f"{request.path}?{urlencode({'since': next_cursor, 'limit': query.limit})}"
        ),
    }


class QuoteQuery(Schema):
    variant: str = Field(description="Variant SKU.")
    quantity: int = Field(ge=1, le=1_000_000_000, description="Number of pieces.")
    region: str = Field(description="Price region, e.g. EURO, CHF, SEK.")
    option: str | None = Field(None, description="Print option SKU.")
    position: str | None = Field(None, description="Print position code.")


@route(
    router,
    "GET",
    "/quote/",
    response={200: schemas.Quote, **ERRORS, 404: schemas.Error, 422: schemas.Error},
    summary="Quote a price",
)
def quote_view(request, query: Query[QuoteQuery]):
    """The price of ``quantity`` pieces of a variant in a region, with a print option.

    Tier: the sell tier with the largest minimum quantity not above ``quantity`` (the first
    tier below it). Print: the option's unit price per piece, plus each of its costs priced
    in the region: "Unique" once (x calculation amount), "Multiplied" per piece (x amount).
    Totals are rounded half-up to cents at the end; ``total`` is null when a tier used is
    on request.
    """
    variant, region = _text(query.variant, "variant"), _text(query.region, "region")
    if variant is None or region is None:
        raise ApiError(400, f"{'variant' if variant is None else 'region'}: is required")
    try:
        return quote(
            variant,
            query.quantity,
            region,
            option=_text(query.option, "option"),
            position=_text(query.position, "position"),
        )
    except QuoteError as exc:
        raise ApiError(exc.status, exc.message) from None


# --- helpers ---------------------------------------------------------------------------------
def _text(value: str | None, name: str) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if len(value) > MAX_TEXT:
        raise ApiError(400, f"{name} is longer than {MAX_TEXT} characters")
    return value or None


# What ISO 8601 times look like; Python's parser alone accepts any separator and any number
# of digits ("2026-12-01X08:00", ten thousand 1s).
ISO_TIME = re.compile(
    r"\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?)?(Z|[+-]\d{2}:?\d{2})?",
    re.ASCII,
)


def _iso_time(value: str | None):
    if not value:
        return None
    value = value.strip()
    parsed = None
    if len(value) <= 40 and ISO_TIME.fullmatch(value):
        try:
            parsed = parse_datetime(value) or _midnight(value)
        except ValueError:
            parsed = None
    if parsed is None:
        raise ApiError(
            400,
            "updated_since must be an ISO 8601 time, e.g. 2026-12-01T08:00:00Z "
            "(a + in an offset is sent as %2B)",
        )
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _midnight(value: str):
    """A date alone: its midnight (UTC unless a zone follows)."""
    day = parse_date(value[:10])
    return None if day is None or len(value) > 10 else datetime.combine(day, time.min)


def _encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"id:{last_id}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, _, value = text.partition(":")
        if kind == "id" and value.isdigit() and len(value) < 19:
            return int(value)
    except (ValueError, UnicodeDecodeError):
        pass
    raise ApiError(400, "malformed cursor: pass the one from the previous page's next URL")


def _etag_matches(header: str, etag: str) -> bool:
    """If-None-Match's weak comparison (RFC 9110 13.1.2): W/ prefixes do not count."""
    if not header:
        return False
    candidates = {tag.strip().removeprefix("W/") for tag in header[:4096].split(",")}
    return "*" in candidates or etag.removeprefix("W/") in candidates


def _product_url(request, sku: str) -> str:
    return request.build_absolute_uri(reverse("api:catalog_product", kwargs={"sku": sku}))
