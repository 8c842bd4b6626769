"""A one-line terminal progress bar (stderr), drawn only when stderr is a terminal.

The line shows the count, the elapsed time, the rate over the last minute and the time left
(``promidata_sync.eta``, the same arithmetic as the admin and the ``--wait`` lines)."""

from __future__ import annotations

import sys
import time
from typing import TextIO

from promidata_sync.eta import RateWindow, duration_text, eta_of, eta_text, rate_text


class TerminalProgress:
    """Implements the sync's ``Progress`` protocol with a redrawn line on a TTY."""

    WIDTH = 30
    REDRAW_SECONDS = 0.1

    def __init__(self, stream: TextIO | None = None):
        self.stream = stream or sys.stderr
        self.label, self.total, self.done = "", 0, 0
        self.started = self.drawn_at = 0.0

    def start(self, label: str, total: int) -> None:
        self.label, self.total, self.done = label, total, 0
        self.started = time.monotonic()
        self.drawn_at = 0.0
        self.window = RateWindow()
        self.window.add(self.started, 0)
        if total:
            self._draw(force=True)

    def advance(self, n: int = 1) -> None:
        self.done += n
        self._draw()

    def finish(self) -> None:
        if self.total:
            self._draw(force=True)
            self.stream.write("\n")
            self.stream.flush()

    def _draw(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self.drawn_at < self.REDRAW_SECONDS:
            return
        self.drawn_at = now
        self.stream.write("\r" + self.line(now) + "\x1b[K")
        self.stream.flush()

    def line(self, now: float) -> str:
        """The bar's text at ``now`` (a ``time.monotonic()`` value): bar, count, share,
        elapsed time, rate and ETA (``ETA unknown`` until two seconds of samples)."""
        self.window.add(now, self.done)
        share = self.done / self.total if self.total else 1.0
        filled = int(self.WIDTH * min(share, 1.0))
        bar = "#" * filled + "-" * (self.WIDTH - filled)
        rate = self.window.rate()
        eta = eta_of(self.total - self.done, rate)
        return (
            f"{self.label:<18} [{bar}] {self.done}/{self.total} {share:4.0%} "
            f"{duration_text(now - self.started)} {rate_text(rate)} {eta_text(eta)}"
        )
