"""The job records in the admin: a page per job, the list per queue, state, actor and run,
and the links to them from the run page and the queue dashboard."""

from __future__ import annotations

import re
from html import unescape

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from promidata_sync.models import Job, SyncRun
from tests.admin.factories import make_run, make_suppliers

pytestmark = pytest.mark.django_db

JOB_LIST = "admin:promidata_sync_job_changelist"
GUID = "6f1c2a8e-93b4-4d2f-a1e7-0c5d9b3e7a41"
FEED_URL = f"https://promi-dl.de/Profiles/Live/{GUID}/A100/A100-F00007.json"
TRACEBACK = (
    "Traceback (most recent call last):\n"
    '  File "promidata_sync/queue/runner.py", line 42, in run_job\n'
    "    raise StepFailed(outcome.error)\n"
    "promidata_sync.errors.StepFailed: broken JSON <script>alert(1)</script>\n"
)


def make_job(run: SyncRun | None, n: int, **fields) -> Job:
    fields.setdefault("queue_name", "product-family")
    fields.setdefault("actor_name", "sync_product_family")
    fields.setdefault("state", Job.State.COMPLETED)
    return Job.objects.create(
        job_id=f"00000000-0000-4000-8000-{n:012d}",
        run=run,
        key=fields.pop("key", f"A100-F{n:05d}"),
        **fields,
    )


def job_page(job: Job) -> str:
    return reverse("admin:promidata_sync_job_change", args=[job.pk])


def listed(client, params: dict | None = None) -> list[str]:
    """The job ids the job list shows for ``params``."""
    response = client.get(reverse(JOB_LIST), params or {})
    assert response.status_code == 200
    return [job.job_id for job in response.context["cl"].result_list]


def hrefs(html: str, pattern: str) -> list[str]:
    found = [unescape(h) for h in re.findall(r'href="([^"]*)"', html)]
    return [h for h in found if re.search(pattern, h)]


def test_a_failed_jobs_page_shows_its_traceback_escaped_and_its_arguments_masked(
    viewer_client,
):
    (supplier,) = make_suppliers(1)
    run = make_run(supplier, state=SyncRun.State.PARTIAL)
    job = make_job(
        run,
        7,
        state=Job.State.FAILED,
        args={"run_id": run.pk, "family_sku": "A100-F00007", "url": FEED_URL, "hash": "h7"},
        result={"note": f"fetched {FEED_URL}"},
        error="broken JSON at line 3",
        traceback=TRACEBACK,
        attempts_made=3,
        worker="worker-1:4242",
        progress={"step": "parse", "percentage": 40},
        processed_at=timezone.now(),
        finished_at=timezone.now(),
    )

    response = viewer_client.get(job_page(job))
    html = response.content.decode()

    assert response.status_code == 200
    assert 'class="pd-pre pd-traceback"' in html
    assert "raise StepFailed(outcome.error)" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>alert(1)" not in html
    assert "broken JSON at line 3" in html
    assert "sync_product_family" in html and "worker-1:4242" in html and "parse 40%" in html
    assert f"#{run.pk} {supplier.code}</a>" in html
    assert reverse("admin:promidata_sync_syncrun_change", args=[run.pk]) in html
    # The feed URL's folder is the profile GUID, the feed's only secret.
    assert GUID not in html and "A100-F00007.json" in html
    # Records only: nothing to save or delete.
    assert 'name="_save"' not in html and "deletelink" not in html


def test_the_job_list_filters_by_queue_state_actor_and_run(viewer_client):
    a, b = make_suppliers(2)
    run_a, run_b = make_run(a), make_run(b)
    make_job(run_a, 1, state=Job.State.FAILED)
    make_job(run_a, 2)
    make_job(run_b, 3, queue_name="image-upload", actor_name="upload_image", key="https://x/y.jpg")
    make_job(None, 4, queue_name="webhooks", actor_name="deliver_webhook", state=Job.State.FAILED)

    assert len(listed(viewer_client)) == 4
    assert listed(viewer_client, {"queue_name__exact": "product-family"}) == [
        "00000000-0000-4000-8000-000000000002",
        "00000000-0000-4000-8000-000000000001",
    ]
    assert listed(viewer_client, {"state__exact": "failed", "queue_name__exact": "webhooks"}) == [
        "00000000-0000-4000-8000-000000000004"
    ]
    assert listed(viewer_client, {"actor_name__exact": "upload_image"}) == [
        "00000000-0000-4000-8000-000000000003"
    ]
    assert len(listed(viewer_client, {"run": run_a.pk})) == 2
    # A run number that is no number matches nothing (not an error page).
    assert listed(viewer_client, {"run": "x"}) == []
    html = viewer_client.get(reverse(JOB_LIST), {"run": run_b.pk}).content.decode()
    assert f"#{run_b.pk} {b.code}" in html  # the chosen run is named in the filter


