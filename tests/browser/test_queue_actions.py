"""An operator acts on the queues from the admin's Queues page, against real Redis and (for
the pause) real ``promidata_workers`` processes: a queue paused while a sync runs starts no
job until it is resumed, a dead letter is cleared after a confirmation, and a double-clicked
Retry queues the job once."""

from __future__ import annotations

import time

import dramatiq
import pytest
from playwright.sync_api import expect

from promidata_sync.models import Job, QueueAction, SyncRun
from promidata_sync.operations import start_sync
from tests.admin.factories import make_failed_run, make_suppliers
from tests.browser.conftest import make_staff
from tests.queue import conftest as queue_fixtures

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# The queue fixtures, for this module: a real Redis broker and real worker processes.
queue_broker = queue_fixtures.queue_broker
redis_broker = queue_fixtures.redis_broker
worker_env = queue_fixtures.worker_env
start_workers = queue_fixtures.start_workers

FAMILIES = "product-family"


def _queues_page(login, live_server, django_user_model):
    page = login(make_staff(django_user_model, "operator", operate=True))
    page.goto(f"{live_server.url}/admin/promidata_sync/queues/")
    return page


def test_a_paused_queue_starts_no_job_while_workers_run_and_resumes(
    feed_server, sync_config, login, live_server, django_user_model, start_workers, artifacts
):
    start_workers(["supplier-sync", FAMILIES, "image-upload"], PROMIDATA_PAUSE_RECHECK_MS="300")
    page = _queues_page(login, live_server, django_user_model)
    row = page.locator(f"#pd-queue-{FAMILIES}")
    row.locator(".pd-pause").click()
    expect(page.locator(".messagelist")).to_contain_text(f"Queue {FAMILIES} paused.")
    expect(row.locator(".pd-queue-state")).to_contain_text("paused by operator")

    result = start_sync(None, use_queue=True, trigger=SyncRun.Trigger.ADMIN)
    deadline = time.monotonic() + 30
    while Job.objects.filter(queue_name=FAMILIES).count() < 12:  # both suppliers planned
        assert time.monotonic() < deadline, "the supplier jobs did not plan their families"
        time.sleep(0.2)
    time.sleep(2)  # several recheck intervals: held messages went round the workers
    families = Job.objects.filter(queue_name=FAMILIES)
    assert set(families.values_list("state", flat=True)) == {Job.State.WAITING}
    assert not families.filter(processed_at__isnull=False).exists()
    assert not SyncRun.objects.filter(families_done__gt=0).exists()
    page.reload()
    page.screenshot(path=artifacts / "browser-queue-paused.png", full_page=True)

    page.locator(f"#pd-queue-{FAMILIES} .pd-resume").click()
    expect(page.locator(".messagelist")).to_contain_text(f"Queue {FAMILIES} resumed.")
    runs = queue_fixtures.wait_for_runs(result["runs"], timeout=60)
    assert {run.state for run in runs} == {SyncRun.State.COMPLETED}
    assert all(run.families_done == run.families_total == 6 for run in runs)
    assert list(QueueAction.objects.values_list("action", flat=True).order_by("at")) == [
        "pause",
        "resume",
    ]


def test_a_dead_letter_is_cleared_after_a_confirmation(
    redis_broker, login, live_server, django_user_model
):
    message = dramatiq.Message(
        queue_name=FAMILIES,
        actor_name="sync_product_family",
        args=(),
        kwargs={"run_id": 7, "family_sku": "A100-F00001"},
        options={"redis_message_id": "dead-1"},
    )
    redis_broker.client.zadd(f"dramatiq:{FAMILIES}.XQ", {"dead-1": int(time.time() * 1000)})
    redis_broker.client.hset(f"dramatiq:{FAMILIES}.XQ.msgs", "dead-1", message.encode())
    page = _queues_page(login, live_server, django_user_model)
    dead = page.locator(f'.pd-dead-table[data-queue="{FAMILIES}"] .pd-dead-letter')
    expect(dead).to_have_count(1)
    expect(dead).to_contain_text("A100-F00001")

    page.locator(f"#pd-queue-{FAMILIES} .pd-clear-dead").click()
    expect(page.locator("#pd-confirm-question")).to_contain_text("Delete every dead letter")
    assert redis_broker.client.zcard(f"dramatiq:{FAMILIES}.XQ") == 1  # not before "yes"
    page.click("#pd-confirm")

    expect(page.locator(".messagelist")).to_contain_text(f"1 dead letter(s) of {FAMILIES}")
    expect(page.locator(".pd-dead-letter")).to_have_count(0)
    expect(page.locator(f"#pd-queue-{FAMILIES} .pd-dead-count")).to_have_text("0")
    assert redis_broker.client.zcard(f"dramatiq:{FAMILIES}.XQ") == 0
    expect(page.locator("#pd-queue-actions")).to_contain_text("operator cleared dead letters")


def test_a_double_clicked_retry_queues_the_job_once(
    redis_broker, login, live_server, django_user_model
):
    (supplier,) = make_suppliers(1)
    run = make_failed_run(supplier, families=3, failed=1)
    job = Job.objects.get(run=run)
    Job.objects.filter(pk=job.pk).update(args={"run_id": run.pk, "family_sku": job.key})
    page = _queues_page(login, live_server, django_user_model)

    page.locator(f'.pd-failed-job[data-job="{job.job_id}"] .pd-retry-job').dblclick()
    expect(page.locator(".messagelist")).to_be_visible()

    assert redis_broker.client.llen(f"dramatiq:{FAMILIES}") == 1
    run.refresh_from_db()
    assert run.state == SyncRun.State.RUNNING and run.families_failed == 0
    assert QueueAction.objects.filter(action="retry_job").exists()
