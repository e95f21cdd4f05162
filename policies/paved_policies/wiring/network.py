"""The network graph of a preview, and whether one endpoint can open a connection to another.

`NetworkModel.from_snapshot(snapshot).reach(source, target, port)` answers with a `Finding` whose hops are the
evidence chain (NetworkPolicy egress → security group egress → route → NACLs → security group ingress →
NetworkPolicy ingress). `reach` asks whether *every* placement of the source reaches *every* placement of the
target (required flows: a pod may land on any node, a database may fail over to any of its subnets);
`reach_any` asks whether *some* placement does (forbidden flows).

The rules, with their sources:
- Security groups are stateful, allow-only, and an ENI's groups are OR-ed: a connection passes when some group
  of the source allows it out and some group of the target allows it in; the reply is always let back.
  https://docs.aws.amazon.com/vpc/latest/userguide/vpc-security-groups.html
- A security group created by the AWS provider has no egress rule unless one is declared: the provider revokes
  the allow-all egress rule EC2 adds to a new group
  (https://github.com/hashicorp/terraform-provider-aws/blob/main/internal/service/ec2/vpc_security_group.go).
- The EKS cluster security group (not a stack resource) admits all traffic from itself and allows all egress.
  https://docs.aws.amazon.com/eks/latest/userguide/sec-group-reqs.html
- NACLs are stateless: rules are read in rule-number order, the first match decides, and the reply needs the
  ephemeral ports 1024-65535 the other way. Traffic within one subnet never crosses a NACL. A subnet with no
  NACL of the stack uses the VPC's default NACL, which allows everything.
  https://docs.aws.amazon.com/vpc/latest/userguide/vpc-network-acls.html
- Reaching the internet takes a route to an internet gateway and a public address, or a route to a NAT gateway
  whose own subnet routes to the internet gateway; being reached from it takes a public subnet (a route to the
  internet gateway) and an internet-facing load balancer or public address.
  https://docs.aws.amazon.com/vpc/latest/userguide/VPC_Internet_Gateway.html
- Interface VPC endpoints with private DNS take the service's regional name; gateway endpoints (S3, DynamoDB)
  add routes to the route tables they list. https://docs.aws.amazon.com/vpc/latest/privatelink/privatelink-access-aws-services.html
- Managed nodes take the launch template's security groups; EKS adds the cluster security group only when the
  template names none. https://docs.aws.amazon.com/eks/latest/userguide/launch-templates.html
- The EKS API: the private endpoint sits in the cluster subnets behind the cluster security group and
  `vpcConfig.securityGroupIds`; the public endpoint admits `publicAccessCidrs` (0.0.0.0/0 when unset) and no
  security group applies to it; unset, the public endpoint is on and the private one off.
  https://docs.aws.amazon.com/eks/latest/userguide/cluster-endpoint.html,
  https://docs.aws.amazon.com/eks/latest/APIReference/API_VpcConfigRequest.html
- Pods use their node's security groups, unless a SecurityGroupPolicy gives them their own
  (https://docs.aws.amazon.com/eks/latest/userguide/security-groups-for-pods.html). Kubernetes
  NetworkPolicies bind only when vpc-cni runs with `enableNetworkPolicy`, only pods that have ownerReferences,
  at most 24 port/protocol combinations per CIDR, and in standard mode a new pod is open until its policies
  attach. https://docs.aws.amazon.com/eks/latest/userguide/cni-network-policy.html,
  https://docs.aws.amazon.com/eks/latest/userguide/cni-network-policy-configure.html
- EKS Pod Identity credentials come from the node-local agent at 169.254.170.23:80 ([fd00:ec2::23] on IPv6).
  https://docs.aws.amazon.com/eks/latest/userguide/pod-id-agent-setup.html
- Instance metadata (169.254.169.254) answers a container when IMDSv1 is allowed or the IMDSv2 hop limit is
  above 1. https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/configuring-instance-metadata-options.html
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from ipaddress import IPv4Network, IPv6Network, ip_network
from typing import Any

from paved_policies.wiring.placeholders import managed_prefix_list_id
from paved_policies.wiring.snapshot import Resource, Snapshot, is_unknown, reveal
from paved_policies.wiring.verdicts import Finding, Hop, Verdict, combine

IpNetwork = IPv4Network | IPv6Network

SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
DEFAULT_SECURITY_GROUP = "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"
INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS_RULE = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
GROUP_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
SUBNET = "aws:ec2/subnet:Subnet"
VPC = "aws:ec2/vpc:Vpc"
ROUTE_TABLE = "aws:ec2/routeTable:RouteTable"
DEFAULT_ROUTE_TABLE = "aws:ec2/defaultRouteTable:DefaultRouteTable"
ROUTE = "aws:ec2/route:Route"
ROUTE_TABLE_ASSOCIATION = "aws:ec2/routeTableAssociation:RouteTableAssociation"
MAIN_ROUTE_TABLE_ASSOCIATION = "aws:ec2/mainRouteTableAssociation:MainRouteTableAssociation"
INTERNET_GATEWAY = "aws:ec2/internetGateway:InternetGateway"
NAT_GATEWAY = "aws:ec2/natGateway:NatGateway"
VPC_ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"
ENDPOINT_ROUTE_TABLE_ASSOCIATION = "aws:ec2/vpcEndpointRouteTableAssociation:VpcEndpointRouteTableAssociation"
NETWORK_ACL = "aws:ec2/networkAcl:NetworkAcl"
DEFAULT_NETWORK_ACL = "aws:ec2/defaultNetworkAcl:DefaultNetworkAcl"
NETWORK_ACL_RULE = "aws:ec2/networkAclRule:NetworkAclRule"
NETWORK_ACL_ASSOCIATION = "aws:ec2/networkAclAssociation:NetworkAclAssociation"
MANAGED_PREFIX_LIST = "aws:ec2/managedPrefixList:ManagedPrefixList"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
RDS_INSTANCE = "aws:rds/instance:Instance"
RDS_SUBNET_GROUP = "aws:rds/subnetGroup:SubnetGroup"
RDS_PROXY = "aws:rds/proxy:Proxy"
REPLICATION_GROUP = "aws:elasticache/replicationGroup:ReplicationGroup"
CACHE_SUBNET_GROUP = "aws:elasticache/subnetGroup:SubnetGroup"
EKS_CLUSTER = "aws:eks/cluster:Cluster"
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
EKS_ADDON = "aws:eks/addon:Addon"
LOAD_BALANCER = "aws:lb/loadBalancer:LoadBalancer"
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
NAMESPACE = "kubernetes:core/v1:Namespace"
SECURITY_GROUP_POLICY = "kubernetes:vpcresources.k8s.aws/v1beta1:SecurityGroupPolicy"
# Kinds whose pods carry ownerReferences to their controller.
CONTROLLED_WORKLOADS = (
    "kubernetes:apps/v1:Deployment",
    "kubernetes:apps/v1:StatefulSet",
    "kubernetes:apps/v1:DaemonSet",
    "kubernetes:apps/v1:ReplicaSet",
    "kubernetes:batch/v1:Job",
    "kubernetes:batch/v1:CronJob",
)
POD = "kubernetes:core/v1:Pod"

ANYWHERE = ip_network("0.0.0.0/0")
ANYWHERE_V6 = ip_network("::/0")
EPHEMERAL_PORTS = (1024, 65535)
KUBERNETES_API_PORT = 443
HTTPS_PORT = 443
IMDS_ADDRESS = ip_network("169.254.169.254/32")
POD_IDENTITY_ADDRESS = ip_network("169.254.170.23/32")
POD_IDENTITY_ADDRESS_V6 = ip_network("fd00:ec2::23/128")
POD_IDENTITY_PORT = 80
IMDS_PORT = 80
# Unique port/protocol combinations the VPC CNI's network policy agent takes per CIDR.
MAX_PORT_COMBINATIONS = 24
CLOUDFRONT_PREFIX_LIST = "com.amazonaws.global.cloudfront.origin-facing"
_GATEWAY_SERVICES = ("s3", "dynamodb")


# ---------------------------------------------------------------------------------------------------------
# Endpoints
# ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Endpoint:
    """One end of a connection; build it with the classmethods."""

    kind: str
    value: str = ""
    labels: tuple[tuple[str, str], ...] = ()

    @classmethod
    def resource(cls, urn: str) -> Endpoint:
        """An AWS resource with network interfaces: RDS instance or proxy, ElastiCache replication group, EKS
        cluster (its control plane), EKS node group, load balancer, VPC endpoint."""
        return cls("resource", urn)

    @classmethod
    def pods(cls, namespace: str, labels: Mapping[str, str]) -> Endpoint:
        return cls("pods", namespace, tuple(sorted(labels.items())))

    @classmethod
    def internet(cls) -> Endpoint:
        return cls("internet")

    @classmethod
    def cidr(cls, cidr: str) -> Endpoint:
        return cls("cidr", str(ip_network(cidr, strict=False)))

    @classmethod
    def security_group(cls, sg_id: str) -> Endpoint:
        """Something in the VPC that carries a security group the stack does not create (a runner)."""
        return cls("security-group", sg_id)

    @classmethod
    def cloudfront(cls) -> Endpoint:
        return cls("cloudfront")

    @classmethod
    def aws_service(cls, name: str) -> Endpoint:
        """An AWS API by its endpoint service name: sts, ecr.api, ecr.dkr, s3, eks-auth, logs..."""
        return cls("aws-service", name)

    @classmethod
    def imds(cls) -> Endpoint:
        return cls("imds")

    @classmethod
    def pod_identity_agent(cls) -> Endpoint:
        return cls("pod-identity-agent")

    def __str__(self) -> str:
        if self.kind == "pods":
            selector = ",".join(f"{k}={v}" for k, v in self.labels)
            return f"pods {self.value}/{selector}"
        if self.kind == "resource":
            return self.value.rsplit("::", 1)[-1]
        return f"{self.kind} {self.value}".strip()


# ---------------------------------------------------------------------------------------------------------
# Small value helpers
# ---------------------------------------------------------------------------------------------------------


class Quantifier(Enum):
    """`ALL`: every address of a range must pass (required flows); `ANY`: one is enough (forbidden flows)."""

    ALL = "all"
    ANY = "any"


def _network(value: Any) -> IpNetwork | None:
    try:
        return ip_network(str(value), strict=False)
    except ValueError:
        return None


# Never routed on the internet: RFC 1918, RFC 6598 shared space, link-local, loopback, IPv6 ULA, link-local.
_NON_INTERNET = tuple(
    ip_network(block)
    for block in (
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "100.64.0.0/10",
        "169.254.0.0/16",
        "127.0.0.0/8",
        "fc00::/7",
        "fe80::/10",
        "::1/128",
    )
)


def _is_public(network: IpNetwork) -> bool:
    """Whether a range holds internet addresses (0.0.0.0/0 does; 10.0.0.0/8 does not)."""
    return not any(
        network.version == block.version and network.subnet_of(block)  # type: ignore[arg-type]
        for block in _NON_INTERNET
    )


def _covers(rule: IpNetwork, peer: IpNetwork, quantifier: Quantifier) -> bool:
    if rule.version != peer.version:
        return False
    if quantifier is Quantifier.ALL:
        return peer.subnet_of(rule)  # type: ignore[arg-type]
    if peer in (ANYWHERE, ANYWHERE_V6):
        # "Some internet address": a rule for private space alone does not let the internet in.
        return _is_public(rule) or rule.prefixlen == 0
    return rule.overlaps(peer)  # type: ignore[arg-type]


def _protocol(value: Any) -> str:
    text = str(value if value is not None else "-1").lower()
    return {"-1": "all", "6": "tcp", "17": "udp", "1": "icmp", "58": "icmpv6"}.get(text, text)


def _port(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _ports_cover(
    low: int, high: int, wanted: tuple[int, int], quantifier: Quantifier = Quantifier.ALL
) -> bool:
    if quantifier is Quantifier.ALL:
        return low <= wanted[0] and wanted[1] <= high
    return low <= wanted[1] and wanted[0] <= high


def _as_list(value: Any) -> list[Any]:
    value = reveal(value)
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def _name(urn: str) -> str:
    return urn.rsplit("::", 1)[-1]


def _broken(hop: Hop, reason: str, hops: Sequence[Hop] = ()) -> Finding:
    return Finding(Verdict.BROKEN, (*hops, hop), reason)


def _unresolved(urn: str, prop: str, hops: Sequence[Hop] = ()) -> Finding:
    hop = Hop("unresolved", f"{_name(urn)}.{prop} could not be traced to a resource output", urn, prop)
    return Finding(Verdict.UNRESOLVED, (*hops, hop), f"{_name(urn)} {prop}: unresolved in the preview")


def _proven(hops: Sequence[Hop]) -> Finding:
    return Finding(Verdict.PROVEN, tuple(hops))


# ---------------------------------------------------------------------------------------------------------
# The graph's parts
# ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SgRule:
    """One direction of one security group rule toward one peer."""

    group: str  # key of the group it belongs to
    direction: str  # "ingress" | "egress"
    protocol: str
    ports: tuple[int, int]
    peer_kind: str  # "group" | "cidr" | "prefix-list" | "unknown"
    peer: str
    name: str  # the rule resource's name, or "<group> ingress[0]" for inline rules
    urn: str
    property: str

    def admits_protocol(self, protocol: str, port: int) -> bool:
        if self.protocol == "all":
            return True
        return self.protocol == protocol and _ports_cover(*self.ports, (port, port))


@dataclass(frozen=True)
class Subnet:
    urn: str
    name: str
    cidr: IpNetwork | None
    vpc: str | None
    public_ip_on_launch: bool


@dataclass(frozen=True)
class Route:
    destination: IpNetwork | None
    prefix_list: str | None
    target_kind: str  # "igw" | "nat" | "endpoint" | "other"
    target: str  # urn or literal id
    name: str
    urn: str
    property: str


@dataclass(frozen=True)
class NaclRule:
    number: int
    egress: bool
    allow: bool
    protocol: str
    ports: tuple[int, int]
    cidr: IpNetwork | None
    urn: str
    property: str


@dataclass(frozen=True)
class Nacl:
    urn: str
    name: str
    rules: tuple[NaclRule, ...]


@dataclass(frozen=True)
class Place:
    """Where network interfaces of one thing sit: their security groups and subnets."""

    name: str
    urn: str | None
    groups: tuple[str, ...]
    subnets: tuple[str, ...]
    # Evidence of how the groups and subnets were found (e.g. "database: dbSubnetGroupName → database").
    hops: tuple[Hop, ...] = ()
    public_address: bool = False
    internet_facing: bool = False
    # Inputs that could not be resolved (urn, property): the place may be incomplete.
    gaps: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Peer:
    """How a security group rule, NACL or route sees the other end of a connection."""

    name: str
    groups: frozenset[str] | None  # None: the peer's groups are unknown to the stack (internet, a CIDR)
    network: IpNetwork
    prefix_lists: frozenset[str] = frozenset()


@dataclass(frozen=True)
class PodSet:
    namespace: str
    labels: Mapping[str, str]
    namespace_labels: Mapping[str, str]
    owned: bool  # whether the pods carry ownerReferences (made by a controller)
    workload: str | None  # urn of the workload that makes them


@dataclass(frozen=True)
class K8sPeer:
    """The other end of a pod's connection as a NetworkPolicy sees it."""

    name: str
    network: IpNetwork | None
    pods: PodSet | None = None


