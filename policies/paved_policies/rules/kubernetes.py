"""Kubernetes rules: container hardening, resources, probes and images, namespaces, and the companions a
workload needs (PodDisruptionBudget, HorizontalPodAutoscaler, NetworkPolicy).

The container and pod rules hold every pod to the Pod Security Standards' `restricted` profile, and so to
`baseline`: https://kubernetes.io/docs/concepts/security/pod-security-standards/. Pod Security Admission
enforces a profile only in the namespaces labelled for it, and only when the pod is applied; the pack
reports at preview, in every namespace. Where the standard changes with the Kubernetes version (the safe
sysctls, the SELinux types), the pack follows the versions `eks-supported-version` accepts. The standard's
optional "non-root groups" control, which Pod Security Admission does not enforce, has no policy.

Resources come from pulumi-kubernetes, typed `kubernetes:<group>/<version>:<Kind>`, with the manifest as
their inputs (`metadata`, `spec`). The pod spec sits at `spec` (Pod), `spec.template.spec` (Deployment,
StatefulSet, DaemonSet, ReplicaSet, ReplicationController, Job), `spec.jobTemplate.spec.template.spec`
(CronJob) or `template.spec` (PodTemplate). The API versions Kubernetes has since removed (apps/v1beta2
Deployments, batch/v1beta1 CronJobs...) carry the same pod spec and are judged the same way. Not judged:
`*Patch` resources (partial by design), Helm v3 Releases (opaque: their manifests never reach the pack) and
CustomResources (the pack cannot know a custom kind's scope or schema).

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
    any_item,
    any_of,
    as_int,
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
# A PodTemplate runs nothing itself; other controllers make pods from it. Pod Security Admission and
# checkov's container checks judge it like a workload, and so do the pod rules.
POD_TEMPLATES = _tokens("PodTemplate", "core/v1")
POD_SPECS = WORKLOADS + POD_TEMPLATES
# Pods meant to keep running: a Job's pods run to completion, so probes would only restart or hide them.
LONG_RUNNING = tuple(t for t in POD_SPECS if t not in JOBS + CRON_JOBS)

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
    POD_SPECS
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
# Not ephemeralContainers: the API refuses them on create and in every pod template (the ephemeralcontainers
# subresource adds them to running pods), so no program declares one.
ALL_CONTAINERS = ("containers", "initContainers")
PROBE_HANDLERS = ("httpGet", "tcpSocket", "exec", "grpc")
HOST_NAMESPACES = ("hostNetwork", "hostPID", "hostIPC")
# The one capability the restricted Pod Security Standard lets a container add (ports below 1024).
ADDABLE_CAPABILITIES = ("NET_BIND_SERVICE",)
# The seccomp and AppArmor profile types the standards allow; the third, Unconfined, turns confinement off.
CONFINING_PROFILES = ("RuntimeDefault", "Localhost")
# The legacy per-container AppArmor annotation (before securityContext.appArmorProfile, Kubernetes 1.30),
# whose allowed values are runtime/default, localhost/<profile> or empty; "unconfined" turns it off.
APPARMOR_ANNOTATION = "container.apparmor.security.beta.kubernetes.io/"
# The SELinux types a container process may take (container_engine_t since Kubernetes 1.31); others, such as
# spc_t, are unconfined. The user and role may not be set at all.
SELINUX_TYPES = ("container_t", "container_init_t", "container_kvm_t", "container_engine_t")
# The sysctls the baseline standard calls safe (namespaced, and isolated from other pods), at Kubernetes
# 1.32 to 1.36; 1.37 adds net.ipv4.tcp_slow_start_after_idle and net.ipv4.tcp_notsent_lowat.
SAFE_SYSCTLS = frozenset(
    {
        "kernel.shm_rmid_forced",
        "net.ipv4.ip_local_port_range",
        "net.ipv4.tcp_syncookies",
        "net.ipv4.ping_group_range",
        "net.ipv4.ip_unprivileged_port_start",
        "net.ipv4.ip_local_reserved_ports",
        "net.ipv4.tcp_keepalive_time",
        "net.ipv4.tcp_fin_timeout",
        "net.ipv4.tcp_keepalive_intvl",
        "net.ipv4.tcp_keepalive_probes",
        "net.ipv4.tcp_rmem",
        "net.ipv4.tcp_wmem",
    }
)
# The inline volume sources the restricted standard allows. The others (nfs, iscsi, cloud disks, gitRepo...)
# reach storage that no PersistentVolume, and so no cluster admin, vetted.
RESTRICTED_VOLUME_SOURCES = frozenset(
    {
        "configMap",
        "csi",
        "downwardAPI",
        "emptyDir",
        "ephemeral",
        "image",
        "persistentVolumeClaim",
        "projected",
        "secret",
    }
)
# Where a container names a handler the kubelet runs for it: its probes and lifecycle hooks.
HANDLER_PATHS = (
    ("livenessProbe",),
    ("readinessProbe",),
    ("startupProbe",),
    ("lifecycle", "postStart"),
    ("lifecycle", "preStop"),
)
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
    if kind == "PodTemplate":
        return get_map(props, "template")
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
# A check on the pod template as a whole (`metadata` and `spec`), returning the whole problem or None.
PodCheck = Callable[[Mapping[str, Any]], str | None]
# A check on one securityContext, the pod's or a container's: "<problem>" or None.
ContextCheck = Callable[[Mapping[str, Any]], str | None]


def _each(items: Sequence[Any], check: Callable[[Any], str | None]) -> list[Callable[[], str | None]]:
    """One check per item, reading the item only when it runs: one unknown in preview defers alone."""
    return [lambda index=index: check(items[index]) for index in range(len(items))]


def _judged(ctx: ResourceContext, problems: Sequence[str]) -> Finding:
    if problems:
        return violation(f"{_kind(ctx.resource_type)} '{ctx.name}': {'; '.join(problems)}.")
    return compliant()


def _runs_windows(ctx: ResourceContext) -> Finding:
    # The API rejects the Linux security fields, the pod's and the containers', when spec.os.name is windows.
    return not_applicable(f"{_kind(ctx.resource_type)} '{ctx.name}' runs Windows pods")


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
    pod_checks: Sequence[PodCheck] = (),
) -> Finding:
    template = _pod_template(props, ctx.resource_type)
    pod = get_map(template, "spec")
    if linux_only and _is_windows(pod):
        return _runs_windows(ctx)
    checks = _container_checks(pod, groups, check)
    if not checks:
        return not_applicable(f"{_kind(ctx.resource_type)} '{ctx.name}' declares no containers")
    return _judged(ctx, problems_found([*(partial(c, template) for c in pod_checks), *checks]))


def _on_pod(check: ContextCheck) -> PodCheck:
    """`check` on the pod's own securityContext, as "the pod <problem>"."""

    def pod_check(template: Mapping[str, Any]) -> str | None:
        problem = check(get_map(get_map(template, "spec"), "securityContext"))
        return f"the pod {problem}" if problem else None

    return pod_check


