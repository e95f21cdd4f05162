"""`paved drill restore --connect NAMESPACE`: `SELECT 1` against the drill instance from a Job in the cluster,
where the apps' connections come from.

Reach: the Job's pod runs on the apps' nodes, which carry the workload security group; the drill adds to its
own security group (and to nothing else) one rule admitting that group on the instance's port. In the
namespace, whose default-deny NetworkPolicy blocks everything, the drill's own NetworkPolicy lets the Job's
pod reach DNS and the drill instance's subnets on that port, and nothing reach it.

Login: the managed master secret does not carry over to a restored instance, so the drill sets a new random
master password on its own instance (ModifyDBInstance, only on an instance carrying its drill tags), hands it
to the pod in a Secret, and connects over TLS (`sslmode=require`: the parameter group forces SSL; the image
has no RDS CA bundle to verify the server with, and the drill instance is reachable from the cluster only).

Order and cleanup: the Job is created suspended; the Secret and the NetworkPolicy are then created owned by
it, so that the pod starts only once both exist, and Kubernetes' garbage collector deletes both with the
Job. The drill deletes the Job when done; `ttlSecondsAfterFinished` deletes it even if the drill is killed
after the Job started. https://kubernetes.io/docs/concepts/workloads/controllers/job/#suspending-a-job
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from paved.drill import DRILL_TAG, STACK_TAG, DrillClients, wait_until_available

# The label keys the drill's objects carry: Kubernetes label keys allow a DNS prefix and a name, not `:`.
DRILL_LABEL = "paved/drill"
STACK_LABEL = "paved/stack"
# The `postgres` image's own user (docker-library/postgres: alpine images create it with uid and gid 70).
POSTGRES_UID = 70
JOB_DEADLINE_SECONDS = 300
JOB_TTL_SECONDS = 600
CHECK_NAME = "SELECT 1 from a Job in the cluster"


def job_name(drill_id: str) -> str:
    return f"paved-drill-{drill_id}"


def image(engine_version: str) -> str:
    """The official PostgreSQL image of the source's major version (its psql speaks that version), from
    Amazon ECR Public's Docker Official Images mirror, which nodes reach without Docker Hub's pull limits."""
    return f"public.ecr.aws/docker/library/postgres:{engine_version.split('.')[0]}-alpine"


@dataclass(frozen=True)
class Target:
    """The drill instance as the Job connects to it."""

    host: str
    port: int
    user: str
    cidrs: tuple[str, ...]  # its subnet group's subnets
    engine_version: str


def job_manifest(drill_id: str, stack: str, namespace: str, target: Target) -> dict[str, Any]:
    name = job_name(drill_id)
    labels = _labels(drill_id, stack)
    container = {
        "name": "select-1",
        "image": image(target.engine_version),
        "command": ["psql", "--no-psqlrc", "-v", "ON_ERROR_STOP=1", "-tAc", "SELECT 1"],
        "env": [
            {"name": "PGHOST", "value": target.host},
            {"name": "PGPORT", "value": str(target.port)},
            {"name": "PGUSER", "value": target.user},
            {"name": "PGDATABASE", "value": "postgres"},
            {"name": "PGSSLMODE", "value": "require"},
            {"name": "PGCONNECT_TIMEOUT", "value": "10"},
            {
                "name": "PGPASSWORD",
                "valueFrom": {"secretKeyRef": {"name": name, "key": "password"}},
            },
        ],
        # Pod Security Standards, restricted (the apps' namespaces enforce it).
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
            "runAsUser": POSTGRES_UID,
            "runAsGroup": POSTGRES_UID,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "resources": {
            "requests": {"cpu": "50m", "memory": "32Mi"},
            "limits": {"memory": "64Mi"},
        },
    }
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": {
            "suspend": True,
            "backoffLimit": 0,
            "activeDeadlineSeconds": JOB_DEADLINE_SECONDS,
            "ttlSecondsAfterFinished": JOB_TTL_SECONDS,
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "restartPolicy": "Never",
                    "automountServiceAccountToken": False,
                    "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
                    "containers": [container],
                },
            },
        },
    }


def owned_manifests(
    drill_id: str, stack: str, namespace: str, target: Target, password: str, job_uid: str
) -> list[dict[str, Any]]:
    """The Secret with the password and the NetworkPolicy of the Job's pod, owned by the Job."""
    name = job_name(drill_id)
    owner = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "name": name,
        "uid": job_uid,
        "blockOwnerDeletion": True,
    }
    metadata = {
        "name": name,
        "namespace": namespace,
        "labels": _labels(drill_id, stack),
        "ownerReferences": [owner],
    }
    dns = {
        "to": [
            {
                "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
            }
        ],
        "ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}],
    }
    database = {
        "to": [{"ipBlock": {"cidr": cidr}} for cidr in target.cidrs],
        "ports": [{"port": target.port, "protocol": "TCP"}],
    }
    return [
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": metadata,
            "type": "Opaque",
            "stringData": {"password": password},
        },
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": metadata,
            "spec": {
                "podSelector": {"matchLabels": {DRILL_LABEL: drill_id}},
                "policyTypes": ["Ingress", "Egress"],
                "egress": [dns, database],
            },
        },
    ]


