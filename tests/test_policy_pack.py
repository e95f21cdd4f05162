"""Every family's fixtures run pack-wide, and our own stacks judged by the whole pack end to end.

Each tests/test_policy_rules*.py exports a `FAMILY` in the one shape tests/policy_harness.py defines; the
tests here run the union of those tables: the resource and stack cases, the coverage of every policy by
a compliant and a violating fixture, unknowns in preview, types a policy must leave alone, and fuzzing of
every policy from the union of the fixtures. The tests only one family needs stay in its file.
"""

from __future__ import annotations

import contextlib
import functools
from collections import defaultdict
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from paved_policies.framework import EXEMPTIONS_POLICY
from paved_policies.pack import RULES
from paved_policies.rule import ResourceRule, StackRule
from paved_policies.rules import ALL_RULES
from pulumi_policy.proxy import UnknownValueError

import tests.test_policy_rules as base_family
import tests.test_policy_rules_classic as classic_family
import tests.test_policy_rules_codebuild as codebuild_family
import tests.test_policy_rules_data as data_family
import tests.test_policy_rules_ec2 as ec2_family
import tests.test_policy_rules_ecr as ecr_family
import tests.test_policy_rules_edge as edge_family
import tests.test_policy_rules_eks as eks_family
import tests.test_policy_rules_iam as iam_family
import tests.test_policy_rules_kubernetes as kubernetes_family
import tests.test_policy_rules_wiring as wiring_family
from paved.recorder import Recording
from tests.alerts import ALARM, window_alarms
from tests.conftest import PackVerdict
from tests.policy_harness import (
    POLICIES,
    Res,
    StackFuzzTarget,
    assert_outcome,
    perturbed,
    props_strategy,
    run_resource,
    run_stack,
    scalars,
    urn_of,
)

ROOT = Path(__file__).resolve().parent.parent
CLASSIC_POLICIES = base_family.CLASSIC_POLICIES
FAMILIES = [
    base_family.FAMILY,
    ec2_family.FAMILY,
    ec2_family.ACM_FAMILY,
    data_family.FAMILY,
    edge_family.FAMILY,
    classic_family.FAMILY,
    eks_family.FAMILY,
    kubernetes_family.FAMILY,
    wiring_family.FAMILY,
    iam_family.FAMILY,
    ecr_family.FAMILY,
    codebuild_family.FAMILY,
]
# The policies each family's file is about, as tests/test_policy_rules.py lists them by name.
FAMILY_POLICIES = {
    "base": base_family.BASE_POLICIES,
    "ec2": base_family.EC2_POLICIES,
    "acm": base_family.ACM_POLICIES,
    "data": base_family.DATA_POLICIES,
    "edge": base_family.EDGE_POLICIES,
    "classic": base_family.CLASSIC_POLICIES,
    "eks": base_family.EKS_POLICIES,
    "k8s": base_family.KUBERNETES_POLICIES,
    "wiring": base_family.WIRING_POLICIES,
    "iam": base_family.IAM_POLICIES,
    "ecr": base_family.ECR_POLICIES,
    "codebuild": base_family.CODEBUILD_POLICIES,
}


# ---------------------------------------------------------------------------------------------
# The case tables.

RESOURCE_CASES = [
    pytest.param(*case[1:], id=f"{family.name}-{case[0]}")
    for family in FAMILIES
    for case in family.resource_cases
]
STACK_CASES = [
    pytest.param(*case[1:], id=f"{family.name}-{case[0]}")
    for family in FAMILIES
    for case in family.stack_cases
]


@pytest.mark.parametrize(("policy", "rtype", "props", "expected", "fragment"), RESOURCE_CASES)
def test_resource_policy(
    policy: str, rtype: str, props: dict[str, Any], expected: str, fragment: str
) -> None:
    assert_outcome(run_resource(policy, rtype, props), expected, fragment)


