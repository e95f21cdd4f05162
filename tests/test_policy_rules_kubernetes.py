"""The Kubernetes family: container hardening (the Pod Security Standards), resources, probes, images,
namespaces, Services, and the companions of a workload (HPA, PDB, NetworkPolicy).

Fixtures and the tests only this family needs; tests/test_policy_pack.py runs the tables below with every
other family's, through tests/policy_harness.py (the real pulumi_policy objects, props behind the SDK's
unknown-checking proxy, numbers as floats, unknowns as the engine's sentinels). The fixtures are shaped
like what components/workload.py sends (manifests with literal names, labels and namespaces, so known in a
first preview).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pulumi_kubernetes
import pytest
from paved_policies.pack import RULES
from paved_policies.rule import ResourceContext, ResourceRule
from paved_policies.rules import kubernetes as k8s
from pulumi_policy import StackValidationArgs, StackValidationPolicy
from pulumi_policy.proxy import (
    UNKNOWN_ARRAY_VALUE,
    UNKNOWN_BOOLEAN_VALUE,
    UNKNOWN_NUMBER_VALUE,
    UNKNOWN_OBJECT_VALUE,
    UnknownValueError,
)

from tests.policy_harness import (
    POLICIES,
    UNKNOWN,
    UNKNOWNS,
    Deferral,
    Family,
    OtherType,
    Outcome,
    PreviewUnknown,
    Res,
    ResourceCase,
    StackCase,
    StackFuzzTarget,
    assert_outcome,
    build_stack,
    but,
    run_resource,
    run_stack,
    urn_of,
)

POD = "kubernetes:core/v1:Pod"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
STATEFUL_SET = "kubernetes:apps/v1:StatefulSet"
DAEMON_SET = "kubernetes:apps/v1:DaemonSet"
REPLICA_SET = "kubernetes:apps/v1:ReplicaSet"
JOB = "kubernetes:batch/v1:Job"
CRON_JOB = "kubernetes:batch/v1:CronJob"
POD_TEMPLATE = "kubernetes:core/v1:PodTemplate"
OLD_DEPLOYMENT = "kubernetes:apps/v1beta2:Deployment"
SERVICE = "kubernetes:core/v1:Service"
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
SERVICE_ACCOUNT = "kubernetes:core/v1:ServiceAccount"
NAMESPACE = "kubernetes:core/v1:Namespace"
HPA = "kubernetes:autoscaling/v2:HorizontalPodAutoscaler"
HPA_V1 = "kubernetes:autoscaling/v1:HorizontalPodAutoscaler"
PDB = "kubernetes:policy/v1:PodDisruptionBudget"
PDB_V1BETA1 = "kubernetes:policy/v1beta1:PodDisruptionBudget"
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
TARGET_GROUP_BINDING = "kubernetes:elbv2.k8s.aws/v1beta1:TargetGroupBinding"
HELM_RELEASE = "kubernetes:helm.sh/v3:Release"

RESOURCES = "k8s-container-resources"
READINESS = "k8s-readiness-probe"
LIVENESS = "k8s-liveness-probe"
NON_ROOT = "k8s-run-as-non-root"
READ_ONLY = "k8s-read-only-root-filesystem"
ESCALATION = "k8s-no-privilege-escalation"
CAPABILITIES = "k8s-drop-all-capabilities"
HOST_PORTS = "k8s-no-host-ports"
SECCOMP = "k8s-seccomp-profile"
APPARMOR = "k8s-no-unconfined-apparmor"
SELINUX = "k8s-selinux-options"
PROC_MOUNT = "k8s-default-proc-mount"
HOST_PROCESS = "k8s-no-host-process"
PROBE_HOST = "k8s-no-probe-host"
IMAGE = "k8s-image-tag-pinned"
HOST_PATH = "k8s-no-host-path-volumes"
VOLUME_TYPES = "k8s-restricted-volume-types"
HOST_NAMESPACES = "k8s-no-host-namespaces"
SYSCTLS = "k8s-safe-sysctls"
DEFAULT_NS = "k8s-not-default-namespace"
LOAD_BALANCER = "k8s-no-load-balancer-service"
HAS_HPA = "k8s-deployment-has-hpa"
HAS_PDB = "k8s-deployment-has-pdb"
NETWORK = "k8s-network-policy-coverage"


# ---------------------------------------------------------------------------------------------
# Fixtures, shaped as components/workload.py declares them.

SELECTOR = {"app.kubernetes.io/name": "web"}
LABELS = {
    **SELECTOR,
    "app.kubernetes.io/instance": "web-prod",
    "app.kubernetes.io/version": "1.4.2",
    "app.kubernetes.io/component": "web",
    "app.kubernetes.io/part-of": "paved",
    "app.kubernetes.io/managed-by": "pulumi",
}
IMAGE_REF = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/web:1.4.2"


def metadata(name: str = "web", namespace: str | None = "web", **extra: Any) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "labels": LABELS, **extra}
    if namespace is not None:
        meta["namespace"] = namespace
    return meta


def probe(path: str, period: float) -> dict[str, Any]:
    return {
        "httpGet": {"path": path, "port": "http"},
        "periodSeconds": period,
        "timeoutSeconds": 5.0,
        "failureThreshold": 3.0,
    }


CONTAINER: dict[str, Any] = {
    "name": "web",
    "image": IMAGE_REF,
    "imagePullPolicy": "IfNotPresent",
    "ports": [{"name": "http", "containerPort": 3000.0, "protocol": "TCP"}],
    "envFrom": [{"configMapRef": {"name": "web-env"}}],
    "resources": {
        "requests": {"cpu": "250m", "memory": "512Mi"},
        "limits": {"cpu": "1", "memory": "512Mi"},
    },
    "startupProbe": probe("/health", 5.0),
    "readinessProbe": probe("/health/ready", 10.0),
    "livenessProbe": probe("/health/live", 20.0),
    "lifecycle": {"preStop": {"sleep": {"seconds": 35.0}}},
    "securityContext": {
        "runAsNonRoot": True,
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
    },
    "volumeMounts": [{"name": "writable-0", "mountPath": "/tmp"}],
}
POD_SPEC: dict[str, Any] = {
    "serviceAccountName": "web",
    "automountServiceAccountToken": False,
    "terminationGracePeriodSeconds": 65.0,
    "securityContext": {
        "runAsNonRoot": True,
        "runAsUser": 10001.0,
        "runAsGroup": 10001.0,
        "fsGroup": 10001.0,
        "seccompProfile": {"type": "RuntimeDefault"},
    },
    "containers": [CONTAINER],
    "volumes": [{"name": "writable-0", "emptyDir": {"sizeLimit": "1Gi"}}],
}


def workload(
    rtype: str = DEPLOYMENT,
    pod: Mapping[str, Any] = POD_SPEC,
    *,
    annotations: Any = None,
    **meta: Any,
) -> dict[str, Any]:
    """A `rtype` running `pod` (its pods annotated with `annotations`), labelled and namespaced like paved's
    Deployment."""
    kind = rtype.rsplit(":", 1)[-1]
    pod_meta: dict[str, Any] = {"labels": LABELS}
    if annotations is not None:
        pod_meta["annotations"] = annotations
    template = {"metadata": pod_meta, "spec": dict(pod)}
    if kind == "Pod":
        return {
            "apiVersion": "v1",
            "kind": kind,
            "metadata": {**metadata(**meta), **pod_meta},
            "spec": dict(pod),
        }
    if kind == "PodTemplate":
        return {"apiVersion": "v1", "kind": kind, "metadata": metadata(**meta), "template": template}
    if kind == "CronJob":
        spec: dict[str, Any] = {"schedule": "*/5 * * * *", "jobTemplate": {"spec": {"template": template}}}
    elif kind == "Job":
        spec = {"template": but(template, spec=but(pod, restartPolicy="Never"))}
    else:
        spec = {"selector": {"matchLabels": SELECTOR}, "template": template}
    if kind == "Deployment":
        spec["strategy"] = {
            "type": "RollingUpdate",
            "rollingUpdate": {"maxUnavailable": 0.0, "maxSurge": "25%"},
        }
    return {"apiVersion": "apps/v1", "kind": kind, "metadata": metadata(**meta), "spec": spec}


def pod(**changes: Any) -> dict[str, Any]:
    return but(POD_SPEC, **changes)


def container(**changes: Any) -> dict[str, Any]:
    return but(CONTAINER, **changes)


def security(**changes: Any) -> dict[str, Any]:
    """CONTAINER with its securityContext changed."""
    return container(securityContext=but(CONTAINER["securityContext"], **changes))


def pod_security(**changes: Any) -> dict[str, Any]:
    """POD_SPEC's securityContext changed, for running(..., securityContext=pod_security(...))."""
    return but(POD_SPEC["securityContext"], **changes)


def running(*containers: Mapping[str, Any], rtype: str = DEPLOYMENT, **pod_changes: Any) -> dict[str, Any]:
    """A `rtype` whose pod runs `containers` (with the pod spec changed)."""
    return workload(rtype, pod(containers=list(containers), **pod_changes))


def resources(**sections: Any) -> dict[str, Any]:
    return container(resources=sections)


