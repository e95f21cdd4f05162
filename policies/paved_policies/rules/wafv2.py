"""WAFv2 web ACL and rule group rules.

A web ACL's rules can sit in three places: its `rules` input, its `ruleJson` input (the WAF API's own
JSON, in PascalCase), and separate `aws.wafv2.WebAclRule` / `WebAclRuleGroupAssociation` resources whose
`webAclArn` came from the ACL. The stack rules here read all three; field names are matched without
regard to case so both spellings read the same. A rule group's rules sit in `rules` or `rulesJson`.
WAF Classic (`aws:waf/*`, `aws:wafregional/*`) is judged in `waf_classic`.

FSBP controls: https://docs.aws.amazon.com/securityhub/latest/userguide/waf-controls.html
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from paved_policies.props import as_map, as_seq, get, get_map, get_seq, get_str, get_tag, keys_of
from paved_policies.rule import (
    Finding,
    ResourceContext,
    StackContext,
    compliant,
    resource_rule,
    stack_rule,
    violation,
)

WEB_ACL = "aws:wafv2/webAcl:WebAcl"
RULE_GROUP = "aws:wafv2/ruleGroup:RuleGroup"
WEB_ACL_RULE = "aws:wafv2/webAclRule:WebAclRule"
RULE_GROUP_ASSOCIATION = "aws:wafv2/webAclRuleGroupAssociation:WebAclRuleGroupAssociation"
LOGGING_CONFIGURATION = "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration"

# The AWS managed groups every web ACL carries: the core rule set (OWASP Top 10 style checks) and known
# bad inputs (Log4j, Java deserialization, ...). Neither costs an extra fee.
# https://docs.aws.amazon.com/waf/latest/developerguide/aws-managed-rule-groups-baseline.html
BASELINE_MANAGED_GROUPS = ("AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet")
AWS_VENDOR = "AWS"
VISIBILITY_FLAGS = ("cloudwatchMetricsEnabled", "sampledRequestsEnabled")
# An ACL that only sees a CDN's or proxy's addresses cannot rate-limit viewers per IP (it would limit the
# CDN itself); its owner says where requests are rate-limited instead, e.g. `paved:rate-limit:
# "upstream: CloudFront web ACL"`. Any non-blank value counts: a reviewed, greppable exception.
RATE_LIMIT_TAG = "paved:rate-limit"
# The input holding the WAF API's own JSON list of rules, per type that has one.
RULES_JSON_INPUT = {WEB_ACL: "ruleJson", RULE_GROUP: "rulesJson"}


def _field(value: Any, name: str) -> Any:
    """value[name] for a mapping, matching the key without regard to case (ruleJson is PascalCase)."""
    mapping = as_map(value)
    wanted = name.lower()
    for key in keys_of(mapping):
        if key.lower() == wanted:
            return mapping[key]
    return None


@dataclass(frozen=True)
class _AclRule:
    """One rule of a web ACL, wherever it was declared."""

    name: str
    statement: Mapping[str, Any]
    action: Any  # the rule's action (custom rules) ...
    override_action: Any  # ... or its override action (rule groups): {"count": {}} or "count"


def _from_rule(rule: Any, name: str) -> _AclRule:
    return _AclRule(
        name=str(_field(rule, "name") or name),
        statement=as_map(_field(rule, "statement")),
        action=_field(rule, "action"),
        override_action=_field(rule, "overrideAction"),
    )


def _json_rules(props: Mapping[str, Any], resource_type: str) -> list[Any]:
    text = get_str(props, RULES_JSON_INPUT[resource_type])
    if not text:
        return []
    try:
        return list(as_seq(json.loads(text)))
    except (ValueError, RecursionError):
        return []


def _inline_rules(props: Mapping[str, Any], resource_type: str = WEB_ACL) -> list[Any]:
    """A web ACL's or rule group's own rules, from `rules` and its JSON input; an unknown list or rule raises
    (contents matter)."""
    return [*get_seq(props, "rules"), *_json_rules(props, resource_type)]


def _acl_rules(props: Mapping[str, Any], ctx: StackContext) -> Iterator[_AclRule]:
    for index, rule in enumerate(_inline_rules(props)):
        yield _from_rule(rule, f"#{index}")
    for resource in ctx.referrers("webAclArn", (WEB_ACL_RULE,)):
        yield _from_rule(resource.props, resource.name)
    for resource in ctx.referrers("webAclArn", (RULE_GROUP_ASSOCIATION,)):
        yield _AclRule(
            name=str(get_str(resource.props, "ruleName") or resource.name),
            statement={"managedRuleGroupStatement": get_map(resource.props, "managedRuleGroup")},
            action=None,
            override_action=get(resource.props, "overrideAction"),
        )


def _counts_only(action: Any) -> bool:
    """A rule (or group) whose action is count matches without blocking anything."""
    if isinstance(action, str):
        return action.lower() == "count"
    return any(key.lower() == "count" for key in keys_of(action))


def _managed_group(rule: _AclRule) -> str | None:
    """The AWS managed rule group a rule applies in earnest (not overridden to count), if any."""
    group = _field(rule.statement, "managedRuleGroupStatement")
    if group is None or _counts_only(rule.override_action):
        return None
    name, vendor = _field(group, "name"), _field(group, "vendorName")
    return name if isinstance(name, str) and vendor == AWS_VENDOR else None


@stack_rule(
    name="wafv2-managed-baseline-rules",
    description=f"Web ACLs apply the AWS managed baseline rule groups: {', '.join(BASELINE_MANAGED_GROUPS)}.",
    severity="high",
    remediation=(
        "Add a rule per group with statement.managed_rule_group_statement (vendor_name='AWS', name=<group>) "
        "and override_action none; override single rules to count where they misfire, not the group."
    ),
    resource_types=(WEB_ACL,),
    # WAF.10 (at least one rule or rule group) holds whenever both baseline groups are applied.
    fsbp=("WAF.10",),
    # checkov's Log4j checks (CKV_AWS_192, CKV2_AWS_47, CKV2_AWS_76) look for KnownBadInputs' Log4JRCE
    # only, so they are not the same check.
    url="https://docs.aws.amazon.com/waf/latest/developerguide/aws-managed-rule-groups-baseline.html",
)
def wafv2_managed_baseline_rules(props: Mapping[str, Any], ctx: StackContext) -> Finding:
    applied = {_managed_group(rule) for rule in _acl_rules(props, ctx)}
    missing = [group for group in BASELINE_MANAGED_GROUPS if group not in applied]
    if not missing:
        return compliant()
    return violation(
        f"Web ACL '{ctx.name}' does not apply {', '.join(missing)} (absent, or overridden to count)."
    )


@stack_rule(
    name="wafv2-rate-based-rule",
    description=(
        f"Web ACLs rate-limit clients with a rate-based rule, or say with a '{RATE_LIMIT_TAG}' tag where "
        "requests are rate-limited instead."
    ),
    severity="medium",
    remediation=(
        "Add a rule with statement.rate_based_statement (aggregate_key_type 'IP', a limit per evaluation "
        "window) and action block (or captcha/challenge). An ACL behind a CDN sees the CDN's addresses: "
        f"rate-limit on the CDN's ACL and tag this one '{RATE_LIMIT_TAG}' with where that happens."
    ),
    resource_types=(WEB_ACL,),
    url="https://docs.aws.amazon.com/waf/latest/developerguide/waf-rule-statement-type-rate-based.html",
)
def wafv2_rate_based_rule(props: Mapping[str, Any], ctx: StackContext) -> Finding:
    for rule in _acl_rules(props, ctx):
        if _field(rule.statement, "rateBasedStatement") is not None and not _counts_only(rule.action):
            return compliant()
    if get_tag(props, RATE_LIMIT_TAG) is not None:
        return compliant()
    return violation(
        f"Web ACL '{ctx.name}' has no blocking rate-based rule and no '{RATE_LIMIT_TAG}' tag saying where "
        "requests are rate-limited."
    )


def _visibility_gaps(where: str, owner: Any) -> list[str]:
    config = _field(owner, "visibilityConfig")
    off = [flag for flag in VISIBILITY_FLAGS if _field(config, flag) is not True]
    return [f"{where}: {', '.join(off)}"] if off else []


# What each judged type is, for the messages: the rule resources are one rule each.
_VISIBILITY_OWNER = {WEB_ACL: "the ACL", RULE_GROUP: "the rule group"}


@resource_rule(
    name="wafv2-visibility-metrics",
    description=(
        "Web ACLs, rule groups and each of their rules publish CloudWatch metrics and keep sampled requests "
        "(visibility_config)."
    ),
    severity="low",
    remediation=(
        "Set visibility_config with cloudwatch_metrics_enabled=True, sampled_requests_enabled=True and a "
        "metric_name on the web ACL or rule group and on every rule (in rules, rule_json / rules_json, and "
        "WebAclRule / WebAclRuleGroupAssociation resources)."
    ),
    resource_types=(WEB_ACL, RULE_GROUP, WEB_ACL_RULE, RULE_GROUP_ASSOCIATION),
    fsbp=("WAF.12",),
    url="https://docs.aws.amazon.com/waf/latest/developerguide/web-acl-testing-view-sample.html",
)
def wafv2_visibility_metrics(props: Mapping[str, Any], ctx: ResourceContext) -> Finding:
    gaps = _visibility_gaps(_VISIBILITY_OWNER.get(ctx.resource_type, "the rule"), props)
    if ctx.resource_type in RULES_JSON_INPUT:
        for index, rule in enumerate(_inline_rules(props, ctx.resource_type)):
            gaps += _visibility_gaps(f"rule '{_field(rule, 'name') or index}'", rule)
    if not gaps:
        return compliant()
    return violation(f"'{ctx.name}' does not turn on {'; '.join(gaps)}.")


@stack_rule(
    name="wafv2-logging-enabled",
    description="Every web ACL has a logging configuration.",
    severity="medium",
    remediation=(
        "Create an aws.wafv2.WebAclLoggingConfiguration with resource_arn=<the web ACL>.arn and a log "
        "destination (a CloudWatch log group named aws-waf-logs-*, S3 or Firehose); redact authorization "
        "and cookie headers. Pass the ARN output so the pack sees the link."
    ),
    resource_types=(WEB_ACL,),
    checkov=("CKV2_AWS_31",),
    cdk_nag=("WAFv2LoggingEnabled",),
    url="https://docs.aws.amazon.com/waf/latest/developerguide/logging.html",
)
def wafv2_logging_enabled(props: Mapping[str, Any], ctx: StackContext) -> Finding:
    if ctx.referrers("resourceArn", (LOGGING_CONFIGURATION,)):
        return compliant()
    return violation(f"Web ACL '{ctx.name}' has no {LOGGING_CONFIGURATION} whose resourceArn is this ACL.")


RULES = (
    wafv2_managed_baseline_rules,
    wafv2_rate_based_rule,
    wafv2_visibility_metrics,
    wafv2_logging_enabled,
)
