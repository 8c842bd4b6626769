"""The scriptable CLI: ``promidata_sync --json``, failures on stderr, one state vocabulary,
case-insensitive supplier codes with "did you mean", ``-v 2`` malformed lines, the no-worker
notice of ``--wait``, and ``promidata_status``'s flat JSON, ``--run`` and exit codes."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command
from django.utils import timezone

from catalog.models import Supplier
from promidata_sync.models import SyncItem, SyncRun, WorkerHeartbeat
from promidata_sync.operations import UnknownSupplier, start_sync
from promidata_sync.queue.broker import stop_in_process_worker
from tests.admin.brokers import TEST_REDIS_URL, closed_port_url, redis_broker_at
from tests.feedpaths import family_path, import_path

pytestmark = pytest.mark.django_db

GUID = "00000000-feed-4000-8000-5e1f5e1f5e1f"  # the loopback feed's profile GUID


def run(command: str, *args) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command(command, *args, stdout=out, stderr=err)
    except SystemExit as exc:
        return exc.code, out.getvalue(), err.getvalue()
    return 0, out.getvalue(), err.getvalue()


@pytest.fixture
def in_process_worker():
    yield
    stop_in_process_worker()


# --- promidata_sync --json -------------------------------------------------------------------
def test_direct_json_is_one_document_with_runs_states_counters_and_failures(
    feed_server, sync_config
):
    feed_server.fail(family_path(feed_server, "A100-F00001"), 404)

    code, out, err = run("promidata_sync", "--direct", "--json")

    assert code == 1  # as without --json: a family failed
    document = json.loads(out)  # stdout holds the document and nothing else
    assert document["ok"] is False and document["exit_code"] == 1
    assert document["mode"] == "direct" and document["timed_out"] is False
    assert document["index"]["error"] == "" and document["index"]["malformed_lines"] == 0
    by_code = {r["supplier"]: r for r in document["runs"]}
    assert set(by_code) == {"A100", "A101"}
    a100, a101 = by_code["A100"], by_code["A101"]
    assert (a100["state"], a100["state_label"]) == ("partial", "Completed with failures")
    assert (a101["state"], a101["state_label"]) == ("completed", "Completed")
    assert a100["kind"] == "catalog" and a100["trigger"] == "command"
    assert a100["counters"]["families_failed"] == 1 and a100["counters"]["families_total"] == 6
    assert a100["duration_seconds"] > 0 and a100["finished"] is True
    assert a100["failures"] == [
        {"kind": "family", "key": "A100-F00001", "error": a100["failures"][0]["error"]}
    ]
    assert "HTTP 404" in a100["failures"][0]["error"] and a100["failures_total"] == 1
    assert "A100 family A100-F00001: HTTP 404" in err  # failures on stderr as well
    assert GUID not in out + err


def test_json_error_before_any_run_is_a_document_with_the_same_exit_code(settings):
    code, out, err = run("promidata_sync", "--all", "A100", "--json")

    assert code == 1
    assert json.loads(out) == {
        "ok": False,
        "exit_code": 1,
        "mode": "queue",
        "runs": [],
        "errors": ["give supplier codes or --all, not both"],
        "timed_out": False,
        "index": None,
    }
    assert err.strip() == "give supplier codes or --all, not both"


def test_json_of_an_unreadable_feed_exits_2_with_the_reason(feed_server, sync_config):
    feed_server.fail(import_path(feed_server), 404)

    code, out, err = run("promidata_sync", "--direct", "--json")

    assert code == 2
    document = json.loads(out)
    assert "HTTP 404" in document["index"]["error"]
    assert document["errors"] == [f"Feed unreadable: {document['index']['error']}"]
    assert err.startswith("Feed unreadable:") and GUID not in out + err


@pytest.mark.django_db(transaction=True)
def test_queue_json_follows_the_in_process_jobs_to_the_end(
    feed_server, sync_config, in_process_worker
):
    code, out, _err = run("promidata_sync", "A101", "--json", "--timeout", "60")

    assert code == 0
    document = json.loads(out)
    assert document["mode"] == "queue" and document["ok"] is True
    (only,) = document["runs"]
    assert (only["supplier"], only["mode"], only["state"]) == ("A101", "queue", "completed")
    assert only["counters"]["families_done"] == 6 and only["failures"] == []


# --- stderr, labels, codes -------------------------------------------------------------------
def test_text_output_says_states_as_the_admin_does_and_failures_go_to_stderr(
    feed_server, sync_config
):
    feed_server.fail(family_path(feed_server, "A100-F00002"), 404)

    code, out, err = run("promidata_sync", "--direct", "--no-progress")

    assert code == 1
    assert "Completed with failures" in out and "partial" not in out
    assert "HTTP 404" not in out
    assert [line for line in err.splitlines() if "HTTP 404" in line] == [
        line for line in err.splitlines() if line.startswith("A100 family A100-F00002: HTTP 404")
    ]


def test_supplier_codes_are_case_insensitive(feed_server, sync_config):
    code, out, err = run("promidata_sync", "--direct", "a101", "--no-progress")

    assert (code, err) == (0, ""), out
    assert list(SyncRun.objects.values_list("supplier__code", "state")) == [("A101", "completed")]


def test_an_unknown_code_gets_did_you_mean(feed_server, sync_config):
    run("promidata_sync", "--direct", "A101", "--no-progress")  # the suppliers are known now

    code, _out, err = run("promidata_sync", "--direct", "A1O1", "--no-progress")

    assert code == 1
    assert "A1O1: unknown supplier" in err and "did you mean A101" in err


def test_start_sync_suggests_near_codes(feed_server, sync_config):
    Supplier.objects.create(code="B7")
    with pytest.raises(UnknownSupplier, match=r"did you mean A10[01] or A10[01]\?"):
        start_sync("a10o", use_queue=False)
    with pytest.raises(UnknownSupplier) as nothing_near:
        start_sync("ZZZZZZ9", use_queue=False)
    assert "did you mean" not in str(nothing_near.value)


def test_verbosity_2_lists_the_malformed_import_lines_masked(feed, feed_server, sync_config):
    index = feed.import_txt(feed_server.base_url).decode()
    broken = f"{feed_server.base_url}/A100/A100-F09999.json"  # no hash
    feed_server.replace(import_path(feed_server), (index + broken + "\n").encode(), "text/plain")

    _code, quiet_out, _ = run("promidata_sync", "--direct", "A101", "--no-progress")
    code, out, _err = run("promidata_sync", "--direct", "A101", "--no-progress", "-v", "2")

    assert "1 malformed" in quiet_out and "Malformed Import.txt lines" not in quiet_out
    assert code == 0
    listed = out.split("Malformed Import.txt lines:\n")[1].splitlines()[0]
    assert listed.startswith("  Import.txt line 14: ") and "A100-F09999.json" in listed
    assert GUID not in out


# --- --wait with no worker -------------------------------------------------------------------
def _queued_run_on_redis(settings, *args) -> tuple[int, str, str]:
    """``promidata_sync A100 --wait`` with a Redis broker and no worker anywhere. The test's
    transaction never commits, so nothing is enqueued: the run stays queued, as it does when
    no worker consumes its queue."""
    Supplier.objects.create(code="A100")
    with redis_broker_at(settings, TEST_REDIS_URL):
        return run("promidata_sync", "A100", "--wait", "--no-progress", *args)


def test_wait_with_no_worker_says_so_and_ends_at_its_deadline(settings):
    WorkerHeartbeat.objects.create(  # a live worker, but for the family queue only
        worker_id="host:1:x",
        hostname="host",
        pid=1,
        queues=["product-family"],
        threads=3,
        started_at=timezone.now(),
        last_seen_at=timezone.now(),
    )

    code, out, err = _queued_run_on_redis(settings, "--timeout", "1.5", "--json")

    assert code == 1
    lines = err.strip().splitlines()
    assert lines[0] == (
        "no worker is consuming supplier-sync: start promidata_workers "
        "(the runs wait until one does)"
    )
    assert "still Queued after 2s; stopped waiting (it goes on)" in lines[1]
    document = json.loads(out)
    assert document["timed_out"] is True and document["runs"][0]["state"] == "queued"


def test_wait_says_nothing_about_workers_when_one_consumes_the_queue(settings):
    WorkerHeartbeat.objects.create(
        worker_id="host:2:y",
        hostname="host",
        pid=2,
        queues=["supplier-sync"],
        threads=1,
        started_at=timezone.now(),
        last_seen_at=timezone.now(),
    )

    code, _out, err = _queued_run_on_redis(settings, "--timeout", "1")

    assert code == 1 and "no worker" not in err and "still Queued" in err


# --- promidata_status ------------------------------------------------------------------------
@pytest.fixture
def finished_run():
    supplier = Supplier.objects.create(code="A1")
    run_ = SyncRun.objects.create(
        supplier=supplier,
        state="partial",
        mode="queue",
        families_total=3,
        families_done=2,
        families_failed=1,
        started_at=timezone.now(),
        finished_at=timezone.now(),
    )
    SyncItem.objects.create(
        run=run_, kind="family", key="A1-X", state="failed", error="HTTP 404 for …/A1/A1-X.json"
    )
    return run_


def test_status_json_is_one_flat_document(finished_run):
    code, out, _err = run("promidata_status", "--json")

    assert code == 0
    document = json.loads(out)
    assert set(document) == {"broker", "queues", "total", "workers", "runs"}
    assert document["broker"]["ok"] is True and document["broker"]["error"] == ""
    assert {"supplier-sync", "product-family", "image-upload"} <= set(document["queues"])
    assert "queues" not in document["queues"]  # no doubled key any more
    assert document["total"]["total"] == sum(q["total"] for q in document["queues"].values())
    (shown,) = document["runs"]
    assert (shown["id"], shown["state"], shown["state_label"]) == (
        finished_run.pk,
        "partial",
        "Completed with failures",
    )


def test_status_run_shows_one_run_and_its_failures(finished_run):
    code, out, _err = run("promidata_status", "--run", str(finished_run.pk))
    assert code == 0
    assert f"sync run #{finished_run.pk} of A1" in out and "Completed with failures" in out
    assert "A1 family A1-X: HTTP 404" in out

    code, out, _err = run("promidata_status", "--run", str(finished_run.pk), "--json")
    document = json.loads(out)
    assert document["id"] == finished_run.pk and document["supplier"] == "A1"
    assert document["failures"][0]["key"] == "A1-X"


def test_status_errors_are_json_under_json_with_exit_1():
    assert run("promidata_status", "--run", "999999", "--json")[:2] == (
        1,
        '{"error": "no sync run #999999"}\n',
    )
    code, out, err = run("promidata_status", "no-such-job")
    assert (code, out, err.strip()) == (1, "", "no job with id 'no-such-job'")


def test_status_exits_2_when_the_broker_is_down(settings, finished_run):
    with redis_broker_at(settings, closed_port_url()):
        code, out, err = run("promidata_status")
        json_code, json_out, _ = run("promidata_status", "--json")

    assert code == 2 and "Recent runs:" in out  # the rest is still shown
    assert len(err.strip().splitlines()) == 1 and "is unreachable" in err
    assert json_code == 2
    document = json.loads(json_out)
    assert document["broker"]["ok"] is False and "is unreachable" in document["broker"]["error"]
    assert document["queues"] is None and document["runs"][0]["id"] == finished_run.pk