DEPLOY = workload()
SIDECAR_INIT = {"name": "migrate", "image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/web:1.4.2"}
HARDENED_INIT = but(
    SIDECAR_INIT,
    resources={"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "128Mi"}},
    securityContext=CONTAINER["securityContext"],
)
WINDOWS_POD = pod(os={"name": "windows"}, containers=[container(securityContext={"runAsNonRoot": True})])
SERVICE_PROPS: dict[str, Any] = {
    "apiVersion": "v1",
    "kind": "Service",
    "metadata": metadata(),
    "spec": {
        "type": "ClusterIP",
        "selector": SELECTOR,
        "ports": [{"name": "http", "port": 3000.0, "targetPort": "http", "protocol": "TCP"}],
    },
}
CONFIG_MAP_PROPS = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata("web-env"), "data": {}}
SERVICE_ACCOUNT_PROPS = {"metadata": metadata(), "automountServiceAccountToken": False}


# (id, policy, type, props, expected, message fragment)
RESOURCE_CASES: list[ResourceCase] = [
    # k8s-container-resources
    ("res-paved", RESOURCES, DEPLOYMENT, DEPLOY, "ok", ""),
    (
        "res-no-cpu-limit",
        RESOURCES,
        DEPLOYMENT,
        running(resources(requests={"cpu": "250m", "memory": "512Mi"}, limits={"memory": "512Mi"})),
        "ok",
        "",
    ),
    (
        "res-numbers",
        RESOURCES,
        STATEFUL_SET,
        running(resources(requests={"cpu": 1.0, "memory": 536870912.0}, limits={"memory": 536870912.0})),
        "ok",
        "",
    ),
    (
        "res-none",
        RESOURCES,
        DEPLOYMENT,
        running(container(resources=...)),
        "violation",
        "container 'web' sets no requests.cpu, requests.memory, limits.memory",
    ),
    (
        "res-cpu-only",
        RESOURCES,
        DAEMON_SET,
        running(resources(requests={"cpu": "250m"}, limits={"cpu": "1"})),
        "violation",
        "requests.memory, limits.memory",
    ),
    (
        "res-zero-memory-limit",
        RESOURCES,
        DEPLOYMENT,
        running(resources(requests={"cpu": "250m", "memory": "512Mi"}, limits={"memory": "0"})),
        "violation",
        "sets no limits.memory",
    ),
    (
        "res-init-container",
        RESOURCES,
        DEPLOYMENT,
        workload(pod=pod(initContainers=[SIDECAR_INIT])),
        "violation",
        "init container 'migrate' sets no",
    ),
    (
        "res-cronjob",
        RESOURCES,
        CRON_JOB,
        running(container(resources=...), rtype=CRON_JOB),
        "violation",
        "web",
    ),
    ("res-pod", RESOURCES, POD, workload(POD), "ok", ""),
    ("res-pod-template", RESOURCES, POD_TEMPLATE, workload(POD_TEMPLATE), "ok", ""),
    ("res-no-containers", RESOURCES, DEPLOYMENT, workload(pod=pod(containers=[])), "n/a", ""),
    # k8s-readiness-probe / k8s-liveness-probe
    ("ready-paved", READINESS, DEPLOYMENT, DEPLOY, "ok", ""),
    ("ready-init-without", READINESS, DEPLOYMENT, workload(pod=pod(initContainers=[SIDECAR_INIT])), "ok", ""),
    (
        "ready-tcp",
        READINESS,
        STATEFUL_SET,
        running(container(readinessProbe={"tcpSocket": {"port": 5432.0}})),
        "ok",
        "",
    ),
    (
        "ready-missing",
        READINESS,
        DEPLOYMENT,
        running(container(readinessProbe=...)),
        "violation",
        "container 'web' has no readinessProbe",
    ),
    (
        "ready-no-handler",
        READINESS,
        DAEMON_SET,
        running(container(readinessProbe={"periodSeconds": 10.0})),
        "violation",
        "readinessProbe",
    ),
    (
        "ready-one-shot-pod",
        READINESS,
        POD,
        workload(POD, pod(restartPolicy="Never", containers=[container(readinessProbe=...)])),
        "n/a",
        "",
    ),
    ("live-paved", LIVENESS, DEPLOYMENT, DEPLOY, "ok", ""),
    (
        "live-grpc",
        LIVENESS,
        POD,
        workload(POD, pod(containers=[container(livenessProbe={"grpc": {"port": 9000.0}})])),
        "ok",
        "",
    ),
    (
        "live-missing",
        LIVENESS,
        REPLICA_SET,
        running(container(livenessProbe=...)),
        "violation",
        "has no livenessProbe",
    ),
    # k8s-run-as-non-root
    ("root-paved", NON_ROOT, DEPLOYMENT, DEPLOY, "ok", ""),
    (
        "root-pod-level-only",
        NON_ROOT,
        DEPLOYMENT,
        running(container(securityContext={"readOnlyRootFilesystem": True})),
        "ok",
        "",
    ),
    (
        "root-container-level-only",
        NON_ROOT,
        POD,
        workload(POD, pod(securityContext={"fsGroup": 10001.0})),
        "ok",
        "",
    ),
    (
        "root-container-overrides-pod",
        NON_ROOT,
        DEPLOYMENT,
        running(security(runAsNonRoot=False)),
        "violation",
        "container 'web' sets runAsNonRoot: false",
    ),
    (
        "root-unset",
        NON_ROOT,
        JOB,
        running(container(securityContext=...), rtype=JOB, securityContext=...),
        "violation",
        "does not set runAsNonRoot: true",
    ),
    (
        # checkov's CKV_K8S_23 accepts this; the restricted Pod Security Standard does not.
        "root-high-uid-only",
        NON_ROOT,
        DEPLOYMENT,
        running(container(securityContext={"runAsUser": 1000.0}), securityContext={"runAsUser": 1000.0}),
        "violation",
        "runAsNonRoot",
    ),
    ("root-uid-0", NON_ROOT, DEPLOYMENT, running(security(runAsUser=0.0)), "violation", "UID 0"),
    (
        # The standard refuses runAsUser: 0 on the pod even where every container overrides it.
        "root-uid-0-on-the-pod",
        NON_ROOT,
        DEPLOYMENT,
        running(security(runAsUser=10001.0), securityContext=pod_security(runAsUser=0.0)),
        "violation",
        "Deployment 'res': the pod runs as UID 0 (runAsUser: 0).",
    ),
    (
        "root-pod-template",
        NON_ROOT,
        POD_TEMPLATE,
        workload(POD_TEMPLATE, pod(containers=[security(runAsNonRoot=False)])),
        "violation",
        "container 'web' sets runAsNonRoot: false",
    ),
    (
        "root-init-container",
        NON_ROOT,
        DEPLOYMENT,
        workload(pod=pod(initContainers=[SIDECAR_INIT], securityContext=...)),
        "violation",
        "init container 'migrate'",
    ),
    # k8s-read-only-root-filesystem
    ("rofs-paved", READ_ONLY, DEPLOYMENT, DEPLOY, "ok", ""),
    (
        "rofs-unset",
        READ_ONLY,
        CRON_JOB,
        running(security(readOnlyRootFilesystem=...), rtype=CRON_JOB),
        "violation",
        "does not set readOnlyRootFilesystem: true",
    ),
    (
        "rofs-false",
        READ_ONLY,
        POD,
        workload(POD, pod(containers=[security(readOnlyRootFilesystem=False)])),
        "violation",
        "web",
    ),
    ("rofs-windows", READ_ONLY, DEPLOYMENT, workload(pod=WINDOWS_POD), "n/a", ""),
    # k8s-no-privilege-escalation
    ("esc-paved", ESCALATION, DEPLOYMENT, DEPLOY, "ok", ""),
    (
        "esc-unset",
        ESCALATION,
        DEPLOYMENT,
        running(security(allowPrivilegeEscalation=...)),
        "violation",
        "does not set allowPrivilegeEscalation: false",
    ),
    (
        "esc-privileged",
        ESCALATION,
        DAEMON_SET,
        running(security(privileged=True, allowPrivilegeEscalation=...)),
        "violation",
        "container 'web' is privileged and does not set allowPrivilegeEscalation",
    ),
    (
        "esc-init-privileged",
        ESCALATION,
        DEPLOYMENT,
        workload(pod=pod(initContainers=[but(HARDENED_INIT, securityContext={"privileged": True})])),
        "violation",
        "init container 'migrate' is privileged",
    ),
    ("esc-windows", ESCALATION, DEPLOYMENT, workload(pod=WINDOWS_POD), "n/a", ""),
    # k8s-drop-all-capabilities
    ("caps-paved", CAPABILITIES, DEPLOYMENT, DEPLOY, "ok", ""),
    (
        "caps-bind-service",
        CAPABILITIES,
        DEPLOYMENT,
        running(security(capabilities={"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]})),
        "ok",
        "",
    ),
    (
        "caps-net-raw-only",
        CAPABILITIES,
        DEPLOYMENT,
        running(security(capabilities={"drop": ["NET_RAW"]})),
        "violation",
        "does not drop ALL capabilities",
    ),
    (
        "caps-sys-admin",
        CAPABILITIES,
        STATEFUL_SET,
        running(security(capabilities={"drop": ["ALL"], "add": ["SYS_ADMIN", "NET_BIND_SERVICE"]})),
        "violation",
        "adds capabilities SYS_ADMIN",
    ),
    (
        # The Pod Security Standard (and the API's own checks) name it ALL, in capitals.
        "caps-lowercase",
        CAPABILITIES,
        DEPLOYMENT,
        running(security(capabilities={"drop": ["all"]})),
        "violation",
        "ALL",
    ),
    (
        "caps-unset",
        CAPABILITIES,
        POD,
        workload(POD, pod(containers=[security(capabilities=...)])),
        "violation",
        "web",
    ),
    ("caps-windows", CAPABILITIES, DEPLOYMENT, workload(pod=WINDOWS_POD), "n/a", ""),
    # k8s-no-host-ports
    ("hostport-paved", HOST_PORTS, DEPLOYMENT, DEPLOY, "ok", ""),
    (
        "hostport-zero",
        HOST_PORTS,
        DEPLOYMENT,
        running(container(ports=[{"name": "http", "containerPort": 3000.0, "hostPort": 0.0}])),
        "ok",
        "",
    ),
    (
        "hostport-set",
        HOST_PORTS,
        DAEMON_SET,
        running(
            container(ports=[{"containerPort": 3000.0}, {"containerPort": 9100.0, "hostPort": 9100.0}]),
            rtype=DAEMON_SET,
        ),
        "violation",
        "DaemonSet 'res': container 'web' binds the node's port 9100 (hostPort).",
    ),
    (
        "hostport-init-container",
        HOST_PORTS,
        POD_TEMPLATE,
        workload(
            POD_TEMPLATE,
            pod(initContainers=[but(HARDENED_INIT, ports=[{"containerPort": 53.0, "hostPort": 53.0}])]),
        ),
        "violation",
        "init container 'migrate' binds the node's port 53",
    ),
    ("hostport-no-containers", HOST_PORTS, DEPLOYMENT, workload(pod=pod(containers=[])), "n/a", ""),
    # k8s-seccomp-profile
    ("seccomp-paved", SECCOMP, DEPLOYMENT, DEPLOY, "ok", ""),
    (
        "seccomp-every-container",
        SECCOMP,
        JOB,
        running(
            security(seccompProfile={"type": "Localhost", "localhostProfile": "profiles/web.json"}),
            rtype=JOB,
            securityContext=pod_security(seccompProfile=...),
        ),
        "ok",
        "",
    ),
    (
        "seccomp-unset",
        SECCOMP,
        CRON_JOB,
        workload(
            CRON_JOB,
            pod(initContainers=[HARDENED_INIT], securityContext=pod_security(seccompProfile=...)),
        ),
        "violation",
        "CronJob 'res': container 'web' has no seccompProfile.type, and neither has the pod; "
        "init container 'migrate' has no seccompProfile.type, and neither has the pod.",
    ),
    (
        "seccomp-unconfined-pod",
        SECCOMP,
        POD,
        workload(POD, pod(securityContext=pod_security(seccompProfile={"type": "Unconfined"}))),
        "violation",
        "Pod 'res': the pod sets seccompProfile.type: Unconfined.",
    ),
    (
        # Overridden by every container, an Unconfined pod profile is still refused.
        "seccomp-unconfined-pod-overridden",
        SECCOMP,
        DEPLOYMENT,
        running(
            security(seccompProfile={"type": "RuntimeDefault"}),
            securityContext=pod_security(seccompProfile={"type": "Unconfined"}),
        ),
        "violation",
        "the pod sets seccompProfile.type: Unconfined",
    ),
    (
        "seccomp-unconfined-container",
        SECCOMP,
        STATEFUL_SET,
        running(security(seccompProfile={"type": "Unconfined"})),
        "violation",
        "container 'web' sets seccompProfile.type: Unconfined",
    ),
    ("seccomp-windows", SECCOMP, DEPLOYMENT, workload(pod=WINDOWS_POD), "n/a", ""),
    # k8s-no-unconfined-apparmor
    ("apparmor-paved", APPARMOR, DEPLOYMENT, DEPLOY, "ok", ""),
    (
        "apparmor-confined",
        APPARMOR,
        DEPLOYMENT,
        workload(
            pod=pod(
                securityContext=pod_security(appArmorProfile={"type": "RuntimeDefault"}),
                containers=[security(appArmorProfile={"type": "Localhost", "localhostProfile": "k8s-web"})],
            ),
            annotations={
                "container.apparmor.security.beta.kubernetes.io/web": "localhost/k8s-web",
                "container.apparmor.security.beta.kubernetes.io/migrate": "runtime/default",
                "example.com/unrelated": "unconfined",
            },
        ),
        "ok",
        "",
    ),
    (
        "apparmor-unconfined-pod",
        APPARMOR,
        DEPLOYMENT,
        running(CONTAINER, securityContext=pod_security(appArmorProfile={"type": "Unconfined"})),
        "violation",
        "Deployment 'res': the pod sets appArmorProfile.type: Unconfined.",
    ),
    (
        "apparmor-unconfined-container",
        APPARMOR,
        REPLICA_SET,
        running(security(appArmorProfile={"type": "Unconfined"})),
        "violation",
        "container 'web' sets appArmorProfile.type: Unconfined",
    ),
    (
        "apparmor-unconfined-annotation",
        APPARMOR,
        POD,
        workload(POD, annotations={"container.apparmor.security.beta.kubernetes.io/web": "unconfined"}),
        "violation",
        "Pod 'res': the pod's annotations set "
        "container.apparmor.security.beta.kubernetes.io/web: unconfined.",
    ),
    ("apparmor-windows", APPARMOR, DEPLOYMENT, workload(pod=WINDOWS_POD), "n/a", ""),
    # k8s-selinux-options
    ("selinux-paved", SELINUX, DEPLOYMENT, DEPLOY, "ok", ""),
    (
        "selinux-container-types",
        SELINUX,
        DEPLOYMENT,
        running(
            security(seLinuxOptions={"type": "container_engine_t"}),
            securityContext=pod_security(seLinuxOptions={"type": "container_t", "level": "s0:c123,c456"}),
        ),
        "ok",
        "",
    ),
    (
        "selinux-spc-t",
        SELINUX,
        DAEMON_SET,
        running(security(seLinuxOptions={"type": "spc_t"}), rtype=DAEMON_SET),
        "violation",
        "container 'web' sets seLinuxOptions.type: spc_t",
    ),
    (
        "selinux-user-and-role",
        SELINUX,
        POD,
        workload(
            POD, pod(securityContext=pod_security(seLinuxOptions={"user": "system_u", "role": "system_r"}))
        ),
        "violation",
        "the pod sets seLinuxOptions.user: system_u and sets seLinuxOptions.role: system_r",
    ),
    ("selinux-windows", SELINUX, DEPLOYMENT, workload(pod=WINDOWS_POD), "n/a", ""),
    # k8s-default-proc-mount
    ("proc-paved", PROC_MOUNT, DEPLOYMENT, DEPLOY, "ok", ""),
    ("proc-default", PROC_MOUNT, DEPLOYMENT, running(security(procMount="Default")), "ok", ""),
    (
        "proc-unmasked",
        PROC_MOUNT,
        JOB,
        running(security(procMount="Unmasked"), rtype=JOB),
        "violation",
        "Job 'res': container 'web' sets procMount: Unmasked.",
    ),
    ("proc-windows", PROC_MOUNT, DEPLOYMENT, workload(pod=WINDOWS_POD), "n/a", ""),
    # k8s-no-host-process
    ("hostprocess-paved", HOST_PROCESS, DEPLOYMENT, DEPLOY, "ok", ""),
    (
        "hostprocess-false",
        HOST_PROCESS,
        DEPLOYMENT,
        workload(pod=but(WINDOWS_POD, securityContext={"windowsOptions": {"hostProcess": False}})),
        "ok",
        "",
    ),
    (
        "hostprocess-pod",
        HOST_PROCESS,
        DAEMON_SET,
        workload(DAEMON_SET, but(WINDOWS_POD, securityContext={"windowsOptions": {"hostProcess": True}})),
        "violation",
        "DaemonSet 'res': the pod sets windowsOptions.hostProcess: true.",
    ),
    (
        "hostprocess-container",
        HOST_PROCESS,
        POD,
        workload(
            POD,
            but(
                WINDOWS_POD, containers=[container(securityContext={"windowsOptions": {"hostProcess": True}})]
            ),
        ),
        "violation",
        "container 'web' sets windowsOptions.hostProcess: true",
    ),
    ("hostprocess-no-containers", HOST_PROCESS, DEPLOYMENT, workload(pod=pod(containers=[])), "n/a", ""),
    # k8s-no-probe-host
    ("probehost-paved", PROBE_HOST, DEPLOYMENT, DEPLOY, "ok", ""),
    (
        "probehost-blank",
        PROBE_HOST,
        DEPLOYMENT,
        running(container(livenessProbe={"tcpSocket": {"port": "http", "host": ""}})),
        "ok",
        "",
    ),
    (
        "probehost-readiness",
        PROBE_HOST,
        DEPLOYMENT,
        running(
            container(readinessProbe={"httpGet": {"path": "/", "port": 80.0, "host": "169.254.169.254"}})
        ),
        "violation",
        "container 'web' sets readinessProbe.httpGet.host: 169.254.169.254",
    ),
    (
        "probehost-lifecycle",
        PROBE_HOST,
        STATEFUL_SET,
        workload(
            STATEFUL_SET,
            pod(
                initContainers=[
                    but(HARDENED_INIT, lifecycle={"preStop": {"httpGet": {"port": 80.0, "host": "db"}}})
                ]
            ),
        ),
        "violation",
        "init container 'migrate' sets lifecycle.preStop.httpGet.host: db",
    ),
    ("probehost-no-containers", PROBE_HOST, DEPLOYMENT, workload(pod=pod(containers=[])), "n/a", ""),
    # k8s-image-tag-pinned
    ("image-paved", IMAGE, DEPLOYMENT, DEPLOY, "ok", ""),
    ("image-digest", IMAGE, DEPLOYMENT, running(container(image=f"nginx@sha256:{'a' * 64}")), "ok", ""),
    (
        "image-port-and-tag",
        IMAGE,
        POD,
        workload(POD, pod(containers=[container(image="reg:5000/app:1.0")])),
        "ok",
        "",
    ),
    (
        "image-latest",
        IMAGE,
        DEPLOYMENT,
        running(container(image="nginx:latest")),
        "violation",
        "container 'web' uses image 'nginx:latest'",
    ),
    (
        "image-untagged",
        IMAGE,
        CRON_JOB,
        running(container(image="nginx"), rtype=CRON_JOB),
        "violation",
        "without a tag",
    ),
    (
        "image-port-untagged",
        IMAGE,
        DEPLOYMENT,
        running(container(image="registry.local:5000/team/app")),
        "violation",
        "without a tag",
    ),
    ("image-missing", IMAGE, DEPLOYMENT, running(container(image=...)), "violation", "has no image"),
    (
        "image-init-latest",
        IMAGE,
        DEPLOYMENT,
        workload(pod=pod(initContainers=[but(SIDECAR_INIT, image="busybox:latest")])),
        "violation",
        "init container 'migrate'",
    ),
    # k8s-no-host-path-volumes
    ("hostpath-paved", HOST_PATH, DEPLOYMENT, DEPLOY, "ok", ""),
    ("hostpath-no-volumes", HOST_PATH, POD, workload(POD, pod(volumes=...)), "ok", ""),
    (
        "hostpath-docker-socket",
        HOST_PATH,
        DAEMON_SET,
        workload(
            DAEMON_SET,
            pod(
                volumes=[
                    *POD_SPEC["volumes"],
                    {"name": "docker", "hostPath": {"path": "/var/run/docker.sock"}},
                ]
            ),
        ),
        "violation",
        "volume 'docker' mounts a hostPath",
    ),
    # k8s-restricted-volume-types
    ("volumes-paved", VOLUME_TYPES, DEPLOYMENT, DEPLOY, "ok", ""),
    ("volumes-none", VOLUME_TYPES, POD, workload(POD, pod(volumes=...)), "ok", ""),
    (
        "volumes-every-allowed-type",
        VOLUME_TYPES,
        DEPLOYMENT,
        workload(
            pod=pod(
                volumes=[
                    {"name": "config", "configMap": {"name": "web"}},
                    {"name": "creds", "secret": {"secretName": "web"}},
                    {"name": "token", "projected": {"sources": []}},
                    {"name": "labels", "downwardAPI": {"items": []}},
                    {"name": "data", "persistentVolumeClaim": {"claimName": "web"}},
                    {"name": "store", "csi": {"driver": "secrets-store.csi.k8s.io"}},
                    {"name": "scratch", "ephemeral": {"volumeClaimTemplate": {"spec": {}}}},
                    {"name": "model", "image": {"reference": IMAGE_REF}},
                    {"name": "tmp", "emptyDir": {}},
                    {"name": "defaulted"},  # no source: the API makes it an emptyDir
                ]
            )
        ),
        "ok",
        "",
    ),
    (
        # k8s-no-host-path-volumes reports it, in its own words.
        "volumes-host-path",
        VOLUME_TYPES,
        DAEMON_SET,
        workload(DAEMON_SET, pod(volumes=[{"name": "logs", "hostPath": {"path": "/var/log"}}])),
        "ok",
        "",
    ),
    (
        "volumes-nfs",
        VOLUME_TYPES,
        STATEFUL_SET,
        workload(STATEFUL_SET, pod(volumes=[{"name": "shared", "nfs": {"server": "nfs", "path": "/"}}])),
        "violation",
        "StatefulSet 'res': volume 'shared' uses nfs.",
    ),
    (
        "volumes-git-repo",
        VOLUME_TYPES,
        CRON_JOB,
        workload(
            CRON_JOB,
            pod(volumes=[*POD_SPEC["volumes"], {"name": "src", "gitRepo": {"repository": "https://x/y"}}]),
        ),
        "violation",
        "volume 'src' uses gitRepo",
    ),
    # k8s-no-host-namespaces
    ("hostns-paved", HOST_NAMESPACES, DEPLOYMENT, DEPLOY, "ok", ""),
    (
        "hostns-false",
        HOST_NAMESPACES,
        DEPLOYMENT,
        workload(pod=pod(hostNetwork=False, hostPID=False)),
        "ok",
        "",
    ),
    (
        "hostns-network",
        HOST_NAMESPACES,
        DAEMON_SET,
        workload(DAEMON_SET, pod(hostNetwork=True)),
        "violation",
        "sets hostNetwork: true",
    ),
    (
        "hostns-pid-ipc",
        HOST_NAMESPACES,
        JOB,
        workload(JOB, pod(hostPID=True, hostIPC=True)),
        "violation",
        "hostPID: true, hostIPC: true",
    ),
    # k8s-safe-sysctls
    ("sysctls-paved", SYSCTLS, DEPLOYMENT, DEPLOY, "ok", ""),
    (
        "sysctls-safe",
        SYSCTLS,
        DEPLOYMENT,
        workload(
            pod=pod(
                securityContext=pod_security(
                    sysctls=[
                        {"name": "net.ipv4.ip_unprivileged_port_start", "value": "0"},
                        {"name": "net.ipv4.tcp_keepalive_time", "value": "600"},
                    ]
                )
            )
        ),
        "ok",
        "",
    ),
    (
        "sysctls-unsafe",
        SYSCTLS,
        POD_TEMPLATE,
        workload(
            POD_TEMPLATE,
            pod(
                securityContext=pod_security(
                    sysctls=[
                        {"name": "kernel.shm_rmid_forced", "value": "1"},
                        {"name": "net.core.somaxconn", "value": "1024"},
                        {"name": "kernel.msgmax", "value": "65536"},
                    ]
                )
            ),
        ),
        "violation",
        "PodTemplate 'res': the pod sets unsafe sysctls net.core.somaxconn, kernel.msgmax.",
    ),
    ("sysctls-windows", SYSCTLS, DEPLOYMENT, workload(pod=WINDOWS_POD), "n/a", ""),
    # k8s-not-default-namespace
    ("ns-paved-deployment", DEFAULT_NS, DEPLOYMENT, DEPLOY, "ok", ""),
    ("ns-paved-config-map", DEFAULT_NS, CONFIG_MAP, CONFIG_MAP_PROPS, "ok", ""),
    ("ns-paved-hpa", DEFAULT_NS, HPA, {"metadata": metadata()}, "ok", ""),
    (
        "ns-explicit-default",
        DEFAULT_NS,
        SERVICE,
        but(SERVICE_PROPS, metadata=metadata(namespace="default")),
        "violation",
        "its metadata.namespace is 'default'",
    ),
    (
        "ns-unset",
        DEFAULT_NS,
        POD,
        workload(POD, namespace=None),
        "violation",
        "neither its metadata.namespace nor its provider's namespace is set",
    ),
    (
        "ns-blank",
        DEFAULT_NS,
        CONFIG_MAP,
        but(CONFIG_MAP_PROPS, metadata=metadata(namespace=" ")),
        "violation",
        "default",
    ),
    (
        "ns-default-service-account",
        DEFAULT_NS,
        SERVICE_ACCOUNT,
        {"metadata": {"name": "default", "namespace": "default"}, "automountServiceAccountToken": False},
        "n/a",
        "",
    ),
    ("ns-kubernetes-service", DEFAULT_NS, SERVICE, {"metadata": {"name": "kubernetes"}}, "n/a", ""),
    # k8s-no-load-balancer-service
    ("lb-cluster-ip", LOAD_BALANCER, SERVICE, SERVICE_PROPS, "ok", ""),
    ("lb-default-type", LOAD_BALANCER, SERVICE, but(SERVICE_PROPS, spec={"selector": SELECTOR}), "ok", ""),
    (
        "lb-load-balancer",
        LOAD_BALANCER,
        SERVICE,
        but(SERVICE_PROPS, spec={**SERVICE_PROPS["spec"], "type": "LoadBalancer"}),
        "violation",
        "type LoadBalancer",
    ),
]


# Pack-wide in tests/test_policy_pack.py: an unknown the SDK must report as "can't run during preview".
DEFERRALS: list[Deferral] = [
    (RESOURCES, DEPLOYMENT, workload(pod=pod(containers=UNKNOWN_ARRAY_VALUE))),
    (
        RESOURCES,
        DEPLOYMENT,
        running(resources(requests={"cpu": "1", "memory": "1Gi"}, limits=UNKNOWN_OBJECT_VALUE)),
    ),
    (RESOURCES, DEPLOYMENT, workload(pod=pod(initContainers=[UNKNOWN_OBJECT_VALUE]))),
    (READINESS, DEPLOYMENT, but(DEPLOY, spec={"template": {"spec": UNKNOWN_OBJECT_VALUE}})),
    (READINESS, STATEFUL_SET, but(DEPLOY, spec=UNKNOWN_OBJECT_VALUE)),
    (IMAGE, CRON_JOB, but(DEPLOY, spec={"jobTemplate": UNKNOWN_OBJECT_VALUE})),
    (LIVENESS, POD, workload(POD, pod(restartPolicy=UNKNOWN))),
    (NON_ROOT, DEPLOYMENT, running(security(runAsNonRoot=UNKNOWN_BOOLEAN_VALUE), securityContext={})),
    (NON_ROOT, DEPLOYMENT, running(security(runAsUser=UNKNOWN_NUMBER_VALUE))),
    # Every container overrides it, but a pod-level runAsUser: 0 is refused all the same.
    (NON_ROOT, DEPLOYMENT, running(CONTAINER, securityContext=pod_security(runAsUser=UNKNOWN_NUMBER_VALUE))),
    (READ_ONLY, DEPLOYMENT, running(security(readOnlyRootFilesystem=UNKNOWN_BOOLEAN_VALUE))),
    (READ_ONLY, DEPLOYMENT, workload(pod=pod(os={"name": UNKNOWN}))),
    (ESCALATION, DEPLOYMENT, running(security(allowPrivilegeEscalation=UNKNOWN_BOOLEAN_VALUE))),
    (ESCALATION, DEPLOYMENT, running(security(privileged=UNKNOWN_BOOLEAN_VALUE))),
    (CAPABILITIES, DEPLOYMENT, running(security(capabilities={"drop": [UNKNOWN]}))),
    (
        CAPABILITIES,
        DEPLOYMENT,
        running(security(capabilities={"drop": ["ALL"], "add": UNKNOWN_ARRAY_VALUE})),
    ),
    (HOST_PORTS, DEPLOYMENT, running(container(ports=[{"containerPort": 80.0, "hostPort": UNKNOWN}]))),
    (HOST_PORTS, DEPLOYMENT, running(container(ports=UNKNOWN_ARRAY_VALUE))),
    # The containers inherit the pod's profile, unknown.
    (SECCOMP, DEPLOYMENT, running(CONTAINER, securityContext={"seccompProfile": UNKNOWN_OBJECT_VALUE})),
    (SECCOMP, DEPLOYMENT, running(security(seccompProfile={"type": UNKNOWN}))),
    (APPARMOR, DEPLOYMENT, running(security(appArmorProfile=UNKNOWN_OBJECT_VALUE))),
    (
        APPARMOR,
        DEPLOYMENT,
        workload(annotations={"container.apparmor.security.beta.kubernetes.io/web": UNKNOWN}),
    ),
    (APPARMOR, POD, workload(POD, annotations=UNKNOWN_OBJECT_VALUE)),
    (SELINUX, DEPLOYMENT, running(CONTAINER, securityContext=pod_security(seLinuxOptions={"type": UNKNOWN}))),
    (SELINUX, DEPLOYMENT, running(security(seLinuxOptions={"user": UNKNOWN}))),
    (PROC_MOUNT, DEPLOYMENT, running(security(procMount=UNKNOWN))),
    (HOST_PROCESS, DEPLOYMENT, running(security(windowsOptions={"hostProcess": UNKNOWN_BOOLEAN_VALUE}))),
    (HOST_PROCESS, DEPLOYMENT, running(CONTAINER, securityContext={"windowsOptions": UNKNOWN_OBJECT_VALUE})),
    (PROBE_HOST, DEPLOYMENT, running(container(readinessProbe={"httpGet": {"port": 80.0, "host": UNKNOWN}}))),
    # An unknown probe may name a host.
    (PROBE_HOST, DEPLOYMENT, running(container(livenessProbe=UNKNOWN_OBJECT_VALUE))),
    (IMAGE, DEPLOYMENT, running(container(image=UNKNOWN))),
    (HOST_PATH, DEPLOYMENT, workload(pod=pod(volumes=UNKNOWN_ARRAY_VALUE))),
    (HOST_PATH, DEPLOYMENT, workload(pod=pod(volumes=[UNKNOWN_OBJECT_VALUE]))),
    (VOLUME_TYPES, DEPLOYMENT, workload(pod=pod(volumes=UNKNOWN_ARRAY_VALUE))),
    (VOLUME_TYPES, DEPLOYMENT, workload(pod=pod(volumes=[UNKNOWN_OBJECT_VALUE]))),
    (HOST_NAMESPACES, DEPLOYMENT, workload(pod=pod(hostNetwork=UNKNOWN_BOOLEAN_VALUE))),
    (SYSCTLS, DEPLOYMENT, workload(pod=pod(securityContext=pod_security(sysctls=UNKNOWN_ARRAY_VALUE)))),
    (
        SYSCTLS,
        DEPLOYMENT,
        workload(pod=pod(securityContext=pod_security(sysctls=[{"name": UNKNOWN, "value": "1"}]))),
    ),
    (DEFAULT_NS, CONFIG_MAP, but(CONFIG_MAP_PROPS, metadata={"name": "env", "namespace": UNKNOWN})),
    (DEFAULT_NS, SERVICE, {"metadata": UNKNOWN_OBJECT_VALUE}),
    (LOAD_BALANCER, SERVICE, but(SERVICE_PROPS, spec={"type": UNKNOWN})),
]
PREVIEW_UNKNOWNS: list[PreviewUnknown] = [
    (
        RESOURCES,
        DEPLOYMENT,
        running(resources(requests={"cpu": UNKNOWN, "memory": UNKNOWN}, limits={"memory": UNKNOWN})),
        "ok",
    ),
    (READINESS, DEPLOYMENT, running(container(readinessProbe=UNKNOWN_OBJECT_VALUE)), "ok"),
    (LIVENESS, DEPLOYMENT, running(container(livenessProbe={"httpGet": UNKNOWN_OBJECT_VALUE})), "ok"),
    # A hostPath volume whose path is unknown is still a hostPath volume.
    (
        HOST_PATH,
        DEPLOYMENT,
        workload(pod=pod(volumes=[{"name": "h", "hostPath": UNKNOWN_OBJECT_VALUE}])),
        "violation",
    ),
    # Another item settles it: ALL is dropped whatever the unknown one is.
    (CAPABILITIES, DEPLOYMENT, running(security(capabilities={"drop": [UNKNOWN, "ALL"]})), "ok"),
    # A port whose number is unknown binds no host port unless it says so.
    (HOST_PORTS, DEPLOYMENT, running(container(ports=[{"containerPort": UNKNOWN_NUMBER_VALUE}])), "ok"),
    # A volume's source, even unknown, says its type.
    (
        VOLUME_TYPES,
        DEPLOYMENT,
        workload(pod=pod(volumes=[{"name": "config", "configMap": UNKNOWN_OBJECT_VALUE}])),
        "ok",
    ),
    (
        VOLUME_TYPES,
        DEPLOYMENT,
        workload(pod=pod(volumes=[{"name": "shared", "nfs": UNKNOWN_OBJECT_VALUE}])),
        "violation",
    ),
]
OTHER_TYPES: list[OtherType] = [
    (RESOURCES, SERVICE),
    (READINESS, JOB),  # runs to completion
    (LIVENESS, CRON_JOB),
    (IMAGE, HELM_RELEASE),  # opaque
    (HOST_PATH, CONFIG_MAP),
    (HOST_PORTS, SERVICE),
    (SECCOMP, HELM_RELEASE),  # opaque
    (APPARMOR, CONFIG_MAP),
    (SELINUX, NAMESPACE),
    (PROC_MOUNT, SERVICE),
    (HOST_PROCESS, SERVICE),
    (PROBE_HOST, SERVICE),
    (VOLUME_TYPES, "kubernetes:core/v1:PersistentVolume"),
    (SYSCTLS, HELM_RELEASE),
    (DEFAULT_NS, NAMESPACE),  # cluster-scoped
    (DEFAULT_NS, TARGET_GROUP_BINDING),  # a custom resource: its scope is unknown to the pack
    (DEFAULT_NS, "kubernetes:apps/v1:DeploymentPatch"),
    (LOAD_BALANCER, DEPLOYMENT),
]


def test_every_container_problem_is_in_one_message() -> None:
    props = workload(
        pod=pod(containers=[container(image="a:latest"), container(name="b", image="b")], initContainers=[])
    )
    [(message, _)] = run_resource(IMAGE, DEPLOYMENT, props).violations
    # Named as in the manifest, all of them, in one message.
    assert message.startswith("Deployment 'res': container 'web' uses image 'a:latest'")
    assert "; container 'b' uses image 'b' without a tag" in message


@pytest.mark.parametrize(
    ("provider", "expected"),
    [({"namespace": "apps"}, "ok"), ({"namespace": "default"}, "violation"), ({}, "violation")],
)
def test_the_provider_namespace_applies_to_resources_without_one(
    provider: dict[str, Any], expected: str
) -> None:
    outcome = run_resource(
        DEFAULT_NS, CONFIG_MAP, but(CONFIG_MAP_PROPS, metadata={"name": "env"}), provider=provider
    )
    assert outcome.status == expected
    # metadata.namespace wins over the provider's.
    assert (
        run_resource(DEFAULT_NS, CONFIG_MAP, CONFIG_MAP_PROPS, provider={"namespace": "default"}).status
        == "ok"
    )


def test_a_default_provider_namespace_is_named_in_the_message() -> None:
    outcome = run_resource(DEFAULT_NS, POD, workload(POD, namespace=None), provider={"namespace": "default"})
    assert_outcome(outcome, "violation", "its provider's namespace is 'default'")


def test_an_unknown_provider_namespace_defers_to_the_sdk() -> None:
    with pytest.raises(UnknownValueError):
        run_resource(DEFAULT_NS, POD, workload(POD, namespace=None), provider={"namespace": UNKNOWN})


@pytest.mark.parametrize(
    ("policy", "props", "fragment"),
    [
        # One container unknown in preview, another definitely wrong: the wrong one is still reported.
        (
            IMAGE,
            workload(pod=pod(containers=[container(image=UNKNOWN), container(name="b", image="b:latest")])),
            "'b'",
        ),
        (
            IMAGE,
            workload(pod=pod(initContainers=UNKNOWN_ARRAY_VALUE, containers=[container(image="x")])),
            "'x'",
        ),
        (
            ESCALATION,
            running(security(privileged=UNKNOWN_BOOLEAN_VALUE, allowPrivilegeEscalation=True)),
            "does not",
        ),
        (HOST_NAMESPACES, workload(pod=pod(hostNetwork=UNKNOWN_BOOLEAN_VALUE, hostPID=True)), "hostPID"),
        (
            HOST_PATH,
            workload(pod=pod(volumes=[UNKNOWN_OBJECT_VALUE, {"name": "h", "hostPath": {"path": "/"}}])),
            "'h'",
        ),
        (
            VOLUME_TYPES,
            workload(
                pod=pod(volumes=[UNKNOWN_OBJECT_VALUE, {"name": "n", "nfs": {"server": "s", "path": "/"}}])
            ),
            "'n'",
        ),
        (
            HOST_PORTS,
            running(
                container(ports=[{"containerPort": 80.0, "hostPort": UNKNOWN_NUMBER_VALUE}]),
                container(name="b", ports=[{"containerPort": 80.0, "hostPort": 80.0}]),
            ),
            "container 'b' binds the node's port 80",
        ),
        (
            # An unknown pod profile, yet a container sets Unconfined itself.
            SECCOMP,
            running(
                security(seccompProfile={"type": "Unconfined"}),
                securityContext={"seccompProfile": UNKNOWN_OBJECT_VALUE},
            ),
            "container 'web' sets seccompProfile.type: Unconfined",
        ),
        (
            APPARMOR,
            workload(
                pod=pod(containers=[security(appArmorProfile={"type": "Unconfined"})]),
                annotations=UNKNOWN_OBJECT_VALUE,
            ),
            "container 'web'",
        ),
        (
            SYSCTLS,
            workload(
                pod=pod(securityContext=pod_security(sysctls=[{"name": UNKNOWN}, {"name": "kernel.msgmax"}]))
            ),
            "unsafe sysctls kernel.msgmax",
        ),
    ],
)
def test_a_definite_violation_is_reported_beside_an_unknown(
    policy: str, props: dict[str, Any], fragment: str
) -> None:
    assert_outcome(run_resource(policy, DEPLOYMENT, props), "violation", fragment)


def test_rules_are_callable_without_the_sdk() -> None:
    rule = RULES[IMAGE]
    assert isinstance(rule, ResourceRule)
    ctx = ResourceContext(DEPLOYMENT, urn_of(DEPLOYMENT, "web"), "web")
    assert rule(DEPLOY, ctx).status.value == "compliant"
    assert "nginx:latest" in rule(running(container(image="nginx:latest")), ctx).message


# ---------------------------------------------------------------------------------------------
# Stack policies: a paved app as components/workload.py declares it.


def hpa(target: str = "web", *, kind: str = "Deployment", namespace: str | None = "web") -> dict[str, Any]:
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": metadata(target, namespace),
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": kind, "name": target},
            "minReplicas": 3.0,
            "maxReplicas": 20.0,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {"type": "Utilization", "averageUtilization": 70.0},
                    },
                }
            ],
        },
    }


