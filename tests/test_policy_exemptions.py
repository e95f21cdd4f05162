"""Tests for exemptions: a resource let off a named policy by tag, annotation or config, with a reason, and
the advisory `paved-exemptions` report that keeps every exemption visible (issue #6, "Exemptions").

The shared harness (tests/policy_harness.py): every policy runs through the real pulumi_policy objects with
props wrapped by `unknown_checking_proxy`, numbers as floats, unknowns as the engine's sentinels. The last
tests drive the pack's own process over the Analyzer protocol, as `paved preview` does.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from paved_policies.exemptions import EXEMPTIONS_SCHEMA, LEDGER, Record
from paved_policies.framework import EXEMPTIONS_POLICY, rule_config
from paved_policies.pack import RULES
from paved_policies.rule import NO_CONFIG
from pulumi_policy import StackValidationPolicy
from pulumi_policy.proxy import UNKNOWN_ARRAY_VALUE, UNKNOWN_STRING_VALUE, UnknownValueError

from paved.analyzer import PackResult, StackContext, analyze_with_pack
from paved.recorder import RecordedResource, Recording
from tests.policy_harness import POLICIES, Outcome, Res, run_resource, run_stack, urn_of
from tests.test_policy_rules import DEFAULT_VPC, SG, VPC, WORLD, ingress

ROOT = Path(__file__).resolve().parent.parent
UNKNOWN = UNKNOWN_STRING_VALUE

SG_POLICY = "security-group-no-public-ingress"
FLOW = "vpc-flow-logs-enabled"
TAGS_POLICY = "aws-required-tags"
RESOURCES = "k8s-container-resources"
FLOW_LOG = "aws:ec2/flowLog:FlowLog"
QUEUE = "aws:sqs/queue:Queue"
ASG = "aws:autoscaling/group:Group"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"

SSH_WORLD: list[dict[str, Any]] = [ingress("tcp", 22.0, 22.0, WORLD)]
SSH_MESSAGE = "tcp ports 22-22 from 0.0.0.0/0"
HTTPS_WORLD: list[dict[str, Any]] = [ingress("tcp", 443.0, 443.0, WORLD)]
REASON = "bastion host, ticket OPS-42"


@pytest.fixture(autouse=True)
def empty_ledger() -> Iterator[None]:
    """The ledger is the pack process's; each test starts (and leaves) it empty."""
    LEDGER.clear()
    yield
    LEDGER.clear()


def exempt_tags(names: str, reason: str | None = REASON, **extra: str) -> dict[str, str]:
    tags = {"environment": "prod", "paved:exempt": names, **extra}
    if reason is not None:
        tags["paved:exempt-reason"] = reason
    return tags


def open_sg(tags: Mapping[str, str] | None = None, rules: list[dict[str, Any]] = SSH_WORLD) -> dict[str, Any]:
    # Described, so security-group-descriptions has nothing to add to what these tests look at.
    described = [{**rule, "description": "from anywhere"} for rule in copy.deepcopy(rules)]
    props: dict[str, Any] = {"description": "exemption test group", "ingress": described, "egress": []}
    if tags is not None:
        props["tags"] = dict(tags)
    return props


def only_record() -> Record:
    [record] = LEDGER.records()
    return record


def report(specs: list[Res]) -> Outcome:
    """What `paved-exemptions` says after the policies ran: it reads the ledger and the stack's labels."""
    return run_stack(EXEMPTIONS_POLICY, specs)


# ---------------------------------------------------------------------------------------------
# By AWS tags, on a resource policy.


def test_a_tag_exempts_an_open_security_group_and_the_report_says_what_it_hides() -> None:
    outcome = run_resource(SG_POLICY, SG, open_sg(exempt_tags(SG_POLICY)))
    assert outcome.status == "n/a" and outcome.not_applicable == f"exempt: {REASON}"
    record = only_record()
    assert (record.policy, record.urn) == (SG_POLICY, urn_of(SG, "res"))
    assert record.exemption.reason == REASON and record.exemption.source == "tag paved:exempt"
    assert record.would_have_said is not None and SSH_MESSAGE in record.would_have_said

    reported = report([Res(SG, "res", open_sg(exempt_tags(SG_POLICY)))])
    [(message, urn)] = reported.violations
    assert urn == urn_of(SG, "res")
    assert f"exempt from '{SG_POLICY}'" in message and REASON in message
    assert "Without it: " in message and SSH_MESSAGE in message


