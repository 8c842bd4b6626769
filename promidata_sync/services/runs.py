"""SyncRun lifecycle: start, count, record failures, finish.

Counters are bumped with ``F()`` updates so that any number of processes can report into one
run without lost updates. ``run_finish`` is the only place that decides a run's final state and
writes the supplier's last sync status (of catalog runs only: a stock run leaves it alone).
"""

from __future__ import annotations

import logging

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from catalog.models import Supplier
from promidata_sync.feed.limits import WARNINGS_KEPT
from promidata_sync.models import SyncItem, SyncRun
from promidata_sync.redaction import sanitize_message
from promidata_sync.services.notifications import notifications_for_finished_run
from promidata_sync.services.run_owners import owner_is_gone
from promidata_sync.services.unique_rows import unique_row
from promidata_sync.services.webhooks import webhooks_for_finished_run

log = logging.getLogger(__name__)

SUMMARY_FIELDS = (
    "entries",
    "families_total",
    "families_done",
    "families_new",
    "families_updated",
    "families_unchanged",
    "families_failed",
    "families_deactivated",
    "families_reactivated",
    "variants_written",
    "variants_deactivated",
    "price_tiers_written",
    "images_total",
    "images_done",
    "images_downloaded",
    "images_reused",
    "images_failed",
    "warnings",
)
# A run's message collects warnings and reasons; past this size further lines are counted.
MESSAGE_MAX_CHARS = 20_000
PROCESS_DIED = "process died: the process running this sync ended without finishing it"
# Passes of run_create: each either creates the run or ends one that was in the way.
CREATE_ATTEMPTS = 3


class RunAlreadyActive(Exception):
    """The supplier already has a queued or running sync; ``run`` is that sync."""

    def __init__(self, run: SyncRun):
        super().__init__(f"{run.supplier} already has an active sync (#{run.pk})")
        self.run = run


def run_create(
    *,
    supplier: Supplier,
    trigger: str,
    mode: str,
    force: bool = False,
    kind: str = SyncRun.Kind.CATALOG,
    skus: list[str] | None = None,
) -> SyncRun:
    """Create a queued run of ``kind`` for ``supplier``, or raise ``RunAlreadyActive`` with
    the live one of that kind (a catalog and a stock run may run side by side). ``skus``
    limits a manual re-import to those families.

    The database's partial unique constraint settles races between processes: of two
    concurrent calls, exactly one creates the run. An active run whose owning process is gone
    (``run_owners.owner_is_gone``) is finished as failed first, so it never blocks for ever.
    """
    error: IntegrityError | None = None
    for _ in range(CREATE_ATTEMPTS):
        try:
            with transaction.atomic():
                return SyncRun.objects.create(
                    supplier=supplier,
                    trigger=trigger,
                    mode=mode,
                    force=force,
                    kind=kind,
                    skus=list(skus or []),
                    state=SyncRun.State.QUEUED,
                )
        except IntegrityError as exc:
            error = exc
            active = SyncRun.objects.filter(
                supplier=supplier, kind=kind, state__in=SyncRun.ACTIVE_STATES
            ).first()
            # Try again when it finished in between, or its process died and is finished
            # now; with no active run at all it was another constraint (the supplier went
            # away), which a few more tries will not change.
            if active is not None and not run_reap_if_dead(active):
                raise RunAlreadyActive(active) from None
    assert error is not None
    raise error


def run_reap_if_dead(run: SyncRun) -> bool:
    """Finish ``run`` as failed when its owning process is gone; True if it was (or it had
    already finished). Safe to call from several processes at once."""
    run.refresh_from_db()
    if run.finished_at:
        return True
    if not owner_is_gone(run):
        return False
    log.warning("sync #%s of supplier %s: %s", run.pk, run.supplier.code, PROCESS_DIED)
    run_finish(run, failed_reason=PROCESS_DIED)
    return True


def run_open(run_id: int) -> bool:
    """Whether the run is neither finished nor asked to stop (one lean query)."""
    return SyncRun.objects.filter(
        pk=run_id, finished_at__isnull=True, stop_requested=False
    ).exists()


def items_to_do(run_id: int, *, kind: str, keys) -> dict[str, str]:
    """``{key: error noted so far}`` for those of ``keys`` (in order) whose item of the run is
    still to do: pending, or not planned at all. Done and failed items are left out (a retry
    from the run page sets failed ones pending first)."""
    keys = list(dict.fromkeys(keys))
    rows = SyncItem.objects.filter(run_id=run_id, kind=kind, key__in=keys).values_list(
        "key", "state", "error"
    )
    known = {key: (state, error) for key, state, error in rows}
    settled = (SyncItem.State.DONE, SyncItem.State.FAILED)
    return {
        key: known.get(key, ("", ""))[1]
        for key in keys
        if known.get(key, ("", ""))[0] not in settled
    }


def item_note_error(run_id: int, *, kind: str, key: str, error: str) -> None:
    """Keep the latest error of a pending item that will be tried again (its state and
    counters do not move): it is the error recorded if no retry succeeds."""
    SyncItem.objects.filter(run_id=run_id, kind=kind, key=key, state=SyncItem.State.PENDING).update(
        error=sanitize_message(error)
    )