def pdb(selector: Any = None, *, namespace: str = "web") -> dict[str, Any]:
    spec: dict[str, Any] = {"maxUnavailable": 1.0, "unhealthyPodEvictionPolicy": "AlwaysAllow"}
    if selector is not ...:
        spec["selector"] = {"matchLabels": SELECTOR} if selector is None else selector
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": metadata(namespace=namespace),
        "spec": spec,
    }


def network_policy(
    selector: Any = None, *, name: str = "default-deny", namespace: str = "web"
) -> dict[str, Any]:
    spec: dict[str, Any] = {"policyTypes": ["Ingress", "Egress"]}
    if selector is not ...:
        spec["podSelector"] = {} if selector is None else selector
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": metadata(name, namespace),
        "spec": spec,
    }


def app(*, deployment: Mapping[str, Any] = DEPLOY, **companions: Any) -> list[Res]:
    """paved's app `web`: its Deployment, HPA, PDB, NetworkPolicies and Service; `...` leaves one out."""
    parts = {
        "hpa": Res(HPA, "web-hpa", hpa()),
        "pdb": Res(PDB, "web-pdb", pdb()),
        "deny": Res(NETWORK_POLICY, "web-default-deny", network_policy()),
        "allow": Res(NETWORK_POLICY, "web-allow", network_policy({"matchLabels": SELECTOR}, name="web")),
        "service": Res(SERVICE, "web-svc", SERVICE_PROPS),
    }
    parts.update(companions)
    return [Res(DEPLOYMENT, "web", deployment), *(r for r in parts.values() if r is not ...)]


