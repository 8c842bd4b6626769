"""Time arithmetic for progress displays: elapsed time, rate and ETA (pure, no Django).

One module for the three places that show time left (the admin's run list and run page, the
``promidata_sync --wait`` lines, the direct-mode terminal bars), so they always agree.

Contract: a rate is items per second, an ETA is seconds; both are ``None`` while unknown
(nothing done yet, no elapsed time, or a total that is not final). Nothing here reads a clock:
callers pass times in, which keeps it testable.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

# A rate measured over less than this is noise (one burst of a few items).
MIN_WINDOW_SECONDS = 2.0
# The recent window a rate is measured over: long enough to smooth bursts, short enough to
# follow a sync that slows down (images after families, a throttling feed).
RATE_WINDOW_SECONDS = 60.0


@dataclass(frozen=True)
class Estimate:
    """How far a counter is, how fast it moves, and how long it still needs."""

    elapsed: float | None
    rate: float | None
    eta: float | None


def rate_of(done: int, seconds: float | None) -> float | None:
    """``done / seconds``, or ``None`` when nothing was done or no time passed."""
    if not seconds or seconds <= 0 or done <= 0:
        return None
    return done / seconds


def eta_of(remaining: int, rate: float | None) -> float | None:
    """Seconds to do ``remaining`` items at ``rate``: 0 when nothing remains, ``None`` when
    the rate is unknown."""
    if remaining <= 0:
        return 0.0
    if not rate:
        return None
    return remaining / rate


def estimate(
    *,
    done: int,
    total: int,
    elapsed: float | None,
    settled: bool = True,
    recent_done: int | None = None,
    recent_seconds: float | None = None,
) -> Estimate:
    """The estimate for a counter that has ``done`` (finished or failed) of ``total`` items
    after ``elapsed`` seconds.

    The rate comes from the recent window (``recent_done`` items in the last
    ``recent_seconds``) when one is given and long enough, else from the start. The ETA is
    ``None`` while the total is not ``settled`` (it may still grow) or while the total is 0.
    """
    rate = None
    if recent_done is not None and recent_seconds:
        window = min(recent_seconds, elapsed) if elapsed else recent_seconds
        if window >= MIN_WINDOW_SECONDS:
            rate = rate_of(recent_done, window)
    else:
        rate = rate_of(done, elapsed)
    eta = eta_of(total - done, rate) if settled and total > 0 else None
    return Estimate(elapsed=elapsed, rate=rate, eta=eta)


def latest(*etas: float | None) -> float | None:
    """The time until the last of several counters ends: the largest known ETA, ``None``
    when none is known."""
    known = [eta for eta in etas if eta is not None]
    return max(known) if known else None


class RateWindow:
    """A rate over the last ``window_seconds`` from samples ``(time, done)`` fed in order.

    For displays that poll a counter (the terminal bars, the ``--wait`` lines); ``rate()`` is
    ``None`` until the samples span ``MIN_WINDOW_SECONDS``.
    """

    def __init__(self, window_seconds: float = RATE_WINDOW_SECONDS):
        self.window_seconds = window_seconds
        self.samples: deque[tuple[float, int]] = deque()

    def add(self, now: float, done: int) -> None:
        self.samples.append((now, done))
        # Keep one sample at or before the window's start, so the span covers the window.
        while len(self.samples) > 2 and self.samples[1][0] <= now - self.window_seconds:
            self.samples.popleft()

    def rate(self) -> float | None:
        if len(self.samples) < 2:
            return None
        (t0, d0), (t1, d1) = self.samples[0], self.samples[-1]
        span = t1 - t0
        if span < MIN_WINDOW_SECONDS:
            return None
        return (d1 - d0) / span if d1 > d0 else None


def duration_text(seconds: float | None) -> str:
    """``1h 02m``, ``3m 07s``, ``12s``, or ``-`` when unknown."""
    if seconds is None:
        return "-"
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"


def rate_text(rate: float | None, unit: str = "") -> str:
    """Items per second, or per minute below one a second (``12.5 families/s``,
    ``40 images/min``, ``12.5/s`` without a unit); ``-`` when unknown."""
    if rate is None:
        return "-"
    unit = f" {unit}" if unit else ""
    if rate >= 1:
        return f"{rate:.1f}{unit}/s"
    return f"{rate * 60:.0f}{unit}/min"


def eta_text(eta: float | None, *, at_least: bool = False) -> str:
    """``ETA 3m 07s``, ``ETA <1s``, or ``ETA unknown``; ``at_least`` (the total may still
    grow) says ``ETA ≥ 3m 07s``, and ``ETA ≥ 1s`` rather than ``<1s``."""
    if eta is None:
        return "ETA unknown"
    if at_least:
        return f"ETA ≥ {duration_text(max(eta, 1))}"
    if eta < 1:
        return "ETA <1s"
    return f"ETA {duration_text(eta)}"
