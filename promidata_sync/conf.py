"""The sync's knobs, read once from Django settings into one immutable object.

Services take a ``SyncConfig`` instead of reaching into ``django.conf.settings`` themselves, so
tests can build one with different limits and the set of knobs is visible in one place.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

from django.conf import settings


@dataclass(frozen=True)
class SyncConfig:
    import_url: str
    price_regions: tuple[str, ...] = ("EURO", "DEU", "BENELUX")
    languages: tuple[str, ...] = ("en", "de", "nl", "fr")
    allowed_hosts: frozenset[str] = field(default_factory=frozenset)
    # Non-public networks feed hosts may resolve to (public addresses are always allowed).
    allowed_networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    http_timeout_seconds: float = 30.0
    http_deadline_seconds: float = 300.0
    fetch_concurrency: int = 8
    http_attempts: int = 4
    http_backoff_seconds: float = 1.0
    http_backoff_max_seconds: float = 30.0
    user_agent: str = "promidata-sync"
    max_index_bytes: int = 100 * 1024 * 1024
    max_categories_bytes: int = 10 * 1024 * 1024
    max_family_bytes: int = 20 * 1024 * 1024
    max_image_bytes: int = 25 * 1024 * 1024
    max_image_pixels: int = 40_000_000
    max_children_per_family: int = 1000
    parse_concurrency: int = 2
    image_decode_concurrency: int = 2
    mass_deactivation_ratio: float = 0.5
    # The stock service's URL of one variant ("{Sku}" in it); empty: stock is off.
    stock_url_template: str = ""

    @classmethod
    def from_settings(cls, **overrides) -> SyncConfig:
        """The configuration in force, with ``overrides`` applied (tests, command options)."""
        config = cls(
            import_url=settings.PROMIDATA_IMPORT_URL,
            price_regions=tuple(r.strip() for r in settings.PROMIDATA_PRICE_REGIONS if r.strip()),
            languages=tuple(x.strip().lower() for x in settings.PROMIDATA_LANGUAGES if x.strip()),
            allowed_hosts=frozenset(h.strip().lower() for h in settings.PROMIDATA_ALLOWED_HOSTS),
            allowed_networks=parse_networks(settings.PROMIDATA_ALLOWED_NETWORKS),
            http_timeout_seconds=settings.PROMIDATA_HTTP_TIMEOUT_SECONDS,
            http_deadline_seconds=settings.PROMIDATA_HTTP_DEADLINE_SECONDS,
            fetch_concurrency=max(1, settings.PROMIDATA_FETCH_CONCURRENCY),
            http_attempts=max(1, settings.PROMIDATA_HTTP_ATTEMPTS),
            http_backoff_seconds=settings.PROMIDATA_HTTP_BACKOFF_SECONDS,
            http_backoff_max_seconds=settings.PROMIDATA_HTTP_BACKOFF_MAX_SECONDS,
            user_agent=settings.PROMIDATA_USER_AGENT,
            max_index_bytes=settings.PROMIDATA_MAX_INDEX_BYTES,
            max_categories_bytes=settings.PROMIDATA_MAX_CATEGORIES_BYTES,
            max_family_bytes=settings.PROMIDATA_MAX_FAMILY_BYTES,
            max_image_bytes=settings.PROMIDATA_MAX_IMAGE_BYTES,
            max_image_pixels=settings.PROMIDATA_MAX_IMAGE_PIXELS,
            max_children_per_family=max(1, settings.PROMIDATA_MAX_CHILDREN_PER_FAMILY),
            parse_concurrency=max(1, settings.PROMIDATA_PARSE_CONCURRENCY),
            image_decode_concurrency=max(1, settings.PROMIDATA_IMAGE_DECODE_CONCURRENCY),
            mass_deactivation_ratio=settings.PROMIDATA_MASS_DEACTIVATION_RATIO,
            stock_url_template=settings.PROMIDATA_STOCK_URL_TEMPLATE.strip(),
        )
        config = replace(config, **overrides)
        if "allowed_hosts" not in overrides:
            # The import URL's and the stock service's own hosts are always allowed, even
            # when the list was set by hand: they are configuration, like the list itself.
            for url in (config.import_url, config.stock_url_template):
                host = _host_of(url)
                if host:
                    config = replace(config, allowed_hosts=config.allowed_hosts | {host})
        return config

    @property
    def file_root(self) -> Path | None:
        """For a ``file://`` import URL, the folder its feed may read from; else None.

        A profile keeps Import.txt in ``<profile>/Import/``, with CAT.csv and the supplier
        folders beside ``Import/``; the profile folder is the root. An index that is not in a
        folder named ``Import`` may only reach its own folder.
        """
        parts = urlsplit(self.import_url)
        if parts.scheme != "file":
            return None
        folder = Path(url2pathname(parts.path)).resolve().parent
        return folder.parent if folder.name == "Import" else folder


def _host_of(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").lower() if url else ""
    except ValueError:  # a template the URL rules refuse later, with their own message
        return ""


def parse_networks(
    values, setting: str = "PROMIDATA_ALLOWED_NETWORKS"
) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """``setting``'s entries as networks ("127.0.0.0/8", "10.1.2.3").

    Raises ``ImproperlyConfigured`` naming the setting and the entry that is not a network.
    """
    from django.core.exceptions import ImproperlyConfigured

    networks = []
    for value in values:
        text = str(value).strip()
        if not text:
            continue
        try:
            networks.append(ipaddress.ip_network(text, strict=False))
        except ValueError:
            raise ImproperlyConfigured(
                f"{setting}: {text!r} is not a network such as 10.0.0.0/8"
            ) from None
    return tuple(networks)