def alone(rtype: str, props: Mapping[str, Any], name: str = "w") -> Res:
    return Res(rtype, name, props)


# (id, policy, specs, expected, names reported)
STACK_CASES: list[StackCase] = [
    # k8s-deployment-has-hpa
    ("hpa-paved", HAS_HPA, app(), "ok", []),
    ("hpa-missing", HAS_HPA, app(hpa=...), "violation", ["web"]),
    ("hpa-v1", HAS_HPA, app(hpa=Res(HPA_V1, "h", hpa())), "ok", []),
    ("hpa-other-kind", HAS_HPA, app(hpa=Res(HPA, "h", hpa(kind="StatefulSet"))), "violation", ["web"]),
    ("hpa-other-name", HAS_HPA, app(hpa=Res(HPA, "h", hpa("api"))), "violation", ["web"]),
    ("hpa-other-namespace", HAS_HPA, app(hpa=Res(HPA, "h", hpa(namespace="api"))), "violation", ["web"]),
    (
        # First preview: the name comes from the Deployment's output, so it is unknown, but the edge says.
        "hpa-linked-unknown-name",
        HAS_HPA,
        app(
            hpa=Res(
                HPA,
                "h",
                but(hpa(), spec={"scaleTargetRef": {"kind": "Deployment", "name": UNKNOWN}}),
                prop_deps={"spec": ["web"]},
            )
        ),
        "ok",
        [],
    ),
    (
        "hpa-linked-other-kind",
        HAS_HPA,
        app(hpa=Res(HPA, "h", hpa(kind="StatefulSet"), prop_deps={"spec": ["web"]})),
        "violation",
        ["web"],
    ),
    (
        "hpa-one-of-two",
        HAS_HPA,
        [*app(), Res(DEPLOYMENT, "api", workload(name="api", namespace="api"))],
        "violation",
        ["api"],
    ),
    ("hpa-old-api", HAS_HPA, [Res(OLD_DEPLOYMENT, "web", DEPLOY), Res(HPA, "h", hpa())], "ok", []),
    # k8s-deployment-has-pdb
    ("pdb-paved", HAS_PDB, app(), "ok", []),
    ("pdb-missing", HAS_PDB, app(pdb=...), "violation", ["web"]),
    ("pdb-other-namespace", HAS_PDB, app(pdb=Res(PDB, "p", pdb(namespace="api"))), "violation", ["web"]),
    (
        "pdb-other-labels",
        HAS_PDB,
        app(pdb=Res(PDB, "p", pdb({"matchLabels": {"app.kubernetes.io/name": "api"}}))),
        "violation",
        ["web"],
    ),
    (
        "pdb-label-not-on-pods",
        HAS_PDB,
        app(pdb=Res(PDB, "p", pdb({"matchLabels": {**SELECTOR, "tier": "web"}}))),
        "violation",
        ["web"],
    ),
    (
        "pdb-subset-of-labels",
        HAS_PDB,
        app(pdb=Res(PDB, "p", pdb({"matchLabels": {"app.kubernetes.io/part-of": "paved"}}))),
        "ok",
        [],
    ),
    ("pdb-empty-selects-all", HAS_PDB, app(pdb=Res(PDB, "p", pdb({}))), "ok", []),
    (
        # A label the pods lack is never matched, not even by a null value.
        "pdb-null-label-value",
        HAS_PDB,
        app(pdb=Res(PDB, "p", pdb({"matchLabels": {**SELECTOR, "tier": None}}))),
        "violation",
        ["web"],
    ),
    ("pdb-null-selects-none", HAS_PDB, app(pdb=Res(PDB, "p", pdb(...))), "violation", ["web"]),
    (
        "pdb-v1beta1-empty-selects-none",
        HAS_PDB,
        app(pdb=Res(PDB_V1BETA1, "p", pdb({}))),
        "violation",
        ["web"],
    ),
    ("pdb-v1beta1-labels", HAS_PDB, app(pdb=Res(PDB_V1BETA1, "p", pdb())), "ok", []),
    (
        "pdb-expression-in",
        HAS_PDB,
        app(
            pdb=Res(
                PDB,
                "p",
                pdb(
                    {
                        "matchExpressions": [
                            {"key": "app.kubernetes.io/name", "operator": "In", "values": ["web", "api"]}
                        ]
                    }
                ),
            )
        ),
        "ok",
        [],
    ),
    (
        "pdb-expression-not-in",
        HAS_PDB,
        app(
            pdb=Res(
                PDB,
                "p",
                pdb(
                    {
                        "matchExpressions": [
                            {"key": "app.kubernetes.io/name", "operator": "NotIn", "values": ["web"]}
                        ]
                    }
                ),
            )
        ),
        "violation",
        ["web"],
    ),
    (
        "pdb-expression-exists-and-labels",
        HAS_PDB,
        app(
            pdb=Res(
                PDB,
                "p",
                pdb(
                    {
                        "matchLabels": SELECTOR,
                        "matchExpressions": [{"key": "app.kubernetes.io/version", "operator": "Exists"}],
                    }
                ),
            )
        ),
        "ok",
        [],
    ),
    (
        "pdb-expression-does-not-exist",
        HAS_PDB,
        app(
            pdb=Res(
                PDB,
                "p",
                pdb({"matchExpressions": [{"key": "app.kubernetes.io/version", "operator": "DoesNotExist"}]}),
            )
        ),
        "violation",
        ["web"],
    ),
    # k8s-network-policy-coverage
    ("netpol-paved", NETWORK, app(), "ok", []),
    ("netpol-app-policy-only", NETWORK, app(deny=...), "ok", []),
    ("netpol-default-deny-only", NETWORK, app(allow=...), "ok", []),
    (
        "netpol-omitted-selector",
        NETWORK,
        app(deny=Res(NETWORK_POLICY, "n", network_policy(...)), allow=...),
        "ok",
        [],
    ),
    ("netpol-none", NETWORK, app(deny=..., allow=...), "violation", ["web"]),
    (
        "netpol-other-namespace",
        NETWORK,
        app(deny=Res(NETWORK_POLICY, "n", network_policy(namespace="api")), allow=...),
        "violation",
        ["web"],
    ),
    (
        "netpol-other-pods",
        NETWORK,
        app(
            deny=...,
            allow=Res(
                NETWORK_POLICY, "n", network_policy({"matchLabels": {"app.kubernetes.io/name": "api"}})
            ),
        ),
        "violation",
        ["web"],
    ),
    (
        "netpol-every-workload-kind",
        NETWORK,
        [
            Res(NETWORK_POLICY, "deny", network_policy()),
            *(
                alone(rtype, workload(rtype), rtype.rsplit(":", 1)[-1])
                for rtype in (POD, STATEFUL_SET, DAEMON_SET, JOB, CRON_JOB)
            ),
            alone(CRON_JOB, workload(CRON_JOB, namespace="jobs"), "uncovered"),
        ],
        "violation",
        ["uncovered"],
    ),
]


