"""The state of one family parse: its settings and the warnings it collects.

Every part of the family parser (texts, prices, print data, details) takes the ``Context`` and
reports through it, so that one family's warnings are counted and capped in one place, and the
same fitting rules (``fit``, ``measure``, ``count``) apply to every field. Pure.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from promidata_sync.redaction import redact

from . import limits
from .coerce import as_decimal, as_int

DEFAULT_MAX_CHILDREN = 1000
# How much of an offending value a warning quotes.
SHOWN_CHARS = 60


@dataclass
class Context:
    """Per-call settings plus the warnings collected while parsing."""

    source_url: str
    languages: tuple[str, ...]
    price_regions: tuple[str, ...]
    max_children: int = DEFAULT_MAX_CHILDREN
    warnings: list[str] = field(default_factory=list)
    warning_count: int = 0
    non_finite: int = 0
    print_options: int = 0  # stored so far in this family (bounded: see limits)

    def warn(self, message: str) -> None:
        """Record a warning; only the first ``limits.WARNINGS_KEPT`` are kept, all counted."""
        self.warning_count += 1
        if len(self.warnings) < limits.WARNINGS_KEPT:
            self.warnings.append(message)

    def fit(self, text: str, max_chars: int, what: str, sku: str = "") -> str:
        """``text`` if it fits a column of ``max_chars``, else "" with a warning."""
        if len(text) <= max_chars:
            return text
        where = f"{sku}: " if sku else ""
        self.warn(f"{where}{what} of {len(text):,} characters dropped (at most {max_chars})")
        return ""

    def measure(self, value: Any, what: str, sku: str) -> Decimal | None:
        """A size or weight as Decimal rounded to the columns' 3 places; missing or unparsable
        gives None, 0 stays 0, negative or too large for the column gives None with a
        warning. Reads numbers and strings with a decimal comma ("15,8") alike."""
        number = as_decimal(value)
        if number is None:
            return None
        if number < 0:
            self.warn(f"{sku}: negative {what} {show(value)} ignored")
            return None
        fitted = limits.fit_decimal(number, limits.MEASURE_PLACES, limits.MEASURE_LIMIT)
        if fitted is None:
            self.warn(f"{sku}: {what} {show(value)} is too large; ignored")
        return fitted

    def count(self, value: Any, what: str, sku: str, *, zero_is_unset: bool = True) -> int | None:
        """A whole number >= 0 that fits the columns (MOQ, steps, colours...): None when
        missing or unusable (0 too, with ``zero_is_unset``), with a warning when too large."""
        number = as_int(value)
        if number is None or number < 0 or (zero_is_unset and number == 0):
            return None
        if not limits.fits_int(number):
            self.warn(f"{sku}: {what} {show(value)} is too large; ignored")
            return None
        return number

    def amount(self, value: Any, what: str, sku: str) -> Decimal | None:
        """A money-like amount rounded to 4 places (``CalculationAmount``), None when missing
        or unusable, with a warning when it does not fit."""
        number = as_decimal(value)
        if number is None:
            return None
        fitted = limits.fit_decimal(number, limits.PRICE_PLACES, limits.PRICE_LIMIT)
        if fitted is None:
            self.warn(f"{sku}: {what} {show(value)} is too large; ignored")
        return fitted


def show(value: Any) -> str:
    """A short repr of an offending value for a warning (a hostile value may be huge).

    Redacted before it is shortened: a URL cut in the middle of the profile GUID would no
    longer match the secret that the storing code hides, and would show most of it.
    """
    text = redact(repr(value)) if isinstance(value, str) else repr(value)
    return text if len(text) <= SHOWN_CHARS else text[: SHOWN_CHARS - 1] + "…"


def kind(value: Any) -> str:
    """JSON name of a decoded value's type, for error messages."""
    if value is None:
        return "null"
    names = {dict: "object", list: "array", str: "string", bool: "boolean"}
    return names.get(
        type(value), "number" if isinstance(value, int | float) else type(value).__name__
    )
