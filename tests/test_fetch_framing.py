"""``Fetched.complete``: whether the framing proves a body whole."""

from __future__ import annotations

import pytest

from promidata_sync.conf import SyncConfig
from promidata_sync.fetching import Fetcher, FetchError
from tests.feedpaths import family_path, import_path

SKU = "A100-F00001"


@pytest.fixture
def fetcher(sync_config) -> Fetcher:
    return Fetcher(sync_config)


@pytest.mark.parametrize(
    ("framing", "complete"), [("length", True), ("chunked", True), ("close", False)]
)
def test_complete_follows_the_framing(framing, complete, feed, feed_server, fetcher):
    path = family_path(feed_server, SKU)
    feed_server.frame(path, framing)
    fetched = fetcher.get(feed_server.url + path, max_bytes=10**7)
    assert fetched.complete is complete
    assert fetched.content == feed.family_json("A100", SKU, feed_server.base_url)


def test_a_close_delimited_body_cut_short_is_reported_incomplete(feed, feed_server, fetcher):
    path = import_path(feed_server)
    feed_server.truncate(path, 40, framing="close")
    fetched = fetcher.get(feed_server.import_url, max_bytes=10**7)
    # Nobody can tell it was cut: only ``complete`` warns the index reader.
    assert fetched.content == feed.import_txt(feed_server.base_url)[:40]
    assert not fetched.complete


@pytest.mark.parametrize("framing", ["length", "chunked"])
def test_a_framed_body_cut_short_is_an_error(framing, feed_server, sync_config):
    path = family_path(feed_server, SKU)
    feed_server.truncate(path, 50, framing=framing)
    config = SyncConfig.from_settings(import_url=sync_config.import_url, http_attempts=2)
    with pytest.raises(FetchError, match="incomplete body") as raised:
        Fetcher(config).get(feed_server.url + path, max_bytes=10**7)
    assert not raised.value.permanent
    assert feed_server.count("family") == 2


def test_a_cut_framed_body_heals_on_retry(feed_server, fetcher):
    path = family_path(feed_server, SKU)
    feed_server.truncate(path, 50, times=1, framing="chunked")
    fetched = fetcher.get(feed_server.url + path, max_bytes=10**7)
    assert fetched.complete and fetched.content.endswith(b"}")


def test_not_modified_and_files_are_complete(feed_server, fetcher, tmp_path):
    url = feed_server.url + family_path(feed_server, SKU)
    first = fetcher.get(url, max_bytes=10**7)
    again = fetcher.get(url, max_bytes=10**7, etag=first.etag)
    assert again.not_modified and again.complete

    (tmp_path / "Import").mkdir()
    (tmp_path / "Import" / "Import.txt").write_bytes(b"x")
    index_url = (tmp_path / "Import" / "Import.txt").as_uri()
    file_fetcher = Fetcher(SyncConfig.from_settings(import_url=index_url))
    assert file_fetcher.get(index_url, max_bytes=10).complete


def test_size_limit_applies_to_close_delimited_bodies(feed_server, fetcher):
    path = family_path(feed_server, SKU)
    feed_server.frame(path, "close")
    with pytest.raises(FetchError, match="exceeds the limit") as raised:
        fetcher.get(feed_server.url + path, max_bytes=100)
    assert raised.value.permanent