def test_a_stack_violation_names_the_deployment_and_its_namespace() -> None:
    [(message, _)] = run_stack(HAS_HPA, app(hpa=...)).violations
    assert message == (
        "Deployment 'web' ('web' in namespace 'web') has no HorizontalPodAutoscaler "
        "whose scaleTargetRef names it."
    )


@pytest.mark.parametrize(
    ("policy", "specs"),
    [
        # Names and namespaces needed for matching, unknown in preview and not linked: not a pass.
        (
            HAS_HPA,
            app(
                hpa=Res(
                    HPA, "h", but(hpa(), spec={"scaleTargetRef": {"kind": "Deployment", "name": UNKNOWN}})
                )
            ),
        ),
        (HAS_HPA, app(deployment=but(DEPLOY, metadata=metadata(name=UNKNOWN)))),
        (HAS_HPA, app(hpa=Res(HPA, "h", but(hpa(), metadata={"namespace": UNKNOWN})))),
        (HAS_PDB, app(pdb=Res(PDB, "p", pdb({"matchLabels": UNKNOWN_OBJECT_VALUE})))),
        (
            HAS_PDB,
            app(deployment=but(DEPLOY, spec={"template": {"metadata": {"labels": UNKNOWN_OBJECT_VALUE}}})),
        ),
        (NETWORK, app(deny=..., allow=Res(NETWORK_POLICY, "n", network_policy(UNKNOWN_OBJECT_VALUE)))),
        (NETWORK, app(deployment=workload(namespace=UNKNOWN))),
    ],
)
def test_an_unknown_needed_for_matching_defers_to_the_sdk(policy: str, specs: list[Res]) -> None:
    with pytest.raises(UnknownValueError):
        run_stack(policy, specs)