@pytest.mark.parametrize(("policy", "specs", "expected", "reported"), STACK_CASES)
def test_stack_policy(policy: str, specs: list[Res], expected: str, reported: list[str]) -> None:
    outcome = run_stack(policy, specs)
    assert outcome.status == expected, outcome
    names = {urn_of(s.resource_type, s.name): s.name for s in specs}
    assert [names.get(urn or "") for _, urn in outcome.violations] == reported
    # A stack policy reports against the resource it judged, and its message names it.
    for message, urn in outcome.violations:
        assert f"'{names[urn or '']}'" in message


def test_every_policy_has_a_compliant_and_a_violation_fixture() -> None:
    statuses: dict[str, set[str]] = defaultdict(set)
    for family in FAMILIES:
        names = {rule.name for rule in family.rules}
        assert names == FAMILY_POLICIES[family.name], family.name
        # A family's tables are about its own policies: resource cases for resource policies, stack
        # cases for stack policies.
        assert {case[1] for case in family.resource_cases} == {
            name for name in names if isinstance(RULES[name], ResourceRule)
        }, family.name
        assert {case[1] for case in family.stack_cases} == {
            name for name in names if isinstance(RULES[name], StackRule)
        }, family.name
        ids = [case[0] for case in family.resource_cases] + [case[0] for case in family.stack_cases]
        assert len(ids) == len(set(ids)), family.name
        for case in family.resource_cases:
            statuses[case[1]].add(case[4])
        for case in family.stack_cases:
            statuses[case[1]].add(case[3])
        # What no table row can show (a row carries props only, not options such as Pulumi's `protect`)
        # is shown by the family test named here.
        for policy, (status, test) in family.covered_elsewhere.items():
            assert policy in names and test.__name__.startswith("test_"), (family.name, policy)
            statuses[policy].add(status)
    # Every policy but the exemptions report (tests/test_policy_exemptions.py), in exactly one family.
    assert sorted(rule.name for family in FAMILIES for rule in family.rules) == sorted(
        rule.name for rule in ALL_RULES
    )
    assert set(statuses) == set(POLICIES) - {EXEMPTIONS_POLICY}
    assert {name: s for name, s in statuses.items() if not {"ok", "violation"} <= s} == {}


# ---------------------------------------------------------------------------------------------
# Unknowns in preview, and resources a policy is called for but does not judge.

DEFERRALS = [
    pytest.param(policy, rtype, props, id=f"{family.name}-{policy}-{rtype}-props{index}")
    for family in FAMILIES
    for index, (policy, rtype, props) in enumerate(family.deferrals)
]
PREVIEW_UNKNOWNS = [
    pytest.param(policy, rtype, props, expected, id=f"{family.name}-{policy}-{rtype}-props{index}")
    for family in FAMILIES
    for index, (policy, rtype, props, expected) in enumerate(family.preview_unknowns)
]
OTHER_TYPES = [
    pytest.param(policy, rtype, id=f"{family.name}-{policy}-{rtype}")
    for family in FAMILIES
    for policy, rtype in family.other_types
]
# Props that would be violations for the families' own types.
BAIT: dict[str, Any] = {
    "metadata": {"namespace": "default"},
    "spec": {"type": "LoadBalancer"},
    "metadataOptions": {"httpTokens": "optional"},
}


@pytest.mark.parametrize(("policy", "rtype", "props"), DEFERRALS)
def test_value_checks_defer_unknowns_to_the_sdk(policy: str, rtype: str, props: dict[str, Any]) -> None:
    # The SDK reports UnknownValueError as an advisory "can't run policy during preview".
    with pytest.raises(UnknownValueError):
        run_resource(policy, rtype, props)


@pytest.mark.parametrize(("policy", "rtype", "props", "expected"), PREVIEW_UNKNOWNS)
def test_presence_checks_count_a_preview_unknown_as_set(
    policy: str, rtype: str, props: dict[str, Any], expected: str
) -> None:
    # A first preview knows only that the value will come from another resource; when that is enough to
    # decide, there is no advisory "can't run during preview".
    assert run_resource(policy, rtype, props).status == expected


