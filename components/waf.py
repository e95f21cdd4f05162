"""WAF: one web ACL builder for both scopes (REGIONAL in front of the ALB, CLOUDFRONT in us-east-1).

Each ACL carries the AWS managed baseline groups, size limits that match what WAF can inspect, and, where the
ACL sees the viewer's own address (`client_ip_rules`), the per-IP rate limit, IP reputation, geo block and the
`ingressCidrs` allow-list. Behind CloudFront the ALB's ACL sees CloudFront's addresses, so those rules would
limit or block CloudFront itself; they go on the CLOUDFRONT ACL only.

Every ACL logs to its own KMS-encrypted log group `aws-waf-logs-<stack>-<name>` (WAF requires the prefix:
https://docs.aws.amazon.com/waf/latest/developerguide/logging-cw-logs.html) with the `authorization` and
`cookie` headers redacted, and alarms when it blocks more requests than `blockedRequestsAlarm` allows.

WAF writes through the log delivery service, which needs a resource policy on the log group. WAF would add
one itself only if the deployer may call logs:PutResourcePolicy
(https://docs.aws.amazon.com/waf/latest/APIReference/API_LoggingConfiguration.html); paved declares it
(components/log_delivery.py) and starts logging after it.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Network, ip_network
from typing import Literal

import pulumi
import pulumi_aws as aws

from components.dashboard import Metric, Widget
from components.edge import EdgeArgs, PathRateLimit
from components.kms import aws_context
from components.log_delivery import log_delivery_policy
from components.logs import log_group
from components.observability import Alerting

Scope = Literal["REGIONAL", "CLOUDFRONT"]

# Documented capacity (WCU) of each AWS managed group used here:
# https://docs.aws.amazon.com/waf/latest/developerguide/aws-managed-rule-groups-baseline.html (Common 700,
# KnownBadInputs 200), aws-managed-rule-groups-use-case.html (SQLi 200, Linux 200),
# aws-managed-rule-groups-ip-rep.html (AmazonIpReputationList 25). None of them carries an extra fee.
MANAGED_GROUP_WCU: Mapping[str, int] = {
    "AWSManagedRulesCommonRuleSet": 700,
    "AWSManagedRulesKnownBadInputsRuleSet": 200,
    "AWSManagedRulesSQLiRuleSet": 200,
    "AWSManagedRulesLinuxRuleSet": 200,
    "AWSManagedRulesAmazonIpReputationList": 25,
}
CLIENT_IP_MANAGED_GROUPS = frozenset({"AWSManagedRulesAmazonIpReputationList"})

# A web ACL may use up to 1,500 WCU at the base price; "additional fees apply for every 500 WCU beyond the
# default 1,500": https://aws.amazon.com/about-aws/whats-new/2023/04/aws-waf-web-acl-capacity-units-limits/
DEFAULT_CAPACITY_WCU = 1_500

# Base WCU of the statements the custom rules use (rule statement pages of the WAF developer guide,
# waf-rule-statements-match.html, waf-rule-statement-type-string-match.html,
# waf-rule-statement-type-rate-based.html): logical AND / OR / NOT statements cost only what they nest, and
# every text transformation other than NONE adds 10.
_WCU_SIZE_CONSTRAINT = 1
_WCU_STARTS_WITH = 2
_WCU_EXACTLY = 2
_WCU_LABEL_MATCH = 1
_WCU_GEO_MATCH = 1
_WCU_IP_SET = 1
_WCU_RATE_BASED = 2
_WCU_TEXT_TRANSFORMATION = 10

# The body bytes the protected resource forwards to WAF: fixed at 8 KB for an ALB, 16 KB by default for
# CloudFront (pinned below through association_config):
# https://docs.aws.amazon.com/waf/latest/developerguide/web-acl-setting-body-inspection-limit.html
BODY_INSPECTION_LIMIT_BYTES: Mapping[Scope, int] = {"REGIONAL": 8_192, "CLOUDFRONT": 16_384}
MAX_URI_PATH_BYTES = 2_048

# The Common rule set's SizeRestrictions_BODY rule (bodies over 8 KB) labels what it matches, also in Count:
# https://docs.aws.amazon.com/waf/latest/developerguide/aws-managed-rule-groups-baseline.html
SIZE_RESTRICTIONS_BODY_RULE = "SizeRestrictions_BODY"
SIZE_RESTRICTIONS_BODY_LABEL = "awswaf:managed:aws:core-rule-set:SizeRestrictions_Body"
# Our own label, added by the upload-path rule; without a prefix a label match stays in this ACL's namespace:
# https://docs.aws.amazon.com/waf/latest/developerguide/waf-rule-label-match.html
UPLOAD_PATH_LABEL = "paved:upload-path"
# Paths are compared after URL decoding and path normalisation, so `/uploads/../admin` or `/upl%6Fads/..`
# cannot borrow the upload exemption, and `/api//auth/` or `/api/%61uth/` is counted by a path's rate limit.
_PATH_TRANSFORMATIONS = ("URL_DECODE", "NORMALIZE_PATH")
# One path prefix compared that way: STARTS_WITH and its transformations.
_WCU_PATH_MATCH = _WCU_STARTS_WITH + _WCU_TEXT_TRANSFORMATION * len(_PATH_TRANSFORMATIONS)
# A rate-limited path: the rate-based statement, scoped down to its path.
_WCU_RATE_LIMITED_PATH = _WCU_RATE_BASED + _WCU_PATH_MATCH

# An ACL without client-IP rules sits behind CloudFront and sees only its addresses, so it has no per-IP
# rate limit; this tag says where viewers are rate-limited instead (the policy pack's wafv2-rate-based-rule
# reads it). Tag values allow letters, digits, spaces and + - = . _ : / @ only.
RATE_LIMIT_TAG = "paved:rate-limit"
RATE_LIMIT_UPSTREAM = "upstream: per viewer IP on the CloudFront web ACL"

# WAF IP sets take every CIDR except /0 (https://docs.aws.amazon.com/waf/latest/APIReference/API_IPSet.html),
# so an address family open to all is written as its two halves.
_WHOLE_FAMILY = {4: ("0.0.0.0/1", "128.0.0.0/1"), 6: ("::/1", "8000::/1")}


@dataclass(frozen=True)
class _Rule:
    name: str
    statement: aws.wafv2.WebAclRuleStatementArgs
    wcu: int
    action: Literal["block", "count"] | None = None  # None: a managed group (override_action instead)
    labels: Sequence[str] = ()


def rules_wcu(*, scope: Scope, client_ip_rules: bool, args: EdgeArgs, probes: bool = False) -> dict[str, int]:
    """The WCU of each rule the ACL gets, by rule name (the same plan `WebAcl` builds)."""
    return {rule.name: rule.wcu for rule in _plan(scope, client_ip_rules, args, {}, probes=probes)}


def _visibility(metric_name: str) -> aws.wafv2.WebAclRuleVisibilityConfigArgs:
    return aws.wafv2.WebAclRuleVisibilityConfigArgs(
        cloudwatch_metrics_enabled=True, sampled_requests_enabled=True, metric_name=metric_name
    )


def _managed(name: str, *, count_rules: Sequence[str] = ()) -> _Rule:
    overrides = [
        aws.wafv2.WebAclRuleStatementManagedRuleGroupStatementRuleActionOverrideArgs(
            name=rule,
            action_to_use=aws.wafv2.WebAclRuleStatementManagedRuleGroupStatementRuleActionOverrideActionToUseArgs(
                count=aws.wafv2.WebAclRuleStatementManagedRuleGroupStatementRuleActionOverrideActionToUseCountArgs()
            ),
        )
        for rule in count_rules
    ]
    statement = aws.wafv2.WebAclRuleStatementArgs(
        managed_rule_group_statement=aws.wafv2.WebAclRuleStatementManagedRuleGroupStatementArgs(
            name=name, vendor_name="AWS", rule_action_overrides=overrides or None
        )
    )
    return _Rule(name=f"AWS-{name}", statement=statement, wcu=MANAGED_GROUP_WCU[name])


def _label(key: str) -> aws.wafv2.WebAclRuleStatementArgs:
    return aws.wafv2.WebAclRuleStatementArgs(
        label_match_statement=aws.wafv2.WebAclRuleStatementLabelMatchStatementArgs(scope="LABEL", key=key)
    )


def _not(statement: aws.wafv2.WebAclRuleStatementArgs) -> aws.wafv2.WebAclRuleStatementArgs:
    return aws.wafv2.WebAclRuleStatementArgs(
        not_statement=aws.wafv2.WebAclRuleStatementNotStatementArgs(statement=statement)
    )


def _any(statements: Sequence[aws.wafv2.WebAclRuleStatementArgs]) -> aws.wafv2.WebAclRuleStatementArgs:
    if len(statements) == 1:
        return statements[0]
    return aws.wafv2.WebAclRuleStatementArgs(
        or_statement=aws.wafv2.WebAclRuleStatementOrStatementArgs(statements=list(statements))
    )


def _all(statements: Sequence[aws.wafv2.WebAclRuleStatementArgs]) -> aws.wafv2.WebAclRuleStatementArgs:
    return aws.wafv2.WebAclRuleStatementArgs(
        and_statement=aws.wafv2.WebAclRuleStatementAndStatementArgs(statements=list(statements))
    )


def _size_greater_than(
    size: int, field: aws.wafv2.WebAclRuleStatementSizeConstraintStatementFieldToMatchArgs
) -> aws.wafv2.WebAclRuleStatementArgs:
    return aws.wafv2.WebAclRuleStatementArgs(
        size_constraint_statement=aws.wafv2.WebAclRuleStatementSizeConstraintStatementArgs(
            comparison_operator="GT",
            size=size,
            field_to_match=field,
            text_transformations=[
                aws.wafv2.WebAclRuleStatementSizeConstraintStatementTextTransformationArgs(
                    priority=0, type="NONE"
                )
            ],
        )
    )


def _byte_match(
    search: str,
    constraint: Literal["STARTS_WITH", "EXACTLY"],
    field: aws.wafv2.WebAclRuleStatementByteMatchStatementFieldToMatchArgs,
    transformations: Sequence[str],
) -> aws.wafv2.WebAclRuleStatementArgs:
    return aws.wafv2.WebAclRuleStatementArgs(
        byte_match_statement=aws.wafv2.WebAclRuleStatementByteMatchStatementArgs(
            positional_constraint=constraint,
            search_string=search,
            field_to_match=field,
            text_transformations=[
                aws.wafv2.WebAclRuleStatementByteMatchStatementTextTransformationArgs(priority=i, type=kind)
                for i, kind in enumerate(transformations)
            ],
        )
    )


def _starts_with(path: str) -> aws.wafv2.WebAclRuleStatementArgs:
    uri_path = aws.wafv2.WebAclRuleStatementByteMatchStatementFieldToMatchArgs(
        uri_path=aws.wafv2.WebAclRuleStatementByteMatchStatementFieldToMatchUriPathArgs()
    )
    return _byte_match(path, "STARTS_WITH", uri_path, _PATH_TRANSFORMATIONS)


def _method_is(method: str) -> aws.wafv2.WebAclRuleStatementArgs:
    field = aws.wafv2.WebAclRuleStatementByteMatchStatementFieldToMatchArgs(
        method=aws.wafv2.WebAclRuleStatementByteMatchStatementFieldToMatchMethodArgs()
    )
    return _byte_match(method, "EXACTLY", field, ("NONE",))


def _rate_limited_path(limit: PathRateLimit) -> aws.wafv2.WebAclRuleStatementArgs:
    """Per viewer IP, the requests whose path starts with the limit's prefix; WAF counts each request in every
    rate-based rule it reaches, so `/api/auth/` and a looser `/api/` each keep their own count."""
    scope_down = aws.wafv2.WebAclRuleStatementRateBasedStatementScopeDownStatementArgs(
        byte_match_statement=aws.wafv2.WebAclRuleStatementRateBasedStatementScopeDownStatementByteMatchStatementArgs(
            positional_constraint="STARTS_WITH",
            search_string=limit.path,
            field_to_match=aws.wafv2.WebAclRuleStatementRateBasedStatementScopeDownStatementByteMatchStatementFieldToMatchArgs(
                uri_path=aws.wafv2.WebAclRuleStatementRateBasedStatementScopeDownStatementByteMatchStatementFieldToMatchUriPathArgs()
            ),
            text_transformations=[
                aws.wafv2.WebAclRuleStatementRateBasedStatementScopeDownStatementByteMatchStatementTextTransformationArgs(
                    priority=i, type=kind
                )
                for i, kind in enumerate(_PATH_TRANSFORMATIONS)
            ],
        )
    )
    return aws.wafv2.WebAclRuleStatementArgs(
        rate_based_statement=aws.wafv2.WebAclRuleStatementRateBasedStatementArgs(
            aggregate_key_type="IP",
            limit=limit.limit,
            evaluation_window_sec=limit.window_seconds,
            scope_down_statement=scope_down,
        )
    )


def _allow_list(cidrs: Sequence[str], *, probes: bool) -> dict[str, list[str]]:
    """`ingressCidrs` split by family (`IPV4` / `IPV6`), with a /0 written as its two /1 halves; with
    `probes`, an IPV4 family even when no CIDR is IPv4, for the stack's own probes' addresses."""
    families: dict[str, list[str]] = {"IPV4": []} if probes else {}
    for cidr in cidrs:
        network = ip_network(cidr)
        version = 4 if isinstance(network, IPv4Network) else 6
        entries = list(_WHOLE_FAMILY[version]) if network.prefixlen == 0 else [str(network)]
        families.setdefault(f"IPV{version}", []).extend(entries)
    return families


def _needs_allow_list(args: EdgeArgs) -> bool:
    return not args.admits_everyone


def _client_ip_rules(
    args: EdgeArgs, ip_set_arns: Mapping[str, pulumi.Input[str]], *, probes: bool
) -> list[_Rule]:
    rules: list[_Rule] = []
    if _needs_allow_list(args):
        families = sorted(_allow_list(args.ingress_cidrs, probes=probes))
        allowed = _any(
            [
                aws.wafv2.WebAclRuleStatementArgs(
                    ip_set_reference_statement=aws.wafv2.WebAclRuleStatementIpSetReferenceStatementArgs(
                        arn=ip_set_arns.get(family, "")
                    )
                )
                for family in families
            ]
        )
        rules.append(_Rule("ingress-allow-list", _not(allowed), _WCU_IP_SET * len(families), action="block"))
    if args.geo_block_countries:
        geo = aws.wafv2.WebAclRuleStatementArgs(
            geo_match_statement=aws.wafv2.WebAclRuleStatementGeoMatchStatementArgs(
                country_codes=list(args.geo_block_countries)
            )
        )
        rules.append(_Rule("geo-block", geo, _WCU_GEO_MATCH, action="block"))
    rate = aws.wafv2.WebAclRuleStatementArgs(
        rate_based_statement=aws.wafv2.WebAclRuleStatementRateBasedStatementArgs(
            aggregate_key_type="IP",
            limit=args.rate_limit_per_ip,
            evaluation_window_sec=args.rate_limit_window_seconds,
        )
    )
    rules.append(_Rule("rate-limit-per-ip", rate, _WCU_RATE_BASED, action="block"))
    rules += [
        _Rule(limit.rule_name, _rate_limited_path(limit), _WCU_RATE_LIMITED_PATH, action="block")
        for limit in args.path_rate_limits
    ]
    rules.append(_managed("AWSManagedRulesAmazonIpReputationList"))
    return rules


def _plan(
    scope: Scope,
    client_ip_rules: bool,
    args: EdgeArgs,
    ip_set_arns: Mapping[str, pulumi.Input[str]],
    *,
    probes: bool,
) -> list[_Rule]:
    """The ACL's rules in evaluation order (the list index is the priority)."""
    rules = _client_ip_rules(args, ip_set_arns, probes=probes) if client_ip_rules else []
    uploads = list(args.upload_paths)
    not_upload: list[aws.wafv2.WebAclRuleStatementArgs] = []
    if uploads:
        # Counts (never blocks) and labels requests that send a body to an upload path, so the size rules
        # below can exempt them with one label match instead of repeating the comparisons. A GET or DELETE
        # to an upload path carries no upload, so it keeps the body limits.
        methods = list(args.upload_methods)
        rules.append(
            _Rule(
                "upload-path",
                _all([_any([_starts_with(p) for p in uploads]), _any([_method_is(m) for m in methods])]),
                _WCU_PATH_MATCH * len(uploads) + _WCU_EXACTLY * len(methods),
                action="count",
                labels=[UPLOAD_PATH_LABEL],
            )
        )
        not_upload = [_not(_label(UPLOAD_PATH_LABEL))]
    uri_path = aws.wafv2.WebAclRuleStatementSizeConstraintStatementFieldToMatchArgs(
        uri_path=aws.wafv2.WebAclRuleStatementSizeConstraintStatementFieldToMatchUriPathArgs()
    )
    rules.append(
        _Rule(
            "uri-path-size", _size_greater_than(MAX_URI_PATH_BYTES, uri_path), _WCU_SIZE_CONSTRAINT, "block"
        )
    )
    # WAF only ever sees the first BODY_INSPECTION_LIMIT_BYTES of a body, so with CONTINUE a "larger than the
    # limit" constraint could never match and NO_MATCH would wave every oversized body through. MATCH blocks
    # a body WAF cannot fully inspect, so no payload hides past the inspected window; upload paths are
    # exempt, and there the managed groups judge the first bytes only.
    # https://docs.aws.amazon.com/waf/latest/developerguide/waf-rule-statement-oversize-handling.html
    body = aws.wafv2.WebAclRuleStatementSizeConstraintStatementFieldToMatchArgs(
        body=aws.wafv2.WebAclRuleStatementSizeConstraintStatementFieldToMatchBodyArgs(
            oversize_handling="MATCH"
        )
    )
    too_large = _size_greater_than(BODY_INSPECTION_LIMIT_BYTES[scope], body)
    rules.append(
        _Rule(
            "body-size",
            _all([too_large, *not_upload]) if not_upload else too_large,
            _WCU_SIZE_CONSTRAINT + _WCU_LABEL_MATCH * len(not_upload),
            action="block",
        )
    )
    if uploads:
        # SizeRestrictions_BODY only counts (and labels); this rule blocks what it labelled, except on the
        # upload paths. It must run after the Common rule set, which adds the label.
        rules.append(_managed("AWSManagedRulesCommonRuleSet", count_rules=[SIZE_RESTRICTIONS_BODY_RULE]))
        rules.append(
            _Rule(
                "body-size-except-uploads",
                _all([_label(SIZE_RESTRICTIONS_BODY_LABEL), *not_upload]),
                _WCU_LABEL_MATCH * 2,
                action="block",
            )
        )
    else:
        rules.append(_managed("AWSManagedRulesCommonRuleSet"))
    rules += [
        _managed("AWSManagedRulesKnownBadInputsRuleSet"),
        _managed("AWSManagedRulesSQLiRuleSet"),
        _managed("AWSManagedRulesLinuxRuleSet"),
    ]
    return rules


