"""Signed webhooks end to end: real PostgreSQL, a loopback receiver, direct mode's sender
thread, and Redis with a real worker process for queue mode."""

from __future__ import annotations

import json
import logging
import threading
import time

import dramatiq
import pytest
from django.db import connections
from django.utils import timezone

from catalog.models import Media, PriceTier, Product, Variant, VariantMedia
from devtools.feedgen import FeedSpec
from promidata_sync.models import ImageSource, Job, SyncRun, VariantImage, WebhookDelivery
from promidata_sync.operations import start_sync
from promidata_sync.queue.broker import is_persistent, stop_in_process_worker
from promidata_sync.queue.reconcile import reconcile
from promidata_sync.services import runs, webhook_transport, webhooks
from promidata_sync.services.changes import changes_of_run, changes_record
from promidata_sync.services.direct import sync_direct
from tests.queue.conftest import (  # noqa: F401  (fixtures)
    queue_broker,
    redis_broker,
    start_workers,
    wait_for_runs,
    worker_env,
)
from tests.webhooks.conftest import BOTH, SECRET, make_endpoint, make_run
from tests.webhooks.receiver import PATH, Receiver, verify

pytestmark = pytest.mark.django_db(transaction=True)


def wait_for_state(delivery_ids, state: str, timeout: float = 20.0) -> list[WebhookDelivery]:
    deadline = time.monotonic() + timeout
    while True:
        found = list(WebhookDelivery.objects.filter(pk__in=delivery_ids).order_by("pk"))
        if found and all(d.state == state for d in found):
            return found
        states = [(d.pk, d.state, d.attempts, d.last_error) for d in found]
        assert time.monotonic() < deadline, f"deliveries not {state} in {timeout}s: {states}"
        time.sleep(0.05)


def finished_run(*, mode=SyncRun.Mode.DIRECT, products: int = 0) -> SyncRun:
    """A run that changed ``products`` new products, finished (its webhooks recorded)."""
    run = make_run(mode=mode)
    made = [Product.objects.create(supplier=run.supplier, sku=f"P{i}") for i in range(products)]
    changes_record([p.pk for p in made], "created", run_id=run.pk)
    runs.run_set(run.pk, planned_at=timezone.now(), families_new=products)
    return runs.run_finish(run)


# --- signatures ----------------------------------------------------------------------------
def test_signature_round_trip_and_what_it_refuses():
    body = b'{"event":"ping"}'
    now = int(time.time())
    header = webhooks.sign(SECRET, now, body)

    assert header.startswith(f"t={now},v1=")
    assert webhooks.verify_signature(SECRET, header, body)
    assert verify(SECRET, header, body)  # the receiver's few lines from the docs
    assert not webhooks.verify_signature("another-secret-altogether", header, body)
    assert not verify("another-secret-altogether", header, body)
    assert not webhooks.verify_signature(SECRET, header, body + b" ")  # tampered body
    stale = webhooks.sign(SECRET, now - 301, body)
    assert not webhooks.verify_signature(SECRET, stale, body)
    assert not verify(SECRET, stale, body)
    assert webhooks.verify_signature(SECRET, stale, body, tolerance_seconds=600)
    assert not webhooks.verify_signature(SECRET, "t=abc,v1=00", body)
    assert not webhooks.verify_signature(SECRET, "", body)
    # During a rotation the sender may sign with both secrets: either one verifies.
    rotated = f"{header},v1=" + webhooks.sign("the-next-secret-value", now, body).split("v1=")[1]
    assert webhooks.verify_signature(SECRET, rotated, body)
    assert webhooks.verify_signature("the-next-secret-value", rotated, body)


