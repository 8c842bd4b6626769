"""Deciding, before fetching anything, which families of a supplier need work.

One query reads every stored (sku, hash, active) of the supplier; the comparison with the index
happens in memory. Unchanged families cost no HTTP request and no per-family query.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from catalog.models import Product, Supplier
from promidata_sync.feed import ImportEntry, MalformedLine

# Bound the size of SQL IN lists.
IN_BATCH = 1000


@dataclass
class SupplierPlan:
    """What a supplier sync will do. ``to_fetch`` are new or changed families."""

    entries: int
    to_fetch: list[ImportEntry] = field(default_factory=list)
    new_skus: set[str] = field(default_factory=set)
    unchanged: int = 0
    reactivate: list[str] = field(default_factory=list)
    deactivate: list[str] = field(default_factory=list)
    refusal: str = ""  # why deactivation was refused, if it was
    listed: list[str] = field(default_factory=list)  # every family sku of the index


def supplier_plan(
    supplier: Supplier,
    entries: list[ImportEntry],
    *,
    malformed: list[MalformedLine] = (),
    force: bool = False,
    refetch_all: bool = False,
    mass_deactivation_ratio: float = 0.5,
) -> SupplierPlan:
    """Compare the index with stored hashes (one query) and plan the supplier's sync.

    - a family not stored, or stored with another hash, is fetched (``refetch_all`` fetches all);
    - an unchanged family that was deactivated comes back to life without a fetch;
    - an active family missing from the index is deactivated, unless the feed looks truncated:
      fewer entries than ``mass_deactivation_ratio`` of the last complete run, or a malformed
      line of this supplier (we cannot know which family it was). ``force`` overrides both.
    """
    stored = {
        sku: (hash_, active)
        for sku, hash_, active in Product.objects.filter(supplier=supplier).values_list(
            "sku", "promidata_hash", "is_active"
        )
    }
    plan = SupplierPlan(entries=len(entries))
    plan.listed = [entry.family_sku for entry in entries]
    listed = set(plan.listed)
    for entry in entries:
        known = stored.get(entry.family_sku)
        if known is None:
            plan.to_fetch.append(entry)
            plan.new_skus.add(entry.family_sku)
        elif refetch_all or known[0].upper() != entry.hash.upper():
            plan.to_fetch.append(entry)
        else:
            plan.unchanged += 1
            if not known[1]:
                plan.reactivate.append(entry.family_sku)
    vanished = [sku for sku, (_, active) in stored.items() if active and sku not in listed]
    if vanished:
        plan.refusal = _deactivation_refusal(
            supplier, len(entries), malformed, mass_deactivation_ratio
        )
        if plan.refusal and not force:
            return plan
        plan.refusal = ""
        plan.deactivate = vanished
    return plan


def _deactivation_refusal(
    supplier: Supplier, count: int, malformed: list[MalformedLine], ratio: float
) -> str:
    baseline = supplier.last_entry_count
    if baseline and count < baseline * ratio:
        return (
            f"refused to deactivate: Import.txt lists {count} families of {supplier.code}, "
            f"fewer than {ratio:.0%} of the {baseline} of its last run (use --force if real)"
        )
    mine = [m for m in malformed if m.supplier_code == supplier.code]
    if mine:
        return (
            f"refused to deactivate: {len(mine)} malformed Import.txt line(s) of "
            f"{supplier.code} (first on line {mine[0].line_number}); use --force if real"
        )
    return ""


def plan_apply_marks(supplier: Supplier, plan: SupplierPlan) -> None:
    """Apply the plan's bookkeeping in one transaction: reactivate, deactivate, mark seen.

    Runs before any family is fetched. Families to fetch get ``last_seen_at`` when written.
    """
    now = timezone.now()
    products = Product.objects.filter(supplier=supplier)
    with transaction.atomic():
        for batch in _batches(plan.reactivate):
            products.filter(sku__in=batch).update(is_active=True)
        for batch in _batches(plan.deactivate):
            products.filter(sku__in=batch).update(is_active=False)
        if plan.refusal:
            # Vanished families stay active but must not look seen: mark the listed ones only.
            for batch in _batches(plan.listed):
                products.filter(sku__in=batch).update(last_seen_at=now)
        else:
            # Every family still active is listed in this index: one statement marks them.
            products.filter(is_active=True).update(last_seen_at=now)
            Supplier.objects.filter(pk=supplier.pk).update(last_entry_count=plan.entries)


def _batches(items: list[str]):
    for start in range(0, len(items), IN_BATCH):
        yield items[start : start + IN_BATCH]


def run_plan(
    run,
    supplier: Supplier,
    index,
    *,
    mass_deactivation_ratio: float,
    force: bool = False,
    refetch_all: bool = False,
) -> SupplierPlan:
    """Plan ``run`` from the index: the one step both modes share before fetching.

    Compares hashes (``supplier_plan``), applies the bookkeeping (``plan_apply_marks``),
    records the plan's counters and warnings on the run the first time it is planned, adds
    the families to fetch as pending items and marks the run planned. Safe to repeat (a
    redelivered supplier job): families already written are unchanged by then, and pending
    items are not added twice.
    """
    from promidata_sync.models import SyncItem
    from promidata_sync.services import runs

    entries = index.by_supplier().get(supplier.code, [])
    plan = supplier_plan(
        supplier,
        entries,
        malformed=list(index.malformed),
        force=force or run.force,
        refetch_all=refetch_all or run.refetch_all,
        mass_deactivation_ratio=mass_deactivation_ratio,
    )
    plan_apply_marks(supplier, plan)
    if run.planned_at is None:  # the first planning decides the run's plan counters
        runs.run_set(
            run.pk,
            entries=plan.entries,
            families_unchanged=plan.unchanged,
            families_deactivated=len(plan.deactivate),
            families_reactivated=len(plan.reactivate),
            deactivation_refused=bool(plan.refusal),
        )
        if plan.refusal:
            runs.run_append_message(run.pk, plan.refusal)
        if not entries:
            runs.run_append_message(run.pk, f"Import.txt lists no families of {supplier.code}")
    runs.items_plan(
        run.pk,
        kind=SyncItem.Kind.FAMILY,
        items=[(e.family_sku, e.url, e.hash) for e in plan.to_fetch],
    )
    now = timezone.now()
    runs.run_set(run.pk, planned_at=now)
    run.planned_at = now
    return plan
