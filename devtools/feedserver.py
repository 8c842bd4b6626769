"""Loopback HTTP server for a synthetic feed or a directory, with fault injection.

Tests and benchmarks point the importer at :attr:`FeedServer.import_url` and then inspect
:attr:`FeedServer.requests`. Faults (status codes, replaced or truncated bodies, extra delay,
bodies dribbled out slowly, other body framings) are keyed by the request path and can be
changed while the server runs.

Run as a module for a standalone server (see :func:`main`)::

    python -m devtools.feedserver --suppliers 40 --families 1000 --port 8765
"""

from __future__ import annotations

import argparse
import contextlib
import email.utils
import hashlib
import signal
import socket
import socketserver
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote

from .feedgen import FeedSpec, SyntheticFeed

__all__ = ["FAKE_PROFILE_GUID", "FRAMINGS", "FeedServer", "RequestRecord", "classify_path", "main"]

#: Stands in for the secret profile GUID of a real feed URL (obviously fake on purpose).
FAKE_PROFILE_GUID = "00000000-feed-4000-8000-5e1f5e1f5e1f"

_CONTENT_TYPES = {
    ".txt": "text/plain; charset=utf-8",
    ".csv": "text/csv; charset=utf-8",
    ".json": "application/json",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".md": "text/markdown; charset=utf-8",
}
_DEFAULT_CONTENT_TYPE = "application/octet-stream"
_KINDS = ("index", "categories", "family", "image", "other")
#: How a body's end is marked: Content-Length, chunked transfer-encoding, or closing the
#: connection (an HTTP/1.0 answer without a length).
FRAMINGS = ("length", "chunked", "close")


@dataclass(frozen=True)
class RequestRecord:
    """One answered request: method, raw path (no query), status sent, request headers."""

    method: str
    path: str
    status: int
    headers: dict
    time: float  # time.time() when the request arrived


@dataclass
class _Fault:
    status: int
    remaining: int | None  # None = forever
    body: bytes = b""
    headers: dict = field(default_factory=dict)


@dataclass
class _Truncation:
    nbytes: int
    remaining: int | None
    framing: str | None = None  # None = the path's framing


@dataclass
class _Dribble:
    interval: float
    chunk_bytes: int
    remaining: int | None


@dataclass(frozen=True)
class _Response:
    status: int
    headers: dict
    body: bytes = b""
    truncate_to: int | None = None
    framing: str = "length"
    dribble: _Dribble | None = None


def classify_path(path: str) -> str:
    """Request kind by path: index, categories, family, image or other."""
    lowered = unquote(path).lower()
    if lowered.endswith("/import.txt"):
        return "index"
    if lowered.endswith("/cat.csv"):
        return "categories"
    if "/images/" in lowered:
        return "image"
    if lowered.endswith(".json"):
        return "family"
    return "other"


