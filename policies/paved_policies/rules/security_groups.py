"""Security group rules.

The same inbound permission can be written three ways in pulumi-aws: inline in a SecurityGroup's
`ingress` list, as an `ec2.SecurityGroupRule` (type "ingress"), or as a
`vpc.SecurityGroupIngressRule`. Each shape is normalized to `Permission`, and one evaluator judges
all of them, so the three cannot drift apart.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from paved_policies.props import get, get_int, get_seq, get_str, is_set, strings
from paved_policies.rule import (
    Finding,
    ResourceContext,
    compliant,
    not_applicable,
    resource_rule,
    violation,
)

SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
SECURITY_GROUP_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
DEFAULT_SECURITY_GROUP = "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"

# Web traffic is what internet-facing load balancers exist to receive. UDP 443 is HTTP/3 (QUIC).
WEB_PORTS = frozenset({80, 443})
# Only TCP and UDP have ports. "-1"/"all" means every protocol and every port; ICMP's from/to are
# type/code, not ports. Protocols may be given by name or IANA number:
# https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_IpPermission.html
PORTED_PROTOCOLS = frozenset({"tcp", "udp", "6", "17"})


@dataclass(frozen=True, slots=True)
class Permission:
    """One inbound permission, whatever shape it was declared in."""

    label: str
    protocol: str | None
    from_port: int | None
    to_port: int | None
    sources: tuple[str, ...]


def _from_ip_permission(label: str, perm: Any) -> Permission:
    # SecurityGroup `ingress` entries and SecurityGroupRule share these property names.
    cidrs = strings(get_seq(perm, "cidrBlocks")) + strings(get_seq(perm, "ipv6CidrBlocks"))
    return Permission(label, _protocol(get_str(perm, "protocol")), get_int(perm, "fromPort"),
                      get_int(perm, "toPort"), tuple(cidrs))


def _from_ingress_rule(props: Mapping[str, Any]) -> Permission:
    cidrs = strings([get(props, "cidrIpv4"), get(props, "cidrIpv6")])
    return Permission("rule", _protocol(get_str(props, "ipProtocol")), get_int(props, "fromPort"),
                      get_int(props, "toPort"), tuple(cidrs))


def _protocol(value: str | None) -> str | None:
    return value.strip().lower() if value else None


def _permissions(props: Mapping[str, Any], resource_type: str) -> Sequence[Permission] | None:
    """The inbound permissions declared by this resource; None when it declares no ingress at all."""
    if resource_type == SECURITY_GROUP:
        return [_from_ip_permission(f"ingress[{i}]", p) for i, p in enumerate(get_seq(props, "ingress"))]
    if resource_type == SECURITY_GROUP_RULE:
        return [_from_ip_permission("rule", props)] if get_str(props, "type") == "ingress" else None
    return [_from_ingress_rule(props)]


def _is_anywhere(cidr: str) -> bool:
    # A /0 network is every address, whatever bits precede the slash (0.0.0.0/0, ::/0).
    try:
        return ipaddress.ip_network(cidr.strip(), strict=False).prefixlen == 0
    except ValueError:
        return False


def _only_web_ports(perm: Permission) -> bool:
    return (
        perm.protocol in PORTED_PROTOCOLS
        and perm.from_port is not None
        and perm.from_port == perm.to_port
        and perm.from_port in WEB_PORTS
    )


def _describe(perm: Permission) -> str:
    if perm.protocol in PORTED_PROTOCOLS:
        ports = "-".join("?" if p is None else str(p) for p in (perm.from_port, perm.to_port))
        return f"{perm.protocol} ports {ports}"
    return f"protocol {perm.protocol or '<unset>'}"


def _public_exposures(perms: Sequence[Permission]) -> list[str]:
    exposures = []
    for perm in perms:
        public = [c for c in perm.sources if _is_anywhere(c)]
        if public and not _only_web_ports(perm):
            exposures.append(f"{perm.label}: {_describe(perm)} from {', '.join(public)}")
    return exposures


@resource_rule(
    name="security-group-no-public-ingress",
    description=(
        "Security groups allow inbound traffic from anywhere (0.0.0.0/0, ::/0) only on ports 80 and 443."
    ),
    severity="high",
    remediation=(
        "Restrict the rule's source to known CIDRs, a prefix list or another security group. Reach "
        "instances through SSM Session Manager or a VPN instead of opening SSH/RDP, and expose "
        "services only through a load balancer listening on 80/443."
    ),
    resource_types=(SECURITY_GROUP, SECURITY_GROUP_RULE, INGRESS_RULE),
    checkov=("CKV_AWS_24", "CKV_AWS_25", "CKV_AWS_260", "CKV_AWS_277"),
    cdk_nag=("AwsSolutions-EC23", "EC2RestrictedSSH"),
    url="https://docs.aws.amazon.com/vpc/latest/userguide/security-group-rules.html",
)
def security_group_no_public_ingress(props: Mapping[str, Any], ctx: ResourceContext) -> Finding:
    perms = _permissions(props, ctx.resource_type)
    if perms is None:
        return not_applicable("not an ingress rule")
    exposures = _public_exposures(perms)
    if not exposures:
        return compliant()
    return violation("Open to the internet beyond ports 80/443: " + "; ".join(exposures) + ".")


@resource_rule(
    name="default-security-group-closed",
    description="The VPC's default security group allows no inbound and no outbound traffic.",
    severity="medium",
    remediation=(
        "Manage the default security group with aws.ec2.DefaultSecurityGroup and no ingress or "
        "egress arguments (the provider then removes all its rules); give workloads their own "
        "security groups."
    ),
    resource_types=(DEFAULT_SECURITY_GROUP,),
    checkov=("CKV2_AWS_12",),
    cdk_nag=("VPCDefaultSecurityGroupClosed",),
    url="https://docs.aws.amazon.com/vpc/latest/userguide/default-security-group.html",
)
def default_security_group_closed(props: Mapping[str, Any], ctx: ResourceContext) -> Finding:
    open_directions = [key for key in ("ingress", "egress") if is_set(get(props, key))]
    if not open_directions:
        return compliant()
    return violation(f"Default security group '{ctx.name}' has {' and '.join(open_directions)} rules.")


RULES = (security_group_no_public_ingress, default_security_group_closed)
