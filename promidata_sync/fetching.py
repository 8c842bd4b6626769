"""Fetching feed documents safely: allowed hosts only, bounded sizes and time, retries.

Every byte the sync reads from outside goes through ``Fetcher.get``. It enforces the URL policy
(unambiguous http(s) URLs to allowed hosts; ``file://`` only inside the bundled feed's own
folder), connects only to public addresses or networks the operator allowed (pinned: see
``http_transport``), follows redirects itself so that each hop is checked, refuses bodies over
a size limit without reading them to the end, bounds each download by an overall deadline,
and retries transient failures (timeouts, connection errors, truncated bodies, 429 and 5xx)
with exponential backoff, honouring ``Retry-After``.

``get`` raises nothing but ``FetchError``, with ``permanent`` telling callers whether a retry
later can help. Messages name URLs through ``mask_url`` only: the profile URL is the feed's
only secret.
"""

from __future__ import annotations

import email.utils
import http.client
import logging
import random
import threading
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlsplit
from urllib.request import url2pathname

import requests
import urllib3

from promidata_sync.conf import SyncConfig
from promidata_sync.errors import SyncError
from promidata_sync.http_transport import (
    WATCHDOG,
    ConnectionPolicy,
    Deadline,
    DestinationRefused,
    PinnedAdapter,
    Resolver,
    system_resolve,
)
from promidata_sync.redaction import mask_url
from promidata_sync.url_safety import host_allowed, url_problem

log = logging.getLogger(__name__)

MAX_REDIRECTS = 5
CHUNK_BYTES = 64 * 1024
TRANSIENT_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
# What requests, urllib3, http.client and ssl (an OSError) raise when a connection or a read
# fails: worth retrying. Anything else they raise (InvalidURL, LocationParseError, idna's
# UnicodeError, ValueError) is about the URL or the answer, and will not heal.
_TRANSIENT_ERRORS = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
    urllib3.exceptions.TimeoutError,
    urllib3.exceptions.ProtocolError,
    http.client.HTTPException,
    OSError,
)
_LIBRARY_ERRORS = (
    requests.RequestException,
    urllib3.exceptions.HTTPError,
    http.client.HTTPException,
    OSError,
    ValueError,
)


class FetchError(SyncError):
    """A document could not be fetched. ``permanent`` errors will not heal by retrying."""

    def __init__(self, message: str, *, url: str, permanent: bool, status: int | None = None):
        super().__init__(message, permanent=permanent)
        self.url = url
        self.status = status
        # Seconds the server asked us to wait (429/503 Retry-After), if any.
        self.retry_after: float | None = None


class URLNotAllowed(FetchError):
    """The URL's scheme, host or path is outside what the feed may reach."""

    def __init__(self, message: str, *, url: str):
        super().__init__(message, url=url, permanent=True)


@dataclass(frozen=True, slots=True)
class Fetched:
    """A fetched document. ``not_modified`` is True for a 304 answer (``content`` is empty).

    ``complete`` is True when the framing proves the body whole: a file, a 304, a body with
    Content-Length (a shorter one is an error) or chunked. A close-delimited body (HTTP/1.0
    style: no length, the server just closes) may have been cut short unnoticed: False.
    """

    url: str
    content: bytes
    content_type: str = ""
    etag: str = ""
    last_modified: str = ""
    not_modified: bool = False
    complete: bool = False


