"""Parser for Promidata's Import.txt index.

Shape (see /work/shared/promidata-format.md, section 1): line 1 is the CAT.csv URL, every
other line is ``<product JSON URL>|<hash>``. The index is the input of mass-disable logic, so
this parser never raises: every unusable line is returned as a :class:`MalformedLine` and the
caller decides whether the feed is trustworthy enough to act on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import unquote, urljoin, urlsplit

from . import limits
from .records import ImportEntry, ImportIndex, MalformedLine

_MAX_TEXT = 200
_JSON_SUFFIX = ".json"


def parse_import_index(data: bytes | str, *, base_url: str) -> ImportIndex:
    """Parse Import.txt.

    Contract:
    * bytes are decoded as UTF-8 (a BOM is tolerated, invalid bytes are replaced);
    * the first non-blank line is the CAT.csv URL (part before any '|'), unless it looks like
      a product line (ends in ``.json``), in which case ``categories_url`` is None;
    * relative URLs are resolved against ``base_url``;
    * entries are de-duplicated by (supplier_code, family_sku) keeping the first line; exact
      repeats are counted in ``duplicate_lines``, repeats with another hash are malformed;
    * a line whose URL, hash, supplier folder or file name the catalog cannot hold (see
      :mod:`.limits`: lengths, control characters, URL syntax, supplier-code syntax) is
      malformed; so is a line longer than ``limits.INDEX_LINE_CHARS``, which is not parsed;
    * an unusable categories line leaves ``categories_url`` None and is reported malformed;
    * never raises, whatever the input.
    """
    state = _IndexBuilder(base_url=base_url)
    first_content_line = True
    for line_number, raw_line in enumerate(_decode(data).splitlines(), start=1):
        # A BOM can sit at the start of any line of an index glued together from several.
        line = raw_line.strip().lstrip("\ufeff").strip()
        if not line:
            continue
        if first_content_line:
            first_content_line = False
            if state.take_categories_line(line, line_number):
                continue
        state.add_product_line(line, line_number)
    return state.build()


def _decode(data: bytes | str) -> str:
    """Decode to text, dropping a UTF-8 BOM; undecodable bytes become U+FFFD."""
    if isinstance(data, str):
        return data.removeprefix("\ufeff")
    return bytes(data).decode("utf-8-sig", errors="replace")


@dataclass
class _IndexBuilder:
    """Mutable accumulator behind :func:`parse_import_index`."""

    base_url: str
    categories_url: str | None = None
    entries: list[ImportEntry] = field(default_factory=list)
    malformed: list[MalformedLine] = field(default_factory=list)
    duplicate_lines: int = 0
    # (supplier_code, family_sku) -> the entry kept for it
    seen: dict[tuple[str, str], ImportEntry] = field(default_factory=dict)

    def take_categories_line(self, line: str, line_number: int) -> bool:
        """Consume line 1 as the categories URL; False when it is really a product line."""
        head = line[: limits.INDEX_LINE_CHARS].split("|", 1)[0].strip()
        if not head or head.lower().endswith(_JSON_SUFFIX):
            return False
        try:
            url = urljoin(self.base_url, head)
        except ValueError:
            url = None
        problem = "invalid URL" if url is None else limits.url_problem(url)
        if problem:
            self._reject(line, line_number, f"unusable categories URL: {problem}", None)
        else:
            self.categories_url = url
        return True

    def add_product_line(self, line: str, line_number: int) -> None:
        """Validate one ``url|hash`` line and record it as entry, duplicate or malformed."""
        result = _parse_product_line(line, line_number, self.base_url)
        if isinstance(result, MalformedLine):
            self.malformed.append(result)
            return
        key = (result.supplier_code, result.family_sku)
        first = self.seen.get(key)
        if first is None:
            self.seen[key] = result
            self.entries.append(result)
        elif first.hash == result.hash:
            self.duplicate_lines += 1
        else:
            reason = (
                f"conflicting hash for family {result.family_sku} "
                f"(first seen on line {first.line_number})"
            )
            self._reject(line, line_number, reason, result.supplier_code)

    def _reject(self, line: str, line_number: int, reason: str, supplier: str | None) -> None:
        self.malformed.append(_malformed(line, line_number, reason, supplier))

    def build(self) -> ImportIndex:
        return ImportIndex(
            categories_url=self.categories_url,
            entries=tuple(self.entries),
            malformed=tuple(self.malformed),
            duplicate_lines=self.duplicate_lines,
        )


def _parse_product_line(line: str, line_number: int, base_url: str) -> ImportEntry | MalformedLine:
    """Turn one stripped, non-blank product line into an entry or a malformed record."""
    if len(line) > limits.INDEX_LINE_CHARS:
        return _malformed(
            line, line_number, f"line is {len(line):,} characters long; not read", None
        )
    raw_url, pipe, raw_hash = line.partition("|")
    raw_url, hash_token = raw_url.strip(), raw_hash.strip()
    supplier_hint = _folder_of_raw(raw_url)

    def reject(reason: str) -> MalformedLine:
        return _malformed(line, line_number, reason, supplier_hint)

    if not pipe:
        return reject("no '|' separator")
    if not raw_url:
        return reject("empty URL")
    if not hash_token:
        return reject("empty hash")
    if any(char.isspace() for char in hash_token):
        return reject("hash contains whitespace")
    problem = limits.hash_problem(hash_token)
    if problem:
        return reject(problem)
    try:
        url = urljoin(base_url, raw_url)
        parts = urlsplit(url)
    except ValueError:
        return reject("invalid URL")
    problem = limits.url_problem(url)
    if problem:
        return reject(problem)
    folder, file_name = _last_two_segments(parts.path)
    if not file_name.lower().endswith(_JSON_SUFFIX):
        return reject("URL is not a .json file")
    family_sku = unquote(file_name[: -len(_JSON_SUFFIX)])
    if not family_sku.strip():
        return reject("empty file name")
    problem = limits.sku_problem(family_sku)
    if problem:
        return reject(f"file name: {problem}")
    supplier_code = unquote(folder)
    if not supplier_code.strip():
        return reject("no supplier folder")
    problem = limits.supplier_code_problem(supplier_code)
    if problem:
        return reject(problem)
    if supplier_hint != supplier_code:
        # A relative line ("x.json", "../z.json") would borrow a folder of the index's own URL
        # ("Import", "Live") and become a supplier of that name for good.
        return reject("the line names no supplier folder of its own")
    return ImportEntry(
        url=url,
        hash=hash_token.upper(),
        supplier_code=supplier_code,
        family_sku=family_sku,
        line_number=line_number,
    )


def _last_two_segments(path: str) -> tuple[str, str]:
    """Return (folder, file name) of a URL path; missing parts are ""."""
    segments = path.split("/")
    file_name = segments[-1]
    folder = segments[-2] if len(segments) >= 2 else ""
    return folder, file_name


def _folder_of_raw(raw_url: str) -> str | None:
    """Best-effort supplier folder for a malformed line.

    Looks only at the line's own text (not at ``base_url``) so that garbage lines are not
    blamed on a folder of the index URL such as "Import".
    """
    try:
        path = urlsplit(raw_url).path
    except ValueError:
        return None
    folder = unquote(_last_two_segments(path)[0]).strip()
    # Only a folder that is a supplier code may be blamed (and stored) as one.
    return folder if folder and limits.supplier_code_problem(folder) is None else None


def _malformed(line: str, line_number: int, reason: str, supplier: str | None) -> MalformedLine:
    return MalformedLine(
        line_number=line_number,
        text=limits.clean_text(line[:_MAX_TEXT]),
        reason=reason,
        supplier_code=supplier,
    )
