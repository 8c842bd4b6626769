"""A setting missing in a worker's environment says so: the operator set it in another shell,
and the message must send them to the worker's ``.env``, not to the shell that starts syncs."""

from __future__ import annotations

from pathlib import Path

import pytest

from promidata_sync.models import SyncRun
from promidata_sync.operations import start_sync
from promidata_sync.services.direct import sync_direct
from tests.queue.conftest import wait_for_runs

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.django_db(transaction=True)


def test_a_worker_without_the_import_url_names_its_own_environment(sync_config, start_workers):
    assert sync_direct(config=sync_config).ok  # the suppliers exist; this shell has the URL
    start_workers(queues=["supplier-sync"], PROMIDATA_IMPORT_URL="")

    result = start_sync(None, use_queue=True, trigger="command")

    runs = wait_for_runs(result["runs"])
    assert [run.state for run in runs] == [SyncRun.State.FAILED] * 2
    for run in runs:
        text = run.message
        assert text.startswith("worker environment: PROMIDATA_IMPORT_URL is not set"), text
        assert f"this worker reads .env from {ROOT} and its own environment" in text
