"""Security group rules.

The same inbound permission can be written three ways in pulumi-aws: inline in a SecurityGroup's
`ingress` list, as an `ec2.SecurityGroupRule` (type "ingress"), or as a
`vpc.SecurityGroupIngressRule`. Each shape is normalized to `Permission`, and one evaluator judges
all of them, so the three cannot drift apart.

Traffic from anywhere is judged in two steps. `security-group-no-public-ingress` looks at one resource:
nothing but TCP ports 80/443 may be open to the internet. `security-group-public-web-lb-only` looks at the
stack: 80/443 from anywhere only on a group that an internet-facing load balancer uses, found through the
dependency graph (the balancer's `securityGroups` and a rule's `securityGroupId` were built from the
group), because a group's id is unknown in a first preview.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from paved_policies.cidrs import open_to_everyone
from paved_policies.props import (
    UNKNOWN,
    any_of,
    get,
    get_bool,
    get_int,
    get_seq,
    get_str,
    has_value,
    is_set,
    peek,
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
from paved_policies.rules.vpc import VPCS

SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
SECURITY_GROUP_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS_RULE = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
DEFAULT_SECURITY_GROUP = "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"
# Load balancers that take security groups: ALB/NLB under both type tokens, and the Classic ELB. Each
# has `securityGroups` and `internal` (false, internet-facing, unless set: pulumi-aws lb.LoadBalancer
# "Defaults to `false`"; CreateLoadBalancer Scheme defaults to internet-facing).
LOAD_BALANCERS = (
    "aws:lb/loadBalancer:LoadBalancer",
    "aws:alb/loadBalancer:LoadBalancer",
    "aws:elb/loadBalancer:LoadBalancer",
)
# What pulumi-aws's SecurityGroupArgs puts in `description` when none is given (ec2/security_group.py:
# "Defaults to `Managed by Pulumi`"): it says nothing about the group.
PROVIDER_DEFAULT_DESCRIPTION = "Managed by Pulumi"

# Web traffic is what internet-facing load balancers exist to receive: TCP 80 and 443, the ports FSBP's
# EC2.18 authorizes by default. It authorizes no UDP port (so no HTTP/3 from anywhere), and ALBs don't
# take UDP anyway: https://docs.aws.amazon.com/securityhub/latest/userguide/ec2-controls.html#ec2-18
WEB_PORTS = frozenset({80, 443})
WEB_PROTOCOLS = frozenset({"tcp", "6"})
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
    return Permission(
        label,
        _protocol(get_str(perm, "protocol")),
        get_int(perm, "fromPort"),
        get_int(perm, "toPort"),
        tuple(cidrs),
    )


def _from_ingress_rule(props: Mapping[str, Any]) -> Permission:
    cidrs = strings([get(props, "cidrIpv4"), get(props, "cidrIpv6")])
    return Permission(
        "rule",
        _protocol(get_str(props, "ipProtocol")),
        get_int(props, "fromPort"),
        get_int(props, "toPort"),
        tuple(cidrs),
    )


def _protocol(value: str | None) -> str | None:
    return value.strip().lower() if value else None


def _permissions(props: Mapping[str, Any], resource_type: str) -> Sequence[Permission] | None:
    """The inbound permissions declared by this resource; None when it declares no ingress at all."""
    if resource_type in (SECURITY_GROUP, DEFAULT_SECURITY_GROUP):
        return [_from_ip_permission(f"ingress[{i}]", p) for i, p in enumerate(get_seq(props, "ingress"))]
    if resource_type == SECURITY_GROUP_RULE:
        return [_from_ip_permission("rule", props)] if get_str(props, "type") == "ingress" else None
    return [_from_ingress_rule(props)]


def _only_web_ports(perm: Permission) -> bool:
    return (
        perm.protocol in WEB_PROTOCOLS
        and perm.from_port is not None
        and perm.from_port == perm.to_port
        and perm.from_port in WEB_PORTS
    )


def _describe(perm: Permission) -> str:
    if perm.protocol in PORTED_PROTOCOLS:
        ports = "-".join("?" if p is None else str(p) for p in (perm.from_port, perm.to_port))
        return f"{perm.protocol} ports {ports}"
    return f"protocol {perm.protocol or '<unset>'}"


def _public_sources(perm: Permission) -> list[str]:
    return open_to_everyone(perm.sources)


def _public_exposures(perms: Sequence[Permission]) -> list[str]:
    exposures = []
    for perm in perms:
        public = _public_sources(perm)
        if public and not _only_web_ports(perm):
            exposures.append(f"{perm.label}: {_describe(perm)} from {', '.join(public)}")
    return exposures


def _public_web(perms: Sequence[Permission]) -> list[str]:
    """The permissions that open only port 80 or 443 to anywhere: what load balancers may do."""
    return [
        f"{perm.label}: {_describe(perm)} from {', '.join(_public_sources(perm))}"
        for perm in perms
        if _public_sources(perm) and _only_web_ports(perm)
    ]


@resource_rule(
    name="security-group-no-public-ingress",
    description=(
        "Security groups, default ones too, allow inbound traffic from anywhere (0.0.0.0/0, ::/0) only on "
        "TCP ports 80 and 443 (and those only on internet-facing load balancers: "
        "security-group-public-web-lb-only)."
    ),
    severity="high",
    remediation=(
        "Restrict the rule's source to known CIDRs, a prefix list or another security group. Reach "
        "instances through SSM Session Manager or a VPN instead of opening SSH/RDP, and expose "
        "services only through a load balancer listening on TCP 80/443."
    ),
    resource_types=(SECURITY_GROUP, SECURITY_GROUP_RULE, INGRESS_RULE, DEFAULT_SECURITY_GROUP),
    # CKV_AWS_260 (port 80 from 0.0.0.0/0) belongs to security-group-public-web-lb-only, which judges 80.
    checkov=("CKV_AWS_24", "CKV_AWS_25", "CKV_AWS_277"),
    cdk_nag=("AwsSolutions-EC23", "EC2RestrictedSSH"),
    # EC2.19's high-risk ports are all outside TCP 80/443, so what passes EC2.18 passes it too.
    fsbp=("EC2.18", "EC2.19"),
    url="https://docs.aws.amazon.com/vpc/latest/userguide/security-group-rules.html",
)
def security_group_no_public_ingress(props: Mapping[str, Any], ctx: ResourceContext) -> Finding:
    perms = _permissions(props, ctx.resource_type)
    if perms is None:
        return not_applicable("not an ingress rule")
    exposures = _public_exposures(perms)
    if not exposures:
        return compliant()
    return violation("Open to the internet beyond TCP ports 80/443: " + "; ".join(exposures) + ".")


def _groups_of(ctx: StackContext) -> list[str]:
    """The URNs of the security groups this resource opens: itself, or the group its securityGroupId names."""
    if ctx.resource_type == SECURITY_GROUP:
        return [ctx.urn]
    return [group.urn for group in ctx.dependencies("securityGroupId", (SECURITY_GROUP,))]


def _internet_facing(balancer: GraphResource) -> bool:
    # A value check: an `internal` still unknown in preview raises, and any_of lets another balancer decide.
    return get_bool(balancer.props, "internal") is not True


def _fronts_the_internet(ctx: StackContext, group_urn: str) -> bool:
    """Whether an internet-facing load balancer's `securityGroups` was built from this group."""
    balancers = ctx.graph.referrers(group_urn, "securityGroups", LOAD_BALANCERS)
    return any_of(balancers, _internet_facing)


