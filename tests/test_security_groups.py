"""The data stores' security groups (components/security_groups.py), run per stack under first-preview
semantics.
"""

from __future__ import annotations

import pytest

from paved.recorder import Recording
from tests.data_tier import (
    EGRESS,
    INGRESS,
    SECURITY_GROUP,
    STACKS,
    recording_of,
    rules_of,
)


@pytest.mark.parametrize("stack", STACKS)
def test_data_tier_ingress_comes_from_security_groups_only(
    stack: str, request: pytest.FixtureRequest
) -> None:
    recording = recording_of(request, stack)
    # The load balancer's own ingress (from CloudFront or viewer CIDRs) is tested in tests/test_edge.py, the
    # EKS API's (from the deployer named in config) in tests/test_cluster.py.
    others = ("network-endpoints", "alb-sg-", "cluster-deployer-")
    rules = [r for r in recording.of_type(INGRESS) if not r.name.startswith(others)]
    assert rules
    for rule in rules:
        assert "referencedSecurityGroupId" in rule.inputs, rule.name
        assert rule.property_dependencies["referencedSecurityGroupId"], rule.name
        assert not {"cidrIpv4", "cidrIpv6", "prefixListId"} & set(rule.inputs), rule.name
        assert rule.inputs["ipProtocol"] == "tcp"


@pytest.mark.parametrize(
    ("stack", "group", "port", "sources"),
    [
        ("prod", "database-sg", 5432, {"network-workloads", "database-proxy-sg"}),
        ("prod", "database-proxy-sg", 5432, {"network-workloads"}),
        ("prod", "cache-sg", 6379, {"network-workloads"}),
        ("staging", "database-sg", 5432, {"network-workloads"}),
        ("staging", "cache-sg", 6379, {"network-workloads"}),
    ],
)
def test_data_tier_groups_admit_one_port_from_named_groups(
    stack: str, group: str, port: int, sources: set[str], request: pytest.FixtureRequest
) -> None:
    recording = recording_of(request, stack)
    by_urn = recording.by_urn()
    rules = rules_of(recording, INGRESS, group)
    assert {(r.inputs["fromPort"], r.inputs["toPort"]) for r in rules} == {(port, port)}
    peers = {by_urn[r.property_dependencies["referencedSecurityGroupId"][0]].name for r in rules}
    assert peers == sources


def test_only_the_proxy_has_egress_and_only_to_the_database(prod: Recording) -> None:
    assert rules_of(prod, EGRESS, "database-sg") == [] and rules_of(prod, EGRESS, "cache-sg") == []
    [egress] = rules_of(prod, EGRESS, "database-proxy-sg")
    assert (egress.inputs["fromPort"], egress.inputs["toPort"]) == (5432, 5432)
    assert egress.property_dependencies["referencedSecurityGroupId"] == [
        prod.one(SECURITY_GROUP, "database-sg").urn
    ]
