"""The stack's dashboard (components/dashboard.py), and every metric paved graphs or alarms on, held to the
catalogue of what AWS publishes (docs/aws-facts/cloudwatch-metrics.json, read off AWS's metric pages):
a metric under a dimension set AWS does not publish it with is a graph that stays empty, or an alarm that
never fires. Offline there is no ListMetrics to ask."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from components.database import DRILL_METRIC_NAMESPACE
from paved.recorder import Recording
from tests.alerts import ALARM
from tests.stack_config import shipped

ROOT = Path(__file__).resolve().parent.parent
CATALOGUE = json.loads((ROOT / "docs" / "aws-facts" / "cloudwatch-metrics.json").read_text())
DASHBOARD = "paved:dashboard:Dashboard"
STACKS = ["prod", "staging"]


def _published(namespace: str, metric: str) -> list[list[str]] | None:
    """The dimension sets AWS publishes `metric` with, each sorted; None when the catalogue lacks it."""
    space = CATALOGUE["namespaces"].get(namespace)
    if space is None or metric not in space["metrics"]:
        return None
    sets = space["metrics"][metric].get("dimensionSets") or space["dimensionSets"]
    return [sorted(dimensions) for dimensions in sets]


def _graphs(recording: Recording) -> list[dict[str, Any]]:
    [dashboard] = recording.of_type(DASHBOARD)
    return dashboard.outputs["graphs"]


def _graphed(recording: Recording) -> Iterator[tuple[str, str, str, list[str]]]:
    for graph in _graphs(recording):
        for metric in graph["metrics"]:
            yield graph["title"], metric["namespace"], metric["name"], metric["dimensions"]


def _alarmed(recording: Recording) -> Iterator[tuple[str, str, str, list[str]]]:
    for alarm in recording.of_type(ALARM):
        inputs = alarm.inputs
        if inputs.get("namespace") == DRILL_METRIC_NAMESPACE:
            continue  # paved's own metric, published by `paved drill restore` (tests/test_drill_restore.py)
        if "metricName" in inputs:
            yield alarm.name, inputs["namespace"], inputs["metricName"], sorted(inputs.get("dimensions", {}))
        for query in inputs.get("metricQueries", []):
            if "metric" in query:
                metric = query["metric"]
                yield alarm.name, metric["namespace"], metric["metricName"], sorted(metric["dimensions"])


@pytest.mark.parametrize("stack", STACKS)
@pytest.mark.parametrize("source", [_graphed, _alarmed], ids=["graphs", "alarms"])
def test_every_metric_is_one_aws_publishes_with_those_dimensions(
    stack: str,
    source: Callable[[Recording], Iterator[tuple[str, str, str, list[str]]]],
    shipped_recordings: Callable[[str], Recording],
) -> None:
    seen = list(source(shipped_recordings(stack)))
    assert seen
    wrong = [
        (where, namespace, metric, dimensions, _published(namespace, metric))
        for where, namespace, metric, dimensions in seen
        if dimensions not in (_published(namespace, metric) or [])
    ]
    assert wrong == []


def test_the_catalogue_check_catches_a_dimension_aws_does_not_publish() -> None:
    assert ["LoadBalancer"] in (_published("AWS/ApplicationELB", "RequestCount") or [])
    assert ["DBInstanceIdentifier", "LoadBalancer"] not in (
        _published("AWS/ApplicationELB", "RequestCount") or []
    )
    assert _published("AWS/ApplicationELB", "NoSuchMetric") is None


def test_the_dashboard_charts_every_tier_each_graph_in_its_metrics_region(
    shipped_recordings: Callable[[str], Recording],
) -> None:
    prod = shipped_recordings("prod")
    graphs = _graphs(prod)
    assert {graph["tier"] for graph in graphs} == {"Edge", "Apps", "Data"}
    region = prod.place.region
    for graph in graphs:
        namespaces = {metric["namespace"] for metric in graph["metrics"]}
        global_acl = namespaces == {"AWS/WAFV2"} and not any(
            "Region" in metric["dimensions"] for metric in graph["metrics"]
        )
        # CloudFront and its web ACL report in us-east-1 (CloudFront with Region=Global); all else here.
        expected = "us-east-1" if namespaces == {"AWS/CloudFront"} or global_acl else region
        assert graph["region"] == expected, graph["title"]
    titles = {graph["title"] for graph in graphs}
    for app in (app["name"] for app in shipped("prod")["paved:apps"]):
        assert f"{app}: pods and restarts" in titles
    assert {"Database: replica lag (s)", "Database proxy: connections", "CloudFront: requests"} <= titles


def test_staging_charts_only_what_it_declares(shipped_recordings: Callable[[str], Recording]) -> None:
    titles = {graph["title"] for graph in _graphs(shipped_recordings("staging"))}
    # No read replica and no proxy in staging: nothing to chart there, so no empty graphs.
    assert "Database: replica lag (s)" not in titles and "Database proxy: connections" not in titles
    assert "Database: CPU (%)" in titles
