"""Fixtures shared by the tests: a synthetic feed on a real loopback HTTP server."""

from __future__ import annotations

import pytest

from devtools.feedgen import FeedSpec, SyntheticFeed
from devtools.feedserver import FeedServer
from promidata_sync.conf import SyncConfig


@pytest.fixture
def feed_spec() -> FeedSpec:
    return FeedSpec(
        suppliers=2, families_per_supplier=6, variants_per_family=2, images_per_variant=2
    )


@pytest.fixture
def feed(feed_spec) -> SyntheticFeed:
    return SyntheticFeed(feed_spec)


@pytest.fixture
def feed_server(feed):
    with FeedServer(feed) as server:
        yield server


@pytest.fixture
def sync_config(feed_server, settings) -> SyncConfig:
    """The sync's configuration pointed at the loopback feed, with fast retries."""
    settings.PROMIDATA_IMPORT_URL = feed_server.import_url
    return SyncConfig.from_settings(
        import_url=feed_server.import_url,
        http_backoff_seconds=0.01,
        http_backoff_max_seconds=0.05,
        http_timeout_seconds=5,
        fetch_concurrency=4,
    )