@pytest.mark.parametrize(("policy", "rtype"), OTHER_TYPES)
def test_resource_policies_ignore_other_types(policy: str, rtype: str) -> None:
    # A resource policy is called for every resource; other types are not judged, and said not to apply so
    # that the CLI's policy summaries do not count the policy as passed on them.
    for props in ({}, BAIT):
        outcome = run_resource(policy, rtype, props)
        assert outcome.violations == [] and outcome.not_applicable == f"does not judge {rtype}"


STACK_RULES = [rule for rule in ALL_RULES if isinstance(rule, StackRule)]


@pytest.mark.parametrize("rule", STACK_RULES, ids=[rule.name for rule in STACK_RULES])
def test_stack_policies_are_not_applicable_without_their_resources(rule: StackRule) -> None:
    # The resources the policy looks for beside the judged ones do not make it applicable on their own.
    companions = [
        Res(target.other, f"other-{index}", fixtures_of(target.other)[0])
        for index, target in enumerate(STACK_TARGETS)
        if target.policy == rule.name
    ]
    outcome = run_stack(rule.name, [Res("aws:sqs/queue:Queue", "q", {}), *companions])
    assert outcome.status == "n/a", outcome
    assert all(rtype in (outcome.not_applicable or "") for rtype in rule.resource_types)


# ---------------------------------------------------------------------------------------------
# Robustness: random, partial, None, wrongly typed and unknown props never crash a policy.


def _fixtures() -> dict[str, list[dict[str, Any]]]:
    """Realistic props per type from every family's tables, to be perturbed into the rules' deep branches."""
    found: dict[str, list[dict[str, Any]]] = defaultdict(list)

    def add(rtype: str, props: Mapping[str, Any]) -> None:
        if dict(props) not in found[rtype]:
            found[rtype].append(dict(props))

    for family in FAMILIES:
        for case in family.resource_cases:
            add(case[2], case[3])
        for case in family.stack_cases:
            for spec in case[2]:
                add(spec.resource_type, spec.props)
        for rtype, extra in family.fuzz_fixtures.items():
            for props in extra:
                add(rtype, props)
    return found


FIXTURES = _fixtures()
# For a type no table has: tags and metadata, the two things the rules judging hundreds of types read.
FALLBACK = {
    "tags": {"environment": "prod", "team": "platform"},
    "metadata": {"name": "w", "namespace": "web"},
}


def fixtures_of(rtype: str) -> list[dict[str, Any]]:
    return FIXTURES.get(rtype) or [FALLBACK]


# Every property name a rule reads and every value it treats specially, from all families.
FUZZ_KEYS = sorted(
    {key for family in FAMILIES for key in family.fuzz_keys}
    | {key for fixtures in FIXTURES.values() for props in fixtures for key in props}
)
FUZZ_VALUES = list(dict.fromkeys(value for family in FAMILIES for value in family.fuzz_values))
fuzz_values = st.recursive(
    st.one_of(scalars, st.sampled_from(FUZZ_VALUES)),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(FUZZ_KEYS), inner, max_size=4)
    ),
    max_leaves=16,
)
fuzz_props = st.one_of(props_strategy, st.dictionaries(st.sampled_from(FUZZ_KEYS), fuzz_values, max_size=10))
# A provider's settings the rules read: AWS default tags, the Kubernetes namespace.
provider_settings = st.fixed_dictionaries({}, optional={"defaultTags": fuzz_values, "namespace": fuzz_values})


@functools.cache
def props_for(rtype: str) -> st.SearchStrategy[dict[str, Any]]:
    return st.one_of(fuzz_props, *map(perturbed, fixtures_of(rtype)))


@functools.cache
def config_for(policy: str) -> st.SearchStrategy[dict[str, Any] | None]:
    """No config, or the policy's own config properties (`--policy-pack-config`) with random values."""
    keys = RULES[policy].config_schema
    return st.none() | st.fixed_dictionaries({}, optional={key: fuzz_values for key in keys})


