"""VPC-level rules: flow logs, subnet addressing, interface endpoints and network ACLs.

VPCs are judged whether the program creates them (`ec2.Vpc`) or adopts the region's default VPC
(`ec2.DefaultVpc`): AWS's controls judge both alike. What belongs to a VPC (its flow logs, endpoints) is
found through the dependency graph: the companion's `vpcId` was built from the VPC.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from paved_policies.cidrs import open_to_everyone
from paved_policies.placement import place_of
from paved_policies.props import (
    any_of,
    get_bool,
    get_int,
    get_seq,
    get_str,
    get_text,
    has_item,
    problems_found,
    strings,
)
from paved_policies.rule import (
    Finding,
    GraphResource,
    ResourceContext,
    StackContext,
    StackRule,
    compliant,
    not_applicable,
    provider_props,
    resource_rule,
    stack_rule,
    violation,
)

VPC = "aws:ec2/vpc:Vpc"
DEFAULT_VPC = "aws:ec2/defaultVpc:DefaultVpc"
VPCS = (VPC, DEFAULT_VPC)
FLOW_LOG = "aws:ec2/flowLog:FlowLog"
SUBNET = "aws:ec2/subnet:Subnet"
DEFAULT_SUBNET = "aws:ec2/defaultSubnet:DefaultSubnet"
VPC_ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"
NETWORK_ACL = "aws:ec2/networkAcl:NetworkAcl"
NETWORK_ACL_RULE = "aws:ec2/networkAclRule:NetworkAclRule"
NETWORK_ACL_ASSOCIATION = "aws:ec2/networkAclAssociation:NetworkAclAssociation"
DEFAULT_NETWORK_ACL = "aws:ec2/defaultNetworkAcl:DefaultNetworkAcl"

# A flow log must capture rejected traffic: EC2.6 looks for trafficType REJECT, and ALL includes it
# (https://docs.aws.amazon.com/securityhub/latest/userguide/ec2-controls.html#ec2-6).
REJECT_CAPTURING = ("ALL", "REJECT")


@stack_rule(
    name="vpc-flow-logs-enabled",
    description="Every VPC, the default one too, has a flow log capturing rejected traffic (ALL or REJECT).",
    severity="medium",
    remediation=(
        "Create an aws.ec2.FlowLog with vpc_id=<the vpc>.id and traffic_type='ALL' (or 'REJECT'), delivering "
        "to a CloudWatch log group or S3 bucket. Pass the VPC's id output, not a literal id, so the "
        "dependency is recorded."
    ),
    resource_types=VPCS,
    checkov=("CKV2_AWS_11",),
    cdk_nag=("AwsSolutions-VPC7",),
    fsbp=("EC2.6",),
    url="https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs.html",
)
def vpc_flow_logs_enabled(props: Mapping[str, Any], ctx: StackContext) -> Finding:
    # Only a flow log whose vpcId is this VPC covers all of it; subnet or ENI flow logs don't.
    logs = ctx.referrers("vpcId", (FLOW_LOG,))
    if not logs:
        return violation(f"VPC '{ctx.name}' has no {FLOW_LOG} whose vpcId is this VPC.")
    if any_of(logs, lambda log: (get_text(log.props, "trafficType") or "").upper() in REJECT_CAPTURING):
        return compliant()
    return violation(
        f"VPC '{ctx.name}' has flow logs, but none with trafficType ALL or REJECT, so rejected traffic "
        "goes unlogged."
    )


@resource_rule(
    name="subnet-no-public-ip-by-default",
    description="Subnets do not give what launches in them a public IPv4 or IPv6 address automatically.",
    severity="medium",
    remediation=(
        "Set map_public_ip_on_launch=False (aws.ec2.DefaultSubnet defaults it to true, so set it there too) "
        "and leave assign_ipv6_address_on_creation unset or False. Public subnets don't need either: "
        "internet-facing load balancers and NAT gateways get their own addresses; give an instance that "
        "must be reachable an Elastic IP instead."
    ),
    resource_types=(SUBNET, DEFAULT_SUBNET),
    checkov=("CKV_AWS_130",),
    cdk_nag=("VPCSubnetAutoAssignPublicIpDisabled",),
    fsbp=("EC2.15",),
    # The Config rule fails auto-assigned public IPv4 and IPv6 alike:
    url="https://docs.aws.amazon.com/config/latest/developerguide/subnet-auto-assign-public-ip-disabled.html",
)
def subnet_no_public_ip_by_default(props: Mapping[str, Any], ctx: ResourceContext) -> Finding:
    # A default subnet hands out public IPv4 addresses unless told not to (pulumi-aws DefaultSubnet docs).
    ipv4_default = ctx.resource_type == DEFAULT_SUBNET
    problems = problems_found(
        [
            lambda: _on(props, "mapPublicIpOnLaunch", ipv4_default, "public IPv4 addresses"),
            lambda: _on(props, "assignIpv6AddressOnCreation", False, "IPv6 addresses"),
        ]
    )
    if not problems:
        return compliant()
    return violation(f"Subnet '{ctx.name}' assigns {' and '.join(problems)} to everything launched in it.")


def _on(props: Mapping[str, Any], key: str, default: bool, what: str) -> str | None:
    value = get_bool(props, key)
    if value is None and default:
        return f"{what} ({key} unset, which is true here)"
    return f"{what} ({key})" if value else None


# --- Interface endpoints -------------------------------------------------------------------------------

CONTROL_PAGE = "https://docs.aws.amazon.com/securityhub/latest/userguide/ec2-controls.html#"
# com.amazonaws.<region>.<service>: the service names of AWS services' endpoints.
_SERVICE_NAME = re.compile(r"^com\.amazonaws\.([^.]+)\.(.+)$")


def _serves(endpoint: GraphResource, service: str) -> bool:
    """Whether this VPC endpoint is an interface endpoint for `service` of its own region."""
    # pulumi-aws defaults vpcEndpointType to Gateway, which only S3 and DynamoDB offer.
    if (get_text(endpoint.props, "vpcEndpointType") or "Gateway").lower() != "interface":
        return False
    match = _SERVICE_NAME.match(get_text(endpoint.props, "serviceName") or "")
    if match is None or match.group(2) != service:
        return False
    region, _ = place_of(endpoint.props, provider_props(endpoint))
    # A cross-region endpoint reaches another region's service, not this VPC's region's.
    return region is None or match.group(1) == region


def _interface_endpoint_rule(name: str, service: str, control: str, why: str) -> StackRule:
    @stack_rule(
        name=name,
        description=f"Every VPC has an interface endpoint for {why} ({service}).",
        severity="medium",
        remediation=(
            f"Create an aws.ec2.VpcEndpoint with vpc_id=<the vpc>.id, service_name='com.amazonaws.<region>."
            f"{service}', vpc_endpoint_type='Interface', private_dns_enabled=True and the private subnets' "
            "ids, so those calls stay inside the VPC. Pass the VPC's id output, not a literal id, so the "
            "dependency is recorded."
        ),
        resource_types=VPCS,
        fsbp=(control,),
        # Each interface endpoint costs an hourly fee per AZ; staging may go through NAT instead.
        staging_enforcement="advisory",
        url=CONTROL_PAGE + control.lower().replace(".", "-"),
    )
    def check(props: Mapping[str, Any], ctx: StackContext) -> Finding:
        if any_of(ctx.referrers("vpcId", (VPC_ENDPOINT,)), lambda endpoint: _serves(endpoint, service)):
            return compliant()
        return violation(
            f"VPC '{ctx.name}' has no interface {VPC_ENDPOINT} for com.amazonaws.<region>.{service} whose "
            "vpcId is this VPC."
        )

    return check


vpc_ec2_interface_endpoint = _interface_endpoint_rule(
    "vpc-ec2-interface-endpoint", "ec2", "EC2.10", "the EC2 API, which EKS nodes' VPC CNI calls"
)
vpc_ecr_api_interface_endpoint = _interface_endpoint_rule(
    "vpc-ecr-api-interface-endpoint", "ecr.api", "EC2.55", "the ECR API, which image pulls authenticate with"
)
vpc_ecr_dkr_interface_endpoint = _interface_endpoint_rule(
    "vpc-ecr-dkr-interface-endpoint",
    "ecr.dkr",
    "EC2.56",
    "the ECR Docker registry, which images are pulled from",
)


# --- Network ACLs --------------------------------------------------------------------------------------

# EC2.21 judges inbound ALLOW entries from anywhere that reach SSH or RDP over TCP, or over every protocol.
ADMIN_PORTS = (22, 3389)
TCP_OR_ALL = ("tcp", "6", "-1", "all")


def _admin_ports_open(entry: Mapping[str, Any], action_key: str) -> list[int]:
    """The admin ports a network ACL entry (inline or NetworkAclRule) lets in from anywhere."""
    if (get_text(entry, action_key) or "").lower() != "allow":
        return []
    protocol = (get_text(entry, "protocol") or "").lower()
    if protocol not in TCP_OR_ALL:
        return []
    sources = strings([get_str(entry, "cidrBlock"), get_str(entry, "ipv6CidrBlock")])
    if not any(open_to_everyone([source]) for source in sources):
        return []
    if protocol in ("-1", "all"):
        return list(ADMIN_PORTS)
    low, high = get_int(entry, "fromPort"), get_int(entry, "toPort")
    if low is None or high is None:
        return []
    return [port for port in ADMIN_PORTS if low <= port <= high]


def _targets_a_default_acl(ctx: StackContext) -> bool:
    # A Vpc's only network ACL id output is its defaultNetworkAclId.
    return bool(ctx.dependencies("networkAclId", (DEFAULT_NETWORK_ACL, *VPCS)))


@stack_rule(
    name="network-acl-no-public-admin-ports",
    description="Network ACLs do not allow SSH (22) or RDP (3389) in from 0.0.0.0/0 or ::/0.",
    severity="medium",
    remediation=(
        "Narrow the entry's cidr_block / ipv6_cidr_block to the networks that administer the hosts, or drop "
        "it and reach instances through SSM Session Manager. A lower-numbered deny entry does not help: the "
        "control judges allow entries as written."
    ),
    resource_types=(NETWORK_ACL, NETWORK_ACL_RULE),
    checkov=("CKV_AWS_231", "CKV_AWS_232"),
    fsbp=("EC2.21",),
    url="https://docs.aws.amazon.com/securityhub/latest/userguide/ec2-controls.html#ec2-21",
)
def network_acl_no_public_admin_ports(props: Mapping[str, Any], ctx: StackContext) -> Finding:
    if ctx.resource_type == NETWORK_ACL:
        findings = [
            f"ingress[{index}] allows port {port}"
            for index, entry in enumerate(get_seq(props, "ingress"))
            for port in _admin_ports_open(entry, "action")
        ]
    else:
        if get_bool(props, "egress"):
            return not_applicable("an outbound entry")
        # EC2.21 leaves default network ACLs alone (they allow everything until changed).
        if _targets_a_default_acl(ctx):
            return not_applicable("an entry of a VPC's default network ACL")
        findings = [f"allows port {port}" for port in _admin_ports_open(props, "ruleAction")]
    if not findings:
        return compliant()
    return violation(f"Network ACL entry of '{ctx.name}' from anywhere: {'; '.join(findings)}.")


@stack_rule(
    name="network-acl-in-use",
    description="Every network ACL is associated with a subnet.",
    severity="low",
    remediation=(
        "Associate the network ACL with its subnets (subnet_ids, or an aws.ec2.NetworkAclAssociation with "
        "network_acl_id=<the acl>.id), or delete it."
    ),
    resource_types=(NETWORK_ACL,),
    fsbp=("EC2.16",),
    url="https://docs.aws.amazon.com/securityhub/latest/userguide/ec2-controls.html#ec2-16",
)
def network_acl_in_use(props: Mapping[str, Any], ctx: StackContext) -> Finding:
    # A presence check: the subnets' ids are outputs unknown in a first preview.
    if has_item(props, "subnetIds") or ctx.referrers("networkAclId", (NETWORK_ACL_ASSOCIATION,)):
        return compliant()
    return violation(
        f"Network ACL '{ctx.name}' has no subnetIds and no {NETWORK_ACL_ASSOCIATION} whose networkAclId is "
        "this network ACL."
    )


RULES = (
    vpc_flow_logs_enabled,
    subnet_no_public_ip_by_default,
    vpc_ec2_interface_endpoint,
    vpc_ecr_api_interface_endpoint,
    vpc_ecr_dkr_interface_endpoint,
    network_acl_no_public_admin_ports,
    network_acl_in_use,
)