@dataclass(frozen=True)
class Side:
    """One concrete end of a connection: one subnet of a place, or an outside address range."""

    name: str
    network: IpNetwork
    groups: tuple[str, ...] | None = None  # None: no security group applies (internet, CIDR, CloudFront)
    subnet: str | None = None
    urn: str | None = None
    place_type: str = ""
    prefix_lists: frozenset[str] = frozenset()
    from_internet: bool = False
    internet_facing: bool = False
    public_address: bool = False
    service: str | None = None  # an AWS endpoint service name, for gateway endpoint routes
    pods: PodSet | None = None

    def peer(self) -> Peer:
        groups = frozenset(self.groups) if self.groups is not None else None
        return Peer(self.name, groups, self.network, self.prefix_lists)

    def k8s_peer(self) -> K8sPeer:
        return K8sPeer(self.name, self.network, self.pods)


# ---------------------------------------------------------------------------------------------------------
# The model
# ---------------------------------------------------------------------------------------------------------


@dataclass
class NetworkModel:
    snapshot: Snapshot
    groups: dict[str, str] = field(default_factory=dict)  # key -> display name
    group_urns: dict[str, str] = field(default_factory=dict)
    rules: list[SgRule] = field(default_factory=list)
    subnets: dict[str, Subnet] = field(default_factory=dict)
    route_tables: dict[str, list[Route]] = field(default_factory=dict)  # table urn -> routes
    table_of_subnet: dict[str, str] = field(default_factory=dict)
    main_tables: dict[str, str] = field(default_factory=dict)  # vpc urn -> table urn
    nacls: dict[str, Nacl] = field(default_factory=dict)
    nacl_of_subnet: dict[str, str] = field(default_factory=dict)
    default_nacls: dict[str, str] = field(default_factory=dict)  # vpc urn -> managed default NACL urn
    prefix_list_entries: dict[str, tuple[IpNetwork, ...]] = field(default_factory=dict)
    cloudfront_lists: frozenset[str] = frozenset()

    # -- construction ----------------------------------------------------------------------------------

    @classmethod
    def from_snapshot(cls, snapshot: Snapshot) -> NetworkModel:
        model = cls(snapshot)
        model.cloudfront_lists = frozenset(
            {managed_prefix_list_id(snapshot.place.region, CLOUDFRONT_PREFIX_LIST)}
        )
        model._read_groups()
        model._read_subnets()
        model._read_routes()
        model._read_nacls()
        return model

    def _ref(self, value: Any, *types: str) -> Resource | None:
        value = reveal(value)
        if not isinstance(value, str) or is_unknown(value):
            return None
        resource = self.snapshot.referenced(value)
        if resource is not None and (not types or resource.type in types):
            return resource
        for candidate in self.snapshot.of_type(*types):
            if value in (candidate.get("name"), candidate.get("identifier")):
                return candidate
        return None

    def _literal(self, value: Any) -> Any:
        """A value, or the input behind a placeholder of an input-backed output (a VPC's cidrBlock)."""
        value = reveal(value)
        if isinstance(value, str) and _network(value) is None and not is_unknown(value):
            origin = self.snapshot.origin(value)
            if origin is not None and origin.output and origin.urn in self.snapshot.resources:
                resolved = self.snapshot.resources[origin.urn].get(origin.output)
                if resolved is not None:
                    return resolved
        return value

    def group_key(self, value: Any) -> str | None:
        """The identity of a security group id: its resource's URN, `<cluster urn>#cluster-sg` for the EKS
        cluster security group, the literal id for a group outside the stack; None when unknown."""
        value = reveal(value)
        if not isinstance(value, str) or is_unknown(value):
            return None
        origin = self.snapshot.origin(value)
        if origin is not None:
            owner = self.snapshot.resources.get(origin.urn)
            if owner is not None and owner.type in (SECURITY_GROUP, DEFAULT_SECURITY_GROUP):
                return owner.urn
            if owner is not None and owner.type == EKS_CLUSTER:
                return f"{owner.urn}#cluster-sg"
        return value

    def _read_groups(self) -> None:
        for group in self.snapshot.of_type(SECURITY_GROUP, DEFAULT_SECURITY_GROUP):
            self.groups[group.urn] = group.name
            self.group_urns[group.urn] = group.urn
            for direction in ("ingress", "egress"):
                for index, spec in enumerate(_as_list(group.get(direction))):
                    self._inline_rules(group, direction, index, spec)
        for cluster in self.snapshot.of_type(EKS_CLUSTER):
            key = f"{cluster.urn}#cluster-sg"
            self.groups[key] = f"{cluster.name} cluster security group"
            self.group_urns[key] = cluster.urn
            # EKS's defaults for the group it creates: everything from itself in, everything out.
            prop = "vpcConfig.clusterSecurityGroupId"
            name = f"{cluster.name} cluster security group (EKS default rule)"
            self.rules += [
                SgRule(key, "ingress", "all", (0, 65535), "group", key, name, cluster.urn, prop),
                SgRule(key, "egress", "all", (0, 65535), "cidr", "0.0.0.0/0", name, cluster.urn, prop),
                SgRule(key, "egress", "all", (0, 65535), "cidr", "::/0", name, cluster.urn, prop),
            ]
        for rule in self.snapshot.of_type(INGRESS_RULE, EGRESS_RULE):
            self._vpc_rule(rule)
        for rule in self.snapshot.of_type(GROUP_RULE):
            self._classic_rule(rule)
        for prefix_list in self.snapshot.of_type(MANAGED_PREFIX_LIST):
            entries = [_network(self._literal(e.get("cidr"))) for e in _as_list(prefix_list.get("entries"))]
            self.prefix_list_entries[prefix_list.urn] = tuple(e for e in entries if e is not None)

    def _add_peers(
        self,
        key: str,
        direction: str,
        protocol: str,
        ports: tuple[int, int],
        peers: Iterable[tuple[str, Any, str]],
        name: str,
        urn: str,
    ) -> None:
        for kind, raw, prop in peers:
            value = reveal(raw)
            if kind == "group":
                peer_key = self.group_key(value)
                kind, peer = ("group", peer_key) if peer_key else ("unknown", prop)
            elif kind == "prefix-list":
                peer = self._prefix_list_key(value)
                kind = "prefix-list" if peer else "unknown"
                peer = peer or prop
            else:
                network = _network(self._literal(value))
                kind, peer = ("cidr", str(network)) if network else ("unknown", prop)
            self.rules.append(SgRule(key, direction, protocol, ports, kind, peer, name, urn, prop))

    def _prefix_list_key(self, value: Any) -> str | None:
        if not isinstance(value, str) or is_unknown(value):
            return None
        owner = self._ref(value, MANAGED_PREFIX_LIST)
        return owner.urn if owner else value

    def _inline_rules(self, group: Resource, direction: str, index: int, spec: Any) -> None:
        if not isinstance(spec, Mapping):
            return
        protocol = _protocol(spec.get("protocol"))
        ports = (_port(spec.get("fromPort"), 0), _port(spec.get("toPort"), 65535))
        base = f"{direction}.{index}"
        peers: list[tuple[str, Any, str]] = []
        for field_name, kind in (
            ("cidrBlocks", "cidr"),
            ("ipv6CidrBlocks", "cidr"),
            ("prefixListIds", "prefix-list"),
            ("securityGroups", "group"),
        ):
            raw = reveal(spec.get(field_name))
            if is_unknown(raw):
                peers.append(("unknown", raw, f"{base}.{field_name}"))
                continue
            peers += [(kind, item, f"{base}.{field_name}.{i}") for i, item in enumerate(_as_list(raw))]
        if spec.get("self"):
            peers.append(("group", self.snapshot.output(group, "id"), f"{base}.self"))
        self._add_peers(
            group.urn, direction, protocol, ports, peers, f"{group.name} {direction}[{index}]", group.urn
        )

    def _vpc_rule(self, rule: Resource) -> None:
        key = self.group_key(rule.get("securityGroupId"))
        if key is None:
            self.rules.append(
                SgRule("?", "?", "all", (0, 65535), "unknown", "", rule.name, rule.urn, "securityGroupId")
            )
            return
        direction = "ingress" if rule.type == INGRESS_RULE else "egress"
        protocol = _protocol(rule.get("ipProtocol"))
        ports = (_port(rule.get("fromPort"), 0), _port(rule.get("toPort"), 65535))
        peers = [
            (kind, rule.get(prop), prop)
            for prop, kind in (
                ("cidrIpv4", "cidr"),
                ("cidrIpv6", "cidr"),
                ("prefixListId", "prefix-list"),
                ("referencedSecurityGroupId", "group"),
            )
            if rule.get(prop) is not None
        ]
        self._add_peers(key, direction, protocol, ports, peers, rule.name, rule.urn)

    def _classic_rule(self, rule: Resource) -> None:
        key = self.group_key(rule.get("securityGroupId"))
        if key is None:
            self.rules.append(
                SgRule("?", "?", "all", (0, 65535), "unknown", "", rule.name, rule.urn, "securityGroupId")
            )
            return
        direction = "ingress" if rule.get("type") == "ingress" else "egress"
        protocol = _protocol(rule.get("protocol"))
        ports = (_port(rule.get("fromPort"), 0), _port(rule.get("toPort"), 65535))
        peers: list[tuple[str, Any, str]] = []
        for prop, kind in (
            ("cidrBlocks", "cidr"),
            ("ipv6CidrBlocks", "cidr"),
            ("prefixListIds", "prefix-list"),
        ):
            peers += [(kind, item, f"{prop}.{i}") for i, item in enumerate(_as_list(rule.get(prop)))]
        if rule.get("sourceSecurityGroupId") is not None:
            peers.append(("group", rule.get("sourceSecurityGroupId"), "sourceSecurityGroupId"))
        if rule.get("self"):
            peers.append(("group", rule.get("securityGroupId"), "self"))
        self._add_peers(key, direction, protocol, ports, peers, rule.name, rule.urn)

    def _read_subnets(self) -> None:
        for subnet in self.snapshot.of_type(SUBNET):
            vpc = self._ref(subnet.get("vpcId"), VPC)
            self.subnets[subnet.urn] = Subnet(
                subnet.urn,
                subnet.name,
                _network(self._literal(subnet.get("cidrBlock"))),
                vpc.urn if vpc else None,
                bool(subnet.get("mapPublicIpOnLaunch")),
            )

    def _route(self, spec: Mapping[str, Any] | Resource, name: str, urn: str, prop: str) -> Route:
        destination = _network(self._literal(spec.get("destinationCidrBlock") or spec.get("cidrBlock")))
        prefix_list = spec.get("destinationPrefixListId")
        for key, kind in (
            ("natGatewayId", "nat"),
            ("gatewayId", "igw"),
            ("vpcEndpointId", "endpoint"),
            ("transitGatewayId", "other"),
            ("vpcPeeringConnectionId", "other"),
            ("networkInterfaceId", "other"),
        ):
            raw = reveal(spec.get(key))
            if raw is None:
                continue
            target = self._ref(raw)
            if kind == "igw":
                # gatewayId also takes virtual private gateways and "local".
                internet = target.type == INTERNET_GATEWAY if target else str(raw).startswith("igw-")
                kind = "igw" if internet else "other"
            return Route(destination, prefix_list, kind, target.urn if target else str(raw), name, urn, prop)
        return Route(destination, prefix_list, "other", "", name, urn, prop)

    def _read_routes(self) -> None:
        for table in self.snapshot.of_type(ROUTE_TABLE, DEFAULT_ROUTE_TABLE):
            self.route_tables[table.urn] = [
                self._route(spec, f"{table.name} routes[{i}]", table.urn, f"routes.{i}")
                for i, spec in enumerate(_as_list(table.get("routes")))
                if isinstance(spec, Mapping)
            ]
            if table.type == DEFAULT_ROUTE_TABLE:
                vpc = self._vpc_of_default(table, "defaultRouteTableId")
                if vpc:
                    self.main_tables[vpc] = table.urn
        for route in self.snapshot.of_type(ROUTE):
            table = self._ref(route.get("routeTableId"), ROUTE_TABLE, DEFAULT_ROUTE_TABLE)
            if table is not None:
                self.route_tables.setdefault(table.urn, []).append(
                    self._route(route, route.name, route.urn, "destinationCidrBlock")
                )
        for association in self.snapshot.of_type(ROUTE_TABLE_ASSOCIATION):
            table = self._ref(association.get("routeTableId"), ROUTE_TABLE, DEFAULT_ROUTE_TABLE)
            subnet = self._ref(association.get("subnetId"), SUBNET)
            if table is not None and subnet is not None:
                self.table_of_subnet[subnet.urn] = table.urn
        for association in self.snapshot.of_type(MAIN_ROUTE_TABLE_ASSOCIATION):
            table = self._ref(association.get("routeTableId"), ROUTE_TABLE)
            vpc = self._ref(association.get("vpcId"), VPC)
            if table is not None and vpc is not None:
                self.main_tables[vpc.urn] = table.urn
        for endpoint in self.snapshot.of_type(VPC_ENDPOINT):
            for index, raw in enumerate(_as_list(endpoint.get("routeTableIds"))):
                self._gateway_route(endpoint, raw, f"routeTableIds.{index}")
        for association in self.snapshot.of_type(ENDPOINT_ROUTE_TABLE_ASSOCIATION):
            endpoint = self._ref(association.get("vpcEndpointId"), VPC_ENDPOINT)
            if endpoint is not None:
                self._gateway_route(endpoint, association.get("routeTableId"), "routeTableId", association)

    def _gateway_route(
        self, endpoint: Resource, raw_table: Any, prop: str, declared_by: Resource | None = None
    ) -> None:
        table = self._ref(raw_table, ROUTE_TABLE, DEFAULT_ROUTE_TABLE)
        if table is None:
            return
        source = declared_by or endpoint
        self.route_tables.setdefault(table.urn, []).append(
            Route(
                None,
                str(endpoint.get("serviceName")),
                "endpoint",
                endpoint.urn,
                source.name,
                source.urn,
                prop,
            )
        )

    def _vpc_of_default(self, resource: Resource, id_property: str) -> str | None:
        """The VPC whose default route table / NACL a `Default*` resource adopts (`<id> → vpc`)."""
        vpc = self._ref(resource.get(id_property), VPC)
        return vpc.urn if vpc else None

    def _nacl_rule(self, spec: Mapping[str, Any] | Resource, egress: bool, urn: str, prop: str) -> NaclRule:
        number = _port(
            spec.get("ruleNo") if spec.get("ruleNo") is not None else spec.get("ruleNumber"), 32766
        )
        action = str(spec.get("action") or spec.get("ruleAction") or "deny").lower()
        cidr = _network(self._literal(spec.get("cidrBlock") or spec.get("ipv6CidrBlock")))
        protocol = _protocol(spec.get("protocol"))
        ports = (_port(spec.get("fromPort"), 0), _port(spec.get("toPort"), 65535))
        return NaclRule(number, egress, action == "allow", protocol, ports, cidr, urn, prop)

    def _read_nacls(self) -> None:
        rules: dict[str, list[NaclRule]] = {}
        for acl in self.snapshot.of_type(NETWORK_ACL, DEFAULT_NETWORK_ACL):
            rules[acl.urn] = [
                self._nacl_rule(spec, direction == "egress", acl.urn, f"{direction}.{i}")
                for direction in ("ingress", "egress")
                for i, spec in enumerate(_as_list(acl.get(direction)))
                if isinstance(spec, Mapping)
            ]
            for raw in _as_list(acl.get("subnetIds")):
                subnet = self._ref(raw, SUBNET)
                if subnet is not None:
                    self.nacl_of_subnet[subnet.urn] = acl.urn
            if acl.type == DEFAULT_NETWORK_ACL:
                vpc = self._vpc_of_default(acl, "defaultNetworkAclId")
                if vpc:
                    self.default_nacls[vpc] = acl.urn
        for rule in self.snapshot.of_type(NETWORK_ACL_RULE):
            acl = self._ref(rule.get("networkAclId"), NETWORK_ACL, DEFAULT_NETWORK_ACL)
            if acl is not None:
                rules.setdefault(acl.urn, []).append(
                    self._nacl_rule(rule, bool(rule.get("egress")), rule.urn, "ruleNumber")
                )
        for association in self.snapshot.of_type(NETWORK_ACL_ASSOCIATION):
            acl = self._ref(association.get("networkAclId"), NETWORK_ACL)
            subnet = self._ref(association.get("subnetId"), SUBNET)
            if acl is not None and subnet is not None:
                self.nacl_of_subnet[subnet.urn] = acl.urn
        for urn, acl_rules in rules.items():
            ordered = tuple(sorted(acl_rules, key=lambda r: r.number))
            self.nacls[urn] = Nacl(urn, _name(urn), ordered)

    # -- placement of resources ------------------------------------------------------------------------

    def _refs(
        self, resource: Resource, path: str, types: tuple[str, ...], gaps: list[tuple[str, str]]
    ) -> list[str]:
        """URNs of the resources a list input names; unknown entries go to `gaps`."""
        raw = resource.get(path)
        if is_unknown(raw):
            gaps.append((resource.urn, path))
            return []
        found = []
        for index, item in enumerate(_as_list(raw)):
            target = self._ref(item, *types)
            if target is None:
                gaps.append((resource.urn, f"{path}.{index}"))
            else:
                found.append(target.urn)
        return found

    def _group_keys(self, resource: Resource, path: str, gaps: list[tuple[str, str]]) -> list[str]:
        raw = resource.get(path)
        if is_unknown(raw):
            gaps.append((resource.urn, path))
            return []
        keys = []
        for index, item in enumerate(_as_list(raw)):
            key = self.group_key(item)
            if key is None:
                gaps.append((resource.urn, f"{path}.{index}"))
            else:
                keys.append(key)
        return keys

    def _subnet_group(
        self, resource: Resource, path: str, group_type: str, gaps: list[tuple[str, str]]
    ) -> tuple[list[str], list[Hop]]:
        group = self._ref(resource.get(path), group_type)
        if group is None:
            gaps.append((resource.urn, path))
            return [], []
        hop = Hop("subnet", f"{resource.name}: {path} → {group.name}", resource.urn, path)
        return self._refs(group, "subnetIds", (SUBNET,), gaps), [hop]

    def place(self, urn: str) -> Place:
        """Where a resource's network interfaces sit."""
        resource = self.snapshot.resources[urn]
        gaps: list[tuple[str, str]] = []
        hops: list[Hop] = []
        groups: list[str] = []
        subnets: list[str] = []
        public_address = False
        internet_facing = False
        kind = resource.type
        if kind == RDS_INSTANCE:
            groups = self._group_keys(resource, "vpcSecurityGroupIds", gaps)
            source = self._ref(resource.get("replicateSourceDb"), RDS_INSTANCE)
            holder = resource
            if resource.get("dbSubnetGroupName") is None and source is not None:
                # A same-region replica takes its source's subnet group.
                hops.append(
                    Hop("subnet", f"{resource.name}: replica of {source.name}", urn, "replicateSourceDb")
                )
                holder = source
            found, subnet_hops = self._subnet_group(holder, "dbSubnetGroupName", RDS_SUBNET_GROUP, gaps)
            subnets, hops = found, [*hops, *subnet_hops]
            public_address = internet_facing = bool(resource.get("publiclyAccessible"))
        elif kind == RDS_PROXY:
            groups = self._group_keys(resource, "vpcSecurityGroupIds", gaps)
            subnets = self._refs(resource, "vpcSubnetIds", (SUBNET,), gaps)
        elif kind == REPLICATION_GROUP:
            groups = self._group_keys(resource, "securityGroupIds", gaps)
            subnets, hops = self._subnet_group(resource, "subnetGroupName", CACHE_SUBNET_GROUP, gaps)
        elif kind == EKS_CLUSTER:
            groups = [*self._group_keys(resource, "vpcConfig.securityGroupIds", gaps), f"{urn}#cluster-sg"]
            subnets = self._refs(resource, "vpcConfig.subnetIds", (SUBNET,), gaps)
        elif kind == NODE_GROUP:
            groups, hops, public_address = self._node_group_groups(resource, gaps)
            subnets = self._refs(resource, "subnetIds", (SUBNET,), gaps)
            public_address = public_address or any(self.subnets[s].public_ip_on_launch for s in subnets)
        elif kind == LOAD_BALANCER:
            groups = self._group_keys(resource, "securityGroups", gaps)
            subnets = self._refs(resource, "subnets", (SUBNET,), gaps)
            internet_facing = public_address = not resource.get("internal")
        elif kind == VPC_ENDPOINT:
            groups = self._group_keys(resource, "securityGroupIds", gaps)
            subnets = self._refs(resource, "subnetIds", (SUBNET,), gaps)
        else:
            raise ValueError(f"{resource.name} ({kind}) has no network placement the model knows")
        if groups or subnets:
            shown = ", ".join(self.groups.get(g, g) for g in groups)
            hops.append(Hop("subnet", f"{resource.name} in {len(subnets)} subnet(s), groups {shown}", urn))
        return Place(
            resource.name,
            urn,
            tuple(groups),
            tuple(subnets),
            tuple(hops),
            public_address,
            internet_facing,
            tuple(gaps),
        )

    def _node_group_groups(
        self, node_group: Resource, gaps: list[tuple[str, str]]
    ) -> tuple[list[str], list[Hop], bool]:
        cluster = self._cluster_of(node_group)
        cluster_sg = [f"{cluster.urn}#cluster-sg"] if cluster else []
        template = self.launch_template(node_group)
        if template is None:
            if node_group.get("launchTemplate") is not None:
                gaps.append((node_group.urn, "launchTemplate.id"))
            hop = Hop("subnet", f"{node_group.name}: no launch template, so the cluster SG", node_group.urn)
            return cluster_sg, [hop], False
        keys = self._group_keys(template, "vpcSecurityGroupIds", gaps)
        public = False
        for index, interface in enumerate(_as_list(template.get("networkInterfaces"))):
            if not isinstance(interface, Mapping):
                continue
            public = public or str(interface.get("associatePublicIpAddress")).lower() == "true"
            for j, item in enumerate(_as_list(interface.get("securityGroups"))):
                key = self.group_key(item)
                if key is None:
                    gaps.append((template.urn, f"networkInterfaces.{index}.securityGroups.{j}"))
                else:
                    keys.append(key)
        hop_text = f"{node_group.name}: launchTemplate → {template.name}"
        if not keys:
            keys = cluster_sg
            hop_text += " (names no groups: EKS adds the cluster security group)"
        return keys, [Hop("subnet", hop_text, template.urn, "vpcSecurityGroupIds")], public

    def launch_template(self, node_group: Resource) -> Resource | None:
        return self._ref(
            node_group.get("launchTemplate.id") or node_group.get("launchTemplate.name"), LAUNCH_TEMPLATE
        )

    def _cluster_of(self, resource: Resource) -> Resource | None:
        return self._ref(resource.get("clusterName"), EKS_CLUSTER)

    # -- security group checks -------------------------------------------------------------------------

    def _rule_matches(self, rule: SgRule, peer: Peer, quantifier: Quantifier) -> bool | None:
        if rule.peer_kind == "unknown":
            return None
        if rule.peer_kind == "group":
            return peer.groups is not None and rule.peer in peer.groups
        if rule.peer_kind == "cidr":
            network = _network(rule.peer)
            return network is not None and _covers(network, peer.network, quantifier)
        if rule.peer in peer.prefix_lists:
            return True
        if rule.peer not in self.prefix_list_entries and peer.prefix_lists:
            # An AWS-managed list the model cannot name (a real CLI preview's CloudFront list has AWS's own
            # id): it may be the very list the peer's addresses are in.
            return None
        entries = self.prefix_list_entries.get(rule.peer, ())
        return any(_covers(entry, peer.network, quantifier) for entry in entries)

    def _group_name(self, key: str) -> str:
        return self.groups.get(key, key)

    def security_groups_admit(
        self,
        groups: Sequence[str],
        direction: str,
        peer: Peer,
        protocol: str,
        port: int,
        quantifier: Quantifier = Quantifier.ALL,
    ) -> Finding:
        """Some group of `groups` has a `direction` rule for `peer` on protocol/port (groups are OR-ed)."""
        toward = "from" if direction == "ingress" else "to"
        outside = [g for g in groups if g not in self.groups]
        if outside:
            text = f"{', '.join(outside)} {direction}: not in the stack, so not checked"
            return _proven([Hop("sg-rule", text)])
        doubtful: SgRule | None = None
        for rule in self.rules:
            if rule.group == "?" and doubtful is None:
                doubtful = rule
            if rule.group not in groups or rule.direction != direction:
                continue
            if not rule.admits_protocol(protocol, port):
                continue
            matched = self._rule_matches(rule, peer, quantifier)
            if matched:
                text = f"{rule.name}: {self._group_name(rule.group)} {toward} {peer.name} {protocol}/{port}"
                return _proven([Hop("sg-rule", text, rule.urn, rule.property)])
            if matched is None and (doubtful is None or doubtful.group == "?"):
                doubtful = rule
        if doubtful is not None:
            return _unresolved(doubtful.urn, doubtful.property)
        names = ", ".join(self._group_name(g) for g in groups) or "no security group"
        first = next((self.group_urns[g] for g in groups if g in self.group_urns), None)
        missing = f"{names} {direction}: no rule admits {protocol}/{port} {toward} {peer.name}"
        return _broken(Hop("sg-rule", f"missing: {missing}", first, direction), missing)

    # -- routes ----------------------------------------------------------------------------------------

    def _table_of(self, subnet: str) -> tuple[str | None, list[Route]]:
        table = self.table_of_subnet.get(subnet)
        if table is None:
            vpc = self.subnets[subnet].vpc
            table = self.main_tables.get(vpc) if vpc else None
        return table, self.route_tables.get(table, []) if table else []

    def _vpc_cidr_of(self, subnet: str) -> IpNetwork | None:
        vpc = self.subnets[subnet].vpc
        return _network(self._literal(self.snapshot.resources[vpc].get("cidrBlock"))) if vpc else None

    def _default_route(self, subnet: str, service: str | None = None) -> tuple[Route | None, str | None]:
        """The route a subnet takes to the internet (or to a gateway endpoint's service), and its table."""
        table, routes = self._table_of(subnet)
        if service is not None:
            for route in routes:
                if route.prefix_list == service and route.target_kind == "endpoint":
                    return route, table
        defaults = [r for r in routes if r.destination is not None and r.destination.prefixlen == 0]
        return (defaults[0] if defaults else None), table

    def _missing_route(self, subnet: str, table: str | None, what: str) -> Finding:
        table_name = _name(table) if table else f"{self.subnets[subnet].name}'s main route table"
        missing = f"{table_name} routes: no route from {self.subnets[subnet].name} to {what}"
        return _broken(Hop("route", f"missing: {missing}", table, "routes"), missing)

    def internet_egress(
        self, subnet: str, public_address: bool, port: int, quantifier: Quantifier, service: str | None = None
    ) -> Finding:
        """A subnet's way out: an internet gateway (with a public address), a NAT gateway whose subnet routes
        to an internet gateway, or a gateway endpoint for `service`."""
        route, table = self._default_route(subnet, service)
        subnet_name = self.subnets[subnet].name
        if route is None:
            return self._missing_route(subnet, table, "0.0.0.0/0")
        if route.target_kind == "endpoint":
            return _proven(
                [
                    Hop(
                        "route",
                        f"{route.name}: {subnet_name} → {_name(route.target)}",
                        route.urn,
                        route.property,
                    )
                ]
            )
        if route.target_kind == "igw":
            hop = Hop(
                "route", f"{route.name}: {subnet_name} → {_name(route.target)}", route.urn, route.property
            )
            if public_address:
                return _proven([hop])
            missing = (
                f"{subnet_name} mapPublicIpOnLaunch: no public address, so the internet gateway route is a "
                "dead end"
            )
            return _broken(Hop("route", missing, subnet, "mapPublicIpOnLaunch"), missing, [hop])
        if route.target_kind == "nat":
            nat = self.snapshot.resources.get(route.target)
            hop = Hop(
                "route", f"{route.name}: {subnet_name} → {_name(route.target)}", route.urn, route.property
            )
            if nat is None:
                return _proven([hop, Hop("route", f"{route.target}: NAT gateway outside the stack")])
            nat_subnet = self._ref(nat.get("subnetId"), SUBNET)
            if nat_subnet is None:
                return _unresolved(nat.urn, "subnetId", [hop])
            onward = self.internet_egress(nat_subnet.urn, True, port, quantifier)
            # The NAT gateway's subnet forwards the connection out and lets the replies back in.
            out = self.nacl_check(
                nat_subnet.urn, True, ANYWHERE, "tcp", (port, port), quantifier, "the internet"
            )
            back = self.nacl_check(
                nat_subnet.urn, False, ANYWHERE, "tcp", EPHEMERAL_PORTS, quantifier, "the internet"
            )
            return combine(_proven([hop]), onward, out, back)
        leads_to = route.target or "nothing"
        missing = f"{route.name}: {subnet_name}'s 0.0.0.0/0 route leads to {leads_to}, not a gateway"
        return _broken(Hop("route", missing, route.urn, route.property), missing)

    def public_subnet(self, subnet: str) -> Finding:
        route, table = self._default_route(subnet)
        subnet_name = self.subnets[subnet].name
        if route is None or route.target_kind != "igw":
            return self._missing_route(subnet, table, "an internet gateway (not a public subnet)")
        text = f"{route.name}: {subnet_name} is public ({_name(route.target)})"
        return _proven([Hop("route", text, route.urn, route.property)])

    # -- NACLs -----------------------------------------------------------------------------------------

    def nacl_check(
        self,
        subnet: str,
        egress: bool,
        peer: IpNetwork,
        protocol: str,
        ports: tuple[int, int],
        quantifier: Quantifier,
        peer_name: str,
    ) -> Finding:
        """Whether the subnet's NACL lets the traffic out (`egress`) or in: first matching rule decides."""
        acl_urn = self.nacl_of_subnet.get(subnet)
        if acl_urn is None:
            vpc = self.subnets[subnet].vpc
            acl_urn = self.default_nacls.get(vpc) if vpc else None
        if acl_urn is None:
            return _proven([])  # the VPC's default NACL, which AWS creates allowing everything
        acl = self.nacls.get(acl_urn, Nacl(acl_urn, _name(acl_urn), ()))
        direction = "egress" if egress else "ingress"
        port_text = f"{ports[0]}" if ports[0] == ports[1] else f"{ports[0]}-{ports[1]}"
        what = f"{direction} {protocol}/{port_text} {'to' if egress else 'from'} {peer_name}"
        for rule in acl.rules:
            if rule.egress != egress or rule.cidr is None:
                continue
            if rule.protocol not in ("all", protocol):
                continue
            all_ports = rule.protocol == "all" or _ports_cover(*rule.ports, ports)
            some_ports = rule.protocol == "all" or _ports_cover(*rule.ports, ports, Quantifier.ANY)
            whole = all_ports and _covers(rule.cidr, peer, Quantifier.ALL)
            part = some_ports and _covers(rule.cidr, peer, Quantifier.ANY)
            hop = Hop(
                "nacl",
                f"{acl.name} rule {rule.number} {'allows' if rule.allow else 'denies'} {what}",
                rule.urn,
                rule.property,
            )
            if rule.allow and (whole or (quantifier is Quantifier.ANY and part)):
                return _proven([hop])
            if not rule.allow and (whole or (quantifier is Quantifier.ALL and part)):
                return _broken(hop, f"{acl.name} {rule.property}: rule {rule.number} denies {what}")
        missing = f"{acl.name} {direction}: no rule allows {what} (the final rule denies)"
        return _broken(Hop("nacl", f"missing: {missing}", acl.urn, direction), missing)

    # -- one connection between two concrete sides -----------------------------------------------------

    def connect(
        self, source: Side, target: Side, protocol: str, port: int, quantifier: Quantifier
    ) -> Finding:
        """Security group egress, the path (routes, NACLs both ways), security group ingress."""
        steps: list[Finding] = []
        if source.groups is not None:
            steps.append(
                self.security_groups_admit(source.groups, "egress", target.peer(), protocol, port, quantifier)
            )
        steps.append(self._path(source, target, protocol, port, quantifier))
        if target.groups is not None:
            steps.append(
                self.security_groups_admit(
                    target.groups, "ingress", source.peer(), protocol, port, quantifier
                )
            )
        return combine(*steps)

    def _path(self, source: Side, target: Side, protocol: str, port: int, quantifier: Quantifier) -> Finding:
        wanted = (port, port)
        if source.subnet and target.subnet:
            if self.subnets[source.subnet].vpc != self.subnets[target.subnet].vpc:
                missing = f"{source.name} and {target.name} are in different VPCs (no peering modelled)"
                return _broken(Hop("route", missing, target.subnet, "vpcId"), missing)
            route = Hop(
                "route",
                f"local: {self.subnets[source.subnet].name} → {self.subnets[target.subnet].name}",
                target.subnet,
            )
            if source.subnet == target.subnet:
                return _proven([route])  # traffic inside one subnet crosses no NACL
            return combine(
                _proven([route]),
                self.nacl_check(
                    source.subnet, True, target.network, protocol, wanted, quantifier, target.name
                ),
                self.nacl_check(
                    target.subnet, False, source.network, protocol, wanted, quantifier, source.name
                ),
                self.nacl_check(
                    target.subnet, True, source.network, protocol, EPHEMERAL_PORTS, quantifier, source.name
                ),
                self.nacl_check(
                    source.subnet, False, target.network, protocol, EPHEMERAL_PORTS, quantifier, target.name
                ),
            )
        if target.subnet:
            entry = (
                self.public_subnet(target.subnet)
                if source.from_internet
                else _proven(
                    [
                        Hop(
                            "route",
                            f"{source.name} → {self.subnets[target.subnet].name}: arrives inside the VPC "
                            "(or over a VPN/peering the stack does not model)",
                            target.subnet,
                        )
                    ]
                )
            )
            if source.from_internet and not target.internet_facing:
                facing = {LOAD_BALANCER: "internal", RDS_INSTANCE: "publiclyAccessible"}
                hop_property = facing.get(target.place_type, "public address")
                missing = f"{_name(target.urn or '')} {hop_property}: not internet-facing"
                return _broken(Hop("route", missing, target.urn, hop_property), missing)
            return combine(
                entry,
                self.nacl_check(
                    target.subnet, False, source.network, protocol, wanted, quantifier, source.name
                ),
                self.nacl_check(
                    target.subnet, True, source.network, protocol, EPHEMERAL_PORTS, quantifier, source.name
                ),
            )
        if source.subnet:
            vpc = self._vpc_cidr_of(source.subnet)
            if vpc is not None and _covers(vpc, target.network, Quantifier.ALL):
                hop = Hop(
                    "route", f"local: {self.subnets[source.subnet].name} → {target.name}", source.subnet
                )
                return _proven([hop])
            if _is_public(target.network) or target.network.prefixlen == 0:
                way_out = self.internet_egress(
                    source.subnet, source.public_address, port, quantifier, target.service
                )
            else:
                way_out = _proven(
                    [
                        Hop(
                            "route",
                            f"{source.name} → {target.name}: leaves the VPC over a VPN/peering "
                            "the stack does not model",
                            source.subnet,
                        )
                    ]
                )
            return combine(
                way_out,
                self.nacl_check(
                    source.subnet, True, target.network, protocol, wanted, quantifier, target.name
                ),
                self.nacl_check(
                    source.subnet, False, target.network, protocol, EPHEMERAL_PORTS, quantifier, target.name
                ),
            )
        return _proven(
            [Hop("route", f"{source.name} → {target.name}: neither end is in the stack's subnets")]
        )

    # -- Kubernetes ------------------------------------------------------------------------------------

    def pod_set(self, namespace: str, labels: Mapping[str, str]) -> PodSet:
        """The pods a selector names: the first workload in `namespace` whose pod template carries `labels`.
        Pods of no recorded workload (a Helm chart's, an addon's) are taken as controller-made."""
        namespace_labels: dict[str, str] = {"kubernetes.io/metadata.name": namespace}
        for ns in self.snapshot.of_type(NAMESPACE):
            if ns.get("metadata.name") == namespace:
                namespace_labels = {**(ns.get("metadata.labels") or {}), **namespace_labels}
        for workload in self.snapshot.of_type(*CONTROLLED_WORKLOADS, POD):
            if (workload.get("metadata.namespace") or "default") != namespace:
                continue
            template = _template_labels(workload)
            if all(template.get(key) == value for key, value in labels.items()):
                owned = workload.type != POD or bool(workload.get("metadata.ownerReferences"))
                return PodSet(namespace, template, namespace_labels, owned, workload.urn)
        return PodSet(namespace, dict(labels), namespace_labels, True, None)

    def _vpc_cni(self) -> tuple[Resource | None, dict[str, Any]]:
        for addon in self.snapshot.of_type(EKS_ADDON):
            if addon.get("addonName") == "vpc-cni":
                raw = addon.get("configurationValues")
                try:
                    config = json.loads(raw) if isinstance(raw, str) else {}
                except ValueError:
                    config = {}
                return addon, config if isinstance(config, dict) else {}
        return None, {}

    def network_policies_admit(
        self,
        pods: PodSet,
        direction: str,
        peer: K8sPeer,
        protocol: str,
        port: int,
        quantifier: Quantifier = Quantifier.ALL,
    ) -> Finding:
        """Whether the NetworkPolicies selecting `pods` let this connection out (`egress`) or in."""
        addon, config = self._vpc_cni()
        described = _describe_pods(pods)
        if str(config.get("enableNetworkPolicy", "")).lower() != "true":
            text = (
                f"not enforced: {addon.name if addon else 'no vpc-cni addon'} configurationValues has no "
                f"enableNetworkPolicy, so no NetworkPolicy binds {described}"
            )
            return _proven([Hop("network-policy", text, addon.urn if addon else None, "configurationValues")])
        if not pods.owned:
            text = f"{described} have no ownerReferences: the VPC CNI applies no NetworkPolicy to them"
            return _proven([Hop("network-policy", text, pods.workload, "metadata.ownerReferences")])
        mode = str((config.get("env") or {}).get("NETWORK_POLICY_ENFORCING_MODE", "standard")).lower()
        mode_hops = (
            []
            if mode == "strict"
            else [
                Hop(
                    "network-policy",
                    f"standard mode: a new pod of {described} is open until its policies attach",
                    addon.urn if addon else None,
                    "configurationValues",
                )
            ]
        )
        selecting = self._selecting_policies(pods, direction)
        if not selecting:
            text = f"no NetworkPolicy selects {described} for {direction}: all {direction} allowed"
            return _proven([*mode_hops, Hop("network-policy", text)])
        over_limit = _port_combination_limit(selecting, direction)
        if over_limit is not None:
            return Finding(Verdict.BROKEN, (*mode_hops, *over_limit.hops), over_limit.reason)
        # A rule's peers are its `to` (egress) or `from` (ingress) list, which also words the evidence.
        toward = "to" if direction == "egress" else "from"
        doubtful: tuple[Resource, int] | None = None
        for policy in selecting:
            policy_namespace = policy.get("metadata.namespace") or "default"
            for index, rule in enumerate(_as_list(policy.get(f"spec.{direction}"))):
                if not isinstance(rule, Mapping):
                    continue
                peers_ok = _k8s_peers_admit(rule.get(toward), policy_namespace, peer, quantifier)
                ports_ok = _k8s_ports_admit(rule.get("ports"), protocol, port)
                if peers_ok and ports_ok:
                    admitted = f"{toward} {peer.name} {protocol}/{port}"
                    text = f"{policy.name} spec.{direction}[{index}] admits {admitted}"
                    return _proven(
                        [*mode_hops, Hop("network-policy", text, policy.urn, f"spec.{direction}.{index}")]
                    )
                if peers_ok is not False and ports_ok is not False:
                    doubtful = doubtful or (policy, index)
        if doubtful is not None:
            policy, index = doubtful
            return _unresolved(policy.urn, f"spec.{direction}.{index}", mode_hops)
        primary = next((p for p in selecting if p.get("spec.podSelector")), selecting[0])
        names = ", ".join(p.name for p in selecting)
        wanted = f"{protocol}/{port} {toward} {peer.name}"
        missing = f"{primary.name} spec.{direction}: no rule of {names} admits {wanted}"
        return _broken(
            Hop("network-policy", f"missing: {missing}", primary.urn, f"spec.{direction}"), missing, mode_hops
        )

    def _selecting_policies(self, pods: PodSet, direction: str) -> list[Resource]:
        kind = "Egress" if direction == "egress" else "Ingress"
        found = []
        for policy in self.snapshot.of_type(NETWORK_POLICY):
            if (policy.get("metadata.namespace") or "default") != pods.namespace:
                continue
            types = policy.get("spec.policyTypes")
            if types is None:
                # Kubernetes' default: Ingress always, Egress when the policy has egress rules.
                types = ["Ingress", *(["Egress"] if policy.get("spec.egress") is not None else [])]
            if kind in types and _selects(policy.get("spec.podSelector"), pods.labels):
                found.append(policy)
        return found

    def _pod_groups(self, pods: PodSet) -> tuple[tuple[str, ...], Hop] | None:
        """Security groups for pods: a SecurityGroupPolicy selecting the pods replaces the node's groups."""
        for policy in self.snapshot.of_type(SECURITY_GROUP_POLICY):
            if (policy.get("metadata.namespace") or "default") != pods.namespace:
                continue
            if _selects(policy.get("spec.podSelector"), pods.labels):
                keys = tuple(
                    key
                    for key in (
                        self.group_key(g) for g in _as_list(policy.get("spec.securityGroups.groupIds"))
                    )
                    if key
                )
                hop = Hop(
                    "subnet", f"{policy.name}: security groups for pods", policy.urn, "spec.securityGroups"
                )
                return keys, hop
        return None

    def imds_from_containers(self, node_group: Resource) -> Finding:
        """Whether the launch template lets instance metadata answer a container on the node."""
        template = self.launch_template(node_group)
        if template is None:
            return _unresolved(node_group.urn, "launchTemplate")
        options = template.get("metadataOptions")
        if not isinstance(options, Mapping) or options.get("httpTokens") is None:
            return _unresolved(template.urn, "metadataOptions.httpTokens")
        if str(options.get("httpEndpoint", "enabled")).lower() == "disabled":
            missing = f"{template.name} metadataOptions.httpEndpoint: disabled, no instance metadata at all"
            return _broken(Hop("endpoint", missing, template.urn, "metadataOptions.httpEndpoint"), missing)
        if str(options.get("httpTokens")).lower() != "required":
            text = f"{template.name} metadataOptions.httpTokens: IMDSv1 allowed, so containers get answers"
            return _proven([Hop("endpoint", text, template.urn, "metadataOptions.httpTokens")])
        limit = options.get("httpPutResponseHopLimit")
        if limit is None or is_unknown(limit):
            return _unresolved(template.urn, "metadataOptions.httpPutResponseHopLimit")
        prop = "metadataOptions.httpPutResponseHopLimit"
        if _port(limit, 1) <= 1:
            missing = f"{template.name} {prop}: {limit}, so IMDSv2 answers never reach a container"
            return _broken(Hop("endpoint", missing, template.urn, prop), missing)
        text = f"{template.name} {prop}: {_port(limit, 1)} hops, so IMDSv2 answers reach containers"
        return _proven([Hop("endpoint", text, template.urn, prop)])

    # -- endpoints to sides ----------------------------------------------------------------------------

    def _place_sides(
        self, place: Place, pods: PodSet | None = None
    ) -> tuple[list[Side], list[tuple[str, str]]]:
        gaps = list(place.gaps)
        sides = []
        place_type = self.snapshot.resources[place.urn].type if place.urn else ""
        for subnet in place.subnets:
            cidr = self.subnets[subnet].cidr
            if cidr is None:
                gaps.append((subnet, "cidrBlock"))
                continue
            name = f"{_describe_pods(pods)} on {place.name}" if pods else place.name
            sides.append(
                Side(
                    name,
                    cidr,
                    place.groups,
                    subnet,
                    place.urn,
                    place_type,
                    internet_facing=place.internet_facing,
                    public_address=place.public_address,
                    pods=pods,
                )
            )
        return sides, gaps

    def _vpc_cidr(self) -> IpNetwork:
        for vpc in self.snapshot.of_type(VPC):
            network = _network(self._literal(vpc.get("cidrBlock")))
            if network is not None:
                return network
        return ANYWHERE

    def sides(self, endpoint: Endpoint) -> tuple[list[Side], list[Hop], list[tuple[str, str]]]:
        """The concrete ends an endpoint stands for, the evidence of where they are, and unresolved links."""
        if endpoint.kind == "resource":
            place = self.place(endpoint.value)
            found, gaps = self._place_sides(place)
            return found, list(place.hops), gaps
        if endpoint.kind == "pods":
            return self._pod_sides(endpoint)
        if endpoint.kind == "internet":
            return [Side("the internet", ANYWHERE, from_internet=True)], [], []
        if endpoint.kind == "cidr":
            network = ip_network(endpoint.value)
            return [Side(endpoint.value, network, from_internet=_is_public(network))], [], []
        if endpoint.kind == "security-group":
            key = self.group_key(endpoint.value)
            if key is None:
                return [], [], [("", endpoint.value)]
            side = Side(f"{self._group_name(key)} (in the VPC)", self._vpc_cidr(), (key,))
            return [side], [], []
        if endpoint.kind == "cloudfront":
            side = Side(
                "CloudFront origin-facing addresses",
                ANYWHERE,
                prefix_lists=self.cloudfront_lists,
                from_internet=True,
            )
            return [side], [], []
        if endpoint.kind == "aws-service":
            return self._service_sides(endpoint.value)
        raise ValueError(f"{endpoint} is reached only from pods (see reach)")

    def _pod_sides(self, endpoint: Endpoint) -> tuple[list[Side], list[Hop], list[tuple[str, str]]]:
        pods = self.pod_set(endpoint.value, dict(endpoint.labels))
        hops: list[Hop] = []
        gaps: list[tuple[str, str]] = []
        found: list[Side] = []
        own_groups = self._pod_groups(pods)
        if own_groups is not None:
            hops.append(own_groups[1])
        for node_group in self.snapshot.of_type(NODE_GROUP):
            place = self.place(node_group.urn)
            if own_groups is not None:
                place = Place(
                    place.name, place.urn, own_groups[0], place.subnets, place.hops, gaps=place.gaps
                )
            node_sides, node_gaps = self._place_sides(place, pods)
            found += node_sides
            gaps += node_gaps
            hops += place.hops
        return found, hops, gaps

    def _service_sides(self, name: str) -> tuple[list[Side], list[Hop], list[tuple[str, str]]]:
        service = f"com.amazonaws.{self.snapshot.place.region}.{name}"
        for endpoint in self.snapshot.of_type(VPC_ENDPOINT):
            if endpoint.get("serviceName") != service:
                continue
            if str(endpoint.get("vpcEndpointType", "Gateway")).lower() == "interface" and endpoint.get(
                "privateDnsEnabled"
            ):
                place = self.place(endpoint.urn)
                found, gaps = self._place_sides(place)
                hop = Hop(
                    "endpoint",
                    f"{endpoint.name}: private DNS sends {name} to the interface endpoint",
                    endpoint.urn,
                    "privateDnsEnabled",
                )
                return found, [hop, *place.hops], gaps
        # No interface endpoint with private DNS: the public regional endpoint, unless a gateway endpoint's
        # route catches it on the way.
        side = Side(f"{name} API", ANYWHERE, prefix_lists=frozenset({service}), service=service)
        return [side], [], []

    # -- the questions ---------------------------------------------------------------------------------

    def reach(self, source: Endpoint, target: Endpoint, port: int, protocol: str = "tcp") -> Finding:
        """PROVEN when every placement of `source` can open a connection to every placement of `target`."""
        return self._answer(source, target, port, protocol.lower(), Quantifier.ALL)

    def reach_any(self, source: Endpoint, target: Endpoint, port: int, protocol: str = "tcp") -> Finding:
        """PROVEN when some placement of `source` can open a connection to some placement of `target`
        (what a forbidden flow must not have)."""
        return self._answer(source, target, port, protocol.lower(), Quantifier.ANY)

    def _answer(
        self, source: Endpoint, target: Endpoint, port: int, protocol: str, quantifier: Quantifier
    ) -> Finding:
        if target.kind in ("imds", "pod-identity-agent"):
            return self._node_local(source, target, quantifier)
        sources, source_hops, source_gaps = self.sides(source)
        if target.kind == "resource" and port == KUBERNETES_API_PORT:
            cluster = self.snapshot.resources[target.value]
            if cluster.type == EKS_CLUSTER:
                return self._kubernetes_api(cluster, sources, source_hops, source_gaps, protocol, quantifier)
        targets, target_hops, target_gaps = self.sides(target)
        results = [self._one(s, t, protocol, port, quantifier) for s in sources for t in targets]
        return _reduce(
            results,
            [*source_gaps, *target_gaps],
            [*source_hops, *target_hops],
            quantifier,
            f"{source} or {target} sits in no subnet the stack knows",
        )

    def _one(self, source: Side, target: Side, protocol: str, port: int, quantifier: Quantifier) -> Finding:
        steps = []
        if source.pods is not None:
            steps.append(
                self.network_policies_admit(
                    source.pods, "egress", target.k8s_peer(), protocol, port, quantifier
                )
            )
        steps.append(self.connect(source, target, protocol, port, quantifier))
        if target.pods is not None:
            steps.append(
                self.network_policies_admit(
                    target.pods, "ingress", source.k8s_peer(), protocol, port, quantifier
                )
            )
        return combine(*steps)

    def _kubernetes_api(
        self,
        cluster: Resource,
        sources: list[Side],
        source_hops: list[Hop],
        source_gaps: list[tuple[str, str]],
        protocol: str,
        quantifier: Quantifier,
    ) -> Finding:
        private = bool(cluster.get("vpcConfig.endpointPrivateAccess"))
        public_flag = cluster.get("vpcConfig.endpointPublicAccess")
        public = True if public_flag is None else bool(public_flag)
        cidrs = [n for n in (_network(c) for c in _as_list(cluster.get("vpcConfig.publicAccessCidrs"))) if n]
        cidrs = cidrs or [ANYWHERE]
        place = self.place(cluster.urn)
        private_sides, gaps = self._place_sides(place)
        results = []
        for side in sources:
            if side.subnet is None and side.from_internet:
                results.append(self._public_api(cluster, public, cidrs, side.network, side.name, quantifier))
            elif private:
                results += [
                    self._one(side, t, protocol, KUBERNETES_API_PORT, quantifier) for t in private_sides
                ]
            else:
                # Inside the VPC with no private endpoint: out through NAT to the public endpoint, whose
                # allowed CIDRs must hold the NAT's (unknown) public address.
                public_side = Side(f"{cluster.name} public endpoint", ANYWHERE)
                results.append(
                    combine(
                        self._one(side, public_side, protocol, KUBERNETES_API_PORT, quantifier),
                        self._public_api(
                            cluster, public, cidrs, ANYWHERE, f"{side.name} via NAT", quantifier
                        ),
                    )
                )
        hops = [*source_hops, *place.hops] if private else source_hops
        return _reduce(
            results,
            [*source_gaps, *gaps],
            hops,
            quantifier,
            f"{cluster.name}'s API has no subnet the stack knows",
        )

    def _public_api(
        self,
        cluster: Resource,
        public: bool,
        cidrs: Sequence[IpNetwork],
        network: IpNetwork,
        source_name: str,
        quantifier: Quantifier,
    ) -> Finding:
        if not public:
            missing = f"{cluster.name} vpcConfig.endpointPublicAccess: the public endpoint is off"
            return _broken(Hop("endpoint", missing, cluster.urn, "vpcConfig.endpointPublicAccess"), missing)
        admitted = next((c for c in cidrs if _covers(c, network, quantifier)), None)
        if admitted is None:
            shown = ", ".join(map(str, cidrs))
            missing = f"{cluster.name} vpcConfig.publicAccessCidrs: {shown} does not admit {source_name}"
            return _broken(Hop("endpoint", missing, cluster.urn, "vpcConfig.publicAccessCidrs"), missing)
        text = (
            f"{cluster.name} public endpoint admits {source_name} ({admitted} in vpcConfig.publicAccessCidrs)"
        )
        return _proven([Hop("endpoint", text, cluster.urn, "vpcConfig.publicAccessCidrs")])

    def _node_local(self, source: Endpoint, target: Endpoint, quantifier: Quantifier) -> Finding:
        """Instance metadata and the Pod Identity agent answer on the node itself: no security group, route or
        NACL is crossed, only NetworkPolicies and (for IMDS) the launch template's hop limit."""
        if source.kind != "pods":
            raise ValueError(f"{target} is reached from pods; got {source}")
        pods = self.pod_set(source.value, dict(source.labels))
        if target.kind == "pod-identity-agent":
            ipv6 = any(
                str(c.get("kubernetesNetworkConfig.ipFamily")).lower() == "ipv6"
                for c in self.snapshot.of_type(EKS_CLUSTER)
            )
            address = POD_IDENTITY_ADDRESS_V6 if ipv6 else POD_IDENTITY_ADDRESS
            peer = K8sPeer(f"the Pod Identity agent ({address.network_address})", address)
            return self.network_policies_admit(pods, "egress", peer, "tcp", POD_IDENTITY_PORT, quantifier)
        peer = K8sPeer(f"instance metadata ({IMDS_ADDRESS.network_address})", IMDS_ADDRESS)
        policy = self.network_policies_admit(pods, "egress", peer, "tcp", IMDS_PORT, quantifier)
        node_groups = self.snapshot.of_type(NODE_GROUP)
        results = [combine(self.imds_from_containers(group), policy) for group in node_groups]
        return _reduce(results, [], [], quantifier, "no node group runs pods")