def _labels(drill_id: str, stack: str) -> dict[str, str]:
    return {"app.kubernetes.io/managed-by": "paved", DRILL_LABEL: drill_id, STACK_LABEL: stack}


class Cluster(Protocol):
    """What the check asks of the Kubernetes API."""

    def create(self, manifest: Mapping[str, Any]) -> str:
        """Create the object; its uid."""
        ...

    def resume_job(self, namespace: str, name: str) -> None: ...

    def job_outcome(self, namespace: str, name: str) -> tuple[str, str]:
        """("", "") while the Job runs; ("Complete" or "Failed", its pod's log) once it has ended."""
        ...

    def delete_job(self, namespace: str, name: str) -> None:
        """Delete the Job, its pod and what it owns."""


@dataclass(frozen=True)
class ConnectCheck:
    cluster: Cluster
    namespace: str
    workload_group: str  # the security group the apps' nodes carry


def connect_check(
    check: ConnectCheck,
    clients: DrillClients,
    stack: str,
    drill_id: str,
    instance: str,
    drill_group: str,
    *,
    timeout: float,
    clock: Callable[[], float],
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[str, bool, str]:
    """Give the drill instance a password and its group the apps' group, then run the Job; the check's
    (name, passed, detail). The Job is deleted whatever happens once it exists."""
    rds = clients.rds
    [restored] = rds.describe_db_instances(DBInstanceIdentifier=instance)["DBInstances"]
    tags = {tag["Key"]: tag["Value"] for tag in restored.get("TagList") or []}
    if tags.get(DRILL_TAG) != drill_id or tags.get(STACK_TAG) != stack:
        return CHECK_NAME, False, f"{instance} does not carry this drill's tags: its password is left alone"
    password = secrets.token_urlsafe(32)
    rds.modify_db_instance(DBInstanceIdentifier=instance, MasterUserPassword=password, ApplyImmediately=True)
    problem = wait_until_available(rds, instance, timeout=timeout, clock=clock, sleep=sleep)
    if problem:
        return CHECK_NAME, False, f"setting the drill password: {problem}"
    [restored] = rds.describe_db_instances(DBInstanceIdentifier=instance)["DBInstances"]
    endpoint = restored.get("Endpoint") or {}
    port = int(endpoint.get("Port") or 5432)
    clients.ec2.authorize_security_group_ingress(
        GroupId=drill_group,
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": port,
                "ToPort": port,
                "UserIdGroupPairs": [
                    {
                        "GroupId": check.workload_group,
                        # EC2 allows letters, digits, spaces and ._-:/()#,@[]+=;{}!$* in descriptions.
                        "Description": f"paved drill {drill_id}: SELECT 1 from the app nodes",
                    }
                ],
            }
        ],
    )
    target = Target(
        host=str(endpoint.get("Address") or ""),
        port=port,
        user=str(restored.get("MasterUsername") or ""),
        cidrs=_subnet_cidrs(clients, restored),
        engine_version=str(restored.get("EngineVersion") or ""),
    )
    name = job_name(drill_id)
    uid = check.cluster.create(job_manifest(drill_id, stack, check.namespace, target))
    try:
        for manifest in owned_manifests(drill_id, stack, check.namespace, target, password, uid):
            check.cluster.create(manifest)
        check.cluster.resume_job(check.namespace, name)
        deadline = clock() + JOB_DEADLINE_SECONDS + 60
        while True:
            state, log = check.cluster.job_outcome(check.namespace, name)
            if state:
                detail = f"Job {check.namespace}/{name} {state.lower()}: {log.strip() or 'no output'}"
                return CHECK_NAME, state == "Complete" and log.strip() == "1", detail
            if clock() >= deadline:
                return (
                    CHECK_NAME,
                    False,
                    f"Job {check.namespace}/{name} not done within {JOB_DEADLINE_SECONDS + 60} s",
                )
            sleep(5)
    finally:
        check.cluster.delete_job(check.namespace, name)


