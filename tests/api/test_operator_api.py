"""The operator endpoints (api/sync, runs, jobs, queues): authentication, CSRF, errors as JSON
4xx, and the successful answers."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from promidata_sync.models import Job, SyncRun
from tests.admin.brokers import closed_port_url, redis_broker_at
from tests.admin.factories import make_run, make_suppliers

pytestmark = pytest.mark.django_db

TOKEN = "s3cret-token-for-tests"
JOB_ID = "4c7f8a3e-0d1b-4a52-9d0e-6f7a8b9c0d1e"


@pytest.fixture
def token(settings):
    settings.PROMIDATA_API_TOKEN = TOKEN
    return TOKEN


@pytest.fixture
def api(client, token):
    """A client that sends the bearer token (and no session)."""
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return client


def post_json(client, url, body, **extra):
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return client.post(url, data, content_type="application/json", **extra)


def assert_json_error(response, status: int, text: str = "") -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == {"error"} and text in body["error"]
    return body


# --- authentication --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("method", "url"),
    [("get", "/api/queues"), ("get", "/api/runs/1"), ("post", "/api/sync")],
)
def test_no_credentials_is_401(client, method, url):
    response = getattr(client, method)(url)
    assert_json_error(response, 401, "authentication required")
    assert response["WWW-Authenticate"] == "Bearer"


def test_a_wrong_token_is_401(client, token):
    response = client.get("/api/queues", HTTP_AUTHORIZATION="Bearer wrong")
    assert_json_error(response, 401, "invalid or revoked API key")


def test_a_malformed_authorization_header_is_401(client, token):
    assert_json_error(
        client.get("/api/queues", HTTP_AUTHORIZATION=f"Basic {TOKEN}"), 401, "Bearer <API key>"
    )


def test_the_shared_token_is_refused_while_it_is_unset(client, settings):
    settings.PROMIDATA_API_TOKEN = ""
    response = client.get("/api/queues", HTTP_AUTHORIZATION="Bearer ")
    assert_json_error(response, 401)
    response = client.get("/api/queues", HTTP_AUTHORIZATION="Bearer anything")
    assert_json_error(response, 401, "invalid or revoked API key")


def test_a_session_without_the_permission_is_403(viewer_client):
    assert_json_error(viewer_client.get("/api/queues"), 403, "operate_sync")


def test_a_session_with_the_permission_gets_in(operator_client):
    assert operator_client.get("/api/queues").status_code == 200


def test_session_posts_need_the_csrf_token(operator):
    client = Client(enforce_csrf_checks=True)
    client.force_login(operator)
    (supplier,) = make_suppliers(1)

    response = post_json(client, "/api/sync", {"supplier": supplier.code})

    assert_json_error(response, 403, "CSRF")
    assert not SyncRun.objects.exists()


def test_token_posts_need_no_csrf_token(token, no_in_process_worker):
    client = Client(enforce_csrf_checks=True, HTTP_AUTHORIZATION=f"Bearer {token}")
    (supplier,) = make_suppliers(1)
    assert post_json(client, "/api/sync", {"supplier": supplier.code}).status_code == 202


# --- POST api/sync ---------------------------------------------------------------------------
def test_start_a_sync_of_one_supplier(api, no_in_process_worker):
    (supplier,) = make_suppliers(1)

    response = post_json(api, "/api/sync", {"supplier": supplier.code})

    assert response.status_code == 202
    body = response.json()
    run = SyncRun.objects.get()
    assert body["success"] is True and body["mode"] == "queue"
    assert body["runs"] == [run.pk]
    (job,) = body["jobs"]
    assert job["status"] == "queued" and job["queue_name"] == "supplier-sync"
    assert (run.trigger, run.state) == ("api", "queued")


def test_start_all_suppliers(api, feed_server, sync_config, no_in_process_worker):
    response = post_json(api, "/api/sync", {})
    assert response.status_code == 202
    assert [j["supplier"] for j in response.json()["jobs"]] == ["A100", "A101"]


def test_a_running_supplier_is_not_started_twice(api, no_in_process_worker):
    (supplier,) = make_suppliers(1)
    running = make_run(supplier, state=SyncRun.State.RUNNING)

    body = post_json(api, "/api/sync", {"supplier": supplier.code}).json()

    assert body["jobs"][0]["status"] == "already_running"
    assert body["runs"] == [running.pk] and SyncRun.objects.count() == 1


def test_an_unknown_supplier_is_404(api, feed_server, sync_config):
    assert_json_error(post_json(api, "/api/sync", {"supplier": "A999"}), 404, "A999")


@pytest.mark.parametrize(
    ("body", "text"),
    [
        ("{not json", "JSON object"),
        ("", "JSON object"),
        ("[]", "JSON object"),
        (b"\xff\xfe", "JSON object"),
        ({"suplier": "A23"}, "unknown field(s) suplier"),
        ({"supplier": 23}, "supplier must be"),
        ({"supplier": " "}, "supplier must be"),
        ({"supplier": "A23", "force": "yes"}, "force must be"),
        ("[" * 100_000, "JSON object"),  # nested too deeply for the decoder
        ('{"supplier": ' + "9" * 5000 + "}", "JSON object"),  # over Python's 4,300 digits
        ({"supplier": "A2\u00003"}, "supplier must be"),  # a NUL PostgreSQL would refuse
        ({"supplier": "A" * 5000}, "supplier must be"),
        ("{" + '"x": 1,' * 400_000 + '"y": 2}', "too large"),  # over 2.5 MB
    ],
    ids=lambda value: repr(value)[:40],
)
def test_bad_bodies_are_400(api, body, text):
    assert_json_error(post_json(api, "/api/sync", body), 400, text)
    assert not SyncRun.objects.exists()


def test_an_unreachable_broker_is_503(api, settings):
    (supplier,) = make_suppliers(1)
    with redis_broker_at(settings, closed_port_url()):
        response = post_json(api, "/api/sync", {"supplier": supplier.code})
    assert_json_error(response, 503, "unreachable")


def test_get_is_405_on_sync(api):
    response = api.get("/api/sync")
    assert_json_error(response, 405)
    assert response["Allow"] == "POST"


# --- GET api/runs/<id>, api/jobs/<queue>/<id>, api/queues -------------------------------------
def test_run_status(api):
    run = make_run(make_suppliers(1)[0], families_total=3, families_done=3)
    body = api.get(f"/api/runs/{run.pk}").json()
    assert body["run_id"] == run.pk and body["supplier"] == "A100"
    assert body["state"] == "completed" and body["families"] == {"total": 3, "done": 3, "failed": 0}


@pytest.mark.parametrize(
    ("run_id", "status"), [("abc", 400), ("-1", 400), ("1.5", 400), ("999999", 404)]
)
def test_bad_run_ids(api, run_id, status):
    assert_json_error(api.get(f"/api/runs/{run_id}"), status)


def test_job_status(api):
    run = make_run(make_suppliers(1)[0])
    Job.objects.create(
        job_id=JOB_ID,
        queue_name="supplier-sync",
        actor_name="sync_supplier",
        run=run,
        state=Job.State.COMPLETED,
        progress={"step": "complete", "percentage": 100},
        attempts_made=1,
    )
    body = api.get(f"/api/jobs/supplier-sync/{JOB_ID}").json()
    assert body["job_id"] == JOB_ID and body["state"] == "completed"
    assert body["progress"] == {"step": "complete", "percentage": 100}
    assert body["run_id"] == run.pk and body["attempts_made"] == 1


@pytest.mark.parametrize(
    ("url", "status", "text"),
    [
        (f"/api/jobs/no-such-queue/{JOB_ID}", 404, "unknown queue"),
        ("/api/jobs/supplier-sync/not-a-uuid", 400, "malformed job id"),
        (f"/api/jobs/image-upload/{JOB_ID}", 404, "no job"),
        ("/api/queues/no-such-queue", 404, "unknown queue"),
        ("/api/nothing/here", 404, "no API endpoint"),
    ],
)
def test_bad_job_and_queue_lookups(api, url, status, text):
    assert_json_error(api.get(url), status, text)


def test_a_job_about_a_feed_url_shows_it_masked(api):
    url = "http://127.0.0.1:1/Profiles/Live/00000000-feed-4000-8000-5e1f5e1f5e1f/logo.png"
    Job.objects.create(job_id=JOB_ID, queue_name="image-upload", actor_name="upload_image", key=url)

    body = api.get(f"/api/jobs/image-upload/{JOB_ID}").json()

    assert "5e1f5e1f5e1f" not in json.dumps(body)
    assert body["key"].endswith("/logo.png")


def test_queue_statistics(api):
    Job.objects.create(
        job_id="x", queue_name="image-upload", actor_name="upload_image", state=Job.State.COMPLETED
    )
    everything = api.get("/api/queues").json()
    one = api.get("/api/queues/image-upload/").json()

    assert set(everything["queues"]) == {
        "supplier-sync",
        "product-family",
        "image-upload",
        "webhooks",
        "stock-sync",
    }
    assert everything["total"]["completed"] == 1
    assert one["queue_name"] == "image-upload" and one["completed"] == 1
    assert set(one) >= {"waiting", "active", "delayed", "completed", "failed", "dead", "total"}


def test_queue_statistics_with_redis_down_is_503(api, settings):
    with redis_broker_at(settings, closed_port_url()):
        assert_json_error(api.get("/api/queues"), 503, "unreachable")


def test_an_unexpected_error_is_a_json_500(api, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr("promidata_sync.operations.get_queue_stats", broken)
    assert_json_error(api.get("/api/queues"), 500, "internal error")