def _rule_args(priority: int, rule: _Rule) -> aws.wafv2.WebAclRuleArgs:
    if rule.action is None:
        action, override = (
            None,
            aws.wafv2.WebAclRuleOverrideActionArgs(none=aws.wafv2.WebAclRuleOverrideActionNoneArgs()),
        )
    elif rule.action == "count":
        action, override = aws.wafv2.WebAclRuleActionArgs(count=aws.wafv2.WebAclRuleActionCountArgs()), None
    else:
        action, override = aws.wafv2.WebAclRuleActionArgs(block=aws.wafv2.WebAclRuleActionBlockArgs()), None
    return aws.wafv2.WebAclRuleArgs(
        name=rule.name,
        priority=priority,
        statement=rule.statement,
        action=action,
        override_action=override,
        rule_labels=[aws.wafv2.WebAclRuleRuleLabelArgs(name=label) for label in rule.labels] or None,
        visibility_config=_visibility(rule.name),
    )


class WebAcl(pulumi.ComponentResource):
    """A WAFv2 web ACL `paved-<stack>-<name>` with its log group, logging configuration and blocked alarm.

    For CLOUDFRONT pass `opts` with a us-east-1 provider (and a key and Alerting in us-east-1): the ACL, its
    log group and its metrics all live there. Attach a REGIONAL ACL with `associate`.
    """

    web_acl_arn: pulumi.Output[str]
    web_acl_id: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        args: EdgeArgs,
        *,
        scope: Scope,
        client_ip_rules: bool,
        logs_key_arn: pulumi.Input[str],
        alerting: Alerting,
        protect: bool,
        tags: Mapping[str, str],
        probe_sources: Sequence[pulumi.Input[str]] = (),
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        probes = bool(probe_sources)
        total = sum(
            rules_wcu(scope=scope, client_ip_rules=client_ip_rules, args=args, probes=probes).values()
        )
        if total > DEFAULT_CAPACITY_WCU:
            raise ValueError(
                f"WebAcl {name!r} needs {total} WCU, over the {DEFAULT_CAPACITY_WCU} WAF includes in "
                "its base price; list fewer uploadPaths or pathRateLimits"
            )
        super().__init__("paved:waf:WebAcl", name, None, opts)
        self._name = name
        self._scope = scope
        here = pulumi.ResourceOptions(parent=self)
        acl_name = f"paved-{pulumi.get_stack()}-{name}"
        ip_set_arns: dict[str, pulumi.Input[str]] = {}
        if client_ip_rules and _needs_allow_list(args):
            for family, addresses in sorted(_allow_list(args.ingress_cidrs, probes=probes).items()):
                ip_set = aws.wafv2.IpSet(
                    f"{name}-ingress-{family.lower()}",
                    name=f"{acl_name}-ingress-{family.lower()}",
                    # WAF descriptions admit no parentheses: ^[\w+=:#@/\-,.][\w+=:#@/\-,.\s]+[\w+=:#@/\-,.]$
                    # https://docs.aws.amazon.com/waf/latest/APIReference/API_CreateIPSet.html
                    description=f"paved: {family} sources {acl_name} admits, per paved:edge.ingressCidrs",
                    scope=scope,
                    ip_address_version=family,
                    # The stack's own probes (the uptime canaries behind the NAT gateways) are admitted too,
                    # once each: an ingress CIDR may already name a NAT gateway's address.
                    addresses=(
                        pulumi.Output.all(*addresses, *probe_sources).apply(
                            lambda every: list(dict.fromkeys(every))
                        )
                        if family == "IPV4" and probe_sources
                        else addresses
                    ),
                    tags=dict(tags),
                    opts=here,
                )
                ip_set_arns[family] = ip_set.arn
        rules = _plan(scope, client_ip_rules, args, ip_set_arns, probes=probes)
        association_config = None
        if scope == "CLOUDFRONT":
            # Pins the body CloudFront forwards to the 16 KB default that the body-size rule assumes; larger
            # limits cost extra per request.
            association_config = aws.wafv2.WebAclAssociationConfigArgs(
                request_bodies=[
                    aws.wafv2.WebAclAssociationConfigRequestBodyArgs(
                        cloudfront=aws.wafv2.WebAclAssociationConfigRequestBodyCloudfrontArgs(
                            default_size_inspection_limit="KB_16"
                        )
                    )
                ]
            )
        acl = aws.wafv2.WebAcl(
            name,
            name=acl_name,
            description=f"paved {pulumi.get_stack()} {name}, scope {scope}",
            scope=scope,
            default_action=aws.wafv2.WebAclDefaultActionArgs(allow=aws.wafv2.WebAclDefaultActionAllowArgs()),
            rules=[_rule_args(priority, rule) for priority, rule in enumerate(rules)],
            association_config=association_config,
            visibility_config=aws.wafv2.WebAclVisibilityConfigArgs(
                cloudwatch_metrics_enabled=True, sampled_requests_enabled=True, metric_name=acl_name
            ),
            tags=dict(tags) if client_ip_rules else {**tags, RATE_LIMIT_TAG: RATE_LIMIT_UPSTREAM},
            opts=here,
        )
        group_name = f"aws-waf-logs-{pulumi.get_stack()}-{name}"
        group = log_group(
            f"{name}-logs",
            name=group_name,
            kms_key_arn=logs_key_arn,
            retention_days=args.waf_log_retention_days,
            protect=protect,
            tags=tags,
            parent=self,
        )
        aws.wafv2.WebAclLoggingConfiguration(
            name,
            resource_arn=acl.arn,
            log_destination_configs=[group.arn],
            # Credentials and session cookies never reach the logs.
            redacted_fields=[
                aws.wafv2.WebAclLoggingConfigurationRedactedFieldArgs(
                    single_header=aws.wafv2.WebAclLoggingConfigurationRedactedFieldSingleHeaderArgs(
                        name=header
                    )
                )
                for header in ("authorization", "cookie")
            ],
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=[log_delivery_policy(f"{name}-logs", [group_name], opts=here)]
            ),
        )
        # Web ACL totals carry Rule=ALL; only regional ACLs add a Region dimension, CloudFront metrics are
        # reported in us-east-1 without one. https://docs.aws.amazon.com/waf/latest/developerguide/waf-metrics.html
        dimensions: dict[str, pulumi.Input[str]] = {"WebACL": acl.name, "Rule": "ALL"}
        region = aws_context(here).region
        if scope == "REGIONAL":
            dimensions["Region"] = region
        blocked = args.blocked_requests_alarm
        alerting.threshold_alarms(
            name,
            [
                blocked.threshold_for(
                    suffix="blocked-requests",
                    description=(
                        f"WAF {acl_name} blocked more than {blocked.threshold:g} requests "
                        f"{blocked.window_text}: an attack, or a rule blocking real users "
                        "(check the WAF logs)"
                    ),
                    metric_name="BlockedRequests",
                    statistic="Sum",
                    comparison_operator="GreaterThanThreshold",
                    # WAF publishes no datapoint while it blocks nothing.
                    treat_missing_data="notBreaching",
                )
            ],
            namespace="AWS/WAFV2",
            dimensions=dimensions,
            parent=self,
            runbook_prefix="waf",
        )
        self.widgets = [
            Widget(
                f"WAF {'CloudFront' if scope == 'CLOUDFRONT' else 'ALB'}: requests",
                region,
                [
                    Metric("AWS/WAFV2", metric, dimensions, "Sum", label)
                    for metric, label in (("AllowedRequests", "allowed"), ("BlockedRequests", "blocked"))
                ],
            )
        ]
        self.web_acl_arn = acl.arn
        self.web_acl_id = acl.id
        self.register_outputs({"web_acl_arn": self.web_acl_arn, "web_acl_id": self.web_acl_id})

    def associate(self, name: str, resource_arn: pulumi.Input[str]) -> aws.wafv2.WebAclAssociation:
        """Attach this REGIONAL ACL to a resource (an ALB); a CloudFront distribution names the ACL itself."""
        if self._scope != "REGIONAL":
            raise ValueError(
                f"WebAcl {self._name!r} is CLOUDFRONT: set the distribution's web_acl_id to its ARN instead"
            )
        return aws.wafv2.WebAclAssociation(
            name,
            resource_arn=resource_arn,
            web_acl_arn=self.web_acl_arn,
            opts=pulumi.ResourceOptions(parent=self),
        )