def _subnet_cidrs(clients: DrillClients, instance: Mapping[str, Any]) -> tuple[str, ...]:
    subnets = [s["SubnetIdentifier"] for s in (instance.get("DBSubnetGroup") or {}).get("Subnets") or []]
    if not subnets:
        return ()
    described = clients.ec2.describe_subnets(SubnetIds=subnets)["Subnets"]
    return tuple(sorted(subnet["CidrBlock"] for subnet in described))


class KubernetesJobs:
    """The Job calls of the one-off Jobs paved starts (this drill's SELECT 1, `paved run`), on the official
    Kubernetes client."""

    def __init__(self, api: Any) -> None:
        from kubernetes import client

        self._batch = client.BatchV1Api(api)
        self._core = client.CoreV1Api(api)

    def resume_job(self, namespace: str, name: str) -> None:
        self._batch.patch_namespaced_job(name, namespace, {"spec": {"suspend": False}})

    def job_state(self, namespace: str, name: str) -> str:
        """Complete, Failed, or "" while the Job runs."""
        job: Any = self._batch.read_namespaced_job_status(name, namespace)
        ended = [
            condition.type
            for condition in job.status.conditions or []
            if condition.type in ("Complete", "Failed") and condition.status == "True"
        ]
        return ended[0] if ended else ""

    def delete_job(self, namespace: str, name: str) -> None:
        from kubernetes.client.exceptions import ApiException

        try:
            self._batch.delete_namespaced_job(name, namespace, propagation_policy="Background")
        except ApiException as error:
            if error.status != 404:
                raise


class KubernetesCluster(KubernetesJobs):
    """`Cluster` on the official Kubernetes client, with the kubeconfig's context (the prod API is private:
    run from the in-VPC runner or a VPN, as `pulumi up` does)."""

    def __init__(self, context: str | None = None) -> None:
        from kubernetes import client, config, dynamic

        config.load_kube_config(context=context)
        api = client.ApiClient()
        super().__init__(api)
        self._dynamic = dynamic.DynamicClient(api)

    def create(self, manifest: Mapping[str, Any]) -> str:
        resource = self._dynamic.resources.get(api_version=manifest["apiVersion"], kind=manifest["kind"])
        created = resource.create(body=dict(manifest), namespace=manifest["metadata"]["namespace"])
        return str(created.metadata.uid)

    def job_outcome(self, namespace: str, name: str) -> tuple[str, str]:
        ended = self.job_state(namespace, name)
        if not ended:
            return "", ""
        listed: Any = self._core.list_namespaced_pod(namespace, label_selector=f"job-name={name}")
        pods = listed.items
        log = self._core.read_namespaced_pod_log(pods[0].metadata.name, namespace) if pods else ""
        return ended, str(log)