# ---------------------------------------------------------------------------------------------------------
# Pure helpers for Kubernetes objects and answers
# ---------------------------------------------------------------------------------------------------------


def _template_labels(workload: Resource) -> dict[str, str]:
    if workload.type == POD:
        path = "metadata.labels"
    elif workload.type == "kubernetes:batch/v1:CronJob":
        path = "spec.jobTemplate.spec.template.metadata.labels"
    else:
        path = "spec.template.metadata.labels"
    labels = workload.get(path)
    return dict(labels) if isinstance(labels, Mapping) else {}


def _describe_pods(pods: PodSet | None) -> str:
    if pods is None:
        return ""
    name = pods.labels.get("app.kubernetes.io/name") or ",".join(f"{k}={v}" for k, v in pods.labels.items())
    return f"pods {pods.namespace}/{name}"


def _selects(selector: Any, labels: Mapping[str, str]) -> bool:
    """A Kubernetes label selector; an empty or absent one selects everything."""
    if not isinstance(selector, Mapping):
        return True
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions") or []:
        key, operator = expression.get("key"), expression.get("operator")
        values = expression.get("values") or []
        if operator == "In" and labels.get(key) not in values:
            return False
        if operator == "NotIn" and key in labels and labels[key] in values:
            return False
        if operator == "Exists" and key not in labels:
            return False
        if operator == "DoesNotExist" and key in labels:
            return False
    return True