@stack_rule(
    name="security-group-public-web-lb-only",
    description=(
        "Only security groups of internet-facing load balancers accept ports 80/443 from anywhere "
        "(0.0.0.0/0, ::/0)."
    ),
    severity="high",
    remediation=(
        "Serve the internet through a load balancer (internal=False) whose security_groups list the group "
        "opening 80/443 to 0.0.0.0/0 or ::/0; give instances, tasks and pods a group that admits the "
        "balancer's security group instead. Pass group.id (an output), not a literal id, to the balancer "
        "and to standalone rules' security_group_id, so the link is recorded in the dependency graph."
    ),
    resource_types=(SECURITY_GROUP, SECURITY_GROUP_RULE, INGRESS_RULE),
    checkov=("CKV_AWS_260",),
    cdk_nag=("AwsSolutions-EC23",),
    # Internet-facing balancers admit 0.0.0.0/0 on the listener port, internal ones the VPC CIDR:
    url="https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-update-security-groups.html",
)
def security_group_public_web_lb_only(props: Mapping[str, Any], ctx: StackContext) -> Finding:
    perms = _permissions(props, ctx.resource_type)
    if perms is None:
        return not_applicable("not an ingress rule")
    exposures = _public_web(perms)
    if not exposures:
        return compliant()
    groups = _groups_of(ctx)
    if not groups:
        return violation(
            f"'{ctx.name}' opens {'; '.join(exposures)}, but its securityGroupId was not built from a "
            "security group of this stack, so no internet-facing load balancer can be linked to it."
        )
    if any_of(groups, lambda group: _fronts_the_internet(ctx, group)):
        return compliant()
    return violation(
        f"'{ctx.name}' opens {'; '.join(exposures)} on a security group that no internet-facing load "
        "balancer uses (no LoadBalancer with internal unset or false lists it in securityGroups)."
    )


def _description_problem(value: Any) -> str | None:
    """Why a description does not describe, or None when it does (a preview unknown counts as given)."""
    if value is UNKNOWN:
        return None
    if not isinstance(value, str) or not value.strip():
        return "no description"
    if value.strip() == PROVIDER_DEFAULT_DESCRIPTION:
        return f"the provider's default description '{PROVIDER_DEFAULT_DESCRIPTION}'"
    return None


