"""AlarmSpec refuses alarms CloudWatch would reject or that would page nobody usefully."""

from __future__ import annotations

from dataclasses import replace

import pulumi_aws as aws
import pytest
from pydantic import ValidationError

from components.observability import AlarmSpec, AlertsArgs
from paved.program import run_project
from paved.recorder import Recording
from tests.stack_config import (
    ROOT,
    Mutation,
    assert_rule_reports_path_and_hint,
    case,
    changed,
    section,
    shipped,
    with_app,
)

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
# What an alarm rule sets on the alarm: its threshold, and its periods (all must breach) and their length.
RULE_INPUTS = ("threshold", "evaluationPeriods", "datapointsToAlarm", "period")

VALID = AlarmSpec(
    description="CPU high",
    namespace="AWS/RDS",
    metric_name="CPUUtilization",
    statistic="Average",
    period=300,
    evaluation_periods=3,
    datapoints_to_alarm=2,
    comparison_operator="GreaterThanThreshold",
    threshold=80,
    treat_missing_data="missing",
)


def test_a_valid_spec_is_accepted() -> None:
    assert VALID.period == 300


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"statistic": None}, "exactly one of"),
        ({"extended_statistic": "p95"}, "exactly one of"),
        ({"period": 45}, "period"),
        ({"datapoints_to_alarm": 4}, "datapoints"),
        ({"period": 3600, "evaluation_periods": 200, "datapoints_to_alarm": 1}, "at most"),
        ({"namespace": None}, "namespace"),
        ({"description": " "}, "description"),
    ],
)
def test_invalid_specs_are_rejected(changes: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        replace(VALID, **changes)


def test_metric_math_needs_exactly_one_returned_expression() -> None:
    query = aws.cloudwatch.MetricAlarmMetricQueryArgs
    with pytest.raises(ValueError):
        AlarmSpec(
            description="5xx rate",
            metric_queries=[
                query(id="a", expression="1", return_data=True),
                query(id="b", expression="2", return_data=True),
            ],
            evaluation_periods=1,
            datapoints_to_alarm=1,
            comparison_operator="GreaterThanThreshold",
            threshold=5,
            treat_missing_data="notBreaching",
        )


# --- one failing case per rule (tests/stack_config.py checks its path and hint) -----------------------------

RULE_CASES = [
    case("prod", section("paved:alerts", {"emails": []}), "paved:alerts.emails", "prod-needs-subscription"),
    case("prod", section("paved:alerts", {"emails": ["ops"]}), "paved:alerts.emails[0]", "email"),
    case(
        "prod", section("paved:alerts", {"emails": ["a@b.io", "a@b.io"]}), "paved:alerts.emails", "distinct"
    ),
    case(
        "prod",
        section("paved:alerts", {"httpsEndpoints": ["http://hooks.example.com"]}),
        "paved:alerts.httpsEndpoints[0]",
        "https-only",
    ),
    case(
        "prod",
        section("paved:alerts", {"runbookBaseUrl": "http://wiki.example.com/runbooks"}),
        "paved:alerts.runbookBaseUrl",
        "runbooks-https-only",
    ),
    case(
        "prod",
        section("paved:alerts", {"runbookBaseUrl": "https://wiki.example.com/" + "r" * 200}),
        "paved:alerts.runbookBaseUrl",
        "runbooks-url-length",
    ),
    case(
        "prod",
        section("paved:cluster", {"alarms": {"nodeCpuPercent": {"periods": 288, "periodSeconds": 900}}}),
        "paved:cluster.alarms.nodeCpuPercent",
        "alarm-window-cloudwatch-evaluates",
    ),
    case(
        "prod",
        section("paved:edge", {"alarms": {"p95LatencyMs": {"periodSeconds": 120}}}),
        "paved:edge.alarms.p95LatencyMs.periodSeconds",
        "alarm-period",
    ),
]


@pytest.mark.parametrize(("stack", "mutation", "path"), RULE_CASES)
def test_rule_reports_path_and_hint(stack: str, mutation: Mutation, path: str) -> None:
    assert_rule_reports_path_and_hint(stack, mutation, path)


@pytest.mark.parametrize("address", ["ops@example.com", "on-call+paved@mail.example.co.uk", "ops@exämple.de"])
def test_addresses_email_validator_accepts_are_kept_as_written(address: str) -> None:
    assert AlertsArgs(emails=[address], https_endpoints=[]).emails == [address]


@pytest.mark.parametrize(
    ("address", "said"),
    [
        ("ops@", "something after the @-sign"),
        ("ops@localhost", "period"),
        ("ops@exa mple.com", "SPACE"),
        ("ops@example.com\n", "not an email address"),
        # A regex with nested quantifiers backtracks for minutes on a long run of one character before
        # failing; email-validator parses it in linear time (and caps the length).
        ("a" * 100_000 + "@", "not an email address"),
        ("." * 50_000 + "@example.com", "not an email address"),
    ],
)
def test_addresses_email_validator_rejects_name_the_reason(address: str, said: str) -> None:
    with pytest.raises(ValidationError) as caught:
        AlertsArgs(emails=[address], https_endpoints=[])
    [error] = caught.value.errors()
    assert error["loc"] == ("emails", 0) and said in error["msg"]


# --- alarm rules from config ----------------------------------------------------------------------------


# Rules of the data tier and the web ACLs, each changed in part: what is not set stays the preset's.
DATA_AND_WAF_RULES = {
    "paved:database": {
        "alarms": {
            "cpuPercent": {"threshold": 70, "periods": 5, "periodSeconds": 60},
            "freeStoragePercent": {"threshold": 20, "periodSeconds": 60},
            "connectionFailures": {"periods": 3, "periodSeconds": 60},
            "replicaLagSeconds": {"periodSeconds": 900},
        }
    },
    "paved:cache": {
        "alarms": {
            "memoryPercent": {"threshold": 75, "periods": 4, "periodSeconds": 60},
            "replicationLagSeconds": {"periods": 1},
        }
    },
    "paved:edge": {"blockedRequestsAlarm": {"threshold": 5000, "periods": 3}},
}


@pytest.fixture(scope="module")
def tuned() -> Recording:
    """Prod with one edge rule changed in part, the first app's restarts rule of its own, and the data tier's
    and web ACLs' rules of DATA_AND_WAF_RULES."""
    raw = changed(shipped("prod"), {"paved:edge": {"alarms": {"p95LatencyMs": {"threshold": 800}}}})
    raw = changed(raw, DATA_AND_WAF_RULES)
    raw = with_app(raw, 0, {"alarms": {"restarts": {"threshold": 5, "periods": 2, "periodSeconds": 60}}})
    return run_project(ROOT, "prod", raw)


def test_an_alarm_takes_its_rule_from_config_and_keeps_the_presets_rest(tuned: Recording) -> None:
    latency = tuned.one(ALARM, "alb-p95-latency").inputs
    # 800 ms in config, TargetResponseTime in seconds; the preset's window stays (3 periods of 5 minutes).
    assert (latency["threshold"], latency["evaluationPeriods"], latency["period"]) == (0.8, 3, 300)
    assert latency["alarmDescription"].startswith("p95 target response time above 800 ms for 15 minutes")


def test_each_app_may_set_its_own_rule(tuned: Recording) -> None:
    apps = shipped("prod")["paved:apps"]
    own = tuned.one(ALARM, f"app-{apps[0]['name']}-restarts").inputs
    assert (own["threshold"], own["evaluationPeriods"], own["datapointsToAlarm"], own["period"]) == (
        5,
        2,
        2,
        60,
    )
    assert "more than 5 times for 2 minutes" in own["alarmDescription"]
    preset = tuned.one(ALARM, f"app-{apps[1]['name']}-restarts").inputs
    assert (preset["threshold"], preset["evaluationPeriods"], preset["period"]) == (2, 1, 300)


@pytest.mark.parametrize(
    ("alarm", "threshold", "periods", "period"),
    [
        ("database-cpu", 70, 5, 60),
        # 20% of prod's 200 GiB, in bytes.
        ("database-free-storage", 40 * 2**30, 1, 60),
        ("database-proxy-auth-failures", 0, 3, 60),
        ("database-proxy-connect-failures", 0, 3, 60),
        ("database-replica-1-lag", 60, 2, 900),
        ("cache-1-memory", 75, 4, 60),
        ("cache-2-memory", 75, 4, 60),
        ("cache-2-replication-lag", 30, 1, 300),
        ("alb-waf-blocked-requests", 5000, 3, 300),
        ("cdn-waf-blocked-requests", 5000, 3, 300),
    ],
)
def test_data_tier_and_waf_alarms_take_their_rules(
    tuned: Recording, alarm: str, threshold: float, periods: int, period: int
) -> None:
    inputs = tuned.one(ALARM, alarm).inputs
    assert [inputs[key] for key in RULE_INPUTS] == [threshold, periods, periods, period]


def test_data_tier_descriptions_say_the_configured_window(tuned: Recording) -> None:
    said = {
        name: tuned.one(ALARM, name).inputs["alarmDescription"] for name in ("database-cpu", "cache-1-memory")
    }
    assert said["database-cpu"].startswith("Database CPU above 70% for 5 minutes")
    assert said["cache-1-memory"].startswith("Cache node 1: memory over 75% of maxmemory for 4 minutes")
