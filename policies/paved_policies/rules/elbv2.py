"""Elastic Load Balancing v2 rules: load balancers, listeners and target groups.

pulumi-aws has two modules for the same resources, `aws.lb` and `aws.alb` (`aws:lb/...` and `aws:alb/...`
type tokens); every rule here matches both. The older tokens (`aws:elasticloadbalancingv2/...`,
`aws:applicationloadbalancing/...`) are only aliases: the engine sends the new ones. Access logs also judge
Classic Load Balancers (`aws:elb/...`), whose other rules are in `elb_classic`.

FSBP controls: https://docs.aws.amazon.com/securityhub/latest/userguide/elb-controls.html
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

from paved_policies.props import (
    UNKNOWN,
    as_map,
    get,
    get_bool,
    get_map,
    get_seq,
    get_text,
    has_value,
    is_unknown_error,
    peek,
)
from paved_policies.rule import (
    Finding,
    ResourceContext,
    StackContext,
    compliant,
    not_applicable,
    resource_rule,
    stack_rule,
    violation,
)


def _both(path: str) -> tuple[str, str]:
    return (f"aws:lb/{path}", f"aws:alb/{path}")


LOAD_BALANCERS = _both("loadBalancer:LoadBalancer")
LISTENERS = _both("listener:Listener")
LISTENER_RULES = _both("listenerRule:ListenerRule")
TARGET_GROUPS = _both("targetGroup:TargetGroup")
CLASSIC_LOAD_BALANCER = "aws:elb/loadBalancer:LoadBalancer"
WAF_ASSOCIATION = "aws:wafv2/webAclAssociation:WebAclAssociation"
SUBNET = "aws:ec2/subnet:Subnet"

# The security policies ELB.17 accepts, exactly (the control's `sslPolicies`, not customizable): TLS 1.3 only,
# or TLS 1.3 and 1.2 with the restricted (forward-secret AEAD) ciphers, each also as FIPS and post-quantum
# (PQ) variants. Other TLS 1.2-minimum policies (TLS13-1-2-2021-06, FS-1-2-*, TLS-1-2-*) fail it.
# https://docs.aws.amazon.com/securityhub/latest/userguide/elb-controls.html#elb-17
RECOMMENDED_SSL_POLICIES = frozenset(
    {
        "ELBSecurityPolicy-TLS13-1-3-2021-06",
        "ELBSecurityPolicy-TLS13-1-3-FIPS-2023-04",
        "ELBSecurityPolicy-TLS13-1-2-Res-2021-06",
        "ELBSecurityPolicy-TLS13-1-2-Res-FIPS-2023-04",
        "ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09",
        "ELBSecurityPolicy-TLS13-1-3-PQ-2025-09",
        "ELBSecurityPolicy-TLS13-1-2-Res-FIPS-PQ-2025-09",
        "ELBSecurityPolicy-TLS13-1-3-FIPS-PQ-2025-09",
    }
)
# What the provider applies to an HTTPS/TLS listener without ssl_policy.
PROVIDER_DEFAULT_SSL_POLICY = "ELBSecurityPolicy-2016-08"
SAFE_DESYNC_MODES = ("defensive", "strictest")
# A listener without a protocol gets its load balancer type's default; a Gateway Load Balancer's has none.
# https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateListener.html
DEFAULT_LISTENER_PROTOCOL = {"application": "HTTP", "network": "TCP"}
# ELB.10 and ELB.13: Security Hub's default minAvailabilityZones.
MIN_ZONES = 2


def _lb_type(props: Mapping[str, Any]) -> str:
    return (get_text(props, "loadBalancerType") or "application").lower()


def _unless_alb(props: Mapping[str, Any]) -> Finding | None:
    """Not applicable, unless the load balancer is an Application Load Balancer (the default type)."""
    kind = _lb_type(props)
    return None if kind == "application" else not_applicable(f"a {kind} load balancer, not an ALB")


def _protocol(props: Mapping[str, Any]) -> str | None:
    protocol = get_text(props, "protocol")
    return protocol.upper() if protocol else None


def _listener_protocol(props: Mapping[str, Any], ctx: StackContext) -> str | None:
    """The listener's protocol; when unset, its load balancer type's default (HTTP on an ALB), read from the
    load balancer its loadBalancerArn came from. None when neither says."""
    protocol = _protocol(props)
    if protocol is not None:
        return protocol
    kinds = {_lb_type(lb.props) for lb in ctx.dependencies("loadBalancerArn", LOAD_BALANCERS)}
    return DEFAULT_LISTENER_PROTOCOL.get(kinds.pop()) if len(kinds) == 1 else None


@resource_rule(
    name="elb-listener-tls12-policy",
    description=(
        "HTTPS and TLS listeners use one of the security policies AWS recommends (TLS 1.3, or TLS 1.3 and "
        "1.2 with restricted ciphers)."
    ),
    severity="high",
    remediation=(
        "Set ssl_policy to 'ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09' (TLS 1.3 and 1.2, forward-secret "
        "ciphers, post-quantum key exchange) or another policy of the ELB.17 list: "
        f"{', '.join(sorted(RECOMMENDED_SSL_POLICIES))}."
    ),
    resource_types=LISTENERS,
    checkov=("CKV_AWS_103",),
    fsbp=("ELB.17",),
    url="https://docs.aws.amazon.com/elasticloadbalancing/latest/application/describe-ssl-policies.html",
)
def elb_listener_tls12_policy(props: Mapping[str, Any], ctx: ResourceContext) -> Finding:
    # Unset, the protocol is HTTP or TCP (or none on a Gateway Load Balancer): never HTTPS or TLS.
    protocol = _protocol(props)
    if protocol not in ("HTTPS", "TLS"):
        return not_applicable(f"listener protocol is {protocol or 'unset'}, not HTTPS or TLS")
    policy = get_text(props, "sslPolicy")
    if policy is None:
        return violation(
            f"Listener '{ctx.name}' sets no sslPolicy, so it gets {PROVIDER_DEFAULT_SSL_POLICY}, which "
            "accepts TLS 1.0."
        )
    if policy in RECOMMENDED_SSL_POLICIES:
        return compliant()
    return violation(f"Listener '{ctx.name}' uses {policy}, which is not one of AWS's recommended policies.")


def _redirects_to_https(action: Any) -> bool:
    action = as_map(action)
    protocol = get_text(get_map(action, "redirect"), "protocol")
    return (get_text(action, "type") or "").lower() == "redirect" and (protocol or "").upper() == "HTTPS"


def _forwarding(actions: Sequence[Any]) -> list[str]:
    """The types of the actions that do something other than redirect to HTTPS."""
    return [str(get_text(as_map(a), "type") or "?") for a in actions if not _redirects_to_https(a)]


@stack_rule(
    name="elb-http-redirects-to-https",
    description="HTTP listeners only redirect to HTTPS, in their default actions and in every listener rule.",
    severity="high",
    remediation=(
        "Give the HTTP listener a single default action of type 'redirect' with redirect.protocol='HTTPS' "
        "(port '443', status_code 'HTTP_301'), and attach no forwarding listener rules to it; serve from "
        "an HTTPS listener instead."
    ),
    resource_types=LISTENERS,
    checkov=("CKV2_AWS_20",),
    cdk_nag=("ALBHttpToHttpsRedirection",),
    fsbp=("ELB.1",),
    url="https://docs.aws.amazon.com/elasticloadbalancing/latest/application/listener-update-rules.html",
)
def elb_http_redirects_to_https(props: Mapping[str, Any], ctx: StackContext) -> Finding:
    protocol = _listener_protocol(props, ctx)
    if protocol is None:
        return not_applicable(
            f"listener '{ctx.name}' leaves its protocol unset on a load balancer this program does not "
            "declare, so its default (HTTP on an ALB) is unknown"
        )
    if protocol != "HTTP":
        return not_applicable(f"listener protocol is {protocol}")
    actions = get_seq(props, "defaultActions")
    problems = []
    if not actions or _forwarding(actions):
        problems.append(f"default actions {_forwarding(actions) or '(none)'}")
    for rule in ctx.referrers("listenerArn", LISTENER_RULES):
        others = _forwarding(get_seq(rule.props, "actions"))
        if others:
            problems.append(f"listener rule '{rule.name}' actions {others}")
    if not problems:
        return compliant()
    return violation(
        f"HTTP listener '{ctx.name}' serves plain HTTP: {'; '.join(problems)} do not redirect to HTTPS."
    )


@resource_rule(
    name="alb-drop-invalid-header-fields",
    description="Application Load Balancers drop HTTP headers that are not valid (request smuggling).",
    severity="medium",
    remediation="Set drop_invalid_header_fields=True on the load balancer (it defaults to false).",
    resource_types=LOAD_BALANCERS,
    checkov=("CKV_AWS_131",),
    cdk_nag=("ALBHttpDropInvalidHeaderEnabled",),
    fsbp=("ELB.4",),
    url="https://docs.aws.amazon.com/elasticloadbalancing/latest/application/application-load-balancers.html",
)
def alb_drop_invalid_header_fields(props: Mapping[str, Any], ctx: ResourceContext) -> Finding:
    if (skip := _unless_alb(props)) is not None:
        return skip
    if get_bool(props, "dropInvalidHeaderFields") is True:
        return compliant()
    return violation(f"Load balancer '{ctx.name}' does not set dropInvalidHeaderFields to true.")


@resource_rule(
    name="alb-desync-mitigation",
    description="Application Load Balancers mitigate HTTP desync in 'defensive' or 'strictest' mode.",
    severity="medium",
    remediation=(
        "Leave desync_mitigation_mode unset (defensive) or set it to 'strictest'; 'monitor' lets "
        "ambiguous requests through."
    ),
    resource_types=LOAD_BALANCERS,
    checkov=("CKV_AWS_328",),
    fsbp=("ELB.12",),
    url="https://docs.aws.amazon.com/elasticloadbalancing/latest/application/application-load-balancers.html#desync-mitigation-mode",
)
def alb_desync_mitigation(props: Mapping[str, Any], ctx: ResourceContext) -> Finding:
    if (skip := _unless_alb(props)) is not None:
        return skip
    return desync_finding(props, ctx)


def desync_finding(props: Mapping[str, Any], ctx: ResourceContext) -> Finding:
    """ELB.12 and ELB.14: an unset mode is 'defensive' on Application and Classic Load Balancers alike."""
    mode = (get_text(props, "desyncMitigationMode") or "defensive").lower()
    if mode in SAFE_DESYNC_MODES:
        return compliant()
    return violation(f"Load balancer '{ctx.name}' has desyncMitigationMode '{mode}'.")


@resource_rule(
    name="elb-access-logs",
    description="Application, Network and Classic Load Balancers write access logs to S3.",
    severity="medium",
    remediation=(
        "Set access_logs with enabled=True (on ALBs and NLBs it defaults to false even with a bucket) and "
        "bucket=<an S3 bucket with SSE-S3 whose policy lets the load balancer's log delivery write>."
    ),
    resource_types=(*LOAD_BALANCERS, CLASSIC_LOAD_BALANCER),
    checkov=("CKV_AWS_91", "CKV_AWS_92"),
    cdk_nag=("AwsSolutions-ELB2", "ELBLoggingEnabled"),
    fsbp=("ELB.5",),
    url="https://docs.aws.amazon.com/elasticloadbalancing/latest/application/enable-access-logging.html",
)
def elb_access_logs(props: Mapping[str, Any], ctx: ResourceContext) -> Finding:
    logs = get_map(props, "accessLogs")
    if ctx.resource_type == CLASSIC_LOAD_BALANCER:
        # A Classic Load Balancer's access_logs block is on unless it says enabled=false.
        # https://docs.aws.amazon.com/elasticloadbalancing/latest/classic/access-log-collection.html
        enabled = get_bool(logs, "enabled") is not False
    elif _lb_type(props) == "gateway":
        return not_applicable("Gateway Load Balancers have no access logs")
    else:
        enabled = get_bool(logs, "enabled") is True
    if enabled and has_value(logs, "bucket"):
        return compliant()
    return violation(
        f"Load balancer '{ctx.name}' does not write access logs (accessLogs.enabled and bucket)."
    )


@resource_rule(
    name="elb-deletion-protection",
    description="Load balancers have deletion protection, so their DNS name survives a mistaken delete.",
    severity="medium",
    remediation="Set enable_deletion_protection=True (turn it off first when retiring the load balancer).",
    resource_types=LOAD_BALANCERS,
    checkov=("CKV_AWS_150",),
    cdk_nag=("ELBDeletionProtectionEnabled",),
    fsbp=("ELB.6",),
    staging_enforcement="advisory",
    url="https://docs.aws.amazon.com/elasticloadbalancing/latest/application/application-load-balancers.html#deletion-protection",
)
def elb_deletion_protection(props: Mapping[str, Any], ctx: ResourceContext) -> Finding:
    if get_bool(props, "enableDeletionProtection") is True:
        return compliant()
    return violation(f"Load balancer '{ctx.name}' does not set enableDeletionProtection to true.")


@resource_rule(
    name="elb-target-group-health-check",
    description=(
        "Target groups health-check their targets; HTTP(S) checks name the path that says the app is ready."
    ),
    severity="medium",
    remediation=(
        "Set health_check with enabled=True and, for HTTP/HTTPS checks, path=<the app's readiness "
        "endpoint> and a matcher; Lambda target groups need enabled=True explicitly."
    ),
    resource_types=TARGET_GROUPS,
    checkov=("CKV_AWS_261",),
    url="https://docs.aws.amazon.com/elasticloadbalancing/latest/application/target-group-health-checks.html",
)
def elb_target_group_health_check(props: Mapping[str, Any], ctx: ResourceContext) -> Finding:
    check = get_map(props, "healthCheck")
    enabled = get_bool(check, "enabled")
    target_type = (get_text(props, "targetType") or "instance").lower()
    if target_type == "lambda":
        # Off by default for Lambda targets; the path does not apply there.
        if enabled is True:
            return compliant()
        return violation(f"Target group '{ctx.name}' (Lambda) does not set healthCheck.enabled to true.")
    if enabled is False:
        return violation(f"Target group '{ctx.name}' turns its health check off.")
    # The check's protocol defaults to HTTP for HTTP(S) and ALB targets; TCP, TLS, UDP and GENEVE
    # groups check at the connection level, where there is no path.
    group_protocol = _protocol(props) or "HTTP"
    if target_type == "alb":
        default = "HTTP"  # an NLB checking an ALB target: HTTP or HTTPS only
    else:
        default = group_protocol if group_protocol in ("HTTP", "HTTPS") else "TCP"
    protocol = (get_text(check, "protocol") or default).upper()
    if protocol not in ("HTTP", "HTTPS") or get_text(check, "path"):
        return compliant()
    return violation(
        f"Target group '{ctx.name}' health-checks over {protocol} without a path, so it probes '/', "
        "which rarely says whether the app is ready."
    )


def zones_finding(
    props: Mapping[str, Any],
    ctx: StackContext,
    read: Callable[[Mapping[str, Any]], Iterable[Any]],
    lists: Sequence[str],
) -> Finding:
    """ELB.10 and ELB.13: the load balancer spans at least MIN_ZONES Availability Zones.

    `read` gives its subnet ids (or zone names) from the `lists` inputs. AWS takes one subnet per zone
    ("You can specify only one subnet per Availability Zone", CreateLoadBalancer), so distinct subnets are
    distinct zones and their own zones need not be known. An id unknown in preview counts through the
    declared subnets the input was built from (its property dependencies).
    https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateLoadBalancer.html
    """
    try:
        zones = len({item.strip() for item in read(props) if isinstance(item, str) and item.strip()})
    except Exception as error:
        if not is_unknown_error(error):
            raise
        traced = {subnet.urn for prop in lists for subnet in ctx.dependencies(prop, (SUBNET,))}
        if len(traced) >= MIN_ZONES:
            return compliant()
        lengths = [peek(lambda prop=prop: len(get_seq(props, prop))) for prop in lists]
        if UNKNOWN in lengths or sum(lengths) >= MIN_ZONES:
            raise
        zones = sum(lengths)  # at most one subnet, whose id is not known yet
    if zones >= MIN_ZONES:
        return compliant()
    return violation(
        f"Load balancer '{ctx.name}' names {zones} subnet(s) or zone(s) in {' / '.join(lists)}, so it spans "
        f"fewer than {MIN_ZONES} Availability Zones: one zone's outage takes it down."
    )


def _v2_subnets(props: Mapping[str, Any]) -> Iterator[Any]:
    yield from get_seq(props, "subnets")
    for mapping in get_seq(props, "subnetMappings"):
        yield get(mapping, "subnetId")


@stack_rule(
    name="elb-multiple-azs",
    description=(
        f"Application, Network and Gateway Load Balancers span at least {MIN_ZONES} Availability Zones."
    ),
    severity="medium",
    remediation=(
        f"Give the load balancer subnets (or subnet_mappings) in at least {MIN_ZONES} Availability Zones, "
        "one subnet per zone."
    ),
    resource_types=LOAD_BALANCERS,
    fsbp=("ELB.13",),
    url="https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-subnets.html",
)
def elb_multiple_azs(props: Mapping[str, Any], ctx: StackContext) -> Finding:
    return zones_finding(props, ctx, _v2_subnets, ("subnets", "subnetMappings"))


@stack_rule(
    name="alb-waf-associated",
    description="Every internet-facing Application Load Balancer has a WAFv2 web ACL association.",
    severity="high",
    remediation=(
        "Create an aws.wafv2.WebAclAssociation with resource_arn=<the load balancer>.arn and a REGIONAL "
        "web ACL. Pass the ARN output, not a literal, so the pack sees the association."
    ),
    resource_types=LOAD_BALANCERS,
    # cdk-nag's ALBWAFEnabled also covers internal load balancers, so it is not the same check.
    checkov=("CKV2_AWS_28",),
    url="https://docs.aws.amazon.com/waf/latest/developerguide/web-acl-associating-aws-resource.html",
)
def alb_waf_associated(props: Mapping[str, Any], ctx: StackContext) -> Finding:
    if (skip := _unless_alb(props)) is not None:
        return skip
    if get_bool(props, "internal") is True:
        return not_applicable(f"load balancer '{ctx.name}' is internal")
    if ctx.referrers("resourceArn", (WAF_ASSOCIATION,)):
        return compliant()
    return violation(
        f"Load balancer '{ctx.name}' has no {WAF_ASSOCIATION} whose resourceArn is this load balancer."
    )


RULES = (
    elb_listener_tls12_policy,
    elb_http_redirects_to_https,
    alb_drop_invalid_header_fields,
    alb_desync_mitigation,
    elb_access_logs,
    elb_deletion_protection,
    elb_target_group_health_check,
    elb_multiple_azs,
    alb_waf_associated,
)