def _k8s_peers_admit(peers: Any, policy_namespace: str, peer: K8sPeer, quantifier: Quantifier) -> bool | None:
    """Whether a rule's `to`/`from` list holds the peer; an absent or empty list holds everything."""
    entries = _as_list(peers)
    if not entries:
        return True
    doubtful = False
    for entry in entries:
        if not isinstance(entry, Mapping):
            continue
        block = entry.get("ipBlock")
        if isinstance(block, Mapping):
            cidr = _network(block.get("cidr"))
            if cidr is None:
                doubtful = True
                continue
            if peer.network is None or not _covers(cidr, peer.network, quantifier):
                continue
            excepted = [e for e in (_network(x) for x in _as_list(block.get("except"))) if e is not None]
            if quantifier is Quantifier.ALL:
                blocked = any(
                    e.version == peer.network.version and e.overlaps(peer.network) for e in excepted
                )  # type: ignore[arg-type]
            else:
                blocked = any(_covers(e, peer.network, Quantifier.ALL) for e in excepted)
            if not blocked:
                return True
            continue
        if peer.pods is None:
            continue
        namespace_selector = entry.get("namespaceSelector")
        in_namespace = (
            _selects(namespace_selector, peer.pods.namespace_labels)
            if namespace_selector is not None
            else peer.pods.namespace == policy_namespace
        )
        if in_namespace and _selects(entry.get("podSelector"), peer.pods.labels):
            return True
    return None if doubtful else False