def test_an_unknown_companion_does_not_hide_another_deployments_violation() -> None:
    specs = [
        *app(hpa=Res(HPA, "h", but(hpa(), spec={"scaleTargetRef": {"kind": "Deployment", "name": UNKNOWN}}))),
        Res(DEPLOYMENT, "api", workload(name="api", namespace="api")),
    ]
    policy = POLICIES[HAS_HPA]
    assert isinstance(policy, StackValidationPolicy)
    outcome = Outcome()
    with pytest.raises(UnknownValueError):
        policy.validate(StackValidationArgs(build_stack(specs)), outcome.report)
    # The framework reports the definite violations first, then lets the unknown surface.
    assert [urn for _, urn in outcome.violations] == [urn_of(DEPLOYMENT, "api")]


def test_a_linked_companion_with_unknown_labels_counts() -> None:
    # The budget's selector was built from the Deployment's own selector output.
    budget = Res(PDB, "p", pdb({"matchLabels": UNKNOWN_OBJECT_VALUE}), prop_deps={"spec": ["web"]})
    assert run_stack(HAS_PDB, app(pdb=budget)).status == "ok"


@pytest.mark.parametrize(
    ("providers", "expected"),
    [
        ({"web": {"namespace": "web"}}, "ok"),  # the Deployment's provider puts it in `web`
        ({"web": {"namespace": "api"}}, "violation"),
        ({}, "violation"),  # no provider namespace: the Deployment is in `default`
        ({"web": {"namespace": "web"}, "h": {"namespace": "api"}}, "ok"),  # the HPA sets its own
    ],
)
def test_stack_rules_resolve_unset_namespaces_through_each_resources_provider(
    providers: dict[str, dict[str, Any]], expected: str
) -> None:
    specs = [Res(DEPLOYMENT, "web", workload(namespace=None)), Res(HPA, "h", hpa())]
    assert run_stack(HAS_HPA, specs, providers=providers).status == expected