# --- direct mode ---------------------------------------------------------------------------
def test_a_direct_sync_posts_signed_bodies_that_say_what_the_run_did(
    feed, feed_server, sync_config, receiver
):
    make_endpoint(receiver.url)

    report = sync_direct(config=sync_config)

    assert report.ok, report
    # Two suppliers: each run finished and changed products.
    requests = receiver.wait_for(4)
    deliveries = wait_for_state(WebhookDelivery.objects.values("pk"), "succeeded")
    assert len(deliveries) == 4
    runs_by_id = {run.pk: run for run in report.runs}
    seen = set()
    for request in requests:
        assert request.path == PATH
        signature = request.headers["x-promidata-signature"]
        assert verify(SECRET, signature, request.body)
        assert not verify("not-the-secret-of-this-endpoint", signature, request.body)
        body = json.loads(request.body)
        assert request.body == webhooks.body_bytes(body)  # compact, keys sorted
        assert request.headers["content-type"] == "application/json"
        assert request.headers["user-agent"].endswith("(webhooks)")
        assert request.headers["x-promidata-event"] == body["event"]
        assert request.headers["x-promidata-delivery"] == body["event_id"]
        run = runs_by_id[body["run"]["id"]]
        seen.add((run.pk, body["event"]))
        assert body["run"]["state"] == "completed"
        assert body["run"]["trigger"] == "command" and body["run"]["mode"] == "direct"
        assert body["run"]["finished_at"] == run.finished_at.isoformat()
        assert body["run"]["counts"]["families_new"] == 6
        assert body["run"]["counts"]["families_failed"] == 0
        assert body["run"]["counts"]["images_done"] == run.images_done > 0
        assert body["supplier"] == {"code": run.supplier.code, "name": run.supplier.name}
        changes = changes_of_run(run.pk)
        assert body["changes"] == {
            "first": changes.first,
            "last": changes.last,
            "count": changes.count,
            "url": f"/api/catalog/changes/?since={changes.first - 1}",
        }
        assert changes.count >= 6  # each new product, and again when its images arrived
    assert seen == {(run.pk, event) for run in report.runs for event in BOTH}
    for delivery in deliveries:
        assert delivery.attempts == 1 and delivery.last_status == 200
        assert delivery.delivered_at and delivery.last_duration_ms is not None
        assert delivery.last_error == ""


def test_a_run_that_changed_nothing_sends_run_finished_only(receiver):
    make_endpoint(receiver.url)

    run = finished_run(products=0)

    [request] = receiver.wait_for(1)
    body = json.loads(request.body)
    assert body["event"] == "run.finished" and body["run"]["id"] == run.pk
    assert body["changes"] == {"first": None, "last": None, "count": 0, "url": None}
    time.sleep(0.3)
    assert len(receiver.requests) == 1
    assert list(WebhookDelivery.objects.values_list("event", flat=True)) == ["run.finished"]


def test_a_failed_run_is_reported_and_inactive_or_unsubscribed_endpoints_get_nothing(receiver):
    make_endpoint(receiver.url, events=[webhooks.RUN_FINISHED])
    make_endpoint(receiver.url, name="products only", events=[webhooks.PRODUCTS_CHANGED])
    off = make_endpoint(receiver.url, name="off")
    off.is_active = False
    off.save()
    run = make_run()

    runs.run_finish(run, failed_reason="Import.txt could not be read")

    [request] = receiver.wait_for(1)
    body = json.loads(request.body)
    assert body["event"] == "run.finished" and body["run"]["state"] == "failed"
    assert WebhookDelivery.objects.count() == 1


def test_a_500_is_retried_with_backoff_and_then_succeeds():
    with Receiver(statuses=[500]) as receiver:
        make_endpoint(receiver.url, events=[webhooks.RUN_FINISHED])

        finished_run()

        first, second = receiver.wait_for(2)
        [delivery] = wait_for_state(WebhookDelivery.objects.values("pk"), "succeeded")
    assert delivery.attempts == 2 and delivery.last_status == 200
    assert first.body == second.body  # the same bytes every attempt, freshly signed
    assert first.headers["x-promidata-delivery"] == second.headers["x-promidata-delivery"]
    assert verify(SECRET, second.headers["x-promidata-signature"], second.body)


def test_attempts_run_out_and_the_delivery_fails_with_its_last_error():
    with Receiver(statuses=[503, 503, 503, 200]) as receiver:
        make_endpoint(receiver.url, events=[webhooks.RUN_FINISHED])

        finished_run()

        [delivery] = wait_for_state(WebhookDelivery.objects.values("pk"), "failed")
        assert len(receiver.requests) == 3  # PROMIDATA_WEBHOOK_MAX_ATTEMPTS in these tests
    assert delivery.attempts == 3 and delivery.last_status == 503
    assert delivery.last_error == f"HTTP 503 from http://127.0.0.1:{receiver.port}/"
    assert delivery.next_attempt_at is None


