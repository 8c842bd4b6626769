"""Fixtures of the API tests: the admin tests' users and clients, and API keys."""

from __future__ import annotations

import pytest

from promidata_sync.services.api_keys import create_key
from tests.admin.conftest import (  # noqa: F401 - fixtures
    no_in_process_worker,
    operator,
    operator_client,
    viewer,
    viewer_client,
)


@pytest.fixture
def catalog_key(db):
    """The plain text of a key with the catalog:read scope."""
    return create_key("shop", ["catalog:read"])[1]


@pytest.fixture
def operate_key(db):
    return create_key("cron", ["sync:operate"])[1]


@pytest.fixture
def reader(client, catalog_key):
    """A client that sends a catalog:read key (and no session)."""
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {catalog_key}"
    return client


@pytest.fixture(autouse=True)
def fresh_throttle_counts():
    """Each test starts with no request counted (the counts live in the local cache)."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()
