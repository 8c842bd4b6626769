"""Fetching feed documents safely: allowed hosts only, bounded sizes, retries with backoff.

Every byte the sync reads from outside goes through ``Fetcher.get``. It enforces the URL policy
(http(s) to allowed hosts; ``file://`` only inside the bundled feed's own folder), follows
redirects itself so that each hop is checked, refuses bodies over a size limit without reading
them to the end, and retries transient failures (timeouts, connection errors, truncated bodies,
429 and 5xx) with exponential backoff, honouring ``Retry-After``.

Errors are raised as ``FetchError`` with ``permanent`` telling callers whether a retry later can
help. Messages name URLs through ``mask_url`` only: the profile URL is the feed's only secret.
"""

from __future__ import annotations

import email.utils
import logging
import random
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlsplit
from urllib.request import url2pathname

import requests

from promidata_sync.conf import SyncConfig

log = logging.getLogger(__name__)

MAX_REDIRECTS = 5
CHUNK_BYTES = 64 * 1024
TRANSIENT_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})


class FetchError(Exception):
    """A document could not be fetched. ``permanent`` errors will not heal by retrying."""

    def __init__(self, message: str, *, url: str, permanent: bool, status: int | None = None):
        super().__init__(message)
        self.url = url
        self.permanent = permanent
        self.status = status
        # Seconds the server asked us to wait (429/503 Retry-After), if any.
        self.retry_after: float | None = None


class URLNotAllowed(FetchError):
    """The URL's scheme, host or path is outside what the feed may reach."""

    def __init__(self, message: str, *, url: str):
        super().__init__(message, url=url, permanent=True)


@dataclass(frozen=True, slots=True)
class Fetched:
    """A fetched document. ``not_modified`` is True for a 304 answer (``content`` is empty)."""

    url: str
    content: bytes
    content_type: str = ""
    etag: str = ""
    last_modified: str = ""
    not_modified: bool = False


