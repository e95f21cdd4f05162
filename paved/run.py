"""`paved run APP -- CMD`: a one-off task (a data fix, a script, a console) as a Job of the app's own pods.

The Job copies the live pod template of the app's Deployment (or CronJob): the same image, service account
(and so IRSA role), env and synced Secret, security context, resources and writable volumes, with CMD as the
container's command and no probes, ports or preStop. Its pods carry their own `app.kubernetes.io/name`
(`<app>-run`), not the app's: a pod with the app's name would be selected by the app's Service (and get
ALB traffic once running), counted by its HPA, and put under its PodDisruptionBudget, whose maxUnavailable a
Job, having no scale subresource, would make the disruption controller refuse every eviction
(https://kubernetes.io/docs/tasks/run-application/configure-pdb/#arbitrary-controllers-and-selectors). So
the run gets its own NetworkPolicy with the app's egress (DNS, the data stores, HTTPS) and no ingress.

Order and cleanup, as the drill's SELECT 1 Job (paved/drill_connect.py): the Job is created suspended, its
NetworkPolicy is created owned by it, then it is resumed, so the pod never starts under default-deny alone;
Kubernetes' garbage collector deletes the policy with the Job, and `ttlSecondsAfterFinished` deletes the Job
an hour after it ends even if `paved run` was killed. Everything it creates is labelled
`app.kubernetes.io/managed-by: paved-run`; cleanup deletes only Jobs with that label.
"""

from __future__ import annotations

import copy
import secrets
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Protocol

from paved.drill_connect import KubernetesJobs

MANAGED_BY = "paved-run"
FINISHED_TTL_SECONDS = 3600
# What `paved run` may not carry over from a long-running container: it runs CMD once and takes no traffic.
_DROPPED_CONTAINER_KEYS = ("args", "ports", "startupProbe", "readinessProbe", "livenessProbe", "lifecycle")


class RunError(Exception):
    """Why the run could not start."""


class RunCluster(Protocol):
    """What `paved run` does with the cluster (KubernetesRun on the official client)."""

    def pod_template(self, namespace: str, name: str) -> dict[str, Any] | None:
        """The pod template of the app's Deployment, else of its CronJob; None if neither exists."""
        ...

    def egress(self, namespace: str, name: str) -> list[Any]:
        """The egress rules of the app's own NetworkPolicy."""
        ...

    def create(self, manifest: Mapping[str, Any]) -> str:
        """Create the object; its uid."""
        ...

    def resume_job(self, namespace: str, name: str) -> None: ...

    def job_state(self, namespace: str, name: str) -> str:
        """Complete, Failed, or "" while it runs."""
        ...

    def started_pod(self, namespace: str, job: str) -> str | None:
        """The Job's pod once its container has started (running or ended), else None."""
        ...

    def logs(self, namespace: str, pod: str) -> Iterator[str]:
        """The pod's log, followed until the container ends."""
        ...

    def jobs(self, namespace: str, label_selector: str) -> list[str]: ...

    def delete_job(self, namespace: str, name: str) -> None:
        """Delete the Job and, through its ownerReferences, its pods and NetworkPolicy."""
        ...


def labels(app: str, job: str) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": f"{app}-run",
        "app.kubernetes.io/instance": job,
        "app.kubernetes.io/component": "one-off",
        "app.kubernetes.io/managed-by": MANAGED_BY,
    }


def new_job_name(app: str) -> str:
    # An app name is at most 40 characters, so this stays inside a label value's 63.
    return f"{app}-run-{secrets.token_hex(3)}"


def job_manifest(
    app: str, job: str, template: Mapping[str, Any], command: Sequence[str], deadline_seconds: int
) -> dict[str, Any]:
    """A suspended Job of the app's pod template that runs `command` once."""
    spec = copy.deepcopy(dict(template.get("spec") or {}))
    containers = spec.get("containers") or []
    if not containers:
        raise RunError(f"the pod template of {app} has no container")
    container = {k: v for k, v in containers[0].items() if k not in _DROPPED_CONTAINER_KEYS}
    container["command"] = list(command)
    # The Deployment's spread constraints select the app's pods, not this one; a CronJob's pod failure
    # policy stays with the CronJob.
    spec = {k: v for k, v in spec.items() if k not in ("topologySpreadConstraints", "readinessGates")}
    spec.update(containers=[container], restartPolicy="Never")
    own = labels(app, job)
    metadata = dict(template.get("metadata") or {})
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": job, "namespace": app, "labels": own},
        "spec": {
            "suspend": True,
            "backoffLimit": 0,
            "activeDeadlineSeconds": deadline_seconds,
            "ttlSecondsAfterFinished": FINISHED_TTL_SECONDS,
            "template": {
                "metadata": {
                    "labels": own,
                    **({"annotations": metadata["annotations"]} if metadata.get("annotations") else {}),
                },
                "spec": spec,
            },
        },
    }


