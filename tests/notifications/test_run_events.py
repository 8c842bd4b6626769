"""Notifications of runs, through the real interfaces: ``promidata_sync --direct`` against a
loopback feed, the reconciler on a real Redis, a real SMTP server and a webhook receiver."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command
from django.utils import timezone

from catalog.models import Supplier
from devtools.feedserver import FAKE_PROFILE_GUID
from promidata_sync.models import Notification, SyncItem, SyncRun, WebhookDelivery
from promidata_sync.operations import start_sync
from promidata_sync.queue.reconcile import reconcile
from promidata_sync.services import runs, webhooks
from promidata_sync.services.feed_index import FeedUnreadable
from tests.feedpaths import family_path, import_path
from tests.notifications.conftest import make_rule, settle
from tests.notifications.smtp_sink import PASSWORD, SmtpSink
from tests.webhooks.conftest import SECRET, make_endpoint

pytestmark = pytest.mark.django_db(transaction=True)

BROKEN = "A100-F00002"


def sync(*codes: str) -> int:
    try:
        call_command("promidata_sync", "--direct", *codes, stdout=io.StringIO())
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def assert_no_secret(text: str, feed_server) -> None:
    assert FAKE_PROFILE_GUID not in text
    assert feed_server.import_url not in text
    assert PASSWORD not in text


def test_an_unreadable_feed_mails_the_rule_once_even_when_synced_and_finished_again(
    feed_server, sync_config, smtp
):
    make_rule(["feed.unreadable"], "ops@example.com,\nlead@example.com")
    Supplier.objects.create(code="A100", name="Supplier A100")
    feed_server.fail(import_path(feed_server), 500)

    assert sync("A100") == 2
    settle()

    [mail] = smtp.wait_for(1)
    assert sorted(mail.recipients) == ["lead@example.com", "ops@example.com"]
    assert mail.sender == "sync@example.com"
    assert mail.subject.startswith("[promidata-sync] The feed could not be read: ")
    assert "HTTP 500" in mail.body
    run = SyncRun.objects.get()
    assert f"Sync #{run.pk} of A100" in mail.body
    assert f"https://sync.example.com/admin/promidata_sync/syncrun/{run.pk}/change/" in mail.body
    assert_no_secret(mail.subject + mail.body, feed_server)

    runs.run_finish(run, failed_reason="cannot read Import.txt: HTTP 500")  # finished again
    assert sync("A100") == 2  # and the same broken feed an instant later
    settle()

    assert len(smtp.mails) == 1
    assert Notification.objects.get().state == Notification.State.SENT


def test_a_run_with_a_broken_family_mails_one_digest_and_other_rules_get_nothing(
    feed_server, sync_config, smtp
):
    make_rule(["run.failed"], "ops@example.com")
    make_rule(["feed.unreadable", "daily.summary"], "other-events@example.com", name="other")
    # A rule for the other supplier only, whose run completes.
    Supplier.objects.create(code="A101", name="Supplier A101")
    make_rule(
        ["run.failed"],
        "a101-team@example.com",
        name="A101",
        suppliers=[Supplier.objects.get(code="A101")],
    )
    feed_server.replace(family_path(feed_server, BROKEN), b'{"Sku": "A100-F00002", "Chi')

    assert sync() == 1
    settle()

    [mail] = smtp.wait_for(1)
    run = SyncRun.objects.get(supplier__code="A100")
    assert mail.recipients == ["ops@example.com"]
    assert mail.subject == f"[promidata-sync] A100: sync #{run.pk} ended with 1 failure"
    assert "Failed items (1):" in mail.body
    assert f"family {BROKEN}: " in mail.body
    assert "Families: " in mail.body and "1 failed" in mail.body
    assert_no_secret(mail.subject + mail.body, feed_server)
    assert SyncRun.objects.get(supplier__code="A101").state == SyncRun.State.COMPLETED

    runs.run_finish(run)  # a second finish (a redelivered job) sends nothing new
    settle()
    assert len(smtp.mails) == 1
    assert list(Notification.objects.values_list("event", "key", "state")) == [
        ("run.failed", f"run:{run.pk}", "sent")
    ]


def test_a_digest_lists_the_first_items_and_counts_the_rest(feed_server, sync_config, smtp):
    make_rule(["run.failed"])
    supplier = Supplier.objects.create(code="A9", name="Supplier A9")
    run = runs.run_create(supplier=supplier, trigger="command", mode=SyncRun.Mode.DIRECT)
    runs.run_mark_running(run)
    for n in range(13):
        runs.item_record(run.pk, kind=SyncItem.Kind.IMAGE, key=f"img-{n:02}", error="HTTP 404")

    runs.run_finish(run)
    settle()

    [mail] = smtp.wait_for(1)
    assert mail.subject == f"[promidata-sync] A9: sync #{run.pk} ended with 13 failures"
    assert "image img-00: HTTP 404" in mail.body and "image img-09: HTTP 404" in mail.body
    assert "img-10" not in mail.body
    assert "… and 3 more" in mail.body


def test_the_webhook_endpoint_subscribed_to_run_failed_gets_one_signed_delivery(
    feed_server, sync_config, smtp, receiver
):
    make_endpoint(receiver.url, events=["run.failed"])
    feed_server.replace(family_path(feed_server, BROKEN), b"not json")

    assert sync() == 1
    run = SyncRun.objects.get(supplier__code="A100")
    runs.run_finish(run)  # finished twice: still one delivery

    [request] = receiver.wait_for(1)
    assert request.headers["x-promidata-event"] == "run.failed"
    assert webhooks.verify_signature(SECRET, request.headers["x-promidata-signature"], request.body)
    body = json.loads(request.body)
    assert body["run"]["id"] == run.pk and body["supplier"]["code"] == "A100"
    assert (
        body["notification"]["subject"]
        == f"[promidata-sync] A100: sync #{run.pk} ended with 1 failure"
    )
    assert BROKEN in body["notification"]["text"]
    assert WebhookDelivery.objects.filter(event="run.failed").count() == 1
    assert not smtp.mails  # no e-mail rule: the notification only went to the endpoint


def test_the_smtp_server_down_fails_the_notification_not_the_run_and_it_is_sent_later(
    feed_server, sync_config, mail_settings
):
    make_rule(["run.failed"])
    feed_server.replace(family_path(feed_server, BROKEN), b"not json")

    assert sync() == 1  # the sync itself went on: one family failed, the rest imported
    settle()

    run = SyncRun.objects.get(supplier__code="A100")
    assert run.state == SyncRun.State.PARTIAL and run.families_done > 0
    notification = Notification.objects.get()
    assert notification.state == Notification.State.FAILED
    assert notification.error.startswith(f"e-mail via 127.0.0.1:{mail_settings.EMAIL_PORT} failed")
    assert "Connection refused" in notification.error or "ConnectionRefused" in notification.error
    assert PASSWORD not in notification.error

    with SmtpSink(mail_settings.EMAIL_PORT) as smtp:  # the mail server is back
        out = io.StringIO()
        call_command("promidata_notify", "--send-failed", stdout=out)
        [mail] = smtp.wait_for(1)

    assert mail.subject.endswith(f"sync #{run.pk} ended with 1 failure")
    assert "Sent 1, failed 0" in out.getvalue()
    notification.refresh_from_db()
    assert (notification.state, notification.error, notification.attempts) == ("sent", "", 2)


def test_the_reconciler_resuming_a_stalled_run_mails_once(redis_broker, smtp):
    make_rule(["run.reconciled"])
    supplier = Supplier.objects.create(code="A1", name="Supplier A1")
    run = runs.run_create(supplier=supplier, trigger="command", mode=SyncRun.Mode.QUEUE)
    runs.run_mark_running(run)
    runs.items_plan(
        run.pk,
        kind=SyncItem.Kind.FAMILY,
        items=[("A1-1", "http://127.0.0.1/A1/A1-1.json", "H1")],
    )
    runs.run_set(run.pk, planned_at=timezone.now())  # planned, and no message anywhere

    assert reconcile(stalled_after_seconds=0).runs_resumed == [run.pk]
    settle()
    reconcile(stalled_after_seconds=0)  # the message is held now: nothing more to do
    settle()

    [mail] = smtp.wait_for(1)
    assert mail.subject == (
        f"[promidata-sync] A1: sync #{run.pk} was stuck: the reconciler enqueued 1 job(s) "
        "again (0 lost)"
    )
    assert "Families: 1 to fetch, 0 done" in mail.body
    assert Notification.objects.get().key == f"run:{run.pk}"


def test_a_failed_send_is_tried_again_by_the_reconcilers_pass(redis_broker, mail_settings):
    make_rule(["run.failed"])
    supplier = Supplier.objects.create(code="A2", name="Supplier A2")
    run = runs.run_create(supplier=supplier, trigger="command", mode=SyncRun.Mode.DIRECT)
    runs.run_finish(run, failed_reason="internal error: KeyError: 'x'")
    settle()
    assert Notification.objects.get().state == Notification.State.FAILED  # nothing listened

    with SmtpSink(mail_settings.EMAIL_PORT) as smtp:
        report = reconcile(stalled_after_seconds=3600)
        [mail] = smtp.wait_for(1)

    assert report.notifications_sent == 1
    assert (
        mail.subject == f"[promidata-sync] A2: sync #{run.pk} failed: internal error: KeyError: 'x'"
    )
    assert Notification.objects.get().state == Notification.State.SENT


def test_a_queue_sync_of_every_supplier_on_an_unreadable_feed_still_mails(
    feed_server, sync_config, smtp
):
    make_rule(["feed.unreadable"])
    feed_server.fail(import_path(feed_server), 503)

    with pytest.raises(FeedUnreadable):  # no supplier known, no run: the caller is told too
        start_sync(None, use_queue=True, trigger="cron")
    settle()

    [mail] = smtp.wait_for(1)
    assert "HTTP 503" in mail.subject
    assert not SyncRun.objects.exists()
    assert Notification.objects.get().key.startswith("feed:")


def test_a_refused_mass_deactivation_mails_once(feed, feed_server, sync_config, smtp):
    make_rule(["deactivation.refused"])
    assert sync() == 0
    lines = feed.import_txt(feed_server.base_url).decode().splitlines()
    kept = [lines[0], *[line for line in lines[1:] if "/A100-" not in line]]
    kept.append(next(line for line in lines[1:] if "/A100-" in line))  # 1 of A100's 6 left
    feed_server.replace(import_path(feed_server), ("\n".join(kept) + "\n").encode())

    sync()
    settle()

    [mail] = smtp.wait_for(1)
    run = SyncRun.objects.filter(supplier__code="A100").latest("pk")
    assert run.deactivation_refused
    assert mail.subject == f"[promidata-sync] A100: sync #{run.pk} refused a mass deactivation"
    assert "none was deactivated" in mail.body
    assert_no_secret(mail.body, feed_server)