def test_an_exemption_on_a_compliant_resource_is_reported_as_no_longer_needed() -> None:
    outcome = run_resource(SG_POLICY, SG, open_sg(exempt_tags(SG_POLICY), rules=HTTPS_WORLD))
    assert outcome.not_applicable == f"exempt: {REASON}"
    assert only_record().would_have_said is None
    [(message, urn)] = report([]).violations
    assert urn == urn_of(SG, "res")
    assert "complies now: remove the exemption" in message and "Without it" not in message


def test_an_exemption_naming_another_policy_does_not_exempt() -> None:
    outcome = run_resource(SG_POLICY, SG, open_sg(exempt_tags("default-security-group-closed")))
    assert outcome.status == "violation"
    [(message, _)] = outcome.violations
    assert SSH_MESSAGE in message and "exemption" not in message
    assert LEDGER.records() == []


@pytest.mark.parametrize(
    "names",
    [
        f"{SG_POLICY} aws-required-tags",
        f"aws-required-tags/{SG_POLICY}",
        f"aws-required-tags,{SG_POLICY}",
        f" aws-required-tags , {SG_POLICY} / kms-key-rotation-enabled ",
        f"{SG_POLICY}",
    ],
)
def test_policy_names_are_separated_by_spaces_slashes_or_commas(names: str) -> None:
    assert run_resource(SG_POLICY, SG, open_sg(exempt_tags(names))).status == "n/a"
    assert only_record().policy == SG_POLICY


def test_a_name_is_matched_whole_not_as_a_substring() -> None:
    outcome = run_resource(SG_POLICY, SG, open_sg(exempt_tags(f"{SG_POLICY}-v2 no-public-ingress")))
    assert outcome.status == "violation" and LEDGER.records() == []


@pytest.mark.parametrize("reason", [None, "", "   "])
def test_a_tag_without_a_reason_is_refused_and_the_violation_says_so(reason: str | None) -> None:
    outcome = run_resource(SG_POLICY, SG, open_sg(exempt_tags(SG_POLICY, reason=reason)))
    [(message, _)] = outcome.violations
    assert SSH_MESSAGE in message
    refusal = "(exemption refused: its tag paved:exempt names this policy but it has no paved:exempt-reason)"
    assert refusal in message
    assert LEDGER.records() == []


def test_a_refused_exemption_on_a_compliant_resource_changes_nothing() -> None:
    outcome = run_resource(SG_POLICY, SG, open_sg(exempt_tags(SG_POLICY, reason=None), rules=HTTPS_WORLD))
    assert outcome.status == "ok" and LEDGER.records() == []


def test_tags_all_carries_an_exemption_set_by_the_provider_default_tags() -> None:
    props = {**open_sg({"environment": "prod"}), "tagsAll": exempt_tags(SG_POLICY)}
    assert run_resource(SG_POLICY, SG, props).status == "n/a"
    assert only_record().policy == SG_POLICY


def test_an_auto_scaling_group_is_exempted_by_its_list_of_tags() -> None:
    """ASGs take `tags` as a list of {key, value, propagateAtLaunch}, not a map."""
    tags = [
        {"key": "team", "value": "platform", "propagateAtLaunch": True},
        {"key": "paved:exempt", "value": TAGS_POLICY, "propagateAtLaunch": False},
        {"key": "paved:exempt-reason", "value": "inherited fleet", "propagateAtLaunch": False},
    ]
    outcome = run_resource(TAGS_POLICY, ASG, {"tags": tags})
    assert outcome.not_applicable == "exempt: inherited fleet"
    assert "environment" in (only_record().would_have_said or "")
    # Without the reason item the exemption is refused.
    refused = run_resource(TAGS_POLICY, ASG, {"tags": tags[:2]})
    [(message, _)] = refused.violations
    assert "exemption refused" in message


# ---------------------------------------------------------------------------------------------
# By policy config: URN fnmatch patterns, for resources whose tags cannot change.


def exemptions(*entries: Mapping[str, Any]) -> dict[str, Any]:
    return {"exemptions": [dict(entry) for entry in entries]}


