"""Queue actions on real Redis: dead letters listed and cleared, waiting jobs purged (their
runs end), a retry of one job queuing once, pauses refusing syncs and holding messages."""

from __future__ import annotations

import time

import dramatiq
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from dramatiq.brokers.rabbitmq import RabbitmqBroker
from dramatiq.common import xq_name

from promidata_sync import operations, queue_control
from promidata_sync.models import Job, Pause, QueueAction, SyncItem, SyncRun
from promidata_sync.queue import dispatch
from promidata_sync.queue.broker import broker_counts
from promidata_sync.services.pauses import EXIT_PAUSED, SyncPaused
from promidata_sync.services.work import FamilyWork
from tests.admin.factories import make_failed_run, make_run, make_suppliers
from tests.queue.conftest import both_brokers

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def operator(django_user_model):
    return django_user_model.objects.create_superuser("ops", password="x")


def _open_run_with_waiting_families(supplier, count: int) -> SyncRun:
    run = make_run(supplier, state=SyncRun.State.RUNNING, families_total=count, finished_at=None)
    SyncRun.objects.filter(pk=run.pk).update(planned_at=run.started_at)
    SyncItem.objects.bulk_create(
        SyncItem(run=run, kind=SyncItem.Kind.FAMILY, key=f"F{i}", url=f"https://x/F{i}.json")
        for i in range(count)
    )
    dispatch.enqueue(
        FamilyWork(run_id=run.pk, supplier_id=supplier.pk, family_sku=f"F{i}", url="", hash="")
        for i in range(count)
    )
    return run


@both_brokers
def test_purge_drops_waiting_jobs_fails_their_families_and_ends_the_run(queue_broker, operator):
    (supplier,) = make_suppliers(1)
    run = _open_run_with_waiting_families(supplier, 3)
    _wait_for_waiting(3)

    assert queue_control.purge_waiting("product-family", user=operator) == 3

    assert broker_counts("product-family")["waiting"] == 0
    jobs = Job.objects.filter(run=run)
    assert {(j.state, j.error) for j in jobs} == {(Job.State.FAILED, "purged by ops")}
    run.refresh_from_db()
    assert run.state == SyncRun.State.PARTIAL and run.families_failed == 3
    assert set(run.items.values_list("error", flat=True)) == {"purged by ops"}
    assert queue_control.purge_waiting("product-family", user=operator) == 0  # idempotent
    assert QueueAction.objects.filter(action="purge").count() == 2


def _wait_for_waiting(count: int) -> None:
    """RabbitMQ counts a published message ready a moment after the publish."""
    deadline = time.monotonic() + 10
    while broker_counts("product-family")["waiting"] < count:
        assert time.monotonic() < deadline, broker_counts("product-family")
        time.sleep(0.05)


def _kill(broker, message: dramatiq.Message) -> None:
    """Put ``message`` among its queue's dead letters, the way each broker keeps them."""
    if isinstance(broker, RabbitmqBroker):
        broker.declare_queue(message.queue_name, ensure=True)  # declares <queue>.XQ too
        broker.channel.basic_publish(
            exchange="", routing_key=xq_name(message.queue_name), body=message.encode()
        )
        return
    ref = message.options["redis_message_id"]
    broker.client.zadd(f"dramatiq:{message.queue_name}.XQ", {ref: int(time.time() * 1000)})
    broker.client.hset(f"dramatiq:{message.queue_name}.XQ.msgs", ref, message.encode())


@both_brokers
def test_dead_letters_listed_masked_and_cleared(queue_broker, operator):
    secret = "3f2b1c9e-4d5a-4b6c-8d7e-9f0a1b2c3d4e"  # a profile GUID
    message = dramatiq.Message(
        queue_name="product-family",
        actor_name="sync_product_family",
        args=(),
        kwargs={"run_id": 1, "url": f"https://promi-dl.de/Profiles/Live/{secret}/F.json"},
        options={"redis_message_id": "r1"},
    )
    _kill(queue_broker, message)
    deadline = time.monotonic() + 10
    while operations.get_queue_stats("product-family")["dead"] < 1:
        assert time.monotonic() < deadline, "the dead letter never showed"
        time.sleep(0.05)

    (letter,) = queue_control.dead_letters("product-family")
    assert letter.message_id == message.message_id and letter.actor_name == "sync_product_family"
    assert secret not in letter.arguments and "F.json" in letter.arguments
    assert operations.get_queue_stats("product-family")["dead"] == 1

    assert queue_control.dead_letters("product-family")  # reading removed nothing
    assert queue_control.dead_letters_clear("product-family", user=operator) == 1
    assert queue_control.dead_letters("product-family") == []
    assert operations.get_queue_stats("product-family")["dead"] == 0
    assert QueueAction.objects.get(action="clear_dead").username == "ops"


