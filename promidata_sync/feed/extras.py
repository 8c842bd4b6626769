"""What a parser did not read: kept as sent, so that nothing the feed says is dropped.

Each object the parser reads (a child, its ``NonLanguageDependedProductDetails``, a language
block, an option...) declares the keys it consumed; ``leftovers`` returns the rest, leaving
out only values that say nothing (null, "", [] and {}). Pure.
"""

from __future__ import annotations

from typing import Any


def leftovers(source: Any, consumed: frozenset[str] | set[str]) -> dict:
    """The keys of ``source`` (an object) outside ``consumed`` whose values say something."""
    if not isinstance(source, dict):
        return {}
    return {
        key: value for key, value in source.items() if key not in consumed and not _empty(value)
    }


def nested(**parts: dict) -> dict:
    """``{name: part}`` for the parts that are not empty (one ``extra`` from several)."""
    return {name: part for name, part in parts.items() if part}


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}
