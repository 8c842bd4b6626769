"""Pointing this process at another broker for a test: a closed port, or the test Redis."""

from __future__ import annotations

import contextlib
import os
import socket

import dramatiq
from dramatiq.brokers.redis import RedisBroker

TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def closed_port_url() -> str:
    """A redis:// URL on a loopback port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"redis://127.0.0.1:{port}/0"


@contextlib.contextmanager
def redis_broker_at(settings, url: str):
    """``dramatiq.get_broker()`` is a Redis broker at ``url`` (and ``REDIS_URL`` says so)
    inside the block; the in-memory broker comes back afterwards. No actor is moved: only
    status reads (``broker_check``, queue counts) go to this broker."""
    old = dramatiq.get_broker()
    broker = RedisBroker(url=url, middleware=[])
    dramatiq.set_broker(broker)
    settings.REDIS_URL = url
    try:
        yield broker
    finally:
        dramatiq.set_broker(old)
        broker.close()
