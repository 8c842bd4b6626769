"""RabbitMQ's own answers, against the real server and no workers: leases in the database,
what the reconciler does with records RabbitMQ cannot be asked about, and the one line an
operator reads when BROKER_URL is wrong or RabbitMQ is down."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from catalog.models import Supplier
from promidata_sync.models import Job, SyncItem, SyncRun, WorkerHeartbeat
from promidata_sync.models import Lease as LeaseRow
from promidata_sync.queue import rabbitmq
from promidata_sync.queue.leases import KEY_PREFIX, DatabaseStore, Lease, broker_lease
from promidata_sync.queue.reconcile import REQUEUED, reconcile
from promidata_sync.services import runs
from promidata_sync.services.workers import worker_label
from tests.admin.brokers import closed_amqp_url
from tests.queue.conftest import ROOT

pytestmark = pytest.mark.django_db(transaction=True)
on_rabbitmq = pytest.mark.parametrize("queue_broker", ["rabbitmq"], indirect=True)


def test_a_database_lease_is_taken_by_exactly_one_of_many_at_once():
    barrier, taken = threading.Barrier(8), []

    def take():
        barrier.wait()
        try:
            taken.append(Lease("race", ttl_seconds=5, store=DatabaseStore()).acquire())
        finally:
            connection.close()

    threads = [threading.Thread(target=take) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(taken) == [False] * 7 + [True]
    assert LeaseRow.objects.filter(name=KEY_PREFIX + "race").count() == 1


def test_a_database_lease_is_renewed_lapses_when_its_holder_dies_and_is_taken_over():
    holder = Lease("db", ttl_seconds=1, store=DatabaseStore())
    assert holder.acquire()
    time.sleep(1.5)  # longer than the TTL: the renewing thread keeps it
    assert not Lease("db", ttl_seconds=1, store=DatabaseStore()).acquire()

    holder._stop.set()  # the holder dies: nobody renews any more
    assert holder._renewer is not None
    holder._renewer.join()
    time.sleep(1.2)
    taker = Lease("db", ttl_seconds=1, store=DatabaseStore())
    assert taker.acquire()  # the expired row is taken over
    assert LeaseRow.objects.get(name=KEY_PREFIX + "db").token == taker.token

    holder.release()  # a late release by the dead holder frees nothing of the new one
    assert not Lease("db", ttl_seconds=1, store=DatabaseStore()).acquire()
    taker.release()
    assert not LeaseRow.objects.filter(name=KEY_PREFIX + "db").exists()


@on_rabbitmq
def test_with_rabbitmq_the_stage_leases_live_in_the_database(queue_broker):
    with broker_lease("supplier-sync:run:7", ttl_seconds=5) as held:
        assert held
        assert LeaseRow.objects.filter(name=KEY_PREFIX + "supplier-sync:run:7").exists()
        with broker_lease("supplier-sync:run:7", ttl_seconds=5) as second:
            assert not second
    assert not LeaseRow.objects.exists()


def active_job(run, sku: str, *, worker: str) -> Job:
    job = Job.objects.create(
        job_id=f"job-{sku}",
        queue_name="product-family",
        actor_name="sync_product_family",
        run=run,
        key=sku,
        args={"run_id": run.pk, "family_sku": sku},
        state=Job.State.ACTIVE,
        broker_ref=f"job-{sku}",
        worker=worker,
    )
    # Last touched a minute ago: old enough for the reconciler to look at it.
    Job.objects.filter(pk=job.pk).update(updated_at=timezone.now() - timedelta(minutes=1))
    return job


@pytest.fixture
def planned_run():
    """A queue run, planned, with three families pending."""
    run = runs.run_create(
        supplier=Supplier.objects.create(code="R1"), trigger="command", mode=SyncRun.Mode.QUEUE
    )
    runs.run_mark_running(run)
    runs.items_plan(
        run.pk,
        kind=SyncItem.Kind.FAMILY,
        items=[(f"R1-{i}", f"http://127.0.0.1/R1/R1-{i}.json", f"H{i}") for i in (1, 2, 3)],
    )
    runs.run_set(run.pk, planned_at=timezone.now())
    return run


@on_rabbitmq
def test_the_reconciler_sends_only_work_no_open_record_covers_and_frees_dead_workers_records(
    queue_broker, planned_run
):
    now = timezone.now()
    WorkerHeartbeat.objects.create(
        worker_id="live",
        hostname="alive-host",
        pid=1,
        queues=["product-family"],
        threads=3,
        started_at=now,
        last_seen_at=now,
    )
    running = active_job(planned_run, "R1-1", worker="alive-host:1")
    orphaned = active_job(planned_run, "R1-2", worker="dead-host:2")  # no heartbeat

    report = reconcile(stalled_after_seconds=0)

    # A live worker's record is left alone; a dead one's message went back to its queue
    # (RabbitMQ redelivers on connection drop), so its record waits: nothing is re-sent.
    assert Job.objects.get(pk=running.pk).state == Job.State.ACTIVE
    orphaned.refresh_from_db()
    assert (orphaned.state, orphaned.error) == (Job.State.WAITING, REQUEUED)
    # R1-3 has no record at all (its message never reached RabbitMQ): sent once, and only it.
    assert report.messages_sent == 1 and report.jobs_lost == 0
    assert rabbitmq.ready_count(queue_broker, "product-family") == 1
    assert Job.objects.get(key="R1-3").state == Job.State.WAITING
    assert reconcile(stalled_after_seconds=0).messages_sent == 0
    assert rabbitmq.ready_count(queue_broker, "product-family") == 1


@on_rabbitmq
def test_a_job_record_names_the_worker_that_runs_it_and_the_broker_ref(queue_broker, planned_run):
    from promidata_sync.queue.job_records import job_enqueued, job_started
    from promidata_sync.tasks import sync_supplier

    message = sync_supplier.message(run_id=planned_run.pk)
    job_enqueued(message)
    job_started(message)

    job = Job.objects.get(job_id=message.message_id)
    assert (job.broker_ref, job.worker) == (message.message_id, worker_label())


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    db = connection.settings_dict
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        cwd=ROOT,
        env={
            **os.environ,
            "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:"
            f"{db['PORT'] or 5432}/{db['NAME']}",
            "REDIS_URL": "",
            **env,
        },
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_malformed_broker_url_is_one_clear_line_without_its_password():
    done = manage("check", BROKER_URL="amqp://promidata:s3cret-rabbit-pw@rabbit:notaport/")

    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "BROKER_URL" in lines[0] and "amqp://" in lines[0], done.stderr
    assert "s3cret-rabbit-pw" not in done.stderr + done.stdout


@pytest.mark.parametrize("command", ["promidata_status", "promidata_workers"])
def test_an_unreachable_rabbitmq_stops_the_commands_with_one_line(command):
    done = manage(command, BROKER_URL=closed_amqp_url("s3cret-rabbit-pw"))

    output = done.stdout + done.stderr
    assert "RabbitMQ at amqp://promidata:********@127.0.0.1:" in output
    assert "is unreachable" in output and "is BROKER_URL right?" in output
    assert "s3cret-rabbit-pw" not in output and "Traceback" not in output
    if command == "promidata_workers":
        assert done.returncode != 0 and len(done.stderr.strip().splitlines()) == 1