# Per policy, the types it judges; the policy is drawn first, so one judging hundreds of types (required
# tags) gets no more draws than one judging a single type.
RESOURCE_TARGETS = [(rule.name, rule.resource_types) for rule in ALL_RULES if isinstance(rule, ResourceRule)]
STACK_TARGETS = [target for family in FAMILIES for target in family.stack_fuzz]


# One test draws the policy too, so the fuzz budget is shared rather than multiplied by the pack's size
# (HYPOTHESIS_PROFILE=thorough gives every policy many more draws).
@settings(max_examples=settings().max_examples * 5)
@given(target=st.sampled_from(RESOURCE_TARGETS), data=st.data())
def test_resource_policies_never_crash(target: tuple[str, tuple[str, ...]], data: st.DataObject) -> None:
    policy, rtypes = target
    rtype = data.draw(st.sampled_from(rtypes), label="type")
    props = data.draw(props_for(rtype), label="props")
    provider = data.draw(st.none() | provider_settings, label="provider")
    config = data.draw(config_for(policy), label="config")
    protect = data.draw(st.booleans(), label="protect")
    with contextlib.suppress(UnknownValueError):
        outcome = run_resource(policy, rtype, props, protect=protect, provider=provider, config=config)
        assert outcome.status in ("ok", "violation", "n/a")
        assert len(outcome.violations) <= 1


@settings(max_examples=settings().max_examples * 5)
@given(target=st.sampled_from(STACK_TARGETS), data=st.data())
def test_stack_policies_never_crash(target: StackFuzzTarget, data: st.DataObject) -> None:
    judged = data.draw(props_for(target.judged), label="judged")
    other = data.draw(props_for(target.other), label="other")
    linked = data.draw(st.booleans(), label="linked")
    edge = {target.prop: ["other" if target.forward else "judged"]} if linked else {}
    specs = [
        Res(target.judged, "judged", judged, prop_deps=edge if target.forward else {}),
        Res(target.other, "other", other, prop_deps={} if target.forward else edge),
    ]
    providers = data.draw(
        st.dictionaries(st.sampled_from(["judged", "other"]), provider_settings), label="providers"
    )
    with contextlib.suppress(UnknownValueError):
        outcome = run_stack(target.policy, specs, providers=providers)
        assert outcome.status in ("ok", "violation", "n/a")
        assert all(urn == urn_of(target.judged, "judged") for _, urn in outcome.violations)
        if linked:
            assert outcome.status in target.when_linked


# ---------------------------------------------------------------------------------------------
# End to end: our own stacks, recorded in a first preview, judged by the whole pack through the real
# Analyzer protocol, the way `paved preview` runs it.

KMS_POLICY = "kms-key-policy-no-wildcard-principal"
KMS_DECRYPT_POLICY = "iam-inline-policy-no-kms-decrypt-all-keys"
CROSS_ACCOUNT_POLICY = "s3-bucket-policy-other-accounts-restricted"
TOPIC_POLICY_PUBLIC = "sns-topic-policy-not-public"
WIRING_PROOF = "wiring-proof"
PROTECTION = "stateful-resources-protected"
KEY = "aws:kms/key:Key"
KEY_POLICY = "aws:kms/keyPolicy:KeyPolicy"
BUCKET = "aws:s3/bucket:Bucket"
DATABASE = "aws:rds/instance:Instance"
CACHE = "aws:elasticache/replicationGroup:ReplicationGroup"
LOAD_BALANCER = "aws:lb/loadBalancer:LoadBalancer"
VPC = "aws:ec2/vpc:Vpc"
DISTRIBUTION = "aws:cloudfront/distribution:Distribution"
STACK = ("", "")  # a stack policy's own finding, on no resource

ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
TOPIC_POLICY = "aws:sns/topicPolicy:TopicPolicy"
# Our inline role policies that name ARNs of resources created in the same run (keys, secrets, log groups,
# buckets, target groups). The load balancer controller's and the cluster autoscaler's first policies name
# nothing created in the run, so they are known in preview and judged.
UNKNOWN_ROLE_POLICIES = [
    "cluster-control-plane",
    "network-flow-logs",
    "aws-load-balancer-controller-1",
    "database-bootstrap",
    "api-secrets",
    "worker-secrets",
    "uptime-canary",
]
PROD_ONLY_ROLE_POLICIES = ["database-proxy", "cdn-assets-replication", "dr-flow-logs"]
# Roles for service accounts trust the cluster's OIDC provider, whose issuer is unknown until the cluster
# exists: the GitHub trust policy cannot tell in preview that they do not trust GitHub's.
WEB_IDENTITY_ROLES = ["database-bootstrap", "api-secrets", "worker-secrets"]
GITHUB_TRUST_POLICY = "iam-github-oidc-trust-pinned"


