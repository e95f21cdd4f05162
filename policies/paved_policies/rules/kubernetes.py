"""Kubernetes rules: container hardening, resources, probes and images, namespaces, and the companions a
workload needs (PodDisruptionBudget, HorizontalPodAutoscaler, NetworkPolicy).

Resources come from pulumi-kubernetes, typed `kubernetes:<group>/<version>:<Kind>`, with the manifest as
their inputs (`metadata`, `spec`). The pod spec sits at `spec` (Pod), `spec.template.spec` (Deployment,
StatefulSet, DaemonSet, ReplicaSet, ReplicationController, Job) or `spec.jobTemplate.spec.template.spec`
(CronJob). The API versions Kubernetes has since removed (apps/v1beta2 Deployments, batch/v1beta1
CronJobs...) carry the same pod spec and are judged the same way. Not judged: `*Patch` resources (partial
by design), Helm v3 Releases (opaque: their manifests never reach the pack) and CustomResources (the pack
cannot know a custom kind's scope or schema).

A Pulumi program may leave `metadata.namespace` unset: the resource then goes to its provider's
`namespace`, else to the namespace of the kubeconfig's current context (pulumi-kubernetes#1896), else
`default`. The pack cannot read kubeconfigs (often a secret, or a file path), so a resource relying on
the context's namespace is judged to be in `default`: set the namespace on the resource or the provider.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import Any, NoReturn, TypeVar

from paved_policies.props import (
    UNKNOWN,
    all_of,
    any_of,
    as_map,
    get,
    get_bool,
    get_int,
    get_map,
    get_seq,
    get_str,
    get_text,
    has_value,
    is_unknown_error,
    keys_of,
    peek,
    problems_found,
    strings,
)
from paved_policies.rule import (
    Finding,
    GraphResource,
    ResourceContext,
    StackContext,
    compliant,
    not_applicable,
    provider_props,
    resource_rule,
    stack_rule,
    violation,
)

T = TypeVar("T")


def _tokens(kind: str, *group_versions: str) -> tuple[str, ...]:
    return tuple(f"kubernetes:{gv}:{kind}" for gv in group_versions)


PODS = _tokens("Pod", "core/v1")
DEPLOYMENTS = _tokens("Deployment", "apps/v1", "apps/v1beta1", "apps/v1beta2", "extensions/v1beta1")
STATEFUL_SETS = _tokens("StatefulSet", "apps/v1", "apps/v1beta1", "apps/v1beta2")
DAEMON_SETS = _tokens("DaemonSet", "apps/v1", "apps/v1beta2", "extensions/v1beta1")
REPLICA_SETS = _tokens("ReplicaSet", "apps/v1", "apps/v1beta2", "extensions/v1beta1")
REPLICATION_CONTROLLERS = _tokens("ReplicationController", "core/v1")
JOBS = _tokens("Job", "batch/v1")
CRON_JOBS = _tokens("CronJob", "batch/v1", "batch/v1beta1", "batch/v2alpha1")
# Everything that declares pods.
WORKLOADS = PODS + DEPLOYMENTS + STATEFUL_SETS + DAEMON_SETS + REPLICA_SETS + REPLICATION_CONTROLLERS
WORKLOADS += JOBS + CRON_JOBS
# Pods meant to keep running: a Job's pods run to completion, so probes would only restart or hide them.
LONG_RUNNING = tuple(t for t in WORKLOADS if t not in JOBS + CRON_JOBS)

SERVICES = _tokens("Service", "core/v1")
AUTOSCALING = ("autoscaling/v2", "autoscaling/v1", "autoscaling/v2beta2", "autoscaling/v2beta1")
HPAS = _tokens("HorizontalPodAutoscaler", *AUTOSCALING)
PDBS = _tokens("PodDisruptionBudget", "policy/v1", "policy/v1beta1")
# policy/v1beta1 read an empty selector as "no pods"; policy/v1 as "every pod of the namespace".
PDB_EMPTY_SELECTS_NONE = _tokens("PodDisruptionBudget", "policy/v1beta1")
NETWORK_POLICIES = _tokens("NetworkPolicy", "networking.k8s.io/v1", "extensions/v1beta1")

_RBAC = tuple(f"rbac.authorization.k8s.io/{v}" for v in ("v1", "v1beta1", "v1alpha1"))
_DRA = tuple(f"resource.k8s.io/{v}" for v in ("v1", "v1beta2", "v1beta1", "v1alpha3", "v1alpha2", "v1alpha1"))
# The namespaced kinds a program declares (`kubectl api-resources --namespaced=true`), at every API version
# pulumi-kubernetes ships. Left out: objects that controllers and the API server create (Events, Bindings,
# ControllerRevisions, Leases of leader election...) and alpha-only kinds.
NAMESPACED = (
    WORKLOADS
    + SERVICES
    + HPAS
    + PDBS
    + NETWORK_POLICIES
    + tuple(
        f"kubernetes:core/v1:{kind}"
        for kind in (
            "ConfigMap",
            "Secret",
            "ServiceAccount",
            "PersistentVolumeClaim",
            "Endpoints",
            "LimitRange",
            "ResourceQuota",
            "PodTemplate",
        )
    )
    + _tokens("Ingress", "networking.k8s.io/v1", "networking.k8s.io/v1beta1", "extensions/v1beta1")
    + _tokens("EndpointSlice", "discovery.k8s.io/v1", "discovery.k8s.io/v1beta1")
    + _tokens("Role", *_RBAC)
    + _tokens("RoleBinding", *_RBAC)
    + _tokens("CSIStorageCapacity", "storage.k8s.io/v1", "storage.k8s.io/v1beta1")
    + _tokens("ResourceClaim", *_DRA)
    + _tokens("ResourceClaimTemplate", *_DRA)
)

DEFAULT_NAMESPACE = "default"
# The objects that belong in `default` (checkov's CKV_K8S_21 ignores them too): the namespace's own
# service account (managed to turn off token automounting) and the API server's Service.
BELONG_IN_DEFAULT = {("ServiceAccount", "default"), ("Service", "kubernetes")}
CONTAINERS = ("containers",)
ALL_CONTAINERS = ("containers", "initContainers")
PROBE_HANDLERS = ("httpGet", "tcpSocket", "exec", "grpc")
HOST_NAMESPACES = ("hostNetwork", "hostPID", "hostIPC")
# The one capability the restricted Pod Security Standard lets a container add (ports below 1024).
ADDABLE_CAPABILITIES = ("NET_BIND_SERVICE",)
_ZERO_QUANTITY = re.compile(r"\+?0*\.?0*[A-Za-z]*")

PSS_URL = "https://kubernetes.io/docs/concepts/security/pod-security-standards/"


# ---------------------------------------------------------------------------------------------
# Reading manifests.


def _kind(resource_type: str) -> str:
    return resource_type.rsplit(":", 1)[-1]


def _pod_template(props: Mapping[str, Any], resource_type: str) -> Mapping[str, Any]:
    """The object holding the pods' `metadata` and `spec`: the Pod itself, or the workload's template."""
    kind = _kind(resource_type)
    if kind == "Pod":
        return props
    spec = get_map(props, "spec")
    if kind == "CronJob":
        spec = get_map(get_map(spec, "jobTemplate"), "spec")
    return get_map(spec, "template")


def _pod_spec(props: Mapping[str, Any], resource_type: str) -> Mapping[str, Any]:
    return get_map(_pod_template(props, resource_type), "spec")


def _pod_labels(props: Mapping[str, Any], resource_type: str) -> Mapping[str, Any]:
    return get_map(get_map(_pod_template(props, resource_type), "metadata"), "labels")


def _is_windows(pod: Mapping[str, Any]) -> bool:
    return get_text(get_map(pod, "os"), "name") == "windows"


def _container_name(container: Any, role: str, index: int) -> str:
    name = peek(lambda: get_text(container, "name"))
    return f"{role} '{name}'" if isinstance(name, str) else f"{role} #{index}"


ContainerCheck = Callable[[Mapping[str, Any], Mapping[str, Any]], str | None]


def _raise(error: Exception) -> NoReturn:
    raise error


def _check_container(
    items: Sequence[Any], index: int, role: str, pod: Mapping[str, Any], check: ContainerCheck
) -> str | None:
    container = as_map(items[index])
    problem = check(container, pod)
    return f"{_container_name(container, role, index)} {problem}" if problem else None


def _container_checks(
    pod: Mapping[str, Any], groups: Sequence[str], check: ContainerCheck
) -> list[Callable[[], str | None]]:
    """One check per container of `groups`, each returning "<role> '<name>' <problem>" or None."""
    checks: list[Callable[[], str | None]] = []
    for group in groups:
        role = "init container" if group == "initContainers" else "container"
        try:
            items = get_seq(pod, group)
        except Exception as error:
            if not is_unknown_error(error):
                raise
            # The whole list is unknown in preview: judged, and deferred, like one unknown container.
            checks.append(partial(_raise, error))
            continue
        checks.extend(
            partial(_check_container, items, index, role, pod, check) for index in range(len(items))
        )
    return checks


def _judge_containers(
    props: Mapping[str, Any],
    ctx: ResourceContext,
    check: ContainerCheck,
    *,
    groups: Sequence[str] = ALL_CONTAINERS,
    linux_only: bool = False,
) -> Finding:
    kind = _kind(ctx.resource_type)
    pod = _pod_spec(props, ctx.resource_type)
    if linux_only and _is_windows(pod):
        # The API rejects these security context fields when spec.os.name is windows.
        return not_applicable(f"{kind} '{ctx.name}' runs Windows pods")
    checks = _container_checks(pod, groups, check)
    if not checks:
        return not_applicable(f"{kind} '{ctx.name}' declares no containers")
    problems = problems_found(checks)
    if problems:
        return violation(f"{kind} '{ctx.name}': {'; '.join(problems)}.")
    return compliant()


def _namespace(props: Any, provider: Mapping[str, Any]) -> str:
    """Where the resource lands: metadata.namespace, else the provider's namespace, else `default`."""
    namespace = get_text(get_map(props, "metadata"), "namespace")
    return namespace or get_text(provider, "namespace") or DEFAULT_NAMESPACE


