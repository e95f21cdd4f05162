"""Subnet math for the VPC: which CIDR each tier gets in each Availability Zone.

The VPC is cut into four equal quarters. Each AZ's private subnet (apps and EKS nodes) is a whole quarter,
because with the VPC CNI every pod takes a VPC IP. The last quarter is cut into eight blocks: public subnets
(load balancers, NAT gateways) take the first four, isolated subnets (databases, caches) the last four.
Every AZ keeps its slot whatever `az_count` is, so going from 2 to 3 AZs adds subnets without moving any.
"""

from dataclasses import dataclass
from ipaddress import IPv4Network, ip_network

MAX_AZS = 3
# Quarters of the VPC: one private subnet per AZ plus one quarter shared by the small tiers.
_PRIVATE_PREFIX_DELTA = 2
# Eighths of the shared quarter: four public slots, then four isolated slots.
_SMALL_PREFIX_DELTA = _PRIVATE_PREFIX_DELTA + 3
_SMALL_SLOTS_PER_TIER = 4
# AWS accepts VPC CIDR blocks from /16 to /28 and subnets no smaller than /28:
# https://docs.aws.amazon.com/vpc/latest/userguide/vpc-cidr-blocks.html
_LARGEST_VPC_PREFIX = 16
_SMALLEST_SUBNET_PREFIX = 28


@dataclass(frozen=True)
class ZoneSubnets:
    """The CIDR blocks of one Availability Zone, one per tier."""

    public: str
    private: str
    isolated: str


@dataclass(frozen=True)
class SubnetPlan:
    """The VPC CIDR and, per AZ in order, the CIDRs of its public, private and isolated subnets."""

    vpc_cidr: str
    zones: tuple[ZoneSubnets, ...]

    @property
    def public(self) -> tuple[str, ...]:
        return tuple(zone.public for zone in self.zones)

    @property
    def private(self) -> tuple[str, ...]:
        return tuple(zone.private for zone in self.zones)

    @property
    def isolated(self) -> tuple[str, ...]:
        return tuple(zone.isolated for zone in self.zones)


def _parse_vpc(cidr: str) -> IPv4Network:
    try:
        network = ip_network(cidr)  # strict: host bits must be zero
    except ValueError as error:
        raise ValueError(f"{cidr!r} is not a network CIDR block: {error}") from None
    if not isinstance(network, IPv4Network):
        raise ValueError(f"{cidr} is not an IPv4 network; the VPC's primary CIDR block must be IPv4")
    if network.prefixlen < _LARGEST_VPC_PREFIX:
        raise ValueError(f"{cidr} is larger than /{_LARGEST_VPC_PREFIX}, the largest VPC CIDR AWS allows")
    if network.prefixlen + _SMALL_PREFIX_DELTA > _SMALLEST_SUBNET_PREFIX:
        largest = _SMALLEST_SUBNET_PREFIX - _SMALL_PREFIX_DELTA
        raise ValueError(
            f"{cidr} is too small: public and isolated subnets would be smaller than "
            f"/{_SMALLEST_SUBNET_PREFIX}, the smallest subnet AWS allows; use /{largest} or larger"
        )
    return network


def plan_subnets(cidr: str, az_count: int) -> SubnetPlan:
    """Carve `cidr` into per-AZ public, private and isolated subnets; ValueError if it cannot be done."""
    if not 1 <= az_count <= MAX_AZS:
        raise ValueError(f"az_count must be between 1 and {MAX_AZS}, got {az_count}")
    vpc = _parse_vpc(cidr)
    *private_slots, shared = vpc.subnets(prefixlen_diff=_PRIVATE_PREFIX_DELTA)
    small_slots = list(shared.subnets(new_prefix=vpc.prefixlen + _SMALL_PREFIX_DELTA))
    public_slots, isolated_slots = small_slots[:_SMALL_SLOTS_PER_TIER], small_slots[_SMALL_SLOTS_PER_TIER:]
    slots = zip(public_slots, private_slots, isolated_slots, strict=False)
    zones = tuple(ZoneSubnets(*map(str, zone)) for zone in list(slots)[:az_count])
    return SubnetPlan(vpc_cidr=str(vpc), zones=zones)
