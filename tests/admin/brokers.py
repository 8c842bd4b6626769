"""Pointing this process at another broker for a test: a closed port, the test Redis or the
test RabbitMQ."""

from __future__ import annotations

import contextlib
import os
import socket

import dramatiq
from dramatiq.brokers.rabbitmq import RabbitmqBroker
from dramatiq.brokers.redis import RedisBroker

TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
TEST_BROKER_URL = os.environ.get(
    "TEST_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672/promidata_test"
)


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


def closed_amqp_url(password: str) -> str:
    """An amqp:// URL with ``password`` on a loopback port nothing listens on."""
    port = closed_port_url().rsplit(":", 1)[1].split("/")[0]
    return f"amqp://promidata:{password}@127.0.0.1:{port}/%2F"


@contextlib.contextmanager
def rabbitmq_broker_at(settings, url: str):
    """``dramatiq.get_broker()`` is a RabbitMQ broker at ``url`` (and ``BROKER_URL`` says so)
    inside the block, for status reads only; the in-memory broker comes back afterwards."""
    from tests.queue.conftest import ensure_rabbitmq_vhost

    old = dramatiq.get_broker()
    if url == TEST_BROKER_URL:
        ensure_rabbitmq_vhost(url)
    broker = RabbitmqBroker(url=url, middleware=[])
    dramatiq.set_broker(broker)
    settings.BROKER_URL, settings.REDIS_URL = url, ""
    try:
        yield broker
    finally:
        dramatiq.set_broker(old)
        broker.close()