def _k8s_ports_admit(ports: Any, protocol: str, port: int) -> bool | None:
    entries = _as_list(ports)
    if not entries:
        return True
    doubtful = False
    for entry in entries:
        if not isinstance(entry, Mapping):
            continue
        if str(entry.get("protocol") or "TCP").lower() != protocol:
            continue
        number = entry.get("port")
        if number is None:
            return True
        if isinstance(number, str) and not number.isdigit():
            doubtful = True  # a named port: the container's port names decide
            continue
        low = int(number)
        high = _port(entry.get("endPort"), low)
        if low <= port <= high:
            return True
    return None if doubtful else False


def _port_combination_limit(policies: Sequence[Resource], direction: str) -> Finding | None:
    """The VPC CNI takes at most 24 port/protocol combinations per CIDR across the policies of a pod."""
    combinations: dict[str, set[tuple[str, str, str]]] = {}
    for policy in policies:
        for rule in _as_list(policy.get(f"spec.{direction}")):
            if not isinstance(rule, Mapping):
                continue
            ports = {
                (str(p.get("protocol") or "TCP"), str(p.get("port")), str(p.get("endPort")))
                for p in _as_list(rule.get("ports"))
                if isinstance(p, Mapping)
            }
            for entry in _as_list(rule.get("to" if direction == "egress" else "from")):
                block = entry.get("ipBlock") if isinstance(entry, Mapping) else None
                if not isinstance(block, Mapping):
                    continue
                seen = combinations.setdefault(str(block.get("cidr")), set())
                seen |= ports
                if len(seen) > MAX_PORT_COMBINATIONS:
                    missing = (
                        f"{policy.name} spec.{direction}: {len(seen)} port/protocol combinations for "
                        f"{block.get('cidr')}, above the VPC CNI's {MAX_PORT_COMBINATIONS}"
                    )
                    return _broken(Hop("network-policy", missing, policy.urn, f"spec.{direction}"), missing)
    return None