def _judge_security_contexts(
    props: Mapping[str, Any],
    ctx: ResourceContext,
    check: ContextCheck,
    *,
    linux_only: bool = False,
    pod_checks: Sequence[PodCheck] = (),
) -> Finding:
    """`check` on the pod's securityContext and on every container's. The standards refuse a bad value at
    either level, even a pod-level one that each container overrides."""
    return _judge_containers(
        props,
        ctx,
        lambda container, pod: check(_security_context(container)),
        linux_only=linux_only,
        pod_checks=[_on_pod(check), *pod_checks],
    )


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
    resource_types=POD_SPECS,
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


def _root_user(context: Mapping[str, Any]) -> str | None:
    return "runs as UID 0 (runAsUser: 0)" if get_int(context, "runAsUser") == 0 else None


def _runs_as_root(container: Mapping[str, Any], pod: Mapping[str, Any]) -> str | None:
    own = _security_context(container)
    problems = problems_found([lambda: _root_user(own), lambda: _not_non_root(own, pod)])
    return " and ".join(problems) or None


def _not_non_root(own: Mapping[str, Any], pod: Mapping[str, Any]) -> str | None:
    # The container's securityContext overrides the pod's, field by field.
    non_root = get_bool(own, "runAsNonRoot")
    if non_root is None:
        non_root = get_bool(get_map(pod, "securityContext"), "runAsNonRoot")
    if non_root is True:
        return None
    return "sets runAsNonRoot: false" if non_root is False else "does not set runAsNonRoot: true"


