"""The one adapter between our rules and pulumi_policy.

Everything that knows how CrossGuard calls a policy lives here: type filtering, building the
rule context, turning a Finding into report_violation / not_applicable, and the stack graph.
Changing the evaluation strategy later (e.g. one shared property read for all rules, one graph
per stack instead of per policy) is a change to this file only.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import UnknownValueError

from paved_policies.environment import Environment
from paved_policies.graph import StackGraph
from paved_policies.rule import (
    NO_CONFIG,
    Enforcement,
    ResourceContext,
    ResourceRule,
    Rule,
    StackContext,
    StackRule,
    Status,
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
        "tags": rule.tags,
        "remediation_steps": rule.remediation,
        "url": rule.url,
        # The schema's defaults reach the pack through Configure (the CLI merges them in); rule_config
        # applies them again for callers that send no config at all.
        "config_schema": (
            PolicyConfigSchema({key: dict(spec) for key, spec in rule.config_schema.items()})
            if rule.config_schema
            else None
        ),
    }


def rule_config(rule: Rule[Any], configured: Mapping[str, Any] | None) -> Mapping[str, Any]:
    """The rule's schema defaults overlaid with what `--policy-pack-config` set for it."""
    if not rule.config_schema:
        return NO_CONFIG
    return MappingProxyType({**rule.config_defaults, **(configured or {})})


def _resource_policy(rule: ResourceRule, kwargs: dict[str, Any]) -> ResourceValidationPolicy:
    types = frozenset(rule.resource_types)

    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        # CrossGuard calls every resource policy for every resource; most are not ours.
        if args.resource_type not in types:
            return
        ctx = ResourceContext(
            args.resource_type,
            args.urn,
            args.name,
            protect=bool(args.opts.protect),
            provider=args.provider.props if args.provider is not None else NO_CONFIG,
            config=rule_config(rule, args.get_config()),
        )
        finding = rule.check(args.props, ctx)
        if finding.status is Status.NON_COMPLIANT:
            report_violation(finding.message, None)
        elif finding.status is Status.NOT_APPLICABLE:
            args.not_applicable(finding.message)

    return ResourceValidationPolicy(validate=validate, **kwargs)


def _stack_policy(rule: StackRule, kwargs: dict[str, Any]) -> StackValidationPolicy:
    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        graph = StackGraph(args.resources)
        config = rule_config(rule, args.get_config())
        applicable = 0
        unknown: UnknownValueError | None = None
        for resource in graph.of_types(rule.resource_types):
            ctx = StackContext(resource.resource_type, resource.urn, resource.name, graph, config)
            try:
                finding = rule.check(resource.props, ctx)
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
            args.not_applicable(f"no {', '.join(rule.resource_types)} in the stack")

    return StackValidationPolicy(validate=validate, **kwargs)