def _name(props: Any) -> str | None:
    return get_text(get_map(props, "metadata"), "name")


# ---------------------------------------------------------------------------------------------
# Containers.


def _quantity_set(value: Any) -> bool:
    """A resource quantity that is there and not zero; one unknown in preview counts as set."""
    if value is UNKNOWN:
        return True
    if isinstance(value, str):
        return bool(value.strip()) and not _ZERO_QUANTITY.fullmatch(value.strip())
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return math.isfinite(value) and value > 0


def _missing_resources(container: Mapping[str, Any], pod: Mapping[str, Any]) -> str | None:
    resources = get_map(container, "resources")
    requests, limits = get_map(resources, "requests"), get_map(resources, "limits")
    wanted = [(requests, "requests", "cpu"), (requests, "requests", "memory"), (limits, "limits", "memory")]
    missing = [
        f"{section}.{name}"
        for values, section, name in wanted
        if not _quantity_set(peek(lambda values=values, name=name: get(values, name)))
    ]
    return f"sets no {', '.join(missing)}" if missing else None


@resource_rule(
    name="k8s-container-resources",
    description="Containers request CPU and memory and have a memory limit.",
    severity="medium",
    remediation=(
        "Set resources.requests.cpu, resources.requests.memory and resources.limits.memory on every "
        "container and init container (memory limit = request gives the pod a predictable OOM boundary). "
        "A CPU limit is optional: it throttles the app even when the node has idle CPU."
    ),
    resource_types=WORKLOADS,
    # Requests drive scheduling and every HPA Utilization target (a percentage of the request); memory is
    # incompressible, so without a limit one leaking container can make the kubelet evict its neighbours.
    # CPU is compressible: a CPU limit only throttles (CFS quota) even on an idle node, so it is not
    # required, and checkov's CKV_K8S_11 (CPU limits) is not this rule.
    checkov=("CKV_K8S_10", "CKV_K8S_12", "CKV_K8S_13"),
    url="https://kubernetes.io/docs/concepts/configuration/manage-resources-containers/",
)
def k8s_container_resources(props: Mapping[str, Any], ctx: ResourceContext) -> Finding:
    return _judge_containers(props, ctx, _missing_resources)