def test_the_job_list_searches_job_id_family_sku_and_error_text(viewer_client):
    (supplier,) = make_suppliers(1)
    run = make_run(supplier)
    make_job(run, 11, key="A100-F00011")
    make_job(run, 12, key="A100-F00012", state=Job.State.FAILED, error="HTTP 404 from the feed")

    assert listed(viewer_client, {"q": "00000000-0000-4000-8000-000000000011"}) == [
        "00000000-0000-4000-8000-000000000011"
    ]
    assert listed(viewer_client, {"q": "A100-F00012"}) == ["00000000-0000-4000-8000-000000000012"]
    assert listed(viewer_client, {"q": "404 from"}) == ["00000000-0000-4000-8000-000000000012"]
    assert listed(viewer_client, {"q": "nothing like this"}) == []


def test_the_job_list_pages_with_a_constant_number_of_queries(viewer_client):
    suppliers = make_suppliers(3)
    runs = [make_run(s) for s in suppliers]
    Job.objects.bulk_create(
        [
            Job(
                job_id=f"job-{i:04d}",
                queue_name="image-upload",
                actor_name="upload_image",
                run=runs[i % 3],
                key=f"https://images.example.com/{GUID}/Images/{i}.jpg",
                traceback="x" * 5000,
            )
            for i in range(130)
        ]
    )
    url = reverse(JOB_LIST)

    with CaptureQueriesContext(connection) as first:
        page_1 = viewer_client.get(url)
    with CaptureQueriesContext(connection) as second:
        page_2 = viewer_client.get(url, {"p": 2})

    assert len(page_1.context["cl"].result_list) == 100
    assert [j.job_id for j in page_2.context["cl"].result_list][-1] == "job-0000"
    assert len(second) == len(first) < 15  # not one query per row
    # The list never loads the tracebacks (kilobytes per row).
    assert not any("traceback" in q["sql"] for q in first.captured_queries)
    assert GUID not in page_1.content.decode()


def test_the_run_page_links_every_job_and_each_count_to_the_job_list(viewer_client):
    (supplier,) = make_suppliers(1)
    run = make_run(supplier, state=SyncRun.State.PARTIAL)
    for n in range(60):
        make_job(run, n, state=Job.State.FAILED if n < 3 else Job.State.COMPLETED)

    html = viewer_client.get(
        reverse("admin:promidata_sync_syncrun_change", args=[run.pk])
    ).content.decode()

    assert "Showing 50 of 60 jobs" in html
    job_links = hrefs(html, r"/admin/promidata_sync/job/\d+/change/")
    assert len(job_links) == 50
    assert viewer_client.get(job_links[0]).status_code == 200
    (all_jobs,) = hrefs(html, r"job/\?run=\d+$")
    response = viewer_client.get(all_jobs)
    assert response.context["cl"].result_count == 60
    (failed,) = hrefs(html, r"job/\?.*queue_name__exact=product-family.*state__exact=failed")
    assert viewer_client.get(failed).context["cl"].result_count == 3


def test_dashboard_counts_and_failed_jobs_link_to_the_job_list(viewer_client):
    (supplier,) = make_suppliers(1)
    run = make_run(supplier, state=SyncRun.State.PARTIAL)
    failed = make_job(
        run, 1, queue_name="image-upload", actor_name="upload_image", state=Job.State.FAILED
    )
    make_job(run, 2, queue_name="image-upload", actor_name="upload_image")
    make_job(run, 3, state=Job.State.FAILED)

    html = viewer_client.get(reverse("promidata_sync_dashboard")).content.decode()

    (image_failed,) = hrefs(html, r"queue_name__exact=image-upload&state__exact=failed$")
    assert [j.job_id for j in viewer_client.get(image_failed).context["cl"].result_list] == [
        failed.job_id
    ]
    (all_failed, *_) = hrefs(html, r"job/\?state__exact=failed$")  # total row, list link
    assert viewer_client.get(all_failed).context["cl"].result_count == 2
    # The latest failed jobs, each a link to its page.
    assert job_page(failed) in html and 'id="pd-failed-jobs"' in html
    # The page redraws itself.
    assert 'id="pd-page-refresh"' in html and "page_refresh.js" in html


def test_django_dramatiqs_always_empty_tasks_entry_is_gone(admin_client):
    html = admin_client.get(reverse("admin:index")).content.decode()
    assert "Tasks" not in html and "django_dramatiq" not in html
    assert reverse("admin:promidata_sync_job_changelist") in html


def test_a_user_without_the_view_permission_cannot_open_jobs(client, django_user_model):
    user = django_user_model.objects.create_user("nobody", is_staff=True)
    client.force_login(user)
    job = make_job(None, 1)
    assert client.get(job_page(job)).status_code == 403
    assert client.get(reverse(JOB_LIST)).status_code == 403
