"""The harness every policy test shares, and the one shape each family exports its fixtures in.

Policies run through the real pulumi_policy policy objects. Props are delivered the way the analyzer
delivers them: wrapped by `unknown_checking_proxy`, numbers as floats, unknown values as the engine's
sentinel strings. Each tests/test_policy_rules*.py family exports a `FAMILY`; tests/test_policy_pack.py
runs every family's tables pack-wide (cases, coverage, unknowns, fuzzing).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from hypothesis import strategies as st
from paved_policies.pack import build_policies
from paved_policies.rule import Rule
from pulumi_policy import (
    PolicyCustomTimeouts,
    PolicyProviderResource,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.policy import _NotApplicableError
from pulumi_policy.proxy import (
    UNKNOWN_ARRAY_VALUE,
    UNKNOWN_BOOLEAN_VALUE,
    UNKNOWN_NUMBER_VALUE,
    UNKNOWN_OBJECT_VALUE,
    UNKNOWN_STRING_VALUE,
    unknown_checking_proxy,
)

POLICIES = {p.name: p for p in build_policies()}
UNKNOWN = UNKNOWN_STRING_VALUE  # "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
UNKNOWNS = [
    UNKNOWN_STRING_VALUE,
    UNKNOWN_NUMBER_VALUE,
    UNKNOWN_BOOLEAN_VALUE,
    UNKNOWN_ARRAY_VALUE,
    UNKNOWN_OBJECT_VALUE,
]


# ---------------------------------------------------------------------------------------------
# Running a policy: build analyzer-shaped arguments and collect what the policy reports.


@dataclass
class Outcome:
    violations: list[tuple[str, str | None]] = field(default_factory=list)
    not_applicable: str | None = None

    @property
    def status(self) -> str:
        if self.violations:
            return "violation"
        return "n/a" if self.not_applicable is not None else "ok"

    def report(self, message: str, urn: str | None = None) -> None:
        assert isinstance(message, str) and message, message
        self.violations.append((message, urn))


def urn_of(resource_type: str, name: str) -> str:
    return f"urn:pulumi:test::paved::{resource_type}::{name}"


def _opts(protect: bool = False) -> PolicyResourceOptions:
    return PolicyResourceOptions(protect, [], None, [], PolicyCustomTimeouts(0, 0, 0), [])


def _proxied(props: Mapping[str, Any]) -> Any:
    return unknown_checking_proxy(copy.deepcopy(dict(props)))


def _provider(resource_type: str, props: Mapping[str, Any]) -> PolicyProviderResource:
    """The default provider of `resource_type`'s package (aws, kubernetes) with the given settings."""
    return PolicyProviderResource(
        f"pulumi:providers:{resource_type.split(':', 1)[0]}", _proxied(props), "urn:p", "p"
    )


def assert_outcome(outcome: Outcome, expected: str, fragment: str) -> None:
    """The policy reached `expected`; a violation is one message naming `fragment`, on the judged resource."""
    assert outcome.status == expected, outcome
    if expected == "violation":
        [(message, reported)] = outcome.violations
        assert fragment in message, message
        assert reported is None, reported  # resource policies report against the resource being validated


def _validate(policy: Any, args: Any) -> Outcome:
    outcome = Outcome()
    try:
        policy.validate(args, outcome.report)
    except _NotApplicableError as err:  # what the SDK's Analyze turns into "not applicable"
        outcome.not_applicable = err.reason or ""
    return outcome


def run_resource(
    policy_name: str,
    resource_type: str,
    props: Mapping[str, Any],
    *,
    protect: bool = False,
    provider: Mapping[str, Any] | None = None,
    config: Mapping[str, Any] | None = None,
) -> Outcome:
    """One resource through a resource policy, with the options, provider and policy config the engine
    may send too (`config` as from `--policy-pack-config`)."""
    policy = POLICIES[policy_name]
    assert isinstance(policy, ResourceValidationPolicy)
    provider_resource = _provider(resource_type, provider) if provider is not None else None
    args = ResourceValidationArgs(
        resource_type,
        _proxied(props),
        urn_of(resource_type, "res"),
        "res",
        _opts(protect),
        provider_resource,
        config,
    )
    return _validate(policy, args)