def _has_probe(container: Mapping[str, Any], key: str) -> bool:
    probe = peek(lambda: get(container, key))
    if probe is UNKNOWN:  # presence check: an unknown probe is still a probe
        return True
    return any(has_value(probe, handler) for handler in PROBE_HANDLERS)


def _probe_check(key: str) -> ContainerCheck:
    return lambda container, pod: None if _has_probe(container, key) else f"has no {key}"


def _judge_probes(props: Mapping[str, Any], ctx: ResourceContext, key: str) -> Finding:
    restart = get_text(_pod_spec(props, ctx.resource_type), "restartPolicy")
    if restart in ("Never", "OnFailure"):  # a bare Pod that runs to completion, like a Job's
        return not_applicable(f"{_kind(ctx.resource_type)} '{ctx.name}' runs to completion ({restart})")
    return _judge_containers(props, ctx, _probe_check(key), groups=CONTAINERS)


# Init containers run to completion before the app starts; the API rejects probes on them, except on native
# sidecars (restartPolicy: Always), whose probes are optional. So only app containers need probes.
@resource_rule(
    name="k8s-readiness-probe",
    description="Long-running containers have a readiness probe, so they get traffic only when ready.",
    severity="medium",
    remediation=(
        "Give every container a readinessProbe (httpGet on a readiness endpoint, tcpSocket, grpc or exec) "
        "that fails while the app cannot serve, e.g. during start-up or when a dependency is down."
    ),
    resource_types=LONG_RUNNING,
    checkov=("CKV_K8S_9",),
    url="https://kubernetes.io/docs/tasks/configure-pod-container/configure-liveness-readiness-startup-probes/",
)
def k8s_readiness_probe(props: Mapping[str, Any], ctx: ResourceContext) -> Finding:
    return _judge_probes(props, ctx, "readinessProbe")


