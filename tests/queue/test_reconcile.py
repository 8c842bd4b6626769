"""The reconciler's decisions and the leases, against a real Redis and no workers: what it
sends again, what it leaves alone, and locks that lapse when their holder dies."""

from __future__ import annotations

import time

import pytest
from django.utils import timezone

from catalog.models import Supplier
from promidata_sync.models import Job, SyncItem, SyncRun
from promidata_sync.queue import dispatch
from promidata_sync.queue.leases import Lease
from promidata_sync.queue.reconcile import LOST, reconcile
from promidata_sync.services import runs
from promidata_sync.services.work import FamilyWork

pytestmark = pytest.mark.django_db(transaction=True)


def queued_messages(broker, queue: str) -> int:
    return broker.client.llen(f"{broker.namespace}:{queue}")


@pytest.fixture
def planned_run(redis_broker):
    """A queue run, planned, with two families pending and no message anywhere (lost)."""
    supplier = Supplier.objects.create(code="A1")
    run = runs.run_create(supplier=supplier, trigger="command", mode=SyncRun.Mode.QUEUE)
    runs.run_mark_running(run)
    runs.items_plan(
        run.pk,
        kind=SyncItem.Kind.FAMILY,
        items=[
            ("A1-1", "http://127.0.0.1/A1/A1-1.json", "H1"),
            ("A1-2", "http://127.0.0.1/A1/A1-2.json", "H2"),
        ],
    )
    runs.run_set(run.pk, planned_at=timezone.now())
    for sku in ("A1-1", "A1-2"):  # job records whose messages Redis no longer holds
        Job.objects.create(
            job_id=f"job-{sku}",
            queue_name="product-family",
            actor_name="sync_product_family",
            run=run,
            key=sku,
            state=Job.State.ACTIVE,
            broker_ref=f"gone-{sku}",
        )
    return run


def test_lost_work_is_sent_again_once_and_its_records_say_lost(planned_run, redis_broker):
    report = reconcile(stalled_after_seconds=0)

    assert report.runs_resumed == [planned_run.pk] and report.messages_sent == 2
    assert queued_messages(redis_broker, "product-family") == 2
    lost = Job.objects.filter(job_id__startswith="job-")
    assert set(lost.values_list("state", "error")) == {(Job.State.FAILED, LOST)}
    # The new messages are held by the broker now: a second pass sends nothing more.
    assert reconcile(stalled_after_seconds=0).messages_sent == 0
    assert queued_messages(redis_broker, "product-family") == 2


def test_work_whose_message_the_broker_holds_is_left_alone(planned_run, redis_broker):
    Job.objects.all().delete()
    dispatch.enqueue(
        [
            FamilyWork(
                run_id=planned_run.pk,
                supplier_id=planned_run.supplier_id,
                family_sku="A1-1",
                url="http://127.0.0.1/A1/A1-1.json",
                hash="H1",
            )
        ]
    )

    report = reconcile(stalled_after_seconds=0)

    assert report.messages_sent == 1  # only A1-2, whose message never existed
    keys = set(Job.objects.filter(state=Job.State.WAITING).values_list("key", flat=True))
    assert keys == {"A1-1", "A1-2"}


def test_a_run_that_made_progress_lately_is_not_touched(planned_run, redis_broker):
    assert reconcile(stalled_after_seconds=3600).messages_sent == 0
    assert queued_messages(redis_broker, "product-family") == 0


def test_an_unplanned_run_gets_its_supplier_stage_again(redis_broker):
    run = runs.run_create(
        supplier=Supplier.objects.create(code="A2"), trigger="command", mode="queue"
    )

    report = reconcile(stalled_after_seconds=0)

    assert report.messages_sent == 1
    assert queued_messages(redis_broker, "supplier-sync") == 1
    assert Job.objects.get(actor_name="sync_supplier").key == str(run.pk)


@pytest.mark.parametrize("in_redis", [True, False], ids=["redis", "in-process"])
def test_a_lease_is_exclusive_renewed_and_lapses_when_its_holder_dies(redis_broker, in_redis):
    client = redis_broker.client if in_redis else None
    holder = Lease("test", ttl_seconds=1, client=client)
    assert holder.acquire()
    assert not Lease("test", ttl_seconds=1, client=client).acquire()
    time.sleep(1.5)  # longer than the TTL: renewal keeps it
    assert not Lease("test", ttl_seconds=1, client=client).acquire()

    holder._stop.set()  # the holder dies: nobody renews any more
    holder._renewer.join()
    time.sleep(1.2)
    taker = Lease("test", ttl_seconds=1, client=client)
    assert taker.acquire()

    holder.release()  # a late release by the dead holder frees nothing of the new one
    assert not Lease("test", ttl_seconds=1, client=client).acquire()
    taker.release()
    assert Lease("test", ttl_seconds=1, client=client).acquire()
