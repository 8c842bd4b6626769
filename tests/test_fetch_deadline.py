"""The overall deadline of one download, against real slow loopback servers."""

from __future__ import annotations

import socket
import time

import pytest

from promidata_sync.conf import SyncConfig
from promidata_sync.fetching import Fetcher, FetchError
from promidata_sync.http_transport import WATCHDOG, Deadline
from tests.feedpaths import family_path

SKU = "A100-F00001"


def _config(sync_config, **overrides) -> SyncConfig:
    values = {
        "import_url": sync_config.import_url,
        "http_deadline_seconds": 2.0,
        "http_timeout_seconds": 5.0,
        "http_attempts": 3,
        "http_backoff_seconds": 0.01,
        **overrides,
    }
    return SyncConfig.from_settings(**values)


def _timed_failure(fetcher: Fetcher, url: str) -> tuple[FetchError, float]:
    started = time.monotonic()
    with pytest.raises(FetchError) as raised:
        fetcher.get(url, max_bytes=10**7)
    return raised.value, time.monotonic() - started


@pytest.mark.parametrize("framing", ["length", "chunked", "close"])
def test_a_dribbling_server_is_stopped_at_the_deadline(framing, feed_server, sync_config):
    path = family_path(feed_server, SKU)
    feed_server.frame(path, framing)
    # One byte every 0.2 s: each read returns well within the 5 s timeout, the body would
    # take minutes.
    feed_server.dribble(path, 0.2)
    error, elapsed = _timed_failure(Fetcher(_config(sync_config)), feed_server.url + path)
    assert 1.9 < elapsed < 6
    assert "deadline of 2s" in str(error) and "PROMIDATA_HTTP_DEADLINE_SECONDS" in str(error)
    assert "A100/A100-F00001.json" in str(error) and "/Profiles/" not in str(error)  # masked
    assert not error.permanent
    assert feed_server.count("family") == 1  # no attempt started past the deadline


def test_the_fetcher_works_on_after_a_deadline(feed_server, sync_config):
    fetcher = Fetcher(_config(sync_config, http_deadline_seconds=1.0))
    path = family_path(feed_server, SKU)
    feed_server.dribble(path, 0.2, times=1)
    _timed_failure(fetcher, feed_server.url + path)
    assert fetcher.get(feed_server.url + path, max_bytes=10**7).content.startswith(b"{")


def test_a_silent_server_is_given_up_on_at_the_deadline(feed_server, sync_config):
    path = family_path(feed_server, SKU)
    feed_server.delay(path, 10)
    config = _config(sync_config, http_timeout_seconds=30.0, http_deadline_seconds=1.0)
    error, elapsed = _timed_failure(Fetcher(config), feed_server.url + path)
    assert elapsed < 4
    assert "deadline" in str(error) and not error.permanent


def test_backoff_never_sleeps_past_the_deadline(feed_server, sync_config):
    path = family_path(feed_server, SKU)
    feed_server.fail(path, 503, headers={"Retry-After": "10"})
    slept: list[float] = []
    config = _config(sync_config, http_backoff_max_seconds=30.0, http_attempts=5)
    with pytest.raises(FetchError) as raised:
        Fetcher(config, sleep=slept.append).get(feed_server.url + path, max_bytes=10**6)
    assert slept == []  # a 10 s wait would end after the 2 s deadline: not started
    assert "deadline" in str(raised.value) and "HTTP 503" in str(raised.value)
    assert raised.value.status == 503 and not raised.value.permanent
    assert feed_server.count("family") == 1


def test_backoff_sleeps_that_fit_are_taken(feed_server, sync_config):
    path = family_path(feed_server, SKU)
    feed_server.fail(path, 503, times=2, headers={"Retry-After": "1"})
    slept: list[float] = []
    config = _config(sync_config, http_deadline_seconds=5.0)
    fetched = Fetcher(config, sleep=slept.append).get(feed_server.url + path, max_bytes=10**6)
    assert fetched.content and slept == [1.0, 1.0]


def test_a_quick_download_is_unaffected(feed_server, sync_config):
    fetcher = Fetcher(_config(sync_config, http_deadline_seconds=0.5))
    path = family_path(feed_server, SKU)
    for _ in range(5):  # deadlines of earlier downloads never touch later ones
        assert fetcher.get(feed_server.url + path, max_bytes=10**7).complete
    time.sleep(0.7)  # the first deadlines have passed: the kept-alive connection still works
    assert fetcher.get(feed_server.url + path, max_bytes=10**7).content
    assert feed_server.count("family") == 6


# ---------------------------------------------------------------------- the mechanism


def test_an_expired_deadline_unblocks_a_read_in_another_thread():
    ours, theirs = socket.socketpair()
    with ours, theirs:
        deadline = Deadline(0.3)
        deadline.watch(ours)
        WATCHDOG.add(deadline)
        started = time.monotonic()
        assert ours.recv(10) == b""  # blocked until the watchdog shut the socket down
        assert 0.25 < time.monotonic() - started < 2 and deadline.fired


def test_a_socket_watched_after_expiry_is_shut_at_once_and_finish_stops_watching():
    late, peer = socket.socketpair()
    kept, kept_peer = socket.socketpair()
    with late, peer, kept, kept_peer:
        deadline = Deadline(10)
        deadline.expire()
        deadline.watch(late)
        assert late.recv(10) == b""
        finished = Deadline(0)
        finished.watch(kept)
        finished.finish()
        finished.expire()
        kept_peer.sendall(b"x")
        assert kept.recv(10) == b"x" and not finished.fired


def test_finished_deadlines_do_not_pile_up(tmp_path):
    (tmp_path / "Import").mkdir()
    (tmp_path / "Import" / "Import.txt").write_bytes(b"x")
    url = (tmp_path / "Import" / "Import.txt").as_uri()
    fetcher = Fetcher(SyncConfig.from_settings(import_url=url, http_deadline_seconds=300))
    for _ in range(1000):
        fetcher.get(url, max_bytes=10)
    assert len(WATCHDOG._heap) < 200