@resource_rule(
    name="k8s-liveness-probe",
    description="Long-running containers have a liveness probe, so a deadlocked process is restarted.",
    severity="low",
    remediation=(
        "Give every container a livenessProbe that checks the process itself (not its dependencies), with a "
        "startupProbe in front of it for slow starts."
    ),
    resource_types=LONG_RUNNING,
    checkov=("CKV_K8S_8",),
    url="https://kubernetes.io/docs/tasks/configure-pod-container/configure-liveness-readiness-startup-probes/",
)
def k8s_liveness_probe(props: Mapping[str, Any], ctx: ResourceContext) -> Finding:
    return _judge_probes(props, ctx, "livenessProbe")


def _security_context(container: Mapping[str, Any]) -> Mapping[str, Any]:
    return get_map(container, "securityContext")


def _runs_as_root(container: Mapping[str, Any], pod: Mapping[str, Any]) -> str | None:
    own, shared = _security_context(container), get_map(pod, "securityContext")
    # The container's securityContext overrides the pod's, field by field.
    non_root = get_bool(own, "runAsNonRoot")
    if non_root is None:
        non_root = get_bool(shared, "runAsNonRoot")
    user = get_int(own, "runAsUser")
    if user is None:
        user = get_int(shared, "runAsUser")
    if user == 0:
        return "runs as UID 0 (runAsUser: 0)"
    if non_root is True:
        return None
    return "sets runAsNonRoot: false" if non_root is False else "does not set runAsNonRoot: true"


@resource_rule(
    name="k8s-run-as-non-root",
    description="Containers must run as a non-root user (runAsNonRoot: true, on the container or the pod).",
    severity="high",
    remediation=(
        "Set securityContext.runAsNonRoot=True on the pod (or on every container), with runAsUser set to a "
        "non-zero UID the image can run as; a container-level value overrides the pod's."
    ),
    resource_types=WORKLOADS,
    # Stricter than checkov's CKV_K8S_23, which also accepts runAsUser > 0 alone: like the restricted Pod
    # Security Standard, this rule wants runAsNonRoot, which the kubelet enforces for every image.
    checkov=("CKV_K8S_23",),
    url=PSS_URL,
)
def k8s_run_as_non_root(props: Mapping[str, Any], ctx: ResourceContext) -> Finding:
    return _judge_containers(props, ctx, _runs_as_root)


def _writable_root(container: Mapping[str, Any], pod: Mapping[str, Any]) -> str | None:
    if get_bool(_security_context(container), "readOnlyRootFilesystem") is True:
        return None
    return "does not set readOnlyRootFilesystem: true"


@resource_rule(
    name="k8s-read-only-root-filesystem",
    description="Containers have a read-only root filesystem.",
    severity="medium",
    remediation=(
        "Set securityContext.readOnlyRootFilesystem=True on every container and mount an emptyDir volume "
        "(with a sizeLimit) at each path the app must write, e.g. /tmp."
    ),
    resource_types=WORKLOADS,
    checkov=("CKV_K8S_22",),
    url="https://kubernetes.io/docs/tasks/configure-pod-container/security-context/",
)
def k8s_read_only_root_filesystem(props: Mapping[str, Any], ctx: ResourceContext) -> Finding:
    return _judge_containers(props, ctx, _writable_root, linux_only=True)


