"""The one adapter between our rules and pulumi_policy.

Everything that knows how CrossGuard calls a policy lives here: type filtering, building the
rule context, exemptions, turning a Finding into report_violation / not_applicable, and the stack
graph. How the SDK is driven to evaluate them fast is `dispatch.py`'s business.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyComplianceFramework,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import UnknownValueError

from paved_policies.environment import Environment, stack_config
from paved_policies.exemptions import (
    AWS_NAMES_TAG,
    AWS_REASON_TAG,
    EXEMPTIONS_CONFIG,
    EXEMPTIONS_SCHEMA,
    K8S_NAMES_ANNOTATION,
    K8S_REASON_ANNOTATION,
    LEDGER,
    Exemption,
    Record,
    Refusal,
    describe,
    exemption_for,
    label_problems,
)
from paved_policies.fsbp import FRAMEWORK_NAME, FRAMEWORK_VERSION, STANDARD_URL, cis_tags
from paved_policies.graph import StackGraph
from paved_policies.rule import (
    NO_CONFIG,
    CtxT,
    Enforcement,
    Finding,
    ResourceContext,
    ResourceRule,
    Rule,
    StackContext,
    StackRule,
    Status,
    not_applicable,
    not_judged,
    provider_props,
    violation,
)

_SEVERITY = {
    "low": Severity.LOW,
    "medium": Severity.MEDIUM,
    "high": Severity.HIGH,
    "critical": Severity.CRITICAL,
}
_ENFORCEMENT = {
    "advisory": EnforcementLevel.ADVISORY,
    "mandatory": EnforcementLevel.MANDATORY,
}


def to_policy(rule: Rule[Any], environment: Environment = "prod") -> Policy:
    kwargs = _policy_kwargs(rule, environment)
    if isinstance(rule, ResourceRule):
        return _resource_policy(rule, kwargs)
    if isinstance(rule, StackRule):
        return _stack_policy(rule, kwargs)
    raise TypeError(f"unsupported rule kind: {type(rule).__name__}")


def enforcement_for(rule: Rule[Any], environment: Environment) -> Enforcement | None:
    """The rule's level in `environment`; None means the pack's default (mandatory)."""
    if environment != "prod" and rule.staging_enforcement is not None:
        return rule.staging_enforcement
    return rule.enforcement


def _policy_kwargs(rule: Rule[Any], environment: Environment) -> dict[str, Any]:
    level = enforcement_for(rule, environment)
    return {
        "name": rule.name,
        "description": rule.description,
        "enforcement_level": _ENFORCEMENT[level] if level else None,
        "severity": _SEVERITY[rule.severity],
        "tags": [*rule.tags, *cis_tags(rule.fsbp)],
        "framework": _framework(rule),
        "remediation_steps": rule.remediation,
        "url": rule.url,
        # The schema's defaults reach the pack through Configure (the CLI merges them in); rule_config
        # applies them again for callers that send no config at all.
        "config_schema": PolicyConfigSchema(
            {
                **{key: dict(spec) for key, spec in rule.config_schema.items()},
                EXEMPTIONS_CONFIG: dict(EXEMPTIONS_SCHEMA),
            }
        ),
    }


def _framework(rule: Rule[Any]) -> PolicyComplianceFramework | None:
    if not rule.fsbp:
        return None
    return PolicyComplianceFramework(
        name=FRAMEWORK_NAME,
        version=FRAMEWORK_VERSION,
        reference=", ".join(rule.fsbp),
        specification=STANDARD_URL,
    )


def rule_config(rule: Rule[Any], configured: Mapping[str, Any] | None) -> Mapping[str, Any]:
    """The rule's schema defaults overlaid with what `--policy-pack-config` set for it (exemptions aside)."""
    if not rule.config_schema:
        return NO_CONFIG
    own = {key: value for key, value in (configured or {}).items() if key in rule.config_schema}
    return MappingProxyType({**rule.config_defaults, **own})


def _judged(
    rule: Rule[CtxT], props: Any, ctx: CtxT, urn: str, configured: Mapping[str, Any] | None
) -> Finding:
    """The rule's finding on one resource, with any exemption for it applied and recorded."""
    exemption = exemption_for(
        rule.name, ctx.resource_type, urn, props, (configured or {}).get(EXEMPTIONS_CONFIG)
    )
    if isinstance(exemption, Exemption):
        try:
            finding = rule.check(props, ctx)
        except UnknownValueError as err:
            finding = violation(f"not checkable in preview ({err.message}).")
        if finding.status is Status.NOT_APPLICABLE:
            return finding
        would_have_said = finding.message if finding.status is Status.NON_COMPLIANT else None
        LEDGER.record(Record(rule.name, urn, exemption, would_have_said))
        return not_applicable(f"exempt: {exemption.reason}")
    finding = rule.check(props, ctx)
    if isinstance(exemption, Refusal) and finding.status is Status.NON_COMPLIANT:
        return violation(f"{finding.message} (exemption refused: {exemption.problem})")
    return finding


