"""Parser for Promidata's CAT.csv category file.

Shape (format notes, section 3.1): semicolon-separated, a header row with ``KEY``, one column
per language holding a human-readable path ("Büro / Schreibwaren / Kugelschreiber"), plus
optional ``ICON`` and ``IMAGE``. Columns are read by header name because their order is not
the same in every source. The hierarchy comes from the KEY path; there is no parent column.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from . import limits
from .records import CategoriesFile, CategoryRecord, FeedDataError, MalformedLine

_MAX_TEXT = 200
_MAX_CELL_BYTES = 64 * 1024 * 1024
_MAX_COLUMN_NAME = 16
_KEY, _ICON, _IMAGE = "KEY", "ICON", "IMAGE"
_NAME_SEPARATOR = " / "


@dataclass(frozen=True, slots=True)
class _Columns:
    """Positions of the known columns in the header row."""

    key: int
    icon: int | None
    image: int | None
    languages: dict[str, int]  # lower-case language -> column index


@dataclass
class _Row:
    """A usable data row before records are built (mutable while ancestors are merged)."""

    key: str
    paths: dict[str, list[str]]  # lang -> name path segments
    icon: str = ""
    image: str = ""
    names: dict[str, str] = field(default_factory=dict)
    synthesized: bool = False


def parse_categories(data: bytes | str) -> CategoriesFile:
    """Parse CAT.csv into category records.

    Contract:
    * raises :class:`FeedDataError` when there is no ``KEY`` header (or the CSV is unreadable);
    * rows with an empty or malformed KEY (an empty segment, longer or deeper than the catalog
      holds, control characters) and repeated KEYs are returned as malformed lines;
    * an ICON or IMAGE longer than the catalog holds is dropped with a warning;
    * NUL and control characters are removed from every cell;
    * ancestors missing from the file are synthesized; names for them come from the matching
      prefix of a descendant's language path when its depth equals the KEY depth;
    * parents always precede their children; otherwise file order is kept.
    """
    # One cell may be as large as the file (the file's size is bounded by the fetcher); the
    # csv module's own limit (128 KiB) would refuse the whole file for one huge cell.
    csv.field_size_limit(max(csv.field_size_limit(), _MAX_CELL_BYTES))
    reader = csv.reader(io.StringIO(_decode(data), newline=""), delimiter=";")
    try:
        columns = _read_header(reader)
        rows, malformed = _read_rows(reader, columns)
    except csv.Error as exc:
        raise FeedDataError(f"CAT.csv is not valid CSV near line {reader.line_num}: {exc}") from exc
    warnings = _drop_oversized(rows)
    ordered = _with_ancestors(rows)
    return CategoriesFile(
        categories=tuple(_to_record(row) for row in ordered),
        malformed=tuple(malformed),
        warnings=tuple(warnings),
    )


def _drop_oversized(rows: list[_Row]) -> list[str]:
    """Drop (with a warning) ICON and IMAGE values and names longer than the catalog holds."""
    warnings = []
    for row in rows:
        for lang, name in list(row.names.items()):
            if len(name) > limits.CATEGORY_NAME_CHARS:
                del row.names[lang]
                row.paths.pop(lang, None)
                warnings.append(
                    f"category {row.key}: {lang} name of {len(name):,} characters dropped"
                )
        for name in ("icon", "image"):
            value = getattr(row, name)
            if len(value) > limits.CATEGORY_ASSET_CHARS:
                setattr(row, name, "")
                warnings.append(
                    f"category {row.key}: {name.upper()} of {len(value):,} characters dropped"
                )
    return warnings


def _decode(data: bytes | str) -> str:
    if isinstance(data, str):
        return data.removeprefix("\ufeff")
    return bytes(data).decode("utf-8-sig", errors="replace")


def _read_header(reader) -> _Columns:
    """Find the header row (first non-blank row) and map column names to positions."""
    for header in reader:
        if any(cell.strip() for cell in header):
            return _columns_from_header(header)
    raise FeedDataError("CAT.csv has no KEY column")


def _columns_from_header(header: list[str]) -> _Columns:
    positions: dict[str, int] = {}
    for index, cell in enumerate(header):
        name = limits.clean_text(cell).strip().lstrip("\ufeff").strip().upper()
        # A repeated header name keeps its first column; a name no language key looks like
        # (longer than a locale such as "zh-Hant-TW") is not a column we read.
        if name and len(name) <= _MAX_COLUMN_NAME:
            positions.setdefault(name, index)
    if _KEY not in positions:
        raise FeedDataError("CAT.csv has no KEY column")
    languages = {
        name.lower(): index
        for name, index in positions.items()
        if name not in (_KEY, _ICON, _IMAGE)
    }
    return _Columns(
        key=positions[_KEY],
        icon=positions.get(_ICON),
        image=positions.get(_IMAGE),
        languages=languages,
    )


def _cell(row: list[str], index: int | None) -> str:
    if index is None or index >= len(row):
        return ""
    return limits.clean_text(row[index]).strip()


def _read_rows(reader, columns: _Columns) -> tuple[list[_Row], list[MalformedLine]]:
    """Read data rows; unusable rows become malformed lines, repeated KEYs keep the first."""
    rows: list[_Row] = []
    malformed: list[MalformedLine] = []
    first_line: dict[str, int] = {}
    for raw in reader:
        if not any(cell.strip() for cell in raw):
            continue
        line_number = reader.line_num
        key = _cell(raw, columns.key)
        reason = _key_problem(key)
        if reason is None and key in first_line:
            reason = f"duplicate KEY {key} (first seen on line {first_line[key]})"
        if reason is not None:
            text = limits.clean_text(";".join(raw)[:_MAX_TEXT])
            malformed.append(MalformedLine(line_number, text, reason, None))
            continue
        first_line[key] = line_number
        rows.append(_row_from_cells(raw, key, columns))
    return rows, malformed


def _key_problem(key: str) -> str | None:
    """Why a KEY cannot be used, or None. Empty segments would create nameless parents."""
    if not key:
        return "empty KEY"
    return limits.category_key_problem(key)


def _row_from_cells(raw: list[str], key: str, columns: _Columns) -> _Row:
    depth = len(key.split("/"))
    paths: dict[str, list[str]] = {}
    names: dict[str, str] = {}
    for lang, index in columns.languages.items():
        segments = _name_segments(_cell(raw, index), depth)
        if segments and segments[-1]:
            paths[lang] = segments
            names[lang] = segments[-1]
    return _Row(
        key=key,
        paths=paths,
        icon=_cell(raw, columns.icon),
        image=_cell(raw, columns.image),
        names=names,
    )


def _name_segments(path: str, depth: int) -> list[str]:
    """Split a language path into stripped segments.

    The documented separator is " / ". When that does not give the KEY's depth but a plain
    "/" does ("Büro/Schreibwaren"), the plain split is used; otherwise the " / " split wins,
    so a leaf name that itself contains "/" (e.g. "T-Shirts/Polos") stays whole.
    """
    if not path:
        return []
    segments = [part.strip() for part in path.split(_NAME_SEPARATOR)]
    if len(segments) != depth:
        plain = [part.strip() for part in path.split("/")]
        if len(plain) == depth:
            return plain
    return segments


def _ancestor_keys(key: str) -> list[str]:
    """All proper ancestors of a KEY, top level first: "A/B/C" -> ["A", "A/B"]."""
    segments = key.split("/")
    return ["/".join(segments[:depth]) for depth in range(1, len(segments))]


def _with_ancestors(rows: list[_Row]) -> list[_Row]:
    """Add missing ancestors and order rows so every parent precedes its children."""
    by_key = {row.key: row for row in rows}
    for row in rows:
        depth = len(row.key.split("/"))
        for ancestor_depth, ancestor in enumerate(_ancestor_keys(row.key), start=1):
            target = by_key.get(ancestor)
            if target is None:
                target = by_key[ancestor] = _Row(key=ancestor, paths={}, synthesized=True)
            if target.synthesized:
                _borrow_names(target, row, depth, ancestor_depth)
    ordered: list[_Row] = []
    emitted: set[str] = set()
    for row in rows:
        for key in [*_ancestor_keys(row.key), row.key]:
            if key not in emitted:
                emitted.add(key)
                ordered.append(by_key[key])
    return ordered


def _borrow_names(ancestor: _Row, descendant: _Row, depth: int, ancestor_depth: int) -> None:
    """Fill a synthesized ancestor's names from a descendant path of agreeing depth.

    The first descendant (in file order) that has a language wins for that language.
    """
    for lang, segments in descendant.paths.items():
        if lang in ancestor.names or len(segments) != depth:
            continue
        name = segments[ancestor_depth - 1]
        if name:
            ancestor.names[lang] = name


def _to_record(row: _Row) -> CategoryRecord:
    parent = row.key.rpartition("/")[0] or None
    return CategoryRecord(
        key=row.key,
        parent_key=parent,
        names=dict(row.names),
        icon=row.icon,
        image=row.image,
    )