def _escalates(container: Mapping[str, Any], pod: Mapping[str, Any]) -> str | None:
    context = _security_context(container)
    problems = problems_found(
        [
            lambda: "is privileged" if get_bool(context, "privileged") is True else None,
            # Unset means allowed: no_new_privs is only set when this is false.
            lambda: (
                None
                if get_bool(context, "allowPrivilegeEscalation") is False
                else "does not set allowPrivilegeEscalation: false"
            ),
        ]
    )
    return " and ".join(problems) or None


@resource_rule(
    name="k8s-no-privilege-escalation",
    description="Containers are not privileged and set allowPrivilegeEscalation: false.",
    severity="high",
    remediation=(
        "Set securityContext.allowPrivilegeEscalation=False on every container and remove privileged=True "
        "(a privileged container is root on the node)."
    ),
    resource_types=WORKLOADS,
    checkov=("CKV_K8S_20", "CKV_K8S_16"),
    url=PSS_URL,
)
def k8s_no_privilege_escalation(props: Mapping[str, Any], ctx: ResourceContext) -> Finding:
    return _judge_containers(props, ctx, _escalates, linux_only=True)


def _extra_capabilities(container: Mapping[str, Any], pod: Mapping[str, Any]) -> str | None:
    capabilities = get_map(_security_context(container), "capabilities")
    problems = problems_found([lambda: _not_dropped(capabilities), lambda: _added(capabilities)])
    return " and ".join(problems) or None


def _not_dropped(capabilities: Mapping[str, Any]) -> str | None:
    dropped = get_seq(capabilities, "drop")
    if any_of(range(len(dropped)), lambda index: dropped[index] == "ALL"):
        return None
    return "does not drop ALL capabilities"


def _added(capabilities: Mapping[str, Any]) -> str | None:
    extra = [c for c in strings(get_seq(capabilities, "add")) if c not in ADDABLE_CAPABILITIES]
    return f"adds capabilities {', '.join(extra)}" if extra else None


@resource_rule(
    name="k8s-drop-all-capabilities",
    description="Containers drop ALL Linux capabilities and add back none but NET_BIND_SERVICE.",
    severity="medium",
    remediation=(
        "Set securityContext.capabilities.drop=['ALL'] on every container; add back only NET_BIND_SERVICE, "
        "and only if the app must bind a port below 1024."
    ),
    resource_types=WORKLOADS,
    # CKV_K8S_37 is this check; every container failing CKV_K8S_28 (NET_RAW not dropped) or CKV_K8S_39
    # (SYS_ADMIN added) fails it too.
    checkov=("CKV_K8S_37", "CKV_K8S_28", "CKV_K8S_39"),
    url=PSS_URL,
)
def k8s_drop_all_capabilities(props: Mapping[str, Any], ctx: ResourceContext) -> Finding:
    return _judge_containers(props, ctx, _extra_capabilities, linux_only=True)


def _image_problem(container: Mapping[str, Any], pod: Mapping[str, Any]) -> str | None:
    image = get(container, "image")
    if not isinstance(image, str) or not image.strip():
        return "has no image"
    image = image.strip()
    if "@" in image:  # pinned to a digest: better than any tag
        return None
    # A ':' after the last '/' starts the tag; one before it belongs to a registry port.
    last = image.rsplit("/", 1)[-1]
    tag = last.rsplit(":", 1)[1] if ":" in last else ""
    if not tag:
        return f"uses image '{image}' without a tag, which means :latest"
    if tag == "latest":
        return f"uses image '{image}', whose :latest tag moves"
    return None


@resource_rule(
    name="k8s-image-tag-pinned",
    description="Container images name a fixed tag or a digest, not :latest or no tag at all.",
    severity="medium",
    remediation=(
        "Reference every image by an immutable version tag (registry/app:1.4.2, with tag immutability on "
        "the ECR repository) or by digest (registry/app@sha256:...)."
    ),
    resource_types=WORKLOADS,
    # Not CKV_K8S_43, which demands a digest: a fixed tag passes here.
    checkov=("CKV_K8S_14",),
    url="https://kubernetes.io/docs/concepts/containers/images/",
)
def k8s_image_tag_pinned(props: Mapping[str, Any], ctx: ResourceContext) -> Finding:
    return _judge_containers(props, ctx, _image_problem)


# ---------------------------------------------------------------------------------------------
# Pods.


