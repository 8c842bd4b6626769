"""Two worker managers standing for two machines, sharing one database and one Redis.

Each ``promidata_workers`` supervisor names its machine by ``PROMIDATA_WORKER_HOSTNAME``
(machine-a, machine-b). Both start the same sync at the same moment, as two operators (or two
cron jobs) on two machines would: one run per supplier still holds, the counters and the
catalog are exact, and both machines did family and image work.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time

import pytest
from django.db import connection
from django.utils import timezone

from catalog.models import Media, Product
from devtools.feedgen import FeedSpec
from promidata_sync.models import Job, SyncItem, SyncRun, WorkerHeartbeat
from promidata_sync.operations import start_sync
from tests.catalog_state import (
    assert_images_linked_and_stored,
    catalog_as_feed,
    normalise_expected,
)
from tests.queue.conftest import ROOT, Workers, wait_for_runs

pytestmark = pytest.mark.django_db(transaction=True)

MACHINES = ("machine-a", "machine-b")
# The stages both machines run; webhooks are left out (no endpoint here), and one image
# process per machine keeps six worker processes in all on a small test box.
QUEUES = ["supplier-sync", "product-family", "image-upload"]
SUPPLIERS, FAMILIES, VARIANTS, IMAGES = 3, 8, 2, 2


@pytest.fixture
def feed_spec() -> FeedSpec:
    return FeedSpec(
        suppliers=SUPPLIERS,
        families_per_supplier=FAMILIES,
        variants_per_family=VARIANTS,
        images_per_variant=IMAGES,
    )


@pytest.fixture
def two_machines(worker_env):
    """Two supervisors, each with its own host name, both live before the test goes on."""
    started = [
        Workers(
            {
                **worker_env,
                "PROMIDATA_WORKER_HOSTNAME": name,
                "PROMIDATA_PROCESSES_IMAGES": "1",
                # Two image jobs at a time per machine (each a batch of up to 8 images): one
                # machine alone cannot hold every image job of the sync, so both must work.
                "PROMIDATA_CONCURRENCY_IMAGES": "2",
            },
            QUEUES,
        )
        for name in MACHINES
    ]
    try:
        _wait_for_hosts(started, per_host=len(QUEUES))
        yield started
    finally:
        for workers in started:
            workers.kill()


def _wait_for_hosts(started: list[Workers], *, per_host: int, timeout: float = 40) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        beats = list(WorkerHeartbeat.objects.values_list("hostname", flat=True))
        if all(beats.count(name) >= per_host for name in MACHINES):
            return
        for workers in started:
            if workers.process.poll() is not None:
                raise AssertionError(f"a supervisor exited with {workers.process.returncode}")
        time.sleep(0.2)
    raise AssertionError(f"workers of both machines did not start in time: {beats}")


def _start_from_both_machines() -> list[dict]:
    """Two ``start_sync`` calls released at the same instant, each on its own connection."""
    barrier = threading.Barrier(len(MACHINES))
    results: list[dict] = []
    errors: list[BaseException] = []

    def start() -> None:
        try:
            barrier.wait(timeout=10)
            results.append(start_sync(None, use_queue=True, trigger="command"))
        except BaseException as exc:  # reported by the test below, not lost in the thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=start) for _ in MACHINES]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    return results


def test_two_machines_share_the_work_and_one_run_per_supplier_still_holds(
    feed, feed_server, sync_config, two_machines
):
    # Every request takes a while, so the work lasts long enough for both machines to take
    # some; it also widens the window in which both callers race for the runs.
    feed_server.latency_ms = 100

    first, second = _start_from_both_machines()

    # Exactly one run per supplier: for each, one caller queued it, the other got it back.
    assert first["success"] and second["success"]
    by_supplier: dict[str, list[dict]] = {}
    for job in first["jobs"] + second["jobs"]:
        by_supplier.setdefault(job["supplier"], []).append(job)
    assert len(by_supplier) == SUPPLIERS
    for supplier, jobs in by_supplier.items():
        assert sorted(j["status"] for j in jobs) == ["already_running", "queued"], supplier
        assert jobs[0]["run_id"] == jobs[1]["run_id"], supplier
    assert SyncRun.objects.count() == SUPPLIERS
    assert sorted(first["runs"]) == sorted(second["runs"])

    runs = wait_for_runs(first["runs"], timeout=60)
    # Read while both machines still run: a stopping worker removes its heartbeat.
    hosts_beating = set(WorkerHeartbeat.objects.values_list("hostname", flat=True))

    # Counters exact: every family and image counted once, none failed.
    images_per_supplier = FAMILIES * VARIANTS * IMAGES
    for run in runs:
        assert run.state == SyncRun.State.COMPLETED, (run.supplier.code, run.message)
        assert run.families_done == run.families_total == FAMILIES
        assert run.images_done == run.images_total == images_per_supplier
        assert run.families_failed == run.images_failed == 0
    items = SyncItem.objects.filter(run__in=runs)
    assert items.filter(kind=SyncItem.Kind.FAMILY).count() == SUPPLIERS * FAMILIES
    assert items.filter(kind=SyncItem.Kind.IMAGE).count() == SUPPLIERS * images_per_supplier
    assert not items.exclude(state=SyncItem.State.DONE).exists()

    # The catalog is exactly the feed, stored once: no family or image written twice.
    assert catalog_as_feed() == normalise_expected(feed.expected())
    assert_images_linked_and_stored()
    assert Product.objects.count() == SUPPLIERS * FAMILIES
    assert Media.objects.count() == SUPPLIERS * images_per_supplier

    # Both machines were alive, and both did family and image work.
    assert hosts_beating == set(MACHINES)
    for actor in ("sync_product_family", "upload_image"):
        workers = Job.objects.filter(actor_name=actor).values_list("worker", flat=True)
        hosts = {w.rsplit(":", 1)[0] for w in workers}
        assert hosts == set(MACHINES), (actor, hosts)
    assert set(Job.objects.values_list("state", flat=True)) == {Job.State.COMPLETED}


@pytest.mark.parametrize("other_machine", [True, False])
def test_a_machine_storing_media_on_its_disk_warns_when_another_machine_works(
    worker_env, other_machine
):
    if other_machine:
        now = timezone.now()
        WorkerHeartbeat.objects.create(
            worker_id="machine-far:41:0badcafe",
            hostname="machine-far",
            pid=41,
            queues=["image-upload"],
            threads=10,
            started_at=now,
            last_seen_at=now,
        )
    supervisor = subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), "promidata_workers", "--queues", "image-upload"],
        cwd=ROOT,
        env={**worker_env, "PROMIDATA_WORKER_HOSTNAME": "machine-near"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        before_start = []  # what it said before naming its worker groups
        assert supervisor.stdout is not None
        for line in supervisor.stdout:
            if line.startswith("worker groups:"):
                break
            before_start.append(line)
        else:  # it ended before starting its groups: what it said is no answer
            pytest.fail(f"promidata_workers did not start: {''.join(before_start)}")
    finally:
        supervisor.send_signal(signal.SIGTERM)
        supervisor.wait(timeout=60)
    said = "".join(before_start)
    if other_machine:
        assert "media are stored on this machine's disk (MEDIA_ROOT)" in said, said
        assert "workers on machine-far also run" in said
    else:
        assert "MEDIA_ROOT" not in said, said