def clear_catalog() -> None:
    for model in (VariantMedia, VariantImage, ImageSource, PriceTier, Variant, Product, Media):
        model.objects.all().delete()
    SyncRun.objects.all().delete()


def test_a_hanging_receiver_does_not_slow_the_sync(feed, feed_server, sync_config, settings):
    settings.PROMIDATA_WEBHOOK_TIMEOUT_SECONDS = 1.0
    settings.PROMIDATA_WEBHOOK_MAX_ATTEMPTS = 2

    started = time.monotonic()
    assert sync_direct(config=sync_config).ok
    without_endpoint = time.monotonic() - started
    clear_catalog()
    feed_server.reset_counts()

    with Receiver(delay=5.0) as hanging:
        make_endpoint(hanging.url)
        started = time.monotonic()
        report = sync_direct(config=sync_config)
        with_hanging_endpoint = time.monotonic() - started
        deliveries = list(WebhookDelivery.objects.all())

        print(
            f"\ndirect sync of {feed_server.count('family')} families: "
            f"{without_endpoint:.2f}s without any endpoint, "
            f"{with_hanging_endpoint:.2f}s with an endpoint that hangs 5s "
            f"(timeout {settings.PROMIDATA_WEBHOOK_TIMEOUT_SECONDS:g}s)"
        )
        assert report.ok, report
        assert all(run.state == SyncRun.State.COMPLETED for run in report.runs)
        assert len(deliveries) == 4
        assert not any(d.state == WebhookDelivery.State.SUCCEEDED for d in deliveries)
        given_up = wait_for_state([d.pk for d in deliveries], "failed", timeout=30)
        print(
            f"the sender gave up on them {time.monotonic() - started:.2f}s after the sync "
            f"started: {given_up[0].last_error}"
        )
    assert all(d.attempts == 2 for d in given_up)
    assert given_up[0].last_error == "no answer within 1s (PROMIDATA_WEBHOOK_TIMEOUT_SECONDS)"


def test_a_broken_webhook_table_never_fails_the_run(monkeypatch, receiver):
    make_endpoint(receiver.url)

    def broken(run):
        raise RuntimeError("the webhook tables are gone")

    monkeypatch.setattr(webhooks, "_record_run_events", broken)
    run = runs.run_finish(make_run())

    run.refresh_from_db()
    assert run.state == SyncRun.State.COMPLETED and run.finished_at
    assert not WebhookDelivery.objects.exists()


# --- refused destinations ------------------------------------------------------------------
def delivery_to(url: str) -> WebhookDelivery:
    endpoint = make_endpoint(url, events=[])
    return WebhookDelivery.objects.create(
        endpoint=endpoint, event="ping", payload={"event": "ping"}, next_attempt_at=timezone.now()
    )


@pytest.mark.parametrize(
    "make_url",
    [
        lambda r: r.url,  # plain http to loopback
        lambda r: f"https://127.0.0.1:{r.port}{PATH}",
        lambda r: f"https://localhost:{r.port}{PATH}",  # a name that resolves to loopback
        lambda r: f"https://[::1]:{r.port}{PATH}",
        lambda r: "http://169.254.169.254/latest/meta-data/",  # cloud metadata
        lambda r: "https://10.0.0.1/hook",
    ],
    ids=["http-loopback", "https-loopback", "localhost", "ipv6-loopback", "metadata", "private"],
)
def test_private_and_loopback_destinations_are_refused_unless_allowed(settings, receiver, make_url):
    # The feed may reach loopback (the root conftest allows it): webhooks still may not.
    assert "127.0.0.0/8" in settings.PROMIDATA_ALLOWED_NETWORKS
    settings.PROMIDATA_WEBHOOK_ALLOWED_NETWORKS = []
    delivery = delivery_to(make_url(receiver))

    outcome = webhooks.deliver(delivery.pk)

    delivery.refresh_from_db()
    assert outcome.state == "failed" and delivery.state == WebhookDelivery.State.FAILED
    assert delivery.attempts == 1 and delivery.next_attempt_at is None
    assert delivery.last_error.startswith("refused: ")
    assert "not a public address" in delivery.last_error
    assert "PROMIDATA_WEBHOOK_ALLOWED_NETWORKS" in delivery.last_error
    assert receiver.requests == []


