"""`paved:cluster.deployer`: who may reach the private Kubernetes API, and nothing else."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.cluster import Cluster
from components.controllers import CHARTS
from components.observability import Alerting
from paved.config import StackConfig, load_stack_config
from paved.errors import ConfigError, ConfigProblem
from paved.presets import deep_merge
from paved.program import record
from paved.recorder import RecordedResource, Recording

ROOT = Path(__file__).resolve().parent.parent
CLUSTER = "aws:eks/cluster:Cluster"
GROUP = "aws:ec2/securityGroup:SecurityGroup"
TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
RULES = (
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
    "aws:ec2/securityGroupRule:SecurityGroupRule",
)
INGRESS = RULES[0]
DEPLOYER_GROUP = "cluster-deployer"


def _raw(stack: str) -> dict[str, Any]:
    return copy.deepcopy(yaml.safe_load((ROOT / "stacks" / f"Pulumi.{stack}.yaml").read_text())["config"])


def _with_cluster(stack: str, changes: dict[str, Any]) -> dict[str, Any]:
    return deep_merge(_raw(stack), {"paved:cluster": changes})


def _problems(raw: dict[str, Any], stack: str) -> list[ConfigProblem]:
    with pytest.raises(ConfigError) as caught:
        load_stack_config(raw, stack)
    return caught.value.problems


def _rules_of(recording: Recording, group: RecordedResource) -> list[RecordedResource]:
    return [
        rule
        for rule in recording.resources
        if rule.type in RULES and group.urn in rule.property_dependencies.get("securityGroupId", [])
    ]


def _admitted(recording: Recording, group: RecordedResource) -> set[str]:
    """The sources a group admits, after checking that each of its rules is ingress on TCP 443 only."""
    rules = _rules_of(recording, group)
    for rule in rules:
        assert rule.type == INGRESS, f"{rule.name}: the deployer group has no egress rules"
        inputs = rule.inputs
        assert (inputs["ipProtocol"], inputs["fromPort"], inputs["toPort"]) == ("tcp", 443, 443)
        assert rule.inputs["description"]
    sources = [rule.inputs.get("referencedSecurityGroupId") or rule.inputs["cidrIpv4"] for rule in rules]
    assert len(sources) == len(set(sources)), sources
    return set(sources)


def _assert_only_the_control_plane_carries(recording: Recording, group: RecordedResource) -> None:
    vpc = recording.one(CLUSTER).property_dependencies["vpcConfig"]
    cluster_inputs = recording.one(CLUSTER).inputs["vpcConfig"]
    assert len(cluster_inputs["securityGroupIds"]) == 1
    assert group.urn in vpc
    # The nodes must not get it: the launch template names the cluster and workload groups only.
    assert group.urn not in recording.one(TEMPLATE).property_dependencies["vpcSecurityGroupIds"]


# --- the shipped stacks -------------------------------------------------------------------------------------


def test_prod_admits_exactly_its_deployer_on_443_through_a_group_of_its_own(
    shipped_recordings: Callable[[str], Recording],
) -> None:
    prod = shipped_recordings("prod")
    deployer = load_stack_config(_raw("prod"), "prod").cluster.deployer
    assert deployer.is_set, "prod's API is private: its stack file must name a deployer"
    group = prod.one(GROUP, DEPLOYER_GROUP)
    assert _admitted(prod, group) == {*deployer.security_group_ids, *deployer.cidrs}
    _assert_only_the_control_plane_carries(prod, group)


def test_staging_without_a_deployer_adds_no_group_to_the_control_plane(
    shipped_recordings: Callable[[str], Recording],
) -> None:
    staging = shipped_recordings("staging")
    assert not load_stack_config(_raw("staging"), "staging").cluster.deployer.is_set
    assert not [group for group in staging.of_type(GROUP) if group.name == DEPLOYER_GROUP]
    assert "securityGroupIds" not in staging.one(CLUSTER).inputs["vpcConfig"]


@pytest.mark.parametrize("stack", ["prod", "staging"])
def test_no_rule_is_added_to_the_eks_cluster_security_group(
    stack: str, shipped_recordings: Callable[[str], Recording]
) -> None:
    # The launch template puts that group on every node, so a rule there would open the nodes too.
    recording = shipped_recordings(stack)
    cluster = recording.one(CLUSTER)
    opened = [
        rule.name
        for rule in recording.resources
        if rule.type in RULES and cluster.urn in rule.property_dependencies.get("securityGroupId", [])
    ]
    assert not opened


# --- both kinds of source, on the Cluster component alone ---------------------------------------------------


def _record_cluster(config: StackConfig) -> Recording:
    def program() -> None:
        alerting = Alerting(
            "alerts", config.alerts, kms_key_arn="arn:aws:kms:eu-west-1:123456789012:key/alerts", tags={}
        )
        Cluster(
            "cluster",
            config.cluster,
            vpc_id="vpc-0123456789abcdef0",
            subnet_ids=["subnet-0a", "subnet-0b", "subnet-0c"],
            workload_security_group_id="sg-0bbbbbbbbbbbbbbbb",
            secrets_key_arn="arn:aws:kms:eu-west-1:123456789012:key/secrets",
            logs_key_arn="arn:aws:kms:eu-west-1:123456789012:key/logs",
            alerting=alerting,
            protect=True,
            tags={},
        )

    return record(program, stack="prod", config={"aws:region": "eu-west-1"})


def test_security_groups_and_vpn_ranges_are_each_admitted_on_443() -> None:
    groups = ["sg-0aaaaaaaaaaaaaaaa", "sg-0cccccccccccccccc"]
    sources = {"securityGroupIds": groups, "cidrs": ["10.100.0.0/22"]}
    config = load_stack_config(_with_cluster("prod", {"deployer": sources}), "prod")
    recording = _record_cluster(config)
    group = recording.one(GROUP, DEPLOYER_GROUP)
    assert group.inputs["vpcId"] == "vpc-0123456789abcdef0"
    assert _admitted(recording, group) == {*groups, "10.100.0.0/22"}
    _assert_only_the_control_plane_carries(recording, group)


# --- config -------------------------------------------------------------------------------------------------


def test_private_prod_without_a_deployer_names_the_key_and_the_three_ways() -> None:
    raw = _raw("prod")
    del raw["paved:cluster"]["deployer"]
    [problem] = [p for p in _problems(raw, "prod") if p.path == "paved:cluster.deployer"]
    for way in ("paved:cluster.deployer", "securityGroupIds", "cidrs", "publicEndpoint", "publicAccessCidrs"):
        assert way in problem.hint


def test_a_public_endpoint_or_staging_needs_no_deployer() -> None:
    raw = _raw("prod")
    del raw["paved:cluster"]["deployer"]
    endpoint = {"publicEndpoint": True, "publicAccessCidrs": ["198.51.100.7/32"]}
    public = deep_merge(raw, {"paved:cluster": endpoint})
    assert not load_stack_config(public, "prod").cluster.deployer.is_set
    private_staging = _with_cluster("staging", {"publicEndpoint": False, "publicAccessCidrs": []})
    cluster = load_stack_config(private_staging, "staging").cluster
    assert (cluster.public_endpoint, cluster.deployer.is_set) == (False, False)


@pytest.mark.parametrize(
    ("cidr", "hint_names"),
    [
        ("203.0.113.0/24", "publicAccessCidrs"),  # a public range belongs on the public endpoint
        ("0.0.0.0/0", "VPN"),
        ("8.0.0.0/7", "publicAccessCidrs"),
        ("fd00::/8", "publicAccessCidrs"),  # the VPC and its endpoint are IPv4
        ("10.0.0.1/8", "host bits"),
    ],
)
def test_a_deployer_cidr_must_be_a_private_ipv4_range(cidr: str, hint_names: str) -> None:
    raw = _with_cluster("prod", {"deployer": {"cidrs": ["10.8.0.0/16", cidr]}})
    [problem] = [p for p in _problems(raw, "prod") if p.path.startswith("paved:cluster.deployer")]
    assert problem.path == "paved:cluster.deployer.cidrs[1]"
    assert hint_names in problem.hint


@pytest.mark.parametrize("cidr", ["10.8.0.0/16", "172.20.0.0/22", "192.168.10.0/24", "100.64.0.0/10"])
def test_private_and_shared_vpn_ranges_are_accepted(cidr: str) -> None:
    config = load_stack_config(_with_cluster("prod", {"deployer": {"cidrs": [cidr]}}), "prod")
    assert config.cluster.deployer.cidrs == [cidr]


def test_a_deployer_security_group_must_be_an_id() -> None:
    raw = _with_cluster("prod", {"deployer": {"securityGroupIds": ["sg-0123456789abcdef0", "my-runner-sg"]}})
    assert "paved:cluster.deployer.securityGroupIds[1]" in [p.path for p in _problems(raw, "prod")]


def test_readme_lists_every_chart_repository_the_runner_must_reach() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("### Deploying to a private cluster", 1)[1].split("\n## ", 1)[0]
    for chart in CHARTS:
        assert chart.repository in section, f"README does not list {chart.name}'s repository"
