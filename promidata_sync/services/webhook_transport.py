"""One webhook POST, through the host safety of feed fetches (``http_transport``).

``post_once`` resolves the endpoint's host once and connects only to a checked address:
public, or inside ``PROMIDATA_WEBHOOK_ALLOWED_NETWORKS``; plain http only inside those
networks (a body in clear text never crosses the internet). No redirect is followed, no proxy
or .netrc from the environment is used, and the whole attempt is bounded by one deadline.

It never raises for anything the network or the receiver does: the answer is an
``Attempt`` whose ``error`` is one line naming the endpoint by scheme and host only
(``shown_url``: a webhook URL's path is often the receiver's token).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import requests
from django.conf import settings

from promidata_sync.conf import parse_networks
from promidata_sync.http_transport import (
    WATCHDOG,
    ConnectionPolicy,
    Deadline,
    DestinationRefused,
    PinnedAdapter,
    system_resolve,
)
from promidata_sync.redaction import mask_url
from promidata_sync.url_safety import address_allowed, url_problem

# Resolves webhook hosts; tests point names at chosen addresses through it.
RESOLVE = system_resolve
NETWORKS_HINT = (
    "webhook URLs must lead to public addresses; list a network of yours in "
    "PROMIDATA_WEBHOOK_ALLOWED_NETWORKS to allow it"
)


@dataclass(frozen=True)
class Attempt:
    """One POST's outcome: ``status`` (None without an answer), ``error`` ("" for a 2xx) and
    ``permanent`` (a refused destination: retrying cannot help)."""

    status: int | None
    error: str = ""
    permanent: bool = False


def post_once(url: str, body: bytes, headers: dict, *, timeout: float, networks) -> Attempt:
    """POST ``body`` to ``url`` once, within ``timeout`` seconds in all."""
    problem = url_refusal(url, networks)
    if problem:
        return Attempt(None, f"refused: {problem}", permanent=True)
    parts = urlsplit(url)
    host = parts.hostname or ""
    deadline = Deadline(timeout)
    policy = ConnectionPolicy(
        # This URL's one host (no redirect is followed): the feed's host list does not apply
        # to webhooks, the address check does.
        allowed_hosts=frozenset({host, host.rstrip(".")}),
        networks=networks,
        resolve=_resolver(parts.scheme, networks),
        deadline=lambda: deadline,
    )
    session = requests.Session()
    session.trust_env = False
    adapter = PinnedAdapter(policy, max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    WATCHDOG.add(deadline)
    try:
        response = session.post(
            url,
            data=body,
            headers=headers,
            timeout=(timeout, timeout),
            allow_redirects=False,
            stream=True,  # the answer's body is not needed: never read a big one
        )
        response.close()
    except DestinationRefused as exc:
        # The transport's reason without its hint, which names the feed's setting.
        reason = str(exc).split(";")[0]
        hint = "" if reason.startswith("plain http") else f"; {NETWORKS_HINT}"
        return Attempt(None, f"refused: {reason}{hint}", permanent=True)
    except Exception as exc:
        return _failure(url, exc, timeout, timed_out=deadline.fired)
    finally:
        deadline.finish()
        session.close()
    status = response.status_code
    if 200 <= status < 300:
        return Attempt(status)
    why = " (redirects are not followed)" if response.is_redirect else ""
    return Attempt(status, f"HTTP {status} from {shown_url(url)}{why}")


def _failure(url: str, exc: Exception, timeout: float, *, timed_out: bool) -> Attempt:
    if timed_out or isinstance(exc, requests.Timeout):
        return Attempt(None, f"no answer within {timeout:g}s (PROMIDATA_WEBHOOK_TIMEOUT_SECONDS)")
    if isinstance(exc, requests.ConnectionError):
        return Attempt(None, f"could not connect to {shown_url(url)}: {_os_reason(exc)}")
    if isinstance(exc, ValueError):  # requests' InvalidURL and friends, idna's errors
        return Attempt(None, f"refused: invalid URL ({type(exc).__name__})", permanent=True)
    return Attempt(None, f"internal error: {type(exc).__name__}")


def url_refusal(url: str, networks) -> str:
    """Why ``url`` is refused before any connection, or "" (a host name's addresses are
    judged when it is resolved, at connect time)."""
    problem = url_problem(url)
    if problem:
        return problem
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "only http(s) URLs with a host are sent to"
    try:
        ipaddress.ip_address(parts.hostname)
    except ValueError:
        return ""
    # A literal address: judged now, and never connected to when refused.
    if not address_allowed(parts.hostname, networks):
        return f"{parts.hostname} is not a public address; {NETWORKS_HINT}"
    if parts.scheme == "http" and not _inside(parts.hostname, networks):
        return (
            f"plain http to {parts.hostname}, outside PROMIDATA_WEBHOOK_ALLOWED_NETWORKS: use https"
        )
    return ""


def _resolver(scheme: str, networks):
    """The lookup the pinned connection uses: for plain http, only the addresses inside the
    allowed networks (refused outright when there is none)."""

    def resolve(host: str, port: int) -> list[str]:
        addresses = list(RESOLVE(host, port))
        if scheme != "http" or not addresses:
            return addresses
        inside = [a for a in addresses if _inside(a, networks)]
        if not inside:
            raise DestinationRefused(
                f"plain http to {host}, which resolves to {addresses[0]}, outside "
                "PROMIDATA_WEBHOOK_ALLOWED_NETWORKS: use https"
            )
        return inside

    return resolve


def _inside(address: str, networks) -> bool:
    try:
        ip = ipaddress.ip_address(address.split("%")[0])
    except ValueError:
        return False
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip in network for network in networks)


def _os_reason(exc: BaseException) -> str:
    """The operating system's words for a failed connection ("Connection refused"), found
    down the exception's causes; else the exception's type. Never the URL or its path."""
    seen: set[int] = set()
    stack: list[BaseException | None] = [exc]
    while stack:
        current = stack.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, OSError) and current.strerror:
            return current.strerror
        stack.extend([current.__cause__, current.__context__, getattr(current, "reason", None)])
        stack += [arg for arg in getattr(current, "args", ()) if isinstance(arg, BaseException)]
    return type(exc).__name__


def shown_url(url: str) -> str:
    """An endpoint URL as logs, errors and lists show it: scheme and host only."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        host = f"[{host}]" if ":" in host else host
        netloc = f"{host}:{parts.port}" if parts.port else host
    except ValueError:
        return "<invalid URL>"
    return mask_url(urlunsplit((parts.scheme, netloc, "/", "", "")))


def allowed_networks() -> tuple:
    """``PROMIDATA_WEBHOOK_ALLOWED_NETWORKS`` as networks; ``ImproperlyConfigured`` names a bad
    entry."""
    return parse_networks(
        settings.PROMIDATA_WEBHOOK_ALLOWED_NETWORKS, "PROMIDATA_WEBHOOK_ALLOWED_NETWORKS"
    )