@resource_rule(
    name="k8s-run-as-non-root",
    description=(
        "Containers must run as a non-root user (runAsNonRoot: true, on the container or the pod), and "
        "neither the pod nor a container sets runAsUser: 0."
    ),
    severity="high",
    remediation=(
        "Set securityContext.runAsNonRoot=True on the pod (or on every container), with runAsUser set to a "
        "non-zero UID the image can run as; a container-level value overrides the pod's, but a pod-level "
        "runAsUser: 0 is refused even where every container overrides it."
    ),
    resource_types=POD_SPECS,
    # Stricter than checkov's CKV_K8S_23, which also accepts runAsUser > 0 alone: like the restricted Pod
    # Security Standard, this rule wants runAsNonRoot, which the kubelet enforces for every image.
    checkov=("CKV_K8S_23",),
    url=PSS_URL,
)
def k8s_run_as_non_root(props: Mapping[str, Any], ctx: ResourceContext) -> Finding:
    return _judge_containers(props, ctx, _runs_as_root, pod_checks=[_on_pod(_root_user)])


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
    resource_types=POD_SPECS,
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
    resource_types=POD_SPECS,
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
    if any_item(dropped, lambda capability: capability == "ALL"):
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
    resource_types=POD_SPECS,
    # CKV_K8S_37 is this check; every container failing CKV_K8S_28 (NET_RAW not dropped) or CKV_K8S_39
    # (SYS_ADMIN added) fails it too.
    checkov=("CKV_K8S_37", "CKV_K8S_28", "CKV_K8S_39"),
    url=PSS_URL,
)
def k8s_drop_all_capabilities(props: Mapping[str, Any], ctx: ResourceContext) -> Finding:
    return _judge_containers(props, ctx, _extra_capabilities, linux_only=True)


def _host_port(port: Any) -> str | None:
    value = get(port, "hostPort")
    number = as_int(value)
    if value is None or number == 0:  # 0 is how the API spells "no host port"
        return None
    return str(value if number is None else number)


def _host_ports(container: Mapping[str, Any], pod: Mapping[str, Any]) -> str | None:
    ports = get_seq(container, "ports")
    bound = problems_found(_each(ports, _host_port))
    return f"binds the node's port {', '.join(bound)} (hostPort)" if bound else None


@resource_rule(
    name="k8s-no-host-ports",
    description="Containers bind no port of the node (hostPort unset or 0).",
    severity="medium",
    remediation=(
        "Remove hostPort from every container port and reach the pods through a Service (exposed through "
        "the shared ALB with a TargetGroupBinding): a host port bypasses the Service, ties each pod to a "
        "node with that port free, and opens the port on the node's own address."
    ),
    resource_types=POD_SPECS,
    # checkov's CKV_K8S_26 flags every hostPort key, even a hostPort: 0, which the API reads as no host
    # port and this rule does not flag: the one difference.
    checkov=("CKV_K8S_26",),
    url=PSS_URL,
)
def k8s_no_host_ports(props: Mapping[str, Any], ctx: ResourceContext) -> Finding:
    return _judge_containers(props, ctx, _host_ports)


def _profile_type(context: Mapping[str, Any], field: str) -> str | None:
    return get_text(get_map(context, field), "type")


def _unconfined(field: str) -> ContextCheck:
    """The check that securityContext.<field>.type, where set, confines the process."""

    def check(context: Mapping[str, Any]) -> str | None:
        kind = _profile_type(context, field)
        return None if kind is None or kind in CONFINING_PROFILES else f"sets {field}.type: {kind}"

    return check


_unconfined_seccomp = _unconfined("seccompProfile")


def _no_seccomp(container: Mapping[str, Any], pod: Mapping[str, Any]) -> str | None:
    own = _security_context(container)
    if _profile_type(own, "seccompProfile") is not None:
        return _unconfined_seccomp(own)
    if _profile_type(get_map(pod, "securityContext"), "seccompProfile") is None:
        return "has no seccompProfile.type, and neither has the pod"
    return None  # the pod's profile applies, judged on the pod