def _reduce(
    results: Sequence[Finding],
    gaps: Sequence[tuple[str, str]],
    hops: Sequence[Hop],
    quantifier: Quantifier,
    nowhere: str,
) -> Finding:
    """Fold the answers for each pair of placements: all must hold (ALL), or one is enough (ANY)."""
    if quantifier is Quantifier.ANY:
        found = next((r for r in results if r.proven), None)
        if found is not None:
            return Finding(Verdict.PROVEN, (*hops, *found.hops))
    if gaps:
        urn, prop = gaps[0]
        return (
            _unresolved(urn, prop, hops)
            if urn
            else Finding(Verdict.UNRESOLVED, tuple(hops), f"{prop}: unresolved in the preview")
        )
    if not results:
        return Finding(Verdict.BROKEN, tuple(hops), nowhere)
    for verdict in (Verdict.BROKEN, Verdict.UNRESOLVED, Verdict.CONDITIONAL):
        for result in results if quantifier is Quantifier.ALL else results[::-1]:
            if result.verdict is verdict and (quantifier is Quantifier.ALL or verdict is not Verdict.BROKEN):
                return Finding(verdict, (*hops, *result.hops), result.reason)
    if quantifier is Quantifier.ANY:
        return Finding(Verdict.BROKEN, (*hops, *results[0].hops), results[0].reason)
    return Finding(Verdict.PROVEN, (*hops, *results[0].hops))
