"""The DR region's pilot light (components/disaster_recovery.py): what a restore there lands in."""

from __future__ import annotations

import pytest

from paved.recorder import Recording
from tests.data_tier import KEY, changed, parameters_of, primary_instance, problem_paths

DR_PROVIDER = "::dr::"


def _pilot_light(recording: Recording) -> list:
    """The pilot light's resources (its component left out: a component has no provider)."""
    return [
        r
        for r in recording.resources
        if "paved:dr:PilotLight" in r.urn.split("::")[2] and r.type != "paved:dr:PilotLight"
    ]


def test_prod_keeps_a_closed_restore_target_in_the_dr_region(prod: Recording) -> None:
    resources = _pilot_light(prod)
    assert resources and all(DR_PROVIDER in r.provider for r in resources)
    vpc = prod.one("aws:ec2/vpc:Vpc", "dr")
    assert vpc.inputs["cidrBlock"] == "10.64.0.0/16"
    subnets = [r for r in resources if r.type == "aws:ec2/subnet:Subnet"]
    assert len(subnets) == 3 and all(s.inputs["mapPublicIpOnLaunch"] is False for s in subnets)
    # No way out: no internet or NAT gateway, no route table of its own (the main one routes locally).
    kinds = {r.type for r in resources}
    assert not kinds & {
        "aws:ec2/internetGateway:InternetGateway",
        "aws:ec2/natGateway:NatGateway",
        "aws:ec2/route:Route",
        "aws:ec2/vpcEndpoint:VpcEndpoint",
    }
    subnet_group = prod.one("aws:rds/subnetGroup:SubnetGroup", "dr-database")
    assert sorted(subnet_group.property_dependencies["subnetIds"]) == sorted(s.urn for s in subnets)
    group = prod.one("aws:ec2/securityGroup:SecurityGroup", "dr-database")
    rules = [
        r
        for r in prod.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
        if r.property_dependencies.get("securityGroupId") == [group.urn]
    ]
    assert rules == []  # closed until a failover adds the apps' group


def test_the_dr_parameter_group_is_the_primarys(prod: Recording) -> None:
    primary = prod.one("aws:rds/parameterGroup:ParameterGroup", "database")
    dr = prod.one("aws:rds/parameterGroup:ParameterGroup", "dr-database")
    assert dr.inputs["family"] == primary.inputs["family"]
    assert parameters_of(dr) == parameters_of(primary)
    assert parameters_of(dr)["rds.force_ssl"]["value"] == "1"
    assert primary_instance(prod).property_dependencies["parameterGroupName"] == [primary.urn]


def test_the_dr_network_logs_with_the_key_its_copies_use(prod: Recording) -> None:
    data_dr = prod.one(KEY, "data-dr")
    group = prod.one("aws:cloudwatch/logGroup:LogGroup", "dr-flow-logs")
    assert group.property_dependencies["kmsKeyId"] == [data_dr.urn]
    assert not [r for r in _pilot_light(prod) if r.type == KEY]  # no key of its own


def test_the_stack_exports_where_a_dr_restore_lands(prod: Recording, staging: Recording) -> None:
    outputs = prod.stack_outputs
    assert outputs["dr_mode"] == "pilot-light"
    assert {
        "dr_vpc_id",
        "dr_database_subnet_group",
        "dr_database_security_group_id",
        "dr_database_parameter_group",
    } <= set(outputs)
    assert not _pilot_light(staging) and staging.stack_outputs.get("dr_vpc_id") is None


@pytest.mark.parametrize(
    ("changes", "path"),
    [
        ({"paved:drRegion": None}, "paved:dr.mode"),
        ({"paved:dr": {"cidr": "10.0.128.0/20"}}, "paved:dr.cidr"),  # inside prod's 10.0.0.0/16
        ({"paved:dr": {"mode": "warm"}}, "paved:dr.mode"),
    ],
)
def test_a_pilot_light_without_a_region_or_with_an_overlapping_network_is_refused(
    changes: dict, path: str
) -> None:
    assert path in problem_paths(changed("prod", changes), "prod")