@resource_rule(
    name="k8s-seccomp-profile",
    description=(
        "Containers run under a seccomp profile, RuntimeDefault or Localhost, set on the pod or on each "
        "container; none is Unconfined."
    ),
    severity="medium",
    remediation=(
        "Set securityContext.seccompProfile.type='RuntimeDefault' on the pod (containers inherit it), or "
        "'Localhost' with a localhostProfile the nodes have; never 'Unconfined', on the pod or a container."
    ),
    resource_types=POD_SPECS,
    # Not checkov's CKV_K8S_31: it fails Localhost profiles, which the standard allows, ignores the
    # container-level field on CronJobs and reads only the legacy annotation on ReplicationControllers.
    url=PSS_URL,
)
def k8s_seccomp_profile(props: Mapping[str, Any], ctx: ResourceContext) -> Finding:
    return _judge_containers(
        props, ctx, _no_seccomp, linux_only=True, pod_checks=[_on_pod(_unconfined_seccomp)]
    )


def _unconfined_apparmor_annotations(template: Mapping[str, Any]) -> str | None:
    annotations = get_map(get_map(template, "metadata"), "annotations")
    keys = sorted(key for key in keys_of(annotations) if key.startswith(APPARMOR_ANNOTATION))
    unconfined = problems_found(_each(keys, lambda key: _unconfined_annotation(annotations, key)))
    return f"the pod's annotations set {', '.join(unconfined)}" if unconfined else None


def _unconfined_annotation(annotations: Mapping[str, Any], key: str) -> str | None:
    value = get_str(annotations, key)
    if not value or value == "runtime/default" or value.startswith("localhost/"):
        return None
    return f"{key}: {value}"


@resource_rule(
    name="k8s-no-unconfined-apparmor",
    description=(
        "Neither the pod nor a container turns AppArmor off: appArmorProfile.type is RuntimeDefault or "
        "Localhost where set, and no container.apparmor.security.beta.kubernetes.io annotation is unconfined."
    ),
    severity="medium",
    remediation=(
        "Leave AppArmor at the runtime's default profile: remove appArmorProfile.type 'Unconfined' from the "
        "pod and container securityContexts and 'unconfined' "
        "container.apparmor.security.beta.kubernetes.io/* annotations from the pod template, or name a "
        "Localhost profile the nodes load."
    ),
    resource_types=POD_SPECS,
    url=PSS_URL,
)
def k8s_no_unconfined_apparmor(props: Mapping[str, Any], ctx: ResourceContext) -> Finding:
    return _judge_security_contexts(
        props,
        ctx,
        _unconfined("appArmorProfile"),
        linux_only=True,
        pod_checks=[_unconfined_apparmor_annotations],
    )


def _selinux_type(options: Mapping[str, Any]) -> str | None:
    kind = get_str(options, "type")
    return f"sets seLinuxOptions.type: {kind}" if kind and kind not in SELINUX_TYPES else None


def _selinux_label(options: Mapping[str, Any], field: str) -> str | None:
    value = get_str(options, field)
    return f"sets seLinuxOptions.{field}: {value}" if value else None


def _custom_selinux(context: Mapping[str, Any]) -> str | None:
    options = get_map(context, "seLinuxOptions")
    labels = (partial(_selinux_label, options, field) for field in ("user", "role"))
    return " and ".join(problems_found([partial(_selinux_type, options), *labels])) or None


@resource_rule(
    name="k8s-selinux-options",
    description=(
        "SELinux options set no user or role, and a type only among container_t, container_init_t, "
        "container_kvm_t and container_engine_t, on the pod and on every container."
    ),
    severity="high",
    remediation=(
        "Remove seLinuxOptions.user and .role from the pod and container securityContexts and leave "
        "seLinuxOptions.type unset (the runtime picks container_t) or one of the container types; a type "
        "such as spc_t runs the container unconfined by SELinux. seLinuxOptions.level may stay."
    ),
    resource_types=POD_SPECS,
    url=PSS_URL,
)
def k8s_selinux_options(props: Mapping[str, Any], ctx: ResourceContext) -> Finding:
    return _judge_security_contexts(props, ctx, _custom_selinux, linux_only=True)


def _unmasked_proc(container: Mapping[str, Any], pod: Mapping[str, Any]) -> str | None:
    mount = get_str(_security_context(container), "procMount")
    return None if mount is None or mount == "Default" else f"sets procMount: {mount}"


