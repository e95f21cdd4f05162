"""One app from `paved:apps` on EKS: its namespace, identity, secrets, Deployment, autoscaling, disruption
budget, network policies and, for apps with a public path, the binding to its ALB target group.

Rollouts never drop a request: a new pod takes traffic only once its readiness probe passes
(maxUnavailable 0), and a terminating pod first sleeps in preStop for longer than the target group's
deregistration delay, so the ALB has stopped sending to it before it sees SIGTERM, then gets
`shutdownSeconds` to finish in-flight work.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from components.iam import GrantedRole, policy_document, service_account_role
from components.observability import Alerting, Threshold
from paved.config import AppArgs

meta = k8s.meta.v1
core = k8s.core.v1

# A UID/GID outside the range images' own users take, so the app never runs as a user the image defines.
APP_UID = 10_001
# The preStop sleep outlasts the target group's deregistration delay by this much: the ALB needs a moment
# after deregistration starts before its nodes stop routing to the pod.
PRESTOP_MARGIN_SECONDS = 5
TARGET_GROUP_BINDING = "elbv2.k8s.aws/v1beta1"
EXTERNAL_SECRETS = "external-secrets.io/v1"
_DNS_PORT = 53
_HTTPS_PORT = 443


@dataclass(frozen=True)
class WorkloadContext:
    """What every app of a stack shares: the cluster and its identity provider, the network, the data
    stores' ports and the secrets' key."""

    provider: k8s.Provider
    # Cluster readiness (nodes, addons) and the controllers whose webhooks must run before apps apply.
    depends_on: Sequence[pulumi.Resource]
    kubernetes_version: str
    cluster_name: pulumi.Input[str]
    oidc_provider_arn: pulumi.Input[str]
    oidc_issuer: pulumi.Input[str]  # without https://
    region: str
    vpc_cidr: str
    # Where the ALB's nodes live: the only sources of app traffic.
    load_balancer_cidrs: Sequence[str]
    data_store_ports: Sequence[int]
    secrets_key_arn: pulumi.Input[str]
    # Secret name in `paved:secrets` -> its Secrets Manager ARN and name.
    secret_arns: Mapping[str, pulumi.Input[str]]
    secret_names: Mapping[str, str]
    deregistration_delay_seconds: int
    alerting: Alerting
    tags: Mapping[str, str]


def labels_of(app: AppArgs) -> dict[str, str]:
    """The recommended labels: https://kubernetes.io/docs/concepts/overview/working-with-objects/common-labels/"""
    tag = "digest" if "@" in app.image else app.image.rsplit(":", 1)[-1]
    return {
        "app.kubernetes.io/name": app.name,
        "app.kubernetes.io/instance": f"{app.name}-{pulumi.get_stack()}",
        "app.kubernetes.io/version": tag[:63],
        "app.kubernetes.io/component": "web" if app.is_public else "worker",
        "app.kubernetes.io/part-of": pulumi.get_project(),
        "app.kubernetes.io/managed-by": "pulumi",
    }


def prestop_seconds(app: AppArgs, deregistration_delay_seconds: int) -> int:
    """How long a terminating pod keeps serving: until the ALB has stopped routing to it (public apps)."""
    return deregistration_delay_seconds + PRESTOP_MARGIN_SECONDS if app.is_public else 0


