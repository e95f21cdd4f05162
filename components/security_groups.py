"""Security groups: for data stores and the EKS API, one port open only to named sources and no egress; for
clients that only call out, HTTPS out and nothing in."""

from collections.abc import Mapping
from typing import Literal

import pulumi
import pulumi_aws as aws


def port_security_group(
    name: str,
    *,
    vpc_id: pulumi.Input[str],
    description: str,
    port: int,
    sources: Mapping[str, pulumi.Input[str]],
    tags: Mapping[str, str],
    parent: pulumi.Resource,
) -> aws.ec2.SecurityGroup:
    """A group admitting TCP `port` from each source security group (`rule name -> group id`).

    The group has no egress rules: a data store only answers connections, and security groups are stateful.
    Rules are separate resources, so other components can add sources without replacing the group.
    """
    here = pulumi.ResourceOptions(parent=parent)
    group = aws.ec2.SecurityGroup(
        name, vpc_id=vpc_id, description=description, tags={**tags, "Name": name}, opts=here
    )
    for source_name, source_id in sources.items():
        port_rule(
            group,
            f"{name}-from-{source_name}",
            direction="from",
            port=port,
            peer_id=source_id,
            tags=tags,
            parent=parent,
        )
    return group


def port_rule(
    group: aws.ec2.SecurityGroup,
    name: str,
    *,
    direction: Literal["from", "to"],
    port: int,
    peer_id: pulumi.Input[str] | None = None,
    peer_cidr: str | None = None,
    tags: Mapping[str, str],
    parent: pulumi.Resource,
) -> aws.vpc.SecurityGroupIngressRule | aws.vpc.SecurityGroupEgressRule:
    """TCP `port` from (ingress) or to (egress) one peer: the security group `peer_id`, or the IPv4 block
    `peer_cidr`."""
    if (peer_id is None) == (peer_cidr is None):
        raise ValueError(f"security group rule {name!r} needs exactly one of peer_id and peer_cidr")
    rule_type = aws.vpc.SecurityGroupIngressRule if direction == "from" else aws.vpc.SecurityGroupEgressRule
    return rule_type(
        name,
        security_group_id=group.id,
        description=f"TCP {port} {direction} {name}",
        ip_protocol="tcp",
        from_port=port,
        to_port=port,
        referenced_security_group_id=peer_id,
        cidr_ipv4=peer_cidr,
        tags={**tags, "Name": name},
        opts=pulumi.ResourceOptions(parent=parent),
    )


HTTPS = 443


def https_out_security_group(
    name: str,
    *,
    vpc_id: pulumi.Input[str],
    description: str,
    egress_description: str,
    tags: Mapping[str, str],
    parent: pulumi.Resource,
) -> aws.ec2.SecurityGroup:
    """A group for a client that calls HTTPS endpoints at addresses no list keeps (0.0.0.0/0 on 443) and
    that nothing connects to: no ingress rule. EC2 replaces a group whose description changes."""
    here = pulumi.ResourceOptions(parent=parent)
    group = aws.ec2.SecurityGroup(
        name, vpc_id=vpc_id, description=description, tags={**tags, "Name": name}, opts=here
    )
    aws.vpc.SecurityGroupEgressRule(
        f"{name}-https-out",
        security_group_id=group.id,
        description=egress_description,
        ip_protocol="tcp",
        from_port=HTTPS,
        to_port=HTTPS,
        cidr_ipv4="0.0.0.0/0",
        tags={**tags, "Name": f"{name}-https-out"},
        opts=here,
    )
    return group
