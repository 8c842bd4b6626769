"""Tolerant scalar coercion: the feed's null / [] / "True" / "15,8" quirks."""

from decimal import Decimal

import pytest

from promidata_sync.feed.coerce import (
    as_bool,
    as_decimal,
    as_dict,
    as_int,
    as_list,
    as_str,
    currency_code,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("  Tote  ", "Tote"),
        (100804, "100804"),
        (100804.0, "100804"),
        (None, ""),
        ([], ""),
        ({}, ""),
        (True, ""),
        (float("nan"), ""),
    ],
)
def test_as_str(value, expected):
    assert as_str(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (True, True),
        ("True", True),
        ("true", True),
        (" TRUE ", True),
        ("1", True),
        (1, True),
        (False, False),
        ("False", False),
        ("false", False),
        (0, False),
        ("0", False),
    ],
)
def test_as_bool_recognised(value, expected):
    assert as_bool(value) is expected


@pytest.mark.parametrize("value", [None, "maybe", [], {}])
def test_as_bool_unrecognised_gives_default(value):
    assert as_bool(value) is False
    assert as_bool(value, default=True) is True


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (2.49, Decimal("2.49")),
        (175, Decimal("175")),
        ("15,8", Decimal("15.8")),
        ("15.8", Decimal("15.8")),
        ("1.234,5", Decimal("1234.5")),
        ("1,234.5", Decimal("1234.5")),
        ("1.234.567", Decimal("1234567")),
        (" 1 234,50 ", Decimal("1234.50")),
        ("-3,5", Decimal("-3.5")),
        ("0", Decimal("0")),
    ],
)
def test_as_decimal_parses(value, expected):
    assert as_decimal(value) == expected


@pytest.mark.parametrize(
    "value", [None, "", "abc", "1,2,3.4.5", [], {}, True, float("inf"), "NaN", "1e5x"]
)
def test_as_decimal_rejects(value):
    assert as_decimal(value) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [(100, 100), (100.0, 100), ("100", 100), ("100,0", 100), (100.5, None), ("x", None)],
)
def test_as_int(value, expected):
    assert as_int(value) == expected


def test_as_dict_and_as_list_replace_wrong_kinds():
    assert as_dict([]) == {}
    assert as_dict(None) == {}
    assert as_dict({"a": 1}) == {"a": 1}
    assert as_list({}) == []
    assert as_list(None) == []
    assert as_list([1]) == [1]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("EURO", "EUR"),
        ("euro", "EUR"),
        ("chf", "CHF"),
        ("GBP", "GBP"),
        (None, "EUR"),
        ("", "EUR"),
        ("Euros", "EUR"),
        ([], "EUR"),
    ],
)
def test_currency_code(value, expected):
    assert currency_code(value) == expected