def _host_volume(volume: Any) -> str | None:
    if not has_value(volume, "hostPath"):  # presence: a hostPath unknown in preview is still one
        return None
    name = peek(lambda: get_text(volume, "name"))
    return f"volume '{name}' mounts a hostPath" if isinstance(name, str) else "a volume mounts a hostPath"


@resource_rule(
    name="k8s-no-host-path-volumes",
    description="Pods mount no hostPath volumes (the node's filesystem).",
    severity="high",
    remediation=(
        "Replace hostPath volumes with emptyDir, configMap, secret, projected or persistentVolumeClaim "
        "volumes; node agents that truly need the host belong in a separately reviewed DaemonSet."
    ),
    resource_types=WORKLOADS,
    # checkov's CKV_K8S_27 flags the Docker socket, one hostPath among those this rule flags.
    checkov=("CKV_K8S_27",),
    url="https://kubernetes.io/docs/concepts/storage/volumes/#hostpath",
)
def k8s_no_host_path_volumes(props: Mapping[str, Any], ctx: ResourceContext) -> Finding:
    volumes = get_seq(_pod_spec(props, ctx.resource_type), "volumes")
    problems = problems_found(
        [lambda index=index: _host_volume(volumes[index]) for index in range(len(volumes))]
    )
    if problems:
        return violation(f"{_kind(ctx.resource_type)} '{ctx.name}': {'; '.join(problems)}.")
    return compliant()


@resource_rule(
    name="k8s-no-host-namespaces",
    description="Pods share none of the node's network, process or IPC namespaces.",
    severity="high",
    remediation="Remove hostNetwork, hostPID and hostIPC from the pod spec (or set them to False).",
    resource_types=WORKLOADS,
    checkov=("CKV_K8S_17", "CKV_K8S_18", "CKV_K8S_19"),
    url=PSS_URL,
)
def k8s_no_host_namespaces(props: Mapping[str, Any], ctx: ResourceContext) -> Finding:
    pod = _pod_spec(props, ctx.resource_type)
    problems = problems_found(
        [lambda key=key: f"{key}: true" if get_bool(pod, key) is True else None for key in HOST_NAMESPACES]
    )
    if problems:
        return violation(f"{_kind(ctx.resource_type)} '{ctx.name}' sets {', '.join(problems)}.")
    return compliant()


# ---------------------------------------------------------------------------------------------
# Namespaces and Services.


@resource_rule(
    name="k8s-not-default-namespace",
    description="Namespaced Kubernetes resources live in a namespace of their own, not `default`.",
    severity="low",
    remediation=(
        "Create a Namespace per app and set metadata.namespace on every resource (or `namespace` on the "
        "kubernetes Provider). Pass the Namespace's metadata.name output so the namespace exists first."
    ),
    resource_types=NAMESPACED,
    # checkov reads manifests, where an unset namespace means `default`; here it means the provider's
    # namespace first, as pulumi-kubernetes applies it.
    checkov=("CKV_K8S_21",),
    url="https://kubernetes.io/docs/concepts/overview/working-with-objects/namespaces/",
)
def k8s_not_default_namespace(props: Mapping[str, Any], ctx: ResourceContext) -> Finding:
    if _namespace(props, ctx.provider) != DEFAULT_NAMESPACE:
        return compliant()
    kind = _kind(ctx.resource_type)
    if kind in {k for k, _ in BELONG_IN_DEFAULT} and (kind, _name(props)) in BELONG_IN_DEFAULT:
        return not_applicable(f"{kind} '{_name(props)}' belongs to the default namespace")
    if get_text(get_map(props, "metadata"), "namespace"):
        source = "its metadata.namespace is"
    elif get_text(ctx.provider, "namespace"):
        source = "its provider's namespace is"
    else:
        source = "neither its metadata.namespace nor its provider's namespace is set, so it lands in"
    return violation(f"{kind} '{ctx.name}': {source} '{DEFAULT_NAMESPACE}'.")


@resource_rule(
    name="k8s-no-load-balancer-service",
    description="No Service of type LoadBalancer: apps are exposed through the ALB (TargetGroupBinding).",
    severity="high",
    remediation=(
        "Use a ClusterIP Service and expose it through the shared ALB with a TargetGroupBinding (or an "
        "Ingress), where TLS, WAF and access logs apply. A LoadBalancer Service creates a load balancer "
        "outside all of that."
    ),
    resource_types=SERVICES,
    url="https://kubernetes.io/docs/concepts/services-networking/service/#loadbalancer",
)
def k8s_no_load_balancer_service(props: Mapping[str, Any], ctx: ResourceContext) -> Finding:
    service_type = get_text(get_map(props, "spec"), "type") or "ClusterIP"
    if service_type == "LoadBalancer":
        return violation(f"Service '{ctx.name}' is of type LoadBalancer.")
    return compliant()