def test_plain_http_only_reaches_allowed_networks(monkeypatch, receiver):
    # A public name over plain http: refused when resolved, before anything is connected.
    monkeypatch.setattr(webhook_transport, "RESOLVE", lambda host, port: ["93.184.216.34"])
    public = delivery_to("http://hooks.example.test/in")
    private = delivery_to("https://hooks.example.test/in")

    assert webhooks.deliver(public.pk).state == "failed"
    public.refresh_from_db()
    assert "plain http to hooks.example.test" in public.last_error
    assert "use https" in public.last_error

    # A name resolving to a private address over https: refused the same way.
    monkeypatch.setattr(webhook_transport, "RESOLVE", lambda host, port: ["10.1.2.3"])
    assert webhooks.deliver(private.pk).state == "failed"
    private.refresh_from_db()
    assert "resolves to 10.1.2.3, which is not a public address" in private.last_error
    assert receiver.requests == []


# --- idempotency ---------------------------------------------------------------------------
def test_finishing_a_run_twice_records_one_delivery_per_endpoint_and_event(monkeypatch, receiver):
    dispatched = []
    monkeypatch.setattr(webhooks, "_dispatch", lambda ids, queued: dispatched.append(ids))
    make_endpoint(receiver.url, name="one")
    make_endpoint(receiver.url, name="two")
    run = finished_run(products=2)

    runs.run_finish(run)  # finished already: nothing happens
    assert webhooks.webhooks_for_finished_run(run) == []  # called again: nothing new
    SyncRun.objects.filter(pk=run.pk).update(finished_at=None, state=SyncRun.State.RUNNING)
    runs.run_finish(run)  # reopened (a retry) and finished again: nothing new either

    rows = WebhookDelivery.objects.values_list("endpoint__name", "event")
    assert sorted(rows) == sorted((e, ev) for e in ("one", "two") for ev in BOTH)
    assert len(dispatched) == 1 and len(dispatched[0]) == 4


