"""VPC-level rules: flow logs and subnet addressing."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from paved_policies.props import get_bool, get_map
from paved_policies.rule import (
    Finding,
    ResourceContext,
    StackContext,
    compliant,
    resource_rule,
    stack_rule,
    violation,
)

VPC = "aws:ec2/vpc:Vpc"
FLOW_LOG = "aws:ec2/flowLog:FlowLog"
SUBNET = "aws:ec2/subnet:Subnet"

# Subnets the AWS Load Balancer Controller may place internet-facing load balancers in carry this
# tag with value "1" or "" (empty):
# https://kubernetes-sigs.github.io/aws-load-balancer-controller/latest/deploy/subnet_discovery/
PUBLIC_ELB_TAG = "kubernetes.io/role/elb"
PUBLIC_ELB_TAG_VALUES = ("1", "")


@stack_rule(
    name="vpc-flow-logs-enabled",
    description="Every VPC has a flow log capturing its traffic.",
    severity="medium",
    remediation=(
        "Create an aws.ec2.FlowLog with vpc_id=<the vpc>.id (traffic_type='ALL'), delivering to a "
        "CloudWatch log group or S3 bucket. Pass the VPC's id output, not a literal id, so the "
        "dependency is recorded."
    ),
    resource_types=(VPC,),
    checkov=("CKV2_AWS_11",),
    cdk_nag=("AwsSolutions-VPC7",),
    url="https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs.html",
)
def vpc_flow_logs_enabled(props: Mapping[str, Any], ctx: StackContext) -> Finding:
    # Only a flow log whose vpcId is this VPC covers all of it; subnet or ENI flow logs don't.
    if ctx.referrers("vpcId", (FLOW_LOG,)):
        return compliant()
    return violation(f"VPC '{ctx.name}' has no {FLOW_LOG} whose vpcId is this VPC.")


@resource_rule(
    name="subnet-no-public-ip-by-default",
    description="Subnets do not give instances public IPs unless they host internet-facing load balancers.",
    severity="low",
    remediation=(
        "Set map_public_ip_on_launch=False. If the subnet is a public subnet for internet-facing load "
        f"balancers, tag it '{PUBLIC_ELB_TAG}': '1'."
    ),
    resource_types=(SUBNET,),
    checkov=("CKV_AWS_130",),
    cdk_nag=("VPCSubnetAutoAssignPublicIpDisabled",),
    enforcement="advisory",
    url="https://docs.aws.amazon.com/vpc/latest/userguide/modify-subnets.html",
)
def subnet_no_public_ip_by_default(props: Mapping[str, Any], ctx: ResourceContext) -> Finding:
    if get_bool(props, "mapPublicIpOnLaunch") is not True:
        return compliant()
    if _is_public_elb_subnet(props):
        return compliant()
    return violation(
        f"Subnet '{ctx.name}' sets mapPublicIpOnLaunch but is not tagged '{PUBLIC_ELB_TAG}' as an "
        "internet-facing load balancer subnet."
    )


def _is_public_elb_subnet(props: Mapping[str, Any]) -> bool:
    # `tags` first: `tagsAll` (provider default tags merged in) may still be unknown in preview.
    for key in ("tags", "tagsAll"):
        if get_map(props, key).get(PUBLIC_ELB_TAG) in PUBLIC_ELB_TAG_VALUES:
            return True
    return False


RULES = (vpc_flow_logs_enabled, subnet_no_public_ip_by_default)