@dataclass
class Res:
    resource_type: str
    name: str
    props: Mapping[str, Any] = field(default_factory=dict)
    prop_deps: Mapping[str, list[str]] = field(default_factory=dict)  # property -> names
    deps: list[str] = field(default_factory=list)  # names
    parent: str | None = None  # name


def build_stack(
    specs: list[Res], providers: Mapping[str, Mapping[str, Any]] | None = None
) -> list[PolicyResource]:
    """Link resources by URN exactly as the SDK's AnalyzeStack does; `providers` binds named resources to
    a provider with those settings."""
    providers = providers or {}
    built = {
        s.name: PolicyResource(
            s.resource_type,
            _proxied(s.props),
            urn_of(s.resource_type, s.name),
            s.name,
            _opts(),
            None,
            None,
            [],
            {},
        )
        for s in specs
    }
    for s in specs:
        res = built[s.name]
        res.dependencies.extend(built[d] for d in [*s.deps, *(n for v in s.prop_deps.values() for n in v)])
        for prop, names in s.prop_deps.items():
            res.property_dependencies[prop] = [built[n] for n in names]
        if s.parent is not None:
            res.parent = built[s.parent]
        if s.name in providers:
            res.provider = _provider(s.resource_type, providers[s.name])
    return list(built.values())


def run_stack(
    policy_name: str,
    specs: list[Res],
    *,
    config: Mapping[str, Any] | None = None,
    providers: Mapping[str, Mapping[str, Any]] | None = None,
) -> Outcome:
    policy = POLICIES[policy_name]
    assert isinstance(policy, StackValidationPolicy)
    return _validate(policy, StackValidationArgs(build_stack(specs, providers), config))


def but(base: Mapping[str, Any], **changes: Any) -> dict[str, Any]:
    """base with keys changed; a value of ... removes the key."""
    merged = {**base, **changes}
    return {k: v for k, v in merged.items() if v is not ...}


def with_deps(resource_type: str, name: str, props: Mapping[str, Any], **deps: list[str]) -> Res:
    """A resource whose inputs (property=[names]) came from the named resources of the stack."""
    return Res(resource_type, name, props, prop_deps=deps)


def policy_document(*statements: Mapping[str, Any]) -> str:
    """An IAM-grammar policy (identity, key, bucket, topic...) as the JSON text a `policy` input takes."""
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


# ---------------------------------------------------------------------------------------------
# The shape every family exports its fixtures in.

ResourceCase = tuple[str, str, str, dict[str, Any], str, str]
"""(id, policy, resource type, props, expected status "ok" / "violation" / "n/a", message fragment)"""
StackCase = tuple[str, str, list[Res], str, list[str]]
"""(id, policy, resources, expected status, the names of the resources reported, in order)"""
Deferral = tuple[str, str, dict[str, Any]]
"""(policy, resource type, props): a value unknown in preview that the policy must leave to the SDK"""
PreviewUnknown = tuple[str, str, dict[str, Any], str]
"""(policy, resource type, props, status): an unknown that is enough to decide (a key ARN is set)"""
OtherType = tuple[str, str]
"""(policy, a resource type it must neither judge nor mark not applicable)"""


class StackFuzzTarget(NamedTuple):
    """A stack policy, the type it judges and another type linked to it through `prop`."""

    policy: str
    judged: str
    other: str
    prop: str
    forward: bool = False  # the judged resource points at the other one, not the other way round
    when_linked: frozenset[str] = frozenset({"ok", "violation", "n/a"})  # statuses a linked pair may get


