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


def alb_distribution(cloudfront: Any, **config: Any) -> str:
    """A CloudFront distribution in front of an ALB, as paved declares one; its id."""
    return cloudfront.create_distribution(
        DistributionConfig={
            "CallerReference": "paved-prod",
            "Comment": "paved prod",
            "Enabled": True,
            "Origins": {
                "Quantity": 1,
                "Items": [
                    {
                        "Id": "alb",
                        "DomainName": "alb.example.com",
                        "CustomOriginConfig": {
                            "HTTPPort": 80,
                            "HTTPSPort": 443,
                            "OriginProtocolPolicy": "https-only",
                        },
                    }
                ],
            },
            "DefaultCacheBehavior": {
                "TargetOriginId": "alb",
                "ViewerProtocolPolicy": "redirect-to-https",
                "CachePolicyId": "4135ea2d-6df8-44a3-9df3-4b5a84be39ad",
            },
            **config,
        }
    )["Distribution"]["Id"]
