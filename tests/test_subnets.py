from collections.abc import Iterator
from ipaddress import IPv4Address, IPv4Network, ip_network
from itertools import combinations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from components.subnets import SubnetPlan, plan_subnets


def _net(cidr: str) -> IPv4Network:
    network = ip_network(cidr)
    assert isinstance(network, IPv4Network)
    return network


def _all_subnets(plan: SubnetPlan) -> Iterator[IPv4Network]:
    for zone in plan.zones:
        yield from (_net(zone.public), _net(zone.private), _net(zone.isolated))


def _check_plan(plan: SubnetPlan, cidr: str, az_count: int) -> None:
    vpc = _net(cidr)
    subnets = list(_all_subnets(plan))
    assert plan.vpc_cidr == cidr
    assert len(plan.zones) == az_count
    assert all(subnet.subnet_of(vpc) for subnet in subnets)
    assert not [pair for pair in combinations(subnets, 2) if pair[0].overlaps(pair[1])]
    for tier in (plan.public, plan.private, plan.isolated):
        assert len({_net(c).num_addresses for c in tier}) == 1, "every AZ gets the same size per tier"
    private = _net(plan.private[0]).num_addresses
    assert private >= 8 * _net(plan.public[0]).num_addresses
    assert private >= 8 * _net(plan.isolated[0]).num_addresses
    assert all(_net(c).prefixlen <= 28 for c in (*plan.public, *plan.isolated))


@pytest.mark.parametrize("cidr", ["10.0.0.0/16", "10.1.0.0/18", "172.16.64.0/20", "192.168.240.0/20"])
@pytest.mark.parametrize("az_count", [2, 3])
def test_plan_is_valid_for_supported_sizes(cidr: str, az_count: int) -> None:
    _check_plan(plan_subnets(cidr, az_count), cidr, az_count)


def test_sixteen_layout() -> None:
    plan = plan_subnets("10.0.0.0/16", 3)
    assert plan.private == ("10.0.0.0/18", "10.0.64.0/18", "10.0.128.0/18")
    assert plan.public == ("10.0.192.0/21", "10.0.200.0/21", "10.0.208.0/21")
    assert plan.isolated == ("10.0.224.0/21", "10.0.232.0/21", "10.0.240.0/21")


def test_twenty_sizes() -> None:
    plan = plan_subnets("10.2.0.0/20", 3)
    assert {_net(c).prefixlen for c in plan.private} == {22}
    assert {_net(c).prefixlen for c in (*plan.public, *plan.isolated)} == {25}


def test_adding_an_az_keeps_existing_subnets() -> None:
    two, three = plan_subnets("10.0.0.0/16", 2), plan_subnets("10.0.0.0/16", 3)
    assert three.zones[:2] == two.zones


def test_deterministic() -> None:
    assert plan_subnets("10.9.0.0/18", 3) == plan_subnets("10.9.0.0/18", 3)


@pytest.mark.parametrize(
    ("cidr", "az_count", "message"),
    [
        ("10.0.0.0/24", 2, "too small"),
        ("10.0.0.0/15", 2, "larger than /16"),
        ("10.0.0.1/16", 2, "not a network CIDR"),
        ("not-a-cidr", 2, "not a network CIDR"),
        ("fd00::/56", 2, "not an IPv4 network"),
        ("10.0.0.0/16", 0, "az_count"),
        ("10.0.0.0/16", 4, "az_count"),
    ],
)
def test_rejects_what_cannot_fit(cidr: str, az_count: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        plan_subnets(cidr, az_count)


@st.composite
def vpc_cidrs(draw: st.DrawFn) -> str:
    prefix = draw(st.integers(min_value=16, max_value=23))
    address = draw(st.integers(min_value=0, max_value=2**32 - 1))
    return str(IPv4Network((IPv4Address(address), prefix), strict=False))


@given(cidr=vpc_cidrs(), az_count=st.integers(min_value=1, max_value=3))
def test_any_valid_cidr_gives_a_valid_plan(cidr: str, az_count: int) -> None:
    _check_plan(plan_subnets(cidr, az_count), cidr, az_count)