def mask_url(url: str) -> str:
    """``url`` safe to log: scheme, host and the last two path segments only.

    Promidata's access control is the profile GUID inside the path, so no log line, error
    message or summary may carry a whole feed URL.
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<invalid URL>"
    segments = [s for s in parts.path.split("/") if s]
    tail = "/".join(segments[-2:])
    if parts.scheme == "file":
        return f"file://…/{tail}"
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    prefix = "/…/" if len(segments) > 2 else "/"
    return f"{parts.scheme}://{host}{prefix}{tail}"


def _host_allowed(host: str, allowed: frozenset[str]) -> bool:
    host = host.lower().rstrip(".")
    if host in allowed:
        return True
    # An entry ".example.com" admits every subdomain of example.com.
    return any(entry.startswith(".") and host.endswith(entry) for entry in allowed)


class Fetcher:
    """Thread-safe HTTP/file fetcher bound to one ``SyncConfig``.

    Each thread gets its own ``requests.Session`` (sessions are not guaranteed thread-safe);
    connection pooling still works within a thread.
    """

    def __init__(self, config: SyncConfig, *, sleep=time.sleep):
        self.config = config
        self._local = threading.local()
        self._sleep = sleep
        self._file_root = config.file_root

    # --- URL policy ---------------------------------------------------------------------------
    def check_url(self, url: str) -> None:
        """Raise ``URLNotAllowed`` unless ``url`` may be fetched under this configuration."""
        try:
            parts = urlsplit(url)
            port = parts.port  # raises ValueError for a malformed port
        except ValueError as exc:
            raise URLNotAllowed(f"invalid URL {mask_url(url)}: {exc}", url=url) from None
        if parts.scheme in ("http", "https"):
            if parts.username or parts.password:
                raise URLNotAllowed(f"credentials in URL {mask_url(url)} refused", url=url)
            host = (parts.hostname or "").lower()
            if not host:
                raise URLNotAllowed(f"URL {mask_url(url)} has no host", url=url)
            if not _host_allowed(host, self.config.allowed_hosts):
                raise URLNotAllowed(
                    f"host {host!r} is not in PROMIDATA_ALLOWED_HOSTS ({mask_url(url)})", url=url
                )
            if port is not None and not 0 < port < 65536:
                raise URLNotAllowed(f"invalid port in {mask_url(url)}", url=url)
            return
        if parts.scheme == "file":
            self._file_path(url)
            return
        raise URLNotAllowed(
            f"scheme {parts.scheme or '(none)'!r} refused for {mask_url(url)}; "
            "only http(s) feed URLs are fetched",
            url=url,
        )

    def _file_path(self, url: str) -> Path:
        parts = urlsplit(url)
        if self._file_root is None:
            raise URLNotAllowed(
                f"file URL {mask_url(url)} refused: only a file:// import URL may read files",
                url=url,
            )
        if parts.netloc not in ("", "localhost"):
            raise URLNotAllowed(f"file URL {mask_url(url)} names a remote host", url=url)
        path = Path(url2pathname(parts.path)).resolve()
        if not path.is_relative_to(self._file_root):
            raise URLNotAllowed(f"file URL {mask_url(url)} is outside the feed folder", url=url)
        return path

    # --- Fetching -----------------------------------------------------------------------------
    def get(self, url: str, *, max_bytes: int, etag: str = "", last_modified: str = "") -> Fetched:
        """Fetch ``url`` whole, retrying transient failures; raise ``FetchError`` otherwise.

        With ``etag`` or ``last_modified`` the request is conditional, and an unchanged document
        comes back as ``Fetched(not_modified=True)`` without a body.
        """
        attempts = self.config.http_attempts
        for attempt in range(1, attempts + 1):
            try:
                return self._get_once(
                    url, max_bytes=max_bytes, etag=etag, last_modified=last_modified
                )
            except FetchError as exc:
                if exc.permanent or attempt == attempts:
                    raise
                delay = self._backoff(attempt, exc.retry_after)
                log.info(
                    "retrying %s in %.1fs after attempt %d/%d: %s",
                    mask_url(url),
                    delay,
                    attempt,
                    attempts,
                    exc,
                )
                self._sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        cap = self.config.http_backoff_max_seconds
        if retry_after is not None:
            return min(max(retry_after, 0.0), cap)
        base = self.config.http_backoff_seconds * (2 ** (attempt - 1))
        # Jitter spreads retries of many workers that failed together.
        return min(cap, base * random.uniform(0.5, 1.0))

    def _get_once(self, url: str, *, max_bytes: int, etag: str, last_modified: str) -> Fetched:
        self.check_url(url)
        if urlsplit(url).scheme == "file":
            return self._read_file(url, max_bytes)
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        current = url
        for _ in range(MAX_REDIRECTS + 1):
            response = self._request(current, headers)
            with response:
                if response.is_redirect:
                    location = response.headers.get("Location", "")
                    current = urljoin(current, location)
                    self.check_url(current)
                    continue
                return self._read_response(current, response, max_bytes)
        raise FetchError(f"too many redirects for {mask_url(url)}", url=url, permanent=True)

    def _request(self, url: str, headers: dict) -> requests.Response:
        try:
            return self._session().get(
                url,
                headers=headers,
                stream=True,
                allow_redirects=False,
                timeout=self.config.http_timeout_seconds,
            )
        except (requests.Timeout, requests.ConnectionError) as exc:
            raise FetchError(
                f"{type(exc).__name__} for {mask_url(url)}", url=url, permanent=False
            ) from None
        except requests.RequestException as exc:
            raise FetchError(
                f"request for {mask_url(url)} failed: {type(exc).__name__}", url=url, permanent=True
            ) from None

    def _read_response(self, url: str, response: requests.Response, max_bytes: int) -> Fetched:
        status = response.status_code
        if status == 304:
            return Fetched(
                url=url,
                content=b"",
                not_modified=True,
                etag=response.headers.get("ETag", ""),
                last_modified=response.headers.get("Last-Modified", ""),
            )
        if status != 200:
            error = FetchError(
                f"HTTP {status} for {mask_url(url)}",
                url=url,
                permanent=status not in TRANSIENT_STATUSES,
                status=status,
            )
            error.retry_after = _parse_retry_after(response.headers.get("Retry-After"))
            raise error
        declared = response.headers.get("Content-Length")
        if declared and declared.isdigit() and int(declared) > max_bytes:
            raise FetchError(
                f"{mask_url(url)} is {int(declared):,} bytes, over the limit of {max_bytes:,}",
                url=url,
                permanent=True,
                status=status,
            )
        chunks, size = [], 0
        try:
            for chunk in response.iter_content(CHUNK_BYTES):
                size += len(chunk)
                if size > max_bytes:
                    raise FetchError(
                        f"{mask_url(url)} exceeds the limit of {max_bytes:,} bytes",
                        url=url,
                        permanent=True,
                        status=status,
                    )
                chunks.append(chunk)
        except requests.RequestException as exc:
            # A body cut short (connection closed before Content-Length) lands here.
            raise FetchError(
                f"incomplete body for {mask_url(url)} ({type(exc).__name__})",
                url=url,
                permanent=False,
                status=status,
            ) from None
        return Fetched(
            url=url,
            content=b"".join(chunks),
            content_type=response.headers.get("Content-Type", ""),
            etag=response.headers.get("ETag", ""),
            last_modified=response.headers.get("Last-Modified", ""),
        )

    def _read_file(self, url: str, max_bytes: int) -> Fetched:
        path = self._file_path(url)
        try:
            size = path.stat().st_size
            if size > max_bytes:
                raise FetchError(
                    f"{mask_url(url)} is {size:,} bytes, over the limit of {max_bytes:,}",
                    url=url,
                    permanent=True,
                )
            return Fetched(url=url, content=path.read_bytes())
        except FileNotFoundError:
            raise FetchError(
                f"{mask_url(url)} not found", url=url, permanent=True, status=404
            ) from None
        except IsADirectoryError:
            raise FetchError(f"{mask_url(url)} is a folder", url=url, permanent=True) from None
        except OSError as exc:
            raise FetchError(
                f"cannot read {mask_url(url)}: {exc.strerror}", url=url, permanent=True
            ) from None

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.headers["User-Agent"] = self.config.user_agent
            # Proxies from the environment would bypass the host allow-list.
            session.trust_env = False
            self._local.session = session
        return session


def _parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