class Fetcher:
    """Thread-safe HTTP/file fetcher bound to one ``SyncConfig``.

    Each thread gets its own ``requests.Session`` (sessions are not guaranteed thread-safe);
    connection pooling still works within a thread. ``resolve(host, port)`` replaces the
    system's name lookup (tests map names to loopback with it); whatever it answers is
    checked against ``config.allowed_networks`` before anything is connected.
    """

    def __init__(self, config: SyncConfig, *, sleep=time.sleep, resolve: Resolver = system_resolve):
        self.config = config
        self._local = threading.local()
        self._sleep = sleep
        self._file_root = config.file_root
        self._policy = ConnectionPolicy(
            allowed_hosts=config.allowed_hosts,
            networks=config.allowed_networks,
            resolve=resolve,
            deadline=self._current_deadline,
        )

    # --- URL policy ---------------------------------------------------------------------------
    def check_url(self, url: str) -> None:
        """Raise ``URLNotAllowed`` unless ``url`` may be fetched under this configuration.

        Raises nothing else, whatever ``url`` is (see ``url_safety.url_problem`` for the
        syntax refused before the host and path policy is applied).
        """
        problem = url_problem(url)
        if problem:
            raise URLNotAllowed(f"{mask_url(url)} refused: {problem}", url=str(url))
        parts = urlsplit(url)
        if parts.scheme in ("http", "https"):
            host = (parts.hostname or "").lower()
            if not host:
                raise URLNotAllowed(f"URL {mask_url(url)} has no host", url=url)
            if not host_allowed(host, self.config.allowed_hosts):
                raise URLNotAllowed(
                    f"host {host!r} is not in PROMIDATA_ALLOWED_HOSTS ({mask_url(url)})", url=url
                )
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
        try:
            path = Path(url2pathname(parts.path)).resolve()
        except (ValueError, OSError, RuntimeError):  # a NUL (%00), a symlink loop
            raise URLNotAllowed(f"file URL {mask_url(url)} is not a usable path", url=url) from None
        if not path.is_relative_to(self._file_root):
            raise URLNotAllowed(f"file URL {mask_url(url)} is outside the feed folder", url=url)
        return path

    # --- Fetching -----------------------------------------------------------------------------
    def get(self, url: str, *, max_bytes: int, etag: str = "", last_modified: str = "") -> Fetched:
        """Fetch ``url`` whole, retrying transient failures; raise ``FetchError`` otherwise.

        With ``etag`` or ``last_modified`` the request is conditional, and an unchanged document
        comes back as ``Fetched(not_modified=True)`` without a body. The whole call (attempts,
        backoff sleeps, body reads) takes at most ``config.http_deadline_seconds``, give or take
        a moment; past it, ``FetchError(permanent=False)`` names the deadline. Nothing but
        ``FetchError`` (or its subclass ``URLNotAllowed``) is raised.
        """
        deadline = Deadline(self.config.http_deadline_seconds)
        self._local.deadline = deadline
        WATCHDOG.add(deadline)
        try:
            return self._get_within(deadline, url, max_bytes, etag, last_modified)
        except FetchError:
            raise
        except Exception as exc:  # a surprise from a library: contained, but logged
            log.warning(
                "unexpected %s fetching %s at %s", type(exc).__name__, mask_url(url), _where(exc)
            )
            raise FetchError(
                f"fetching {mask_url(url)} failed: unexpected {type(exc).__name__}",
                url=str(url),
                permanent=True,
            ) from None
        finally:
            deadline.finish()
            self._local.deadline = None

    def _current_deadline(self) -> Deadline | None:
        return getattr(self._local, "deadline", None)

    def _get_within(
        self, deadline: Deadline, url: str, max_bytes: int, etag: str, last_modified: str
    ) -> Fetched:
        attempts = self.config.http_attempts
        for attempt in range(1, attempts + 1):
            try:
                fetched = self._get_once(
                    url, max_bytes=max_bytes, etag=etag, last_modified=last_modified
                )
            except FetchError as exc:
                if deadline.fired:  # the watchdog cut the connection: that is the error
                    raise self._deadline_error(url, deadline) from None
                if exc.permanent or attempt == attempts:
                    raise
                delay = self._backoff(attempt, exc.retry_after)
                if delay >= deadline.remaining():
                    raise self._deadline_error(url, deadline, exc) from None
                log.info(
                    "retrying %s in %.1fs after attempt %d/%d: %s",
                    mask_url(url),
                    delay,
                    attempt,
                    attempts,
                    exc,
                )
                self._sleep(delay)
                continue
            if deadline.fired:
                # A close-delimited body cut by the watchdog reads like a whole one.
                raise self._deadline_error(url, deadline)
            return fetched
        raise AssertionError("unreachable")  # pragma: no cover

    @staticmethod
    def _deadline_error(url: str, deadline: Deadline, last: FetchError | None = None):
        message = (
            f"{mask_url(url)} was not fetched within the deadline of {deadline.seconds:g}s "
            "(PROMIDATA_HTTP_DEADLINE_SECONDS)"
        )
        if last is not None:
            message += f"; last error: {last}"
        return FetchError(
            message, url=url, permanent=False, status=last.status if last is not None else None
        )

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
                    location = _location(response.headers.get("Location"))
                    current = self._redirect_target(current, location)
                    continue
                return self._read_response(current, response, max_bytes, conditional=bool(headers))
        raise FetchError(f"too many redirects for {mask_url(url)}", url=url, permanent=True)

    def _redirect_target(self, current: str, location: str) -> str:
        """The checked URL a redirect from ``current`` points to; ``URLNotAllowed`` if none."""
        if not location.strip():
            raise URLNotAllowed(
                f"redirect from {mask_url(current)} without a Location", url=current
            )
        try:
            target = urljoin(current, location)
        except ValueError:  # "http://[" and the like
            raise URLNotAllowed(
                f"redirect from {mask_url(current)} to an unparseable Location", url=current
            ) from None
        self.check_url(target)
        return target

    def _request(self, url: str, headers: dict) -> requests.Response:
        deadline = self._current_deadline()
        timeout = self.config.http_timeout_seconds
        if deadline is not None:  # no connect or read may outlast the deadline either
            timeout = max(0.01, min(timeout, deadline.remaining()))
        try:
            return self._session().get(
                url, headers=headers, stream=True, allow_redirects=False, timeout=timeout
            )
        except DestinationRefused as exc:
            raise URLNotAllowed(f"{exc} ({mask_url(url)})", url=url) from None
        except _LIBRARY_ERRORS as exc:
            if isinstance(exc, _TRANSIENT_ERRORS):
                raise FetchError(
                    f"{type(exc).__name__} for {mask_url(url)}", url=url, permanent=False
                ) from None
            raise FetchError(
                f"request for {mask_url(url)} failed: {type(exc).__name__}", url=url, permanent=True
            ) from None

    def _read_response(
        self, url: str, response: requests.Response, max_bytes: int, *, conditional: bool
    ) -> Fetched:
        status = response.status_code
        if status == 304 and not conditional:
            # "Not modified" since what? Nothing was asked: there is nothing to keep.
            raise FetchError(
                f"HTTP 304 for {mask_url(url)}, which was not asked for conditionally",
                url=url,
                permanent=True,
                status=status,
            )
        if status == 304:
            return Fetched(
                url=url,
                content=b"",
                not_modified=True,
                etag=response.headers.get("ETag", ""),
                last_modified=response.headers.get("Last-Modified", ""),
                complete=True,
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
        # The length urllib3 enforces (None without a valid Content-Length, or when chunked).
        declared = getattr(response.raw, "length_remaining", None)
        if declared is not None and declared > max_bytes:
            raise FetchError(
                f"{mask_url(url)} is {declared:,} bytes, over the limit of {max_bytes:,}",
                url=url,
                permanent=True,
                status=status,
            )
        complete = _framed(response)
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
        except _LIBRARY_ERRORS as exc:
            # A body cut short (connection closed before Content-Length or the last chunk)
            # lands here, as does a socket the deadline shut down.
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
            complete=complete,
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
            return Fetched(url=url, content=path.read_bytes(), complete=True)
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
            session = _Session()
            session.headers["User-Agent"] = self.config.user_agent
            # Proxies from the environment would bypass the host allow-list and the pinning.
            session.trust_env = False
            adapter = PinnedAdapter(self._policy)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            self._local.session = session
        return session


class _Session(requests.Session):
    """A session that leaves redirects alone: ``Fetcher`` follows them itself, checking each.

    Even with ``allow_redirects=False``, requests prepares the next request of a redirect
    (for ``Response.next``): it reads the redirect's whole body, with no size limit, and
    parses its Location, raising ValueError for a bad one.
    """

    def get_redirect_target(self, resp):
        return None


def _location(value: str | None) -> str:
    """A Location header as sent: http.client decodes headers as Latin-1, servers send UTF-8."""
    value = value or ""
    try:
        return value.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return value


def _framed(response: requests.Response) -> bool:
    """True if the body's end is announced: chunked, or a Content-Length urllib3 enforces."""
    raw = response.raw
    return (
        bool(getattr(raw, "chunked", False)) or getattr(raw, "length_remaining", None) is not None
    )


def _where(exc: BaseException) -> str:
    """Where ``exc`` was raised (file:line in function), without its message (URLs)."""
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return "?"
    last = frames[-1]
    return f"{Path(last.filename).name}:{last.lineno} in {last.name}"


def _parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():  # str.isdigit also says yes to "²"
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
