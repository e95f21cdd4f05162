"""EKS: a private control plane, managed node groups, managed addons, and the Kubernetes provider.

Facts and sources for every setting are in docs/aws-facts/compute.md.
"""

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from datetime import date
from ipaddress import IPv4Network
from typing import Annotated, Any, Literal, NamedTuple, get_args

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
from pydantic import AfterValidator, Field

from components.dashboard import Metric, Widget
from components.iam import GrantedRole, pod_identity_role, policy_document, service_role
from components.kms import KmsKey, aws_context
from components.logs import log_group
from components.observability import AlarmRule, Alerting
from components.security_groups import port_rule, port_security_group
from paved.catalogues import instance_type_problem, today
from paved.errors import ConfigProblem, Hint, invalid
from paved.fields import ConfigModel, LogRetention, RuleContext, cidr_network, distinct, matching

# Every control-plane log type EKS has:
# https://docs.aws.amazon.com/eks/latest/userguide/control-plane-logs.html
CONTROL_PLANE_LOGS = ("api", "audit", "authenticator", "controllerManager", "scheduler")
CLUSTER_ADMIN_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
# Reads every object, Secrets and custom resources too, which a refreshing preview reads and
# AmazonEKSViewPolicy leaves out: https://docs.aws.amazon.com/eks/latest/userguide/access-policy-permissions.html
CLUSTER_VIEW_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSAdminViewPolicy"
# Labels the node groups put on their nodes; README, "Compute tier", documents them.
CAPACITY_LABEL = "paved.dev/capacity"
# Addons that only run DaemonSets on the host network, so they can (and vpc-cni must) exist before any
# node; the others run Deployments and wait for a node group, or the first `pulumi up` times out.
_BEFORE_NODES = ("eks-pod-identity-agent", "vpc-cni", "kube-proxy")
# Addons that call AWS APIs: (namespace, service account, AWS managed policy) of their Pod Identity role.
_ADDON_IDENTITIES = {
    "vpc-cni": ("kube-system", "aws-node", "AmazonEKS_CNI_Policy"),
    "aws-ebs-csi-driver": ("kube-system", "ebs-csi-controller-sa", "service-role/AmazonEBSCSIDriverPolicy"),
    "amazon-cloudwatch-observability": (
        "amazon-cloudwatch",
        "cloudwatch-agent",
        "CloudWatchAgentServerPolicy",
    ),
}
# Container Insights log groups that the add-on's agents would otherwise create without retention or KMS:
# https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Container-Insights-setup-logs-FluentBit.html
# and the scraper's (below). The scraper's is made even with no app to scrape: in prod the groups are
# protected, so one that came and went with the last metricsPath would stop `up` when it went.
_CONTAINER_INSIGHTS_LOGS = ("application", "dataplane", "host", "performance", "prometheus")
# Where the add-on's agents run (aws-observability/helm-charts, charts/amazon-cloudwatch-observability, read
# at chart 6.4.0; docs/aws-facts/observability-agent.md has the rest).
OBSERVABILITY_NAMESPACE = "amazon-cloudwatch"
# The chart's DaemonSet agent (hostNetwork): Container Insights, and Application Signals' OTLP endpoint behind
# the Service cloudwatch-agent.amazon-cloudwatch, which the injected SDK sends to on TCP 4316 (traces and
# metrics) and 2000 (sampling rules); the operator's defaultinstrumentation.go hard-codes both.
NODE_AGENT = "cloudwatch-agent"
APPLICATION_SIGNALS_PORTS = (4316, 2000)
# One more agent, a single-replica Deployment on the pod network, scrapes the apps' Prometheus metrics.
# Nothing in its namespace restricts its egress: paved puts no NetworkPolicy there, and its pod address, in
# the private subnets, reaches the logs endpoint, which admits HTTPS from the VPC (components/network.py), or
# the NAT. The DaemonSet can't scrape: the agent loads the scrape config with Prometheus' config.LoadFile,
# which expands no environment variable (plugins/inputs/prometheus/start.go in aws/amazon-cloudwatch-agent),
# so no relabel rule can keep a node's agent to its own pods, and every node's agent would scrape every pod,
# each count once per node.
METRICS_SCRAPER = "cloudwatch-agent-prometheus"
# CloudWatch namespace of the apps' scraped metrics (emf_processor.metric_namespace), a dimension per app.
APP_METRICS_NAMESPACE = "paved/apps"
# kube-state-metrics (components/controllers.py), installed with a cronjob app: its namespace (no
# NetworkPolicy there, so it reaches the API and the scraper reaches it), its port, and the CronJob series the
# scraper publishes (kube-state-metrics docs/metrics/workload/cronjob-metrics.md: gauges of Unix seconds,
# labelled `namespace` and `cronjob`). A cronjob app is the only CronJob in its namespace, which names it.
KSM_NAMESPACE = "kube-state-metrics"
KSM_PORT = 8080
KSM_LAST_SCHEDULE = "kube_cronjob_status_last_schedule_time"
KSM_LAST_SUCCESS = "kube_cronjob_status_last_successful_time"
KSM_METRICS = (KSM_LAST_SCHEDULE, KSM_LAST_SUCCESS)
_KUBERNETES_API_PORT = 443
# What a service that makes encrypted EBS volumes needs of their key, besides grants.
_VOLUME_KEY_USE = ("kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey")


def _restricted_cidr(value: str) -> str:
    if cidr_network(value).prefixlen == 0:
        raise invalid(
            f"{value} opens the Kubernetes API endpoint to the whole internet",
            "list only office/VPN CIDRs, or set publicEndpoint: false and reach the API from inside the VPC",
        )
    return value


# Address space that is never routed on the internet: RFC 1918, and RFC 6598 shared space, which VPNs such as
# Tailscale hand out to clients.
_PRIVATE_RANGES = tuple(
    IPv4Network(block) for block in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10")
)


def _deployer_cidr(value: str) -> str:
    network = cidr_network(value)
    if network.prefixlen == 0:
        raise invalid(
            f"{value} would admit every address to the Kubernetes API",
            "list only the address range of your runner's subnet or your VPN's clients",
        )
    if not isinstance(network, IPv4Network) or not any(network.subnet_of(block) for block in _PRIVATE_RANGES):
        raise invalid(
            f"{value} is not a private IPv4 range",
            "a security group sees only addresses inside the VPC or arriving over a VPN: list those here; "
            "public addresses reach the API only through the public endpoint, so put them in "
            "paved:cluster.publicAccessCidrs with publicEndpoint: true",
        )
    return value


