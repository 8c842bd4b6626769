"""Operators' exclusions: family SKUs (or globs of them) a supplier's syncs never import.

``exclusion_rules`` compiles a supplier's rules once per planning pass (one query): exact
SKUs into a set, globs into one case-insensitive regex, so ``is_excluded`` costs a set lookup
and at most one regex match per Import.txt line. Planning (``services.planning``) drops
excluded families before anything is fetched and deactivates those already in the catalog.

``exclusion_add``, ``exclusion_change`` and ``exclusion_remove`` are the only writers of the
rules (the admin calls them); each records a ``RuleChange`` (who, when, before/after) in the
same transaction as the rule.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field

from django.db import transaction

from catalog.models import RuleChange, Supplier, SupplierExclusion
from promidata_sync.services.rule_users import username

GLOB_CHARS = frozenset("*?[")
PATTERN_MAX_CHARS = SupplierExclusion._meta.get_field("pattern").max_length or 255
NOTE_MAX_CHARS = SupplierExclusion._meta.get_field("note").max_length or 255


class ExclusionError(ValueError):
    """A pattern that cannot be a rule (empty, too long, whitespace, a duplicate)."""


class ExcludedFamilies(ValueError):
    """A manual re-import asked for families that a rule excludes; the message names them."""


@dataclass(frozen=True)
class ExclusionRules:
    """A supplier's compiled exclusions. Matching is case-insensitive, on the family SKU."""

    exact: frozenset[str] = frozenset()
    globs: re.Pattern[str] | None = None
    patterns: tuple[str, ...] = field(default=())

    def __bool__(self) -> bool:
        return bool(self.exact) or self.globs is not None

    def is_excluded(self, sku: str) -> bool:
        if not self:
            return False
        key = sku.upper()
        if key in self.exact:
            return True
        return self.globs is not None and self.globs.match(key) is not None

    def rule_for(self, sku: str) -> str:
        """The first pattern excluding ``sku`` ("" when none), for messages."""
        key = sku.upper()
        for pattern in self.patterns:
            if pattern.upper() == key or (
                _is_glob(pattern) and fnmatch.fnmatchcase(key, pattern.upper())
            ):
                return pattern
        return ""


NO_RULES = ExclusionRules()


def exclusion_rules(supplier: Supplier | int) -> ExclusionRules:
    """The supplier's rules, compiled (one query; none at all costs just that query)."""
    supplier_id = supplier if isinstance(supplier, int) else supplier.pk
    patterns = tuple(
        SupplierExclusion.objects.filter(supplier_id=supplier_id)
        .order_by("pattern")
        .values_list("pattern", flat=True)
    )
    if not patterns:
        return NO_RULES
    exact = frozenset(p.upper() for p in patterns if not _is_glob(p))
    globs = [fnmatch.translate(p.upper()) for p in patterns if _is_glob(p)]
    # fnmatch.translate anchors each glob (\Z); upper-casing both sides makes it case-blind
    # without re.IGNORECASE's Unicode folding surprises.
    compiled = re.compile("|".join(f"(?:{g})" for g in globs)) if globs else None
    return ExclusionRules(exact=exact, globs=compiled, patterns=patterns)


def excluded_skus_refusal(
    supplier: Supplier, skus: list[str], *, rules: ExclusionRules | None = None
) -> str:
    """For a manual re-import of ``skus``: "" when no rule excludes any of them, otherwise
    the message that refuses them (each SKU with the rule that excludes it). ``rules``:
    the supplier's, when the caller compiled them already."""
    rules = exclusion_rules(supplier) if rules is None else rules
    refused = [f"{sku} (rule {rules.rule_for(sku)!r})" for sku in skus if rules.is_excluded(sku)]
    if not refused:
        return ""
    return (
        f"refused to re-import {', '.join(refused)}: excluded from {supplier.code}'s syncs; "
        "remove the exclusion first"
    )


