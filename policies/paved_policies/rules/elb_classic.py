"""Classic Load Balancer rules (`aws:elb/loadBalancer:LoadBalancer`), the FSBP controls that judge them.

A Classic Load Balancer declares its listeners inline (`listeners[]`: lbProtocol, lbPort,
sslCertificateId); its SSL negotiation policies are separate resources on one of its ports: an
`aws.elb.LoadBalancerPolicy` attached by an `aws.elb.ListenerPolicy`, or an `aws.elb.SslNegotiationPolicy`.
Stack rules find them through the input that names this load balancer (`loadBalancerName`,
`loadBalancer`), never by a literal name. Its access logs are judged by `elb-access-logs` (elbv2.py).

FSBP controls: https://docs.aws.amazon.com/securityhub/latest/userguide/elb-controls.html
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from paved_policies.props import (
    any_of,
    as_map,
    get_bool,
    get_int,
    get_seq,
    get_text,
    is_unknown_error,
    peek,
    peek_items,
    problems_found,
    strings,
)
from paved_policies.rule import (
    Finding,
    GraphResource,
    ResourceContext,
    StackContext,
    compliant,
    not_applicable,
    resource_rule,
    stack_rule,
    violation,
)
from paved_policies.rules.elbv2 import CLASSIC_LOAD_BALANCER, MIN_ZONES, desync_finding, zones_finding

LOAD_BALANCER_POLICY = "aws:elb/loadBalancerPolicy:LoadBalancerPolicy"
LISTENER_POLICY = "aws:elb/listenerPolicy:ListenerPolicy"
SSL_NEGOTIATION_POLICY = "aws:elb/sslNegotiationPolicy:SslNegotiationPolicy"
ACM_CERTIFICATES = ("aws:acm/certificate:Certificate", "aws:acm/certificateValidation:CertificateValidation")
IAM_SERVER_CERTIFICATE = "aws:iam/serverCertificate:ServerCertificate"
ACM_ARN = re.compile(r"^arn:aws[a-z-]*:acm:")
SECURE_PROTOCOLS = ("HTTPS", "SSL")
# ELB.8's predefinedPolicyName (not customizable); a listener takes it as an SSL negotiation policy whose
# Reference-Security-Policy attribute names it.
# https://docs.aws.amazon.com/elasticloadbalancing/latest/classic/elb-security-policy-table.html
REQUIRED_SSL_POLICY = "ELBSecurityPolicy-TLS-1-2-2017-01"
REFERENCE_ATTRIBUTE = "Reference-Security-Policy"
SSL_NEGOTIATION_TYPE = "SSLNegotiationPolicyType"


def _lb_protocol(listener: Any) -> str:
    return (get_text(listener, "lbProtocol") or "").upper()


def _secure_listeners(props: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The HTTPS/SSL listeners; a listener whose protocol is unknown in preview raises."""
    return [
        as_map(listener)
        for listener in get_seq(props, "listeners")
        if _lb_protocol(listener) in SECURE_PROTOCOLS
    ]


def _port(listener: Mapping[str, Any]) -> str:
    port = get_int(listener, "lbPort")
    return str(port) if port is not None else "?"


@resource_rule(
    name="elb-classic-https-listeners",
    description="Classic Load Balancers listen with HTTPS or SSL (TLS) only.",
    severity="medium",
    remediation=(
        "Set every listeners[].lb_protocol to 'HTTPS' or 'SSL' with an ssl_certificate_id; better, move "
        "to an Application Load Balancer with an HTTP listener that only redirects to HTTPS."
    ),
    resource_types=(CLASSIC_LOAD_BALANCER,),
    fsbp=("ELB.3",),
    url="https://docs.aws.amazon.com/elasticloadbalancing/latest/classic/elb-listener-config.html",
)
def elb_classic_https_listeners(props: Mapping[str, Any], ctx: ResourceContext) -> Finding:
    listeners = get_seq(props, "listeners")
    if not listeners:
        return not_applicable(f"Classic Load Balancer '{ctx.name}' declares no listeners")
    plain = problems_found(
        lambda listener=listener: (
            None
            if _lb_protocol(listener) in SECURE_PROTOCOLS
            else f"{_lb_protocol(listener) or '?'}:{_port(as_map(listener))}"
        )
        for listener in listeners
    )
    if not plain:
        return compliant()
    return violation(f"Classic Load Balancer '{ctx.name}' has listeners without TLS: {', '.join(plain)}.")


