"""The time arithmetic every progress display shares (pure: no database, no clock)."""

from __future__ import annotations

import io

from promidata_sync.eta import (
    RateWindow,
    estimate,
    eta_text,
    latest,
    rate_text,
)
from promidata_sync.progress import TerminalProgress


def test_rate_and_eta_since_start():
    result = estimate(done=30, total=90, elapsed=60.0)
    assert result.rate == 0.5
    assert result.eta == 120.0  # 60 left at half an item a second


def test_a_recent_window_wins_over_the_average_since_start():
    # A sync that slowed down: 50 items in its first 10 minutes, 6 in the last minute.
    result = estimate(done=56, total=116, elapsed=660.0, recent_done=6, recent_seconds=60.0)
    assert result.rate == 0.1
    assert result.eta == 600.0


def test_nothing_known_yet_is_none_not_zero_or_infinite():
    assert estimate(done=0, total=10, elapsed=5.0).eta is None
    assert estimate(done=3, total=10, elapsed=None).rate is None
    assert estimate(done=3, total=10, elapsed=0.0).eta is None
    # A window of under two seconds is noise: no rate from it.
    assert estimate(done=3, total=10, elapsed=1.0, recent_done=3, recent_seconds=60.0).rate is None
    # A stalled counter (nothing ended in the window) has no rate, hence no ETA.
    assert estimate(done=5, total=10, elapsed=300.0, recent_done=0, recent_seconds=60.0).eta is None


def test_a_total_that_may_still_grow_has_no_eta():
    assert estimate(done=5, total=10, elapsed=10.0, settled=False).eta is None
    assert estimate(done=5, total=10, elapsed=10.0, settled=False).rate == 0.5
    assert estimate(done=0, total=0, elapsed=10.0).eta is None


def test_done_means_zero_left():
    assert estimate(done=10, total=10, elapsed=10.0).eta == 0.0


def test_latest_is_the_largest_known():
    assert latest(None, 30.0, 12.0) == 30.0
    assert latest(None, None) is None


def test_rate_window_follows_the_last_minute():
    window = RateWindow(window_seconds=60)
    assert window.rate() is None
    for second in range(0, 121):
        # 10 items a second for a minute, then 1 a second.
        done = second * 10 if second <= 60 else 600 + (second - 60)
        window.add(float(second), done)
    assert window.rate() == 1.0
    window.add(121.5, 61 + 600)  # half a second later, nothing new
    assert 0.9 < window.rate() < 1.0


def test_texts():
    assert rate_text(12.54, "families") == "12.5 families/s"
    assert rate_text(0.5, "images") == "30 images/min"
    assert rate_text(None) == "-"
    assert eta_text(187) == "ETA 3m 07s"
    assert eta_text(3 * 3600 + 120) == "ETA 3h 02m"
    assert eta_text(0.2) == "ETA <1s"
    assert eta_text(None) == "ETA unknown"
    assert eta_text(187, at_least=True) == "ETA ≥ 3m 07s"
    assert eta_text(0.2, at_least=True) == "ETA ≥ 1s"


def test_terminal_bar_shows_elapsed_rate_and_eta():
    stream = io.StringIO()
    bar = TerminalProgress(stream)
    bar.start("A100 families", 100)
    t0 = bar.started
    bar.done = 0
    bar.line(t0 + 1.0)
    bar.done = 40
    line = bar.line(t0 + 20.0)  # 40 items in 20 s: 2 a second, 60 left
    assert "[############------------------] 40/100  40%" in line
    assert "20s 2.0/s ETA 30s" in line
    assert "ETA unknown" in stream.getvalue()  # the first draw, before any rate
