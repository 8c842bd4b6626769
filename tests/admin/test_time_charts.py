"""Time in the admin: a supplier's sync history (chart and table) and the dashboard's
throughput chart, both server-side SVG read in one query each."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from promidata_sync.models import SyncItem, SyncRun
from promidata_sync.services.throughput import throughput_per_minute
from tests.admin.factories import make_run, make_suppliers

pytestmark = pytest.mark.django_db


def finished_run(supplier, *, minutes_ago: int, seconds: int, **fields) -> SyncRun:
    end = timezone.now() - timedelta(minutes=minutes_ago)
    return make_run(
        supplier, started_at=end - timedelta(seconds=seconds), finished_at=end, **fields
    )


def test_supplier_page_charts_each_finished_sync_against_the_usual_duration(operator_client):
    (supplier,) = make_suppliers(1)
    finished_run(supplier, minutes_ago=3000, seconds=60, families_done=40)
    finished_run(supplier, minutes_ago=1500, seconds=120, families_done=12, families_failed=2)
    slow = finished_run(supplier, minutes_ago=30, seconds=3600, state=SyncRun.State.PARTIAL)
    # Neither a stock run nor the running sync is part of the history.
    finished_run(supplier, minutes_ago=10, seconds=5, kind=SyncRun.Kind.STOCK)
    make_run(supplier, state=SyncRun.State.RUNNING)

    page = operator_client.get(reverse("admin:catalog_supplier_change", args=[supplier.pk]))

    html = page.content.decode()
    history = html[html.index('id="pd-sync-history"') :]
    assert len(re.findall(r'<rect class="pd-chart-bar ', history)) == 3
    assert "pd-chart-bar-partial" in history  # tonight's slow one stands out by colour too
    assert "usual 2m 00s" in history  # the median of the three
    assert f"#{slow.pk} " in history and "1h 00m" in history
    assert "40 families written (0 failed" in history  # a bar's tooltip
    table = history[history.index("pd-history-table") :]
    assert table.count("<tr><td><a") == 3  # the table: newest first
    assert table.index(f">#{slow.pk}<") < table.index("2m 00s") < table.index("1m 00s")


def test_supplier_page_without_a_finished_sync_says_so(operator_client):
    (supplier,) = make_suppliers(1)
    make_run(supplier, state=SyncRun.State.QUEUED)

    page = operator_client.get(reverse("admin:catalog_supplier_change", args=[supplier.pk]))

    assert "No finished sync yet." in page.content.decode()


def items(run, kind, count, *, ended_minutes_ago: float, state="done") -> None:
    SyncItem.objects.bulk_create(
        [
            SyncItem(run=run, kind=kind, key=f"{kind}-{ended_minutes_ago}-{state}-{i}", state=state)
            for i in range(count)
        ]
    )
    SyncItem.objects.filter(key__startswith=f"{kind}-{ended_minutes_ago}-{state}-").update(
        updated_at=timezone.now() - timedelta(minutes=ended_minutes_ago)
    )


def test_throughput_counts_what_ended_per_minute_in_one_query():
    (supplier,) = make_suppliers(1)
    run = make_run(supplier, state=SyncRun.State.RUNNING)
    items(run, SyncItem.Kind.FAMILY, 5, ended_minutes_ago=2)
    items(run, SyncItem.Kind.FAMILY, 2, ended_minutes_ago=2, state="failed")
    items(run, SyncItem.Kind.IMAGE, 9, ended_minutes_ago=2)
    items(run, SyncItem.Kind.IMAGE, 4, ended_minutes_ago=0)
    items(run, SyncItem.Kind.IMAGE, 50, ended_minutes_ago=0, state="pending")  # not ended
    items(run, SyncItem.Kind.FAMILY, 30, ended_minutes_ago=90)  # before the window

    with CaptureQueriesContext(connection) as queries:
        minutes = throughput_per_minute()

    assert len(queries) == 1
    assert len(minutes) == 60
    assert (minutes[-3].families, minutes[-3].images) == (7, 9)
    assert (minutes[-1].families, minutes[-1].images) == (0, 4)
    assert sum(m.families for m in minutes) == 7 and sum(m.images for m in minutes) == 13


def test_dashboard_shows_the_throughput_chart(operator_client):
    (supplier,) = make_suppliers(1)
    run = make_run(supplier, state=SyncRun.State.RUNNING)
    items(run, SyncItem.Kind.FAMILY, 3, ended_minutes_ago=1)
    items(run, SyncItem.Kind.IMAGE, 6, ended_minutes_ago=1)

    page = operator_client.get(reverse("promidata_sync_dashboard"))

    html = page.content.decode()
    assert "Throughput, last 60 minutes: 3 families, 6 images" in html
    section = html[html.index('id="pd-throughput"') :]
    assert '<polyline class="pd-chart-line pd-chart-line-families"' in section
    assert '<polyline class="pd-chart-line pd-chart-line-images"' in section
    assert "6/min" in section  # the top of the scale