def _certificate_problem(listener: Mapping[str, Any], ctx: StackContext) -> str | None:
    try:
        arn = get_text(listener, "sslCertificateId")
    except Exception as error:
        if not is_unknown_error(error):
            raise
        # First preview: the ARN is another resource's output, so ask which resource it came from. The edge
        # is recorded for `listeners` as a whole, so only a verdict every certificate source agrees on counts.
        sources = {
            r.resource_type
            for r in ctx.dependencies("listeners", (*ACM_CERTIFICATES, IAM_SERVER_CERTIFICATE))
        }
        if sources and IAM_SERVER_CERTIFICATE not in sources:
            return None
        if sources == {IAM_SERVER_CERTIFICATE}:
            return f"port {_port(listener)} (an IAM server certificate)"
        raise
    if arn is None:
        return f"port {_port(listener)} (no certificate)"
    return None if ACM_ARN.match(arn) else f"port {_port(listener)} ({arn})"


@stack_rule(
    name="elb-classic-acm-certificate",
    description="Classic Load Balancer HTTPS/SSL listeners use a certificate from AWS Certificate Manager.",
    severity="medium",
    remediation=(
        "Set listeners[].ssl_certificate_id to an ACM certificate's ARN (aws.acm.Certificate, or its "
        "CertificateValidation's certificate_arn), not an IAM server certificate; ACM renews it for you."
    ),
    resource_types=(CLASSIC_LOAD_BALANCER,),
    checkov=("CKV_AWS_127",),
    fsbp=("ELB.2",),
    url="https://docs.aws.amazon.com/securityhub/latest/userguide/elb-controls.html#elb-2",
)
def elb_classic_acm_certificate(props: Mapping[str, Any], ctx: StackContext) -> Finding:
    listeners = _secure_listeners(props)
    if not listeners:
        return not_applicable(f"Classic Load Balancer '{ctx.name}' has no HTTPS or SSL listener")
    problems = problems_found(
        lambda listener=listener: _certificate_problem(listener, ctx) for listener in listeners
    )
    if not problems:
        return compliant()
    return violation(
        f"Classic Load Balancer '{ctx.name}' serves TLS without an ACM certificate on {', '.join(problems)}."
    )


def _references_required_policy(attributes: Sequence[Any]) -> bool:
    return any_of(
        attributes,
        lambda attribute: (
            get_text(attribute, "name") == REFERENCE_ATTRIBUTE
            and get_text(attribute, "value") == REQUIRED_SSL_POLICY
        ),
    )


def _attached_policies(ctx: StackContext, attachment: GraphResource) -> list[GraphResource]:
    """This load balancer's LoadBalancerPolicies that a ListenerPolicy names: through the policyNames
    input's dependencies, or by a literal name (names are per load balancer: one cannot reach another's)."""
    linked = {
        policy.urn
        for policy in ctx.graph.dependencies(attachment.urn, "policyNames", (LOAD_BALANCER_POLICY,))
    }
    names = set(strings(peek_items(get_seq(attachment.props, "policyNames"))))
    return [
        policy
        for policy in ctx.referrers("loadBalancerName", (LOAD_BALANCER_POLICY,))
        if policy.urn in linked or peek(lambda policy=policy: get_text(policy.props, "policyName")) in names
    ]


def _negotiation_checks(ctx: StackContext, port: int | None) -> list[Callable[[], bool]]:
    """One check per SSL negotiation policy that may sit on `port`: whether it is the required one."""
    checks: list[Callable[[], bool]] = [
        lambda policy=policy: (
            get_int(policy.props, "lbPort") == port
            and _references_required_policy(get_seq(policy.props, "attributes"))
        )
        for policy in ctx.referrers("loadBalancer", (SSL_NEGOTIATION_POLICY,))
    ]
    for attachment in ctx.referrers("loadBalancerName", (LISTENER_POLICY,)):
        checks.append(
            lambda attachment=attachment: (
                get_int(attachment.props, "loadBalancerPort") == port
                and any_of(
                    _attached_policies(ctx, attachment),
                    lambda policy: (
                        get_text(policy.props, "policyTypeName") == SSL_NEGOTIATION_TYPE
                        and _references_required_policy(get_seq(policy.props, "policyAttributes"))
                    ),
                )
            )
        )
    return checks


