"""docs/grafana-dashboard.json is an importable dashboard whose every query asks for metrics
that GET /metrics really exports."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from django.utils import timezone

from promidata_sync.models import SyncRun
from promidata_sync.services.workers import heartbeat_write
from tests.admin.factories import make_run, make_suppliers
from tests.metrics.conftest import scrape

pytestmark = pytest.mark.django_db

DASHBOARD = Path(__file__).resolve().parents[2] / "docs" / "grafana-dashboard.json"
PROMQL_WORDS = {
    "by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless",
    "bool", "offset",
}  # fmt: skip
NEEDED_PANELS = {  # what an operator looks for, and a word of its title
    "runs by state": "Runs by state",
    "families": "Families per second",
    "images": "Images per second",
    "run duration": "Last run duration",
    "time since last success": "Time since last successful sync",
    "reconciler": "Reconciler actions",
    "queue depth": "Queue depth",
    "workers": "Workers alive",
}


def metric_names(expression: str) -> set[str]:
    """The metric names a PromQL expression selects: what is left once strings, label
    matchers, ranges, grouping clauses, functions, keywords and numbers are taken out."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expression)
    text = re.sub(r"\{[^}]*\}", " ", text)
    text = re.sub(r"\[[^\]]*\]", " ", text)
    text = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    names = set()
    for match in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*(?=\s*(\()?)", text):
        word, is_call = match.group(0), match.group(1)
        if is_call or word in PROMQL_WORDS or word.startswith("$"):
            continue
        names.add(word)
    return names


def test_metric_names_are_found_in_expressions():
    assert metric_names(
        'sum by (state) (rate(promidata_a_total{kind="x",s=~"$s"}[$__rate_interval])) / on (k) b'
    ) == {"promidata_a_total", "b"}


def dashboard() -> dict:
    return json.loads(DASHBOARD.read_text())


def test_the_dashboard_is_importable():
    board = dashboard()
    assert board["uid"] and board["title"]
    variables = {var["name"]: var for var in board["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    ids = [panel["id"] for panel in board["panels"]]
    assert len(ids) == len(set(ids))
    for panel in board["panels"]:
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        assert panel["targets"] and all(target["expr"] for target in panel["targets"])
    titles = [panel["title"] for panel in board["panels"]]
    for need, title in NEEDED_PANELS.items():
        assert any(title in found for found in titles), need
    (since,) = [p for p in board["panels"] if p["title"] == "Time since last successful sync"]
    steps = since["fieldConfig"]["defaults"]["thresholds"]["steps"]
    assert [step["value"] for step in steps][1:] == [93600, 172800]  # 26 h, 48 h


def test_every_queried_metric_is_exported(scraper):
    supplier, idle = make_suppliers(2)
    make_run(supplier, families_done=3, families_failed=1, images_done=4)
    make_run(idle, state=SyncRun.State.RUNNING, started_at=timezone.now())
    heartbeat_write("w1", queues=["image-upload"], threads=4)
    exported = scrape(scraper).sample_names

    board = dashboard()
    expressions = [target["expr"] for panel in board["panels"] for target in panel["targets"]]
    # Grafana's label_values(<selector>, <label>): the selector is PromQL, the label is not.
    for var in board["templating"]["list"]:
        if var["type"] == "query":
            call = re.fullmatch(r"label_values\((.+),\s*\w+\)", var["definition"])
            assert call, var["definition"]
            expressions.append(call.group(1))
    queried = set().union(*(metric_names(expression) for expression in expressions))

    assert queried, expressions
    assert queried <= exported, sorted(queried - exported)