def agent_pods(agent: str) -> dict[str, str]:
    """Labels on the pods of one of the add-on's agents: part of the selector of the agent's Service, which is
    what lets the VPC CNI's policy controller admit the Service's ClusterIP too (SelectorLabels in
    aws/amazon-cloudwatch-agent-operator, internal/manifests/manifestutils/labels.go)."""
    return {
        "app.kubernetes.io/component": "amazon-cloudwatch-agent",
        "app.kubernetes.io/instance": f"{OBSERVABILITY_NAMESPACE}.{agent}",
    }


class MetricsTarget(NamedTuple):
    """An app the scraper reads: pods labelled app.kubernetes.io/name=`app` in namespace `app`, on `port`."""

    app: str
    port: int
    path: str
    scheme: str  # http or https, as the ALB and the probes talk to the app


# kube-state-metrics' pod, read like an app's: the chart labels it app.kubernetes.io/name in its namespace,
# both named KSM_NAMESPACE.
KSM_TARGET = MetricsTarget(KSM_NAMESPACE, KSM_PORT, "/metrics", "http")


def _scrape_job(cluster_name: str, target: MetricsTarget, *, pod_labels: bool = True) -> dict[str, Any]:
    """A Prometheus scrape job for one app's pods, found through the API (kubernetes_sd, role pod), labelled
    with the dimensions the EMF declaration publishes. Without `pod_labels` the series keep labels of their
    own: kube-state-metrics' `namespace` is the cronjob app's, which no Namespace of its pod may shadow."""
    job: dict[str, Any] = {
        "job_name": target.app,
        "metrics_path": target.path,
        "scheme": target.scheme,
        "kubernetes_sd_configs": [{"role": "pod", "namespaces": {"names": [target.app]}}],
        "relabel_configs": [
            # Only the app's own pods (not its migration Job's), and only on its port.
            {
                "source_labels": ["__meta_kubernetes_pod_label_app_kubernetes_io_name"],
                "regex": target.app,
                "action": "keep",
            },
            {
                "source_labels": ["__meta_kubernetes_pod_container_port_number"],
                "regex": str(target.port),
                "action": "keep",
            },
            *(
                [
                    {"source_labels": ["__meta_kubernetes_namespace"], "target_label": "Namespace"},
                    {"source_labels": ["__meta_kubernetes_pod_name"], "target_label": "PodName"},
                ]
                if pod_labels
                else []
            ),
            {"target_label": "ClusterName", "replacement": cluster_name},
        ],
    }
    if target.scheme == "https":
        # Like the ALB, which doesn't verify the certificate of a target either: the pod's is its own.
        job["tls_config"] = {"insecure_skip_verify": True}
    return job


def observability_values(
    cluster_name: str,
    region: str,
    targets: Sequence[MetricsTarget],
    cronjob_apps: Sequence[str] = (),
) -> dict[str, Any]:
    """The amazon-cloudwatch-observability add-on's configuration values.

    Application Signals' auto-monitor is off: on by default since chart 5.0.0, it injects the ADOT SDK into
    every workload behind a Service on its next rollout (the chart's manager.monitorAllServices helper), whose
    telemetry the apps' default-deny egress would drop; an app opts in with `tracing` instead. With apps to
    scrape, `agents` keeps the DaemonSet as the chart builds it (an entry takes its defaults from `agent`) and
    adds the scraper, whose agent config has only logs.metrics_collected.prometheus: the operator points its
    prometheus_config_path at the scrape config it mounts (internal/manifests/collector/config_replace.go),
    and the chart adds no region to a config without Container Insights or Application Signals.
    """
    auto_monitor = {"autoMonitor": {"monitorAllServices": False}}
    values: dict[str, Any] = {"manager": {"applicationSignals": auto_monitor}}
    if not targets and not cronjob_apps:
        return values
    declarations: list[dict[str, Any]] = []
    if targets:
        declarations.append(
            {
                "source_labels": ["job"],
                "label_matcher": "^(" + "|".join(re.escape(t.app) for t in targets) + ")$",
                "dimensions": [["ClusterName", "Namespace"]],
                "metric_selectors": [".*"],
            }
        )
    if cronjob_apps:
        # The label matcher reads the source labels' values joined by label_separator.
        declarations.append(
            {
                "source_labels": ["job", "namespace"],
                "label_separator": ";",
                "label_matcher": f"^{re.escape(KSM_NAMESPACE)};("
                + "|".join(re.escape(app) for app in sorted(cronjob_apps))
                + ")$",
                "dimensions": [["ClusterName", "namespace"]],
                "metric_selectors": ["^(" + "|".join(KSM_METRICS) + ")$"],
            }
        )
    prometheus = {
        "cluster_name": cluster_name,
        # The agent's own default on EKS (translator/translate/otel/exporter/awsemf/prometheus.go), spelt out:
        # Cluster creates this group first, with retention and KMS, like Container Insights' others.
        "log_group_name": f"/aws/containerinsights/{cluster_name}/prometheus",
        "emf_processor": {
            "metric_namespace": APP_METRICS_NAMESPACE,
            # Every series the apps serve becomes a CloudWatch metric per app (job); the rest of its labels
            # stay in the log event.
            "metric_declaration": declarations,
        },
    }
    scraper = {
        "name": METRICS_SCRAPER,
        "mode": "deployment",
        "replicas": 1,
        # An entry takes `agent`'s hostNetwork: true otherwise (the template reads an entry's own since chart
        # 6.0.0, values.yaml and cloudwatch-agent-custom-resource.yaml; chart 6.4.0 rendered with these values
        # gives this agent hostNetwork: false). On the host network its pod is its node's address to the apps'
        # NetworkPolicies, which would then admit every host-network process of that node, and its :4311
        # server would bind beside the node agent's.
        "hostNetwork": False,
        "config": {"agent": {"region": region}, "logs": {"metrics_collected": {"prometheus": prometheus}}},
        "prometheus": {
            "config": {
                "global": {"scrape_interval": "1m", "scrape_timeout": "10s"},
                "scrape_configs": [
                    *(_scrape_job(cluster_name, target) for target in targets),
                    *([_scrape_job(cluster_name, KSM_TARGET, pod_labels=False)] if cronjob_apps else []),
                ],
            }
        },
    }
    values["agents"] = [{"name": NODE_AGENT}, scraper]
    return values


