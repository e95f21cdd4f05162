"""AWS WAF Classic rules: global (`aws:waf/*`, CloudFront) and regional (`aws:wafregional/*`).

WAF Classic declares everything inline: a web ACL's `rules`, a rule's `predicates` (its conditions), a rule
group's `activatedRules`, and a global web ACL's `loggingConfiguration`. AWS ended WAF Classic support on
30 September 2025, so every remediation also points at AWS WAF (wafv2), which `wafv2` judges.

FSBP controls: https://docs.aws.amazon.com/securityhub/latest/userguide/waf-controls.html
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from paved_policies.fsbp import controls
from paved_policies.props import get_map, get_seq, has_value
from paved_policies.rule import (
    Finding,
    ResourceContext,
    ResourceRule,
    compliant,
    resource_rule,
    violation,
)

MIGRATE = (
    "Better, migrate to AWS WAF (aws.wafv2), as AWS ended WAF Classic support on 30 September 2025: "
    "https://docs.aws.amazon.com/waf/latest/developerguide/waf-migrating-from-classic.html"
)
GLOBAL_WEB_ACL = "aws:waf/webAcl:WebAcl"
GLOBAL_RULE = "aws:waf/rule:Rule"
GLOBAL_RULE_GROUP = "aws:waf/ruleGroup:RuleGroup"
REGIONAL_WEB_ACL = "aws:wafregional/webAcl:WebAcl"
REGIONAL_RULE = "aws:wafregional/rule:Rule"
REGIONAL_RULE_GROUP = "aws:wafregional/ruleGroup:RuleGroup"


@resource_rule(
    name="waf-classic-logging-enabled",
    description="WAF Classic global web ACLs log their traffic.",
    severity="medium",
    remediation=(
        "Set logging_configuration.log_destination to a Kinesis Data Firehose delivery stream whose name "
        f"starts with aws-waf-logs-. {MIGRATE}"
    ),
    resource_types=(GLOBAL_WEB_ACL,),
    fsbp=("WAF.1",),
    url=controls()["WAF.1"].url,
)
def waf_classic_logging_enabled(props: Mapping[str, Any], ctx: ResourceContext) -> Finding:
    if has_value(get_map(props, "loggingConfiguration"), "logDestination"):
        return compliant()
    return violation(f"WAF Classic web ACL '{ctx.name}' has no loggingConfiguration.logDestination.")


def _not_empty(name: str, control: str, resource_type: str, prop: str, what: str, holds: str) -> ResourceRule:
    """The rule for a WAF Classic control that asks `resource_type`'s `prop` list not to be empty."""

    def check(props: Mapping[str, Any], ctx: ResourceContext) -> Finding:
        # An unknown list raises (it may be empty); unknown items inside a known list still count.
        if get_seq(props, prop):
            return compliant()
        return violation(f"{what} '{ctx.name}' has no {holds} ({prop} is empty).")

    return resource_rule(
        name=name,
        description=f"{what}s have at least one {holds}.",
        severity="medium",
        remediation=f"Give the {what} at least one entry in {prop}, or delete it. {MIGRATE}",
        resource_types=(resource_type,),
        fsbp=(control,),
        url=controls()[control].url,
    )(check)


RULES = (
    waf_classic_logging_enabled,
    _not_empty(
        "waf-regional-rule-not-empty",
        "WAF.2",
        REGIONAL_RULE,
        "predicates",
        "WAF Classic regional rule",
        "condition",
    ),
    _not_empty(
        "waf-regional-rulegroup-not-empty",
        "WAF.3",
        REGIONAL_RULE_GROUP,
        "activatedRules",
        "WAF Classic regional rule group",
        "rule",
    ),
    _not_empty(
        "waf-regional-webacl-not-empty",
        "WAF.4",
        REGIONAL_WEB_ACL,
        "rules",
        "WAF Classic regional web ACL",
        "rule or rule group",
    ),
    _not_empty(
        "waf-global-rule-not-empty",
        "WAF.6",
        GLOBAL_RULE,
        "predicates",
        "WAF Classic global rule",
        "condition",
    ),
    _not_empty(
        "waf-global-rulegroup-not-empty",
        "WAF.7",
        GLOBAL_RULE_GROUP,
        "activatedRules",
        "WAF Classic global rule group",
        "rule",
    ),
    _not_empty(
        "waf-global-webacl-not-empty",
        "WAF.8",
        GLOBAL_WEB_ACL,
        "rules",
        "WAF Classic global web ACL",
        "rule or rule group",
    ),
)
