"""The DR region: backups only, or a pilot light that a restore can land in.

`backups` keeps copies in the DR region (replicated automated backups, AWS Backup copies, secret replicas)
and nothing else: a restore there needs a network first, and RestoreDBInstanceToPointInTime given none
falls back to the default VPC, security group and parameter group (losing `rds.force_ssl`).

`pilot-light` also keeps, in the DR region, what a restored database needs and what costs nothing while
idle: a VPC with isolated subnets (no route out, no NAT gateway), its flow logs, a DB subnet group, a
security group for the restored database that admits no client until a failover adds the apps' group,
and a DB parameter group equal to the primary's (parameter groups are regional). The flow logs use the
DR key that the copies already use: no new key. A restore from the replicated automated backups lands in
it, and `paved drill restore --region dr` proves that it does.
"""

from collections.abc import Iterator, Mapping
from ipaddress import ip_network
from typing import Annotated, Literal

import pulumi
import pulumi_aws as aws
from pydantic import AfterValidator

from components.database import POSTGRES_PORT, DatabaseArgs, parameter_group
from components.exemptions import exemption_tags
from components.network import (
    ISOLATED,
    availability_zones,
    empty_default_security_group,
    tier_subnets,
    vpc_cidr,
    vpc_flow_logs,
)
from components.security_groups import port_security_group
from components.subnets import plan_subnets
from paved.errors import ConfigProblem
from paved.fields import ConfigModel

DrMode = Literal["backups", "pilot-light"]


class DrArgs(ConfigModel):
    mode: DrMode
    cidr: Annotated[str, AfterValidator(vpc_cidr)]


def dr_violations(
    dr: DrArgs | None, dr_region: str | None, primary_cidr: str | None
) -> Iterator[ConfigProblem]:
    """A pilot light needs a DR region, and a VPC that does not overlap the primary's (so the two can be
    peered or joined to one network later)."""
    if dr is None or dr.mode != "pilot-light":
        return
    if dr_region is None:
        yield ConfigProblem(
            "paved:dr.mode",
            "pilot-light needs a DR region",
            "set paved:drRegion, or mode: backups",
        )
    if primary_cidr is not None and ip_network(dr.cidr).overlaps(ip_network(primary_cidr)):
        yield ConfigProblem(
            "paved:dr.cidr",
            f"{dr.cidr} overlaps the primary VPC's {primary_cidr}",
            "choose a block the primary VPC does not use, e.g. 10.64.0.0/16",
        )


class PilotLight(pulumi.ComponentResource):
    """The DR region's restore target. Pass the DR region's provider in `opts`: every child uses it."""

    vpc_id: pulumi.Output[str]
    subnet_group_name: pulumi.Output[str]
    security_group_id: pulumi.Output[str]
    parameter_group_name: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        args: DrArgs,
        *,
        database: DatabaseArgs,
        az_count: int,
        flow_log_retention_days: int,
        logs_key_arn: pulumi.Input[str],
        protect: bool,
        tags: Mapping[str, str],
        opts: pulumi.ResourceOptions,
    ) -> None:
        super().__init__("paved:dr:PilotLight", name, None, opts)
        here = pulumi.ResourceOptions(parent=self)
        vpc = aws.ec2.Vpc(
            name,
            cidr_block=args.cidr,
            enable_dns_support=True,
            enable_dns_hostnames=True,
            # Interface endpoints serve nodes and pods, and none runs here until a failover; idle, they
            # would cost more than the rest of the pilot light together.
            tags={
                **tags,
                "Name": name,
                **exemption_tags(
                    [f"vpc-{service}-interface-endpoint" for service in ("ec2", "ecr-api", "ecr-dkr")],
                    "pilot-light VPC: nothing runs here until a failover",
                ),
            },
            opts=here,
        )
        empty_default_security_group(name, vpc.id, tags, parent=self)
        subnets = tier_subnets(
            name,
            ISOLATED,
            vpc.id,
            plan_subnets(args.cidr, az_count).isolated,
            availability_zones(az_count, parent=self),
            tags,
            parent=self,
        )
        vpc_flow_logs(
            name,
            vpc.id,
            logs_key_arn=logs_key_arn,
            retention_days=flow_log_retention_days,
            protect=protect,
            tags=tags,
            parent=self,
        )
        subnet_group = aws.rds.SubnetGroup(
            f"{name}-database",
            description="paved DR: isolated subnets for a restored database",
            subnet_ids=[subnet.id for subnet in subnets],
            tags=dict(tags),
            opts=here,
        )
        # Closed until a failover: its runbook adds the security group of the apps started there, as the
        # primary's admits only the apps' group.
        group = port_security_group(
            f"{name}-database",
            vpc_id=vpc.id,
            description="PostgreSQL of a restored database: no client until a failover adds one",
            port=POSTGRES_PORT,
            sources={},
            tags=tags,
            parent=self,
        )
        parameters = parameter_group(f"{name}-database", database, tags, parent=self)
        self.vpc_id = vpc.id
        self.subnet_group_name = subnet_group.name
        self.security_group_id = group.id
        self.parameter_group_name = parameters.name
        self.register_outputs(
            {
                "vpc_id": self.vpc_id,
                "subnet_group_name": self.subnet_group_name,
                "security_group_id": self.security_group_id,
                "parameter_group_name": self.parameter_group_name,
            }
        )
