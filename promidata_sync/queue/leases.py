"""Leases: named locks that expire unless their holder keeps renewing them.

A lock held by a worker that is killed (kill -9, an OOM kill, a lost machine) must not outlive
it for long. A lease is taken for ``ttl_seconds`` and renewed by a daemon thread every third of
that while its holder runs; when the holder dies, renewal stops and the lease lapses within
``ttl_seconds``. Release only deletes the lease if it is still ours (compare-and-delete), so a
holder that lost its lease (Redis flushed, a pause longer than the TTL) never frees someone
else's.

With a Redis broker the lease lives in Redis and holds across machines; with the in-memory
broker it lives in this process, which is then the only one consuming.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import uuid

import dramatiq
from dramatiq.brokers.redis import RedisBroker

log = logging.getLogger(__name__)

KEY_PREFIX = "promidata:lease:"
_RENEW = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end"  # noqa: E501
_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end"  # noqa: E501


class _LocalStore:
    """The in-process stand-in for Redis' SET NX PX / compare-and-delete."""

    def __init__(self):
        self._lock = threading.Lock()
        self._held: dict[str, tuple[str, float]] = {}

    def take(self, key: str, token: str, ttl: float) -> bool:
        with self._lock:
            holder = self._held.get(key)
            if holder and holder[1] > time.monotonic():
                return False
            self._held[key] = (token, time.monotonic() + ttl)
            return True

    def renew(self, key: str, token: str, ttl: float) -> bool:
        with self._lock:
            if self._held.get(key, ("",))[0] != token:
                return False
            self._held[key] = (token, time.monotonic() + ttl)
            return True

    def release(self, key: str, token: str) -> None:
        with self._lock:
            if self._held.get(key, ("",))[0] == token:
                del self._held[key]


_local = _LocalStore()


class Lease:
    """``with Lease(name, ttl_seconds=60) as held:`` — ``held`` is False when someone else
    holds it. The lease is renewed while the block runs and released when it ends."""

    def __init__(self, name: str, *, ttl_seconds: float, client=None):
        self.key = KEY_PREFIX + name
        self.ttl = max(1.0, float(ttl_seconds))
        self.token = uuid.uuid4().hex
        self.client = client
        self._stop = threading.Event()
        self._renewer: threading.Thread | None = None

    def acquire(self) -> bool:
        if self.client is None:
            taken = _local.take(self.key, self.token, self.ttl)
        else:
            taken = bool(self.client.set(self.key, self.token, nx=True, px=int(self.ttl * 1000)))
        if taken:
            self._renewer = threading.Thread(
                target=self._renew_until_released, name=f"lease {self.key}", daemon=True
            )
            self._renewer.start()
        return taken

    def release(self) -> None:
        self._stop.set()
        if self._renewer is not None:
            self._renewer.join(timeout=5)
        with contextlib.suppress(Exception):  # a lost Redis: the lease lapses by itself
            if self.client is None:
                _local.release(self.key, self.token)
            else:
                self.client.eval(_RELEASE, 1, self.key, self.token)

    def _renew_until_released(self) -> None:
        while not self._stop.wait(self.ttl / 3):
            try:
                if self.client is None:
                    kept = _local.renew(self.key, self.token, self.ttl)
                else:
                    kept = self.client.eval(_RENEW, 1, self.key, self.token, int(self.ttl * 1000))
            except Exception:
                log.warning("could not renew lease %s; retrying", self.key, exc_info=True)
                continue
            if not kept:
                log.warning("lease %s was lost (expired or Redis lost it)", self.key)
                return

    def __enter__(self) -> bool:
        self._held = self.acquire()
        return self._held

    def __exit__(self, *exc_info) -> None:
        if self._held:
            self.release()


def broker_lease(name: str, *, ttl_seconds: float) -> Lease:
    """A lease in the broker's Redis, or in this process with the in-memory broker."""
    broker = dramatiq.get_broker()
    client = broker.client if isinstance(broker, RedisBroker) else None
    return Lease(name, ttl_seconds=ttl_seconds, client=client)