@resource_rule(
    name="security-group-descriptions",
    description="Security groups and each of their ingress and egress rules have a description.",
    severity="low",
    remediation=(
        "Give the SecurityGroup a description saying what it is for (not the provider's default "
        f"'{PROVIDER_DEFAULT_DESCRIPTION}'; it cannot be changed without replacing the group), and every "
        "inline ingress/egress entry, SecurityGroupRule, SecurityGroupIngressRule and "
        "SecurityGroupEgressRule a description of what the rule admits and why."
    ),
    resource_types=(SECURITY_GROUP, SECURITY_GROUP_RULE, INGRESS_RULE, EGRESS_RULE),
    checkov=("CKV_AWS_23",),
    cdk_nag=("AwsSolutions-EC27",),
    # The Description field of a group (CreateSecurityGroup) and of each rule (IpRange, UserIdGroupPair...).
    url="https://docs.aws.amazon.com/vpc/latest/userguide/security-group-rules.html",
)
def security_group_descriptions(props: Mapping[str, Any], ctx: ResourceContext) -> Finding:
    if ctx.resource_type != SECURITY_GROUP:
        # A presence check: a description built from another output is there, whatever it will say.
        if has_value(props, "description"):
            return compliant()
        return violation(f"Security group rule '{ctx.name}' has no description.")
    problems = []
    group = _description_problem(peek(lambda: get(props, "description")))
    if group:
        problems.append(f"the group has {group}")
    for direction in ("ingress", "egress"):
        # An entry still unknown in preview raises: whether it will have a description cannot be told.
        for index, entry in enumerate(get_seq(props, direction)):
            if not has_value(entry, "description"):
                problems.append(f"{direction}[{index}] has no description")
    if not problems:
        return compliant()
    return violation(f"Security group '{ctx.name}': {'; '.join(problems)}.")


def _default_group_problems(props: Mapping[str, Any], ctx: StackContext) -> str | None:
    """How this resource leaves a VPC's default security group open, or None when it does not."""
    if ctx.resource_type == DEFAULT_SECURITY_GROUP:
        open_directions = [key for key in ("ingress", "egress") if is_set(get(props, key))]
        return f"has {' and '.join(open_directions)} rules" if open_directions else None
    if ctx.resource_type in VPCS:
        if ctx.referrers("vpcId", (DEFAULT_SECURITY_GROUP,)):
            return None
        # AWS creates every VPC's default group with all traffic in from itself and all traffic out.
        return (
            f"has no {DEFAULT_SECURITY_GROUP} whose vpcId is this VPC, so its default group keeps AWS's "
            "allow-all rules"
        )
    return "adds a rule to a VPC's default security group"


def _opens_a_default_group(ctx: StackContext) -> bool:
    # A Vpc's only security group id output is its defaultSecurityGroupId.
    return bool(ctx.dependencies("securityGroupId", (DEFAULT_SECURITY_GROUP, *VPCS)))


@stack_rule(
    name="default-security-group-closed",
    description=(
        "Every VPC's default security group allows no inbound and no outbound traffic: the program manages "
        "it without rules and adds none to it."
    ),
    severity="high",
    remediation=(
        "For every aws.ec2.Vpc (and adopted aws.ec2.DefaultVpc) declare an aws.ec2.DefaultSecurityGroup with "
        "vpc_id=<the vpc>.id and no ingress or egress arguments (the provider then removes AWS's rules), "
        "attach no SecurityGroupRule / SecurityGroupIngressRule / SecurityGroupEgressRule to it, and give "
        "workloads their own security groups. Pass the VPC's id output, not a literal id, so the dependency "
        "is recorded."
    ),
    resource_types=(
        DEFAULT_SECURITY_GROUP,
        *VPCS,
        SECURITY_GROUP_RULE,
        INGRESS_RULE,
        EGRESS_RULE,
    ),
    checkov=("CKV2_AWS_12",),
    cdk_nag=("VPCDefaultSecurityGroupClosed",),
    fsbp=("EC2.2",),
    url="https://docs.aws.amazon.com/vpc/latest/userguide/default-security-group.html",
)
def default_security_group_closed(props: Mapping[str, Any], ctx: StackContext) -> Finding:
    if ctx.resource_type in (SECURITY_GROUP_RULE, INGRESS_RULE, EGRESS_RULE) and not _opens_a_default_group(
        ctx
    ):
        return not_applicable("a rule of a security group other than a VPC's default one")
    problem = _default_group_problems(props, ctx)
    if problem is None:
        return compliant()
    return violation(f"'{ctx.name}' {problem}.")


RULES = (
    security_group_no_public_ingress,
    security_group_public_web_lb_only,
    security_group_descriptions,
    default_security_group_closed,
)