@stack_rule(
    name="elb-classic-tls-policy",
    description=(
        f"Classic Load Balancer HTTPS/SSL listeners use the predefined security policy {REQUIRED_SSL_POLICY}."
    ),
    severity="medium",
    remediation=(
        "Declare an aws.elb.LoadBalancerPolicy (load_balancer_name=<the load balancer>.name, "
        f"policy_type_name='{SSL_NEGOTIATION_TYPE}', policy_attributes=[{{name: '{REFERENCE_ATTRIBUTE}', "
        f"value: '{REQUIRED_SSL_POLICY}'}}]) and attach it with an aws.elb.ListenerPolicy on the listener's "
        "port (policy_names=[<the policy>.policy_name]). Pass the outputs, not literals, so the pack sees "
        "the links."
    ),
    resource_types=(CLASSIC_LOAD_BALANCER,),
    fsbp=("ELB.8",),
    url="https://docs.aws.amazon.com/elasticloadbalancing/latest/classic/elb-security-policy-table.html",
)
def elb_classic_tls_policy(props: Mapping[str, Any], ctx: StackContext) -> Finding:
    listeners = _secure_listeners(props)
    if not listeners:
        return not_applicable(f"Classic Load Balancer '{ctx.name}' has no HTTPS or SSL listener")
    ports = problems_found(
        lambda listener=listener: (
            None
            if any_of(_negotiation_checks(ctx, get_int(listener, "lbPort")), lambda check: check())
            else _port(listener)
        )
        for listener in listeners
    )
    if not ports:
        return compliant()
    return violation(
        f"Classic Load Balancer '{ctx.name}' does not use {REQUIRED_SSL_POLICY} on port(s) "
        f"{', '.join(ports)}: no SSL negotiation policy referencing it is attached there."
    )


@resource_rule(
    name="elb-classic-connection-draining",
    description="Classic Load Balancers drain connections from instances that deregister or turn unhealthy.",
    severity="low",
    remediation="Set connection_draining=True (it defaults to false) and a connection_draining_timeout.",
    resource_types=(CLASSIC_LOAD_BALANCER,),
    fsbp=("ELB.7",),
    url="https://docs.aws.amazon.com/elasticloadbalancing/latest/classic/config-conn-drain.html",
)
def elb_classic_connection_draining(props: Mapping[str, Any], ctx: ResourceContext) -> Finding:
    if get_bool(props, "connectionDraining") is True:
        return compliant()
    return violation(f"Classic Load Balancer '{ctx.name}' does not set connectionDraining to true.")


@resource_rule(
    name="elb-classic-cross-zone",
    description="Classic Load Balancers balance across Availability Zones (cross-zone load balancing).",
    severity="medium",
    remediation="Leave cross_zone_load_balancing unset (true) or set it to True.",
    resource_types=(CLASSIC_LOAD_BALANCER,),
    checkov=("CKV_AWS_138",),
    fsbp=("ELB.9",),
    url="https://docs.aws.amazon.com/elasticloadbalancing/latest/classic/enable-disable-crosszone-lb.html",
)
def elb_classic_cross_zone(props: Mapping[str, Any], ctx: ResourceContext) -> Finding:
    if get_bool(props, "crossZoneLoadBalancing") is False:
        return violation(f"Classic Load Balancer '{ctx.name}' turns crossZoneLoadBalancing off.")
    return compliant()


def _classic_zones(props: Mapping[str, Any]) -> list[Any]:
    # availabilityZones names zones directly (EC2-Classic and default VPC); subnets, one per zone.
    return [*get_seq(props, "availabilityZones"), *get_seq(props, "subnets")]


@stack_rule(
    name="elb-classic-multiple-azs",
    description=f"Classic Load Balancers span at least {MIN_ZONES} Availability Zones.",
    severity="medium",
    remediation=f"Give the load balancer subnets in at least {MIN_ZONES} Availability Zones, one per zone.",
    resource_types=(CLASSIC_LOAD_BALANCER,),
    fsbp=("ELB.10",),
    url="https://docs.aws.amazon.com/elasticloadbalancing/latest/classic/elb-manage-subnets.html",
)
def elb_classic_multiple_azs(props: Mapping[str, Any], ctx: StackContext) -> Finding:
    return zones_finding(props, ctx, _classic_zones, ("availabilityZones", "subnets"))


@resource_rule(
    name="elb-classic-desync-mitigation",
    description="Classic Load Balancers mitigate HTTP desync in 'defensive' or 'strictest' mode.",
    severity="medium",
    remediation=(
        "Leave desync_mitigation_mode unset (defensive) or set it to 'strictest'; 'monitor' lets ambiguous "
        "requests through."
    ),
    resource_types=(CLASSIC_LOAD_BALANCER,),
    fsbp=("ELB.14",),
    url="https://docs.aws.amazon.com/elasticloadbalancing/latest/classic/config-desync-mitigation-mode.html",
)
def elb_classic_desync_mitigation(props: Mapping[str, Any], ctx: ResourceContext) -> Finding:
    return desync_finding(props, ctx)


RULES = (
    elb_classic_https_listeners,
    elb_classic_acm_certificate,
    elb_classic_tls_policy,
    elb_classic_connection_draining,
    elb_classic_cross_zone,
    elb_classic_multiple_azs,
    elb_classic_desync_mitigation,
)
