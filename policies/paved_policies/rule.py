"""The rule model: what a rule is, what it returns, and what it may look at.

Pure Python on purpose. Rule modules import only this module and the helpers beside it, never
pulumi_policy, so they can be unit-tested without the SDK and so `framework.py` stays the one place
that knows how CrossGuard evaluates policies.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from types import MappingProxyType
from typing import Any, ClassVar, Generic, Literal, NotRequired, Protocol, TypedDict, TypeVar, Unpack

Severity = Literal["low", "medium", "high", "critical"]
Enforcement = Literal["advisory", "mandatory"]

SEVERITIES: tuple[Severity, ...] = ("low", "medium", "high", "critical")
# Policy names become CLI config keys and report ids, so keep them boring and stable.
KEBAB_CASE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


class Status(Enum):
    COMPLIANT = "compliant"
    NON_COMPLIANT = "non-compliant"
    NOT_APPLICABLE = "not-applicable"


@dataclass(frozen=True, slots=True)
class Finding:
    """The outcome of one rule on one resource."""

    status: Status
    message: str = ""


def compliant() -> Finding:
    return Finding(Status.COMPLIANT)


def violation(message: str) -> Finding:
    return Finding(Status.NON_COMPLIANT, message)


def not_applicable(reason: str) -> Finding:
    return Finding(Status.NOT_APPLICABLE, reason)


def not_judged(resource_type: str) -> str:
    """Why a resource policy does not apply to a resource of a type it does not judge."""
    return f"does not judge {resource_type}"


NO_CONFIG: Mapping[str, Any] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class ResourceContext:
    """What a rule may know about the resource besides its properties.

    `protect` is the Pulumi resource option (the only deletion option the Analyzer protocol carries:
    retainOnDelete never reaches a policy pack). `provider` holds the properties of the resource's
    provider (its default tags, region...), empty when the engine sent none. `config` is the rule's
    configuration: its schema defaults overlaid with `--policy-pack-config`.
    """

    resource_type: str
    urn: str
    name: str
    protect: bool = False
    provider: Mapping[str, Any] = field(default_factory=lambda: NO_CONFIG)
    config: Mapping[str, Any] = field(default_factory=lambda: NO_CONFIG)


class GraphResource(Protocol):
    """The part of a stack resource that stack rules may see (pulumi_policy.PolicyResource fits)."""

    @property
    def resource_type(self) -> str: ...

    @property
    def urn(self) -> str: ...

    @property
    def name(self) -> str: ...

    @property
    def props(self) -> Mapping[str, Any]: ...

    @property
    def provider(self) -> Any:
        """The resource's provider (its `props` are the provider's inputs), None when the engine sent none."""
        ...


def provider_props(resource: GraphResource) -> Mapping[str, Any]:
    props = getattr(resource.provider, "props", None)
    return props if isinstance(props, Mapping) else NO_CONFIG


class LinkedResource(GraphResource, Protocol):
    """A resource with its place in the stack (pulumi_policy.PolicyResource fits)."""

    @property
    def parent(self) -> LinkedResource | None: ...

    @property
    def dependencies(self) -> Sequence[LinkedResource]: ...

    @property
    def property_dependencies(self) -> Mapping[str, Sequence[LinkedResource]]: ...


class StackGraphView(Protocol):
    @property
    def resources(self) -> Sequence[LinkedResource]:
        """Every resource of the stack, in stack order."""
        ...

    def of_types(self, resource_types: Sequence[str]) -> Sequence[GraphResource]: ...

    def referrers(
        self, target_urn: str, prop: str, resource_types: Sequence[str]
    ) -> Sequence[GraphResource]: ...

    def dependencies(
        self, source_urn: str, prop: str, resource_types: Sequence[str]
    ) -> Sequence[GraphResource]: ...


@dataclass(frozen=True, slots=True)
class StackContext:
    """A resource's context inside a whole-stack evaluation, with dependency-graph queries.

    `stack_config` is the stack's own configuration (`paved:apps`...), as the CLI hands it to the pack;
    empty when it did not.
    """

    resource_type: str
    urn: str
    name: str
    graph: StackGraphView
    config: Mapping[str, Any] = field(default_factory=lambda: NO_CONFIG)
    provider: Mapping[str, Any] = field(default_factory=lambda: NO_CONFIG)
    stack_config: Mapping[str, Any] = field(default_factory=lambda: NO_CONFIG)

    def of_types(self, resource_types: Sequence[str]) -> Sequence[GraphResource]:
        """Every resource of `resource_types` in the stack, for rules that match by name or labels."""
        return self.graph.of_types(resource_types)

    def referrers(self, prop: str, resource_types: Sequence[str]) -> Sequence[GraphResource]:
        """Resources of `resource_types` whose input `prop` was built from this resource."""
        return self.graph.referrers(self.urn, prop, resource_types)

    def dependencies(self, prop: str, resource_types: Sequence[str]) -> Sequence[GraphResource]:
        """Resources of `resource_types` that this resource's input `prop` was built from."""
        return self.graph.dependencies(self.urn, prop, resource_types)