class FeedServer:
    """Serves a :class:`SyntheticFeed` (or a directory) on a loopback port.

    Contract:
    * synthetic feed: files live under ``/Profiles/Live/<FAKE_PROFILE_GUID>/`` like a real
      profile (``Import/Import.txt``, ``CAT.csv``, ``<code>/<sku>.json``, ``Images/<id>.png``);
    * directory: files are served by relative path; anything resolving outside the directory
      (``..``, symlinks) is a 404;
    * successful answers carry ``ETag`` (quoted SHA-1 of the body) and a ``Last-Modified``
      fixed at server start; a matching ``If-None-Match`` gets 304 without a body.
      ``If-Modified-Since`` is ignored on purpose: the fixed date would hide feed mutations;
    * HEAD is answered like GET without a body; every request is recorded, nothing is logged.

    Faults, each keyed by path (as sent or decoded) and removed by :meth:`clear_faults`:
    * ``fail(path, status)``: answer with an error status (``times`` times or always);
    * ``replace(path, body)``: serve other bytes;
    * ``truncate(path, nbytes)``: send only the first ``nbytes`` of the body, then close;
    * ``delay(path, seconds)``: wait before answering;
    * ``dribble(path, interval_seconds, chunk_bytes)``: headers at once, then the body
      ``chunk_bytes`` at a time with ``interval_seconds`` before each piece (a server that
      is slow but never silent for long, which no per-read timeout catches);
    * ``frame(path, framing)``: mark the body's end by ``"length"`` (Content-Length, the
      default), ``"chunked"`` (Transfer-Encoding: chunked) or ``"close"`` (an HTTP/1.0
      answer without Content-Length; the connection closes after the body). ``truncate`` and
      ``dribble`` follow the path's framing; ``truncate(..., framing=...)`` overrides it.
    Error answers (``fail``) and 304s always carry Content-Length framing.
    """

    def __init__(
        self,
        feed: SyntheticFeed | None = None,
        *,
        directory: Path | None = None,
        latency_ms: float = 0,
        host: str = "127.0.0.1",
        port: int = 0,
    ):
        if (feed is None) == (directory is None):
            raise ValueError("pass exactly one of feed or directory")
        self.feed = feed
        self.directory = Path(directory).resolve() if directory is not None else None
        self.latency_ms = latency_ms
        self._address = (host, port)
        self._lock = threading.Lock()
        self._fails: dict[str, _Fault] = {}
        self._replacements: dict[str, tuple[bytes, str]] = {}
        self._truncations: dict[str, _Truncation] = {}
        self._delays: dict[str, float] = {}
        self._dribbles: dict[str, _Dribble] = {}
        self._framings: dict[str, str] = {}
        # Set while stopping, so that dribbling answers end at once instead of after a pause.
        self._stopping = threading.Event()
        self._records: list[RequestRecord] = []
        self._connections: set[socket.socket] = set()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._last_modified = ""
        self._served_base_url = ""

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> FeedServer:
        """Bind and serve in a daemon thread; returns self. Sets ``feed.base_url``."""
        if self._httpd is not None:
            return self
        self._stopping.clear()
        self._httpd = _HTTPServer(self._address, self)
        self._last_modified = email.utils.formatdate(time.time(), usegmt=True)
        # Documents are rendered with this, not with base_url: a request still being answered
        # (a delayed one) when stop() runs must not find the server "not running".
        self._served_base_url = self.base_url
        # A short poll interval keeps stop() fast; the default (0.5 s) would dominate tests.
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, args=(0.05,), name="feedserver", daemon=True
        )
        self._thread.start()
        if self.feed is not None:
            self.feed.base_url = self.base_url
        return self

    def stop(self) -> None:
        """Stop serving and drop open keep-alive connections. Safe to call twice."""
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        self._stopping.set()
        httpd.shutdown()
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):  # already closed by the client
                connection.shutdown(socket.SHUT_RDWR)
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FeedServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """``http://HOST:PORT`` of the running server."""
        if self._httpd is None:
            raise RuntimeError("FeedServer is not running; call start() first")
        host, port = self._httpd.server_address[:2]
        if host in ("0.0.0.0", "::", ""):
            host = "127.0.0.1"  # a wildcard bind is reachable on loopback
        return f"http://{host}:{port}"

    @property
    def base_url(self) -> str:
        """Feed base: the profile folder for a synthetic feed, the root for a directory."""
        if self.feed is not None:
            return f"{self.url}/Profiles/Live/{FAKE_PROFILE_GUID}"
        return self.url

    @property
    def import_url(self) -> str:
        """URL of Import.txt, the one setting an importer needs."""
        return f"{self.base_url}/Import/Import.txt"

    # ------------------------------------------------------------------ faults

    def fail(
        self,
        path: str,
        status: int,
        *,
        times: int | None = None,
        body: bytes = b"",
        headers: dict | None = None,
    ) -> None:
        """Answer ``path`` with ``status`` (``times`` times, None = always), then normally."""
        with self._lock:
            if times is not None and times <= 0:
                self._fails.pop(path, None)
                return
            self._fails[path] = _Fault(status, times, body, dict(headers or {}))

    def replace(
        self, path: str, body: bytes, content_type: str = "application/octet-stream"
    ) -> None:
        """Serve ``body`` (status 200) at ``path`` instead of the real content, until cleared."""
        with self._lock:
            self._replacements[path] = (bytes(body), content_type)

    def truncate(
        self, path: str, nbytes: int, *, times: int | None = None, framing: str | None = None
    ) -> None:
        """Send only ``nbytes`` of the body, then close the connection.

        With ``"length"`` framing the full Content-Length is announced and with ``"chunked"``
        the last chunk never comes, so a client can tell; with ``"close"`` (no length) the
        cut body looks whole. ``framing`` None uses the path's (see :meth:`frame`).
        ``times`` limits how often (None = until cleared), e.g. to test a retry.
        """
        _check_framing(framing, none_ok=True)
        with self._lock:
            if times is not None and times <= 0:
                self._truncations.pop(path, None)
                return
            self._truncations[path] = _Truncation(nbytes, times, framing)

    def dribble(
        self,
        path: str,
        interval_seconds: float,
        chunk_bytes: int = 1,
        *,
        times: int | None = None,
    ) -> None:
        """Send the headers at once, then the body ``chunk_bytes`` at a time, waiting
        ``interval_seconds`` before each piece. ``times`` as for :meth:`truncate`."""
        if chunk_bytes < 1 or interval_seconds < 0:
            raise ValueError("chunk_bytes must be at least 1 and interval_seconds not negative")
        with self._lock:
            if times is not None and times <= 0:
                self._dribbles.pop(path, None)
                return
            self._dribbles[path] = _Dribble(interval_seconds, chunk_bytes, times)

    def frame(self, path: str, framing: str) -> None:
        """Mark the end of ``path``'s bodies by ``framing``, one of :data:`FRAMINGS`."""
        _check_framing(framing)
        with self._lock:
            self._framings[path] = framing

    def delay(self, path: str, seconds: float) -> None:
        """Add ``seconds`` of latency before answering ``path`` (to provoke client timeouts)."""
        with self._lock:
            self._delays[path] = seconds

    def clear_faults(self) -> None:
        """Remove every fail/replace/truncate/delay/dribble/frame rule (latency stays)."""
        with self._lock:
            self._fails.clear()
            self._replacements.clear()
            self._truncations.clear()
            self._delays.clear()
            self._dribbles.clear()
            self._framings.clear()

    # ------------------------------------------------------------------ accounting

    @property
    def requests(self) -> list[RequestRecord]:
        """A copy of the request log, oldest first."""
        with self._lock:
            return list(self._records)

    def count(self, kind: str | None = None) -> int:
        """Number of requests of ``kind`` (see :func:`classify_path`); None counts all."""
        if kind is not None and kind not in _KINDS:
            raise ValueError(f"kind must be one of {_KINDS} or None")
        records = self.requests
        if kind is None:
            return len(records)
        return sum(1 for r in records if classify_path(r.path) == kind)

    def reset_counts(self) -> None:
        """Forget all recorded requests."""
        with self._lock:
            self._records.clear()

    # ------------------------------------------------------------------ request handling

    def _handle(self, handler: _Handler, *, head: bool) -> None:
        arrived = time.time()
        path = handler.path.split("?", 1)[0].split("#", 1)[0]
        self._sleep_for(path)
        response = self._respond(path, handler)
        headers = dict(handler.headers)
        record = RequestRecord(handler.command, path, response.status, headers, arrived)
        # Recorded before answering, so a client that has its response can already count it.
        with self._lock:
            self._records.append(record)
        _send(handler, response, head=head, stopping=self._stopping)

    def _sleep_for(self, path: str) -> None:
        with self._lock:
            extra = self._rule(self._delays, path) or 0.0
        seconds = self.latency_ms / 1000 + extra
        if seconds > 0:
            time.sleep(seconds)

    def _respond(self, path: str, handler: _Handler) -> _Response:
        fault = self._take(self._fails, path)
        if fault is not None:
            headers = {"Content-Type": "text/plain; charset=utf-8", **fault.headers}
            return _Response(fault.status, headers, fault.body)
        with self._lock:
            replaced = self._rule(self._replacements, path)
        body, content_type = replaced or self._resolve(path)
        if body is None:
            return _Response(404, {"Content-Type": "text/plain; charset=utf-8"}, b"Not Found\n")
        etag = f'"{hashlib.sha1(body).hexdigest()}"'
        headers = {"ETag": etag, "Last-Modified": self._last_modified}
        if _etag_matches(handler.headers.get("If-None-Match"), etag):
            return _Response(304, headers)
        headers["Content-Type"] = content_type
        truncation = self._take(self._truncations, path)
        with self._lock:
            framing = self._rule(self._framings, path) or "length"
        if truncation is not None and truncation.framing is not None:
            framing = truncation.framing
        return _Response(
            200,
            headers,
            body,
            truncate_to=truncation.nbytes if truncation is not None else None,
            framing=framing,
            dribble=self._take(self._dribbles, path),
        )

    def _take(self, rules: dict, path: str):
        """The rule for ``path`` (None if none), counting one use of a ``times``-limited rule."""
        with self._lock:
            key = self._rule_key(rules, path)
            if key is None:
                return None
            rule = rules[key]
            if rule.remaining is not None:
                rule.remaining -= 1
                if rule.remaining <= 0:
                    del rules[key]
            return rule

    @staticmethod
    def _rule_key(rules: dict, path: str) -> str | None:
        # Rules may be registered with the path as sent or in decoded form.
        for key in (path, unquote(path)):
            if key in rules:
                return key
        return None

    def _rule(self, rules: dict, path: str):
        key = self._rule_key(rules, path)
        return rules[key] if key is not None else None

    def _resolve(self, path: str) -> tuple[bytes | None, str]:
        """Body and content type for ``path``; (None, ...) when there is no such file."""
        content_type = _CONTENT_TYPES.get(Path(unquote(path)).suffix.lower(), _DEFAULT_CONTENT_TYPE)
        if self.directory is not None:
            return _read_inside(self.directory, unquote(path)), content_type
        return self._render_synthetic(path), content_type

    def _render_synthetic(self, path: str) -> bytes | None:
        assert self.feed is not None
        prefix = f"/Profiles/Live/{FAKE_PROFILE_GUID}/"
        if not path.startswith(prefix):
            return None
        rest = unquote(path[len(prefix) :])
        if rest == "Import/Import.txt":
            return self.feed.import_txt(self._served_base_url)
        if rest == "CAT.csv":
            return self.feed.categories_csv()
        folder, _, name = rest.partition("/")
        if folder == "Images" and name.endswith(".png") and "/" not in name:
            return self.feed.image_png(name.removesuffix(".png"))
        if name.endswith(".json") and "/" not in name:
            return self.feed.family_json(folder, name.removesuffix(".json"), self._served_base_url)
        return None

    def _register(self, connection: socket.socket, *, open_: bool) -> None:
        with self._lock:
            if open_:
                self._connections.add(connection)
            else:
                self._connections.discard(connection)


