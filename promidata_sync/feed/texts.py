"""Language-dependent texts of a family or child: ``ProductDetails.{lang}`` and the like.

Every helper returns only the languages that say something (no empty strings), so "no text"
is always ``{}``. Pure.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from . import limits
from .coerce import as_dict, as_str
from .context import Context


def language_blocks(details: Any, context: Context, *, warn: bool = True) -> dict[str, dict]:
    """``ProductDetails`` (or any ``{lang: object}``) as {lang: block}, preferred languages
    first, the rest sorted.

    Language keys are lower-cased; null or non-object blocks become {} so callers can read
    them blindly. When two keys differ only in case, the first one in the file wins. At most
    ``limits.LANGUAGES_KEPT`` blocks are read (real files have up to nine), with a warning:
    every block is read once per child, so ten thousand of them would cost millions of reads.
    """
    blocks: dict[str, dict] = {}
    for key, block in as_dict(details).items():
        lang = as_str(key).lower()
        if lang and lang not in blocks:
            blocks[lang] = as_dict(block)
    order = [lang for lang in context.languages if lang in blocks]
    order += sorted(lang for lang in blocks if lang not in order)
    if len(order) > limits.LANGUAGES_KEPT:
        if warn:
            context.warn(
                f"{len(order):,} language blocks; only the first {limits.LANGUAGES_KEPT} read"
            )
        order = order[: limits.LANGUAGES_KEPT]
    return {lang: blocks[lang] for lang in order}


def texts(blocks: dict[str, dict], field_name: str) -> dict[str, str]:
    """{lang: text} for every language whose ``field_name`` is a non-empty string."""
    found = {lang: as_str(block.get(field_name)) for lang, block in blocks.items()}
    return {lang: text for lang, text in found.items() if text}


def meta(blocks: dict[str, dict]) -> dict[str, dict[str, str]]:
    """{lang: {"name", "description", "keywords"}} from ``MetaName``/``MetaDescription``/
    ``MetaKeywords``, for the languages that have any of them."""
    result = {}
    for lang, block in blocks.items():
        entry = {
            key: as_str(block.get(source))
            for key, source in (
                ("name", "MetaName"),
                ("description", "MetaDescription"),
                ("keywords", "MetaKeywords"),
            )
        }
        entry = {key: value for key, value in entry.items() if value}
        if entry:
            result[lang] = entry
    return result


def web_shop(blocks: dict[str, dict]) -> dict[str, dict[str, dict[str, str]]]:
    """{lang: {key: {"label", "value"}}} from ``WebShopInformation`` (the key is stable, the
    label translated)."""
    result = {}
    for lang, block in blocks.items():
        entries = {}
        for key, entry in as_dict(block.get("WebShopInformation")).items():
            entry = as_dict(entry)
            label = as_str(entry.get("InformationLabel"))
            value = as_str(entry.get("InformationValue"))
            if as_str(key) and (label or value):
                entries[as_str(key)] = {"label": label, "value": value}
        if entries:
            result[lang] = entries
    return result


def unstructured(blocks: dict[str, dict]) -> dict[str, dict]:
    """{lang: ``UnstructuredInformation``} of the languages that have one."""
    found = {lang: as_dict(block.get("UnstructuredInformation")) for lang, block in blocks.items()}
    return {lang: info for lang, info in found.items() if info}


def first_non_empty(candidates: Iterable[dict]) -> dict:
    for candidate in candidates:
        if candidate:
            return candidate
    return {}


def first_str(values: Iterable[Any]) -> str:
    for value in values:
        text = as_str(value)
        if text:
            return text
    return ""
