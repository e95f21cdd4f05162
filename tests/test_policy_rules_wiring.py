"""The wiring family: the wiring proof (`paved_policies.wiring`) as the pack's `wiring-proof` stack policy.

The proof itself is tested in tests/test_wiring_*.py; here, that the pack hands it the stack the engine sent
(resources, parents, dependencies, propertyDependencies, the stack's config) the way `paved flows --preview`
reads a saved CLI preview, and that only failing flows become violations, on the stack's root resource; once
through the policy harness, once through a pack process over the Analyzer protocol, as paved preview runs it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from paved_policies.rules import wiring
from paved_policies.wiring.placeholders import Origin

from paved.preview import run_preview
from tests.flow_fakes import BROKEN, CONDITIONAL, PRESENT_FORBIDDEN, PROVEN, UNRESOLVED, proving
from tests.policy_harness import UNKNOWN, Family, Res, StackCase, StackFuzzTarget, run_stack, urn_of

SAMPLE = Path(__file__).parent / "fixtures" / "sample_program"
POLICY = "wiring-proof"
STACK = "pulumi:pulumi:Stack"
COMPONENT = "paved:index:Network"
SG = "aws:ec2/securityGroup:SecurityGroup"
SG_INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"

APP_SG = Res(SG, "app", {"description": "app pods", "vpcId": UNKNOWN}, parent="network")
ALB_SG = Res(SG, "alb", {"description": "ALB", "vpcId": UNKNOWN}, parent="network")
APP_FROM_ALB = Res(
    SG_INGRESS,
    "app-from-alb",
    {
        "securityGroupId": UNKNOWN,
        "referencedSecurityGroupId": UNKNOWN,
        "ipProtocol": "tcp",
        "fromPort": 8080.0,
        "toPort": 8080.0,
        "tags": {"Name": UNKNOWN},
    },
    prop_deps={"securityGroupId": ["app"], "referencedSecurityGroupId": ["alb"]},
    parent="app",
)
SMALL_STACK = [
    Res(STACK, "paved-prod"),
    Res(COMPONENT, "network", parent="paved-prod"),
    APP_SG,
    ALB_SG,
    APP_FROM_ALB,
]

STACK_CASES: list[StackCase] = [
    ("stack-that-proves", POLICY, SMALL_STACK, "ok", []),
]


def test_the_proof_reads_the_stack_the_engine_sent(monkeypatch: pytest.MonkeyPatch) -> None:
    apps = [{"name": "api", "port": 8080}]
    config = {"paved:apps": json.dumps(apps), "aws:region": "eu-west-1"}
    monkeypatch.setenv("PULUMI_CONFIG", json.dumps(config))
    seen = proving(monkeypatch, wiring, [])
    assert run_stack(POLICY, SMALL_STACK).status == "ok"
    [snapshot] = seen
    assert list(snapshot.resources) == [urn_of(r.resource_type, r.name) for r in SMALL_STACK]
    rule = snapshot.resources[urn_of(SG_INGRESS, "app-from-alb")]
    app, alb = urn_of(SG, "app"), urn_of(SG, "alb")
    assert (rule.type, rule.name, rule.parent) == (SG_INGRESS, "app-from-alb", app)
    assert snapshot.resources[app].parent == urn_of(COMPONENT, "network")
    assert rule.property_dependencies == {"securityGroupId": [app], "referencedSecurityGroupId": [alb]}
    assert sorted(rule.dependencies) == sorted([app, alb])
    assert rule.get("fromPort") == 8080
    # Unknown ids traced through propertyDependencies, as for a saved `pulumi preview --json`...
    assert snapshot.origin(rule.get("securityGroupId")) == Origin(app, "id")
    assert snapshot.origin(rule.get("referencedSecurityGroupId")) == Origin(alb, "id")
    # ...and what cannot be traced stays unknown and listed, never guessed.
    assert rule.get("tags.Name") == UNKNOWN
    assert (rule.urn, "tags.Name") in {(u.urn, u.path) for u in snapshot.unresolved}
    assert snapshot.config["paved:apps"] == apps
    assert snapshot.place.region == "eu-west-1"


def test_failing_flows_are_one_violation_on_the_stack(monkeypatch: pytest.MonkeyPatch) -> None:
    proving(monkeypatch, wiring, [BROKEN, PROVEN, PRESENT_FORBIDDEN, CONDITIONAL, UNRESOLVED])
    outcome = run_stack(POLICY, SMALL_STACK)
    [(message, urn)] = outcome.violations
    assert urn == urn_of(STACK, "paved-prod")
    assert message.splitlines() == [
        "'paved-prod': 2 wiring flow(s) fail:",
        "- required runner->eks-api (title of runner->eks-api): no ingress on 'eks-cluster' from the runner",
        "- forbidden internet-x->database (title of internet-x->database): 'db-sg' admits 0.0.0.0/0",
    ]


def test_conditional_and_unresolved_flows_are_shown_not_violations(monkeypatch: pytest.MonkeyPatch) -> None:
    proving(monkeypatch, wiring, [PROVEN, CONDITIONAL, UNRESOLVED])
    assert run_stack(POLICY, SMALL_STACK).status == "ok"


def test_without_a_stack_config_the_proof_gets_an_empty_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PULUMI_CONFIG", raising=False)
    seen = proving(monkeypatch, wiring, [])
    run_stack(POLICY, SMALL_STACK)
    assert seen[0].config == {}


FAMILY = Family(
    name="wiring",
    rules=wiring.RULES,
    resource_cases=(),
    stack_cases=STACK_CASES,
    # The proof on a table row's tiny stack fails nothing; failing flows come from the proof's own tests.
    covered_elsewhere={POLICY: ("violation", test_failing_flows_are_one_violation_on_the_stack)},
    fuzz_keys=["securityGroupId", "referencedSecurityGroupId", "ipProtocol", "fromPort", "toPort"],
    stack_fuzz=[StackFuzzTarget(POLICY, STACK, SG_INGRESS, "securityGroupId")],
)


# The pack's own __main__, with a proof that says what it was given, served over the Analyzer protocol.
PROBE_PACK = """
import json

