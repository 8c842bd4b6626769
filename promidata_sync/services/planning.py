"""Deciding, before fetching anything, which families of a supplier need work.

One query reads every stored (sku, hash, active, absent count) of the supplier; the comparison
with the index happens in memory. Unchanged families cost no HTTP request and no per-family
query.

Withdrawing a family is the one decision taken from absence alone, so it takes more than one
look: a family is deactivated when it is missing from two different complete publications of
Import.txt in a row (the first miss only counts it; reading the same publication again, a 304
or a second sync the same morning, counts nothing). An index that may be cut short (no
framing, a malformed line of the supplier, far fewer entries than last time) counts nothing
and deactivates nothing. ``force`` deactivates at the first miss, whatever the index looks
like.

Exclusions (``services.exclusions``) are applied here, once for both modes: an excluded
family is not fetched and not counted as new, changed or unchanged; one already in the
catalog is deactivated (an operator's decision, so no absence counting and no mass guard).
Its stored hash is kept on purpose: the rows still are what that hash describes, so when no
rule excludes it any more and its hash is unchanged, it takes the path of any inactive family
listed again (reactivated without a fetch); had it changed meanwhile, the hash differs and it
is fetched and written as changed (which reactivates it too). Clearing the hash instead would
break "the stored hash describes the stored rows" and cost a fetch for nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from catalog.models import CatalogChange, Product, Supplier
from promidata_sync.feed import ImportEntry, ImportIndex, MalformedLine
from promidata_sync.models import SyncItem, SyncRun
from promidata_sync.services import runs
from promidata_sync.services.changes import changes_record
from promidata_sync.services.exclusions import (
    NO_RULES,
    ExclusionRules,
    excluded_skus_refusal,
    exclusion_rules,
)
from promidata_sync.services.runs import IN_BATCH

# Complete index reads in a row that must miss a family before it is deactivated.
ABSENCES_TO_DEACTIVATE = 2
# Excluded family SKUs named in a run's message; the rest are counted.
EXCLUDED_SHOWN = 10


@dataclass
class SupplierPlan:
    """What a supplier sync will do. ``to_fetch`` are new or changed families."""

    entries: int
    to_fetch: list[ImportEntry] = field(default_factory=list)
    new_skus: set[str] = field(default_factory=set)
    unchanged: int = 0
    reactivate: list[str] = field(default_factory=list)
    deactivate: list[str] = field(default_factory=list)
    # Missing for the first time: counted now, deactivated at the next complete miss.
    first_absence: list[str] = field(default_factory=list)
    # Missing and kept active (the first absences and those this publication counted already).
    missing: list[str] = field(default_factory=list)
    # Listed again after being missed: their absence count starts over.
    present_again: list[str] = field(default_factory=list)
    refusal: str = ""  # why deactivation was refused, if it was
    listed: list[str] = field(default_factory=list)  # every family sku of the index
    excluded: list[str] = field(default_factory=list)  # listed, but excluded by a rule
    # Excluded and active in the catalog: deactivated by this plan (not absence-counted).
    excluded_deactivate: list[str] = field(default_factory=list)
    index_digest: str = ""  # the publication planned from


def supplier_plan(
    supplier: Supplier,
    entries: list[ImportEntry],
    *,
    malformed: list[MalformedLine] | None = None,
    force: bool = False,
    refetch_all: bool = False,
    mass_deactivation_ratio: float = 0.5,
    index_complete: bool = True,
    index_digest: str = "",
    exclusions: ExclusionRules = NO_RULES,
) -> SupplierPlan:
    """Compare the index with stored hashes (one query) and plan the supplier's sync.

    - a family not stored, or stored with another hash, is fetched (``refetch_all`` fetches all);
    - an unchanged family that was deactivated comes back to life without a fetch;
    - an active family missing from the index is counted absent, and deactivated once it has
      been missing from ``ABSENCES_TO_DEACTIVATE`` different complete publications in a row
      (``index_digest`` tells publications apart; "" counts every read); unless the index
      may be cut short: it came without framing (``index_complete`` False), it lists fewer
      entries than ``mass_deactivation_ratio`` of the last complete run, or it has a malformed
      line of this supplier (we cannot know which family it was). Then nothing is counted or
      deactivated and ``refusal`` says why. ``force`` deactivates every missing family at once;
    - a family ``exclusions`` excludes is neither fetched nor counted (``excluded``); if active
      in the catalog, it is deactivated whatever the refusal (``excluded_deactivate``).
    """
    stored = {
        row[0]: row[1:]
        for row in Product.objects.filter(supplier=supplier).values_list(
            "sku", "promidata_hash", "is_active", "absent_count", "absent_index"
        )
    }
    plan = SupplierPlan(entries=len(entries))
    plan.listed = [entry.family_sku for entry in entries]
    listed = set(plan.listed)
    for entry in entries:
        known = stored.get(entry.family_sku)
        if exclusions.is_excluded(entry.family_sku):
            plan.excluded.append(entry.family_sku)
            if known is not None and known[1]:
                plan.excluded_deactivate.append(entry.family_sku)
            continue
        if known is None:
            plan.to_fetch.append(entry)
            plan.new_skus.add(entry.family_sku)
            continue
        if known[2]:
            plan.present_again.append(entry.family_sku)
        if refetch_all or known[0].upper() != entry.hash.upper():
            plan.to_fetch.append(entry)
        else:
            plan.unchanged += 1
            if not known[1]:
                plan.reactivate.append(entry.family_sku)
    vanished = [sku for sku, row in stored.items() if row[1] and sku not in listed]
    if not vanished:
        return plan
    plan.refusal = _deactivation_refusal(
        supplier, len(entries), malformed or [], mass_deactivation_ratio, index_complete
    )
    if force:
        plan.refusal, plan.deactivate = "", vanished
    elif not plan.refusal:
        for sku in vanished:
            _, _, absences, counted_in = stored[sku]
            if absences and index_digest and counted_in == index_digest:
                plan.missing.append(sku)  # this publication counted its miss already
            elif absences + 1 >= ABSENCES_TO_DEACTIVATE:
                plan.deactivate.append(sku)
            else:
                plan.first_absence.append(sku)
                plan.missing.append(sku)
    plan.index_digest = index_digest
    return plan


def _deactivation_refusal(
    supplier: Supplier,
    count: int,
    malformed: list[MalformedLine],
    ratio: float,
    index_complete: bool,
) -> str:
    if not index_complete:
        return (
            "refused to deactivate: Import.txt came without Content-Length or chunked "
            "framing, so it may have been cut short (use --force if it is whole)"
        )
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


def plan_apply_marks(supplier: Supplier, plan: SupplierPlan) -> tuple[list[int], list[int]]:
    """Apply the plan's bookkeeping in one transaction: reactivate, count absences,
    deactivate, mark seen. Returns the ids of the products it (re)activated and deactivated,
    for the change feed (which the caller writes last in its transaction).

    Runs before any family is fetched. Families to fetch get ``last_seen_at`` when written.
    Not idempotent for absences on its own: ``run_plan`` applies it once per run.
    """
    now = timezone.now()
    products = Product.objects.filter(supplier=supplier)
    with transaction.atomic():
        reactivated, deactivated = [], []
        for batch in _batches(plan.reactivate):
            ids = list(products.filter(sku__in=batch, is_active=False).values_list("pk", flat=True))
            products.filter(pk__in=ids).update(is_active=True, updated_at=now)
            reactivated += ids
        for batch in _batches(plan.present_again):
            products.filter(sku__in=batch).update(absent_count=0, absent_index="")
        counted = {"absent_count": F("absent_count") + 1, "absent_index": plan.index_digest}
        for batch in _batches(plan.first_absence):
            products.filter(sku__in=batch).update(**counted)
        for batch in _batches(plan.deactivate):
            ids = list(products.filter(sku__in=batch, is_active=True).values_list("pk", flat=True))
            products.filter(sku__in=batch).update(is_active=False, updated_at=now, **counted)
            deactivated += ids
        for batch in _batches(plan.excluded_deactivate):
            ids = list(products.filter(sku__in=batch, is_active=True).values_list("pk", flat=True))
            products.filter(pk__in=ids).update(is_active=False, updated_at=now)
            deactivated += ids
        if plan.refusal or len(plan.missing) > IN_BATCH:
            # Missing families stay active but must not look seen: mark the listed ones only.
            for batch in _batches(plan.listed):
                products.filter(sku__in=batch).update(last_seen_at=now)
        else:
            # Every family still active is listed, but for the few that are missing.
            products.filter(is_active=True).exclude(sku__in=plan.missing).update(last_seen_at=now)
        if not plan.refusal:
            Supplier.objects.filter(pk=supplier.pk).update(last_entry_count=plan.entries)
    return reactivated, deactivated


def _batches(items: list[str]):
    for start in range(0, len(items), IN_BATCH):
        yield items[start : start + IN_BATCH]


def _excluded_message(plan: SupplierPlan) -> str:
    shown = ", ".join(plan.excluded[:EXCLUDED_SHOWN])
    hidden = len(plan.excluded) - EXCLUDED_SHOWN
    more = f" and {hidden} more" if hidden > 0 else ""
    gone = f"; {len(plan.excluded_deactivate)} deactivated" if plan.excluded_deactivate else ""
    return f"{len(plan.excluded)} families excluded by rules, not imported ({shown}{more}){gone}"


def run_plan(
    run: SyncRun,
    supplier: Supplier,
    index: ImportIndex,
    *,
    mass_deactivation_ratio: float,
    force: bool = False,
    refetch_all: bool = False,
) -> SupplierPlan:
    """Plan ``run`` from the index: the one step both modes share before fetching.

    Compares hashes (``supplier_plan``); the first time the run is planned, applies the
    bookkeeping (``plan_apply_marks``) and records the plan's counters, messages and the
    supplier's malformed index lines on the run; adds the families to fetch as pending items
    and marks the run planned. All in one transaction, with the run row locked, so a planning
    that dies half-way leaves nothing behind. Safe to repeat (a redelivered supplier job):
    absences are counted once per run, families already written are unchanged by then, and
    pending items are not added twice.
    """
    entries = index.by_supplier().get(supplier.code, [])
    rules = exclusion_rules(supplier)
    if run.skus:
        return _run_plan_chosen(run, supplier, entries, rules)
    mine = [m for m in index.malformed if m.supplier_code == supplier.code]
    plan = supplier_plan(
        supplier,
        entries,
        malformed=mine,
        force=force or run.force,
        refetch_all=refetch_all or run.refetch_all,
        mass_deactivation_ratio=mass_deactivation_ratio,
        index_complete=index.complete,
        index_digest=index.digest,
        exclusions=rules,
    )
    with transaction.atomic():
        planned_at = (
            SyncRun.objects.select_for_update()
            .filter(pk=run.pk)
            .values_list("planned_at", flat=True)
            .get()
        )
        reactivated, deactivated = [], []
        if planned_at is None:
            reactivated, deactivated = _record_first_plan(run, supplier, plan, mine)
        runs.items_plan(
            run.pk,
            kind=SyncItem.Kind.FAMILY,
            items=[(e.family_sku, e.url, e.hash) for e in plan.to_fetch],
        )
        now = timezone.now()
        runs.run_set(run.pk, planned_at=now)
        # Last: the change feed's counter stays locked from here to the commit.
        changes_record(reactivated, CatalogChange.Kind.REACTIVATED, run_id=run.pk)
        changes_record(deactivated, CatalogChange.Kind.DEACTIVATED, run_id=run.pk)
    run.planned_at = now
    return plan


NOT_LISTED = (
    "{sku} is not in Import.txt: the feed no longer lists this family, so it cannot be re-imported"
)


def _run_plan_chosen(
    run: SyncRun, supplier: Supplier, entries: list[ImportEntry], rules: ExclusionRules
) -> SupplierPlan:
    """Plan a manual re-import (``run.skus``): each chosen family the index lists is fetched
    whatever its stored hash says; a chosen family it does not list, or that a rule excludes
    (added since the re-import was asked for: ``reimport_families`` refuses them up front),
    fails at once, saying why. Nothing else is looked at: a partial run counts no absence,
    deactivates nothing and marks nothing seen, so it never disturbs what the full syncs
    decide. Idempotent, like ``run_plan``."""
    chosen = list(dict.fromkeys(run.skus))
    listed = {e.family_sku: e for e in entries}
    refused = {
        sku: excluded_skus_refusal(supplier, [sku], rules=rules)
        for sku in chosen
        if rules.is_excluded(sku)
    }
    plan = SupplierPlan(entries=len(chosen))
    plan.to_fetch = [listed[sku] for sku in chosen if sku in listed and sku not in refused]
    plan.listed = [e.family_sku for e in plan.to_fetch]
    missing = {sku: NOT_LISTED.format(sku=sku) for sku in chosen if sku not in listed}
    missing.update(refused)
    with transaction.atomic():
        planned_at = (
            SyncRun.objects.select_for_update()
            .filter(pk=run.pk)
            .values_list("planned_at", flat=True)
            .get()
        )
        if planned_at is None:
            runs.run_set(run.pk, entries=len(plan.to_fetch))
            for sku, error in missing.items():
                runs.item_record(run.pk, kind=SyncItem.Kind.FAMILY, key=sku, error=error)
        runs.items_plan(
            run.pk,
            kind=SyncItem.Kind.FAMILY,
            items=[(e.family_sku, e.url, e.hash) for e in plan.to_fetch],
        )
        now = timezone.now()
        runs.run_set(run.pk, planned_at=now)
    run.planned_at = now
    return plan


def _record_first_plan(run, supplier, plan: SupplierPlan, malformed: list[MalformedLine]):
    marks = plan_apply_marks(supplier, plan)
    runs.run_set(
        run.pk,
        entries=plan.entries,
        families_unchanged=plan.unchanged,
        families_deactivated=len(plan.deactivate) + len(plan.excluded_deactivate),
        families_reactivated=len(plan.reactivate),
        deactivation_refused=bool(plan.refusal),
    )
    if plan.refusal:
        runs.run_append_message(run.pk, plan.refusal)
    if plan.first_absence:
        runs.run_append_message(
            run.pk,
            f"{len(plan.first_absence)} families missing from Import.txt for the first time "
            "(kept active; deactivated if still missing at the next complete read)",
        )
    if plan.excluded:
        runs.run_append_message(run.pk, _excluded_message(plan))
    if not plan.entries:
        runs.run_append_message(run.pk, f"Import.txt lists no families of {supplier.code}")
    if malformed:
        runs.index_warnings_record(
            run.pk, [f"Import.txt line {m.line_number}: {m.reason}" for m in malformed]
        )
    return marks