def policy_manifest(app: str, job: str, job_uid: str, egress: Sequence[Any]) -> dict[str, Any]:
    """The run's NetworkPolicy: the app's egress, no ingress, deleted with the Job."""
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {
            "name": job,
            "namespace": app,
            "labels": labels(app, job),
            "ownerReferences": [
                {
                    "apiVersion": "batch/v1",
                    "kind": "Job",
                    "name": job,
                    "uid": job_uid,
                    "blockOwnerDeletion": True,
                }
            ],
        },
        "spec": {
            "podSelector": {"matchLabels": {"app.kubernetes.io/instance": job}},
            "policyTypes": ["Ingress", "Egress"],
            "egress": list(egress),
        },
    }


def start(cluster: RunCluster, app: str, command: Sequence[str], deadline_seconds: int) -> str:
    """Create the Job, its NetworkPolicy, and let it run; the Job's name."""
    template = cluster.pod_template(app, app)
    if template is None:
        raise RunError(f"namespace {app} has no Deployment or CronJob {app}: has the stack been deployed?")
    job = new_job_name(app)
    uid = cluster.create(job_manifest(app, job, template, command, deadline_seconds))
    try:
        cluster.create(policy_manifest(app, job, uid, cluster.egress(app, app)))
        cluster.resume_job(app, job)
    except BaseException:
        # A suspended Job never ends, so neither its deadline nor its TTL would ever remove it.
        cluster.delete_job(app, job)
        raise
    return job


def follow(
    cluster: RunCluster,
    app: str,
    job: str,
    echo: Callable[[str], None],
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> str:
    """Stream the run's log as it comes; the Job's end state (Complete or Failed)."""
    # A pod that ended keeps its log (restartPolicy Never), so a quick run is read too.
    while (pod := cluster.started_pod(app, job)) is None:
        if state := cluster.job_state(app, job):
            return state  # ended without a pod that started: the deadline, or a pod that could not start
        sleep(2)
    for line in cluster.logs(app, pod):
        echo(line)
    while not (state := cluster.job_state(app, job)):
        sleep(1)
    return state


def leftover_jobs(cluster: RunCluster, app: str) -> list[str]:
    return cluster.jobs(app, f"app.kubernetes.io/managed-by={MANAGED_BY}")


class KubernetesRun(KubernetesJobs):
    """RunCluster on the official Kubernetes client, with the kubeconfig's context (the prod API is private:
    run from the in-VPC runner or a VPN, as `pulumi up` does)."""

    def __init__(self, api: Any) -> None:
        from kubernetes import client

        super().__init__(api)
        self._api = api
        self._apps = client.AppsV1Api(api)
        self._networking = client.NetworkingV1Api(api)

    @classmethod
    def from_kubeconfig(cls, context: str | None) -> KubernetesRun:
        from kubernetes import client, config

        config.load_kube_config(context=context)
        return cls(client.ApiClient())

    def _plain(self, model: Any) -> Any:
        return self._api.sanitize_for_serialization(model)

    def pod_template(self, namespace: str, name: str) -> dict[str, Any] | None:
        from kubernetes.client.exceptions import ApiException

        try:
            return self._plain(self._apps.read_namespaced_deployment(name, namespace))["spec"]["template"]
        except ApiException as error:
            if error.status != 404:
                raise
        try:
            cron_job = self._plain(self._batch.read_namespaced_cron_job(name, namespace))
        except ApiException as error:
            if error.status != 404:
                raise
            return None
        return cron_job["spec"]["jobTemplate"]["spec"]["template"]

    def egress(self, namespace: str, name: str) -> list[Any]:
        policy = self._plain(self._networking.read_namespaced_network_policy(name, namespace))
        return list(policy["spec"].get("egress") or [])

    def create(self, manifest: Mapping[str, Any]) -> str:
        namespace = manifest["metadata"]["namespace"]
        if manifest["kind"] == "Job":
            created: Any = self._batch.create_namespaced_job(namespace, dict(manifest))
        else:
            created = self._networking.create_namespaced_network_policy(namespace, dict(manifest))
        return str(created.metadata.uid)

    def started_pod(self, namespace: str, job: str) -> str | None:
        listed: Any = self._core.list_namespaced_pod(namespace, label_selector=f"job-name={job}")
        for pod in listed.items:
            if pod.status.phase in ("Running", "Succeeded", "Failed"):
                return str(pod.metadata.name)
        return None

    def logs(self, namespace: str, pod: str) -> Iterator[str]:
        response: Any = self._core.read_namespaced_pod_log(
            pod, namespace, follow=True, _preload_content=False
        )
        pending = b""
        for chunk in response.stream(4096):
            pending += chunk
            *lines, pending = pending.split(b"\n")
            yield from (line.decode(errors="replace") for line in lines)
        if pending:
            yield pending.decode(errors="replace")

    def jobs(self, namespace: str, label_selector: str) -> list[str]:
        listed: Any = self._batch.list_namespaced_job(namespace, label_selector=label_selector)
        return [str(job.metadata.name) for job in listed.items]
