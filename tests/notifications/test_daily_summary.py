"""``promidata_notify --daily-summary``: one mail a day, whoever runs it how often."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from catalog.models import Supplier
from promidata_sync.models import Notification, SyncItem, SyncRun
from promidata_sync.services import runs
from tests.notifications.conftest import make_rule

pytestmark = pytest.mark.django_db(transaction=True)


def notify(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    try:
        call_command("promidata_notify", *args, stdout=out)
    except CommandError as exc:
        return exc.returncode, out.getvalue() + str(exc)
    return 0, out.getvalue()


def finished_run(code: str, *, failed_images: int = 0) -> SyncRun:
    supplier = Supplier.objects.create(code=code, name=f"Supplier {code}")
    run = runs.run_create(supplier=supplier, trigger="cron", mode=SyncRun.Mode.DIRECT)
    runs.run_mark_running(run)
    for n in range(failed_images):
        runs.item_record(run.pk, kind=SyncItem.Kind.IMAGE, key=f"{code}-img-{n}", error="HTTP 404")
    return runs.run_finish(run)


def test_the_daily_summary_is_sent_once_a_day(smtp):
    make_rule(["daily.summary"], "boss@example.com")
    finished_run("A1")
    partial = finished_run("A2", failed_images=2)

    code, out = notify("--daily-summary")

    assert code == 0, out
    [mail] = smtp.wait_for(1)
    assert mail.recipients == ["boss@example.com"]
    assert mail.subject.startswith("[promidata-sync] Daily summary ")
    assert mail.subject.endswith(": 2 runs, 1 did not complete")
    assert "1 completed, 1 partial" in mail.body
    assert f"A2 sync #{partial.pk}: partial, 0 failed families, 2 failed images" in mail.body
    summary = Notification.objects.get(event="daily.summary")
    assert summary.key.startswith("day:") and summary.state == Notification.State.SENT

    code, out = notify("--daily-summary")  # cron ran it twice, or someone by hand

    assert code == 0 and "already sent today" in out
    assert len(smtp.mails) == 1
    assert Notification.objects.filter(event="daily.summary").count() == 1


def test_without_a_mail_server_the_summary_command_says_it_failed(mail_settings):
    make_rule(["daily.summary"], "boss@example.com")

    code, out = notify("--daily-summary")

    assert code == 1
    assert "failed" in out
    error = Notification.objects.get().error
    assert error.startswith(f"e-mail via 127.0.0.1:{mail_settings.EMAIL_PORT} failed")


def test_with_no_email_url_nothing_is_sent_and_the_message_says_why(mail_settings):
    mail_settings.EMAIL_BACKEND = "django.core.mail.backends.dummy.EmailBackend"
    make_rule(["daily.summary"], "boss@example.com")

    assert notify("--daily-summary")[0] == 1
    assert Notification.objects.get().error.startswith("e-mail is not configured: set EMAIL_URL")
