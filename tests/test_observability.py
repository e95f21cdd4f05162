"""AlarmSpec refuses alarms CloudWatch would reject or that would page nobody usefully."""

from __future__ import annotations

from dataclasses import replace

import pulumi_aws as aws
import pytest
from pydantic import ValidationError

from components.observability import AlarmSpec, AlertsArgs
from tests.stack_config import Mutation, assert_rule_reports_path_and_hint, case, section

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