UPTIME_BUCKETS = ["uptime-artifacts", "uptime-code"]


def _cannot_run(role_policies: list[str], keys: list[str], buckets: list[str]) -> list[tuple[str, str, str]]:
    return [
        *((KMS_DECRYPT_POLICY, ROLE_POLICY, name) for name in role_policies),
        *((KMS_POLICY, KEY_POLICY, name) for name in keys),
        *((CROSS_ACCOUNT_POLICY, BUCKET_POLICY, name) for name in buckets),
        *((GITHUB_TRUST_POLICY, "aws:iam/role:Role", name) for name in WEB_IDENTITY_ROLES),
        ("s3-tls-only-policy", *STACK),
        (TOPIC_POLICY_PUBLIC, TOPIC_POLICY, "alerts"),
        (TOPIC_POLICY_PUBLIC, TOPIC_POLICY, "alerts-global"),
        (TOPIC_POLICY_PUBLIC, TOPIC_POLICY, "alerts-elasticache"),
    ]


# (policy, resource type, resource name) of every advisory "can't run policy ... during preview": the key,
# bucket, topic and role policies name ARNs (their own key's, bucket's, topic's, or the resources a role may
# use) that are unknown until those exist. tests/test_policy_rules_iam.py judges them as they will be applied.
CANNOT_RUN_IN_PREVIEW = {
    "prod": _cannot_run(
        UNKNOWN_ROLE_POLICIES + PROD_ONLY_ROLE_POLICIES,
        ["cdn-assets", "cdn-assets-dr"],
        ["s3-access-logs", "s3-access-logs-dr", "alb-logs", "cdn-assets", "cdn-assets-dr", *UPTIME_BUCKETS],
    ),
    "staging": _cannot_run(
        UNKNOWN_ROLE_POLICIES, ["cdn-assets"], ["s3-access-logs", "alb-logs", "cdn-assets", *UPTIME_BUCKETS]
    ),
}
# Exemptions are advisory findings, so that they stay visible: the RDS event subscription is scoped to the
# stack's own instances (FSBP RDS.19-22 want it account-wide), and ElastiCache's notification topic cannot be
# encrypted (components/observability.py).
EXEMPTED = [
    *[("paved-exemptions", "aws:rds/eventSubscription:EventSubscription", "database")] * 4,
    ("paved-exemptions", "aws:sns/topic:Topic", "alerts-elasticache"),
]
# (policy, resource type, resource name) of every other finding, all advisory. paved's own secrets carry
# a paved:rotation tag saying how they rotate, so none is reported.
FINDINGS = {
    # The DR pilot light's VPC runs nothing until a failover: no interface endpoints (EC2.10, 55, 56).
    "prod": [*EXEMPTED, *[("paved-exemptions", VPC, "dr")] * 3],
    "staging": [
        *EXEMPTED,
        # Staging is single-AZ with 7 days of backups and no DR copy, and it is torn down and rebuilt:
        # these rules are advisory there (staging_enforcement).
        ("rds-backup-retention", DATABASE, "database"),
        ("rds-deletion-protection", DATABASE, "database"),
        ("rds-multi-az", DATABASE, "database"),
        ("rds-cross-region-backup", DATABASE, "database"),
        ("elasticache-automatic-failover", CACHE, "cache"),
        ("elasticache-snapshot-retention", CACHE, "cache"),
        ("elb-deletion-protection", LOAD_BALANCER, "alb"),
        # Staging reaches AWS APIs through NAT, not interface endpoints (staging_enforcement).
        ("vpc-ec2-interface-endpoint", VPC, "network"),
        ("vpc-ecr-api-interface-endpoint", VPC, "network"),
        ("vpc-ecr-dkr-interface-endpoint", VPC, "network"),
        # Staging keeps no replica of the assets bucket in a DR region to fail over to (staging_enforcement).
        ("cloudfront-origin-failover", DISTRIBUTION, "cdn"),
    ],
}
# Nothing is protected in staging: every resource of a type stateful-resources-protected judges is a finding
# there (keys, buckets, the database, the cache, secrets, log groups, the cluster), and none is in prod.
UNPROTECTED_STATEFUL = {"prod": False, "staging": True}
# EC2 resources paved never declares, so every EC2 policy but the launch template ones: its nodes start from
# a launch template through EKS, not as instances; it runs no VPN, transit gateway or network ACL of its own,
# and leaves account-level EBS settings alone.
LAUNCH_TEMPLATE_POLICIES = {
    "ec2-launch-template-imdsv2",
    "ec2-launch-template-no-public-ip",
    "ec2-launch-template-ebs-encrypted",
}
NO_SUCH_EC2_RESOURCES = {
    *(base_family.EC2_POLICIES - LAUNCH_TEMPLATE_POLICIES),
    "network-acl-no-public-admin-ports",
    "network-acl-in-use",
}
# Policies that judged nothing of ours: every resource they were asked about was not applicable to them
# or not checkable in preview. Every other policy judged at least one resource, so its pass is not vacuous.
# Kinds paved does not declare (snapshots, Aurora, event subscriptions, global clusters) and engines it does
# not run (SQL Server, MariaDB, Aurora MySQL).
NOT_OURS = {
    "rds-snapshot-not-public",
    "rds-snapshot-encrypted",
    "rds-aurora-mysql-backtracking",
    "rds-cluster-multi-az",
    "rds-cluster-custom-admin-username",
    "rds-sqlserver-force-ssl",
    "rds-mariadb-require-secure-transport",
    "rds-aurora-mysql-audit-logging",
    "rds-cluster-event-notifications",
    "rds-instance-event-notifications",
    "rds-parameter-group-event-notifications",
    "rds-security-group-event-notifications",
    "rds-global-cluster-supported-version",
    # paved declares no IAM users or customer managed policies (its roles get inline and AWS managed
    # policies), no account-level settings, access points, directory buckets or rotation functions.
    "iam-password-policy-strong",
    "iam-policy-no-full-admin",
    "iam-policy-no-kms-decrypt-all-keys",
    "iam-policy-no-service-wildcard",
    "iam-user-no-attached-policies",
    # GitHub Actions' roles belong to the bootstrap program, applied once per account, not to app stacks.
    GITHUB_TRUST_POLICY,
    "s3-access-point-public-access-block",
    "s3-account-public-access-block",
    "s3-directory-bucket-lifecycle",
    "s3-multi-region-access-point-public-access-block",
    "secretsmanager-rotation-interval",
    # paved's root URL goes to the app behind the ALB, none of its origins is a Lambda function URL, and its
    # sites are public: no signed URLs.
    "cloudfront-s3-root-object",
    "cloudfront-lambda-url-origin-oac",
    "cloudfront-trusted-key-groups",
}
# The app stacks declare no CodeBuild project: the deploy runners are the bootstrap program's
# (tests/test_bootstrap.py runs the pack over it).
NO_CODEBUILD = base_family.CODEBUILD_POLICIES
NOT_JUDGED = {
    "prod": {
        "s3-tls-only-policy",  # can't run in preview, above
        CROSS_ACCOUNT_POLICY,  # our buckets' policies are separate resources, unknown in preview
        "elb-http-redirects-to-https",  # the ALB listens on HTTPS only
        *NOT_OURS,
        *CLASSIC_POLICIES,  # paved declares no Classic Load Balancer and no WAF Classic
        *NO_SUCH_EC2_RESOURCES,
        *NO_CODEBUILD,
    },
    "staging": {
        "s3-tls-only-policy",
        CROSS_ACCOUNT_POLICY,
        "elb-http-redirects-to-https",
        *CLASSIC_POLICIES,
        "backup-vault-cmk",  # staging has no AWS Backup vault
        "backup-vault-locked",
        "rds-proxy-require-tls",  # staging apps connect to the instance directly
        *NOT_OURS,
        "backup-recovery-point-encrypted",
        *NO_SUCH_EC2_RESOURCES,
        *NO_CODEBUILD,
    },
}
# Kinds the EKS and Kubernetes families judge or match, Helm releases (opaque, never judged) included.
OUR_KINDS = {
    "aws:eks/cluster:Cluster",
    "aws:eks/nodeGroup:NodeGroup",
    "aws:ec2/launchTemplate:LaunchTemplate",
    "kubernetes:apps/v1:Deployment",
    "kubernetes:autoscaling/v2:HorizontalPodAutoscaler",
    "kubernetes:policy/v1:PodDisruptionBudget",
    "kubernetes:networking.k8s.io/v1:NetworkPolicy",
    "kubernetes:core/v1:Service",
    "kubernetes:helm.sh/v3:Release",
}