def test_deliver_twice_sends_once_even_at_the_same_moment(monkeypatch):
    monkeypatch.setattr(webhooks, "_dispatch", lambda ids, queued: None)
    with Receiver(delay=0.5) as receiver:
        make_endpoint(receiver.url, events=[webhooks.RUN_FINISHED])
        finished_run()
        delivery = WebhookDelivery.objects.get()
        outcomes = []

        def attempt():
            try:
                outcomes.append(webhooks.deliver(delivery.pk))
            finally:
                connections.close_all()

        threads = [threading.Thread(target=attempt) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        again = webhooks.deliver(delivery.pk)

        assert sorted(o.state for o in outcomes) == ["skipped", "succeeded"]
        assert again.state == "skipped" and again.error == "already delivered"
        assert len(receiver.requests) == 1
    delivery.refresh_from_db()
    assert delivery.attempts == 1 and delivery.state == WebhookDelivery.State.SUCCEEDED


# --- queue mode and the safety net ---------------------------------------------------------
def test_queue_mode_delivers_through_a_real_worker_and_retries_on_its_schedule(
    redis_broker,  # noqa: F811
    start_workers,  # noqa: F811
):
    with Receiver(statuses=[500]) as receiver:
        make_endpoint(receiver.url, events=[webhooks.RUN_FINISHED])
        start_workers(
            queues=["webhooks"],
            PROMIDATA_WEBHOOK_ALLOWED_NETWORKS="127.0.0.0/8",
            PROMIDATA_WEBHOOK_TIMEOUT_SECONDS="2",
            PROMIDATA_WEBHOOK_BACKOFF_SECONDS="0.2",
            PROMIDATA_WEBHOOK_BACKOFF_MAX_SECONDS="0.5",
        )

        run = finished_run(mode=SyncRun.Mode.QUEUE)

        [delivery] = wait_for_state(WebhookDelivery.objects.values("pk"), "succeeded", 30)
        assert len(receiver.requests) == 2
    assert delivery.run_id == run.pk and delivery.attempts == 2
    # One job record follows the delivery through both attempts (a Dramatiq retry).
    job = Job.objects.get(actor_name="deliver_webhook")
    assert job.queue_name == "webhooks" and job.key == str(delivery.pk)
    assert job.state == Job.State.COMPLETED and job.attempts_made == 2


@pytest.fixture
def in_process_worker():
    yield
    stop_in_process_worker()
    dramatiq.get_broker().flush_all()


@pytest.mark.parametrize("feed_spec", [FeedSpec(suppliers=1, families_per_supplier=2)])
def test_queue_mode_without_redis_delivers_from_this_process(
    feed, feed_server, sync_config, receiver, in_process_worker
):
    make_endpoint(receiver.url)

    result = start_sync(None, use_queue=True)  # the in-memory broker and in-process worker

    assert not is_persistent()
    (run,) = wait_for_runs(result["runs"])
    assert run.mode == SyncRun.Mode.QUEUE and run.state == SyncRun.State.COMPLETED
    requests = receiver.wait_for(2)
    assert {json.loads(r.body)["event"] for r in requests} == set(BOTH)
    wait_for_state(WebhookDelivery.objects.values("pk"), "succeeded")


def test_the_reconciler_enqueues_overdue_deliveries_again_with_redis(redis_broker, receiver):  # noqa: F811
    make_endpoint(receiver.url, events=[webhooks.RUN_FINISHED])
    finished_run(mode=SyncRun.Mode.QUEUE)  # its message goes to Redis; no worker runs
    queue = f"{redis_broker.namespace}:webhooks"
    assert redis_broker.client.llen(queue) == 1
    assert reconcile(stalled_after_seconds=0).webhooks_resumed == 0  # Redis holds it
    redis_broker.client.flushdb()  # Redis lost everything

    report = reconcile(stalled_after_seconds=0)

    assert report.webhooks_resumed == 1
    assert redis_broker.client.llen(queue) == 1
    assert "1 overdue webhook delivery(ies) sent again" in str(report)
    assert reconcile(stalled_after_seconds=0).webhooks_resumed == 0  # sent once, not twice


def test_without_redis_the_reconciler_sends_overdue_deliveries_itself(monkeypatch, receiver):
    monkeypatch.setattr(webhooks, "_dispatch", lambda ids, queued: None)  # a process that died
    make_endpoint(receiver.url, events=[webhooks.RUN_FINISHED])
    finished_run()

    report = reconcile(stalled_after_seconds=0)

    assert report.webhooks_resumed == 1
    assert len(receiver.wait_for(1)) == 1
    assert WebhookDelivery.objects.get().state == WebhookDelivery.State.SUCCEEDED


# --- secrets -------------------------------------------------------------------------------
def test_the_secret_and_the_url_path_never_reach_a_log_or_a_record(caplog, settings):
    settings.PROMIDATA_WEBHOOK_TIMEOUT_SECONDS = 0.5
    settings.PROMIDATA_WEBHOOK_MAX_ATTEMPTS = 1
    ours = logging.getLogger("promidata_sync")  # does not propagate to caplog's root handler
    ours.addHandler(caplog.handler)
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="promidata_sync")
    closed = Receiver()  # bound, never served, then closed: connections are refused
    closed_url = closed.url
    closed.server.server_close()
    try:
        with (
            Receiver() as fine,
            Receiver(statuses=[500, 500]) as failing,
            Receiver(delay=2) as hanging,
        ):
            for name, url in [
                ("fine", fine.url),
                ("failing", failing.url),
                ("hanging", hanging.url),
                ("closed", closed_url),
                ("refused", f"https://169.254.169.254{PATH}"),
            ]:
                make_endpoint(url, name=name)
            finished_run(products=1)
            deadline = time.monotonic() + 20
            while WebhookDelivery.objects.filter(state="pending").exists():
                assert time.monotonic() < deadline, "deliveries still pending"
                time.sleep(0.05)
    finally:
        ours.removeHandler(caplog.handler)
    deliveries = list(WebhookDelivery.objects.select_related("endpoint"))
    states = {(d.endpoint.name, d.event): d.state for d in deliveries}
    assert {name for (name, _), state in states.items() if state == "succeeded"} == {"fine"}
    errors = "\n".join(d.last_error for d in deliveries)
    assert "HTTP 500" in errors and "no answer within" in errors
    assert "Connection refused" in errors and "not a public address" in errors
    logged = caplog.text
    assert "delivered" in logged and "failed for good" in logged  # the log saw them all
    for text in [logged, errors, *(json.dumps(d.payload) for d in deliveries)]:
        assert SECRET not in text
    ours_logged = "\n".join(r.getMessage() for r in caplog.records if "promidata" in r.name)
    assert PATH not in errors and PATH not in ours_logged