def test_a_config_pattern_exempts_the_urns_it_matches() -> None:
    config = exemptions({"urn": "*::aws:ec2/securityGroup:SecurityGroup::r?s", "reason": "imported"})
    outcome = run_resource(SG_POLICY, SG, open_sg(), config=config)
    assert outcome.not_applicable == "exempt: imported"
    record = only_record()
    assert record.exemption.source == "config pattern '*::aws:ec2/securityGroup:SecurityGroup::r?s'"
    assert SSH_MESSAGE in (record.would_have_said or "")


def test_a_config_pattern_that_does_not_match_leaves_the_violation() -> None:
    config = exemptions(
        {"urn": "*::legacy-*", "reason": "imported"},
        {"urn": "*::aws:ec2/securityGroup:SecurityGroup::RES", "reason": "case matters"},
    )
    outcome = run_resource(SG_POLICY, SG, open_sg(), config=config)
    [(message, _)] = outcome.violations
    assert SSH_MESSAGE in message and "exemption" not in message
    assert LEDGER.records() == []


def test_a_config_pattern_without_a_reason_is_refused() -> None:
    config = exemptions({"urn": "*::res"}, {"urn": "*", "reason": "later entries are not consulted"})
    [(message, _)] = run_resource(SG_POLICY, SG, open_sg(), config=config).violations
    assert SSH_MESSAGE in message
    assert "(exemption refused: the config exemption '*::res' has no reason)" in message
    assert LEDGER.records() == []


def test_config_of_another_policy_does_not_exempt() -> None:
    config = {TAGS_POLICY: exemptions({"urn": "*", "reason": "wrong level"})}
    assert run_resource(SG_POLICY, SG, open_sg(), config=config).status == "violation"


def test_rule_config_leaves_the_exemptions_out_of_the_rule_own_config() -> None:
    rule = RULES[TAGS_POLICY]
    configured = {"requiredTags": ["environment", "owner"], **exemptions({"urn": "*", "reason": "r"})}
    assert dict(rule_config(rule, configured)) == {"requiredTags": ["environment", "owner"]}
    assert dict(rule_config(rule, exemptions({"urn": "*", "reason": "r"}))) == {
        "requiredTags": ["environment"]
    }
    assert rule_config(RULES[SG_POLICY], configured) is NO_CONFIG


def test_required_tags_config_still_works_beside_exemptions() -> None:
    tags = {"tags": {"environment": "prod"}}
    config = {"requiredTags": ["environment", "owner"], **exemptions({"urn": "*::other", "reason": "r"})}
    [(message, _)] = run_resource(TAGS_POLICY, QUEUE, tags, config=config).violations
    assert "owner" in message
    config["exemptions"] = [{"urn": "*::res", "reason": "owned by the vendor"}]
    assert (
        run_resource(TAGS_POLICY, QUEUE, tags, config=config).not_applicable == "exempt: owned by the vendor"
    )
    assert "lacks the tag(s) owner" in (only_record().would_have_said or "")


# ---------------------------------------------------------------------------------------------
# Kubernetes annotations.


def deployment(annotations: Mapping[str, str] | None = None) -> dict[str, Any]:
    """A Deployment whose container requests nothing: k8s-container-resources fails it."""
    metadata: dict[str, Any] = {"name": "web", "namespace": "web"}
    if annotations is not None:
        metadata["annotations"] = dict(annotations)
    container = {"name": "web", "image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/web:1.4.2"}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": metadata,
        "spec": {
            "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [container]}},
        },
    }


def test_an_annotation_exempts_a_kubernetes_workload() -> None:
    bare = run_resource(RESOURCES, DEPLOYMENT, deployment())
    [(violation_message, _)] = bare.violations
    annotated = deployment(
        {"paved/exempt": f"k8s-readiness-probe,{RESOURCES}", "paved/exempt-reason": "batch"}
    )
    outcome = run_resource(RESOURCES, DEPLOYMENT, annotated)
    assert outcome.not_applicable == "exempt: batch"
    record = only_record()
    assert record.exemption.source == "annotation paved/exempt"
    assert record.would_have_said == violation_message


