"""The fetcher over real HTTP: limits, retries, redirects, masking."""

from __future__ import annotations

import pytest

from promidata_sync.conf import SyncConfig
from promidata_sync.fetching import Fetcher, FetchError, URLNotAllowed
from promidata_sync.redaction import mask_url
from tests.feedpaths import base_path


def test_mask_url_keeps_only_host_and_last_two_segments():
    url = "https://promi-dl.de/Profiles/Live/0f1e2d3c-aaaa-bbbb-cccc-1234567890ab/Import/Import.txt"
    assert mask_url(url) == "https://promi-dl.de/…/Import/Import.txt"
    assert "0f1e2d3c" not in mask_url(url)
    assert mask_url("http://u:p@h:81/a.json?token=x") == "http://h:81/a.json"


def test_redirect_to_a_foreign_host_is_refused(feed_server, sync_config):
    path = f"{base_path(feed_server)}/A100/A100-F00001.json"
    feed_server.fail(path, 302, headers={"Location": "http://evil.example/x.json"})
    with pytest.raises(URLNotAllowed, match=r"evil\.example"):
        Fetcher(sync_config).get(feed_server.url + path, max_bytes=10**6)


def test_permanent_errors_are_not_retried(feed_server, sync_config):
    path = f"{base_path(feed_server)}/A100/A100-F00001.json"
    feed_server.fail(path, 404)
    with pytest.raises(FetchError) as raised:
        Fetcher(sync_config).get(feed_server.url + path, max_bytes=10**6)
    assert raised.value.permanent and raised.value.status == 404
    assert feed_server.count("family") == 1


def test_transient_errors_give_up_after_the_configured_attempts(feed_server, sync_config):
    path = f"{base_path(feed_server)}/A100/A100-F00001.json"
    feed_server.fail(path, 500)
    with pytest.raises(FetchError) as raised:
        Fetcher(sync_config).get(feed_server.url + path, max_bytes=10**6)
    assert not raised.value.permanent
    assert feed_server.count("family") == sync_config.http_attempts


def test_timeouts_are_retried(feed_server, sync_config):
    path = f"{base_path(feed_server)}/A100/A100-F00001.json"
    feed_server.delay(path, 0.5)
    config = SyncConfig.from_settings(
        import_url=sync_config.import_url,
        http_timeout_seconds=0.1,
        http_attempts=2,
        http_backoff_seconds=0.01,
    )
    with pytest.raises(FetchError, match="Timeout") as raised:
        Fetcher(config).get(feed_server.url + path, max_bytes=10**6)
    assert not raised.value.permanent


def test_conditional_get_returns_not_modified(feed, feed_server, sync_config):
    url = feed.expected()["A100"]["A100-F00001"]["variants"]["A100-F00001-01"]["images"][0]
    fetcher = Fetcher(sync_config)
    first = fetcher.get(url, max_bytes=10**6)
    again = fetcher.get(url, max_bytes=10**6, etag=first.etag)
    assert first.content and first.etag
    assert again.not_modified and again.content == b""


def test_a_304_nobody_asked_for_is_an_error_not_an_empty_image(feed_server, sync_config):
    path = f"{base_path(feed_server)}/Images/x.png"
    feed_server.fail(path, 304)
    with pytest.raises(FetchError, match="not asked for conditionally") as raised:
        Fetcher(sync_config).get(feed_server.url + path, max_bytes=10**6)
    assert raised.value.permanent


@pytest.mark.parametrize("retry_after", ["²", "١٢", "-5", "soon"])
def test_odd_retry_after_values_fall_back_to_the_usual_backoff(
    feed_server, sync_config, retry_after
):
    path = f"{base_path(feed_server)}/A100/A100-F00001.json"
    feed_server.fail(path, 503, times=1, headers={"Retry-After": retry_after})

    fetched = Fetcher(sync_config).get(feed_server.url + path, max_bytes=10**6)

    assert fetched.content  # retried once, then served
