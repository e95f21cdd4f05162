"""The VPC: public, private and isolated subnets per AZ, NAT, flow logs and VPC endpoints."""

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Literal

import pulumi
import pulumi_aws as aws
from pydantic import AfterValidator, Field

from components.iam import service_role
from components.kms import aws_context
from components.logs import log_group
from components.observability import AlarmRule, Alerting
from components.subnets import plan_subnets
from paved.errors import ConfigProblem, Hint, invalid
from paved.fields import ConfigModel, LogRetention, RuleContext, cidr_network, distinct

_ANYWHERE = "0.0.0.0/0"
_HTTPS = 443


NatGateways = Literal["single", "perAz"]
InterfaceEndpoint = Literal["secretsmanager", "ecr.api", "ecr.dkr", "sts", "logs", "kms", "ssm", "ec2"]


def vpc_cidr(value: str) -> str:
    network = cidr_network(value)
    if network.version != 4 or not 16 <= network.prefixlen <= 20:
        raise invalid(
            f"{value} must be an IPv4 network from /16 to /20",
            "the VPC is split into public, private and database subnets in up to 3 AZs; "
            "smaller than /20 leaves too few pod IPs (VPC CNI), larger than /16 is not allowed by AWS",
        )
    return value


class NetworkAlarms(ConfigModel):
    nat_port_allocation_errors: AlarmRule  # ErrorPortAllocation, per period and NAT gateway


class NetworkArgs(ConfigModel):
    cidr: Annotated[str, AfterValidator(vpc_cidr)]
    az_count: Annotated[int, Field(ge=2, le=3), Hint("use 2 or 3 Availability Zones; prod requires 3")]
    nat_gateways: NatGateways
    flow_log_retention_days: LogRetention
    interface_endpoints: Annotated[list[InterfaceEndpoint], AfterValidator(distinct)]
    alarms: NetworkAlarms

    def violations(self, path: str, ctx: RuleContext) -> Iterator[ConfigProblem]:
        if not ctx.is_prod:
            return
        if self.az_count != 3:
            yield ConfigProblem(
                f"{path}.azCount",
                f"prod must span 3 Availability Zones, got {self.az_count}",
                "set azCount: 3 so losing one AZ leaves two thirds of the capacity (and quorum) running",
            )
        if self.nat_gateways != "perAz":
            yield ConfigProblem(
                f"{path}.natGateways",
                f"prod needs one NAT gateway per AZ, got {self.nat_gateways!r}",
                "set natGateways: perAz; with a single NAT gateway an AZ outage cuts egress for every AZ",
            )


@dataclass(frozen=True)
class _Tier:
    """How the subnets of one tier are set up."""

    name: str
    # Lets the AWS Load Balancer Controller find where to put internet-facing and internal load balancers:
    # https://kubernetes-sigs.github.io/aws-load-balancer-controller/latest/deploy/subnet_discovery/
    tags: Mapping[str, str]


_PUBLIC = _Tier("public", tags={"kubernetes.io/role/elb": "1"})
_PRIVATE = _Tier("private", tags={"kubernetes.io/role/internal-elb": "1"})
ISOLATED = _Tier("isolated", tags={})


_OUTPUTS = (
    "vpc_id",
    "vpc_cidr",
    "public_subnet_ids",
    "private_subnet_ids",
    "isolated_subnet_ids",
    "availability_zones",
    "nat_gateway_ids",
    "nat_public_ips",
    "flow_log_group_name",
    "endpoint_security_group_id",
    "workload_security_group_id",
)


def availability_zones(count: int, *, parent: pulumi.Resource) -> list[pulumi.Output[str]]:
    """The first `count` available AZs of the region of `parent`'s provider."""
    names = aws.get_availability_zones_output(
        state="available", opts=pulumi.InvokeOutputOptions(parent=parent)
    ).names
    return [names.apply(lambda found, i=i: _nth_zone(found, i)) for i in range(count)]


