"""Pure decisions about feed URLs and the addresses they lead to (no I/O, never raise).

Two questions are answered here, both by small functions that tests can call directly:

- ``url_problem(url)``: is this http(s) URL unambiguous, so that the host the policy checks is
  the host the HTTP library will connect to? Parsers disagree on backslashes, percent-encoded
  and odd characters in the authority; such URLs are refused rather than interpreted.
- ``address_allowed(ip, networks)``: may a connection go to this resolved address? Only
  globally routable addresses, unless the operator listed the address's network.
"""

from __future__ import annotations

import ipaddress
import unicodedata
from collections.abc import Iterable
from urllib.parse import urlsplit

from urllib3.util import parse_url

MAX_URL_CHARS = 2000
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# IPv6 ranges that carry an IPv4 address in their low bits and reach it through a gateway
# (IPv4-compatible, NAT64 well-known and local-use prefixes): the IPv4 address must be public.
_IPV4_CARRYING = (
    ipaddress.ip_network("::/96"),
    ipaddress.ip_network("64:ff9b::/96"),
    ipaddress.ip_network("64:ff9b:1::/48"),
)


def url_problem(url: object) -> str | None:
    """Why ``url`` is refused before any policy is applied, or None when it is well-formed.

    Checked for every scheme: text, at most ``MAX_URL_CHARS`` long, no control characters
    anywhere and no surrounding whitespace (``urlsplit`` silently drops tabs and newlines that
    other parsers keep), a parseable port. For http(s) also: nothing in the authority that
    parsers read differently (backslash, percent sign, whitespace, control or format
    characters, ``@``), a port in 1-65535, and the host ``urlsplit`` reads is the host urllib3
    (and so requests) will connect to. The reason is a phrase without the URL in it.
    """
    if not isinstance(url, str):
        return "URL is not text"
    if len(url) > MAX_URL_CHARS:
        return f"URL of {len(url):,} characters is over the limit of {MAX_URL_CHARS:,}"
    if any(unicodedata.category(c) == "Cc" for c in url):
        return "control characters in URL"
    if url != url.strip():
        return "whitespace around URL"
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        return f"invalid URL ({exc})"
    try:
        port = parts.port
    except ValueError:  # not a number, or out of range
        return "invalid port"
    if parts.scheme not in ("http", "https"):
        return None
    problem = _authority_problem(parts.netloc)
    if problem:
        return problem
    if port is not None and not 0 < port < 65536:
        return f"invalid port {port}"
    return _parser_disagreement(url, parts.hostname or "", port)


def _authority_problem(netloc: str) -> str | None:
    if "@" in netloc:
        return "credentials in URL"
    for char in netloc:
        if char in "\\%" or char.isspace() or unicodedata.category(char).startswith("C"):
            return f"{_CHARACTER_NAMES.get(char, repr(char))} in the URL's host part"
    return None


_CHARACTER_NAMES = {"\\": "a backslash", "%": "a percent sign", " ": "a space"}


def _parser_disagreement(url: str, hostname: str, port: int | None) -> str | None:
    """Compare with urllib3's reading, which is what requests connects to."""
    try:
        seen = parse_url(url)
    except Exception as exc:  # LocationParseError, idna's errors: all mean "not a clean URL"
        return f"invalid URL ({type(exc).__name__})"
    if _normal_host(seen.host or "") != _normal_host(hostname) or seen.port != port:
        return "URL's host is read differently by the HTTP library"
    return None


def _normal_host(host: str) -> str:
    return host.lower().removeprefix("[").removesuffix("]")


def host_allowed(host: str, allowed: Iterable[str]) -> bool:
    """True if ``host`` is listed, or is a subdomain of an entry that starts with a dot."""
    host = _normal_host(host).rstrip(".")
    if not host:
        return False
    allowed = frozenset(allowed)
    if host in allowed:
        return True
    # An entry ".example.com" admits every subdomain of example.com.
    return any(entry.startswith(".") and host.endswith(entry) for entry in allowed)


def address_allowed(ip: str | IPAddress, networks: Iterable[IPNetwork]) -> bool:
    """True if a connection may go to ``ip``: inside one of ``networks``, or public.

    Public means globally routable and not multicast or reserved (Python counts multicast as
    global). An IPv4-mapped IPv6 address (``::ffff:10.0.0.1``) is judged as the IPv4 address
    the kernel really connects to; IPv6 forms that carry an IPv4 address to a gateway (6to4,
    NAT64, IPv4-compatible) are public only if that IPv4 address is public too. Anything that
    is not an IP address is refused.
    """
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    if address.version == 6 and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if any(address in network for network in networks):
        return True
    return _public(address) and all(_public(inner) for inner in _embedded_ipv4(address))


def _public(address: IPAddress) -> bool:
    return address.is_global and not (address.is_multicast or address.is_reserved)


def _embedded_ipv4(address: IPAddress) -> list[ipaddress.IPv4Address]:
    if address.version == 4:
        return []
    found = [address.sixtofour] if address.sixtofour is not None else []
    if any(address in network for network in _IPV4_CARRYING):
        found.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return found