def test_aws_tag_names_do_not_exempt_a_kubernetes_workload() -> None:
    props = deployment({"paved:exempt": RESOURCES, "paved:exempt-reason": "wrong key"})
    props["tags"] = {"paved:exempt": RESOURCES, "paved:exempt-reason": "not a k8s field"}
    assert run_resource(RESOURCES, DEPLOYMENT, props).status == "violation"
    assert LEDGER.records() == []


@pytest.mark.parametrize(
    "annotations", [{"paved/exempt": RESOURCES}, {"paved/exempt": RESOURCES, "paved/exempt-reason": " "}]
)
def test_an_annotation_without_a_reason_is_refused(annotations: dict[str, str]) -> None:
    [(message, _)] = run_resource(RESOURCES, DEPLOYMENT, deployment(annotations)).violations
    assert "(exemption refused: its annotation paved/exempt names this policy but it has no " in message
    assert message.endswith("paved/exempt-reason)")


# ---------------------------------------------------------------------------------------------
# Stack policies.


def test_a_tag_exempts_a_vpc_from_the_flow_log_stack_policy() -> None:
    exempted = Res(VPC, "sandbox", {"tags": exempt_tags(FLOW, reason="throwaway sandbox")})
    bare = Res(VPC, "bare", {})
    outcome = run_stack(FLOW, [exempted, bare])
    assert [urn for _, urn in outcome.violations] == [urn_of(VPC, "bare")]
    record = only_record()
    assert (record.policy, record.urn) == (FLOW, urn_of(VPC, "sandbox"))
    assert record.would_have_said == f"VPC 'sandbox' has no {FLOW_LOG} whose vpcId is this VPC."


def test_an_exemption_on_the_only_vpc_leaves_no_violation() -> None:
    outcome = run_stack(FLOW, [Res(VPC, "sandbox", {"tags": exempt_tags(FLOW)})])
    assert outcome.violations == [] and outcome.status == "n/a"
    assert outcome.not_applicable == f"every {VPC}, {DEFAULT_VPC} in the stack is exempt or not applicable"
    assert only_record().urn == urn_of(VPC, "sandbox")


def test_a_stack_policy_exemption_on_a_covered_vpc_is_no_longer_needed() -> None:
    vpc = Res(VPC, "covered", {"tags": exempt_tags(FLOW)})
    flow_log = Res(FLOW_LOG, "fl", {"vpcId": UNKNOWN, "trafficType": "ALL"}, prop_deps={"vpcId": ["covered"]})
    assert run_stack(FLOW, [vpc, flow_log]).violations == []
    assert only_record().would_have_said is None


def test_a_config_pattern_exempts_on_a_stack_policy() -> None:
    specs = [Res(VPC, "legacy-1", {}), Res(VPC, "legacy-2", {}), Res(VPC, "new", {})]
    outcome = run_stack(FLOW, specs, config=exemptions({"urn": "*::legacy-*", "reason": "imported"}))
    assert [urn for _, urn in outcome.violations] == [urn_of(VPC, "new")]
    assert [r.urn for r in LEDGER.records()] == [urn_of(VPC, "legacy-1"), urn_of(VPC, "legacy-2")]
    refused = run_stack(FLOW, specs[:1], config=exemptions({"urn": "*::legacy-*", "reason": ""}))
    [(message, _)] = refused.violations
    assert "exemption refused" in message


# ---------------------------------------------------------------------------------------------
# Values unknown during preview.


def test_an_unknown_exemption_tag_counts_as_absent() -> None:
    outcome = run_resource(SG_POLICY, SG, open_sg(exempt_tags(UNKNOWN)))
    [(message, _)] = outcome.violations
    assert SSH_MESSAGE in message and "exemption" not in message
    assert LEDGER.records() == []
    # An unknown tags object as a whole, as in a first preview of some components.
    assert run_resource(SG_POLICY, SG, {**open_sg(), "tags": UNKNOWN}).status == "violation"
    assert report([Res(SG, "sg", {"tags": UNKNOWN})]).status == "n/a"


def test_an_unknown_reason_refuses_the_exemption_in_preview() -> None:
    [(message, _)] = run_resource(SG_POLICY, SG, open_sg(exempt_tags(SG_POLICY, reason=UNKNOWN))).violations
    assert "exemption refused" in message


