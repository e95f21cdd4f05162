"""In-cluster controllers, installed from pinned Helm charts with values typed here:

- aws-load-balancer-controller binds pods to the ALB target groups (TargetGroupBinding); it creates no
  load balancers of its own.
- external-secrets syncs each app's Secrets Manager secrets into a Kubernetes Secret.
- metrics-server feeds the HorizontalPodAutoscalers.
- cluster-autoscaler resizes the managed node groups within their configured bounds (README, "Compute
  tier", says why not Karpenter).
- Reloader rolls a Deployment when a Secret it names in `secret.reloader.stakater.com/reload` changes, so a
  rotated secret reaches pods once external-secrets has synced it (a pod-template annotation set by Pulumi
  would roll the pods before the new value arrives).
- kube-state-metrics, only in a stack with a cronjob app, publishes each CronJob's last schedule and last
  success for the metrics scraper (components/cluster.py), from which each cronjob app's failed-runs alarm is
  made (components/workload.py).

Each controller that calls AWS has its own Pod Identity role. Chart facts and sources are in
docs/aws-facts/controllers.md.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.cluster import KSM_METRICS, KSM_NAMESPACE, KSM_PORT, Cluster
from components.iam import pod_identity_role, policy_document
from components.kms import aws_context


@dataclass(frozen=True)
class Chart:
    name: str
    version: str
    repository: str
    namespace: str
    service_account: str
    # Where the chart's values name its service account.
    service_account_values: tuple[str, ...] = ("serviceAccount",)


# Each pin is a chart release read at its tag upstream (docs/aws-facts/controllers.md, "Pins"). The chart's
# RBAC and PDB templates at that version are vendored under tests/fixtures/charts/ and tested against what the
# controller needs, so a new pin comes with its templates.
LOAD_BALANCER_CONTROLLER = Chart(
    "aws-load-balancer-controller",
    "3.5.0",
    "https://aws.github.io/eks-charts",
    "kube-system",
    "aws-load-balancer-controller",
)
EXTERNAL_SECRETS = Chart(
    "external-secrets", "2.9.0", "https://charts.external-secrets.io", "external-secrets", "external-secrets"
)
METRICS_SERVER = Chart(
    "metrics-server",
    "3.13.1",
    "https://kubernetes-sigs.github.io/metrics-server/",
    "kube-system",
    "metrics-server",
)
# 9.54.0 is the first chart whose ClusterRole grants resource.k8s.io, which images from 1.35 on need: they
# lock dynamic resource allocation on, and its informers never sync without it.
CLUSTER_AUTOSCALER = Chart(
    "cluster-autoscaler",
    "9.59.0",
    "https://kubernetes.github.io/autoscaler",
    "kube-system",
    "cluster-autoscaler",
)
# The autoscaler's minor version must match the cluster's, and the chart's appVersion (1.35) fits one minor
# only, so the image follows the cluster: the newest patch tagged upstream (cluster-autoscaler-1.x.y tags).
AUTOSCALER_IMAGE_TAGS = {"1.33": "v1.33.6", "1.34": "v1.34.5", "1.35": "v1.35.2", "1.36": "v1.36.1"}
# What the load balancer controller reads: the read-only statement of its upstream iam_policy.json at v3.5.0
# (vendored in tests/fixtures/charts/, where a test keeps the two equal).
_EC2_READS = (
    "DescribeAccountAttributes",
    "DescribeAddresses",
    "DescribeAvailabilityZones",
    "DescribeCoipPools",
    "DescribeInstances",
    "DescribeInternetGateways",
    "DescribeIpamPools",
    "DescribeNetworkInterfaces",
    "DescribeRouteTables",
    "DescribeSecurityGroups",
    "DescribeSubnets",
    "DescribeTags",
    "DescribeVpcPeeringConnections",
    "DescribeVpcs",
    "GetCoipPoolUsage",
    "GetSecurityGroupsForVpc",
)
_ELB_READS = (
    "DescribeCapacityReservation",
    "DescribeListenerAttributes",
    "DescribeListenerCertificates",
    "DescribeListeners",
    "DescribeLoadBalancerAttributes",
    "DescribeLoadBalancers",
    "DescribeRules",
    "DescribeSSLPolicies",
    "DescribeTags",
    "DescribeTargetGroupAttributes",
    "DescribeTargetGroups",
    "DescribeTargetHealth",
    "DescribeTrustStores",
)
# The PDB values of the external-secrets and metrics-server charts: a drain takes one replica at a time.
_ONE_DOWN_AT_A_TIME = {"enabled": True, "maxUnavailable": 1}
RELOADER = Chart(
    "reloader",
    "2.2.16",
    "https://stakater.github.io/stakater-charts",
    "reloader",
    "reloader",
    service_account_values=("reloader", "serviceAccount"),
)
# The annotation on a Deployment that names the Secrets whose change rolls it (Reloader's README).
RELOAD_ON_SECRETS = "secret.reloader.stakater.com/reload"
# kube-state-metrics' chart at 8.4.0 (appVersion 2.20.0), prometheus-community/helm-charts, tag
# kube-state-metrics-8.4.0; vendored whole (tests/fixtures/charts/) and rendered by
# tests/test_kube_state_metrics.py.
KUBE_STATE_METRICS = Chart(
    "kube-state-metrics",
    "8.4.0",
    "https://prometheus-community.github.io/helm-charts",
    KSM_NAMESPACE,
    "kube-state-metrics",
)
CHARTS = (
    LOAD_BALANCER_CONTROLLER,
    EXTERNAL_SECRETS,
    METRICS_SERVER,
    CLUSTER_AUTOSCALER,
    RELOADER,
    KUBE_STATE_METRICS,
)


def kube_state_metrics_values() -> dict[str, Any]:
    """The kube-state-metrics release's values: the CronJob collector only (`--resources=cronjobs`, so its
    ClusterRole lists and watches CronJobs and nothing else) and the two series the failed-runs alarm reads
    (`--metric-allowlist`); kube-state-metrics' flags: docs/developer/cli-arguments.md upstream, metrics:
    docs/metrics/workload/cronjob-metrics.md. Pod and container under the restricted Pod Security profile (the
    chart's defaults, spelt out)."""
    return {
        "replicas": 1,
        "collectors": ["cronjobs"],
        "metricAllowlist": list(KSM_METRICS),
        # The scraper's own scrape job reads it (components/cluster.py); no prometheus.io annotation needed.
        "prometheusScrape": False,
        "service": {"port": KSM_PORT},
        "securityContext": {
            "enabled": True,
            "runAsNonRoot": True,
            "runAsUser": 65534,
            "runAsGroup": 65534,
            "fsGroup": 65534,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containerSecurityContext": {
            "readOnlyRootFilesystem": True,
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
        },
        "resources": {
            "requests": {"cpu": "10m", "memory": "32Mi"},
            "limits": {"memory": "64Mi"},
        },
    }


class Controllers(pulumi.ComponentResource):
    """The five controllers (and kube-state-metrics with a cronjob app); `ready` lists the releases apps
    depend on: webhooks, CRDs, and Reloader, which must watch before an app's Secret can change."""

    ready: list[pulumi.Resource]

    def __init__(
        self,
        name: str,
        *,
        cluster: Cluster,
        kubernetes_version: str,
        vpc_id: pulumi.Input[str],
        target_group_arns: Mapping[str, pulumi.Input[str]],
        tags: Mapping[str, str],
        cronjobs: bool = False,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        """`cronjobs`: the stack has a cronjob app, whose failed runs kube-state-metrics makes visible."""
        super().__init__("paved:cluster:Controllers", name, None, opts)
        self._cluster = cluster
        self._tags = dict(tags)
        self._context = aws_context(pulumi.ResourceOptions(parent=self))
        load_balancer = self._release(
            LOAD_BALANCER_CONTROLLER,
            {
                "clusterName": cluster.cluster_name,
                # Given, not looked up from instance metadata.
                "region": self._context.region,
                "vpcId": vpc_id,
                "replicaCount": 2,
                # Only TargetGroupBindings: no IngressClass, and Services of type LoadBalancer are not
                # rewritten to NLBs.
                "createIngressClassResource": False,
                "enableServiceMutatorWebhook": False,
                "podDisruptionBudget": {"maxUnavailable": 1},
            },
            self._load_balancer_policies(target_group_arns),
        )
        external_secrets = self._release(
            EXTERNAL_SECRETS,
            {
                "installCRDs": True,
                # Two replicas for availability; without leader election both would reconcile every secret.
                "replicaCount": 2,
                "leaderElect": True,
                "podDisruptionBudget": _ONE_DOWN_AT_A_TIME,
                # Its validating webhooks fail closed (failurePolicy Fail): with one pod down, no
                # ExternalSecret or SecretStore could be written.
                "webhook": {"replicaCount": 2, "podDisruptionBudget": _ONE_DOWN_AT_A_TIME},
                # It keeps the webhook certificate and CA bundle current; leader-elected like the controller.
                "certController": {"replicaCount": 2, "podDisruptionBudget": _ONE_DOWN_AT_A_TIME},
            },
            # It reads each app's secrets with that app's own IRSA role (components/workload.py).
            policies=[],
        )
        metrics = self._release(
            METRICS_SERVER,
            {"replicas": 2, "podDisruptionBudget": _ONE_DOWN_AT_A_TIME},
            policies=[],
        )
        self._release(
            CLUSTER_AUTOSCALER,
            {
                "autoDiscovery": {"clusterName": cluster.cluster_name},
                "awsRegion": self._context.region,
                "image": {"tag": AUTOSCALER_IMAGE_TAGS[kubernetes_version]},
                "rbac": {"serviceAccount": {"create": True, "name": CLUSTER_AUTOSCALER.service_account}},
                "extraArgs": {
                    "balance-similar-node-groups": True,
                    "skip-nodes-with-system-pods": False,
                    "expander": "least-waste",
                },
            },
            [self._autoscaler_policy()],
        )
        reloader = self._release(
            RELOADER,
            {
                "reloader": {
                    # Apps live in namespaces of their own.
                    "watchGlobally": True,
                    # paved syncs Secrets only, and rolls Deployments only: no ConfigMap, Job or CronJob
                    # rights.
                    "ignoreConfigMaps": True,
                    "ignoreJobs": True,
                    "ignoreCronJobs": True,
                    # A pod-template annotation rather than an env var in every container; Pulumi's
                    # server-side apply leaves the field to Reloader, its manager.
                    "reloadStrategy": "annotations",
                    "enableHA": True,
                    "deployment": {
                        "replicas": 2,
                        "containerSecurityContext": {
                            "allowPrivilegeEscalation": False,
                            "capabilities": {"drop": ["ALL"]},
                        },
                    },
                    "readOnlyRootFileSystem": True,
                    "podDisruptionBudget": _ONE_DOWN_AT_A_TIME,
                }
            },
            policies=[],
        )
        self.ready = [load_balancer, external_secrets, metrics, reloader]
        if cronjobs:
            self._release(KUBE_STATE_METRICS, kube_state_metrics_values(), policies=[])
        self.register_outputs({})

    def _release(
        self, chart: Chart, values: Mapping[str, Any], policies: Sequence[pulumi.Input[str]]
    ) -> k8s.helm.v3.Release:
        """The chart's release; with `policies`, a Pod Identity role holding them for its service account."""
        depends_on: list[pulumi.Resource] = list(self._cluster.ready)
        if policies:
            role = pod_identity_role(
                chart.name,
                cluster_name=self._cluster.cluster_name,
                namespace=chart.namespace,
                service_account=chart.service_account,
                description=f"{chart.name} controller",
                inline_policies=policies,
                tags=self._tags,
                parent=self,
            )
            depends_on.extend(role.ready)
            depends_on.append(
                aws.eks.PodIdentityAssociation(
                    chart.name,
                    cluster_name=self._cluster.cluster_name,
                    namespace=chart.namespace,
                    service_account=chart.service_account,
                    role_arn=role.arn,
                    tags=self._tags,
                    opts=pulumi.ResourceOptions(parent=self, depends_on=role.ready),
                )
            )
        service_account: dict[str, Any] = {"create": True, "name": chart.service_account}
        for key in reversed(chart.service_account_values):
            service_account = {key: service_account}
        return k8s.helm.v3.Release(
            chart.name,
            name=chart.name,
            chart=chart.name,
            version=chart.version,
            repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=chart.repository),
            namespace=chart.namespace,
            create_namespace=chart.namespace != "kube-system",
            values=_merged(service_account, values),
            # Wait until the controller's pods are ready: its webhooks reject objects until then.
            skip_await=False,
            atomic=True,
            opts=pulumi.ResourceOptions(parent=self, provider=self._cluster.provider, depends_on=depends_on),
        )

    def _load_balancer_policies(
        self, target_group_arns: Mapping[str, pulumi.Input[str]]
    ) -> list[pulumi.Output[str]]:
        """The slice of the controller's upstream policy (iam_policy.json) that TargetGroupBinding uses;
        the target groups are a policy of their own, so the rest can be judged before they exist."""
        describe = policy_document(
            {
                # The read-only statement of the upstream policy (docs/aws-facts/controllers.md, 4):
                # the controller stops reconciling when one of these is denied. Describe and Get calls have no
                # resource-level permissions.
                "Effect": "Allow",
                "Action": [
                    *(f"ec2:{action}" for action in _EC2_READS),
                    *(f"elasticloadbalancing:{action}" for action in _ELB_READS),
                ],
                "Resource": "*",
            }
        )
        register = policy_document(
            {
                "Effect": "Allow",
                "Action": ["elasticloadbalancing:RegisterTargets", "elasticloadbalancing:DeregisterTargets"],
                "Resource": sorted_values(target_group_arns),
            }
        )
        return [describe, register]

    def _autoscaler_policy(self) -> pulumi.Output[str]:
        # https://github.com/kubernetes/autoscaler/blob/master/cluster-autoscaler/cloudprovider/aws/README.md
        partition, region, account = self._context
        return policy_document(
            {
                "Effect": "Allow",
                "Action": [
                    "autoscaling:SetDesiredCapacity",
                    "autoscaling:TerminateInstanceInAutoScalingGroup",
                ],
                "Resource": "*",
                # Only this cluster's node groups: EKS tags their Auto Scaling groups with this key.
                "Condition": self._cluster.cluster_name.apply(
                    lambda cluster: {
                        "StringEquals": {f"aws:ResourceTag/k8s.io/cluster-autoscaler/{cluster}": "owned"}
                    }
                ),
            },
            {
                # Describe calls have no resource-level permissions.
                "Effect": "Allow",
                "Action": [
                    "autoscaling:DescribeAutoScalingGroups",
                    "autoscaling:DescribeAutoScalingInstances",
                    "autoscaling:DescribeLaunchConfigurations",
                    "autoscaling:DescribeScalingActivities",
                    "autoscaling:DescribeTags",
                    "ec2:DescribeImages",
                    "ec2:DescribeInstanceTypes",
                    "ec2:DescribeLaunchTemplateVersions",
                    "ec2:GetInstanceTypesFromInstanceRequirements",
                ],
                "Resource": "*",
            },
            {
                "Effect": "Allow",
                "Action": "eks:DescribeNodegroup",
                "Resource": pulumi.Output.concat(
                    "arn:",
                    partition,
                    ":eks:",
                    region,
                    ":",
                    account,
                    ":nodegroup/",
                    self._cluster.cluster_name,
                    "/*",
                ),
            },
        )


def _merged(base: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in overrides.items():
        both_maps = isinstance(value, Mapping) and isinstance(merged.get(key), Mapping)
        merged[key] = _merged(merged[key], value) if both_maps else value
    return merged


def sorted_values(by_name: Mapping[str, pulumi.Input[str]]) -> Sequence[pulumi.Input[str]]:
    return [by_name[name] for name in sorted(by_name)]