def tier_subnets(
    name: str,
    tier: _Tier,
    vpc_id: pulumi.Input[str],
    cidrs: Sequence[str],
    zones: Sequence[pulumi.Output[str]],
    tags: Mapping[str, str],
    *,
    parent: pulumi.Resource,
) -> list[aws.ec2.Subnet]:
    """One subnet of `tier` per AZ, `<name>-<tier>-<n>`."""
    subnets = []
    for index, (cidr, zone) in enumerate(zip(cidrs, zones, strict=True)):
        subnet_name = f"{name}-{tier.name}-{index + 1}"
        subnets.append(
            aws.ec2.Subnet(
                subnet_name,
                vpc_id=vpc_id,
                cidr_block=cidr,
                availability_zone=zone,
                # No subnet hands out public addresses (CKV_AWS_130): the public tier holds only the ALB,
                # whose addresses AWS manages, and NAT gateways, which use their own Elastic IPs. EKS
                # nodes and pods live in the private tier.
                map_public_ip_on_launch=False,
                tags={**tags, **tier.tags, "Name": subnet_name},
                opts=pulumi.ResourceOptions(parent=parent),
            )
        )
    return subnets


def _nth_zone(names: Sequence[str], index: int) -> str:
    if index >= len(names):
        raise ValueError(f"the region has only {len(names)} available AZs, the network needs {index + 1}")
    return names[index]