def run_exists(run_id: int) -> bool:
    return SyncRun.objects.filter(pk=run_id).exists()


def run_mark_running(run: SyncRun) -> None:
    now = timezone.now()
    SyncRun.objects.filter(pk=run.pk, state=SyncRun.State.QUEUED).update(
        state=SyncRun.State.RUNNING, started_at=now
    )
    run.state, run.started_at = SyncRun.State.RUNNING, now


def run_add(run_id: int, **increments: int) -> None:
    """Atomically add ``increments`` to the run's counters (one UPDATE)."""
    increments = {k: v for k, v in increments.items() if v}
    if increments:
        SyncRun.objects.filter(pk=run_id).update(**{k: F(k) + v for k, v in increments.items()})


def run_set(run_id: int, **values) -> None:
    SyncRun.objects.filter(pk=run_id).update(**values)


# kind -> (total, done, failed) counters of SyncRun
ITEM_COUNTERS = {
    SyncItem.Kind.FAMILY: ("families_total", "families_done", "families_failed"),
    SyncItem.Kind.IMAGE: ("images_total", "images_done", "images_failed"),
    # A stock run's items are its families: it counts them as a catalog run counts its own.
    SyncItem.Kind.STOCK: ("families_total", "families_done", "families_failed"),
}
IN_BATCH = 1000


def items_plan(
    run_id: int, *, kind: str, items: list[tuple[str, str, str]]
) -> list[tuple[str, str, str]]:
    """Add ``(key, url, token)`` work items to the run as pending; return those that were new.

    Items the run already has (another family declared the same image URL) are not added
    again, so each piece of work is enqueued and counted once per run. The run row is locked
    for the duration, which serialises concurrent planners of one run.
    """
    if not items:
        return []
    total_field = ITEM_COUNTERS[SyncItem.Kind(kind)][0]
    unique = list({key: (key, url, token) for key, url, token in items}.values())
    with transaction.atomic(savepoint=False):
        unique_row(SyncRun.objects.select_for_update().filter(pk=run_id).values_list("pk"))
        existing: set[str] = set()
        keys = [key for key, _, _ in unique]
        for start in range(0, len(keys), IN_BATCH):
            existing.update(
                SyncItem.objects.filter(
                    run_id=run_id, kind=kind, key__in=keys[start : start + IN_BATCH]
                ).values_list("key", flat=True)
            )
        new = [item for item in unique if item[0] not in existing]
        SyncItem.objects.bulk_create(
            [SyncItem(run_id=run_id, kind=kind, key=k, url=u, token=t) for k, u, t in new],
            batch_size=IN_BATCH,
        )
        run_add(run_id, **{total_field: len(new)})
    return new


def item_record(
    run_id: int,
    *,
    kind: str,
    key: str,
    url: str = "",
    error: str = "",
    permanent: bool = True,
    done_counters: dict[str, int] | None = None,
    warnings: tuple[str, ...] | list[str] = (),
    warning_count: int = 0,
) -> bool:
    """Record the outcome of one family or image of a run; return True if it was counted.

    ``error`` empty means done. The run's counters (and ``done_counters``, e.g.
    ``families_new``) move only on a state change: pending → done/failed, or failed → done
    after a retry. A second delivery of finished work changes nothing, and a late failure
    never overrides a success. Call it inside the transaction of the work it reports, so both
    commit or neither does. Work that was never planned is planned here first.

    ``error`` and ``warnings`` are stored sanitised (``redaction.sanitize_message``); the run's
    ``warnings`` counter adds ``warning_count`` when the item is counted done.
    """
    error = sanitize_message(error) if error else ""
    warnings = [sanitize_message(w, max_chars=500) for w in warnings]
    _, done_field, failed_field = ITEM_COUNTERS[SyncItem.Kind(kind)]
    new_state = SyncItem.State.FAILED if error else SyncItem.State.DONE
    with transaction.atomic(savepoint=False):
        items = SyncItem.objects.select_for_update().filter(run_id=run_id, kind=kind)
        item = unique_row(items.filter(key=key))
        if item is None:
            items_plan(run_id, kind=kind, items=[(key, url, "")])
            item = items.get(key=key)
        previous = item.state
        if previous == SyncItem.State.DONE:
            return False
        item.state, item.error, item.permanent = new_state, error, permanent
        item.attempts += 1
        fields = ["state", "error", "permanent", "attempts", "updated_at"]
        if warning_count:
            item.warnings, item.warning_count = warnings, warning_count
            fields += ["warnings", "warning_count"]
        item.save(update_fields=fields)
        if previous == new_state:  # failed again: nothing to count
            return False
        increments: dict[str, int] = {}
        if new_state == SyncItem.State.DONE:
            increments[done_field] = 1
            increments.update(done_counters or {})
            increments["warnings"] = warning_count
        else:
            increments[failed_field] = 1
        if previous == SyncItem.State.FAILED:
            increments[failed_field] = -1
        run_add(run_id, **increments)
    return True


