"""The network model: each rule on a small synthetic stack shaped like paved's, a mutation that breaks it and
the exact hop the BROKEN reason names; a property test of security group reachability against a brute-force
oracle; and the real prod preview."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from ipaddress import ip_network
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from paved_policies.wiring.network import (
    CLOUDFRONT_PREFIX_LIST,
    Endpoint,
    NetworkModel,
)
from paved_policies.wiring.placeholders import AwsPlace, managed_prefix_list_id, placeholder
from paved_policies.wiring.snapshot import UNKNOWN, Resource, Snapshot
from paved_policies.wiring.verdicts import Finding, Verdict

REGION = "eu-west-1"
PLACE = AwsPlace(region=REGION)
RUNNER_SG = "sg-0123456789abcdef0"
API_LABELS = {"app.kubernetes.io/name": "api"}


class Stack:
    """Resources whose inputs reference each other through placeholders, as lineage records them."""

    def __init__(self) -> None:
        self.resources: dict[str, Resource] = {}

    def add(self, type_: str, logical: str, **inputs: Any) -> Resource:
        """Route tables, their associations and the internet gateway share logical names with subnets and the
        VPC, as in paved: they are keyed `rt:<name>`, `assoc:<name>` and `igw:<name>`."""
        resource = Resource(f"urn:pulumi:test::paved::{type_}::{logical}", type_, logical, inputs=inputs)
        prefix = {
            "aws:ec2/routeTable:RouteTable": "rt:",
            "aws:ec2/routeTableAssociation:RouteTableAssociation": "assoc:",
            "aws:ec2/internetGateway:InternetGateway": "igw:",
        }.get(type_, "")
        key = f"{prefix}{logical}"
        self.resources[key] = resource
        return resource

    def out(self, name: str, output: str = "id") -> Any:
        resource = self.resources[name]
        return placeholder(resource.urn, resource.type, output, resource.inputs, PLACE)

    def cluster_sg(self, name: str = "cluster") -> str:
        resource = self.resources[name]
        return placeholder(resource.urn, resource.type, "vpcConfig", resource.inputs, PLACE)[
            "clusterSecurityGroupId"
        ]

    def urn(self, name: str) -> str:
        return self.resources[name].urn

    def snapshot(self) -> Snapshot:
        return Snapshot.build(copy.deepcopy(list(self.resources.values())), place=PLACE)


def _rule(stack: Stack, name: str, direction: str, group: str, port: int, **peer: Any) -> Resource:
    kind = "Ingress" if direction == "in" else "Egress"
    return stack.add(
        f"aws:vpc/securityGroup{kind}Rule:SecurityGroup{kind}Rule",
        name,
        securityGroupId=stack.out(group),
        ipProtocol="tcp",
        fromPort=port,
        toPort=port,
        **peer,
    )


def _app_policy(stack: Stack, app: str, egress: list[dict[str, Any]], ingress: list[dict[str, Any]]) -> None:
    stack.add(
        "kubernetes:networking.k8s.io/v1:NetworkPolicy",
        f"{app}-default-deny",
        metadata={"name": "default-deny", "namespace": app},
        spec={"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
    )
    stack.add(
        "kubernetes:networking.k8s.io/v1:NetworkPolicy",
        app,
        metadata={"name": app, "namespace": app},
        spec={
            "podSelector": {"matchLabels": {"app.kubernetes.io/name": app}},
            "policyTypes": ["Ingress", "Egress"],
            "egress": egress,
            "ingress": ingress,
        },
    )


DNS_EGRESS = {
    "to": [
        {
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
            "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
        }
    ],
    "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
}


def paved_like() -> Stack:
    """Two AZs of paved's layout: public (ALB, NAT), private (nodes, endpoints), isolated (data stores)."""
    s = Stack()
    s.add("aws:ec2/vpc:Vpc", "network", cidrBlock="10.0.0.0/16")
    vpc = s.out("network")
    cidrs = {
        "public": ("10.0.192.0/21", "10.0.200.0/21"),
        "private": ("10.0.0.0/18", "10.0.64.0/18"),
        "isolated": ("10.0.224.0/21", "10.0.232.0/21"),
    }
    for tier, blocks in cidrs.items():
        for index, block in enumerate(blocks, start=1):
            s.add("aws:ec2/subnet:Subnet", f"network-{tier}-{index}", vpcId=vpc, cidrBlock=block)
    s.add("aws:ec2/internetGateway:InternetGateway", "network", vpcId=vpc)
    s.add("aws:ec2/routeTable:RouteTable", "network-public", vpcId=vpc)
    s.add(
        "aws:ec2/route:Route",
        "network-public-default",
        routeTableId=s.out("rt:network-public"),
        destinationCidrBlock="0.0.0.0/0",
        gatewayId=s.out("igw:network"),
    )
    for index in (1, 2):
        s.add(
            "aws:ec2/routeTableAssociation:RouteTableAssociation",
            f"network-public-{index}",
            subnetId=s.out(f"network-public-{index}"),
            routeTableId=s.out("rt:network-public"),
        )
        s.add(
            "aws:ec2/natGateway:NatGateway", f"network-nat-{index}", subnetId=s.out(f"network-public-{index}")
        )
        for tier in ("private", "isolated"):
            s.add("aws:ec2/routeTable:RouteTable", f"network-{tier}-{index}", vpcId=vpc)
            s.add(
                "aws:ec2/routeTableAssociation:RouteTableAssociation",
                f"network-{tier}-{index}-1",
                subnetId=s.out(f"network-{tier}-{index}"),
                routeTableId=s.out(f"rt:network-{tier}-{index}"),
            )
        s.add(
            "aws:ec2/route:Route",
            f"network-private-{index}-default",
            routeTableId=s.out(f"rt:network-private-{index}"),
            destinationCidrBlock="0.0.0.0/0",
            natGatewayId=s.out(f"network-nat-{index}"),
        )
    private = [s.out("network-private-1"), s.out("network-private-2")]
    isolated = [s.out("network-isolated-1"), s.out("network-isolated-2")]
    public = [s.out("network-public-1"), s.out("network-public-2")]
    s.add(
        "aws:ec2/vpcEndpoint:VpcEndpoint",
        "network-s3",
        vpcId=vpc,
        serviceName=f"com.amazonaws.{REGION}.s3",
        vpcEndpointType="Gateway",
        routeTableIds=[s.out(f"rt:network-{tier}-{i}") for tier in ("private", "isolated") for i in (1, 2)],
    )
    for group in ("network-endpoints", "network-workloads", "database-sg", "database-proxy-sg", "cache-sg"):
        s.add("aws:ec2/securityGroup:SecurityGroup", group, vpcId=vpc)
    s.add("aws:ec2/securityGroup:SecurityGroup", "alb-sg", vpcId=vpc)
    s.add("aws:ec2/securityGroup:SecurityGroup", "cluster-deployer", vpcId=vpc)
    _rule(s, "network-endpoints-https-in", "in", "network-endpoints", 443, cidrIpv4="10.0.0.0/16")
    _rule(s, "network-endpoints-https-out", "out", "network-endpoints", 443, cidrIpv4="10.0.0.0/16")
    s.add(
        "aws:ec2/vpcEndpoint:VpcEndpoint",
        "network-sts",
        vpcId=vpc,
        serviceName=f"com.amazonaws.{REGION}.sts",
        vpcEndpointType="Interface",
        privateDnsEnabled=True,
        subnetIds=private,
        securityGroupIds=[s.out("network-endpoints")],
    )
    workloads = s.out("network-workloads")
    _rule(s, "database-sg-from-workloads", "in", "database-sg", 5432, referencedSecurityGroupId=workloads)
    _rule(
        s,
        "database-proxy-sg-from-workloads",
        "in",
        "database-proxy-sg",
        5432,
        referencedSecurityGroupId=workloads,
    )
    _rule(s, "cache-sg-from-workloads", "in", "cache-sg", 6379, referencedSecurityGroupId=workloads)
    _rule(
        s,
        "database-proxy-to-db",
        "out",
        "database-proxy-sg",
        5432,
        referencedSecurityGroupId=s.out("database-sg"),
    )
    _rule(
        s,
        "database-from-proxy",
        "in",
        "database-sg",
        5432,
        referencedSecurityGroupId=s.out("database-proxy-sg"),
    )
    s.add(
        "aws:rds/subnetGroup:SubnetGroup", "database-subnets", name="paved-test-database", subnetIds=isolated
    )
    s.add(
        "aws:rds/instance:Instance",
        "database",
        identifier="paved-test-database",
        dbSubnetGroupName=s.out("database-subnets", "name"),
        vpcSecurityGroupIds=[s.out("database-sg")],
        publiclyAccessible=False,
    )
    s.add(
        "aws:rds/instance:Instance",
        "database-replica-1",
        identifier="paved-test-database-replica-1",
        replicateSourceDb="paved-test-database",
        vpcSecurityGroupIds=[s.out("database-sg")],
    )
    s.add(
        "aws:rds/proxy:Proxy",
        "database-proxy",
        name="paved-test-database-proxy",
        vpcSubnetIds=isolated,
        vpcSecurityGroupIds=[s.out("database-proxy-sg")],
    )
    s.add(
        "aws:elasticache/subnetGroup:SubnetGroup",
        "cache-subnets",
        name="paved-test-cache",
        subnetIds=isolated,
    )
    s.add(
        "aws:elasticache/replicationGroup:ReplicationGroup",
        "cache",
        replicationGroupId="paved-test-cache",
        subnetGroupName=s.out("cache-subnets", "name"),
        securityGroupIds=[s.out("cache-sg")],
    )
    _rule(
        s, "cluster-deployer-from-runner", "in", "cluster-deployer", 443, referencedSecurityGroupId=RUNNER_SG
    )
    s.add(
        "aws:eks/cluster:Cluster",
        "cluster",
        name="paved-test",
        vpcConfig={
            "subnetIds": private,
            "securityGroupIds": [s.out("cluster-deployer")],
            "endpointPrivateAccess": True,
            "endpointPublicAccess": False,
        },
    )
    s.add(
        "aws:ec2/launchTemplate:LaunchTemplate",
        "cluster-nodes",
        vpcSecurityGroupIds=[s.cluster_sg(), workloads],
        metadataOptions={"httpEndpoint": "enabled", "httpTokens": "required", "httpPutResponseHopLimit": 2},
    )
    s.add(
        "aws:eks/nodeGroup:NodeGroup",
        "cluster-on-demand",
        clusterName="paved-test",
        subnetIds=private,
        launchTemplate={"id": s.out("cluster-nodes"), "version": "1"},
    )
    s.add(
        "aws:eks/addon:Addon",
        "cluster-vpc-cni",
        clusterName="paved-test",
        addonName="vpc-cni",
        configurationValues=json.dumps({"enableNetworkPolicy": "true"}),
    )
    prefix_list = managed_prefix_list_id(REGION, CLOUDFRONT_PREFIX_LIST)
    _rule(s, "alb-sg-cloudfront", "in", "alb-sg", 443, prefixListId=prefix_list)
    _rule(s, "alb-sg-to-workloads-3000", "out", "alb-sg", 3000, referencedSecurityGroupId=workloads)
    _rule(
        s,
        "alb-workloads-from-alb-3000",
        "in",
        "network-workloads",
        3000,
        referencedSecurityGroupId=s.out("alb-sg"),
    )
    s.add(
        "aws:lb/loadBalancer:LoadBalancer",
        "alb",
        internal=False,
        securityGroups=[s.out("alb-sg")],
        subnets=public,
    )
    s.add("kubernetes:core/v1:Namespace", "api", metadata={"name": "api"})
    s.add(
        "kubernetes:apps/v1:Deployment",
        "api",
        metadata={"name": "api", "namespace": "api"},
        spec={
            "selector": {"matchLabels": API_LABELS},
            "template": {"metadata": {"labels": {**API_LABELS, "app.kubernetes.io/component": "web"}}},
        },
    )
    _app_policy(
        s,
        "api",
        egress=[
            DNS_EGRESS,
            {"to": [{"ipBlock": {"cidr": "10.0.0.0/16"}}], "ports": [{"protocol": "TCP", "port": 5432}]},
            {"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}], "ports": [{"protocol": "TCP", "port": 443}]},
        ],
        ingress=[
            {
                "from": [{"ipBlock": {"cidr": "10.0.192.0/21"}}, {"ipBlock": {"cidr": "10.0.200.0/21"}}],
                "ports": [{"protocol": "TCP", "port": 3000}],
            }
        ],
    )
    return s


@pytest.fixture
def stack() -> Stack:
    return paved_like()


def _ask(stack: Stack, source: Endpoint, target: Endpoint, port: int, *, any_: bool = False) -> Finding:
    model = NetworkModel.from_snapshot(stack.snapshot())
    return (model.reach_any if any_ else model.reach)(source, target, port)


def _evidence(finding: Finding) -> str:
    return "\n".join(str(hop) for hop in finding.hops)


def _assert_broken(finding: Finding, *named: str) -> None:
    assert finding.verdict is Verdict.BROKEN, (finding.verdict, finding.reason, _evidence(finding))
    for word in named:
        assert word in finding.reason, (word, finding.reason)


def _assert_proven(finding: Finding) -> None:
    assert finding.verdict is Verdict.PROVEN, (finding.verdict, finding.reason, _evidence(finding))


API = Endpoint.pods("api", API_LABELS)


def _resource(stack: Stack, name: str) -> Endpoint:
    return Endpoint.resource(stack.urn(name))


# -- security groups ---------------------------------------------------------------------------------------


def test_runner_reaches_the_private_api_through_the_deployer_rule(stack: Stack) -> None:
    finding = _ask(stack, Endpoint.security_group(RUNNER_SG), _resource(stack, "cluster"), 443)
    _assert_proven(finding)
    assert "cluster-deployer-from-runner" in _evidence(finding)

    del stack.resources["cluster-deployer-from-runner"]
    broken = _ask(stack, Endpoint.security_group(RUNNER_SG), _resource(stack, "cluster"), 443)
    _assert_broken(broken, "cluster-deployer", "ingress", "tcp/443")


def test_app_pods_reach_the_proxy_and_the_proxy_the_database(stack: Stack) -> None:
    to_proxy = _ask(stack, API, _resource(stack, "database-proxy"), 5432)
    _assert_proven(to_proxy)
    evidence = _evidence(to_proxy)
    for hop in ("network-policy api spec.egress[1]", "EKS default rule", "database-proxy-sg-from-workloads"):
        assert hop in evidence
    _assert_proven(_ask(stack, _resource(stack, "database-proxy"), _resource(stack, "database"), 5432))

    del stack.resources["database-proxy-sg-from-workloads"]
    _assert_broken(_ask(stack, API, _resource(stack, "database-proxy"), 5432), "database-proxy-sg", "ingress")


def test_security_groups_are_stateful_so_the_database_needs_no_egress(stack: Stack) -> None:
    model = NetworkModel.from_snapshot(stack.snapshot())
    assert not [r for r in model.rules if r.group == stack.urn("database-sg") and r.direction == "egress"]
    _assert_proven(model.reach(_resource(stack, "database-proxy"), _resource(stack, "database"), 5432))


def test_dropping_the_proxy_egress_rule_names_it(stack: Stack) -> None:
    del stack.resources["database-proxy-to-db"]
    finding = _ask(stack, _resource(stack, "database-proxy"), _resource(stack, "database"), 5432)
    _assert_broken(finding, "database-proxy-sg", "egress", "tcp/5432")


def test_a_group_without_declared_egress_has_none(stack: Stack) -> None:
    # The provider revokes EC2's allow-all egress rule on create: a node group whose only group is the
    # workloads group (no rules) reaches nothing.
    stack.resources["cluster-nodes"].inputs["vpcSecurityGroupIds"] = [stack.out("network-workloads")]
    finding = _ask(stack, API, _resource(stack, "database-proxy"), 5432)
    _assert_broken(finding, "network-workloads", "egress")


def test_inline_rules_and_security_group_rule_resources_count_too(stack: Stack) -> None:
    del stack.resources["database-proxy-sg-from-workloads"]
    proxy_group = stack.resources["database-proxy-sg"]
    proxy_group.inputs["ingress"] = [
        {
            "protocol": "tcp",
            "fromPort": 5432,
            "toPort": 5432,
            "securityGroups": [stack.out("network-workloads")],
        }
    ]
    _assert_proven(_ask(stack, API, _resource(stack, "database-proxy"), 5432))

    proxy_group.inputs["ingress"][0]["fromPort"] = proxy_group.inputs["ingress"][0]["toPort"] = 5433
    _assert_broken(_ask(stack, API, _resource(stack, "database-proxy"), 5432), "database-proxy-sg", "ingress")

    stack.add(
        "aws:ec2/securityGroupRule:SecurityGroupRule",
        "proxy-classic",
        type="ingress",
        securityGroupId=stack.out("database-proxy-sg"),
        protocol="tcp",
        fromPort=5400,
        toPort=5500,
        sourceSecurityGroupId=stack.out("network-workloads"),
    )
    finding = _ask(stack, API, _resource(stack, "database-proxy"), 5432)
    _assert_proven(finding)
    assert "proxy-classic" in _evidence(finding)


def test_a_rule_whose_peer_is_unknown_is_unresolved_not_guessed(stack: Stack) -> None:
    stack.resources["database-proxy-sg-from-workloads"].inputs["referencedSecurityGroupId"] = UNKNOWN
    finding = _ask(stack, API, _resource(stack, "database-proxy"), 5432)
    assert finding.verdict is Verdict.UNRESOLVED
    assert "database-proxy-sg-from-workloads" in finding.reason
    assert "referencedSecurityGroupId" in finding.reason


# -- placement -------------------------------------------------------------------------------------------


def test_placement_follows_subnet_groups_replicas_and_launch_templates(stack: Stack) -> None:
    model = NetworkModel.from_snapshot(stack.snapshot())
    isolated = (stack.urn("network-isolated-1"), stack.urn("network-isolated-2"))
    assert model.place(stack.urn("database")).subnets == isolated
    assert model.place(stack.urn("database-replica-1")).subnets == isolated
    assert model.place(stack.urn("cache")).subnets == isolated
    cluster_sg = f"{stack.urn('cluster')}#cluster-sg"
    assert model.place(stack.urn("cluster")).groups == (stack.urn("cluster-deployer"), cluster_sg)
    assert model.place(stack.urn("cluster-on-demand")).groups == (cluster_sg, stack.urn("network-workloads"))


def test_nodes_get_the_cluster_group_only_when_the_template_names_none(stack: Stack) -> None:
    stack.resources["cluster-nodes"].inputs["vpcSecurityGroupIds"] = [stack.out("network-workloads")]
    model = NetworkModel.from_snapshot(stack.snapshot())
    assert model.place(stack.urn("cluster-on-demand")).groups == (stack.urn("network-workloads"),)

    del stack.resources["cluster-nodes"].inputs["vpcSecurityGroupIds"]
    model = NetworkModel.from_snapshot(stack.snapshot())
    assert model.place(stack.urn("cluster-on-demand")).groups == (f"{stack.urn('cluster')}#cluster-sg",)


# -- routes, internet, endpoints ---------------------------------------------------------------------------


def test_the_internet_reaches_no_data_store_nodes_or_private_api(stack: Stack) -> None:
    for target, port in (("database", 5432), ("database-proxy", 5432), ("cache", 6379), ("cluster", 443)):
        _assert_broken(_ask(stack, Endpoint.internet(), _resource(stack, target), port, any_=True))
    nodes = _ask(stack, Endpoint.internet(), _resource(stack, "cluster-on-demand"), 3000, any_=True)
    _assert_broken(nodes)


def test_an_open_rule_is_not_enough_without_a_public_subnet(stack: Stack) -> None:
    _rule(stack, "database-sg-from-anywhere", "in", "database-sg", 5432, cidrIpv4="0.0.0.0/0")
    stack.resources["database"].inputs["publiclyAccessible"] = True
    finding = _ask(stack, Endpoint.internet(), _resource(stack, "database"), 5432, any_=True)
    _assert_broken(finding, "network-isolated-", "routes", "internet gateway")

    stack.add(
        "aws:rds/subnetGroup:SubnetGroup",
        "public-subnets",
        name="public",
        subnetIds=[stack.out("network-public-1"), stack.out("network-public-2")],
    )
    stack.resources["database"].inputs["dbSubnetGroupName"] = stack.out("public-subnets", "name")
    _assert_proven(_ask(stack, Endpoint.internet(), _resource(stack, "database"), 5432, any_=True))


def test_cloudfront_reaches_the_alb_and_the_internet_does_not(stack: Stack) -> None:
    finding = _ask(stack, Endpoint.cloudfront(), _resource(stack, "alb"), 443)
    _assert_proven(finding)
    assert "alb-sg-cloudfront" in _evidence(finding)
    _assert_broken(
        _ask(stack, Endpoint.internet(), _resource(stack, "alb"), 443, any_=True), "alb-sg", "ingress"
    )

    stack.resources["alb"].inputs["internal"] = True
    _assert_broken(
        _ask(stack, Endpoint.cloudfront(), _resource(stack, "alb"), 443), "alb internal", "internet-facing"
    )


def test_an_aws_managed_list_the_model_cannot_name_leaves_cloudfront_unresolved(stack: Stack) -> None:
    stack.resources["alb-sg-cloudfront"].inputs["prefixListId"] = "pl-4fa04526"
    finding = _ask(stack, Endpoint.cloudfront(), _resource(stack, "alb"), 443)
    assert finding.verdict is Verdict.UNRESOLVED
    assert "alb-sg-cloudfront prefixListId" in finding.reason
    _assert_broken(
        _ask(stack, Endpoint.internet(), _resource(stack, "alb"), 443, any_=True), "alb-sg ingress"
    )


def test_the_alb_reaches_the_app_pods_on_their_port(stack: Stack) -> None:
    finding = _ask(stack, _resource(stack, "alb"), API, 3000)
    _assert_proven(finding)
    assert "api spec.ingress[0]" in _evidence(finding)

    stack.resources["api"].inputs["spec"]["ingress"] = []
    _assert_broken(_ask(stack, _resource(stack, "alb"), API, 3000), "api spec.ingress")


def test_aws_apis_through_an_interface_endpoint_or_nat(stack: Stack) -> None:
    nodes = _resource(stack, "cluster-on-demand")
    finding = _ask(stack, nodes, Endpoint.aws_service("sts"), 443)
    _assert_proven(finding)
    assert "network-sts: private DNS" in _evidence(finding)

    stack.resources["network-sts"].inputs["privateDnsEnabled"] = False
    through_nat = _ask(stack, nodes, Endpoint.aws_service("sts"), 443)
    _assert_proven(through_nat)
    assert "network-nat-1" in _evidence(through_nat)

    del stack.resources["network-private-1-default"]
    _assert_broken(
        _ask(stack, nodes, Endpoint.aws_service("sts"), 443), "network-private-1 routes", "0.0.0.0/0"
    )


def test_s3_through_the_gateway_endpoint_route(stack: Stack) -> None:
    nodes = _resource(stack, "cluster-on-demand")
    del stack.resources["network-private-1-default"]
    finding = _ask(stack, nodes, Endpoint.aws_service("s3"), 443)
    _assert_proven(finding)
    assert "network-s3" in _evidence(finding)

    stack.resources["network-s3"].inputs["routeTableIds"] = [stack.out("rt:network-private-2")]
    _assert_broken(_ask(stack, nodes, Endpoint.aws_service("s3"), 443), "network-private-1 routes")


def test_a_nat_gateway_needs_its_own_route_to_the_internet_gateway(stack: Stack) -> None:
    del stack.resources["network-public-default"]
    finding = _ask(stack, _resource(stack, "cluster-on-demand"), Endpoint.internet(), 443)
    _assert_broken(finding, "network-public routes", "0.0.0.0/0")


def test_the_public_api_endpoint_follows_public_access_cidrs(stack: Stack) -> None:
    cluster = _resource(stack, "cluster")
    _assert_broken(
        _ask(stack, Endpoint.internet(), cluster, 443, any_=True), "cluster vpcConfig.endpointPublicAccess"
    )
    config = stack.resources["cluster"].inputs["vpcConfig"]
    config["endpointPublicAccess"] = True
    config["publicAccessCidrs"] = ["203.0.113.0/24"]
    _assert_proven(_ask(stack, Endpoint.cidr("203.0.113.7/32"), cluster, 443))
    _assert_proven(_ask(stack, Endpoint.internet(), cluster, 443, any_=True))
    _assert_broken(_ask(stack, Endpoint.internet(), cluster, 443), "cluster vpcConfig.publicAccessCidrs")
    _assert_broken(_ask(stack, Endpoint.cidr("198.51.100.0/24"), cluster, 443), "vpcConfig.publicAccessCidrs")


# -- NACLs -----------------------------------------------------------------------------------------------


def _isolated_acl(stack: Stack, egress: list[dict[str, Any]]) -> None:
    stack.add(
        "aws:ec2/networkAcl:NetworkAcl",
        "isolated-acl",
        vpcId=stack.out("network"),
        subnetIds=[stack.out("network-isolated-1"), stack.out("network-isolated-2")],
        ingress=[
            {
                "ruleNo": 100,
                "action": "allow",
                "protocol": "tcp",
                "fromPort": 5432,
                "toPort": 5432,
                "cidrBlock": "10.0.0.0/16",
            },
        ],
        egress=egress,
    )


def test_nacls_are_stateless_so_replies_need_ephemeral_ports(stack: Stack) -> None:
    _isolated_acl(stack, egress=[])
    finding = _ask(stack, API, _resource(stack, "database-proxy"), 5432)
    _assert_broken(finding, "isolated-acl egress", "1024-65535")

    del stack.resources["isolated-acl"]
    _isolated_acl(
        stack,
        egress=[
            {
                "ruleNo": 100,
                "action": "allow",
                "protocol": "tcp",
                "fromPort": 1024,
                "toPort": 65535,
                "cidrBlock": "10.0.0.0/16",
            }
        ],
    )
    finding = _ask(stack, API, _resource(stack, "database-proxy"), 5432)
    _assert_proven(finding)
    assert "isolated-acl rule 100 allows ingress tcp/5432" in _evidence(finding)


def test_nacl_rules_apply_in_number_order(stack: Stack) -> None:
    _isolated_acl(
        stack, egress=[{"ruleNo": 200, "action": "allow", "protocol": "-1", "cidrBlock": "0.0.0.0/0"}]
    )
    stack.resources["isolated-acl"].inputs["ingress"].insert(
        0,
        {
            "ruleNo": 50,
            "action": "deny",
            "protocol": "tcp",
            "fromPort": 5432,
            "toPort": 5432,
            "cidrBlock": "10.0.0.0/18",
        },
    )
    _assert_broken(_ask(stack, API, _resource(stack, "database-proxy"), 5432), "isolated-acl ingress.0", "50")


def test_traffic_inside_one_subnet_crosses_no_nacl(stack: Stack) -> None:
    _isolated_acl(stack, egress=[])
    proxy, database = _resource(stack, "database-proxy"), _resource(stack, "database")
    # Proxy and database share the isolated subnets: from the same subnet no NACL applies, across two it does.
    _assert_proven(_ask(stack, proxy, database, 5432, any_=True))
    _assert_broken(_ask(stack, proxy, database, 5432), "isolated-acl")


def test_a_managed_default_nacl_without_rules_denies_everything(stack: Stack) -> None:
    stack.add(
        "aws:ec2/defaultNetworkAcl:DefaultNetworkAcl",
        "network-default-acl",
        defaultNetworkAclId=stack.out("network"),
    )
    _assert_broken(
        _ask(stack, API, _resource(stack, "database-proxy"), 5432), "network-default-acl", "egress"
    )


# -- Kubernetes NetworkPolicies ----------------------------------------------------------------------------


def test_dropping_the_app_egress_rule_names_the_policy(stack: Stack) -> None:
    del stack.resources["api"].inputs["spec"]["egress"][1]
    finding = _ask(stack, API, _resource(stack, "database-proxy"), 5432)
    _assert_broken(finding, "api spec.egress", "tcp/5432")


def test_policies_bind_only_with_network_policy_enabled_in_vpc_cni(stack: Stack) -> None:
    _assert_broken(_ask(stack, API, Endpoint.pod_identity_agent(), 80), "api spec.egress", "169.254.170.23")

    stack.resources["cluster-vpc-cni"].inputs["configurationValues"] = "{}"
    finding = _ask(stack, API, Endpoint.pod_identity_agent(), 80)
    _assert_proven(finding)
    assert "not enforced" in _evidence(finding)


def test_pod_identity_needs_an_egress_rule_to_the_agent(stack: Stack) -> None:
    stack.resources["api"].inputs["spec"]["egress"].append(
        {"to": [{"ipBlock": {"cidr": "169.254.170.23/32"}}], "ports": [{"protocol": "TCP", "port": 80}]}
    )
    _assert_proven(_ask(stack, API, Endpoint.pod_identity_agent(), 80))


def test_standalone_pods_without_owner_references_are_not_bound(stack: Stack) -> None:
    stack.add(
        "kubernetes:core/v1:Pod",
        "debug",
        metadata={"name": "debug", "namespace": "api", "labels": {"app.kubernetes.io/name": "debug"}},
    )
    debug = Endpoint.pods("api", {"app.kubernetes.io/name": "debug"})
    finding = _ask(stack, debug, Endpoint.pod_identity_agent(), 80)
    _assert_proven(finding)
    assert "no ownerReferences" in _evidence(finding)

    stack.resources["debug"].inputs["metadata"]["ownerReferences"] = [{"kind": "ReplicaSet", "name": "x"}]
    _assert_broken(_ask(stack, debug, Endpoint.pod_identity_agent(), 80), "default-deny spec.egress")


def test_standard_mode_is_named_in_the_evidence_and_strict_mode_is_not(stack: Stack) -> None:
    finding = _ask(stack, API, _resource(stack, "database-proxy"), 5432)
    assert "open until its policies attach" in _evidence(finding)

    stack.resources["cluster-vpc-cni"].inputs["configurationValues"] = json.dumps(
        {"enableNetworkPolicy": "true", "env": {"NETWORK_POLICY_ENFORCING_MODE": "strict"}}
    )
    finding = _ask(stack, API, _resource(stack, "database-proxy"), 5432)
    _assert_proven(finding)
    assert "open until" not in _evidence(finding)


def test_a_selector_takes_at_most_24_port_combinations_per_cidr(stack: Stack) -> None:
    egress = stack.resources["api"].inputs["spec"]["egress"]
    egress[1]["ports"] += [{"protocol": "TCP", "port": 6000 + i} for i in range(23)]
    _assert_proven(_ask(stack, API, _resource(stack, "database-proxy"), 5432))

    egress[1]["ports"].append({"protocol": "UDP", "port": 7000})
    _assert_broken(_ask(stack, API, _resource(stack, "database-proxy"), 5432), "api spec.egress", "25", "24")


def test_dns_egress_selects_kube_dns_by_namespace_and_labels(stack: Stack) -> None:
    kube_dns = Endpoint.pods("kube-system", {"k8s-app": "kube-dns"})
    _assert_proven(_ask(stack, API, kube_dns, 53))
    other = Endpoint.pods("kube-system", {"k8s-app": "metrics-server"})
    _assert_broken(_ask(stack, API, other, 53), "api spec.egress")


def test_security_groups_for_pods_replace_the_node_groups(stack: Stack) -> None:
    stack.add("aws:ec2/securityGroup:SecurityGroup", "api-pods", vpcId=stack.out("network"))
    stack.add(
        "kubernetes:vpcresources.k8s.aws/v1beta1:SecurityGroupPolicy",
        "api-pods-policy",
        metadata={"name": "api-pods", "namespace": "api"},
        spec={
            "podSelector": {"matchLabels": API_LABELS},
            "securityGroups": {"groupIds": [stack.out("api-pods")]},
        },
    )
    finding = _ask(stack, API, _resource(stack, "database-proxy"), 5432)
    _assert_broken(finding, "api-pods egress")

    _rule(
        stack,
        "api-pods-to-proxy",
        "out",
        "api-pods",
        5432,
        referencedSecurityGroupId=stack.out("database-proxy-sg"),
    )
    _assert_broken(
        _ask(stack, API, _resource(stack, "database-proxy"), 5432), "database-proxy-sg ingress", "api"
    )
    _rule(
        stack,
        "proxy-from-api-pods",
        "in",
        "database-proxy-sg",
        5432,
        referencedSecurityGroupId=stack.out("api-pods"),
    )
    _assert_proven(_ask(stack, API, _resource(stack, "database-proxy"), 5432))


def test_pods_of_no_recorded_workload_are_taken_as_controller_made(stack: Stack) -> None:
    # A Helm chart's pods: the namespace's default-deny still binds them.
    stack.add(
        "kubernetes:networking.k8s.io/v1:NetworkPolicy",
        "controllers-default-deny",
        metadata={"name": "default-deny", "namespace": "controllers"},
        spec={"podSelector": {}, "policyTypes": ["Egress"]},
    )
    controller = Endpoint.pods("controllers", {"app.kubernetes.io/name": "external-secrets"})
    _assert_broken(
        _ask(stack, controller, Endpoint.aws_service("sts"), 443), "controllers-default-deny spec.egress"
    )


def test_pod_identity_on_an_ipv6_cluster_uses_the_ipv6_agent_address(stack: Stack) -> None:
    stack.resources["cluster"].inputs["kubernetesNetworkConfig"] = {"ipFamily": "ipv6"}
    stack.resources["api"].inputs["spec"]["egress"].append(
        {"to": [{"ipBlock": {"cidr": "169.254.170.23/32"}}], "ports": [{"protocol": "TCP", "port": 80}]}
    )
    _assert_broken(_ask(stack, API, Endpoint.pod_identity_agent(), 80), "api spec.egress", "fd00:ec2::23")
    stack.resources["api"].inputs["spec"]["egress"][-1]["to"][0]["ipBlock"]["cidr"] = "fd00:ec2::23/128"
    _assert_proven(_ask(stack, API, Endpoint.pod_identity_agent(), 80))


def test_without_a_private_endpoint_nodes_reach_the_api_through_nat(stack: Stack) -> None:
    config = stack.resources["cluster"].inputs["vpcConfig"]
    config.update(endpointPrivateAccess=False, endpointPublicAccess=True)
    nodes, cluster = _resource(stack, "cluster-on-demand"), _resource(stack, "cluster")
    finding = _ask(stack, nodes, cluster, 443)
    _assert_proven(finding)
    assert "network-nat-1" in _evidence(finding)

    config["publicAccessCidrs"] = ["203.0.113.0/24"]
    _assert_broken(_ask(stack, nodes, cluster, 443), "cluster vpcConfig.publicAccessCidrs", "via NAT")


# -- instance metadata -------------------------------------------------------------------------------------


def test_imds_is_stopped_by_the_policy_and_the_hop_limit(stack: Stack) -> None:
    blocked = _ask(stack, API, Endpoint.imds(), 80, any_=True)
    _assert_broken(blocked, "api spec.egress", "169.254.169.254")
    assert "httpPutResponseHopLimit: 2 hops" in _evidence(blocked)

    stack.resources["cluster-vpc-cni"].inputs["configurationValues"] = "{}"
    _assert_proven(_ask(stack, API, Endpoint.imds(), 80, any_=True))

    stack.resources["cluster-nodes"].inputs["metadataOptions"]["httpPutResponseHopLimit"] = 1
    finding = _ask(stack, API, Endpoint.imds(), 80, any_=True)
    _assert_broken(finding, "cluster-nodes metadataOptions.httpPutResponseHopLimit")


def test_imdsv1_answers_containers_whatever_the_hop_limit(stack: Stack) -> None:
    stack.resources["cluster-vpc-cni"].inputs["configurationValues"] = "{}"
    options = stack.resources["cluster-nodes"].inputs["metadataOptions"]
    options.update(httpTokens="optional", httpPutResponseHopLimit=1)
    _assert_proven(_ask(stack, API, Endpoint.imds(), 80, any_=True))


# -- property: security group reachability against a brute-force oracle -----------------------------------

_SUBNETS = ("10.0.0.0/24", "10.0.1.0/24")
_PORTS = (443, 5432)
_CIDRS = ("10.0.0.0/16", "10.0.0.0/24", "10.0.1.0/24", "192.168.0.0/16")


@st.composite
def security_group_graphs(draw: st.DrawFn) -> dict[str, Any]:
    groups = draw(st.integers(2, 4))
    peer = st.one_of(
        st.tuples(st.just("group"), st.integers(0, groups - 1)),
        st.tuples(st.just("cidr"), st.sampled_from(_CIDRS)),
    )
    rule = st.tuples(
        st.sampled_from(("in", "out")), st.integers(0, groups - 1), st.sampled_from(_PORTS), peer
    )
    member = st.tuples(st.frozensets(st.integers(0, groups - 1), min_size=1), st.integers(0, 1))
    return {
        "groups": groups,
        "rules": draw(st.lists(rule, max_size=8)),
        "things": draw(st.lists(member, min_size=2, max_size=3)),
    }


def _graph_stack(graph: dict[str, Any]) -> Stack:
    s = Stack()
    s.add("aws:ec2/vpc:Vpc", "vpc", cidrBlock="10.0.0.0/16")
    for index, block in enumerate(_SUBNETS):
        s.add("aws:ec2/subnet:Subnet", f"subnet-{index}", vpcId=s.out("vpc"), cidrBlock=block)
    for index in range(graph["groups"]):
        s.add("aws:ec2/securityGroup:SecurityGroup", f"sg-{index}", vpcId=s.out("vpc"))
    for index, (direction, group, port, (kind, value)) in enumerate(graph["rules"]):
        peer = {"referencedSecurityGroupId": s.out(f"sg-{value}")} if kind == "group" else {"cidrIpv4": value}
        _rule(s, f"rule-{index}", direction, f"sg-{group}", port, **peer)
    for index, (members, subnet) in enumerate(graph["things"]):
        s.add(
            "aws:ec2/vpcEndpoint:VpcEndpoint",
            f"thing-{index}",
            vpcEndpointType="Interface",
            securityGroupIds=[s.out(f"sg-{g}") for g in sorted(members)],
            subnetIds=[s.out(f"subnet-{subnet}")],
        )
    return s


def _oracle(graph: dict[str, Any], source: int, target: int, port: int) -> bool:
    """Some source group allows it out and some target group allows it in (peers by group or by CIDR)."""
    source_groups, source_subnet = graph["things"][source]
    target_groups, target_subnet = graph["things"][target]

    def allows(direction: str, groups: frozenset[int], peer_groups: frozenset[int], peer_subnet: int) -> bool:
        for rule_direction, group, rule_port, (kind, value) in graph["rules"]:
            if rule_direction != direction or group not in groups or rule_port != port:
                continue
            if kind == "group" and value in peer_groups:
                return True
            if kind == "cidr" and ip_network(_SUBNETS[peer_subnet]).subnet_of(ip_network(value)):  # type: ignore[arg-type]
                return True
        return False

    return allows("out", source_groups, target_groups, target_subnet) and allows(
        "in", target_groups, source_groups, source_subnet
    )


@settings(max_examples=100, derandomize=True, deadline=None)
@given(graph=security_group_graphs(), port=st.sampled_from(_PORTS))
def test_reach_matches_a_brute_force_oracle(graph: dict[str, Any], port: int) -> None:
    stack = _graph_stack(graph)
    model = NetworkModel.from_snapshot(stack.snapshot())
    for source in range(len(graph["things"])):
        for target in range(len(graph["things"])):
            if source == target:
                continue
            finding = model.reach(
                Endpoint.resource(stack.urn(f"thing-{source}")),
                Endpoint.resource(stack.urn(f"thing-{target}")),
                port,
            )
            assert finding.verdict in (Verdict.PROVEN, Verdict.BROKEN), finding
            assert finding.proven == _oracle(graph, source, target, port), (
                finding.reason,
                _evidence(finding),
            )


# -- the shipped prod stack, and the prod preview from before #7 -------------------------------------------

PREVIEWS = Path(__file__).parent / "fixtures" / "previews"


@pytest.fixture(scope="module")
def prod_network(shipped_snapshots: Callable[[str], Snapshot]) -> tuple[Snapshot, NetworkModel]:
    snapshot = shipped_snapshots("prod")
    return snapshot, NetworkModel.from_snapshot(snapshot)


def _named(snapshot: Snapshot, name: str, type_: str) -> Endpoint:
    return Endpoint.resource(next(r.urn for r in snapshot.of_type(type_) if r.name == name))


def _runner(snapshot: Snapshot) -> Endpoint:
    return Endpoint.security_group(snapshot.config["paved:cluster"]["deployer"]["securityGroupIds"][0])


def _app_pods(app: dict[str, Any]) -> Endpoint:
    return Endpoint.pods(app["name"], {"app.kubernetes.io/name": app["name"]})


CLUSTER = "aws:eks/cluster:Cluster"
NODES = "aws:eks/nodeGroup:NodeGroup"


def test_prod_runner_reaches_the_api_through_the_deployer_group(prod_network: tuple[Snapshot, NetworkModel]):
    snapshot, model = prod_network
    finding = model.reach(_runner(snapshot), _named(snapshot, "cluster", CLUSTER), 443)
    _assert_proven(finding)
    assert "sg-rule cluster-deployer-from-sg-" in _evidence(finding)


def test_prod_runner_path_breaks_at_the_deployer_rule_when_it_is_dropped(
    shipped_snapshots: Callable[[str], Snapshot],
):
    snapshot = shipped_snapshots("prod")
    rule = next(r for r in snapshot if r.name.startswith("cluster-deployer-from-"))
    del snapshot.resources[rule.urn]
    finding = NetworkModel.from_snapshot(snapshot).reach(
        _runner(snapshot), _named(snapshot, "cluster", CLUSTER), 443
    )
    _assert_broken(finding, "cluster-deployer", "ingress", "tcp/443")


def test_prod_internet_reaches_no_data_store_node_or_kubernetes_api(
    prod_network: tuple[Snapshot, NetworkModel],
):
    snapshot, model = prod_network
    targets = [
        (_named(snapshot, "database", "aws:rds/instance:Instance"), 5432),
        (_named(snapshot, "database-replica-1", "aws:rds/instance:Instance"), 5432),
        (_named(snapshot, "database-proxy", "aws:rds/proxy:Proxy"), 5432),
        (_named(snapshot, "cache", "aws:elasticache/replicationGroup:ReplicationGroup"), 6379),
        (_named(snapshot, "cluster", CLUSTER), 443),
        *(
            (_named(snapshot, "cluster-on-demand", NODES), app["port"])
            for app in snapshot.config["paved:apps"]
        ),
    ]
    for target, port in targets:
        _assert_broken(model.reach_any(Endpoint.internet(), target, port))


def test_prod_required_network_paths_are_proven(prod_network: tuple[Snapshot, NetworkModel]):
    snapshot, model = prod_network
    nodes = _named(snapshot, "cluster-on-demand", NODES)
    alb = _named(snapshot, "alb", "aws:lb/loadBalancer:LoadBalancer")
    proxy = _named(snapshot, "database-proxy", "aws:rds/proxy:Proxy")
    cache = _named(snapshot, "cache", "aws:elasticache/replicationGroup:ReplicationGroup")
    paths = [
        (Endpoint.cloudfront(), alb, 443),
        (proxy, _named(snapshot, "database", "aws:rds/instance:Instance"), 5432),
        *((nodes, Endpoint.aws_service(name), 443) for name in ("sts", "ecr.api", "ecr.dkr", "s3", "logs")),
    ]
    for app in snapshot.config["paved:apps"]:
        paths += [(_app_pods(app), proxy, 5432), (_app_pods(app), cache, 6379)]
        if app.get("publicPath") or app.get("host"):
            paths.append((alb, _app_pods(app), app["port"]))
    for source, target, port in paths:
        _assert_proven(model.reach(source, target, port))


def test_prod_app_pods_do_not_reach_instance_metadata(prod_network: tuple[Snapshot, NetworkModel]):
    snapshot, model = prod_network
    for app in snapshot.config["paved:apps"]:
        finding = model.reach_any(_app_pods(app), Endpoint.imds(), 80)
        _assert_broken(finding, f"{app['name']} spec.egress", "169.254.169.254")


@pytest.mark.parametrize("fixture", ["c78210d-prod.json", "c78210d-prod-no-lineage.json"])
def test_the_prod_preview_before_7_leaves_the_runner_outside_the_api(fixture: str):
    snapshot = Snapshot.from_preview(json.loads((PREVIEWS / fixture).read_text()))
    runner = Endpoint.security_group("sg-0123456789abcdef0")
    finding = NetworkModel.from_snapshot(snapshot).reach(runner, _named(snapshot, "cluster", CLUSTER), 443)
    if fixture == "c78210d-prod.json":
        _assert_broken(finding, "cluster cluster security group ingress", "tcp/443")
    else:
        # Without lineage the cluster's subnets stay unresolved: reported, never guessed.
        assert finding.verdict is Verdict.UNRESOLVED
        assert "cluster vpcConfig.subnetIds" in finding.reason


def test_staging_public_api_admits_only_its_public_access_cidrs(shipped_snapshots: Callable[[str], Snapshot]):
    snapshot = shipped_snapshots("staging")
    model = NetworkModel.from_snapshot(snapshot)
    cluster = _named(snapshot, "cluster", CLUSTER)
    office = snapshot.config["paved:cluster"]["publicAccessCidrs"][0]
    _assert_proven(model.reach(Endpoint.cidr(office), cluster, 443))
    _assert_broken(model.reach(Endpoint.internet(), cluster, 443), "cluster vpcConfig.publicAccessCidrs")
    _assert_broken(
        model.reach_any(Endpoint.internet(), _named(snapshot, "database", "aws:rds/instance:Instance"), 5432)
    )
