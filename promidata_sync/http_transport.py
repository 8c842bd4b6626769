"""The HTTP layer under ``Fetcher``: connections pinned to checked addresses, and deadlines.

``PinnedAdapter`` is a requests adapter whose urllib3 connections resolve their host once,
refuse addresses that ``address_allowed`` refuses, and connect to exactly an address that was
checked. The URL keeps the host name, so the Host header, TLS SNI and certificate verification
still use the name; only the TCP connect is pinned. There is no second lookup between check
and connect, so a DNS answer that changes (rebinding) cannot swap the address.

``Deadline`` bounds one whole download. Connecting is bounded by timeouts capped at the time
left (CPython applies a socket's timeout to a whole TLS handshake). Reading is not: a read
blocked in ``recv`` cannot be interrupted from another thread, and a server that sends a byte
now and then never trips the per-read timeout. So when a deadline passes, ``WATCHDOG`` shuts
down every socket the download uses, which makes the blocked read return at once. A
close-delimited body cut that way looks like a normal end of body: whoever ran the download
must check ``Deadline.fired`` afterwards.
"""

from __future__ import annotations

import contextlib
import heapq
import ipaddress
import itertools
import logging
import os
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import (
    ConnectTimeoutError,
    LocationParseError,
    NameResolutionError,
    NewConnectionError,
)
from urllib3.util.connection import allowed_gai_family, create_connection

from promidata_sync.url_safety import IPNetwork, address_allowed, host_allowed

log = logging.getLogger(__name__)

#: ``resolve(host, port)`` -> the host's addresses as text ("10.0.0.1", "fe80::1%2").
Resolver = Callable[[str, int], Iterable[str]]


class DestinationRefused(Exception):
    """A connection was refused by the policy: its host or its resolved address.

    Deliberately not an ``OSError`` nor a urllib3 ``HTTPError``: urllib3 and requests let it
    through unwrapped (and do not retry it), so the caller sees the refusal itself. The
    message names no URL; the caller adds the masked one.
    """


def system_resolve(host: str, port: int) -> list[str]:
    """``host``'s addresses from ``getaddrinfo``, as urllib3 asks (IPv6 only if usable)."""
    infos = socket.getaddrinfo(host, port, allowed_gai_family(), socket.SOCK_STREAM)
    return [_address_text(info[4]) for info in infos]


def _address_text(sockaddr: tuple) -> str:
    address = str(sockaddr[0])
    # A link-local IPv6 address is only usable with its interface (scope id).
    if len(sockaddr) == 4 and sockaddr[3] and "%" not in address:
        address = f"{address}%{sockaddr[3]}"
    return address


# ---------------------------------------------------------------------------------- deadlines


class Deadline:
    """The time one download may take. Thread-safe; see the module docstring.

    ``watch(sock)`` registers a socket the download uses; when the deadline passes, every
    watched socket is shut down (and one watched later is shut down at once). ``finish()``
    ends the download: nothing is shut down after it.
    """

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.expires_at = time.monotonic() + seconds
        self.fired = False  # True once the watchdog shut the download's sockets down
        self.finished = False
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()

    def remaining(self) -> float:
        """Seconds left (negative once passed)."""
        return self.expires_at - time.monotonic()

    def watch(self, sock: socket.socket | None) -> None:
        if sock is None:
            return
        with self._lock:
            if self.finished:
                return
            if self.fired:
                _shutdown(sock)
                return
            self._sockets.add(sock)

    def unwatch(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.discard(sock)

    def expire(self) -> None:
        """Called by the watchdog when the time is up."""
        with self._lock:
            if self.finished:
                return
            self.fired = True
            for sock in self._sockets:
                _shutdown(sock)

    def finish(self) -> None:
        with self._lock:
            self.finished = True
            self._sockets.clear()


def _shutdown(sock: socket.socket) -> None:
    # The plain socket's shutdown, also for an SSLSocket: ssl's own shutdown() would change
    # the SSL object under the thread that is reading from it. A blocked recv (or SSL read)
    # returns at once with EOF; a socket closed meanwhile fails with EBADF, which is fine.
    with contextlib.suppress(OSError):
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


class _Watchdog:
    """One daemon thread that expires deadlines in time order.

    One thread for the process rather than a timer thread per download (thousands of
    images per sync). Finished deadlines are dropped when they reach the front of the heap.
    """

    def __init__(self):
        self._reset()
        # A forked worker has the lock and heap but not the thread: start afresh there.
        os.register_at_fork(after_in_child=self._reset)

    def _reset(self) -> None:
        self._condition = threading.Condition()
        self._heap: list[tuple[float, int, Deadline]] = []
        self._order = itertools.count()
        self._thread: threading.Thread | None = None
        self._compact_at = 64

    def add(self, deadline: Deadline) -> None:
        with self._condition:
            if len(self._heap) >= self._compact_at:
                # Most entries are downloads that finished long before their deadline: drop
                # them now rather than when they reach the front (minutes later).
                self._heap = [entry for entry in self._heap if not entry[2].finished]
                heapq.heapify(self._heap)
                self._compact_at = max(64, 2 * len(self._heap))
            heapq.heappush(self._heap, (deadline.expires_at, next(self._order), deadline))
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="fetch-deadlines", daemon=True
                )
                self._thread.start()
            if self._heap[0][2] is deadline:  # only an earlier deadline changes the wait
                self._condition.notify()

    def _run(self) -> None:
        with self._condition:
            while True:
                while self._heap and self._heap[0][2].finished:
                    heapq.heappop(self._heap)
                if not self._heap:
                    self._condition.wait()
                    continue
                wait = self._heap[0][0] - time.monotonic()
                if wait > 0:
                    self._condition.wait(wait)
                    continue
                heapq.heappop(self._heap)[2].expire()