@resource_rule(
    name="k8s-default-proc-mount",
    description="Containers keep the default, masked /proc (procMount unset or Default).",
    severity="medium",
    remediation=(
        "Remove securityContext.procMount from every container (or set it to 'Default'): 'Unmasked' exposes "
        "the host's kernel interfaces under /proc that the runtime otherwise masks."
    ),
    resource_types=POD_SPECS,
    url=PSS_URL,
)
def k8s_default_proc_mount(props: Mapping[str, Any], ctx: ResourceContext) -> Finding:
    return _judge_containers(props, ctx, _unmasked_proc, linux_only=True)


def _host_process(context: Mapping[str, Any]) -> str | None:
    host_process = get_bool(get_map(context, "windowsOptions"), "hostProcess")
    return "sets windowsOptions.hostProcess: true" if host_process is True else None


@resource_rule(
    name="k8s-no-host-process",
    description=(
        "No Windows HostProcess containers: windowsOptions.hostProcess is not true on the pod or a container."
    ),
    severity="high",
    remediation=(
        "Remove windowsOptions.hostProcess from the pod and container securityContexts: a HostProcess "
        "container runs directly on the Windows node, with the node's network and filesystem."
    ),
    resource_types=POD_SPECS,
    url=PSS_URL,
)
def k8s_no_host_process(props: Mapping[str, Any], ctx: ResourceContext) -> Finding:
    return _judge_security_contexts(props, ctx, _host_process)


def _handler_host(container: Mapping[str, Any], path: Sequence[str]) -> str | None:
    action: Mapping[str, Any] = container
    for key in path:
        action = get_map(action, key)
    host = get_str(action, "host")
    return f"{'.'.join(path)}.host: {host}" if host else None


def _handler_hosts(container: Mapping[str, Any], pod: Mapping[str, Any]) -> str | None:
    paths = [(*handler, action) for handler in HANDLER_PATHS for action in ("httpGet", "tcpSocket")]
    hosts = problems_found([partial(_handler_host, container, path) for path in paths])
    return f"sets {', '.join(hosts)}" if hosts else None


@resource_rule(
    name="k8s-no-probe-host",
    description=(
        "Probes and lifecycle hooks check the pod itself: no httpGet or tcpSocket handler names a host."
    ),
    severity="medium",
    remediation=(
        "Remove host from the httpGet and tcpSocket handlers of every probe and lifecycle hook (the pod's IP "
        "is the default): the kubelet runs them from the node, so a host there lets the pod make the node "
        "connect anywhere."
    ),
    resource_types=POD_SPECS,
    url=PSS_URL,
)
def k8s_no_probe_host(props: Mapping[str, Any], ctx: ResourceContext) -> Finding:
    return _judge_containers(props, ctx, _handler_hosts)


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
    resource_types=POD_SPECS,
    # Not CKV_K8S_43, which demands a digest: a fixed tag passes here.
    checkov=("CKV_K8S_14",),
    url="https://kubernetes.io/docs/concepts/containers/images/",
)
def k8s_image_tag_pinned(props: Mapping[str, Any], ctx: ResourceContext) -> Finding:
    return _judge_containers(props, ctx, _image_problem)


# ---------------------------------------------------------------------------------------------
# Pods.


def _volume_name(volume: Any) -> str:
    name = peek(lambda: get_text(volume, "name"))
    return f"volume '{name}'" if isinstance(name, str) else "a volume"


def _host_volume(volume: Any) -> str | None:
    if not has_value(volume, "hostPath"):  # presence: a hostPath unknown in preview is still one
        return None
    return f"{_volume_name(volume)} mounts a hostPath"


def _judge_volumes(
    props: Mapping[str, Any], ctx: ResourceContext, check: Callable[[Any], str | None]
) -> Finding:
    volumes = get_seq(_pod_spec(props, ctx.resource_type), "volumes")
    return _judged(ctx, problems_found(_each(volumes, check)))