# ---------------------------------------------------------------------------------------------
# Metadata and coverage.

# Read in bridgecrewio/checkov (checkov/kubernetes/checks/resource/k8s/*.py and graph_checks/): each id
# flags only resources that the policy naming it flags too, but for CKV_K8S_26 on an explicit hostPort: 0,
# which the API reads as no host port. Not named: CKV_K8S_25 (fails NET_BIND_SERVICE, which the standard
# lets containers add) and CKV_K8S_31 (fails Localhost seccomp profiles, and reads only the legacy
# annotation on ReplicationControllers).
VERIFIED_CHECKOV = {
    RESOURCES: ("CKV_K8S_10", "CKV_K8S_12", "CKV_K8S_13"),  # CPU / memory requests, memory limits
    READINESS: ("CKV_K8S_9",),
    LIVENESS: ("CKV_K8S_8",),
    NON_ROOT: ("CKV_K8S_23",),
    READ_ONLY: ("CKV_K8S_22",),
    ESCALATION: ("CKV_K8S_20", "CKV_K8S_16"),  # allowPrivilegeEscalation; privileged
    CAPABILITIES: ("CKV_K8S_37", "CKV_K8S_28", "CKV_K8S_39"),  # drop ALL; NET_RAW; SYS_ADMIN added
    HOST_PORTS: ("CKV_K8S_26",),
    SECCOMP: (),
    APPARMOR: (),
    SELINUX: (),
    PROC_MOUNT: (),
    HOST_PROCESS: (),
    PROBE_HOST: (),
    IMAGE: ("CKV_K8S_14",),
    HOST_PATH: ("CKV_K8S_27",),  # the Docker socket
    VOLUME_TYPES: (),
    HOST_NAMESPACES: ("CKV_K8S_17", "CKV_K8S_18", "CKV_K8S_19"),  # hostPID, hostIPC, hostNetwork
    SYSCTLS: (),
    DEFAULT_NS: ("CKV_K8S_21",),
    NETWORK: ("CKV2_K8S_6",),
    LOAD_BALANCER: (),
    HAS_HPA: (),
    HAS_PDB: (),
}


