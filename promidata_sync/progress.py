"""A one-line terminal progress bar (stderr), drawn only when stderr is a terminal."""

from __future__ import annotations

import sys
import time
from typing import TextIO


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
        share = self.done / self.total if self.total else 1.0
        filled = int(self.WIDTH * share)
        rate = self.done / max(now - self.started, 1e-6)
        bar = "#" * filled + "-" * (self.WIDTH - filled)
        self.stream.write(
            f"\r{self.label:<18} [{bar}] {self.done}/{self.total} {share:4.0%} {rate:6.1f}/s"
        )
        self.stream.flush()