WATCHDOG = _Watchdog()


# ---------------------------------------------------------------------------------- pinning


@dataclass(frozen=True)
class ConnectionPolicy:
    """What pinned connections enforce.

    ``deadline`` returns the deadline of the download running in the calling thread (or
    None): a connection is only ever used by the thread whose session owns it.
    """

    allowed_hosts: frozenset[str]
    networks: tuple[IPNetwork, ...] = ()
    resolve: Resolver = system_resolve
    deadline: Callable[[], Deadline | None] = field(default=lambda: None)


class _PinnedConnection:
    """Mixin for urllib3's connection classes; ``policy`` is set on a subclass per fetcher.

    urllib3 calls ``_new_conn`` for the TCP connect alone (TLS comes after it, on the
    socket it returns, with the host name), so that is the one method that decides where to
    connect. ``connect`` and ``request`` only hand sockets to the current deadline.
    """

    policy: ConnectionPolicy

    def _new_conn(self) -> socket.socket:
        # Again here, whatever parsing happened above: this is the host really connected to.
        if not host_allowed(self.host, self.policy.allowed_hosts):
            raise DestinationRefused(f"host {self.host!r} is not in PROMIDATA_ALLOWED_HOSTS")
        addresses = self._resolve()
        usable = [a for a in addresses if address_allowed(a, self.policy.networks)]
        if not usable:
            raise DestinationRefused(
                f"host {self.host} resolves to {addresses[0]}, which is not a public address; "
                "allow its network in PROMIDATA_ALLOWED_NETWORKS if it is yours"
            )
        if len(usable) < len(addresses):
            log.debug("%s: skipping refused addresses %s", self.host, set(addresses) - set(usable))
        sock = self._connect_to(usable)
        self._bound_handshake(sock)
        return sock

    def _resolve(self) -> list[str]:
        host = self._dns_host.removeprefix("[").removesuffix("]")
        with contextlib.suppress(ValueError):
            return [str(ipaddress.ip_address(host))]  # a literal address is its own answer
        try:
            addresses = list(dict.fromkeys(self.policy.resolve(host, self.port)))
        except socket.gaierror as exc:
            raise NameResolutionError(self.host, self, exc) from exc
        except UnicodeError as exc:  # a name IDNA cannot encode, as urllib3 reports it
            raise LocationParseError(f"{self.host!r}, label empty or too long") from exc
        if not addresses:
            raise NameResolutionError(
                self.host, self, socket.gaierror(socket.EAI_NONAME, "no addresses")
            )
        return addresses

    def _connect_to(self, addresses: list[str]) -> socket.socket:
        """Connect to the first of ``addresses`` that answers (numeric: no lookup)."""
        error: Exception | None = None
        for address in addresses:
            try:
                sock = create_connection(
                    (address, self.port),
                    self.timeout,
                    source_address=self.source_address,
                    socket_options=self.socket_options,
                )
            except TimeoutError as exc:
                error = ConnectTimeoutError(
                    self, f"Connection to {self.host} timed out. (connect timeout={self.timeout})"
                )
                error.__cause__ = exc
            except OSError as exc:
                error = NewConnectionError(self, f"Failed to establish a new connection: {exc}")
                error.__cause__ = exc
            else:
                sys.audit("http.client.connect", self, self.host, self.port)
                return sock
        assert error is not None
        raise error

    def _bound_handshake(self, sock: socket.socket) -> None:
        # The TLS handshake that follows runs on this socket's timeout, and CPython applies
        # it to the whole handshake: capped at the time left, it cannot outlast the deadline.
        deadline = self.policy.deadline()
        if deadline is None:
            return
        left = max(0.001, deadline.remaining())
        current = sock.gettimeout()
        sock.settimeout(left if current is None else min(current, left))

    def connect(self) -> None:
        super().connect()
        # From here on the watchdog can cut any read; a new plain connection is made inside
        # request(), after its _watch() found no socket yet.
        self._watch(self.sock)

    def request(self, *args, **kwargs) -> None:
        # A kept-alive connection has its socket already; a new one gets it in connect().
        self._watch(self.sock)
        super().request(*args, **kwargs)

    def _watch(self, sock: socket.socket | None) -> None:
        deadline = self.policy.deadline()
        if deadline is not None:
            # The socket object itself, not the connection: http.client drops the
            # connection's reference when a response will close it, and reads on.
            deadline.watch(sock)


def _pool_classes(policy: ConnectionPolicy) -> dict[str, type]:
    """urllib3 pool classes (by scheme) whose connections enforce ``policy``.

    PoolManager refuses unknown keys in ``connection_pool_kw``, so the policy travels as a
    class attribute of connection classes made for it.
    """
    plain = type("PinnedHTTPConnection", (_PinnedConnection, HTTPConnection), {"policy": policy})
    tls = type("PinnedHTTPSConnection", (_PinnedConnection, HTTPSConnection), {"policy": policy})
    return {
        "http": type("PinnedHTTPConnectionPool", (HTTPConnectionPool,), {"ConnectionCls": plain}),
        "https": type("PinnedHTTPSConnectionPool", (HTTPSConnectionPool,), {"ConnectionCls": tls}),
    }


class PinnedAdapter(HTTPAdapter):
    """A requests adapter for http:// and https:// whose connections obey ``policy``."""

    def __init__(self, policy: ConnectionPolicy, **kwargs):
        self._pool_classes = _pool_classes(policy)
        super().__init__(**kwargs)

    def init_poolmanager(self, *args, **kwargs) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = self._pool_classes

    def proxy_manager_for(self, proxy: str, **proxy_kwargs):
        # A proxy would do the connecting (and resolving) itself, outside the policy.
        raise requests.exceptions.InvalidProxyURL("proxies are not used for feed downloads")