class EksVersionDates(NamedTuple):
    """One row of EKS's Kubernetes release calendar; each date is a UTC day."""

    eks_release: date
    end_of_standard_support: date
    end_of_extended_support: date


# EKS's release calendar: https://docs.aws.amazon.com/eks/latest/userguide/kubernetes-versions.html
# ("Amazon EKS Kubernetes release calendar"; docs/aws-facts/compute.md says which rows were read there). A
# version gets 14 months of standard support from its EKS release, then 12 months of extended support at six
# times the hourly price; extended billing starts at the beginning of the end date (UTC). Add each new version
# with its dates: config accepts only versions in standard support on the day it runs.
EKS_CALENDAR: Mapping[str, EksVersionDates] = {
    # Read on the AWS page (awsdocs/amazon-eks-user-guide, latest/ug/versioning/kubernetes-versions.adoc).
    "1.33": EksVersionDates(date(2025, 5, 29), date(2026, 7, 29), date(2027, 7, 29)),
    "1.34": EksVersionDates(date(2025, 10, 2), date(2026, 12, 2), date(2027, 12, 2)),
    # Not read on the AWS page: 1.35 from endoflife.date/amazon-eks and AWS's sample-apex-skills calendar;
    # 1.36's EKS release from third parties, its end dates as the page's 14 + 12 month rule gives them.
    "1.35": EksVersionDates(date(2026, 1, 27), date(2027, 3, 27), date(2028, 3, 27)),
    "1.36": EksVersionDates(date(2026, 6, 2), date(2027, 8, 2), date(2028, 8, 2)),
}


def eks_versions_in_standard_support(day: date) -> tuple[str, ...]:
    """The calendar's versions that EKS offers in standard support on `day`."""
    return tuple(
        version
        for version, dates in EKS_CALENDAR.items()
        if dates.eks_release <= day < dates.end_of_standard_support
    )


def eks_version_problem(version: str, day: date) -> tuple[str, str] | None:
    """Why `version` can't be used on `day` (message, hint), or None when it is in standard support."""
    supported = eks_versions_in_standard_support(day)
    if version in supported:
        return None
    choices = ", ".join(
        f"{v} (standard support until {EKS_CALENDAR[v].end_of_standard_support})" for v in supported
    )
    dates = EKS_CALENDAR.get(version)
    if dates is None:
        return (
            f"EKS version {version} is not in paved's EKS calendar",
            f"use one of {choices}; a version EKS released since is added to EKS_CALENDAR in "
            "components/cluster.py with its dates from the EKS release calendar",
        )
    if day < dates.eks_release:
        return (
            f"EKS version {version} is not released on EKS until {dates.eks_release}",
            f"use one of {choices}",
        )
    return (
        f"EKS version {version} left standard support on {dates.end_of_standard_support} (extended support, "
        f"at six times the hourly price, ends {dates.end_of_extended_support})",
        f"use one of {choices}, upgrading one minor version at a time. The cluster's upgradePolicy is "
        "STANDARD, so EKS upgrades a cluster still on this version by itself from that date; EKS can't "
        "downgrade, so a config that still names the old version can't be applied to it: set the version the "
        "cluster runs now",
    )


# The managed addons paved installs, in the order they may start: the first three run before any node, and
# vpc-cni takes its credentials from the Pod Identity agent.
AddonName = Literal[
    "eks-pod-identity-agent",
    "vpc-cni",
    "kube-proxy",
    "coredns",
    "aws-ebs-csi-driver",
    "amazon-cloudwatch-observability",
]
EKS_ADDONS: tuple[str, ...] = get_args(AddonName)


def _ec2_instance_type(instance_type: str) -> str:
    if problem := instance_type_problem(instance_type):
        raise invalid(*problem)
    return instance_type


InstanceType = Annotated[str, AfterValidator(_ec2_instance_type)]
IamRoleArn = Annotated[
    str,
    matching(
        r"arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+",
        "an IAM role ARN",
        "use arn:aws:iam::<account>:role/<name> (access entries take roles, not users or groups here)",
    ),
]
AddonVersion = Annotated[
    str, matching(r"v\d+\.\d+\.\d+-eksbuild\.\d+", "an EKS addon version", "use e.g. v1.19.2-eksbuild.1")
]


class ClusterAlarms(ConfigModel):
    """The nodes' alarms (Container Insights); each unit is in its key's name."""

    node_cpu_percent: AlarmRule
    node_memory_percent: AlarmRule
    failed_nodes: AlarmRule


SecurityGroupId = Annotated[
    str, matching(r"sg-[0-9a-f]{8}(?:[0-9a-f]{9})?", "a security group ID", "use e.g. sg-0123456789abcdef0")
]


class DeployerArgs(ConfigModel):
    """Who runs the Kubernetes half of `pulumi up` against the private API endpoint, admitted on 443."""

    security_group_ids: Annotated[
        list[SecurityGroupId],
        AfterValidator(distinct),
        Hint("list security groups of runners in the cluster's VPC; a group of another VPC matches nothing"),
    ]
    cidrs: Annotated[list[Annotated[str, AfterValidator(_deployer_cidr)]], AfterValidator(distinct)]

    @property
    def is_set(self) -> bool:
        return bool(self.security_group_ids or self.cidrs)


def is_graviton(instance_type: str) -> bool:
    """Whether an instance type is Arm (Graviton): a `g` after the generation digit (m7g, t4g, c7gn)."""
    return re.fullmatch(r"[a-z]+\d+g[a-z]*", instance_type.split(".")[0], re.ASCII) is not None


class SpotNodes(ConfigModel):
    enabled: bool
    instance_types: Annotated[
        list[InstanceType],
        Field(min_length=2),
        AfterValidator(distinct),
        Hint("spot capacity runs out per instance type: list at least two of the same size"),
    ]
    min: Annotated[int, Field(ge=0)]
    max: Annotated[int, Field(ge=1)]

    def violations(self, path: str, ctx: RuleContext) -> Iterator[ConfigProblem]:
        if self.min > self.max:
            yield ConfigProblem(
                f"{path}.min", f"must be ≤ spot.max ({self.max}), got {self.min}", "raise max or lower min"
            )


