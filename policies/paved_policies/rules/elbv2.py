"""Elastic Load Balancing v2 rules: load balancers, listeners and target groups.

pulumi-aws has two modules for the same resources, `aws.lb` and `aws.alb` (`aws:lb/...` and `aws:alb/...`
type tokens); every rule here matches both.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from paved_policies.props import as_map, get_bool, get_map, get_seq, get_text, has_value
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
WAF_ASSOCIATION = "aws:wafv2/webAclAssociation:WebAclAssociation"

# Security policies whose lowest protocol is TLS 1.2 (or 1.3). Not every TLS13 policy: TLS13-1-0-* and
# TLS13-1-1-* add TLS 1.3 but still accept TLS 1.0 / 1.1.
# https://docs.aws.amazon.com/elasticloadbalancing/latest/application/describe-ssl-policies.html
TLS12_POLICY_PREFIXES = (
    "ELBSecurityPolicy-TLS13-1-2-",
    "ELBSecurityPolicy-TLS13-1-3-",
    "ELBSecurityPolicy-FS-1-2-",
    "ELBSecurityPolicy-TLS-1-2-",
)
# What the provider applies to an HTTPS/TLS listener without ssl_policy.
PROVIDER_DEFAULT_SSL_POLICY = "ELBSecurityPolicy-2016-08"
SAFE_DESYNC_MODES = ("defensive", "strictest")


def _lb_type(props: Mapping[str, Any]) -> str:
    return (get_text(props, "loadBalancerType") or "application").lower()


def _unless_alb(props: Mapping[str, Any]) -> Finding | None:
    """Not applicable, unless the load balancer is an Application Load Balancer (the default type)."""
    kind = _lb_type(props)
    return None if kind == "application" else not_applicable(f"a {kind} load balancer, not an ALB")


def _protocol(props: Mapping[str, Any]) -> str | None:
    protocol = get_text(props, "protocol")
    return protocol.upper() if protocol else None


@resource_rule(
    name="elb-listener-tls12-policy",
    description="HTTPS and TLS listeners use a security policy whose lowest protocol is TLS 1.2.",
    severity="high",
    remediation=(
        "Set ssl_policy to a TLS 1.2+ policy such as 'ELBSecurityPolicy-TLS13-1-2-Res-2021-06' "
        "(TLS 1.3 and 1.2, forward-secret ciphers) or 'ELBSecurityPolicy-TLS13-1-2-2021-06'."
    ),
    resource_types=LISTENERS,
    checkov=("CKV_AWS_103",),
    url="https://docs.aws.amazon.com/elasticloadbalancing/latest/application/describe-ssl-policies.html",
)
def elb_listener_tls12_policy(props: Mapping[str, Any], ctx: ResourceContext) -> Finding:
    protocol = _protocol(props)
    if protocol not in ("HTTPS", "TLS"):
        return not_applicable(f"listener protocol is {protocol or 'unset'}, not HTTPS or TLS")
    policy = get_text(props, "sslPolicy")
    if policy is None:
        return violation(
            f"Listener '{ctx.name}' sets no sslPolicy, so it gets {PROVIDER_DEFAULT_SSL_POLICY}, which "
            "accepts TLS 1.0."
        )
    if policy.startswith(TLS12_POLICY_PREFIXES):
        return compliant()
    return violation(f"Listener '{ctx.name}' uses {policy}, which accepts protocols older than TLS 1.2.")


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
    url="https://docs.aws.amazon.com/elasticloadbalancing/latest/application/listener-update-rules.html",
)
def elb_http_redirects_to_https(props: Mapping[str, Any], ctx: StackContext) -> Finding:
    protocol = _protocol(props)
    if protocol is None:
        # HTTP on an ALB, TCP on an NLB, none on a Gateway LB: the listener alone cannot tell.
        return not_applicable(f"listener '{ctx.name}' leaves its protocol unset")
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
    url="https://docs.aws.amazon.com/elasticloadbalancing/latest/application/application-load-balancers.html#desync-mitigation-mode",
)
def alb_desync_mitigation(props: Mapping[str, Any], ctx: ResourceContext) -> Finding:
    if (skip := _unless_alb(props)) is not None:
        return skip
    mode = (get_text(props, "desyncMitigationMode") or "defensive").lower()
    if mode in SAFE_DESYNC_MODES:
        return compliant()
    return violation(f"Load balancer '{ctx.name}' has desyncMitigationMode '{mode}'.")


@resource_rule(
    name="elb-access-logs",
    description="Application and Network Load Balancers write access logs to S3.",
    severity="medium",
    remediation=(
        "Set access_logs with enabled=True (it defaults to false even with a bucket) and bucket=<an S3 "
        "bucket with SSE-S3 whose policy lets logdelivery.elasticloadbalancing.amazonaws.com write>."
    ),
    resource_types=LOAD_BALANCERS,
    checkov=("CKV_AWS_91",),
    cdk_nag=("AwsSolutions-ELB2", "ELBLoggingEnabled"),
    url="https://docs.aws.amazon.com/elasticloadbalancing/latest/application/enable-access-logging.html",
)
def elb_access_logs(props: Mapping[str, Any], ctx: ResourceContext) -> Finding:
    kind = _lb_type(props)
    if kind == "gateway":
        return not_applicable("Gateway Load Balancers have no access logs")
    logs = get_map(props, "accessLogs")
    if get_bool(logs, "enabled") is True and has_value(logs, "bucket"):
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
    alb_waf_associated,
)