def test_an_unknown_annotation_counts_as_absent() -> None:
    props = deployment({"paved/exempt": UNKNOWN, "paved/exempt-reason": "batch"})
    assert run_resource(RESOURCES, DEPLOYMENT, props).status == "violation"
    # Unknown metadata as a whole: no annotations to read, and the rule judges the containers anyway.
    assert run_resource(RESOURCES, DEPLOYMENT, {**deployment(), "metadata": UNKNOWN}).status == "violation"
    assert LEDGER.records() == []


def test_an_exempted_resource_the_rule_cannot_check_in_preview_is_recorded_so() -> None:
    props = {"ingress": UNKNOWN_ARRAY_VALUE, "tags": exempt_tags(SG_POLICY)}
    with pytest.raises(UnknownValueError):  # not exempted: the SDK's "can't run policy during preview"
        run_resource(SG_POLICY, SG, {"ingress": UNKNOWN_ARRAY_VALUE})
    assert run_resource(SG_POLICY, SG, props).not_applicable == f"exempt: {REASON}"
    would_have_said = only_record().would_have_said or ""
    assert would_have_said.startswith("not checkable in preview (") and ".ingress" in would_have_said


# ---------------------------------------------------------------------------------------------
# The `paved-exemptions` report.


def test_the_report_is_not_applicable_when_nothing_is_exempted() -> None:
    run_resource(SG_POLICY, SG, open_sg({"environment": "prod"}))
    outcome = report([Res(SG, "res", open_sg({"environment": "prod"})), Res(VPC, "vpc", {})])
    assert outcome.violations == []
    assert outcome.not_applicable == "no resource is exempted from any policy"


def test_the_report_names_labels_of_policies_the_pack_does_not_have() -> None:
    typo = "security-group-no-public-ingres"
    specs = [
        Res(SG, "sg", open_sg(exempt_tags(f"{typo} {SG_POLICY} {EXEMPTIONS_POLICY}"))),
        Res(DEPLOYMENT, "web", deployment({"paved/exempt": "k8s-no-such-rule", "paved/exempt-reason": "r"})),
        Res(VPC, "vpc", {"tags": exempt_tags(FLOW)}),
    ]
    unknown = "'{}' is exempted from '{}', which is not a policy of this pack: a typo or a renamed policy."
    assert sorted(report(specs).violations) == [
        (unknown.format("sg", EXEMPTIONS_POLICY), urn_of(SG, "sg")),
        (unknown.format("sg", typo), urn_of(SG, "sg")),
        (unknown.format("web", "k8s-no-such-rule"), urn_of(DEPLOYMENT, "web")),
    ]


def test_the_report_names_exemptions_from_policies_that_never_judge_the_type() -> None:
    # vpc-flow-logs-enabled judges VPCs: on a security group its exemption does nothing.
    outcome = report([Res(SG, "sg", open_sg(exempt_tags(f"{FLOW} {SG_POLICY}")))])
    assert outcome.violations == [
        (
            f"'sg' is exempted from '{FLOW}', which does not judge {SG}: the exemption has no effect.",
            urn_of(SG, "sg"),
        )
    ]


def test_the_ledger_reports_a_resource_analysed_twice_once() -> None:
    for _ in range(2):
        run_resource(SG_POLICY, SG, open_sg(exempt_tags(SG_POLICY)))
    run_resource(TAGS_POLICY, SG, open_sg(exempt_tags(f"{SG_POLICY} {TAGS_POLICY}")))
    assert [(r.policy, r.urn) for r in LEDGER.records()] == [
        (SG_POLICY, urn_of(SG, "res")),
        (TAGS_POLICY, urn_of(SG, "res")),
    ]
    assert len(report([]).violations) == 2


def test_the_report_is_advisory_and_last() -> None:
    policy = POLICIES[EXEMPTIONS_POLICY]
    assert isinstance(policy, StackValidationPolicy)
    assert policy.enforcement_level is not None and policy.enforcement_level.value == "advisory"
    assert list(POLICIES)[-1] == EXEMPTIONS_POLICY


# ---------------------------------------------------------------------------------------------
# Every policy's config schema takes exemptions, and the CLI's validation refuses one without a reason.