class ClusterArgs(ConfigModel):
    version: Annotated[
        str,
        matching(
            r"1\.\d{2}",
            "a Kubernetes minor version",
            'use a quoted EKS version such as "1.36" (unquoted 1.30 is read as the number 1.3)',
        ),
    ]
    node_instance_types: Annotated[
        list[InstanceType],
        Field(min_length=1),
        AfterValidator(distinct),
        Hint("list at least one EC2 instance type for the managed node group"),
    ]
    node_min: Annotated[int, Field(ge=1), Hint("the cluster needs at least one node for its system pods")]
    node_max: Annotated[int, Field(ge=1)]
    node_desired: Annotated[int, Field(ge=1)]
    node_volume_gib: Annotated[
        int, Field(ge=20, le=16384), Hint("a gp3 root volume from 20 GiB (images and logs) to 16384 GiB")
    ]
    secret_refresh_minutes: Annotated[
        int,
        Field(ge=1, le=1440),
        Hint("how often External Secrets reads each app's secrets again: 1 to 1440 minutes"),
    ]
    spot: SpotNodes
    public_endpoint: bool
    public_access_cidrs: Annotated[
        list[Annotated[str, AfterValidator(_restricted_cidr)]], AfterValidator(distinct)
    ]
    deployer: DeployerArgs
    alarms: ClusterAlarms
    admin_role_arns: Annotated[
        list[IamRoleArn],
        Field(min_length=1),
        AfterValidator(distinct),
        Hint(
            "list the IAM roles that get cluster-admin through EKS access entries, including the role that "
            "runs `pulumi up`: nobody else can reach the Kubernetes API, so its objects could not be applied"
        ),
    ]
    viewer_role_arns: Annotated[
        list[IamRoleArn],
        AfterValidator(distinct),
        Hint("list the roles that only read the cluster, e.g. the bootstrap's paved-github-preview"),
    ]
    log_retention_days: LogRetention
    create_autoscaling_service_role: Annotated[
        bool,
        Hint(
            "true only in an account that has never used EC2 Auto Scaling (no AWSServiceRoleForAutoScaling); "
            "creating it where it exists fails"
        ),
    ]
    addon_versions: Annotated[
        dict[AddonName, AddonVersion],
        Hint("pin an addon, e.g. vpc-cni: v1.19.2-eksbuild.1; others take EKS's default for the version"),
    ]

    def violations(self, path: str, ctx: RuleContext) -> Iterator[ConfigProblem]:
        if problem := eks_version_problem(self.version, today()):
            yield ConfigProblem(f"{path}.version", *problem)
        order_hint = "EKS node groups require nodeMin ≤ nodeDesired ≤ nodeMax"
        if self.node_desired < self.node_min:
            yield ConfigProblem(
                f"{path}.nodeDesired",
                f"must be ≥ nodeMin ({self.node_min}), got {self.node_desired}",
                order_hint,
            )
        if self.node_desired > self.node_max:
            yield ConfigProblem(
                f"{path}.nodeDesired",
                f"must be ≤ nodeMax ({self.node_max}), got {self.node_desired}",
                order_hint,
            )
        yield from self.spot.violations(f"{path}.spot", ctx)
        # One launch template and AMI type serve both node groups, so they share one CPU architecture.
        groups = [("nodeInstanceTypes", self.node_instance_types)]
        if self.spot.enabled:
            groups.append(("spot.instanceTypes", self.spot.instance_types))
        graviton = is_graviton(self.node_instance_types[0])
        for key, types in groups:
            for index, instance_type in enumerate(types):
                if is_graviton(instance_type) != graviton:
                    yield ConfigProblem(
                        f"{path}.{key}[{index}]",
                        f"{instance_type} is {'Arm' if not graviton else 'x86'}, unlike "
                        f"{self.node_instance_types[0]}",
                        "use instance types of one architecture: all Graviton (m7g, c7g...) or all x86",
                    )
        # With no CIDRs EKS opens the public endpoint to 0.0.0.0/0:
        # https://docs.aws.amazon.com/eks/latest/userguide/cluster-endpoint.html
        if self.public_endpoint and not self.public_access_cidrs:
            yield ConfigProblem(
                f"{path}.publicAccessCidrs",
                "a public endpoint needs at least one allowed CIDR",
                "EKS would allow 0.0.0.0/0; list your office/VPN CIDRs or set publicEndpoint: false",
            )
        # EKS takes one access entry per principal: a role can't be both.
        for index, role_arn in enumerate(self.viewer_role_arns):
            if role_arn in self.admin_role_arns:
                yield ConfigProblem(
                    f"{path}.viewerRoleArns[{index}]",
                    "is also in adminRoleArns",
                    "EKS gives a principal one access entry: list the role in one of the two",
                )
        if ctx.is_prod and not self.public_endpoint and not self.deployer.is_set:
            yield ConfigProblem(
                f"{path}.deployer",
                "the Kubernetes API is private and nothing may reach it, so `pulumi up` cannot apply the "
                "cluster's Kubernetes objects",
                f"set {path}.deployer to one of: securityGroupIds with the security group of a runner inside "
                "the VPC; cidrs with your VPN's client range; or set publicEndpoint: true with the runner's "
                'public addresses in publicAccessCidrs (README, "Deploying to a private cluster")',
            )


def _kubeconfig(
    name: pulumi.Input[str],
    endpoint: pulumi.Input[str],
    ca_data: pulumi.Input[str],
    region: pulumi.Input[str],
) -> pulumi.Output[str]:
    """A kubeconfig that fetches a short-lived token with `aws eks get-token`; no credential is stored."""
    return pulumi.Output.json_dumps(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {"name": "eks", "cluster": {"server": endpoint, "certificate-authority-data": ca_data}}
            ],
            "contexts": [{"name": "eks", "context": {"cluster": "eks", "user": "aws"}}],
            "current-context": "eks",
            "users": [
                {
                    "name": "aws",
                    "user": {
                        "exec": {
                            "apiVersion": "client.authentication.k8s.io/v1beta1",
                            "command": "aws",
                            "args": [
                                "eks",
                                "get-token",
                                "--cluster-name",
                                name,
                                "--region",
                                region,
                                "--output",
                                "json",
                            ],
                        }
                    },
                }
            ],
        }
    )


class _NodePlacement(NamedTuple):
    cluster: aws.eks.Cluster
    subnet_ids: pulumi.Input[Sequence[str]]
    role: GrantedRole
    template: aws.ec2.LaunchTemplate
    depends_on: Sequence[pulumi.Resource]