def test_retry_of_one_job_queues_once(redis_broker, operator):
    (supplier,) = make_suppliers(1)
    run = make_failed_run(supplier, families=3, failed=2)
    job = Job.objects.get(run=run)
    job.args = {"run_id": run.pk, "family_sku": job.key}
    job.save()

    first = queue_control.retry_job(job, user=operator)
    second = queue_control.retry_job(job, user=operator)

    assert len(first["jobs"]) == 1 and second["jobs"] == []
    assert redis_broker.client.llen("dramatiq:product-family") == 1
    run.refresh_from_db()
    assert run.state == SyncRun.State.RUNNING
    # Only that family went back to pending; the other failed one waits for its own retry.
    assert run.items.filter(state=SyncItem.State.PENDING).count() == 1
    assert run.items.filter(state=SyncItem.State.FAILED).count() == 1


def test_everything_paused_refuses_syncs_and_the_command_exits_3(redis_broker, operator):
    make_suppliers(1)
    queue_control.pause(user=operator, scope=Pause.Scope.ALL)
    with pytest.raises(SyncPaused, match="paused by ops"):
        operations.start_sync(None, use_queue=True)
    with pytest.raises(CommandError, match="syncs are paused") as raised:
        call_command("promidata_sync", "--quiet")
    assert raised.value.returncode == EXIT_PAUSED == 3
    with pytest.raises(SystemExit) as exited:  # a re-import is refused the same way
        call_command("promidata_sync", "--sku", "A100-F00001")
    assert exited.value.code == EXIT_PAUSED
    assert not SyncRun.objects.exists()
    queue_control.resume(user=operator, scope=Pause.Scope.ALL)
    assert not Pause.objects.exists()


def test_a_paused_supplier_is_left_out(redis_broker, operator):
    a, b = make_suppliers(2)
    queue_control.pause(user=operator, scope=Pause.Scope.SUPPLIER, name=a.code.lower())
    with pytest.raises(SyncPaused, match=a.code):
        operations.start_sync(a.code, use_queue=True)
    result = operations.start_sync(b.code, use_queue=True)
    assert [j["supplier"] for j in result["jobs"]] == [b.code]
    # A code no supplier has would pause nothing: refused, with the near code.
    with pytest.raises(ValueError, match=rf"unknown supplier 'A10O' \(did you mean .*{a.code}"):
        queue_control.pause(user=operator, scope=Pause.Scope.SUPPLIER, name="A10O")
    assert list(Pause.objects.values_list("name", flat=True)) == [a.code]


@both_brokers
def test_a_worker_holds_a_paused_queues_message_quietly_and_runs_it_once_resumed(
    queue_broker, operator, settings, caplog
):
    settings.PROMIDATA_PAUSE_RECHECK_MS = 200
    (supplier,) = make_suppliers(1)
    queue_control.pause(user=operator, scope=Pause.Scope.QUEUE, name="product-family")
    run = _open_run_with_waiting_families(supplier, 1)
    worker = dramatiq.Worker(
        queue_broker, queues={"product-family"}, worker_threads=1, worker_timeout=100
    )
    worker.start()
    try:
        time.sleep(1.5)  # several rounds: taken, put back, due again
        job = Job.objects.get(run=run)
        assert (job.state, job.processed_at) == (Job.State.WAITING, None)
        assert "was skipped" not in caplog.text
        queue_control.resume(user=operator, scope=Pause.Scope.QUEUE, name="product-family")
        deadline = time.monotonic() + 15
        while Job.objects.get(run=run).processed_at is None:
            assert time.monotonic() < deadline, "the resumed queue's job never started"
            time.sleep(0.1)
    finally:
        worker.stop()
    assert Job.objects.filter(run=run).count() == 1  # the same job, not a copy


def test_stock_runs_skip_a_paused_supplier_and_stop_when_everything_is(
    redis_broker, operator, settings
):
    settings.PROMIDATA_STOCK_URL_TEMPLATE = "https://stock.promidata.com/stockinfo/{Sku}"
    a, b = make_suppliers(2)
    queue_control.pause(user=operator, scope=Pause.Scope.SUPPLIER, name=a.code)
    result = operations.start_stock_sync(None, use_queue=True)
    assert list(SyncRun.objects.values_list("supplier__code", flat=True)) == [b.code]
    assert result["runs"] == [SyncRun.objects.get().pk]
    queue_control.pause(user=operator, scope=Pause.Scope.ALL)
    with pytest.raises(SystemExit) as exited:
        call_command("promidata_stock", "--supplier", b.code)
    assert exited.value.code == EXIT_PAUSED