def exclusions_check_skus(supplier: Supplier, skus: list[str]) -> None:
    """Raise ``ExcludedFamilies`` when a rule excludes any of ``skus`` (a manual re-import
    refuses them up front, with a clear message)."""
    refusal = excluded_skus_refusal(supplier, skus)
    if refusal:
        raise ExcludedFamilies(refusal)


def exclusion_add(
    supplier: Supplier, pattern: str, *, note: str = "", user=None
) -> SupplierExclusion:
    """Add a rule and its audit row (one transaction). Raises ``ExclusionError``."""
    pattern, note = _clean(pattern, note)
    with transaction.atomic():
        if SupplierExclusion.objects.filter(supplier=supplier, pattern__iexact=pattern).exists():
            raise ExclusionError(f"{supplier.code} already excludes {pattern!r}")
        rule = SupplierExclusion.objects.create(
            supplier=supplier, pattern=pattern, note=note, created_by=username(user)
        )
        _audit(rule, RuleChange.Action.ADDED, user, {"after": _state(rule)})
    return rule


def exclusion_change(
    rule: SupplierExclusion, *, pattern: str, note: str = "", user=None
) -> SupplierExclusion:
    """Change a rule's pattern or note and record before/after. Raises ``ExclusionError``."""
    pattern, note = _clean(pattern, note)
    with transaction.atomic():
        current = SupplierExclusion.objects.select_for_update().get(pk=rule.pk)
        before = _state(current)
        clash = SupplierExclusion.objects.filter(
            supplier_id=current.supplier_id, pattern__iexact=pattern
        ).exclude(pk=current.pk)
        if clash.exists():
            raise ExclusionError(f"{current.supplier_id} already excludes {pattern!r}")
        current.pattern, current.note = pattern, note
        if _state(current) == before:
            return current
        current.save(update_fields=["pattern", "note", "updated_at"])
        _audit(
            current, RuleChange.Action.CHANGED, user, {"before": before, "after": _state(current)}
        )
    return current


def exclusion_remove(rule: SupplierExclusion, *, user=None) -> None:
    """Delete a rule, keeping its audit row. Removing a rule already gone does nothing."""
    with transaction.atomic():
        current = SupplierExclusion.objects.select_for_update().filter(pk=rule.pk).first()
        if current is None:
            return
        _audit(current, RuleChange.Action.REMOVED, user, {"before": _state(current)})
        current.delete()


def _clean(pattern: str, note: str) -> tuple[str, str]:
    pattern = (pattern or "").strip()
    if not pattern:
        raise ExclusionError("an exclusion needs a SKU or a pattern")
    if any(c.isspace() or c == "\x00" for c in pattern):
        raise ExclusionError(f"{pattern!r}: a SKU pattern has no spaces")
    if len(pattern) > PATTERN_MAX_CHARS:
        raise ExclusionError(f"a pattern has at most {PATTERN_MAX_CHARS} characters")
    note = (note or "").strip()
    if len(note) > NOTE_MAX_CHARS or "\x00" in note:
        raise ExclusionError(f"a note has at most {NOTE_MAX_CHARS} characters")
    return pattern, note


def _is_glob(pattern: str) -> bool:
    return not GLOB_CHARS.isdisjoint(pattern)


def _state(rule: SupplierExclusion) -> dict:
    return {"pattern": rule.pattern, "note": rule.note}


def _audit(rule: SupplierExclusion, action: str, user, detail: dict) -> None:
    RuleChange.objects.create(
        user=username(user),
        rule=RuleChange.Rule.EXCLUSION,
        action=action,
        supplier_id=rule.supplier_id,
        subject=f"{_supplier_code(rule)}: {rule.pattern}"[:500],
        detail=detail,
    )


def _supplier_code(rule: SupplierExclusion) -> str:
    return Supplier.objects.filter(pk=rule.supplier_id).values_list("code", flat=True).first() or ""