class Network(pulumi.ComponentResource):
    """A VPC spread over `args.az_count` AZs, following the layout of `components.subnets.plan_subnets`.

    Public subnets reach the internet through an internet gateway, private subnets through NAT gateways
    (one in total, or one per AZ), isolated subnets not at all. AWS services are reached through an S3
    gateway endpoint and the interface endpoints in `args.interface_endpoints`. All traffic is logged to
    a CloudWatch log group encrypted with `logs_key_arn`.
    """

    vpc_id: pulumi.Output[str]
    vpc_cidr: pulumi.Output[str]
    public_subnet_ids: pulumi.Output[list[str]]
    private_subnet_ids: pulumi.Output[list[str]]
    isolated_subnet_ids: pulumi.Output[list[str]]
    availability_zones: pulumi.Output[list[str]]
    nat_gateway_ids: pulumi.Output[list[str]]
    nat_public_ips: list[pulumi.Output[str]]
    flow_log_group_name: pulumi.Output[str]
    endpoint_security_group_id: pulumi.Output[str]
    workload_security_group_id: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        args: NetworkArgs,
        *,
        logs_key_arn: pulumi.Input[str],
        alerting: Alerting,
        protect: bool,
        tags: Mapping[str, str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("paved:network:Network", name, None, opts)
        self._name = name
        self._keep_stateful = protect
        self._tags = dict(tags)
        self._context = aws_context(self._child())
        plan = plan_subnets(args.cidr, args.az_count)
        zones = availability_zones(args.az_count, parent=self)

        self._vpc = aws.ec2.Vpc(
            name,
            cidr_block=plan.vpc_cidr,
            enable_dns_support=True,
            enable_dns_hostnames=True,  # required for private DNS names of interface endpoints
            tags=self._tagged(name),
            opts=self._child(),
        )
        empty_default_security_group(name, self._vpc.id, self._tags, parent=self)
        public = tier_subnets(name, _PUBLIC, self._vpc.id, plan.public, zones, self._tags, parent=self)
        private = tier_subnets(name, _PRIVATE, self._vpc.id, plan.private, zones, self._tags, parent=self)
        isolated = tier_subnets(name, ISOLATED, self._vpc.id, plan.isolated, zones, self._tags, parent=self)

        nat_gateways, egress_tables = self._routing(
            public, private, isolated, per_az=args.nat_gateways == "perAz"
        )
        self._nat_alarms(nat_gateways, args.alarms.nat_port_allocation_errors, alerting)
        flow_log_group = vpc_flow_logs(
            name,
            self._vpc.id,
            logs_key_arn=logs_key_arn,
            retention_days=args.flow_log_retention_days,
            protect=protect,
            tags=self._tags,
            parent=self,
        )
        self._s3_gateway_endpoint(egress_tables)
        endpoint_group = self._interface_endpoints(args.interface_endpoints, private)

        self.vpc_id = self._vpc.id
        self.vpc_cidr = self._vpc.cidr_block
        self.public_subnet_ids = pulumi.Output.all(*(subnet.id for subnet in public))
        self.private_subnet_ids = pulumi.Output.all(*(subnet.id for subnet in private))
        self.isolated_subnet_ids = pulumi.Output.all(*(subnet.id for subnet in isolated))
        self.availability_zones = pulumi.Output.all(*zones)
        self.nat_gateway_ids = pulumi.Output.all(*(nat.id for nat in nat_gateways))
        # What the internet sees of the private subnets: one address per NAT gateway.
        self.nat_public_ips = [nat.public_ip for nat in nat_gateways]
        self.flow_log_group_name = flow_log_group.name
        self.endpoint_security_group_id = endpoint_group.id
        self.workload_security_group_id = self._workload_security_group().id
        self.register_outputs({output: getattr(self, output) for output in _OUTPUTS})

    # ---------------------------------------------------------------------------------------------
    # Helpers: each declares one kind of child resource
    # ---------------------------------------------------------------------------------------------

    def _child(self, depends_on: Sequence[pulumi.Resource] = ()) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=self, depends_on=list(depends_on))

    def _tagged(self, name: str, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        return {**self._tags, **(extra or {}), "Name": name}

    def _routing(
        self,
        public: Sequence[aws.ec2.Subnet],
        private: Sequence[aws.ec2.Subnet],
        isolated: Sequence[aws.ec2.Subnet],
        *,
        per_az: bool,
    ) -> tuple[list[aws.ec2.NatGateway], list[aws.ec2.RouteTable]]:
        """Internet routes for public and private subnets; returns the NAT gateways and the route tables of
        the private and isolated subnets (which S3 is routed to)."""
        gateway = aws.ec2.InternetGateway(
            self._name, vpc_id=self._vpc.id, tags=self._tagged(self._name), opts=self._child()
        )
        self._route_table("public", public, gateway_id=gateway.id)
        nat_gateways = self._nat_gateways(public, gateway, per_az=per_az)
        private_tables = [
            self._route_table(
                f"private-{index + 1}", [subnet], nat_gateway_id=nat_gateways[index if per_az else 0].id
            )
            for index, subnet in enumerate(private)
        ]
        isolated_tables = [
            self._route_table(f"isolated-{index + 1}", [subnet]) for index, subnet in enumerate(isolated)
        ]
        return nat_gateways, [*private_tables, *isolated_tables]

    def _route_table(
        self,
        label: str,
        subnets: Sequence[aws.ec2.Subnet],
        *,
        gateway_id: pulumi.Input[str] | None = None,
        nat_gateway_id: pulumi.Input[str] | None = None,
    ) -> aws.ec2.RouteTable:
        """A route table for `subnets`, with a default route only if a gateway is given."""
        table_name = f"{self._name}-{label}"
        table = aws.ec2.RouteTable(
            table_name, vpc_id=self._vpc.id, tags=self._tagged(table_name), opts=self._child()
        )
        if gateway_id is not None or nat_gateway_id is not None:
            aws.ec2.Route(
                f"{table_name}-default",
                route_table_id=table.id,
                destination_cidr_block=_ANYWHERE,
                gateway_id=gateway_id,
                nat_gateway_id=nat_gateway_id,
                opts=self._child(),
            )
        for index, subnet in enumerate(subnets):
            aws.ec2.RouteTableAssociation(
                f"{table_name}-{index + 1}", route_table_id=table.id, subnet_id=subnet.id, opts=self._child()
            )
        return table

    def _nat_gateways(
        self, public: Sequence[aws.ec2.Subnet], gateway: aws.ec2.InternetGateway, *, per_az: bool
    ) -> list[aws.ec2.NatGateway]:
        # A public NAT gateway and its EIP need the VPC's internet gateway to be attached first:
        # https://docs.aws.amazon.com/vpc/latest/userguide/vpc-nat-gateway.html
        nat_gateways = []
        for index, subnet in enumerate(public if per_az else public[:1]):
            nat_name = f"{self._name}-nat-{index + 1}"
            address = aws.ec2.Eip(
                nat_name, domain="vpc", tags=self._tagged(nat_name), opts=self._child([gateway])
            )
            nat_gateways.append(
                aws.ec2.NatGateway(
                    nat_name,
                    allocation_id=address.allocation_id,
                    subnet_id=subnet.id,
                    connectivity_type="public",
                    tags=self._tagged(nat_name),
                    opts=self._child([gateway]),
                )
            )
        return nat_gateways

    def _nat_alarms(
        self, nat_gateways: Sequence[aws.ec2.NatGateway], rule: AlarmRule, alerting: Alerting
    ) -> None:
        # ErrorPortAllocation > 0 means the gateway ran out of source ports and dropped new connections:
        # https://docs.aws.amazon.com/vpc/latest/userguide/nat-gateway-cloudwatch.html
        # No traffic means no datapoints, which is healthy, hence notBreaching.
        errors = rule.threshold_for(
            suffix="port-allocation-errors",
            description=f"NAT gateway out of source ports more than {rule.threshold:g} times "
            f"{rule.window_text}: new outbound connections fail",
            metric_name="ErrorPortAllocation",
            statistic="Sum",
            comparison_operator="GreaterThanThreshold",
            treat_missing_data="notBreaching",
        )
        for index, nat in enumerate(nat_gateways):
            alerting.threshold_alarms(
                f"{self._name}-nat-{index + 1}",
                [errors],
                namespace="AWS/NATGateway",
                dimensions={"NatGatewayId": nat.id},
                parent=self,
                runbook_prefix=f"{self._name}-nat",
            )

    def _s3_gateway_endpoint(self, route_tables: Sequence[aws.ec2.RouteTable]) -> None:
        # Keeps S3 traffic (ECR image layers, backups) off the NAT gateways, at no charge:
        # https://docs.aws.amazon.com/vpc/latest/privatelink/vpc-endpoints-s3.html
        endpoint_name = f"{self._name}-s3"
        aws.ec2.VpcEndpoint(
            endpoint_name,
            vpc_id=self._vpc.id,
            service_name=self._service_name("s3"),
            vpc_endpoint_type="Gateway",
            route_table_ids=[table.id for table in route_tables],
            tags=self._tagged(endpoint_name),
            opts=self._child(),
        )

    def _interface_endpoints(
        self, services: Sequence[str], private: Sequence[aws.ec2.Subnet]
    ) -> aws.ec2.SecurityGroup:
        group = self._endpoint_security_group()
        for service in services:
            endpoint_name = f"{self._name}-{service.replace('.', '-')}"
            aws.ec2.VpcEndpoint(
                endpoint_name,
                vpc_id=self._vpc.id,
                service_name=self._service_name(service),
                vpc_endpoint_type="Interface",
                # Private DNS makes the service's regional name resolve to the endpoint, so SDKs use it
                # unchanged: https://docs.aws.amazon.com/vpc/latest/privatelink/privatelink-access-aws-services.html
                private_dns_enabled=True,
                subnet_ids=[subnet.id for subnet in private],
                security_group_ids=[group.id],
                tags=self._tagged(endpoint_name),
                opts=self._child(),
            )
        return group

    def _endpoint_security_group(self) -> aws.ec2.SecurityGroup:
        group_name = f"{self._name}-endpoints"
        group = aws.ec2.SecurityGroup(
            group_name,
            vpc_id=self._vpc.id,
            description="Interface VPC endpoints: HTTPS from inside the VPC only",
            tags=self._tagged(group_name),
            opts=self._child(),
        )
        # Endpoints only answer connections (security groups are stateful), so egress never needs to
        # leave the VPC; the egress rule replaces the allow-all egress rule a new group would otherwise get.
        rules = (
            (aws.vpc.SecurityGroupIngressRule, "https-in", "HTTPS to AWS service endpoints from the VPC"),
            (aws.vpc.SecurityGroupEgressRule, "https-out", "HTTPS within the VPC only"),
        )
        for rule_type, suffix, description in rules:
            rule_type(
                f"{group_name}-{suffix}",
                security_group_id=group.id,
                description=description,
                ip_protocol="tcp",
                from_port=_HTTPS,
                to_port=_HTTPS,
                cidr_ipv4=self._vpc.cidr_block,
                tags=self._tagged(f"{group_name}-{suffix}"),
                opts=self._child(),
            )
        return group

    def _workload_security_group(self) -> aws.ec2.SecurityGroup:
        # The identity the data tier trusts: the database, proxy and cache admit this group, and the compute
        # tier attaches it to what runs the apps. It carries no rules itself.
        group_name = f"{self._name}-workloads"
        return aws.ec2.SecurityGroup(
            group_name,
            vpc_id=self._vpc.id,
            description="App workloads: membership grants access to the data tier",
            tags=self._tagged(group_name),
            opts=self._child(),
        )

    def _service_name(self, service: str) -> pulumi.Output[str]:
        return pulumi.Output.concat("com.amazonaws.", self._context.region, ".", service)


def empty_default_security_group(
    name: str, vpc_id: pulumi.Input[str], tags: Mapping[str, str], *, parent: pulumi.Resource
) -> aws.ec2.DefaultSecurityGroup:
    """The VPC's default security group, managed without rules: that removes AWS's allow-all rules, so
    nothing that falls back to it gets open network access (CIS AWS Foundations 5.4).
    https://docs.aws.amazon.com/vpc/latest/userguide/default-security-group.html"""
    return aws.ec2.DefaultSecurityGroup(
        f"{name}-default",
        vpc_id=vpc_id,
        tags={**tags, "Name": f"{name}-default-deny-all"},
        opts=pulumi.ResourceOptions(parent=parent),
    )


def vpc_flow_logs(
    name: str,
    vpc_id: pulumi.Input[str],
    *,
    logs_key_arn: pulumi.Input[str],
    retention_days: int,
    protect: bool,
    tags: Mapping[str, str],
    parent: pulumi.Resource,
) -> aws.cloudwatch.LogGroup:
    """All of the VPC's traffic logged to a log group of its own, encrypted with `logs_key_arn`, through a
    role only VPC Flow Logs of this account may assume."""
    flow_name = f"{name}-flow-logs"
    flow_tags = {**tags, "Name": flow_name}
    group = log_group(
        flow_name,
        name=f"/paved/{pulumi.get_stack()}/{name}/vpc-flow-logs",
        kms_key_arn=logs_key_arn,
        retention_days=retention_days,
        protect=protect,
        tags=flow_tags,
        parent=parent,
    )
    # Confused-deputy guard recommended by AWS: only flow logs of this account may assume the role.
    # https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-iam-role.html
    context = aws_context(pulumi.ResourceOptions(parent=parent))
    role = service_role(
        flow_name,
        service="vpc-flow-logs.amazonaws.com",
        description="Lets VPC Flow Logs deliver this VPC's flow logs to its log group",
        inline_policy=_flow_logs_delivery_policy(group.arn),
        source_arn=pulumi.Output.concat(
            "arn:", context.partition, ":ec2:", context.region, ":", context.account, ":vpc-flow-log/*"
        ),
        tags=flow_tags,
        parent=parent,
    )
    aws.ec2.FlowLog(
        flow_name,
        vpc_id=vpc_id,
        traffic_type="ALL",
        log_destination_type="cloud-watch-logs",
        log_destination=group.arn,
        iam_role_arn=role.arn,
        tags=flow_tags,
        # Without the policy in place the first deliveries would be refused.
        opts=pulumi.ResourceOptions(parent=parent, depends_on=role.ready),
    )
    return group


def _flow_logs_delivery_policy(log_group_arn: pulumi.Output[str]) -> pulumi.Output[str]:
    # The actions AWS lists, scoped to our log group and its streams. logs:CreateLogGroup is left out
    # because the group is created here. https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-iam-role.html
    # logs:DescribeLogGroups takes no resource ARN (Service Authorization Reference), so it gets "*": on the
    # group's ARN it would never apply.
    return pulumi.Output.json_dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                    "Resource": [log_group_arn, pulumi.Output.concat(log_group_arn, ":*")],
                },
                {"Effect": "Allow", "Action": "logs:DescribeLogGroups", "Resource": "*"},
            ],
        }
    )
