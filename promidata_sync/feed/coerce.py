"""Tolerant scalar coercion for feed values.

Promidata sends the same field as null, "", [] or {}; booleans as "True"/"true"/1; numbers as
floats, ints or strings with a German decimal comma ("15,8"). Every helper here accepts any
JSON value and never raises: a value that cannot be coerced becomes ``""``/``None``/the
default, so a bad field can never leak into a record as the text "[]" or "None".
"""

from __future__ import annotations

import math
import re
from decimal import Decimal, InvalidOperation
from typing import Any

_TRUE_WORDS = frozenset({"true", "1", "yes", "y", "ja", "j", "on", "wahr"})
_FALSE_WORDS = frozenset({"false", "0", "no", "n", "nein", "off", "falsch", ""})

# After separator normalisation a number is plain digits with at most one decimal point.
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)")

# Valuta values that are not ISO 4217 codes but are known to mean one.
_CURRENCY_ALIASES = {"EURO": "EUR", "€": "EUR"}
_DEFAULT_CURRENCY = "EUR"
_MAX_INT_DIGITS = 18


def as_str(value: Any) -> str:
    """Return ``value`` as a stripped string.

    Strings are stripped; ints and finite floats are formatted (``100804.0`` -> ``"100804"``);
    everything else (None, bool, list, dict, NaN) becomes ``""``.
    """
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        # A bool in a text field is a feed error, not the text "True".
        return ""
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return ""
        return str(int(value)) if value.is_integer() else repr(value)
    return ""


def as_bool(value: Any, default: bool = False) -> bool:
    """Interpret bool-ish values: True/False, 1/0, "True"/"false"/"1"/"yes"/"ja".

    Returns ``default`` for None and anything unrecognisable.
    """
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        if isinstance(value, float) and math.isnan(value):
            return default
        return value != 0
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _TRUE_WORDS:
            return True
        if word in _FALSE_WORDS:
            return False
    return default


def as_decimal(value: Any) -> Decimal | None:
    """Return ``value`` as a finite Decimal, or None.

    Accepts ints, floats (via ``str()`` so 2.49 stays 2.49) and strings such as "15.8",
    "15,8", "1.234,5", "1,234.5" and "1 234,5". Booleans, NaN and infinities give None.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(str(value)) if math.isfinite(value) else None
    if isinstance(value, str):
        return _decimal_from_text(value)
    return None


def _decimal_from_text(text: str) -> Decimal | None:
    """Parse a human-written number; see :func:`as_decimal`."""
    cleaned = text.strip().replace("\u00a0", "").replace(" ", "").replace("'", "")
    normalised = _normalise_separators(cleaned)
    if normalised is None or not _PLAIN_NUMBER.fullmatch(normalised):
        return None
    try:
        return Decimal(normalised)
    except InvalidOperation:  # pragma: no cover - the regex already guarantees validity
        return None


def _normalise_separators(text: str) -> str | None:
    """Rewrite thousands/decimal separators so that only a '.' decimal point remains.

    When both ',' and '.' occur, the right-most one is the decimal separator. A single comma
    alone is a decimal comma (the feed is German); repeated identical separators are
    thousands separators ("1.234.567").
    """
    commas, dots = text.count(","), text.count(".")
    if commas and dots:
        if text.rfind(",") > text.rfind("."):
            whole, _, fraction = text.rpartition(",")
            if "," in whole:
                return None
            return whole.replace(".", "") + "." + fraction
        whole, _, fraction = text.rpartition(".")
        if "." in whole:
            return None
        return whole.replace(",", "") + "." + fraction
    if commas == 1:
        return text.replace(",", ".")
    if commas > 1:
        return text.replace(",", "")
    if dots > 1:
        return text.replace(".", "")
    return text


def as_int(value: Any) -> int | None:
    """Return ``value`` as an int when it is a whole number (100, 100.0, "100", "100,0").

    Fractional numbers and anything unparsable give None; we never silently round. So do
    numbers of more than 18 digits: no column holds them, and ``int()`` of a Decimal with a
    million digits takes minutes (holding the GIL), which one hostile value must not cost.
    """
    number = as_decimal(value)
    if number is None or number.adjusted() > _MAX_INT_DIGITS - 1:
        return None
    if number != number.to_integral_value():
        return None
    return int(number)


def as_dict(value: Any) -> dict:
    """Return ``value`` if it is a dict, else an empty dict (null/[]/"" all mean "nothing")."""
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list:
    """Return ``value`` if it is a list, else an empty list."""
    return value if isinstance(value, list) else []


def currency_code(value: Any) -> str:
    """Map a Promidata ``Valuta`` to ISO 4217.

    "EURO" -> "EUR"; any 3-letter code is kept upper-cased; anything else or missing -> "EUR"
    (every profile seen so far prices in euro).
    """
    text = as_str(value).upper()
    if text in _CURRENCY_ALIASES:
        return _CURRENCY_ALIASES[text]
    if len(text) == 3 and text.isascii() and text.isalpha():
        return text
    return _DEFAULT_CURRENCY
