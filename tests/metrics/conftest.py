"""Fixtures of the metrics tests: API keys, the metrics token, the real Redis broker, and a
scrape parsed the way Prometheus reads it."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

from promidata_sync.services.api_keys import create_key
from tests.queue.conftest import queue_broker, redis_broker  # noqa: F401 - fixtures

METRICS_TOKEN = "metrics-token-for-the-tests-7f3a"


@pytest.fixture
def metrics_token(settings):
    settings.PROMIDATA_METRICS_TOKEN = METRICS_TOKEN
    return METRICS_TOKEN


@pytest.fixture
def scraper(client, metrics_token):
    """A client that sends the metrics token, as a Prometheus server configured for it."""
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {metrics_token}"
    return client


@pytest.fixture
def metrics_key(db):
    return create_key("prometheus", ["metrics:read"])[1]


@pytest.fixture(autouse=True)
def fresh_throttle_counts():
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


class Scrape:
    """One answer of /metrics, parsed with prometheus_client's own parser."""

    def __init__(self, text: str):
        self.text = text
        self.families = {family.name: family for family in text_string_to_metric_families(text)}
        self.samples = [sample for family in self.families.values() for sample in family.samples]

    def value(self, name: str, **labels: str) -> float:
        """The value of the one sample ``name`` with exactly ``labels``."""
        found = [s.value for s in self.samples if s.name == name and s.labels == labels]
        assert len(found) == 1, (name, labels, [s for s in self.samples if s.name == name])
        return found[0]

    def has(self, name: str, **labels: str) -> bool:
        return any(s.name == name and s.labels == labels for s in self.samples)

    def labelsets(self, name: str) -> list[dict[str, str]]:
        return [s.labels for s in self.samples if s.name == name]

    @property
    def sample_names(self) -> set[str]:
        return {s.name for s in self.samples}


def scrape(client) -> Scrape:
    response = client.get("/metrics")
    assert response.status_code == 200, response.content[:500]
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    return Scrape(response.content.decode())
