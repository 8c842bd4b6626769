"""Project-wide pytest configuration: every test writes media to its own temporary folder, and
may fetch from the loopback feed servers the tests start."""

import pytest

# Every test feed is served on loopback, which the fetcher refuses unless it is allowed.
LOOPBACK_NETWORKS = ["127.0.0.0/8", "::1/128"]


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture(autouse=True)
def _loopback_feeds_allowed(settings):
    """Tests that need the default (no network allowed) set the setting back to []."""
    settings.PROMIDATA_ALLOWED_NETWORKS = LOOPBACK_NETWORKS
