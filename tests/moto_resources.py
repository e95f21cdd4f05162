"""Resources the moto-backed tests share: what a stack's network would give them."""

from __future__ import annotations

from typing import Any


def vpc_with_subnets(ec2: Any, region: str) -> tuple[str, list[str]]:
    """A VPC (10.0.0.0/16) with a subnet in each of the region's zones a and b."""
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{index}.0/24", AvailabilityZone=f"{region}{zone}")[
            "Subnet"
        ]["SubnetId"]
        for index, zone in enumerate("ab")
    ]
    return vpc, subnets


def postgres_instance(rds: Any, identifier: str, **settings: Any) -> None:
    """A small PostgreSQL instance; `settings` are more CreateDBInstance members, or override these."""
    rds.create_db_instance(
        **{
            "DBInstanceIdentifier": identifier,
            "DBInstanceClass": "db.t4g.micro",
            "Engine": "postgres",
            "AllocatedStorage": 20,
            "MasterUsername": "paved",
            "MasterUserPassword": "not-a-real-password-1",
            **settings,
        }
    )