def test_kubernetes_policies_name_only_verified_equivalents() -> None:
    assert {rule.name for rule in k8s.RULES} == set(VERIFIED_CHECKOV)
    for rule in k8s.RULES:
        assert rule.checkov == VERIFIED_CHECKOV[rule.name], rule.name
        assert rule.cdk_nag == ()  # cdk-nag has no Kubernetes rules
        assert rule.url and rule.url.startswith("https://kubernetes.io/docs/"), rule.name
        assert rule.name.startswith("k8s-")


def _sdk_types() -> set[str]:
    """Every resource type token pulumi-kubernetes registers (its package __init__ lists them)."""
    source = Path(pulumi_kubernetes.__file__).read_text()
    match = re.search(r'resource_modules="""(.*?)"""', source, re.S)
    assert match, "pulumi_kubernetes no longer lists its resource modules this way"
    return {token for module in json.loads(match.group(1)) for token in module["classes"]}


# Kinds the not-default-namespace policy leaves alone, on purpose: cluster-scoped ones, and namespaced ones
# that controllers or the API server create rather than programs (plus alpha-only kinds).
CLUSTER_SCOPED = {
    "APIService", "AuditSink", "CertificateSigningRequest", "ClusterCIDR", "ClusterRole",
    "ClusterRoleBinding", "ClusterTrustBundle", "CSIDriver", "CSINode", "CustomResourceDefinition",
    "DeviceClass", "DeviceTaintRule", "FlowSchema", "IngressClass", "IPAddress", "MutatingAdmissionPolicy",
    "MutatingAdmissionPolicyBinding", "MutatingWebhookConfiguration", "Namespace", "Node",
    "PersistentVolume", "PodSecurityPolicy", "PriorityClass", "PriorityLevelConfiguration", "ResourceClass",
    "ResourceSlice", "RuntimeClass", "ServiceCIDR", "StorageClass", "StorageVersionMigration",
    "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding", "ValidatingWebhookConfiguration",
    "VolumeAttachment", "VolumeAttributesClass",
}  # fmt: skip
NOT_DECLARED_BY_PROGRAMS = {
    "Binding", "ControllerRevision", "Event", "Eviction", "EvictionRequest", "Lease", "LeaseCandidate",
    "PodCertificateRequest", "PodScheduling", "PodSchedulingContext", "ResourceClaimParameters",
    "ResourceClassParameters", "ResourcePoolStatusRequest", "PodPreset", "Workload", "PodGroup",
    "CompositePodGroup", "Status", "ServiceSpecType",
}  # fmt: skip
NOT_MANIFESTS = ("kubernetes:helm.sh/", "kubernetes:yaml", "kubernetes:kustomize")


def test_every_type_the_policies_judge_exists_in_pulumi_kubernetes() -> None:
    sdk = _sdk_types()
    for rule in k8s.RULES:
        assert set(rule.resource_types) <= sdk, (rule.name, set(rule.resource_types) - sdk)


def test_every_pulumi_kubernetes_type_is_judged_or_deliberately_left_out() -> None:
    # A new kind in a pulumi-kubernetes upgrade fails here until someone decides whether it is namespaced.
    unclassified = sorted(
        token
        for token in _sdk_types()
        if not token.endswith(("List", "Patch"))
        and not token.startswith(NOT_MANIFESTS)
        and token not in k8s.NAMESPACED
        and token.rsplit(":", 1)[-1] not in CLUSTER_SCOPED | NOT_DECLARED_BY_PROGRAMS
    )
    assert unclassified == []
    judged_kinds = {t.rsplit(":", 1)[-1] for t in k8s.NAMESPACED}
    assert not judged_kinds & CLUSTER_SCOPED
    # Every version of a judged kind is judged.
    assert {t for t in _sdk_types() if t.rsplit(":", 1)[-1] in judged_kinds} <= set(k8s.NAMESPACED)


def test_pod_policies_judge_every_pod_bearing_kind() -> None:
    pod_bearing = {t for t in _sdk_types() if t.rsplit(":", 1)[-1] in {"Pod", "Deployment", "StatefulSet",
                   "DaemonSet", "ReplicaSet", "ReplicationController", "Job", "CronJob"}}  # fmt: skip
    assert set(k8s.WORKLOADS) == pod_bearing
    # PodTemplates hold a pod spec too, which Pod Security Admission judges, though they run no pods.
    pod_specs = pod_bearing | {t for t in _sdk_types() if t.rsplit(":", 1)[-1] == "PodTemplate"}
    for rule in k8s.RULES:
        if rule.name in (READINESS, LIVENESS):
            assert set(rule.resource_types) == pod_specs - set(k8s.JOBS + k8s.CRON_JOBS)
        elif rule.name == NETWORK:  # no pods to isolate in a PodTemplate
            assert set(rule.resource_types) == pod_bearing
        elif rule.name not in (DEFAULT_NS, LOAD_BALANCER, HAS_HPA, HAS_PDB):
            assert set(rule.resource_types) == pod_specs, rule.name


# ---------------------------------------------------------------------------------------------
# The tables above and the fuzz inputs, as tests/test_policy_pack.py runs them pack-wide.

FAMILY = Family(
    name="k8s",
    rules=k8s.RULES,
    resource_cases=RESOURCE_CASES,
    stack_cases=STACK_CASES,
    deferrals=DEFERRALS,
    preview_unknowns=PREVIEW_UNKNOWNS,
    other_types=OTHER_TYPES,
    fuzz_keys=[
        "metadata",
        "name",
        "namespace",
        "labels",
        "spec",
        "template",
        "jobTemplate",
        "selector",
        "matchLabels",
        "matchExpressions",
        "key",
        "operator",
        "values",
        "containers",
        "initContainers",
        "image",
        "resources",
        "requests",
        "limits",
        "cpu",
        "memory",
        "readinessProbe",
        "livenessProbe",
        "httpGet",
        "tcpSocket",
        "exec",
        "grpc",
        "securityContext",
        "runAsNonRoot",
        "runAsUser",
        "readOnlyRootFilesystem",
        "privileged",
        "allowPrivilegeEscalation",
        "capabilities",
        "drop",
        "add",
        "ports",
        "hostPort",
        "seccompProfile",
        "appArmorProfile",
        "annotations",
        "container.apparmor.security.beta.kubernetes.io/web",
        "seLinuxOptions",
        "user",
        "role",
        "procMount",
        "windowsOptions",
        "hostProcess",
        "startupProbe",
        "lifecycle",
        "preStop",
        "host",
        "sysctls",
        "volumes",
        "hostPath",
        "nfs",
        "configMap",
        "hostNetwork",
        "hostPID",
        "hostIPC",
        "os",
        "restartPolicy",
        "type",
        "scaleTargetRef",
        "kind",
        "podSelector",
        "app.kubernetes.io/name",
    ],  # fmt: skip
    fuzz_values=[
        "web",
        "default",
        "ALL",
        "all",
        "NET_BIND_SERVICE",
        "SYS_ADMIN",
        "RuntimeDefault",
        "Localhost",
        "Unconfined",
        "unconfined",
        "runtime/default",
        "localhost/p",
        "container_t",
        "spc_t",
        "Default",
        "Unmasked",
        "kernel.msgmax",
        "net.ipv4.tcp_syncookies",
        "LoadBalancer",
        "ClusterIP",
        "Deployment",
        "In",
        "NotIn",
        "Exists",
        "DoesNotExist",
        "windows",
        "Never",
        "nginx",
        "nginx:latest",
        "a:1@sha256:x",
        "reg:5000/app",
        "0",
        "250m",
        "512Mi",
        "",
        " ",
        *UNKNOWNS,
    ],  # fmt: skip
    # Every pod-bearing kind, though the tables have fixtures of a few of them only.
    fuzz_fixtures={rtype: [workload(rtype)] for rtype in k8s.POD_SPECS},
    stack_fuzz=[
        StackFuzzTarget(HAS_HPA, DEPLOYMENT, HPA, "spec"),
        StackFuzzTarget(HAS_PDB, DEPLOYMENT, PDB, "spec"),
        StackFuzzTarget(HAS_PDB, DEPLOYMENT, PDB_V1BETA1, "spec"),
        StackFuzzTarget(NETWORK, CRON_JOB, NETWORK_POLICY, "spec"),
        StackFuzzTarget(NETWORK, POD, NETWORK_POLICY, "spec"),
    ],
)
