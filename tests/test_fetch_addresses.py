"""Resolved addresses: only public ones (or allowed networks), and exactly the one checked.

No test here connects anywhere but loopback: decisions about other addresses are checked
through ``address_allowed`` and through an injected resolver whose refused answers are never
connected to.
"""

from __future__ import annotations

import ipaddress

import pytest
import requests

from promidata_sync.conf import SyncConfig
from promidata_sync.fetching import Fetcher, URLNotAllowed
from promidata_sync.http_transport import ConnectionPolicy, PinnedAdapter
from promidata_sync.url_safety import address_allowed
from tests.feedpaths import base_path, port

LOOPBACK = (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"))
REFUSED = [
    "10.0.0.1",
    "172.16.0.1",
    "192.168.1.1",
    "169.254.169.254",  # cloud metadata
    "127.0.0.1",
    "0.0.0.0",
    "100.64.0.1",  # carrier-grade NAT
    "224.0.0.1",  # multicast (which Python counts as global)
    "240.0.0.1",  # reserved
    "255.255.255.255",
    "::1",
    "::",
    "fe80::1",
    "fe80::1%1",
    "fd00::1",
    "ff02::1",
    "::ffff:10.0.0.1",  # IPv4-mapped: the kernel connects to 10.0.0.1
    "::ffff:127.0.0.1",
    "2002:a00:1::1",  # 6to4 wrapping 10.0.0.1
    "64:ff9b::a00:1",  # NAT64 wrapping 10.0.0.1
    "not an address",
    "",
]
PUBLIC = ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111", "::ffff:93.184.216.34"]


@pytest.mark.parametrize("address", REFUSED)
def test_non_public_addresses_are_refused(address):
    assert not address_allowed(address, ())


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_are_allowed(address):
    assert address_allowed(address, ())


def test_allowed_networks_admit_their_addresses_only():
    networks = (ipaddress.ip_network("10.1.0.0/16"), *LOOPBACK)
    assert address_allowed("10.1.2.3", networks)
    assert address_allowed("::ffff:10.1.2.3", networks)  # judged by the mapped address
    assert address_allowed("127.0.0.53", networks)
    assert address_allowed("::1", networks)
    assert not address_allowed("10.2.0.1", networks)
    assert not address_allowed("169.254.169.254", networks)


# ---------------------------------------------------------------------- through the fetcher


class Resolver:
    """Answers every lookup with ``addresses``; records what it was asked."""

    def __init__(self, *addresses: str):
        self.addresses = list(addresses)
        self.asked: list[tuple[str, int]] = []

    def __call__(self, host: str, port: int) -> list[str]:
        self.asked.append((host, port))
        return self.addresses


def _fetcher(feed_server, resolver, networks=LOOPBACK) -> Fetcher:
    config = SyncConfig.from_settings(
        import_url=feed_server.import_url,
        allowed_hosts=frozenset({"feed.test"}),
        allowed_networks=networks,
        http_attempts=1,
        http_timeout_seconds=5,
    )
    return Fetcher(config, resolve=resolver)


def _family_url(feed_server, host="feed.test") -> str:
    return f"http://{host}:{port(feed_server)}{base_path(feed_server)}/A100/A100-F00001.json"


def test_the_connection_goes_to_the_checked_address_with_the_host_name(feed_server):
    resolver = Resolver("127.0.0.1")
    fetched = _fetcher(feed_server, resolver).get(_family_url(feed_server), max_bytes=10**6)
    assert fetched.content.startswith(b"{")
    assert resolver.asked == [("feed.test", port(feed_server))]
    # The loopback server answered, and was asked for feed.test, not for an address.
    assert feed_server.requests[-1].headers["Host"] == f"feed.test:{port(feed_server)}"


def test_a_kept_alive_connection_is_not_resolved_again(feed_server):
    resolver = Resolver("127.0.0.1")
    fetcher = _fetcher(feed_server, resolver)
    for _ in range(3):
        fetcher.get(_family_url(feed_server), max_bytes=10**6)
    assert len(resolver.asked) == 1
    assert feed_server.count("family") == 3


@pytest.mark.parametrize("address", [a for a in REFUSED if a not in ("", "not an address")])
def test_refused_answers_are_never_connected(address, feed_server):
    resolver = Resolver(address)
    with pytest.raises(URLNotAllowed) as raised:
        _fetcher(feed_server, resolver, networks=()).get(_family_url(feed_server), max_bytes=100)
    message = str(raised.value)
    assert f"host feed.test resolves to {address}, which is not a public address" in message
    assert "PROMIDATA_ALLOWED_NETWORKS" in message
    assert raised.value.permanent
    assert resolver.asked  # it was resolved, and refused before any connect
    assert feed_server.count() == 0


def test_loopback_is_refused_unless_allowed(feed_server):
    with pytest.raises(URLNotAllowed, match=r"127\.0\.0\.1, which is not a public address"):
        _fetcher(feed_server, Resolver("127.0.0.1"), networks=()).get(
            _family_url(feed_server), max_bytes=100
        )
    assert feed_server.count() == 0


def test_refused_addresses_in_an_answer_are_skipped(feed_server):
    resolver = Resolver("169.254.169.254", "10.0.0.1", "127.0.0.1")
    fetched = _fetcher(feed_server, resolver).get(_family_url(feed_server), max_bytes=10**6)
    assert fetched.content and feed_server.count() == 1


def test_the_default_allows_no_private_network(feed_server, sync_config, settings):
    settings.PROMIDATA_ALLOWED_NETWORKS = []
    config = SyncConfig.from_settings(import_url=feed_server.import_url, http_attempts=1)
    assert config.allowed_networks == ()
    with pytest.raises(URLNotAllowed, match=r"resolves to 127\.0\.0\.1"):
        Fetcher(config).get(feed_server.import_url, max_bytes=10**6)
    assert feed_server.count() == 0


def test_the_system_resolver_is_checked_too(feed_server):
    # localhost resolves (through the system) to loopback only: refused, then allowed.
    config = SyncConfig.from_settings(
        import_url=feed_server.import_url,
        allowed_hosts=frozenset({"localhost"}),
        allowed_networks=(),
        http_attempts=1,
    )
    url = _family_url(feed_server, host="localhost")
    with pytest.raises(URLNotAllowed, match="not a public address"):
        Fetcher(config).get(url, max_bytes=10**6)
    assert feed_server.count() == 0


def test_a_host_missing_from_the_allow_list_is_refused_at_connect_too(feed_server):
    # The adapter checks the host it really connects to, whatever the layers above did.
    session = requests.Session()
    session.trust_env = False
    policy = ConnectionPolicy(
        allowed_hosts=frozenset({"feed.test"}), networks=LOOPBACK, resolve=Resolver("127.0.0.1")
    )
    session.mount("http://", PinnedAdapter(policy))
    with pytest.raises(Exception, match="not in PROMIDATA_ALLOWED_HOSTS"):
        session.get(_family_url(feed_server, host="other.test"), timeout=5)
    assert feed_server.count() == 0
