"""WAF web ACLs (components/waf.py), run once under first-preview semantics in tests/fixtures/waf_program.

The fixture builds three ACLs: `edge-regional` (REGIONAL behind CloudFront, no client-IP rules, attached to
an ALB), `edge-cloudfront` (CLOUDFRONT via a us-east-1 provider, geo block, IPv4 + IPv6 allow-list, upload
paths, rate-limited paths) and `direct-regional` (REGIONAL, client-IP rules, preset geo and ingress).
Assertions are on recorded inputs, property dependencies and provider references.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import paved.presets
from components.edge import EdgeArgs
from components.waf import (
    BODY_INSPECTION_LIMIT_BYTES,
    DEFAULT_CAPACITY_WCU,
    MANAGED_GROUP_WCU,
    SIZE_RESTRICTIONS_BODY_LABEL,
    Scope,
    rules_wcu,
)
from paved.config import load_stack_config
from paved.program import run_project
from paved.recorder import RecordedResource, Recording

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "waf_program"
ACL = "aws:wafv2/webAcl:WebAcl"
IP_SET = "aws:wafv2/ipSet:IpSet"
LOGGING = "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration"
ASSOCIATION = "aws:wafv2/webAclAssociation:WebAclAssociation"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
KEY = "aws:kms/key:Key"
US_EAST_1 = "urn:pulumi:dev::wafdemo::pulumi:providers:aws::us-east-1"
DEFAULT_PROVIDER = "urn:pulumi:dev::wafdemo::pulumi:providers:aws::default_7_51_1"

BASELINE = {
    "AWSManagedRulesCommonRuleSet",
    "AWSManagedRulesKnownBadInputsRuleSet",
    "AWSManagedRulesSQLiRuleSet",
    "AWSManagedRulesLinuxRuleSet",
}
IP_REPUTATION = "AWSManagedRulesAmazonIpReputationList"
ACLS = ["edge-regional", "edge-cloudfront", "direct-regional"]
# Mirrors the fixture's overrides of the prod preset.
CONFIGURED: dict[str, Any] = {
    "geoBlockCountries": ["KP", "IR"],
    "ingressCidrs": ["203.0.113.0/24", "198.51.100.0/24", "2001:db8::/32"],
    "uploadPaths": ["/uploads", "/api/files"],
    "pathRateLimits": [
        {"path": "/api/auth/*", "limit": 20},
        {"path": "/api/", "limit": 300, "windowSeconds": 120},
    ],
    "blockedRequestsAlarm": {"threshold": 500, "periods": 2, "periodSeconds": 60},
}


@pytest.fixture(scope="module")
def recording() -> Recording:
    return run_project(FIXTURE, "dev")


def _acl(recording: Recording, name: str) -> RecordedResource:
    return recording.one(ACL, name)


def _rules(recording: Recording, name: str) -> dict[str, dict[str, Any]]:
    return {rule["name"]: rule for rule in _acl(recording, name).inputs["rules"]}


def _managed_groups(recording: Recording, name: str) -> set[str]:
    return {
        rule["statement"]["managedRuleGroupStatement"]["name"]
        for rule in _rules(recording, name).values()
        if "managedRuleGroupStatement" in rule["statement"]
    }


def _statements(statement: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield statement
    for kind in ("andStatement", "orStatement"):
        for nested in statement.get(kind, {}).get("statements", []):
            yield from _statements(nested)
    if "notStatement" in statement:
        yield from _statements(statement["notStatement"]["statement"])


def _edge(overrides: dict[str, Any]) -> EdgeArgs:
    return EdgeArgs.model_validate(paved.presets.PRESETS["prod"]["edge"] | overrides)


def test_the_fixture_runs_without_errors(recording: Recording) -> None:
    assert not recording.errors
    assert {acl.name for acl in recording.of_type(ACL)} == set(ACLS)


@pytest.mark.parametrize(
    ("name", "scope", "client_ip"),
    [
        ("edge-regional", "REGIONAL", False),
        ("edge-cloudfront", "CLOUDFRONT", True),
        ("direct-regional", "REGIONAL", True),
    ],
)
def test_managed_groups_per_scope(recording: Recording, name: str, scope: str, client_ip: bool) -> None:
    acl = _acl(recording, name)
    assert acl.inputs["scope"] == scope
    assert acl.inputs["defaultAction"] == {"allow": {}}
    expected = BASELINE | ({IP_REPUTATION} if client_ip else set())
    assert _managed_groups(recording, name) == expected
    for rule in _rules(recording, name).values():
        if "managedRuleGroupStatement" in rule["statement"]:
            assert rule["statement"]["managedRuleGroupStatement"]["vendorName"] == "AWS"
            assert rule["overrideAction"] == {"none": {}}, rule["name"]


def test_rate_rule_only_with_client_ip_rules(recording: Recording) -> None:
    preset = paved.presets.PRESETS["prod"]["edge"]
    for name in ("edge-cloudfront", "direct-regional"):
        rate = _rules(recording, name)["rate-limit-per-ip"]
        statement = rate["statement"]["rateBasedStatement"]
        assert statement["aggregateKeyType"] == "IP"
        assert statement["limit"] == preset["rateLimitPerIp"]
        assert statement["evaluationWindowSec"] == preset["rateLimitWindowSeconds"]
        assert rate["action"] == {"block": {}}
    assert not [
        r for r in _rules(recording, "edge-regional").values() if "rateBasedStatement" in r["statement"]
    ]


def test_rate_limited_paths_are_scoped_down_on_the_acl_that_sees_viewers(recording: Recording) -> None:
    rules = _rules(recording, "edge-cloudfront")
    names = list(rules)
    assert names[names.index("rate-limit-per-ip") + 1 : names.index("rate-limit-per-ip") + 3] == [
        "rate-limit-path-api-auth",
        "rate-limit-path-api",
    ]
    expected = {
        "rate-limit-path-api-auth": ("/api/auth/", 20, 60),
        "rate-limit-path-api": ("/api/", 300, 120),
    }
    for name, (prefix, limit, window) in expected.items():
        rule = rules[name]
        assert rule["action"] == {"block": {}}
        assert rule["visibilityConfig"]["metricName"] == name
        statement = rule["statement"]["rateBasedStatement"]
        assert (statement["aggregateKeyType"], statement["limit"], statement["evaluationWindowSec"]) == (
            "IP",
            limit,
            window,
        )
        match = statement["scopeDownStatement"]["byteMatchStatement"]
        assert (match["positionalConstraint"], match["searchString"], match["fieldToMatch"]) == (
            "STARTS_WITH",
            prefix,
            {"uriPath": {}},
        )
        # Decoded and normalised first, as upload paths are: `/api/%61uth/` is still /api/auth/.
        assert match["textTransformations"] == [
            {"priority": 0, "type": "URL_DECODE"},
            {"priority": 1, "type": "NORMALIZE_PATH"},
        ]
    # Behind CloudFront the ALB's ACL sees CloudFront's addresses: a per-IP count would limit CloudFront.
    assert not [name for name in _rules(recording, "edge-regional") if name.startswith("rate-limit")]


def test_geo_rule_only_when_configured(recording: Recording) -> None:
    def geo(name: str) -> list[list[str]]:
        return [
            s["geoMatchStatement"]["countryCodes"]
            for rule in _rules(recording, name).values()
            for s in _statements(rule["statement"])
            if "geoMatchStatement" in s
        ]

    assert geo("edge-cloudfront") == [CONFIGURED["geoBlockCountries"]]
    assert _rules(recording, "edge-cloudfront")["geo-block"]["action"] == {"block": {}}
    assert geo("direct-regional") == []  # client-IP rules, but no countries configured
    assert geo("edge-regional") == []  # countries configured, but the ALB behind CloudFront sees no viewers


def test_ip_sets_and_allow_list_only_when_configured(recording: Recording) -> None:
    cloudfront = _acl(recording, "edge-cloudfront")
    sets = {s.inputs["ipAddressVersion"]: s for s in recording.of_type(IP_SET)}
    assert set(sets) == {"IPV4", "IPV6"}
    assert sets["IPV4"].inputs["addresses"] == ["203.0.113.0/24", "198.51.100.0/24"]
    assert sets["IPV6"].inputs["addresses"] == ["2001:db8::/32"]
    for ip_set in sets.values():
        assert ip_set.inputs["scope"] == "CLOUDFRONT"
        assert ip_set.parent == cloudfront.parent
        assert ip_set.provider_urn == US_EAST_1
    rule = _rules(recording, "edge-cloudfront")["ingress-allow-list"]
    assert rule["action"] == {"block": {}}
    negated = rule["statement"]["notStatement"]["statement"]
    assert len([s for s in _statements(negated) if "ipSetReferenceStatement" in s]) == 2
    assert set(cloudfront.property_dependencies["rules"]) >= {s.urn for s in sets.values()}
    for name in ("edge-regional", "direct-regional"):
        assert "ingress-allow-list" not in _rules(recording, name)


def test_every_rule_has_visibility_config(recording: Recording) -> None:
    for name in ACLS:
        acl = _acl(recording, name)
        assert acl.inputs["visibilityConfig"]["cloudwatchMetricsEnabled"] is True
        rules = acl.inputs["rules"]
        assert sorted(rule["priority"] for rule in rules) == list(range(len(rules)))
        metrics = []
        for rule in rules:
            config = rule["visibilityConfig"]
            assert config["cloudwatchMetricsEnabled"] is True, rule["name"]
            assert config["sampledRequestsEnabled"] is True, rule["name"]
            assert config["metricName"], rule["name"]
            metrics.append(config["metricName"])
        assert len(set(metrics)) == len(metrics)


@pytest.mark.parametrize("name", ACLS)
def test_size_rules_match_what_waf_inspects(recording: Recording, name: str) -> None:
    acl = _acl(recording, name)
    rules = _rules(recording, name)
    [uri] = [
        s["sizeConstraintStatement"]
        for s in _statements(rules["uri-path-size"]["statement"])
        if "sizeConstraintStatement" in s
    ]
    assert (uri["fieldToMatch"], uri["comparisonOperator"], uri["size"]) == ({"uriPath": {}}, "GT", 2048)
    [body] = [
        s["sizeConstraintStatement"]
        for s in _statements(rules["body-size"]["statement"])
        if "sizeConstraintStatement" in s
    ]
    assert body["fieldToMatch"] == {"body": {"oversizeHandling": "MATCH"}}
    assert body["size"] == BODY_INSPECTION_LIMIT_BYTES[acl.inputs["scope"]]
    assert rules["uri-path-size"]["action"] == rules["body-size"]["action"] == {"block": {}}


def test_cloudfront_body_limit_is_pinned_to_16_kb(recording: Recording) -> None:
    assert BODY_INSPECTION_LIMIT_BYTES == {"REGIONAL": 8192, "CLOUDFRONT": 16384}
    config = _acl(recording, "edge-cloudfront").inputs["associationConfig"]
    assert config == {"requestBodies": [{"cloudfront": {"defaultSizeInspectionLimit": "KB_16"}}]}


def test_upload_paths_are_the_only_exemption_from_the_body_limit(recording: Recording) -> None:
    rules = _acl(recording, "edge-cloudfront").inputs["rules"]
    order = [rule["name"] for rule in rules]
    by_name = {rule["name"]: rule for rule in rules}
    common = by_name["AWS-AWSManagedRulesCommonRuleSet"]["statement"]["managedRuleGroupStatement"]
    assert common["ruleActionOverrides"] == [{"name": "SizeRestrictions_BODY", "actionToUse": {"count": {}}}]
    labeler = by_name["upload-path"]
    assert labeler["action"] == {"count": {}}
    label = labeler["ruleLabels"][0]["name"]
    paths, methods = labeler["statement"]["andStatement"]["statements"]
    prefixes = [s["byteMatchStatement"] for s in _statements(paths) if "byteMatchStatement" in s]
    assert [p["searchString"] for p in prefixes] == CONFIGURED["uploadPaths"]
    assert {p["positionalConstraint"] for p in prefixes} == {"STARTS_WITH"}
    assert all(p["fieldToMatch"] == {"uriPath": {}} for p in prefixes)
    # Only the preset's upload methods are exempt: a GET or DELETE to an upload path keeps the limits.
    verbs = [s["byteMatchStatement"] for s in _statements(methods) if "byteMatchStatement" in s]
    assert [(v["searchString"], v["positionalConstraint"]) for v in verbs] == [
        ("POST", "EXACTLY"),
        ("PUT", "EXACTLY"),
    ]
    assert all(v["fieldToMatch"] == {"method": {}} for v in verbs)
    block = by_name["body-size-except-uploads"]
    assert block["action"] == {"block": {}}
    keys = {
        s["labelMatchStatement"]["key"] for s in _statements(block["statement"]) if "labelMatchStatement" in s
    }
    assert keys == {SIZE_RESTRICTIONS_BODY_LABEL, label}
    negated = block["statement"]["andStatement"]["statements"][1]["notStatement"]["statement"]
    assert negated["labelMatchStatement"]["key"] == label
    # Labels only exist for rules evaluated later.
    assert (
        order.index("upload-path")
        < order.index("body-size")
        < order.index("AWS-AWSManagedRulesCommonRuleSet")
    )
    assert order.index("AWS-AWSManagedRulesCommonRuleSet") < order.index("body-size-except-uploads")


def test_without_upload_paths_the_common_rule_set_blocks_large_bodies(recording: Recording) -> None:
    rules = _rules(recording, "direct-regional")
    common = rules["AWS-AWSManagedRulesCommonRuleSet"]["statement"]["managedRuleGroupStatement"]
    assert "ruleActionOverrides" not in common
    assert "upload-path" not in rules and "body-size-except-uploads" not in rules


@pytest.mark.parametrize("name", ACLS)
def test_log_group_is_named_for_waf_encrypted_and_kept(recording: Recording, name: str) -> None:
    group = recording.one(LOG_GROUP, f"{name}-logs")
    assert group.inputs["name"] == f"aws-waf-logs-dev-{name}"
    key = "logs-us-east-1" if name == "edge-cloudfront" else "logs"
    assert group.property_dependencies["kmsKeyId"] == [recording.one(KEY, key).urn]
    assert group.inputs["retentionInDays"] == paved.presets.PRESETS["prod"]["edge"]["wafLogRetentionDays"]
    logging = recording.one(LOGGING, name)
    assert logging.property_dependencies["logDestinationConfigs"] == [group.urn]
    assert logging.property_dependencies["resourceArn"] == [_acl(recording, name).urn]


@pytest.mark.parametrize("name", ACLS)
def test_logging_redacts_credentials(recording: Recording, name: str) -> None:
    redacted = recording.one(LOGGING, name).inputs["redactedFields"]
    assert {field["singleHeader"]["name"] for field in redacted} == {"authorization", "cookie"}


def test_association_depends_on_the_given_resource(recording: Recording) -> None:
    association = recording.one(ASSOCIATION)
    alb = recording.one("aws:lb/loadBalancer:LoadBalancer", "alb")
    acl = _acl(recording, "edge-regional")
    assert association.name == "edge-regional-alb"
    assert association.property_dependencies["resourceArn"] == [alb.urn]
    assert association.property_dependencies["webAclArn"] == [acl.urn]
    assert association.parent == acl.parent


def test_association_is_refused_for_cloudfront(recording: Recording) -> None:
    assert "CLOUDFRONT" in recording.stack_outputs["cloudfront_associate_refused"]
    assert [a.name for a in recording.of_type(ASSOCIATION)] == ["edge-regional-alb"]


def test_cloudfront_acl_and_its_children_use_the_us_east_1_provider(recording: Recording) -> None:
    cloudfront = _acl(recording, "edge-cloudfront")
    children = [
        cloudfront,
        recording.one(LOG_GROUP, "edge-cloudfront-logs"),
        recording.one(LOGGING, "edge-cloudfront"),
    ]
    children.append(recording.one(ALARM, "edge-cloudfront-blocked-requests"))
    for resource in children:
        assert resource.provider_urn == US_EAST_1, resource.name
    for name in ("edge-regional", "direct-regional"):
        assert _acl(recording, name).provider_urn == DEFAULT_PROVIDER
        assert recording.one(LOG_GROUP, f"{name}-logs").provider_urn == DEFAULT_PROVIDER


@pytest.mark.parametrize(
    ("overrides", "scope", "client_ip"),
    [(CONFIGURED, "CLOUDFRONT", True), (CONFIGURED, "REGIONAL", False), ({}, "REGIONAL", True)],
)
def test_wcu_total_stays_within_the_default_capacity(
    overrides: dict[str, Any], scope: Scope, client_ip: bool
) -> None:
    wcu = rules_wcu(scope=scope, client_ip_rules=client_ip, args=_edge(overrides))
    # The documented capacities: aws-managed-rule-groups-baseline / -use-case / -ip-rep.
    assert MANAGED_GROUP_WCU == {
        "AWSManagedRulesCommonRuleSet": 700,
        "AWSManagedRulesKnownBadInputsRuleSet": 200,
        "AWSManagedRulesSQLiRuleSet": 200,
        "AWSManagedRulesLinuxRuleSet": 200,
        "AWSManagedRulesAmazonIpReputationList": 25,
    }
    managed = sum(MANAGED_GROUP_WCU[g] for g in BASELINE | ({IP_REPUTATION} if client_ip else set()))
    assert sum(v for k, v in wcu.items() if k.startswith("AWS-")) == managed
    assert sum(wcu.values()) <= DEFAULT_CAPACITY_WCU == 1500


def test_the_configured_cloudfront_acl_costs_what_its_rules_cost() -> None:
    wcu = rules_wcu(scope="CLOUDFRONT", client_ip_rules=True, args=_edge(CONFIGURED))
    # 2 upload paths × (STARTS_WITH 2 + URL_DECODE 10 + NORMALIZE_PATH 10) + 2 methods × EXACTLY 2, 2 IP
    # sets, 1 geo, rate 2, and each rate-limited path: rate 2 + its scope-down statement (the upload paths'
    # match, 22).
    assert {k: v for k, v in wcu.items() if not k.startswith("AWS-")} == {
        "ingress-allow-list": 2,
        "geo-block": 1,
        "rate-limit-per-ip": 2,
        "rate-limit-path-api-auth": 24,
        "rate-limit-path-api": 24,
        "upload-path": 48,
        "uri-path-size": 1,
        "body-size": 2,
        "body-size-except-uploads": 2,
    }
    assert sum(wcu.values()) == 1325 + 58 + 48


def test_too_many_upload_paths_are_refused_before_anything_is_declared() -> None:
    from components.waf import WebAcl

    # Config caps uploadPaths at 5; the component's own check is the net for args built around config.
    paths = [f"/upload{i}" for i in range(10)]
    args = _edge(CONFIGURED).model_copy(update={"upload_paths": paths})
    assert sum(rules_wcu(scope="CLOUDFRONT", client_ip_rules=True, args=args).values()) > DEFAULT_CAPACITY_WCU
    with pytest.raises(ValueError, match="WCU"):
        WebAcl(
            "too-big",
            args,
            scope="CLOUDFRONT",
            client_ip_rules=True,
            logs_key_arn="arn:aws:kms:us-east-1:123456789012:key/x",
            alerting=None,  # type: ignore[arg-type]  # never reached: the capacity check comes first
            protect=False,
            tags={},
        )


@pytest.mark.parametrize(("name", "region"), [("edge-regional", "eu-west-1"), ("edge-cloudfront", None)])
def test_blocked_requests_alarm_notifies(recording: Recording, name: str, region: str | None) -> None:
    alarm = recording.one(ALARM, f"{name}-blocked-requests")
    inputs = alarm.inputs
    assert inputs["alarmActions"] and inputs["okActions"]
    assert alarm.property_dependencies["alarmActions"]
    assert (inputs["namespace"], inputs["metricName"], inputs["statistic"]) == (
        "AWS/WAFV2",
        "BlockedRequests",
        "Sum",
    )
    assert inputs["comparisonOperator"] == "GreaterThanThreshold"
    dimensions = inputs["dimensions"]
    assert dimensions["Rule"] == "ALL"
    assert alarm.property_dependencies["dimensions"] == [_acl(recording, name).urn]
    assert dimensions.get("Region") == region
    assert set(dimensions) == {"WebACL", "Rule"} | ({"Region"} if region else set())


@pytest.mark.parametrize(
    ("name", "rule"),
    [
        ("edge-regional", CONFIGURED["blockedRequestsAlarm"]),
        ("direct-regional", paved.presets.PRESETS["prod"]["edge"]["blockedRequestsAlarm"]),
    ],
    ids=["configured", "preset"],
)
def test_blocked_requests_alarm_takes_its_rule(recording: Recording, name: str, rule: dict[str, Any]) -> None:
    inputs = recording.one(ALARM, f"{name}-blocked-requests").inputs
    recorded = [inputs[key] for key in ("threshold", "evaluationPeriods", "datapointsToAlarm", "period")]
    assert recorded == [rule["threshold"], rule["periods"], rule["periods"], rule["periodSeconds"]]


def test_blocked_requests_alarm_says_its_window(recording: Recording) -> None:
    description = recording.one(ALARM, "edge-regional-blocked-requests").inputs["alarmDescription"]
    assert "blocked more than 500 requests for 2 minutes:" in description


def test_the_largest_config_allowed_fits_the_base_capacity() -> None:
    # paved:edge.uploadPaths is capped at 5 in config; with pathRateLimits the loader adds up each ACL
    # (test_a_stack_whose_acl_would_exceed_the_base_capacity_is_refused).
    from components.edge import EdgeArgs
    from components.waf import DEFAULT_CAPACITY_WCU, rules_wcu
    from paved.presets import PRESETS

    busiest = EdgeArgs.model_validate(
        PRESETS["prod"]["edge"]
        | {
            "uploadPaths": [f"/upload{i}" for i in range(5)],
            "uploadMethods": ["POST", "PUT", "PATCH"],
            "geoBlockCountries": ["KP", "IR"],
            "ingressCidrs": ["203.0.113.0/24", "2001:db8::/32"],
        }
    )
    for scope in ("REGIONAL", "CLOUDFRONT"):
        assert (
            sum(rules_wcu(scope=scope, client_ip_rules=True, args=busiest).values()) <= DEFAULT_CAPACITY_WCU
        )
    with pytest.raises(ValueError, match="at most 5"):
        EdgeArgs.model_validate(PRESETS["prod"]["edge"] | {"uploadPaths": [f"/u{i}" for i in range(6)]})


def test_a_stack_whose_acl_would_exceed_the_base_capacity_is_refused() -> None:
    from tests.stack_config import problems_of, section, shipped

    # Prod's CLOUDFRONT ACL: 1,329 WCU of its own, 24 per rate-limited path; seven fit, eight do not.
    limits = [{"path": f"/p{i}/", "limit": 100} for i in range(8)]
    raw = section("paved:edge", {"pathRateLimits": limits})(shipped("prod"))
    [problem] = [p for p in problems_of(raw, "prod") if p.path == "paved:edge.pathRateLimits"]
    assert "CLOUDFRONT web ACL would need 1521 WCU" in problem.message
    assert "24 WCU each" in problem.hint
    within = section("paved:edge", {"pathRateLimits": limits[:7]})(shipped("prod"))
    assert load_stack_config(within, "prod").edge.path_rate_limits[6].path == "/p6/"
