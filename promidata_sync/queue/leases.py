"""Leases: named locks that expire unless their holder keeps renewing them.

A lock held by a worker that is killed (kill -9, an OOM kill, a lost machine) must not outlive
it for long. A lease is taken for ``ttl_seconds`` and renewed by a daemon thread every third of
that while its holder runs; when the holder dies, renewal stops and the lease lapses within
``ttl_seconds``. Release only deletes the lease if it is still ours (compare-and-delete), so a
holder that lost its lease (its store flushed, a pause longer than the TTL) never frees someone
else's.

Where a lease lives follows the broker (``broker_lease``), so it holds wherever the work can
run: in Redis with a Redis broker; in PostgreSQL (the ``Lease`` table) with RabbitMQ, which has
no store of its own for them; in this process with the in-memory broker, which is then the
only one consuming. Every store answers take / renew / release in one atomic statement.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import uuid
from datetime import timedelta
from typing import Protocol

import dramatiq
from dramatiq.brokers.rabbitmq import RabbitmqBroker
from dramatiq.brokers.redis import RedisBroker

log = logging.getLogger(__name__)

KEY_PREFIX = "promidata:lease:"
_RENEW = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end"  # noqa: E501
_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end"  # noqa: E501


class LeaseStore(Protocol):
    """What a lease store must answer, each atomically: ``take`` succeeds when nobody holds
    ``key`` or its holder's lease expired; ``renew`` and ``release`` act only while ``token``
    still holds it. ``done`` frees whatever the calling thread opened (its connection)."""

    def take(self, key: str, token: str, ttl: float) -> bool: ...

    def renew(self, key: str, token: str, ttl: float) -> bool: ...

    def release(self, key: str, token: str) -> None: ...

    def done(self) -> None: ...


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

    def done(self) -> None:
        pass


class RedisStore:
    """SET NX PX to take, compare-and-pexpire to renew, compare-and-delete to release."""

    def __init__(self, client):
        self.client = client

    def take(self, key: str, token: str, ttl: float) -> bool:
        return bool(self.client.set(key, token, nx=True, px=int(ttl * 1000)))

    def renew(self, key: str, token: str, ttl: float) -> bool:
        return bool(self.client.eval(_RENEW, 1, key, token, int(ttl * 1000)))

    def release(self, key: str, token: str) -> None:
        self.client.eval(_RELEASE, 1, key, token)

    def done(self) -> None:
        pass


class DatabaseStore:
    """Leases as rows of ``promidata_sync.models.Lease`` (one per name, the primary key).

    take: one ``INSERT … ON CONFLICT (name) DO UPDATE … WHERE expires_at < now`` (a new row,
    or taking over an expired one; two takers cannot both win: the row lock orders them);
    renew: ``UPDATE … WHERE name AND token``; release: ``DELETE … WHERE name AND token``.
    Times are this process's clock (timezone-aware), so the machines sharing the database
    should keep their clocks in step (NTP): a skew shortens or lengthens a lease by as much.
    Must not be called inside a transaction (others would not see the row until it commits);
    each statement runs on its own, in autocommit.
    """

    def take(self, key: str, token: str, ttl: float) -> bool:
        from django.db import connection
        from django.utils import timezone

        from promidata_sync.models import Lease as LeaseRow

        table = connection.ops.quote_name(LeaseRow._meta.db_table)
        now = timezone.now()
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} (name, token, expires_at) VALUES (%s, %s, %s) "
                "ON CONFLICT (name) DO UPDATE SET token = EXCLUDED.token, "
                f"expires_at = EXCLUDED.expires_at WHERE {table}.expires_at < %s "
                "RETURNING token",
                [
                    key,
                    token,
                    connection.ops.adapt_datetimefield_value(now + timedelta(seconds=ttl)),
                    connection.ops.adapt_datetimefield_value(now),
                ],
            )
            row = cursor.fetchone()
        return row is not None and row[0] == token

    def renew(self, key: str, token: str, ttl: float) -> bool:
        from django.utils import timezone

        from promidata_sync.models import Lease as LeaseRow

        expires_at = timezone.now() + timedelta(seconds=ttl)
        return bool(LeaseRow.objects.filter(name=key, token=token).update(expires_at=expires_at))

    def release(self, key: str, token: str) -> None:
        from promidata_sync.models import Lease as LeaseRow

        LeaseRow.objects.filter(name=key, token=token).delete()

    def done(self) -> None:
        from django.db import connection

        connection.close()  # the renewing thread's own connection, not the holder's


_local = _LocalStore()


class Lease:
    """``with Lease(name, ttl_seconds=60) as held:`` — ``held`` is False when someone else
    holds it. The lease is renewed while the block runs and released when it ends.

    ``store`` says where it lives (``client``, a Redis client, is short for a ``RedisStore``
    of it); neither: in this process."""

    def __init__(
        self, name: str, *, ttl_seconds: float, client=None, store: LeaseStore | None = None
    ):
        self.key = KEY_PREFIX + name
        self.ttl = max(1.0, float(ttl_seconds))
        self.token = uuid.uuid4().hex
        if store is None:
            store = RedisStore(client) if client is not None else _local
        self.store: LeaseStore = store
        self._stop = threading.Event()
        self._renewer: threading.Thread | None = None

    def acquire(self) -> bool:
        taken = self.store.take(self.key, self.token, self.ttl)
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
        with contextlib.suppress(Exception):  # a lost store: the lease lapses by itself
            self.store.release(self.key, self.token)

    def _renew_until_released(self) -> None:
        try:
            while not self._stop.wait(self.ttl / 3):
                try:
                    kept = self.store.renew(self.key, self.token, self.ttl)
                except Exception:
                    log.warning("could not renew lease %s; retrying", self.key, exc_info=True)
                    self.store.done()  # a broken connection: the next try opens a new one
                    continue
                if not kept:
                    log.warning("lease %s was lost (expired, or its store lost it)", self.key)
                    return
        finally:
            self.store.done()

    def __enter__(self) -> bool:
        self._held = self.acquire()
        return self._held

    def __exit__(self, *exc_info) -> None:
        if self._held:
            self.release()


def broker_lease(name: str, *, ttl_seconds: float) -> Lease:
    """A lease where the broker's workers all see it: Redis with a Redis broker, the
    database with RabbitMQ, this process with the in-memory broker."""
    broker = dramatiq.get_broker()
    store: LeaseStore
    if isinstance(broker, RedisBroker):
        store = RedisStore(broker.client)
    elif isinstance(broker, RabbitmqBroker):
        store = DatabaseStore()
    else:
        store = _local
    return Lease(name, ttl_seconds=ttl_seconds, store=store)