def _resource_policy(rule: ResourceRule, kwargs: dict[str, Any]) -> ResourceValidationPolicy:
    types = frozenset(rule.resource_types)

    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        # The plain SDK calls every resource policy for every resource; most are not ours. Said, not left
        # silent (not_applicable raises): the CLI's policy summaries count a silent policy as passed.
        if args.resource_type not in types:
            args.not_applicable(not_judged(args.resource_type))
        configured = args.get_config()
        ctx = ResourceContext(
            args.resource_type,
            args.urn,
            args.name,
            protect=bool(args.opts.protect),
            provider=args.provider.props if args.provider is not None else NO_CONFIG,
            config=rule_config(rule, configured),
        )
        finding = _judged(rule, args.props, ctx, args.urn, configured)
        if finding.status is Status.NON_COMPLIANT:
            report_violation(finding.message, None)
        elif finding.status is Status.NOT_APPLICABLE:
            args.not_applicable(finding.message)

    return ResourceValidationPolicy(validate=validate, **kwargs)


_last_graph: tuple[Sequence[Any], StackGraph] | None = None


def _graph(resources: Sequence[Any]) -> StackGraph:
    """The stack's dependency index, built once for all stack policies: the dispatching servicer hands them
    one list of resources (the plain SDK a new list each, so each builds its own)."""
    global _last_graph
    last = _last_graph
    if last is not None and last[0] is resources:
        return last[1]
    graph = StackGraph(resources)
    _last_graph = (resources, graph)
    return graph


def _stack_policy(rule: StackRule, kwargs: dict[str, Any]) -> StackValidationPolicy:
    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        graph = _graph(args.resources)
        configured = args.get_config()
        config = rule_config(rule, configured)
        # The CLI starts the pack with the stack's config in its environment, as pulumi_policy reads it.
        stack = stack_config(os.environ)
        applicable = 0
        unknown: UnknownValueError | None = None
        resources = graph.of_types(rule.resource_types)
        for resource in resources:
            ctx = StackContext(
                resource.resource_type,
                resource.urn,
                resource.name,
                graph,
                config,
                provider_props(resource),
                stack,
            )
            try:
                finding = _judged(rule, resource.props, ctx, resource.urn, configured)
            except UnknownValueError as err:
                # One resource still unknown in preview must not hide violations on the others.
                unknown = unknown or err
                continue
            if finding.status is not Status.NOT_APPLICABLE:
                applicable += 1
            if finding.status is Status.NON_COMPLIANT:
                report_violation(finding.message, resource.urn)
        if unknown is not None:
            raise unknown
        if not applicable:
            types = ", ".join(rule.resource_types)
            args.not_applicable(
                f"no {types} in the stack"
                if not resources
                else f"every {types} in the stack is exempt or not applicable"
            )

    return StackValidationPolicy(validate=validate, **kwargs)


EXEMPTIONS_POLICY = "paved-exemptions"


def exemptions_policy(policy_types: Mapping[str, frozenset[str]]) -> StackValidationPolicy:
    """The advisory report of every exemption the pack granted or could not make sense of; runs last."""

    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        graph = _graph(args.resources)
        reported = 0
        for record in LEDGER.records():
            report_violation(describe(record), record.urn)
            reported += 1
        for resource in graph.resources:
            for problem in label_problems(resource.props, resource.resource_type, policy_types):
                report_violation(f"'{resource.name}' is exempted from {problem}", resource.urn)
                reported += 1
        if not reported:
            args.not_applicable("no resource is exempted from any policy")

    return StackValidationPolicy(
        name=EXEMPTIONS_POLICY,
        description="Reports every exemption: which policy let which resource off, why, and if it still must",
        validate=validate,
        enforcement_level=EnforcementLevel.ADVISORY,
        severity=Severity.LOW,
        tags=["kind:stack"],
        remediation_steps=(
            "Nothing to fix: this lists exemptions so they are seen. Remove an exemption the report says is "
            f"no longer needed; correct names it does not recognise. Exempt a resource with the tags "
            f"'{AWS_NAMES_TAG}' (policy names, space- or '/'-separated) and '{AWS_REASON_TAG}' (Kubernetes: "
            f"annotations '{K8S_NAMES_ANNOTATION}', '{K8S_REASON_ANNOTATION}'), or in a policy's config: "
            '{"<policy>": {"exemptions": [{"urn": "<fnmatch pattern>", "reason": "..."}]}}.'
        ),
        url="https://www.pulumi.com/docs/iac/crossguard/configuration/",
    )