def _about(urn: str) -> tuple[str, str]:
    """(resource type, name) of a URN, without its parents' types; ("", "") for a stack policy's own."""
    if not urn:
        return STACK
    qualified_type, name = urn.split("::")[-2:]
    return qualified_type.rsplit("$", 1)[-1], name


@pytest.mark.parametrize("stack", ["prod", "staging"])
def test_our_stacks_pass_the_pack(
    stack: str,
    shipped_recordings: Callable[[str], Recording],
    shipped_pack_verdicts: Callable[[str], PackVerdict],
) -> None:
    recording = shipped_recordings(stack)
    assert {r.type for r in recording.resources} >= OUR_KINDS
    result, not_applicable = shipped_pack_verdicts(stack)
    # The pack proves the wiring from what the real CLI sends (propertyDependencies, no lineage): links it
    # cannot trace are unresolved, never broken, so our stacks pass it too.
    assert [v.message for v in result.violations if v.policy == WIRING_PROOF] == []
    violations = result.violations
    assert [v for v in violations if v.level != "advisory"] == []  # nothing mandatory
    cannot_run = [v for v in violations if "during preview" in v.message]
    assert sorted((v.policy, *_about(v.urn)) for v in cannot_run) == sorted(CANNOT_RUN_IN_PREVIEW[stack])
    findings = [v for v in violations if v not in cannot_run]
    stateful = RULES[PROTECTION].resource_types
    unprotected = [(PROTECTION, r.type, r.name) for r in recording.resources if r.type in stateful]
    # The windows of each public app's burn-rate alerts notify through their composite alarm, exempted.
    windows = [("paved-exemptions", ALARM, alarm.name) for alarm in window_alarms(recording)]
    assert windows, "each public app has burn-rate alerts"
    expected = [*FINDINGS[stack], *windows, *(unprotected if UNPROTECTED_STATEFUL[stack] else [])]
    assert sorted((v.policy, *_about(v.urn)) for v in findings) == sorted(expected)
    # Which policies found something of ours to judge.
    unjudged = not_applicable | {(v.policy, v.urn) for v in cannot_run}
    asked = {
        name: [""]
        if isinstance(rule, StackRule)
        else [r.urn for r in recording.resources if r.type in rule.resource_types]
        for name, rule in RULES.items()
    }
    assert {name for name, urns in asked.items() if all((name, urn) in unjudged for urn in urns)} == (
        NOT_JUDGED[stack]
    )
    # Exactly EXEMPTED is let off, and the exemptions policy says so (in FINDINGS above).
    assert (EXEMPTIONS_POLICY, "") not in not_applicable