@resource_rule(
    name="k8s-no-host-path-volumes",
    description="Pods mount no hostPath volumes (the node's filesystem).",
    severity="high",
    remediation=(
        "Replace hostPath volumes with emptyDir, configMap, secret, projected or persistentVolumeClaim "
        "volumes; node agents that truly need the host belong in a separately reviewed DaemonSet."
    ),
    resource_types=POD_SPECS,
    # checkov's CKV_K8S_27 flags the Docker socket, one hostPath among those this rule flags.
    checkov=("CKV_K8S_27",),
    url="https://kubernetes.io/docs/concepts/storage/volumes/#hostpath",
)
def k8s_no_host_path_volumes(props: Mapping[str, Any], ctx: ResourceContext) -> Finding:
    return _judge_volumes(props, ctx, _host_volume)


def _unrestricted_volume(volume: Any) -> str | None:
    # Presence, as for hostPath: a source unknown in preview is still that source. A volume with no source
    # at all is an emptyDir (the API's default); hostPath is k8s-no-host-path-volumes' to report.
    sources = sorted(key for key in keys_of(volume) if key != "name" and has_value(volume, key))
    refused = [key for key in sources if key not in RESTRICTED_VOLUME_SOURCES and key != "hostPath"]
    return f"{_volume_name(volume)} uses {' and '.join(refused)}" if refused else None


@resource_rule(
    name="k8s-restricted-volume-types",
    description=(
        "Pod volumes are of the types the restricted standard allows: configMap, csi, downwardAPI, emptyDir, "
        "ephemeral, image, persistentVolumeClaim, projected, secret (hostPath: k8s-no-host-path-volumes)."
    ),
    severity="medium",
    remediation=(
        "Mount network and cloud storage (nfs, iscsi, awsElasticBlockStore, cephfs...) through a "
        "PersistentVolumeClaim, bound to a PersistentVolume or a CSI StorageClass that the cluster admin "
        "provides, instead of declaring it inline in the pod; clone repositories in an init container "
        "into an emptyDir instead of a gitRepo volume."
    ),
    resource_types=POD_SPECS,
    url=PSS_URL,
)
def k8s_restricted_volume_types(props: Mapping[str, Any], ctx: ResourceContext) -> Finding:
    return _judge_volumes(props, ctx, _unrestricted_volume)


@resource_rule(
    name="k8s-no-host-namespaces",
    description="Pods share none of the node's network, process or IPC namespaces.",
    severity="high",
    remediation="Remove hostNetwork, hostPID and hostIPC from the pod spec (or set them to False).",
    resource_types=POD_SPECS,
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


def _unsafe_sysctl(sysctl: Any) -> str | None:
    name = get_str(sysctl, "name")
    return None if name in SAFE_SYSCTLS else name or "one without a name"


@resource_rule(
    name="k8s-safe-sysctls",
    description="Pods set only the sysctls Kubernetes calls safe: namespaced, and isolated from other pods.",
    severity="medium",
    remediation=(
        "Remove every securityContext.sysctls entry outside the safe set (kernel.shm_rmid_forced, "
        "net.ipv4.ip_local_port_range, net.ipv4.ip_unprivileged_port_start, net.ipv4.tcp_keepalive_time..., "
        "listed on the Pod Security Standards page); tune the node itself, through its launch template, "
        "for anything else."
    ),
    resource_types=POD_SPECS,
    url=PSS_URL,
)
def k8s_safe_sysctls(props: Mapping[str, Any], ctx: ResourceContext) -> Finding:
    pod = _pod_spec(props, ctx.resource_type)
    if _is_windows(pod):
        return _runs_windows(ctx)
    sysctls = get_seq(get_map(pod, "securityContext"), "sysctls")
    unsafe = problems_found(_each(sysctls, _unsafe_sysctl))
    return _judged(ctx, [f"the pod sets unsafe sysctls {', '.join(unsafe)}"] if unsafe else [])


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
    k8s_no_host_ports,
    k8s_seccomp_profile,
    k8s_no_unconfined_apparmor,
    k8s_selinux_options,
    k8s_default_proc_mount,
    k8s_no_host_process,
    k8s_no_probe_host,
    k8s_image_tag_pinned,
    k8s_no_host_path_volumes,
    k8s_restricted_volume_types,
    k8s_no_host_namespaces,
    k8s_safe_sysctls,
    k8s_not_default_namespace,
    k8s_no_load_balancer_service,
    k8s_deployment_has_hpa,
    k8s_deployment_has_pdb,
    k8s_network_policy_coverage,
)
