"""Which families an operator's SKUs name, for a re-import of chosen families.

An operator types the SKU they see: a family's (the file name, ``Product.sku``) or one of its
variants' (``Variant.sku``). Each is resolved to its supplier and family SKU from the catalog,
exactly first and then ignoring case; a SKU the catalog does not know (a family whose first
import failed, or one new since the last sync) is looked up in Import.txt. What is still
unknown raises ``UnknownSku`` with the closest SKUs of the catalog as suggestions.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.db.models.functions import Upper

from catalog.models import Product, Supplier, Variant
from promidata_sync.feed import ImportIndex
from promidata_sync.feed.limits import sku_problem
from promidata_sync.redaction import sanitize_message
from promidata_sync.services.feed_index import suppliers_ensure

# One request re-imports at most this many families (a whole supplier is a sync).
MAX_SKUS = 500
SUGGESTIONS = 3


class UnknownSku(ValueError):
    """Some SKUs name no family of the catalog nor of Import.txt (or are not SKUs at all)."""

    def __init__(self, unknown: list[str], suggestions: dict[str, list[str]] | None = None):
        self.unknown = unknown
        self.suggestions = suggestions or {}
        if not unknown:
            super().__init__("no SKU given")
            return
        parts = []
        for sku in unknown:
            text = f"unknown SKU {sanitize_message(sku, max_chars=80)!r}"
            near = self.suggestions.get(sku)
            if near:
                text += f" (did you mean {', '.join(near)}?)"
            parts.append(text)
        super().__init__(
            "; ".join(parts) + ": no family or variant of the catalog has it, nor does Import.txt"
        )


class TooManySkus(ValueError):
    pass


@dataclass
class ChosenFamilies:
    """The families to re-import, by supplier, in the order they were asked for."""

    by_supplier: dict[Supplier, list[str]] = field(default_factory=dict)

    def add(self, supplier: Supplier, family_sku: str) -> None:
        skus = self.by_supplier.setdefault(supplier, [])
        if family_sku not in skus:
            skus.append(family_sku)

    @property
    def count(self) -> int:
        return sum(len(v) for v in self.by_supplier.values())


def clean_skus(skus: Iterable[str]) -> list[str]:
    """The SKUs given, stripped, without blanks and repeats; ``UnknownSku`` for a value that
    cannot be a SKU at all, ``TooManySkus`` over ``MAX_SKUS``."""
    cleaned = list(dict.fromkeys(s.strip() for s in skus if isinstance(s, str) and s.strip()))
    if len(cleaned) > MAX_SKUS:
        raise TooManySkus(f"at most {MAX_SKUS} SKUs per re-import ({len(cleaned)} given)")
    bad = [s for s in cleaned if sku_problem(s) is not None]
    if bad:
        raise UnknownSku(bad)
    return cleaned


def families_for_skus(
    skus: Iterable[str], *, read_index: Callable[[], ImportIndex] | None = None
) -> ChosenFamilies:
    """Resolve ``skus`` to families (see the module docstring). ``read_index`` is called
    only when the catalog does not know some of them. Raises ``UnknownSku``."""
    wanted = clean_skus(skus)
    if not wanted:
        raise UnknownSku([])
    found: dict[str, tuple[Supplier, str]] = {}
    suppliers = {s.pk: s for s in Supplier.objects.all()}

    def note(rows) -> None:
        for asked, supplier_id, family_sku in rows:
            found.setdefault(asked, (suppliers[supplier_id], family_sku))

    note(
        (p.sku, p.supplier_id, p.sku)
        for p in Product.objects.filter(sku__in=wanted).only("sku", "supplier_id")
    )
    rest = [s for s in wanted if s not in found]
    if rest:
        note(
            Variant.objects.filter(sku__in=rest).values_list(
                "sku", "product__supplier_id", "product__sku"
            )
        )
    rest = [s for s in wanted if s not in found]
    if rest:
        upper = {s.upper(): s for s in rest}
        rows = Product.objects.annotate(u=Upper("sku")).filter(u__in=list(upper))
        note((upper[p.u], p.supplier_id, p.sku) for p in rows.only("sku", "supplier_id"))
        variants = Variant.objects.annotate(u=Upper("sku")).filter(
            u__in=[u for u, s in upper.items() if s not in found]
        )
        note(
            (upper[u], sid, fsku)
            for u, sid, fsku in variants.values_list("u", "product__supplier_id", "product__sku")
        )
    rest = [s for s in wanted if s not in found]
    if rest and read_index is not None:
        _found_in_index(rest, read_index(), found)
        rest = [s for s in wanted if s not in found]
    if rest:
        raise UnknownSku(rest, {s: _suggestions(s) for s in rest})
    chosen = ChosenFamilies()
    for sku in wanted:
        supplier, family_sku = found[sku]
        chosen.add(supplier, family_sku)
    return chosen


def _found_in_index(rest: list[str], index: ImportIndex, found: dict) -> None:
    """Families Import.txt lists but the catalog does not hold (yet)."""
    by_upper = {s.upper(): s for s in rest}
    hits = {}
    for code, entries in index.by_supplier().items():
        for entry in entries:
            asked = by_upper.get(entry.family_sku.upper())
            if asked is not None and asked not in hits:
                hits[asked] = (code, entry.family_sku)
    if not hits:
        return
    by_code = suppliers_ensure(sorted({code for code, _ in hits.values()}))
    for asked, (code, family_sku) in hits.items():
        found.setdefault(asked, (by_code[code], family_sku))


def _suggestions(sku: str) -> list[str]:
    """The catalog's closest family SKUs to ``sku`` (those sharing its first characters)."""
    prefix = sku[:3]
    if not prefix:
        return []
    candidates = list(
        Product.objects.filter(sku__istartswith=prefix).values_list("sku", flat=True)[:5000]
    )
    return difflib.get_close_matches(sku, candidates, n=SUGGESTIONS, cutoff=0.6)