CtxT = TypeVar("CtxT", ResourceContext, StackContext)
Check = Callable[[Mapping[str, Any], CtxT], Finding]


@dataclass(frozen=True)
class Rule(Generic[CtxT]):
    """One check plus the metadata a user needs to understand and fix a violation."""

    kind: ClassVar[str]

    name: str
    description: str
    severity: Severity
    remediation: str
    resource_types: tuple[str, ...]
    check: Check[CtxT] = field(repr=False)
    checkov: tuple[str, ...] = ()
    cdk_nag: tuple[str, ...] = ()
    # AWS Security Hub FSBP control ids (`RDS.3`): the pulumi-policy `framework` of the policy.
    fsbp: tuple[str, ...] = ()
    enforcement: Enforcement | None = None  # None: the pack's default (mandatory)
    # Level in non-prod stacks, for cost-driven HA rules (Multi-AZ, replicas, deletion protection);
    # None: the same as in prod.
    staging_enforcement: Enforcement | None = None
    url: str | None = None
    # JSON schema of each configuration property, with a "default"; `--policy-pack-config` sets them
    # per policy, e.g. {"aws-required-tags": {"requiredTags": ["environment", "owner"]}}.
    config_schema: Mapping[str, Mapping[str, Any]] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        # Fail at import time, not in a user's `pulumi up`, when a rule is declared badly.
        problems = _metadata_problems(self)
        if problems:
            raise ValueError(f"rule {self.name!r}: " + "; ".join(problems))

    def __call__(self, props: Mapping[str, Any], ctx: CtxT) -> Finding:
        return self.check(props, ctx)

    @property
    def config_defaults(self) -> dict[str, Any]:
        return {key: spec["default"] for key, spec in self.config_schema.items()}

    @property
    def tags(self) -> list[str]:
        ids = [f"checkov:{i}" for i in self.checkov] + [f"cdk-nag:{i}" for i in self.cdk_nag]
        return [f"kind:{self.kind}", *ids, *(f"fsbp:{i}" for i in self.fsbp)]


class ResourceRule(Rule[ResourceContext]):
    """Judges one resource from its own properties."""

    kind = "resource"


class StackRule(Rule[StackContext]):
    """Judges one resource of `resource_types` against the rest of the stack."""

    kind = "stack"


def _metadata_problems(rule: Rule[Any]) -> list[str]:
    checks = [
        (bool(KEBAB_CASE.match(rule.name)), "name must be kebab-case"),
        (bool(rule.description.strip()), "description is empty"),
        (rule.severity in SEVERITIES, f"severity must be one of {SEVERITIES}"),
        (bool(rule.remediation.strip()), "remediation is empty"),
        (bool(rule.resource_types), "resource_types is empty"),
        (
            all(isinstance(spec, Mapping) and "default" in spec for spec in rule.config_schema.values()),
            "every config property needs a default",
        ),
    ]
    return [message for ok, message in checks if not ok]


class RuleMeta(TypedDict):
    """The metadata fields of `Rule`, so the decorators below stay type-checked."""

    name: str
    description: str
    severity: Severity
    remediation: str
    resource_types: tuple[str, ...]
    checkov: NotRequired[tuple[str, ...]]
    cdk_nag: NotRequired[tuple[str, ...]]
    fsbp: NotRequired[tuple[str, ...]]
    enforcement: NotRequired[Enforcement | None]
    staging_enforcement: NotRequired[Enforcement | None]
    url: NotRequired[str | None]
    config_schema: NotRequired[Mapping[str, Mapping[str, Any]]]


def resource_rule(**meta: Unpack[RuleMeta]) -> Callable[[Check[ResourceContext]], ResourceRule]:
    """Decorator: declare a resource rule's metadata right above its check function."""
    return lambda check: ResourceRule(check=check, **meta)


def stack_rule(**meta: Unpack[RuleMeta]) -> Callable[[Check[StackContext]], StackRule]:
    """Decorator: declare a stack rule's metadata right above its check function."""
    return lambda check: StackRule(check=check, **meta)