def test_every_policy_config_schema_has_exemptions() -> None:
    rules = set(POLICIES) - {EXEMPTIONS_POLICY}
    assert rules == set(RULES)
    for name in sorted(rules):
        schema = POLICIES[name].config_schema
        assert schema is not None, name
        assert schema.properties["exemptions"] == dict(EXEMPTIONS_SCHEMA), name
    # The rule's own keys are still there beside it.
    tags_schema = POLICIES[TAGS_POLICY].config_schema
    assert tags_schema is not None and "requiredTags" in tags_schema.properties


@pytest.mark.parametrize(
    ("entries", "valid"),
    [
        ([], True),
        ([{"urn": "*::legacy-*", "reason": "imported"}], True),
        ([{"urn": "*::legacy-*"}], False),
        ([{"urn": "*::legacy-*", "reason": ""}], False),
        ([{"reason": "no pattern"}], False),
        ([{"urn": "", "reason": "empty pattern"}], False),
        ([{"urn": "*", "reason": "r", "until": "2026-01-01"}], False),
        ([{"urn": 3, "reason": "r"}], False),
        ("*::legacy-*", False),
    ],
)
def test_the_exemptions_schema_requires_a_pattern_and_a_reason(entries: Any, valid: bool) -> None:
    schema = POLICIES[SG_POLICY].config_schema
    assert schema is not None
    as_json_schema = {"type": "object", "properties": schema.properties}
    if valid:
        jsonschema.validate({"exemptions": entries}, as_json_schema)
    else:
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate({"exemptions": entries}, as_json_schema)


# ---------------------------------------------------------------------------------------------
# End to end: the pack's own process over the Analyzer protocol, as `paved preview` drives it.


@pytest.fixture(scope="module")
def preview() -> PackResult:
    """One pack process: SGs exempted by tag, by config, refused, and plain, then AnalyzeStack."""

    def sg(name: str, tags: Mapping[str, str]) -> RecordedResource:
        return RecordedResource(urn_of(SG, name), SG, name, True, "", open_sg(tags))

    recording = Recording(
        "paved",
        "prod",
        [
            sg("bastion", exempt_tags(SG_POLICY)),
            sg("imported", {"environment": "prod"}),
            sg("no-reason", exempt_tags(SG_POLICY, reason=None)),
            sg("plain", {"environment": "prod"}),
            sg("typo", exempt_tags("security-group-no-public-ingres")),
        ],
    )
    context = StackContext(
        project="paved", stack="prod", organization="o", config={}, secret_keys=frozenset()
    )
    config = {SG_POLICY: exemptions({"urn": "*::imported", "reason": "vendor-managed"})}
    return analyze_with_pack(ROOT / "policies", recording, context, [config])


def test_end_to_end_a_tag_exemption_is_advisory_not_mandatory(preview: PackResult) -> None:
    found = {(v.policy, v.urn, v.level) for v in preview.violations}
    assert (SG_POLICY, urn_of(SG, "bastion"), "mandatory") not in found
    [bastion] = [v for v in preview.violations if v.urn == urn_of(SG, "bastion")]
    assert (bastion.policy, bastion.level) == (EXEMPTIONS_POLICY, "advisory")
    assert f"exempt from '{SG_POLICY}' by tag paved:exempt: {REASON}." in bastion.message
    assert SSH_MESSAGE in bastion.message


def test_end_to_end_a_config_exemption_and_what_stands(preview: PackResult) -> None:
    found = sorted((v.policy, v.urn.rsplit("::", 1)[-1], v.level) for v in preview.violations)
    assert found == [
        (EXEMPTIONS_POLICY, "bastion", "advisory"),
        (EXEMPTIONS_POLICY, "imported", "advisory"),
        (EXEMPTIONS_POLICY, "typo", "advisory"),
        (SG_POLICY, "no-reason", "mandatory"),
        (SG_POLICY, "plain", "mandatory"),
        (SG_POLICY, "typo", "mandatory"),
    ]
    [imported] = [v for v in preview.violations if v.urn == urn_of(SG, "imported")]
    assert "by config pattern '*::imported': vendor-managed." in imported.message
    [refused] = [v for v in preview.violations if v.urn == urn_of(SG, "no-reason")]
    assert "exemption refused" in refused.message