class Cluster(pulumi.ComponentResource):
    """An EKS cluster whose API is private (open on 443 to `paved:cluster.deployer` alone, and public only to
    `publicAccessCidrs` when config asks for it), with secrets envelope
    encryption, every control-plane log, API-mode access entries, IMDSv2-only nodes on encrypted gp3
    volumes, and the managed addons, each with its own Pod Identity role where it calls AWS."""

    cluster_name: pulumi.Output[str]
    cluster_arn: pulumi.Output[str]
    cluster_endpoint: pulumi.Output[str]
    cluster_security_group_id: pulumi.Output[str]
    node_role_arn: pulumi.Output[str]
    volume_key_arn: pulumi.Output[str]
    oidc_provider_arn: pulumi.Output[str]
    oidc_issuer: pulumi.Output[str]
    kubeconfig: pulumi.Output[str]
    provider: k8s.Provider
    ready: list[pulumi.Resource]

    def __init__(
        self,
        name: str,
        args: ClusterArgs,
        *,
        vpc_id: pulumi.Input[str],
        subnet_ids: pulumi.Input[Sequence[str]],
        workload_security_group_id: pulumi.Input[str],
        secrets_key_arn: pulumi.Input[str],
        logs_key_arn: pulumi.Input[str],
        alerting: Alerting,
        protect: bool,
        tags: Mapping[str, str],
        metrics_targets: Sequence[MetricsTarget] = (),
        cronjob_apps: Sequence[str] = (),
        volume_zones: int | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        """`volume_zones`: the number of zones (private subnets) when pods keep data on EBS volumes (NATS);
        then the on-demand nodes are one group per zone and the EBS CSI driver may use the volumes key."""
        super().__init__("paved:cluster:Cluster", name, None, opts)
        self._name = name
        self._args = args
        self._metrics_targets = list(metrics_targets)
        self._cronjob_apps = list(cronjob_apps)
        self._volume_zones = volume_zones
        self._tags = dict(tags)
        self._context = aws_context(pulumi.ResourceOptions(parent=self))
        cluster_name = self._cluster_name = f"paved-{pulumi.get_stack()}"
        logs = log_group(
            f"{name}-control-plane",
            # EKS writes to this fixed name; creating it first is how it gets retention and KMS.
            name=f"/aws/eks/{cluster_name}/cluster",
            kms_key_arn=logs_key_arn,
            retention_days=args.log_retention_days,
            protect=protect,
            tags=self._tags,
            parent=self,
        )
        self._insights_logs = [
            log_group(
                f"{name}-insights-{stream}",
                name=f"/aws/containerinsights/{cluster_name}/{stream}",
                kms_key_arn=logs_key_arn,
                retention_days=args.log_retention_days,
                protect=protect,
                tags=self._tags,
                parent=self,
            )
            for stream in _CONTAINER_INSIGHTS_LOGS
        ]
        deployer = self._deployer_security_group(vpc_id)
        cluster = self._cluster(cluster_name, subnet_ids, deployer, secrets_key_arn, logs, protect)
        self.cluster_name = cluster.name
        self.cluster_arn = cluster.arn
        self.cluster_endpoint = cluster.endpoint
        self.cluster_security_group_id = cluster.vpc_config.apply(
            lambda config: config.cluster_security_group_id or ""
        )
        admins = self._access_entries(cluster)
        issuer = cluster.identities.apply(
            lambda ids: (ids[0].oidcs[0].issuer or "") if ids and ids[0].oidcs else ""
        )
        # IRSA, for what must act as one service account (External Secrets reading an app's secrets with
        # that app's token); controllers and addons use Pod Identity. Thumbprints are optional since 2024.
        oidc = aws.iam.OpenIdConnectProvider(
            f"{name}-oidc",
            url=issuer,
            client_id_lists=["sts.amazonaws.com"],
            tags=self._tags,
            opts=self._here(),
        )
        self.oidc_provider_arn = oidc.arn
        self.oidc_issuer = issuer.apply(lambda url: url.removeprefix("https://"))
        agent = self._addon(cluster, "eks-pod-identity-agent")
        # vpc-cni crash-loops on a new node until the agent can hand it its credentials.
        early_addons = [agent, *(self._addon(cluster, addon, [agent]) for addon in _BEFORE_NODES[1:])]
        node_role = self._node_role()
        self.node_role_arn = node_role.arn
        template = self._launch_template(workload_security_group_id, protect)
        node_groups = self._node_groups(cluster, subnet_ids, node_role, template, depends_on=early_addons)
        late_addons = [
            self._addon(cluster, addon, depends_on=node_groups)
            for addon in EKS_ADDONS
            if addon not in _BEFORE_NODES
        ]
        self._alarms(alerting, cluster)
        self.kubeconfig = pulumi.Output.secret(
            _kubeconfig(
                cluster.name, cluster.endpoint, cluster.certificate_authority.data, self._context.region
            )
        )
        self.provider = k8s.Provider(
            f"{name}-kubernetes",
            kubeconfig=self.kubeconfig,
            opts=pulumi.ResourceOptions(parent=self, depends_on=admins),
        )
        # Kubernetes objects wait for nodes and for every addon, CoreDNS and the agents included.
        self.ready = [*node_groups, *early_addons, *late_addons]
        self.register_outputs(
            {
                "cluster_name": self.cluster_name,
                "cluster_arn": self.cluster_arn,
                "cluster_endpoint": self.cluster_endpoint,
                "cluster_security_group_id": self.cluster_security_group_id,
                "node_role_arn": self.node_role_arn,
                "oidc_provider_arn": self.oidc_provider_arn,
            }
        )

    def _here(self, depends_on: Sequence[pulumi.Resource] = ()) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=self, depends_on=list(depends_on))

    def _deployer_security_group(self, vpc_id: pulumi.Input[str]) -> aws.ec2.SecurityGroup | None:
        """Admits `paved:cluster.deployer` to the private API endpoint, and nothing else; None without one.

        EKS puts the groups of `vpc_config.security_group_ids` on the control plane's network interfaces only,
        never on node groups (https://docs.aws.amazon.com/eks/latest/userguide/sec-group-reqs.html), which
        is why the rule lives here and not on the EKS-created cluster security group: the launch template puts
        that group on every node, so 443 would open on all of them. A private-only endpoint needs exactly
        this rule for a runner or VPN outside the node groups
        (https://docs.aws.amazon.com/eks/latest/userguide/cluster-endpoint.html). No egress rules: the
        control plane's own traffic to the nodes goes through the cluster security group, which it also has.
        """
        deployer = self._args.deployer
        if not deployer.is_set:
            return None
        name = f"{self._name}-deployer"
        group = port_security_group(
            name,
            vpc_id=vpc_id,
            description="EKS API endpoint: TCP 443 from the deployer only",
            port=_KUBERNETES_API_PORT,
            sources={group_id: group_id for group_id in deployer.security_group_ids},
            tags=self._tags,
            parent=self,
        )
        for cidr in deployer.cidrs:
            port_rule(
                group,
                f"{name}-from-{cidr.replace('/', '-')}",
                direction="from",
                port=_KUBERNETES_API_PORT,
                peer_cidr=cidr,
                tags=self._tags,
                parent=self,
            )
        return group

    def _cluster(
        self,
        cluster_name: str,
        subnet_ids: pulumi.Input[Sequence[str]],
        deployer: aws.ec2.SecurityGroup | None,
        secrets_key_arn: pulumi.Input[str],
        logs: aws.cloudwatch.LogGroup,
        protect: bool,
    ) -> aws.eks.Cluster:
        # EKS needs these on the envelope key, besides the managed policy:
        # https://docs.aws.amazon.com/eks/latest/userguide/enable-kms.html
        encryption = policy_document(
            {
                "Effect": "Allow",
                "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ListGrants", "kms:DescribeKey"],
                "Resource": secrets_key_arn,
            }
        )
        role = service_role(
            f"{self._name}-control-plane",
            service="eks.amazonaws.com",
            description="EKS control plane",
            managed_policy_arns=["iam::aws:policy/AmazonEKSClusterPolicy"],
            inline_policy=encryption,
            source_account_guard=False,
            tags=self._tags,
            parent=self,
        )
        args = self._args
        return aws.eks.Cluster(
            self._name,
            name=cluster_name,
            version=args.version,
            role_arn=role.arn,
            vpc_config=aws.eks.ClusterVpcConfigArgs(
                subnet_ids=subnet_ids,
                # UpdateClusterConfig changes these groups in place since October 2023, and the provider
                # no longer replaces the cluster for it (hashicorp/terraform-provider-aws#34209), so the
                # deployer can change later: https://docs.aws.amazon.com/eks/latest/APIReference/API_UpdateClusterConfig.html
                security_group_ids=[deployer.id] if deployer else None,
                endpoint_private_access=True,
                endpoint_public_access=args.public_endpoint,
                public_access_cidrs=args.public_access_cidrs if args.public_endpoint else None,
            ),
            access_config=aws.eks.ClusterAccessConfigArgs(
                authentication_mode="API",
                # Who administers the cluster is the access entries below, not whoever ran the first `up`.
                bootstrap_cluster_creator_admin_permissions=False,
            ),
            encryption_config=aws.eks.ClusterEncryptionConfigArgs(
                provider=aws.eks.ClusterEncryptionConfigProviderArgs(key_arn=secrets_key_arn),
                resources=["secrets"],
            ),
            enabled_cluster_log_types=list(CONTROL_PLANE_LOGS),
            # paved installs vpc-cni, kube-proxy and CoreDNS as managed addons, so EKS must not install
            # unmanaged copies first.
            bootstrap_self_managed_addons=False,
            # At the end of standard support EKS upgrades the cluster rather than billing extended support
            # (six times the hourly price); README says how to plan upgrades before that.
            upgrade_policy=aws.eks.ClusterUpgradePolicyArgs(support_type="STANDARD"),
            deletion_protection=protect,
            tags=self._tags,
            opts=pulumi.ResourceOptions(parent=self, protect=protect, depends_on=[logs, *role.ready]),
        )

    def _access_entries(self, cluster: aws.eks.Cluster) -> list[pulumi.Resource]:
        associations: list[pulumi.Resource] = []
        kinds = (
            ("admin", self._args.admin_role_arns, CLUSTER_ADMIN_POLICY),
            ("viewer", self._args.viewer_role_arns, CLUSTER_VIEW_POLICY),
        )
        for kind, role_arns, policy_arn in kinds:
            for index, role_arn in enumerate(role_arns):
                entry = aws.eks.AccessEntry(
                    f"{self._name}-{kind}-{index}",
                    cluster_name=cluster.name,
                    principal_arn=role_arn,
                    type="STANDARD",
                    tags=self._tags,
                    opts=self._here(),
                )
                associations.append(
                    aws.eks.AccessPolicyAssociation(
                        f"{self._name}-{kind}-{index}",
                        cluster_name=cluster.name,
                        principal_arn=entry.principal_arn,
                        policy_arn=policy_arn,
                        access_scope=aws.eks.AccessPolicyAssociationAccessScopeArgs(type="cluster"),
                        opts=self._here(),
                    )
                )
        return associations

    def _addon_role(self, cluster: aws.eks.Cluster, addon: str) -> tuple[str, GrantedRole] | None:
        """The service account and Pod Identity role of an addon that calls AWS APIs; None for the others."""
        if addon not in _ADDON_IDENTITIES:
            return None
        namespace, service_account, policy = _ADDON_IDENTITIES[addon]
        ebs_volumes = addon == "aws-ebs-csi-driver" and self._volume_zones is not None
        role = pod_identity_role(
            f"{self._name}-{addon}",
            cluster_name=cluster.name,
            namespace=namespace,
            service_account=service_account,
            description=f"EKS addon {addon}",
            managed_policy_arns=[f"iam::aws:policy/{policy}"],
            inline_policies=[self._volume_key_use()] if ebs_volumes else [],
            tags=self._tags,
            parent=self,
        )
        return service_account, role

    def _addon(
        self, cluster: aws.eks.Cluster, addon: str, depends_on: Sequence[pulumi.Resource] = ()
    ) -> aws.eks.Addon:
        configuration: dict[str, Any] = {}
        if addon == "vpc-cni":
            # NetworkPolicy objects do nothing until the CNI's network policy agent is on:
            # https://docs.aws.amazon.com/eks/latest/userguide/cni-network-policy-configure.html
            configuration = {"enableNetworkPolicy": "true"}
        values: pulumi.Input[str] | None = json.dumps(configuration) if configuration else None
        if addon == "amazon-cloudwatch-observability":
            cluster_name, targets, cronjobs = self._cluster_name, self._metrics_targets, self._cronjob_apps
            values = pulumi.Output.from_input(self._context.region).apply(
                lambda region: json.dumps(observability_values(cluster_name, region, targets, cronjobs))
            )
            # As the control plane's group before the cluster: a group the agents find missing, they create
            # without retention or KMS, and paved's own create of it then fails with ResourceAlreadyExists.
            depends_on = [*depends_on, *self._insights_logs]
        identity = self._addon_role(cluster, addon)
        associations = None
        if identity is not None:
            service_account, role = identity
            associations = [
                aws.eks.AddonPodIdentityAssociationArgs(role_arn=role.arn, service_account=service_account)
            ]
            depends_on = [*depends_on, *role.ready]
        return aws.eks.Addon(
            f"{self._name}-{addon}",
            cluster_name=cluster.name,
            addon_name=addon,
            # Unpinned addons get EKS's default version for the cluster's Kubernetes version.
            addon_version=self._args.addon_versions.get(addon),  # type: ignore[call-overload]
            configuration_values=values,
            pod_identity_associations=associations,
            resolve_conflicts_on_create="OVERWRITE",
            resolve_conflicts_on_update="OVERWRITE",
            tags=self._tags,
            opts=self._here(depends_on),
        )

    def _volume_key_use(self) -> pulumi.Output[str]:
        """What the EBS CSI driver needs of a customer managed key to create and attach volumes encrypted with
        it, besides AmazonEBSCSIDriverPolicy: https://docs.aws.amazon.com/eks/latest/userguide/csi-iam-role.html
        (the key's policy lets IAM policies of the account grant it)."""
        return policy_document(
            {
                "Effect": "Allow",
                "Action": ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"],
                "Resource": self.volume_key_arn,
                "Condition": {"Bool": {"kms:GrantIsForAWSResource": True}},
            },
            {
                "Effect": "Allow",
                "Action": list(_VOLUME_KEY_USE),
                "Resource": self.volume_key_arn,
            },
        )

    def _node_role(self) -> GrantedRole:
        # The CNI policy is not here: vpc-cni gets it through its own Pod Identity role.
        return service_role(
            f"{self._name}-nodes",
            service="ec2.amazonaws.com",
            description="EKS managed nodes",
            managed_policy_arns=[
                "iam::aws:policy/AmazonEKSWorkerNodePolicy",
                "iam::aws:policy/AmazonEC2ContainerRegistryPullOnly",
            ],
            source_account_guard=False,
            tags=self._tags,
            parent=self,
        )

    def _volume_key(self, protect: bool) -> KmsKey:
        # Auto Scaling launches the nodes, so its service-linked role must be able to use the key:
        # https://docs.aws.amazon.com/autoscaling/ec2/userguide/key-policy-requirements-EBS-encryption.html
        scaling_role = pulumi.Output.concat(
            "arn:",
            self._context.partition,
            ":iam::",
            self._context.account,
            ":role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling",
        )
        # A key policy naming a role that does not exist is rejected, so a new account creates it first.
        role_opts = None
        if self._args.create_autoscaling_service_role:
            role = aws.iam.ServiceLinkedRole(
                f"{self._name}-autoscaling", aws_service_name="autoscaling.amazonaws.com", opts=self._here()
            )
            role_opts = [role]
        return KmsKey(
            f"{self._name}-volumes",
            description="paved: encrypts the EKS nodes' EBS volumes",
            extra_statements=[
                {
                    "Sid": "AutoScalingUse",
                    "Effect": "Allow",
                    "Principal": {"AWS": scaling_role},
                    "Action": list(_VOLUME_KEY_USE),
                    "Resource": "*",
                },
                {
                    "Sid": "AutoScalingAttachVolumes",
                    "Effect": "Allow",
                    "Principal": {"AWS": scaling_role},
                    "Action": "kms:CreateGrant",
                    "Resource": "*",
                    "Condition": {"Bool": {"kms:GrantIsForAWSResource": True}},
                },
            ],
            tags=self._tags,
            opts=pulumi.ResourceOptions(parent=self, protect=protect, depends_on=role_opts),
        )

    def _launch_template(
        self, workload_security_group_id: pulumi.Input[str], protect: bool
    ) -> aws.ec2.LaunchTemplate:
        key = self._volume_key(protect)
        self.volume_key_arn = key.key_arn
        # No instance profile, key pair or user data: EKS adds the node role's profile and bootstrap itself,
        # and rejects a template with an instance profile.
        return aws.ec2.LaunchTemplate(
            f"{self._name}-nodes",
            description="EKS managed nodes: IMDSv2 only, encrypted gp3 root volume, no SSH",
            metadata_options=aws.ec2.LaunchTemplateMetadataOptionsArgs(
                http_endpoint="enabled",
                http_tokens="required",
                # Two hops: the CloudWatch agent reads instance metadata from inside its container
                # (https://github.com/aws/amazon-cloudwatch-agent/pull/480). App pods still cannot reach
                # IMDS: their NetworkPolicies allow no egress to port 80, and they get credentials from
                # Pod Identity or IRSA, never from the node role.
                http_put_response_hop_limit=2,
            ),
            block_device_mappings=[
                aws.ec2.LaunchTemplateBlockDeviceMappingArgs(
                    # The root device of the Amazon Linux 2023 EKS AMIs.
                    device_name="/dev/xvda",
                    ebs=aws.ec2.LaunchTemplateBlockDeviceMappingEbsArgs(
                        volume_size=self._args.node_volume_gib,
                        volume_type="gp3",
                        encrypted="true",
                        kms_key_id=key.key_arn,
                        delete_on_termination="true",
                    ),
                )
            ],
            # The cluster security group keeps node <-> control plane traffic working (EKS only adds it
            # when a template names no groups); the workload group is what the data stores admit.
            vpc_security_group_ids=[self.cluster_security_group_id, workload_security_group_id],
            tag_specifications=[
                aws.ec2.LaunchTemplateTagSpecificationArgs(resource_type=kind, tags=self._tags)
                for kind in ("instance", "volume", "network-interface")
            ],
            update_default_version=True,
            tags=self._tags,
            opts=self._here(),
        )

    def _node_groups(
        self,
        cluster: aws.eks.Cluster,
        subnet_ids: pulumi.Input[Sequence[str]],
        role: GrantedRole,
        template: aws.ec2.LaunchTemplate,
        depends_on: Sequence[pulumi.Resource],
    ) -> list[aws.eks.NodeGroup]:
        args = self._args
        groups = {"on-demand": (args.node_instance_types, (args.node_min, args.node_desired, args.node_max))}
        if args.spot.enabled:
            groups["spot"] = (args.spot.instance_types, (args.spot.min, args.spot.min, args.spot.max))
        placement = _NodePlacement(cluster, subnet_ids, role, template, depends_on)
        zones = self._volume_zones
        if zones is None:
            return [
                self._node_group(placement, capacity, types, sizes)
                for capacity, (types, sizes) in groups.items()
            ]
        # A pod bound to an EBS volume can only run in the volume's zone. One Auto Scaling group across zones
        # lets the autoscaler add a node in any of them, so a pending pod may never get one in its own; one
        # group per zone, balanced as similar groups, can: https://docs.aws.amazon.com/eks/latest/best-practices/cas.html
        # ("EBS Volumes"). Each zone's bounds are the totals' share, rounded up.
        types, sizes = groups.pop("on-demand")
        minimum, desired, maximum = (-(-size // zones) for size in sizes)
        subnets = pulumi.Output.from_input(subnet_ids)
        zonal = [
            self._node_group(
                placement._replace(subnet_ids=subnets.apply(lambda ids, zone=zone: [ids[zone]])),
                "on-demand",
                types,
                (minimum, desired, maximum),
                name=f"on-demand-{zone + 1}",
            )
            for zone in range(zones)
        ]
        return zonal + [
            self._node_group(placement, capacity, types, sizes) for capacity, (types, sizes) in groups.items()
        ]

    def _node_group(
        self,
        placement: "_NodePlacement",
        capacity: str,
        instance_types: Sequence[str],
        sizes: tuple[int, int, int],
        name: str | None = None,
    ) -> aws.eks.NodeGroup:
        cluster, subnet_ids, role, template, depends_on = placement
        minimum, desired, maximum = sizes
        spot = capacity == "spot"
        return aws.eks.NodeGroup(
            f"{self._name}-{name or capacity}",
            cluster_name=cluster.name,
            # Without a version the group keeps the one it was created with when the cluster is upgraded,
            # and ages out of standard support (FSBP EKS.9); with the cluster's, the same `up` rolls the
            # nodes after the control plane: https://docs.aws.amazon.com/eks/latest/userguide/update-managed-node-group.html
            version=cluster.version,
            node_role_arn=role.arn,
            subnet_ids=subnet_ids,
            capacity_type="SPOT" if spot else "ON_DEMAND",
            instance_types=list(instance_types),
            ami_type="AL2023_ARM_64_STANDARD" if is_graviton(instance_types[0]) else "AL2023_x86_64_STANDARD",
            scaling_config=aws.eks.NodeGroupScalingConfigArgs(
                min_size=minimum, desired_size=desired, max_size=maximum
            ),
            # A third of the nodes at a time: upgrades finish in a few rounds and PDBs keep apps up.
            update_config=aws.eks.NodeGroupUpdateConfigArgs(max_unavailable_percentage=33),
            launch_template=aws.eks.NodeGroupLaunchTemplateArgs(
                id=template.id, version=template.latest_version.apply(str)
            ),
            labels={CAPACITY_LABEL: capacity},
            # Spot nodes can be reclaimed with two minutes' notice: pods land there only when on-demand
            # nodes are full.
            taints=[aws.eks.NodeGroupTaintArgs(key=CAPACITY_LABEL, value="spot", effect="PREFER_NO_SCHEDULE")]
            if spot
            else None,
            node_repair_config=aws.eks.NodeGroupNodeRepairConfigArgs(enabled=True),
            tags=self._tags,
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[*role.ready, *depends_on],
                # The cluster autoscaler owns the desired size between min and max.
                ignore_changes=["scalingConfig.desiredSize"],
            ),
        )

    def _alarms(self, alerting: Alerting, cluster: aws.eks.Cluster) -> None:
        # Container Insights metrics (amazon-cloudwatch-observability addon):
        # https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Container-Insights-metrics-EKS.html
        limits = self._args.alarms
        cpu, memory, failed = limits.node_cpu_percent, limits.node_memory_percent, limits.failed_nodes
        thresholds = [
            cpu.threshold_for(
                suffix="node-cpu",
                description=f"EKS nodes average above {cpu.threshold:g}% CPU {cpu.window_text}: pods are "
                "throttled; is the autoscaler at max?",
                metric_name="node_cpu_utilization",
                statistic="Average",
                comparison_operator="GreaterThanThreshold",
                treat_missing_data="missing",
            ),
            memory.threshold_for(
                suffix="node-memory",
                description=f"EKS nodes average above {memory.threshold:g}% memory "
                f"{memory.window_text}: pods risk eviction and OOM kills",
                metric_name="node_memory_utilization",
                statistic="Average",
                comparison_operator="GreaterThanThreshold",
                treat_missing_data="missing",
            ),
            failed.threshold_for(
                suffix="failed-nodes",
                description=f"More than {failed.threshold:g} EKS nodes failing (NotReady or unhealthy) "
                f"{failed.window_text}",
                metric_name="cluster_failed_node_count",
                statistic="Maximum",
                comparison_operator="GreaterThanThreshold",
                treat_missing_data="notBreaching",
            ),
        ]
        alerting.threshold_alarms(
            self._name,
            thresholds,
            namespace="ContainerInsights",
            dimensions={"ClusterName": cluster.name},
            parent=self,
        )
        region, by_cluster = self._context.region, {"ClusterName": cluster.name}
        self.widgets = [
            Widget(
                "Nodes: CPU and memory (%)",
                region,
                [
                    Metric("ContainerInsights", "node_cpu_utilization", by_cluster, "Average", "CPU"),
                    Metric("ContainerInsights", "node_memory_utilization", by_cluster, "Average", "memory"),
                ],
                y_axis={"min": 0, "max": 100},
            ),
            Widget(
                "Nodes",
                region,
                [
                    Metric("ContainerInsights", "cluster_node_count", by_cluster, "Maximum", "nodes"),
                    Metric("ContainerInsights", "cluster_failed_node_count", by_cluster, "Maximum", "failed"),
                ],
            ),
        ]