@dataclass(frozen=True)
class Family:
    """One family's fixtures and tables, run pack-wide by tests/test_policy_pack.py."""

    name: str  # the prefix of its case ids
    rules: Sequence[Rule[Any]]
    resource_cases: Sequence[ResourceCase]
    stack_cases: Sequence[StackCase] = ()
    deferrals: Sequence[Deferral] = ()
    preview_unknowns: Sequence[PreviewUnknown] = ()
    other_types: Sequence[OtherType] = ()
    # policy -> (a status no table row can show, the test of this family that shows it instead)
    covered_elsewhere: Mapping[str, tuple[str, Callable[..., None]]] = field(default_factory=dict)
    # For the fuzz tests: property names the rules read, values they treat specially, and realistic
    # props for types the tables have no fixture of.
    fuzz_keys: Sequence[str] = ()
    fuzz_values: Sequence[Any] = ()
    fuzz_fixtures: Mapping[str, Sequence[Mapping[str, Any]]] = field(default_factory=dict)
    stack_fuzz: Sequence[StackFuzzTarget] = ()


# ---------------------------------------------------------------------------------------------
# Robustness: random, partial, None, wrongly typed and unknown values.

# Every property name the base rules read, so random props actually reach the rules' logic.
KEYS = [
    "ingress",
    "egress",
    "cidrBlocks",
    "ipv6CidrBlocks",
    "fromPort",
    "toPort",
    "protocol",
    "type",
    "cidrIpv4",
    "cidrIpv6",
    "ipProtocol",
    "kmsKeyId",
    "retentionInDays",
    "logGroupClass",
    "alarmActions",
    "actionsEnabled",
    "customerMasterKeySpec",
    "keySpec",
    "customKeyStoreId",
    "xksKeyId",
    "enableKeyRotation",
    "policy",
    "kmsMasterKeyId",
    "mapPublicIpOnLaunch",
    "tags",
    "tagsAll",
    "kubernetes.io/role/elb",
    "Statement",
    "Effect",
    "Principal",
    "AWS",
    "Condition",
    "NotPrincipal",
    "Sid",
    "description",
    "internal",
    "securityGroupId",
    "securityGroups",
]
INTERESTING = [
    "0.0.0.0/0",
    "::/0",
    "10.0.0.0/8",
    "0.0.0.0/00",
    "::/-1",
    "-1",
    "all",
    "tcp",
    "udp",
    "icmp",
    "ingress",
    "egress",
    "SYMMETRIC_DEFAULT",
    "RSA_2048",
    "DELIVERY",
    "1",
    "",
    "Allow",
    "*",
    "Managed by Pulumi",
]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([float("nan"), float("inf"), -float("inf"), 443.0, 22.5, 0.0, -1.0, 1e300]),
    st.integers(-(2**70), 2**70),
    st.sampled_from(INTERESTING + UNKNOWNS),
    st.text(max_size=8),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.sampled_from(KEYS), inner, max_size=5),
    ),
    max_leaves=12,
)
# Policy documents are JSON strings, so feed the policy-document rules random documents too.
json_docs = values.map(lambda v: json.dumps(v, allow_nan=True))
props_strategy = st.dictionaries(
    st.sampled_from(KEYS + ["name", "id"]), st.one_of(values, json_docs), max_size=8
)


def perturbed(value: Any) -> st.SearchStrategy[Any]:
    """A realistic value with random parts dropped or swapped for junk, to reach deep rule logic."""
    if isinstance(value, dict):
        return st.fixed_dictionaries({}, optional={k: perturbed(v) for k, v in value.items()})
    if isinstance(value, list):
        return st.lists(st.one_of(*map(perturbed, value)) if value else values, max_size=3)
    document = _json_object(value)
    if document is not None:  # a policy document: perturb its statements too
        return st.one_of(st.just(value), values, perturbed(document).map(json.dumps))
    return st.one_of(st.just(value), values)


def _json_object(value: Any) -> dict[str, Any] | None:
    try:
        parsed = json.loads(value) if isinstance(value, str) else None
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None
