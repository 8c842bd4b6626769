"""Pauses: a queue whose workers start no new job, everything paused, or a supplier whose
syncs may not start. Stored as ``Pause`` rows, so every process and machine sees the same.

Pausing and resuming are idempotent (a second pause changes nothing and keeps who paused
first). Workers ask ``queue_is_paused`` before each message; its answer is cached per
process for ``PAUSE_CACHE_SECONDS`` so a long paused queue costs one query a second, not
one per message.
"""

from __future__ import annotations

import threading
import time

from django.utils import timezone

from catalog.models import Supplier
from promidata_sync.models import Pause

# How long a worker process trusts its last reading of the pauses.
PAUSE_CACHE_SECONDS = 1.0
# The exit status of promidata_sync when a pause refused every sync it was asked for.
EXIT_PAUSED = 3


class SyncPaused(Exception):
    """Syncs are paused (everything, or the suppliers named); the message says who paused
    and how to resume."""


def pause_set(*, scope: str, name: str = "", by: str = "", reason: str = "") -> bool:
    """Pause ``scope``/``name``; True if it was not paused already."""
    _, created = Pause.objects.get_or_create(
        scope=scope,
        name=_name(scope, name),
        defaults={"paused_by": by, "paused_at": timezone.now(), "reason": reason[:500]},
    )
    _cache.clear()
    return created


def pause_clear(*, scope: str, name: str = "") -> bool:
    """Resume ``scope``/``name``; True if it was paused."""
    deleted, _ = Pause.objects.filter(scope=scope, name=_name(scope, name)).delete()
    _cache.clear()
    return bool(deleted)


def pauses_in_force() -> list[Pause]:
    return list(Pause.objects.all())


def _name(scope: str, name: str) -> str:
    if scope == Pause.Scope.ALL:
        return ""
    return name.upper() if scope == Pause.Scope.SUPPLIER else name


class _PauseCache:
    """The paused queue names (and whether everything is paused), read at most once per
    ``PAUSE_CACHE_SECONDS`` in this process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._read_at = float("-inf")
        self._queues: frozenset[str] = frozenset()
        self._all = False

    def clear(self) -> None:
        with self._lock:
            self._read_at = float("-inf")

    def paused(self, queue_name: str) -> bool:
        with self._lock:
            if time.monotonic() - self._read_at > PAUSE_CACHE_SECONDS:
                rows = list(
                    Pause.objects.filter(
                        scope__in=[Pause.Scope.ALL, Pause.Scope.QUEUE]
                    ).values_list("scope", "name")
                )
                self._all = any(scope == Pause.Scope.ALL for scope, _ in rows)
                self._queues = frozenset(n for s, n in rows if s == Pause.Scope.QUEUE)
                self._read_at = time.monotonic()
            return self._all or queue_name in self._queues


_cache = _PauseCache()


def queue_is_paused(queue_name: str) -> bool:
    """Whether workers should hold ``queue_name``'s messages (it, or everything, is
    paused). At most ``PAUSE_CACHE_SECONDS`` out of date."""
    return _cache.paused(queue_name.removesuffix(".DQ"))


def _who(pause: Pause) -> str:
    by = f" by {pause.paused_by}" if pause.paused_by else ""
    return f"{by} at {timezone.localtime(pause.paused_at):%Y-%m-%d %H:%M}"


def sync_pause_check(codes: list[str] | None) -> list[str] | None:
    """Which of the supplier ``codes`` (None: every supplier) may start a sync now.

    Raises ``SyncPaused`` when everything is paused, or when every supplier named is paused;
    otherwise returns the codes minus the paused ones. None (every supplier) stays None when
    no supplier is paused, and becomes the active suppliers' codes minus the paused ones
    otherwise (a supplier new to the feed then waits for the next unpaused sync).
    """
    rows = {(p.scope, p.name): p for p in pauses_in_force() if p.scope != Pause.Scope.QUEUE}
    everything = rows.get((Pause.Scope.ALL, ""))
    if everything is not None:
        raise SyncPaused(
            f"syncs are paused{_who(everything)}: nothing started (resume on the admin's "
            "Queues page)"
        )
    paused = {name for scope, name in rows if scope == Pause.Scope.SUPPLIER}
    if not paused:
        return codes
    if codes is None:  # every active supplier but the paused ones
        codes = list(Supplier.objects.filter(is_active=True).values_list("code", flat=True))
    allowed = [code for code in codes if code.upper() not in paused]
    if codes and not allowed:
        names = ", ".join(sorted({c.upper() for c in codes}))
        raise SyncPaused(
            f"syncs of {names} are paused: nothing started (resume on the admin's Queues page)"
        )
    return allowed


def paused_suppliers() -> set[str]:
    """The codes of the suppliers whose syncs are paused (upper case)."""
    return set(Pause.objects.filter(scope=Pause.Scope.SUPPLIER).values_list("name", flat=True))