from paved_policies import dispatch
from paved_policies.pack import build_policies
from paved_policies.rules import wiring
from paved_policies.wiring.verdicts import FlowResult, Verdict
from pulumi_policy import EnforcementLevel, PolicyPack


def prove(snapshot):
    seen = {"urns": sorted(snapshot.resources), "config": snapshot.config}
    return [FlowResult("probe", "required", "what the pack saw", Verdict.BROKEN, (), json.dumps(seen))]


wiring.prove = prove
dispatch.install()
PolicyPack(name="wiring-probe", policies=build_policies(), enforcement_level=EnforcementLevel.MANDATORY)
"""


def test_the_pack_proves_the_stack_paved_preview_sends_it(tmp_path: Path) -> None:
    (tmp_path / "PulumiPolicy.yaml").write_text("runtime: python\nversion: 0.1.0\n")
    (tmp_path / "__main__.py").write_text(PROBE_PACK)
    result = run_preview(SAMPLE, "dev", [tmp_path])
    [violation] = [v for v in result.violations if v.policy == POLICY]
    assert result.recording is not None
    assert (violation.level, violation.urn) == ("mandatory", result.recording.stack_resource.urn)
    # The SDK puts the policy's description first.
    description, header, line = violation.message.splitlines()
    assert description == wiring.wiring_proof.description
    assert header == f"'{result.recording.stack_resource.name}': 1 wiring flow(s) fail:"
    seen = json.loads(line.removeprefix("- required probe (what the pack saw): "))
    assert seen["urns"] == sorted(r.urn for r in result.recording.resources)
    assert seen["config"]["demo:thing"] == {"a": 1}
