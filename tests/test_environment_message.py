"""Messages about the configuration say whose environment it is: a worker's names its .env."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from promidata_sync import environment
from promidata_sync.errors import describe


def test_a_setting_read_late_is_a_configuration_error_not_an_internal_one():
    exc = ImproperlyConfigured("PROMIDATA_ALLOWED_NETWORKS: 'x' is not a network")
    assert describe(exc) == "configuration error: PROMIDATA_ALLOWED_NETWORKS: 'x' is not a network"


def test_in_a_worker_the_message_names_the_worker_environment_and_its_env_file(monkeypatch):
    monkeypatch.setattr(environment, "_worker_process", True)
    text = describe(ImproperlyConfigured("PROMIDATA_ALLOWED_NETWORKS: 'x' is not a network"))
    assert text == (
        "worker environment: configuration error: PROMIDATA_ALLOWED_NETWORKS: 'x' is not a "
        f"network (this worker reads .env from {settings.BASE_DIR} and its own environment)"
    )
    assert environment.environment_message("X is not set", hint="set it") == (
        f"worker environment: X is not set (this worker reads .env from {settings.BASE_DIR} "
        "and its own environment): set it"
    )
