"""The stock service's answers and URLs: pure functions, no Django, no network.

The service (the form the Shopware importer reads, ``.../stockinfo/{Sku}``) answers one
variant with a JSON object whose ``OnStock`` is the quantity on stock. Nothing else in it is
relied on. Its access rules are not public, so the URL is a template from the configuration.
"""

from __future__ import annotations

import json
import re
from urllib.parse import quote, urlsplit

from .records import FeedDataError

SKU_PLACEHOLDER = "{Sku}"
# More than any warehouse holds of a promotional item: a bigger number is a broken answer
# (and would not fit the column).
MAX_ON_STOCK = 1_000_000_000
MAX_STOCK_BYTES = 64 * 1024
_DIGITS = re.compile(r"-?[0-9]{1,12}")


def stock_template_problem(template: str) -> str | None:
    """Why ``template`` cannot be a stock URL template, or None: it must be an http(s) URL
    with a host of its own and ``{Sku}`` exactly once, outside the host part (a SKU must
    never choose where a request goes)."""
    if template.count(SKU_PLACEHOLDER) != 1:
        return f"must contain {SKU_PLACEHOLDER} exactly once"
    try:
        parts = urlsplit(template)
    except ValueError as exc:
        return f"is not a URL ({exc})"
    if parts.scheme not in ("http", "https"):
        return "must be an http:// or https:// URL"
    if not parts.hostname:
        return "has no host"
    if SKU_PLACEHOLDER in parts.netloc:
        return f"must not have {SKU_PLACEHOLDER} in its host part"
    return None


def stock_url(template: str, sku: str) -> str:
    """The URL of ``sku``'s stock: ``{Sku}`` replaced by the SKU, URL-quoted whole (a slash,
    ``?`` or ``#`` in a SKU stays inside its path segment)."""
    return template.replace(SKU_PLACEHOLDER, quote(sku, safe=""))


def parse_on_stock(content: bytes) -> int:
    """The ``OnStock`` quantity of one answer; ``FeedDataError`` with a clear line if the
    answer is not JSON, not an object, has no ``OnStock``, or it is not a whole number from
    0 to ``MAX_ON_STOCK`` (``12`` and ``"12"`` and ``12.0`` are read; ``true``, ``-1``,
    ``1.5`` are not)."""
    try:
        data = json.loads(content.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError):
        raise FeedDataError("stock answer is not JSON") from None
    if not isinstance(data, dict):
        raise FeedDataError(f"stock answer is a JSON {type(data).__name__}, not an object")
    if "OnStock" not in data:
        raise FeedDataError("stock answer has no OnStock")
    value = data["OnStock"]
    quantity = _whole_number(value)
    if quantity is None:
        raise FeedDataError(f"stock answer's OnStock is not a whole number: {str(value)[:40]!r}")
    if quantity < 0:
        raise FeedDataError(f"stock answer's OnStock is negative: {quantity}")
    if quantity > MAX_ON_STOCK:
        raise FeedDataError(f"stock answer's OnStock is implausibly large: {quantity}")
    return quantity


def _whole_number(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else None
    if isinstance(value, str) and _DIGITS.fullmatch(value.strip()):
        return int(value.strip())
    return None
