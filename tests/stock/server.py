"""A loopback stock service: ``GET /stockinfo/<sku>`` answers ``{"OnStock": n}`` with an ETag,
and 304 to an ``If-None-Match`` naming it, like a real conditional server.

``quantities`` holds each SKU's stock; ``script`` queues one-off answers for a SKU (a status
code, or raw bytes as a broken body) served before its normal answer; a SKU in neither is a
404. Every request is kept in ``requests`` as ``(sku, If-None-Match or "")``.
"""

from __future__ import annotations

import json
import threading
from collections import defaultdict, deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote


class StockServer:
    def __init__(self) -> None:
        self.quantities: dict[str, int] = {}
        self.script: dict[str, deque] = defaultdict(deque)
        self.requests: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server._answer(self)

            def log_message(self, *args) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def template(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_port}/stockinfo/{{Sku}}"

    def __enter__(self) -> StockServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def requests_for(self, sku: str) -> list[str]:
        """The If-None-Match of each request for ``sku`` ("" when unconditional)."""
        return [etag for s, etag in self.requests if s == sku]

    def _answer(self, handler: BaseHTTPRequestHandler) -> None:
        sku = unquote(handler.path.removeprefix("/stockinfo/"))
        conditional = handler.headers.get("If-None-Match", "")
        with self._lock:
            self.requests.append((sku, conditional))
            scripted = self.script[sku].popleft() if self.script[sku] else None
            quantity = self.quantities.get(sku)
        if isinstance(scripted, int):
            self._send(handler, scripted, b"{}")
        elif isinstance(scripted, bytes):
            self._send(handler, 200, scripted, etag='"broken"')
        elif quantity is None:
            self._send(handler, 404, b'{"error": "unknown sku"}')
        else:
            etag = f'"q-{quantity}"'
            if conditional == etag:
                self._send(handler, 304, b"", etag=etag)
            else:
                body = json.dumps({"Sku": sku, "OnStock": quantity}).encode()
                self._send(handler, 200, body, etag=etag)

    @staticmethod
    def _send(handler, status: int, body: bytes, *, etag: str = "") -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        if etag:
            handler.send_header("ETag", etag)
        if status != 304:
            handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        if status != 304:
            handler.wfile.write(body)