def _read_inside(root: Path, relative: str) -> bytes | None:
    """Bytes of ``root/relative`` if that is a regular file inside ``root``, else None."""
    if "\x00" in relative:
        return None
    try:
        target = (root / relative.lstrip("/")).resolve()
    except (OSError, RuntimeError):  # symlink loops and the like
        return None
    if not target.is_relative_to(root) or not target.is_file():
        return None
    try:
        return target.read_bytes()
    except OSError:
        return None


def _etag_matches(header: str | None, etag: str) -> bool:
    """RFC 9110 weak comparison of an If-None-Match header against our strong ETag."""
    if not header:
        return False
    candidates = [c.strip() for c in header.split(",")]
    return any(c == "*" or c.removeprefix("W/") == etag for c in candidates)


def _check_framing(framing: str | None, *, none_ok: bool = False) -> None:
    if not (framing in FRAMINGS or (none_ok and framing is None)):
        raise ValueError(f"framing must be one of {FRAMINGS}")


def _send(handler: _Handler, response: _Response, *, head: bool, stopping: threading.Event) -> None:
    framing = response.framing
    if framing == "close":
        # An HTTP/1.0 answer: no length, the body ends where the connection does.
        handler.protocol_version = "HTTP/1.0"
        handler.close_connection = True
    handler.send_response(response.status)
    for name, value in response.headers.items():
        handler.send_header(name, value)
    if response.status != 304:
        if framing == "length":
            handler.send_header("Content-Length", str(len(response.body)))
        elif framing == "chunked":
            handler.send_header("Transfer-Encoding", "chunked")
        else:
            handler.send_header("Connection", "close")
    handler.end_headers()
    if head or response.status == 304:
        return
    cut = response.truncate_to is not None
    body = response.body[: response.truncate_to] if cut else response.body
    whole = _write_body(
        handler, body, chunked=framing == "chunked", dribble=response.dribble, stopping=stopping
    )
    if whole and not cut and framing == "chunked":
        handler.wfile.write(b"0\r\n\r\n")
    if cut or not whole or framing == "close":
        # Closing right after the (short) body is what makes the client see its end.
        handler.wfile.flush()
        handler.close_connection = True
        with contextlib.suppress(OSError):
            handler.connection.shutdown(socket.SHUT_WR)