# ---------------------------------------------------------------------------------------------
# Stack rules: the companions of a workload, matched by name, labels and namespace (all literals in a
# typical program, so known in a first preview), or else by a recorded dependency edge.


def _stack_namespace(resource: GraphResource | _Judged) -> str:
    provider = resource.provider_props if isinstance(resource, _Judged) else provider_props(resource)
    return _namespace(resource.props, provider)


class _Judged:
    """The resource a stack rule judges, as its companions' tests see it."""

    def __init__(self, props: Mapping[str, Any], ctx: StackContext) -> None:
        self.props = props
        self.resource_type = ctx.resource_type
        self.urn = ctx.urn
        self.provider_props = ctx.provider


def _matches(test: Callable[[GraphResource], bool], linked: set[str]) -> Callable[[GraphResource], bool]:
    """test, except that a companion whose input came from the judged resource (a dependency edge) counts
    where the values the test needs are still unknown in preview."""

    def match(candidate: GraphResource) -> bool:
        try:
            return test(candidate)
        except Exception as error:
            if is_unknown_error(error) and candidate.urn in linked:
                return True
            raise

    return match


def _companions(
    props: Mapping[str, Any],
    ctx: StackContext,
    resource_types: Sequence[str],
    test: Callable[[Any, Any], bool],
) -> bool:
    """Whether some resource of `resource_types` passes test(candidate, judged)."""
    judged = _Judged(props, ctx)
    linked = {r.urn for r in ctx.referrers("spec", resource_types)}
    candidates = list(ctx.of_types(resource_types))
    # Edge-linked resources first: they settle it without reading values that may be unknown.
    candidates.sort(key=lambda r: r.urn not in linked)
    return any_of(candidates, _matches(lambda candidate: test(candidate, judged), linked))


def _selects(selector: Any, labels: Mapping[str, Any], *, empty_selects_all: bool) -> bool:
    """Whether a LabelSelector selects pods labelled `labels`; a null selector selects nothing."""
    if not isinstance(selector, Mapping):
        return False
    match_labels = get_map(selector, "matchLabels")
    expressions = get_seq(selector, "matchExpressions")
    wanted = sorted(keys_of(match_labels))
    if not wanted and not expressions:
        return empty_selects_all
    return all_of(wanted, lambda key: _label_equals(labels, key, get_str(match_labels, key))) and all_of(
        range(len(expressions)), lambda index: _expression_selects(expressions[index], labels)
    )


def _label_equals(labels: Mapping[str, Any], key: str, value: str | None) -> bool:
    return value is not None and _label(labels, key) == value


def _label(labels: Mapping[str, Any], key: str) -> str | None:
    return get_str(labels, key) if key in keys_of(labels) else None


def _expression_selects(expression: Any, labels: Mapping[str, Any]) -> bool:
    key, operator = get_str(expression, "key"), get_str(expression, "operator")
    present = key is not None and key in keys_of(labels)
    if operator == "Exists":
        return present
    if operator == "DoesNotExist":
        return not present
    if operator in ("In", "NotIn"):
        inside = present and key is not None and _label(labels, key) in strings(get_seq(expression, "values"))
        return inside if operator == "In" else not inside
    return False  # the API rejects any other operator


def _target(props: Mapping[str, Any], ctx: StackContext) -> str:
    """'<metadata.name>' in namespace '<namespace>' for messages, '?' where unknown in preview."""
    judged = _Judged(props, ctx)
    name = peek(lambda: _name(props))
    namespace = peek(lambda: _stack_namespace(judged))
    name = name if isinstance(name, str) else "?"
    namespace = namespace if isinstance(namespace, str) else "?"
    return f"'{name}' in namespace '{namespace}'"


def _scales(autoscaler: GraphResource, deployment: _Judged) -> bool:
    ref = get_map(get_map(autoscaler.props, "spec"), "scaleTargetRef")
    # Kind, then namespace, then name: an autoscaler whose target name is still unknown is ruled out for
    # Deployments of other namespaces.
    if get_str(ref, "kind") != "Deployment" or _stack_namespace(autoscaler) != _stack_namespace(deployment):
        return False
    name = get_text(ref, "name")
    return name is not None and name == _name(deployment.props)


