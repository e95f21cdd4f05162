"""Uptime canaries (components/uptime.py), read as the engine records their inputs, and their script run
under Node.js against a stand-in for the Synthetics library. Facts: docs/aws-facts/canaries.md."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from datetime import date
from pathlib import Path
from typing import Any

import pytest

import paved.catalogues
from components.uptime import URLS_VARIABLE, canary_name, script
from paved.config import load_stack_config
from paved.presets import PRESETS
from paved.program import run_project
from paved.recorder import Recording
from tests.stack_config import (
    ROOT,
    Mutation,
    apps,
    assert_rule_reports_path_and_hint,
    case,
    changed,
    paths_of,
    section,
    shipped,
)

CANARY = "aws:synthetics/canary:Canary"
IP_SET = "aws:wafv2/ipSet:IpSet"
NAT = "aws:ec2/natGateway:NatGateway"
# botocore's synthetics model, CanaryName.
CANARY_NAME = re.compile(r"[0-9a-z_\-]{1,255}")


def _canaries(recording: Recording) -> dict[str, Any]:
    return {canary.name.removeprefix("uptime-"): canary for canary in recording.of_type(CANARY)}


def _statements(recording: Recording) -> dict[str, dict[str, Any]]:
    policy = recording.one("aws:iam/rolePolicy:RolePolicy", "uptime-canary")
    return {s["Sid"]: s for s in json.loads(policy.resolved_inputs["policy"])["Statement"]}


@pytest.mark.parametrize("stack", ["prod", "staging"])
def test_every_public_app_gets_a_canary_on_its_public_urls(
    stack: str, request: pytest.FixtureRequest
) -> None:
    recording: Recording = request.getfixturevalue(stack)
    raw = shipped(stack)
    domain = raw["paved:domain"]["name"]
    public = {app["name"]: app for app in raw["paved:apps"] if "publicPath" in app or "host" in app}
    canaries = _canaries(recording)
    assert sorted(canaries) == sorted(public)
    for app, canary in canaries.items():
        inputs = canary.inputs
        assert CANARY_NAME.fullmatch(inputs["name"]) and inputs["name"] == canary_name(stack, app)
        host = public[app].get("host") or domain
        paths = public[app].get("uptimePaths") or [public[app]["publicPath"].rstrip("*")]
        assert inputs["runConfig"]["environmentVariables"] == {
            URLS_VARIABLE: " ".join(f"https://{host}{path}" for path in paths)
        }
        # The zip's script, by the handler's file name; artifacts under results/, SSE-KMS with the logs key.
        assert inputs["handler"] == "uptime_check.handler" and inputs["runtimeVersion"].startswith(
            "syn-nodejs-"
        )
        assert inputs["artifactConfig"]["s3Encryption"]["encryptionMode"] == "SSE_KMS"
        assert recording.one("aws:kms/key:Key", "logs").urn in canary.property_dependencies["artifactConfig"]
        assert inputs["startCanary"] is True and inputs["deleteLambda"] is True
        assert re.fullmatch(r"rate\(\d+ minutes?\)|rate\(1 hour\)", inputs["schedule"]["expression"])
        code = recording.one("aws:s3/bucketObjectv2:BucketObjectv2", "uptime-code")
        assert canary.property_dependencies["s3Key"] == [code.urn]


def test_the_zip_holds_the_script_where_the_nodejs_runtime_loads_it(prod: Recording) -> None:
    code = prod.one("aws:s3/bucketObjectv2:BucketObjectv2", "uptime-code")
    archive = code.inputs["source"]
    assert archive["assets"]["nodejs/node_modules/uptime_check.js"]["text"] == script()
    # Named by content: a changed script is a new key, which updates the canaries.
    assert re.fullmatch(r"uptime-check-[0-9a-f]{12}\.zip", code.inputs["key"])


def test_canaries_start_after_the_apps_and_the_edge(prod: Recording) -> None:
    # A component in depends_on reaches the engine as its children.
    canary = _canaries(prod)["web"]
    for component in [*prod.of_type("paved:workload:Workload"), *prod.of_type("paved:waf:WebAcl")]:
        children = {child.urn for child in prod.children_of(component.urn)}
        assert children and children & set(canary.dependencies), component.name


def test_each_canary_alarms_on_its_success_rate_and_treats_silence_as_failure(prod: Recording) -> None:
    for app, canary in _canaries(prod).items():
        alarm = prod.one("aws:cloudwatch/metricAlarm:MetricAlarm", f"uptime-{app}")
        inputs = alarm.inputs
        assert (inputs["namespace"], inputs["metricName"], inputs["statistic"]) == (
            "CloudWatchSynthetics",
            "SuccessPercent",
            "Average",
        )
        assert alarm.property_dependencies["dimensions"] == [canary.urn]
        assert inputs["comparisonOperator"] == "LessThanThreshold" and inputs["threshold"] == 90
        assert inputs["treatMissingData"] == "breaching" and inputs["period"] == 300


def test_prod_canaries_run_outside_the_vpc_and_staging_ones_inside_behind_the_nat(
    prod: Recording, staging: Recording
) -> None:
    assert all("vpcConfig" not in canary.inputs for canary in _canaries(prod).values())
    group = staging.one("aws:ec2/securityGroup:SecurityGroup", "uptime-canary")
    for canary in _canaries(staging).values():
        private = {s.urn for s in staging.of_type("aws:ec2/subnet:Subnet") if "-private-" in s.name}
        assert set(canary.property_dependencies["vpcConfig"]) == {group.urn, *private}
    # HTTPS out only, and nothing in.
    egress = staging.of_type("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")
    ours = [rule for rule in egress if rule.property_dependencies.get("securityGroupId") == [group.urn]]
    assert [(r.inputs["fromPort"], r.inputs["toPort"], r.inputs["cidrIpv4"]) for r in ours] == [
        (443, 443, "0.0.0.0/0")
    ]
    ingress = staging.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
    assert not [rule for rule in ingress if rule.property_dependencies.get("securityGroupId") == [group.urn]]


def test_staging_allow_list_admits_the_nat_gateways_the_canaries_leave_through(staging: Recording) -> None:
    [ipv4] = [s for s in staging.of_type(IP_SET) if s.inputs["ipAddressVersion"] == "IPV4"]
    nat_urns = {nat.urn for nat in staging.of_type(NAT)}
    assert nat_urns and nat_urns <= set(ipv4.property_dependencies["addresses"])
    assert "203.0.113.0/24" in ipv4.resolved_inputs["addresses"]


def test_prod_admits_everyone_so_no_probe_addresses_are_listed(prod: Recording) -> None:
    assert prod.of_type(IP_SET) == []


def test_without_cloudfront_the_alb_admits_the_nat_gateways_on_https_only() -> None:
    raw = changed(shipped("staging"), {"paved:edge": {"cloudfront": False}})
    recording = run_project(ROOT, "staging", raw)
    nat_urns = {nat.urn for nat in recording.of_type(NAT)}
    probes = [
        rule
        for rule in recording.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
        if rule.name.startswith("alb-sg-probe-")
    ]
    assert len(probes) == len(nat_urns) >= 1
    for rule in probes:
        assert (rule.inputs["fromPort"], rule.inputs["toPort"]) == (443, 443)
        assert set(rule.property_dependencies["cidrIpv4"]) <= nat_urns


def test_the_role_writes_only_artifacts_and_synthetics_metrics(prod: Recording, staging: Recording) -> None:
    for recording in (prod, staging):
        statements = _statements(recording)
        actions = {
            action
            for s in statements.values()
            for action in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
        }
        # No log group: Lambda would create it unencrypted and kept forever (the module's docstring).
        assert not [action for action in actions if action.startswith("logs:")]
        assert statements["RunArtifacts"]["Resource"].endswith("/results/*")
        assert statements["CanaryMetrics"]["Condition"] == {
            "StringEquals": {"cloudwatch:namespace": "CloudWatchSynthetics"}
        }
        assert statements["ArtifactKey"]["Condition"]["StringEquals"]["kms:ViaService"].startswith("s3.")
        wildcard = sorted(sid for sid, s in statements.items() if s["Resource"] == "*")
        expected = ["CanaryMetrics", "FindArtifactBucket"]
        if recording is staging:
            expected = ["CanaryMetrics", "CanaryNetworkInterfaces", "FindArtifactBucket"]
        assert wildcard == expected
    role = prod.one("aws:iam/role:Role", "uptime-canary")
    [trust] = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    assert trust["Principal"] == {"Service": "lambda.amazonaws.com"}


def test_artifacts_expire_and_the_script_is_kept(prod: Recording) -> None:
    def expiration(name: str) -> dict[str, Any]:
        [rule] = prod.one("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", name).inputs[
            "rules"
        ]
        return rule["expiration"]

    assert expiration("uptime-artifacts") == {"days": 31}
    assert "days" not in expiration("uptime-code")


def test_a_disabled_uptime_declares_no_canary() -> None:
    raw = changed(shipped("staging"), {"paved:uptime": {"enabled": False}})
    recording = run_project(ROOT, "staging", raw)
    assert recording.of_type(CANARY) == []
    assert not [s for s in recording.of_type(IP_SET) if s.property_dependencies.get("addresses")]


RULE_CASES = [
    case(
        "prod",
        section("paved:uptime", {"runtime": "syn-nodejs-puppeteer-15.0"}),
        "paved:uptime.runtime",
        "browser",
    ),
    case("prod", section("paved:uptime", {"runtime": "syn-nodejs-9.9"}), "paved:uptime.runtime", "unknown"),
    case(
        "prod",
        section("paved:uptime", {"intervalMinutes": 1, "timeoutSeconds": 120}),
        "paved:uptime.timeoutSeconds",
        "timeout-over-interval",
    ),
    case(
        "staging",
        section("paved:uptime", {"alarm": {"threshold": 90, "periods": 2, "periodSeconds": 300}}),
        "paved:uptime.alarm.periodSeconds",
        "period-shorter-than-interval",
    ),
    case(
        "prod",
        section("paved:uptime", {"alarm": {"threshold": 101, "periods": 2, "periodSeconds": 300}}),
        "paved:uptime.alarm.threshold",
        "threshold-over-100",
    ),
    case(
        "prod", apps(1, {"uptimePaths": ["/health"]}), "paved:apps[1].uptimePaths[0]", "path-of-another-app"
    ),
    case("prod", apps(1, {"uptimePaths": ["/api/*"]}), "paved:apps[1].uptimePaths[0]", "wildcard"),
    case(
        "prod",
        apps(1, {"uptimePaths": ["/api/metrics"], "metricsPath": "/api/metrics"}),
        "paved:apps[1].uptimePaths[0]",
        "metrics-path",
    ),
    case("prod", apps(2, {"uptimePaths": ["/health"]}), "paved:apps[2].uptimePaths", "worker"),
]


@pytest.mark.parametrize(("stack", "mutation", "path"), RULE_CASES)
def test_rule_reports_path_and_hint(stack: str, mutation: Mutation, path: str) -> None:
    assert_rule_reports_path_and_hint(stack, mutation, path)


def test_a_runtime_is_refused_from_the_day_aws_deprecates_it(monkeypatch: pytest.MonkeyPatch) -> None:
    raw = changed(shipped("prod"), {"paved:uptime": {"runtime": "syn-nodejs-3.1"}})
    assert load_stack_config(raw, "prod").uptime.runtime == "syn-nodejs-3.1"
    calendar = {**paved.catalogues.SYNTHETICS_NODEJS_RUNTIMES, "syn-nodejs-3.1": date(2026, 1, 1)}
    monkeypatch.setattr(paved.catalogues, "SYNTHETICS_NODEJS_RUNTIMES", calendar)
    assert "paved:uptime.runtime" in paths_of(raw, "prod")


def test_the_pinned_runtime_is_in_the_calendar_and_browserless() -> None:
    for environment in ("prod", "staging"):
        pinned = PRESETS[environment]["uptime"]["runtime"]
        assert paved.catalogues.synthetics_runtime_problem(pinned, paved.catalogues.today()) is None
    assert paved.catalogues.synthetics_runtime_problem("syn-python-selenium-12.0", date(2026, 12, 6))


NODE = shutil.which("node")
# A stand-in for @aws/synthetics-core that records each step, failing any URL whose path holds "down".
_FAKE_LIBRARY = """
const calls = [];
module.exports = {
  synthetics: {
    getCanaryUserAgentString: () => 'CloudWatchSynthetics/test',
    executeHttpStep: async (name, options) => {
      calls.push({ name, options });
      if (options.path.includes('down')) throw new Error('HTTP 503 ' + options.path);
    },
  },
  calls,
};
"""
_RUNNER = """
const library = require('@aws/synthetics-core');
require('./nodejs/node_modules/uptime_check.js').handler().then(
  () => console.log(JSON.stringify({ ok: true, calls: library.calls })),
  (error) => console.log(JSON.stringify({ ok: false, error: String(error), calls: library.calls })),
);
"""


def _run_script(tmp_path: Path, urls: str) -> dict[str, Any]:
    library = tmp_path / "node_modules" / "@aws" / "synthetics-core"
    library.mkdir(parents=True)
    (library / "index.js").write_text(_FAKE_LIBRARY)
    modules = tmp_path / "nodejs" / "node_modules"
    modules.mkdir(parents=True)
    (modules / "uptime_check.js").write_text(script())
    (tmp_path / "run.js").write_text(_RUNNER)
    assert NODE is not None
    completed = subprocess.run(
        [NODE, "run.js"],
        cwd=tmp_path,
        env={URLS_VARIABLE: urls, "NODE_PATH": str(tmp_path / "node_modules")},
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return json.loads(completed.stdout)


@pytest.mark.skipif(NODE is None, reason="needs Node.js to run the canary script")
def test_the_script_gets_each_url_over_https_as_its_own_step(tmp_path: Path) -> None:
    result = _run_script(tmp_path, "https://app.example.com/ https://app.example.com/api/health?deep=1")
    assert result["ok"] is True
    assert [
        (call["name"], call["options"]["hostname"], call["options"]["path"]) for call in result["calls"]
    ] == [
        ("GET /", "app.example.com", "/"),
        ("GET /api/health", "app.example.com", "/api/health?deep=1"),
    ]
    assert {(call["options"]["protocol"], call["options"]["port"]) for call in result["calls"]} == {
        ("https:", 443)
    }


@pytest.mark.skipif(NODE is None, reason="needs Node.js to run the canary script")
def test_the_script_fails_on_a_failing_step_and_on_no_urls(tmp_path: Path) -> None:
    failed = _run_script(tmp_path / "a", "https://app.example.com/down")
    assert failed["ok"] is False and "503" in failed["error"]
    empty = _run_script(tmp_path / "b", "")
    assert empty["ok"] is False and URLS_VARIABLE in empty["error"]