class Workload(pulumi.ComponentResource):
    namespace: pulumi.Output[str]
    role_arn: pulumi.Output[str] | None

    def __init__(
        self,
        app: AppArgs,
        context: WorkloadContext,
        *,
        target_group_arn: pulumi.Input[str] | None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("paved:workload:Workload", app.name, None, opts)
        self._app = app
        self.app_name = app.name
        self._context = context
        self._labels = labels_of(app)
        self._selector = {"app.kubernetes.io/name": app.name}
        namespace = self._namespace()
        self._in_namespace = pulumi.ResourceOptions(
            parent=self, provider=context.provider, depends_on=[namespace, *context.depends_on]
        )
        secrets_role = self._secrets_role() if app.secrets else None
        self.role_arn = secrets_role.arn if secrets_role else None
        account = self._service_account(secrets_role)
        config = self._config_map()
        secrets = self._external_secret(account) if app.secrets else None
        self._deployment(account, config, secrets)
        self._autoscaler()
        self._disruption_budget()
        self._network_policies()
        if app.is_public:
            if target_group_arn is None:
                raise ValueError(f"app {app.name!r} has a public path but no target group")
            self._service_and_binding(target_group_arn)
        self._alarms()
        self.namespace = namespace.metadata.apply(lambda m: m.name or app.name)
        self.register_outputs({"namespace": self.namespace, "role_arn": self.role_arn})

    def _metadata(self, name: str | None = None, **extra: object) -> meta.ObjectMetaArgs:
        return meta.ObjectMetaArgs(
            name=name or self._app.name,
            namespace=self._app.name,
            labels=self._labels,
            **extra,  # type: ignore[arg-type]
        )

    def _namespace(self) -> core.Namespace:
        version = f"v{self._context.kubernetes_version}"
        # Pod Security Admission enforces the `restricted` profile on every pod of the namespace:
        # https://kubernetes.io/docs/concepts/security/pod-security-admission/
        admission = {
            f"pod-security.kubernetes.io/{mode}{suffix}": value
            for mode in ("enforce", "audit", "warn")
            for suffix, value in (("", "restricted"), ("-version", version))
        }
        return core.Namespace(
            self._app.name,
            metadata=meta.ObjectMetaArgs(name=self._app.name, labels={**self._labels, **admission}),
            opts=pulumi.ResourceOptions(
                parent=self, provider=self._context.provider, depends_on=list(self._context.depends_on)
            ),
        )

    def _secrets_role(self) -> GrantedRole:
        """An IRSA role that reads this app's secrets and nothing else; External Secrets assumes it with a
        token of the app's service account, so one namespace can never read another app's secrets."""
        context, name = self._context, self._app.name
        access = policy_document(
            {
                "Effect": "Allow",
                "Action": ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
                "Resource": [context.secret_arns[secret] for secret in self._app.secrets],
            },
            {
                "Effect": "Allow",
                "Action": "kms:Decrypt",
                "Resource": context.secrets_key_arn,
                # Only to decrypt secrets through Secrets Manager, not arbitrary ciphertext.
                "Condition": {
                    "StringEquals": {"kms:ViaService": f"secretsmanager.{context.region}.amazonaws.com"}
                },
            },
        )
        return service_account_role(
            f"{name}-secrets",
            oidc_provider_arn=context.oidc_provider_arn,
            oidc_issuer=context.oidc_issuer,
            namespace=name,
            service_account=name,
            description=f"App {name}: reads its own secrets",
            inline_policy=access,
            tags=context.tags,
            parent=self,
        )

    def _service_account(self, role: GrantedRole | None) -> core.ServiceAccount:
        annotations = {"eks.amazonaws.com/role-arn": role.arn} if role else None
        return core.ServiceAccount(
            self._app.name,
            metadata=self._metadata(annotations=annotations),
            # The app does not talk to the Kubernetes API.
            automount_service_account_token=False,
            opts=pulumi.ResourceOptions.merge(
                self._in_namespace, pulumi.ResourceOptions(depends_on=role.ready if role else [])
            ),
        )

    def _config_map(self) -> core.ConfigMap:
        return core.ConfigMap(
            f"{self._app.name}-env",
            metadata=self._metadata(f"{self._app.name}-env"),
            data=dict(self._app.env),
            opts=self._in_namespace,
        )

    def _external_secret(self, account: core.ServiceAccount) -> k8s.apiextensions.CustomResource:
        app, context = self._app, self._context
        store = k8s.apiextensions.CustomResource(
            f"{app.name}-secrets-store",
            api_version=EXTERNAL_SECRETS,
            kind="SecretStore",
            metadata=self._metadata(),
            spec={
                "provider": {
                    "aws": {
                        "service": "SecretsManager",
                        "region": context.region,
                        "auth": {"jwt": {"serviceAccountRef": {"name": app.name}}},
                    }
                }
            },
            opts=pulumi.ResourceOptions.merge(
                self._in_namespace, pulumi.ResourceOptions(depends_on=[account])
            ),
        )
        return k8s.apiextensions.CustomResource(
            f"{app.name}-secrets",
            api_version=EXTERNAL_SECRETS,
            kind="ExternalSecret",
            metadata=self._metadata(f"{app.name}-secrets"),
            spec={
                "refreshInterval": "1h",
                "secretStoreRef": {"kind": "SecretStore", "name": app.name},
                "target": {"name": f"{app.name}-secrets", "creationPolicy": "Owner"},
                "data": [
                    {"secretKey": secret, "remoteRef": {"key": context.secret_names[secret]}}
                    for secret in app.secrets
                ],
            },
            opts=pulumi.ResourceOptions.merge(self._in_namespace, pulumi.ResourceOptions(depends_on=[store])),
        )

    def _deployment(
        self,
        account: core.ServiceAccount,
        config: core.ConfigMap,
        secrets: k8s.apiextensions.CustomResource | None,
    ) -> k8s.apps.v1.Deployment:
        app = self._app
        prestop = prestop_seconds(app, self._context.deregistration_delay_seconds)
        env_from = [
            core.EnvFromSourceArgs(config_map_ref=core.ConfigMapEnvSourceArgs(name=f"{app.name}-env"))
        ]
        if secrets is not None:
            env_from.append(
                core.EnvFromSourceArgs(secret_ref=core.SecretEnvSourceArgs(name=f"{app.name}-secrets"))
            )
        volumes = [(f"writable-{index}", path) for index, path in enumerate(app.writable_paths)]
        container = core.ContainerArgs(
            name=app.name,
            image=app.image,
            image_pull_policy="IfNotPresent",
            ports=[core.ContainerPortArgs(name="http", container_port=app.port, protocol="TCP")],
            env_from=env_from,
            resources=core.ResourceRequirementsArgs(
                requests={"cpu": app.resources.cpu_request, "memory": app.resources.memory_request},
                limits={"cpu": app.resources.cpu_limit, "memory": app.resources.memory_limit},
            ),
            # Slow starts get up to 150 s before liveness applies; then a stuck process restarts after 60 s.
            startup_probe=self._probe(app.health_paths.startup, period=5, failures=30),
            readiness_probe=self._probe(app.health_paths.readiness, period=10, failures=3),
            liveness_probe=self._probe(app.health_paths.liveness, period=20, failures=3),
            lifecycle=core.LifecycleArgs(
                pre_stop=core.LifecycleHandlerArgs(sleep=core.SleepActionArgs(seconds=prestop))
            )
            if prestop
            else None,
            security_context=core.SecurityContextArgs(
                run_as_non_root=True,
                allow_privilege_escalation=False,
                read_only_root_filesystem=True,
                capabilities=core.CapabilitiesArgs(drop=["ALL"]),
            ),
            volume_mounts=[core.VolumeMountArgs(name=name, mount_path=path) for name, path in volumes],
        )
        spread = [
            core.TopologySpreadConstraintArgs(
                topology_key=key,
                max_skew=1,
                # Spread when possible; never leave a pod pending because one zone is full.
                when_unsatisfiable="ScheduleAnyway",
                label_selector=meta.LabelSelectorArgs(match_labels=self._selector),
            )
            for key in ("topology.kubernetes.io/zone", "kubernetes.io/hostname")
        ]
        return k8s.apps.v1.Deployment(
            app.name,
            metadata=self._metadata(),
            spec=k8s.apps.v1.DeploymentSpecArgs(
                # No replicas: the HorizontalPodAutoscaler owns the count, and `pulumi up` must not reset it.
                selector=meta.LabelSelectorArgs(match_labels=self._selector),
                strategy=k8s.apps.v1.DeploymentStrategyArgs(
                    type="RollingUpdate",
                    rolling_update=k8s.apps.v1.RollingUpdateDeploymentArgs(
                        max_unavailable=0, max_surge="25%"
                    ),
                ),
                revision_history_limit=5,
                template=core.PodTemplateSpecArgs(
                    metadata=meta.ObjectMetaArgs(labels=self._labels),
                    spec=core.PodSpecArgs(
                        service_account_name=app.name,
                        automount_service_account_token=False,
                        termination_grace_period_seconds=prestop + app.shutdown_seconds,
                        security_context=core.PodSecurityContextArgs(
                            run_as_non_root=True,
                            run_as_user=APP_UID,
                            run_as_group=APP_UID,
                            fs_group=APP_UID,
                            seccomp_profile=core.SeccompProfileArgs(type="RuntimeDefault"),
                        ),
                        topology_spread_constraints=spread,
                        containers=[container],
                        volumes=[
                            core.VolumeArgs(
                                name=name, empty_dir=core.EmptyDirVolumeSourceArgs(size_limit="1Gi")
                            )
                            for name, _ in volumes
                        ],
                    ),
                ),
            ),
            opts=pulumi.ResourceOptions.merge(
                self._in_namespace, pulumi.ResourceOptions(depends_on=[account, config])
            ),
        )

    def _probe(self, path: str, *, period: int, failures: int) -> core.ProbeArgs:
        return core.ProbeArgs(
            http_get=core.HTTPGetActionArgs(path=path, port="http"),
            period_seconds=period,
            timeout_seconds=5,
            failure_threshold=failures,
        )

    def _autoscaler(self) -> None:
        app = self._app

        def utilization(resource: str, percent: int) -> k8s.autoscaling.v2.MetricSpecArgs:
            return k8s.autoscaling.v2.MetricSpecArgs(
                type="Resource",
                resource=k8s.autoscaling.v2.ResourceMetricSourceArgs(
                    name=resource,
                    target=k8s.autoscaling.v2.MetricTargetArgs(
                        type="Utilization", average_utilization=percent
                    ),
                ),
            )

        k8s.autoscaling.v2.HorizontalPodAutoscaler(
            app.name,
            metadata=self._metadata(),
            spec=k8s.autoscaling.v2.HorizontalPodAutoscalerSpecArgs(
                scale_target_ref=k8s.autoscaling.v2.CrossVersionObjectReferenceArgs(
                    api_version="apps/v1", kind="Deployment", name=app.name
                ),
                min_replicas=app.replicas.min,
                max_replicas=app.replicas.max,
                metrics=[utilization("cpu", 70), utilization("memory", 80)],
                # Scale up at once, scale down slowly: a 5-minute window and at most half the pods a minute
                # keep a bursty load from flapping the replica count.
                behavior=k8s.autoscaling.v2.HorizontalPodAutoscalerBehaviorArgs(
                    scale_up=k8s.autoscaling.v2.HPAScalingRulesArgs(
                        stabilization_window_seconds=0,
                        select_policy="Max",
                        policies=[
                            k8s.autoscaling.v2.HPAScalingPolicyArgs(
                                type="Percent", value=100, period_seconds=60
                            ),
                            k8s.autoscaling.v2.HPAScalingPolicyArgs(type="Pods", value=4, period_seconds=60),
                        ],
                    ),
                    scale_down=k8s.autoscaling.v2.HPAScalingRulesArgs(
                        stabilization_window_seconds=300,
                        select_policy="Min",
                        policies=[
                            k8s.autoscaling.v2.HPAScalingPolicyArgs(
                                type="Percent", value=50, period_seconds=60
                            )
                        ],
                    ),
                ),
            ),
            opts=self._in_namespace,
        )

    def _disruption_budget(self) -> None:
        # maxUnavailable (never minAvailable) so a drain can always evict a pod, even at min replicas.
        k8s.policy.v1.PodDisruptionBudget(
            self._app.name,
            metadata=self._metadata(),
            spec=k8s.policy.v1.PodDisruptionBudgetSpecArgs(
                max_unavailable=self._app.pdb.max_unavailable,
                selector=meta.LabelSelectorArgs(match_labels=self._selector),
                # Pods that never became ready can always be evicted, so a bad rollout cannot block a drain.
                unhealthy_pod_eviction_policy="AlwaysAllow",
            ),
            opts=self._in_namespace,
        )

    def _network_policies(self) -> None:
        app, context = self._app, self._context
        networking = k8s.networking.v1
        k8s.networking.v1.NetworkPolicy(
            f"{app.name}-default-deny",
            metadata=self._metadata("default-deny"),
            spec=networking.NetworkPolicySpecArgs(
                pod_selector=meta.LabelSelectorArgs(), policy_types=["Ingress", "Egress"]
            ),
            opts=self._in_namespace,
        )

        def port(number: int, protocol: str = "TCP") -> k8s.networking.v1.NetworkPolicyPortArgs:
            return networking.NetworkPolicyPortArgs(port=number, protocol=protocol)

        def to_cidr(cidr: str, ports: Sequence[k8s.networking.v1.NetworkPolicyPortArgs]):
            return networking.NetworkPolicyEgressRuleArgs(
                to=[networking.NetworkPolicyPeerArgs(ip_block=networking.IPBlockArgs(cidr=cidr))], ports=ports
            )

        dns = networking.NetworkPolicyEgressRuleArgs(
            to=[
                networking.NetworkPolicyPeerArgs(
                    namespace_selector=meta.LabelSelectorArgs(
                        match_labels={"kubernetes.io/metadata.name": "kube-system"}
                    ),
                    pod_selector=meta.LabelSelectorArgs(match_labels={"k8s-app": "kube-dns"}),
                )
            ],
            ports=[port(_DNS_PORT, "UDP"), port(_DNS_PORT)],
        )
        egress = [
            dns,
            to_cidr(context.vpc_cidr, [port(number) for number in context.data_store_ports]),
            # AWS APIs (through the VPC endpoints or NAT) and third-party HTTPS APIs.
            to_cidr("0.0.0.0/0", [port(_HTTPS_PORT)]),
        ]
        ingress = (
            [
                networking.NetworkPolicyIngressRuleArgs(
                    from_=[
                        networking.NetworkPolicyPeerArgs(ip_block=networking.IPBlockArgs(cidr=cidr))
                        for cidr in context.load_balancer_cidrs
                    ],
                    ports=[port(app.port)],
                )
            ]
            if app.is_public
            else []
        )
        k8s.networking.v1.NetworkPolicy(
            app.name,
            metadata=self._metadata(),
            spec=networking.NetworkPolicySpecArgs(
                pod_selector=meta.LabelSelectorArgs(match_labels=self._selector),
                policy_types=["Ingress", "Egress"],
                ingress=ingress,
                egress=egress,
            ),
            opts=self._in_namespace,
        )

    def _service_and_binding(self, target_group_arn: pulumi.Input[str]) -> None:
        app = self._app
        service = core.Service(
            app.name,
            metadata=self._metadata(),
            spec=core.ServiceSpecArgs(
                type="ClusterIP",
                selector=self._selector,
                ports=[core.ServicePortArgs(name="http", port=app.port, target_port="http", protocol="TCP")],
            ),
            opts=self._in_namespace,
        )
        # The load balancer controller registers the Service's pod IPs in the #4 target group; it creates
        # no load balancer of its own.
        k8s.apiextensions.CustomResource(
            app.name,
            api_version=TARGET_GROUP_BINDING,
            kind="TargetGroupBinding",
            metadata=self._metadata(),
            spec={
                "serviceRef": {"name": app.name, "port": app.port},
                "targetGroupARN": target_group_arn,
                "targetType": "ip",
            },
            opts=pulumi.ResourceOptions.merge(
                self._in_namespace, pulumi.ResourceOptions(depends_on=[service])
            ),
        )

    def _alarms(self) -> None:
        restarts = Threshold(
            suffix="restarts",
            description=f"Containers of {self._app.name} restarted more than twice in 5 minutes: crash loop?",
            metric_name="pod_number_of_container_restarts",
            statistic="Sum",
            comparison_operator="GreaterThanThreshold",
            threshold=2,
            periods=1,
            treat_missing_data="notBreaching",
        )
        self._context.alerting.threshold_alarms(
            f"app-{self._app.name}",
            [restarts],
            namespace="ContainerInsights",
            dimensions={
                "ClusterName": self._context.cluster_name,
                "Namespace": self._app.name,
                "PodName": self._app.name,
            },
            parent=self,
        )