@stack_rule(
    name="k8s-deployment-has-hpa",
    description="Every Deployment has a HorizontalPodAutoscaler that scales it.",
    severity="medium",
    remediation=(
        "Create an autoscaling/v2 HorizontalPodAutoscaler in the Deployment's namespace with "
        "scaleTargetRef {apiVersion: 'apps/v1', kind: 'Deployment', name: <the Deployment's name>}, "
        "minReplicas >= 2 and CPU/memory Utilization targets, and leave the Deployment's replicas unset."
    ),
    resource_types=DEPLOYMENTS,
    url="https://kubernetes.io/docs/tasks/run-application/horizontal-pod-autoscale/",
)
def k8s_deployment_has_hpa(props: Mapping[str, Any], ctx: StackContext) -> Finding:
    if _companions(props, ctx, HPAS, _scales):
        return compliant()
    return violation(
        f"Deployment '{ctx.name}' ({_target(props, ctx)}) has no HorizontalPodAutoscaler whose "
        "scaleTargetRef names it."
    )


def _budgets(budget: GraphResource, workload: _Judged) -> bool:
    selector = get(get_map(budget.props, "spec"), "selector")
    empty_selects_all = budget.resource_type not in PDB_EMPTY_SELECTS_NONE
    labels = _pod_labels(workload.props, workload.resource_type)
    return _selects(selector, labels, empty_selects_all=empty_selects_all) and _stack_namespace(
        budget
    ) == _stack_namespace(workload)


@stack_rule(
    name="k8s-deployment-has-pdb",
    description="Every Deployment's pods are covered by a PodDisruptionBudget, so drains keep it serving.",
    severity="medium",
    remediation=(
        "Create a policy/v1 PodDisruptionBudget in the Deployment's namespace whose selector.matchLabels "
        "is a subset of the pod template's labels, with maxUnavailable: 1 (or a percentage) rather than a "
        "minAvailable that can block node drains."
    ),
    resource_types=DEPLOYMENTS,
    url="https://kubernetes.io/docs/concepts/workloads/pods/disruptions/",
)
def k8s_deployment_has_pdb(props: Mapping[str, Any], ctx: StackContext) -> Finding:
    if _companions(props, ctx, PDBS, _budgets):
        return compliant()
    return violation(
        f"Deployment '{ctx.name}' ({_target(props, ctx)}) has no PodDisruptionBudget selecting its pods."
    )


def _isolates(policy: GraphResource, workload: _Judged) -> bool:
    selector = get(get_map(policy.props, "spec"), "podSelector")
    labels = _pod_labels(workload.props, workload.resource_type)
    # podSelector is a plain struct in the API: omitted is the same as {}, every pod of the namespace.
    selected = selector is None or _selects(selector, labels, empty_selects_all=True)
    return selected and _stack_namespace(policy) == _stack_namespace(workload)


@stack_rule(
    name="k8s-network-policy-coverage",
    description="Every workload's pods are selected by a NetworkPolicy in their namespace.",
    severity="medium",
    remediation=(
        "Create a networking.k8s.io/v1 NetworkPolicy in each app namespace: a default-deny policy with "
        "podSelector {} and policyTypes ['Ingress', 'Egress'], plus policies allowing the app's own traffic."
    ),
    resource_types=WORKLOADS,
    checkov=("CKV2_K8S_6",),
    url="https://kubernetes.io/docs/concepts/services-networking/network-policies/",
)
def k8s_network_policy_coverage(props: Mapping[str, Any], ctx: StackContext) -> Finding:
    if _companions(props, ctx, NETWORK_POLICIES, _isolates):
        return compliant()
    kind = _kind(ctx.resource_type)
    return violation(f"{kind} '{ctx.name}' ({_target(props, ctx)}): no NetworkPolicy selects its pods.")


RULES = (
    k8s_container_resources,
    k8s_readiness_probe,
    k8s_liveness_probe,
    k8s_run_as_non_root,
    k8s_read_only_root_filesystem,
    k8s_no_privilege_escalation,
    k8s_drop_all_capabilities,
    k8s_image_tag_pinned,
    k8s_no_host_path_volumes,
    k8s_no_host_namespaces,
    k8s_not_default_namespace,
    k8s_no_load_balancer_service,
    k8s_deployment_has_hpa,
    k8s_deployment_has_pdb,
    k8s_network_policy_coverage,
)