def _write_body(
    handler: _Handler,
    body: bytes,
    *,
    chunked: bool,
    dribble: _Dribble | None,
    stopping: threading.Event,
) -> bool:
    """Write ``body`` (as chunks if ``chunked``, slowly if ``dribble``); False if the server
    began stopping before it was all sent."""
    step = dribble.chunk_bytes if dribble is not None else max(len(body), 1)
    for start in range(0, len(body), step):
        if dribble is not None and stopping.wait(dribble.interval):
            return False
        piece = body[start : start + step]
        if chunked:
            piece = f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
        handler.wfile.write(piece)
        handler.wfile.flush()
    return True


class _Handler(BaseHTTPRequestHandler):
    """Delegates GET/HEAD to the owning FeedServer; keep-alive, silent."""

    protocol_version = "HTTP/1.1"
    server_version = "PromidataFeedServer/1.0"
    timeout = 120  # seconds an idle keep-alive connection may hold a thread
    # Headers and body go out in separate writes; with Nagle's algorithm on, each keep-alive
    # response would stall ~40 ms waiting for the client's delayed ACK.
    disable_nagle_algorithm = True
    server: _HTTPServer

    def setup(self) -> None:
        super().setup()
        self.server.owner._register(self.connection, open_=True)

    def finish(self) -> None:
        self.server.owner._register(self.connection, open_=False)
        super().finish()

    def do_GET(self) -> None:
        self.server.owner._handle(self, head=False)

    def do_HEAD(self) -> None:
        self.server.owner._handle(self, head=True)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: tests read :attr:`FeedServer.requests` instead of stderr."""


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], owner: FeedServer):
        self.owner = owner
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind calls socket.getfqdn(), a reverse DNS lookup that can stall
        # for seconds on machines without working DNS; the name is never used here.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)

    def handle_error(self, request, client_address) -> None:
        # Clients hanging up (timeouts, truncation tests) are expected, not worth a traceback.
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)


# ---------------------------------------------------------------------- CLI


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m devtools.feedserver",
        description="Serve a synthetic Promidata feed (or a directory) on loopback. "
        "Prints the Import.txt URL on the first line, serves until SIGTERM/SIGINT.",
    )
    parser.add_argument("--suppliers", type=int, default=2)
    parser.add_argument("--families", type=int, default=10, help="families per supplier")
    parser.add_argument("--variants", type=int, default=2, help="variants per family")
    parser.add_argument("--images", type=int, default=2, help="images per variant")
    parser.add_argument("--image-pool", type=int, default=None, help="shared image pool size")
    parser.add_argument("--languages", default="de,en,nl,fr", help="comma-separated")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--region", default="EURO")
    parser.add_argument("--latency-ms", type=float, default=0)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 = any free port")
    parser.add_argument("--directory", type=Path, help="serve this directory instead")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """CLI entry point; returns the process exit code.

    Prints the Import.txt URL as the first stdout line once the server is ready (for a
    synthetic feed, after every family hash is computed: ~10 s for 40,000 families), then
    serves until SIGTERM or SIGINT.
    """
    args = _parse_args(argv)
    feed = None
    if args.directory is None:
        spec = FeedSpec(
            suppliers=args.suppliers,
            families_per_supplier=args.families,
            variants_per_family=args.variants,
            images_per_variant=args.images,
            image_pool=args.image_pool,
            languages=tuple(lang.strip() for lang in args.languages.split(",") if lang.strip()),
            seed=args.seed,
            region=args.region,
        )
        feed = SyntheticFeed(spec)
    elif not args.directory.is_dir():
        print(f"not a directory: {args.directory}", file=sys.stderr)
        return 2
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    server = FeedServer(
        feed, directory=args.directory, latency_ms=args.latency_ms, host=args.host, port=args.port
    )
    with server:
        if feed is not None:
            # Hash every family now, so the first Import.txt request is not slowed down by it.
            feed.import_txt(server.base_url)
        print(server.import_url, flush=True)
        while not stop.wait(0.5):
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