def index_warnings_record(run_id: int, warnings: list[str]) -> None:
    """Keep the run's problems with Import.txt lines as the warnings of its index item.

    The index item is done from the start and counts toward no family or image total; its
    warnings (the first ``WARNINGS_KEPT``, all counted) show on the run page like a family's.
    """
    kept = [sanitize_message(w, max_chars=500) for w in warnings[:WARNINGS_KEPT]]
    with transaction.atomic():
        SyncItem.objects.update_or_create(
            run_id=run_id,
            kind=SyncItem.Kind.INDEX,
            key="Import.txt",
            defaults={
                "state": SyncItem.State.DONE,
                "warnings": kept,
                "warning_count": len(warnings),
            },
        )
        run_add(run_id, warnings=len(warnings))


def run_retryable(run: SyncRun) -> bool:
    """Whether a retry (``operations.retry_failed``) has anything to do for ``run``: it has
    failed families or images, or it ended before it was planned (an unreadable feed), when
    a retry plans it again. The admin, the API and the service all ask this."""
    if run.finished_at and run.planned_at is None:
        return True
    return run.items.filter(state=SyncItem.State.FAILED).exists()


def run_finish_if_complete(run_id: int) -> SyncRun | None:
    """Finish the run if its last piece of work just ended; return it if it was finished.
    (Asked after every queue job: one lean query when the run goes on.)"""
    complete = SyncRun.objects.filter(
        pk=run_id,
        finished_at__isnull=True,
        planned_at__isnull=False,
        families_total__lte=F("families_done") + F("families_failed"),
        images_total__lte=F("images_done") + F("images_failed"),
    )
    run = unique_row(complete)
    if run is None:
        return None
    return run_finish(run)


def run_append_message(run_id: int, line: str) -> None:
    """Add a line (sanitised) to the run's message, which stays under ``MESSAGE_MAX_CHARS``."""
    line = sanitize_message(line, max_chars=2000)
    with transaction.atomic():
        run = SyncRun.objects.select_for_update().only("message").get(pk=run_id)
        SyncRun.objects.filter(pk=run_id).update(message=_appended(run.message, line))


def _appended(message: str, line: str) -> str:
    if not message:
        return line
    if len(message) + len(line) < MESSAGE_MAX_CHARS:
        return f"{message}\n{line}"
    return message if message.endswith("(more not kept)") else f"{message}\n… (more not kept)"


def run_stop_requested(run_id: int) -> bool:
    return SyncRun.objects.filter(pk=run_id, stop_requested=True).exists()


def run_finish(run: SyncRun, *, failed_reason: str = "") -> SyncRun:
    """Close the run: decide its state from its counters, store a summary, update the supplier.

    ``failed_reason`` marks a run that could not do its job at all (unreadable feed).
    Idempotent: finishing a finished run changes nothing. Records the run's webhook
    deliveries (``webhooks.webhooks_for_finished_run``) and notifications
    (``notifications.notifications_for_finished_run``), sent after the commit.
    """
    with transaction.atomic():
        run = SyncRun.objects.select_for_update().get(pk=run.pk)
        if run.finished_at:
            return run
        now = timezone.now()
        if failed_reason:
            state = SyncRun.State.FAILED
            run.message = _appended(run.message, sanitize_message(failed_reason))
        elif run.stop_requested:
            state = SyncRun.State.STOPPED
        elif run.families_failed or run.images_failed or run.deactivation_refused:
            state = SyncRun.State.PARTIAL
        else:
            state = SyncRun.State.COMPLETED
        run.state = state
        run.finished_at = now
        run.started_at = run.started_at or now
        run.summary = {name: getattr(run, name) for name in SUMMARY_FIELDS}
        run.summary["duration_seconds"] = round((now - run.started_at).total_seconds(), 3)
        run.save(update_fields=["state", "finished_at", "started_at", "summary", "message"])
        if run.kind == SyncRun.Kind.CATALOG and not run.skus:
            # The supplier's status tells its last full catalog sync: a re-import of a few
            # families says nothing about the rest of its catalog, and a stock run (hourly,
            # say) would otherwise hide a failed nightly sync behind its own "completed".
            Supplier.objects.filter(pk=run.supplier_id).update(
                last_synced_at=now,
                last_sync_status=state,
                last_sync_message=_status_message(run),
            )
        # In this transaction, so a finished run always has its deliveries; never raises, and
        # sends only after the commit.
        webhooks_for_finished_run(run)
        notifications_for_finished_run(run, failed_reason=failed_reason)
    log.info("sync #%s of supplier %s finished: %s", run.pk, run.supplier.code, state)
    return run


def _status_message(run: SyncRun) -> str:
    parts = [
        f"{run.families_new} new, {run.families_updated} updated, "
        f"{run.families_unchanged} unchanged, {run.families_failed} failed families; "
        f"{run.images_downloaded} images downloaded, {run.images_failed} failed"
    ]
    if run.message:
        parts.append(run.message)
    return "\n".join(parts)
