"""`paved run`: the Job it builds from an app's live pod template, and the command end to end against a small
Kubernetes API served on 127.0.0.1, through the official client as in a cluster."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import kubernetes_validate
import pytest
from typer.testing import CliRunner

from paved.cli import app
from paved.run import job_manifest, policy_manifest

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE: dict[str, Any] = {
    "metadata": {"labels": {"app.kubernetes.io/name": "worker", "app.kubernetes.io/managed-by": "pulumi"}},
    "spec": {
        "serviceAccountName": "worker",
        "automountServiceAccountToken": False,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": 10001,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "topologySpreadConstraints": [
            {
                "maxSkew": 1,
                "topologyKey": "kubernetes.io/hostname",
                "whenUnsatisfiable": "ScheduleAnyway",
                "labelSelector": {"matchLabels": {"app.kubernetes.io/name": "worker"}},
            }
        ],
        "containers": [
            {
                "name": "worker",
                "image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/paved-prod/worker:2.7.0",
                "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"}],
                "envFrom": [
                    {"configMapRef": {"name": "worker-env"}},
                    {"secretRef": {"name": "worker-secrets"}},
                ],
                "resources": {"requests": {"cpu": "250m", "memory": "512Mi"}, "limits": {"memory": "512Mi"}},
                "readinessProbe": {"httpGet": {"path": "/health/ready", "port": "http"}},
                "livenessProbe": {"httpGet": {"path": "/health/live", "port": "http"}},
                "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True},
                "volumeMounts": [{"name": "writable-0", "mountPath": "/tmp"}],
            }
        ],
        "volumes": [{"name": "writable-0", "emptyDir": {"sizeLimit": "1Gi"}}],
    },
}
EGRESS = [{"to": [{"ipBlock": {"cidr": "10.0.0.0/16"}}], "ports": [{"port": 5432, "protocol": "TCP"}]}]


def test_the_job_is_the_apps_pod_running_the_command_once() -> None:
    job = job_manifest("worker", "worker-run-abc123", TEMPLATE, ["node", "fix.js"], 600)
    kubernetes_validate.validate(job, "1.36.0", strict=True)
    pod = job["spec"]["template"]["spec"]
    [container] = pod["containers"]
    original = TEMPLATE["spec"]["containers"][0]
    assert container["command"] == ["node", "fix.js"]
    for key in ("image", "envFrom", "resources", "securityContext", "volumeMounts"):
        assert container[key] == original[key]
    assert not {"ports", "readinessProbe", "livenessProbe"} & set(container)
    assert (pod["serviceAccountName"], pod["restartPolicy"]) == ("worker", "Never")
    assert "topologySpreadConstraints" not in pod
    spec = job["spec"]
    assert (spec["suspend"], spec["backoffLimit"], spec["activeDeadlineSeconds"]) == (True, 0, 600)
    assert spec["ttlSecondsAfterFinished"] == 3600
    labels = job["spec"]["template"]["metadata"]["labels"]
    # Not the app's name: the app's Service, HPA and PDB select that, and must not take this pod.
    assert labels["app.kubernetes.io/name"] == "worker-run"
    assert labels["app.kubernetes.io/managed-by"] == "paved-run"


def test_the_runs_policy_has_the_apps_egress_no_ingress_and_goes_with_the_job() -> None:
    policy = policy_manifest("worker", "worker-run-abc123", "uid-1", EGRESS)
    kubernetes_validate.validate(policy, "1.36.0", strict=True)
    assert policy["spec"]["egress"] == EGRESS and "ingress" not in policy["spec"]
    assert policy["spec"]["policyTypes"] == ["Ingress", "Egress"]
    assert policy["metadata"]["ownerReferences"][0]["uid"] == "uid-1"


# --- against an API server ----------------------------------------------------------------------------------


class FakeApi:
    """The objects of one namespace, `worker`, and what was done to them."""

    def __init__(self, *, fails: bool = False) -> None:
        self.fails = fails
        self.jobs: dict[str, dict[str, Any]] = {}
        self.policies: list[dict[str, Any]] = []
        self.deleted: list[str] = []
        self.jobs["left-over"] = self._job("left-over", {"app.kubernetes.io/managed-by": "paved-run"})
        self.jobs["someone-elses"] = self._job("someone-elses", {"app.kubernetes.io/managed-by": "pulumi"})

    @staticmethod
    def _job(name: str, labels: dict[str, str]) -> dict[str, Any]:
        spec = {"template": {"spec": {"containers": [{"name": "x", "image": "x:1"}]}}}
        metadata = {"name": name, "namespace": "worker", "uid": str(uuid.uuid4()), "labels": labels}
        return {"apiVersion": "batch/v1", "kind": "Job", "metadata": metadata, "spec": spec, "status": {}}

    def answer(self, method: str, path: str, query: dict[str, list[str]], body: Any) -> tuple[int, Any]:
        parts = path.strip("/").split("/")
        if method == "GET" and path == "/apis/apps/v1/namespaces/worker/deployments/worker":
            selector = {"matchLabels": {"app.kubernetes.io/name": "worker"}}
            return 200, {"kind": "Deployment", "spec": {"selector": selector, "template": TEMPLATE}}
        if method == "GET" and path == "/apis/networking.k8s.io/v1/namespaces/worker/networkpolicies/worker":
            return 200, {"kind": "NetworkPolicy", "spec": {"podSelector": {}, "egress": EGRESS}}
        if method == "POST" and path.endswith("/networkpolicies"):
            self.policies.append(body)
            return 201, {**body, "metadata": {**body["metadata"], "uid": "p"}}
        if path.startswith("/apis/batch/v1/namespaces/worker/jobs"):
            return self._jobs(method, parts[6:], query, body)
        if method == "GET" and path == "/api/v1/namespaces/worker/pods":
            job = query["labelSelector"][0].removeprefix("job-name=")
            running = job in self.jobs and not self.jobs[job]["spec"].get("suspend")
            pod = {"metadata": {"name": f"{job}-pod"}, "status": {"phase": "Running"}}
            return 200, {"kind": "PodList", "items": [pod] if running else []}
        if method == "GET" and parts[-1] == "log":
            return 200, "fixing rows\n3 rows fixed\n"
        return 404, {"kind": "Status", "code": 404}

    def _jobs(self, method: str, rest: list[str], query: dict[str, list[str]], body: Any) -> tuple[int, Any]:
        if method == "POST":
            job = {**body, "metadata": {**body["metadata"], "uid": str(uuid.uuid4())}, "status": {}}
            self.jobs[body["metadata"]["name"]] = job
            return 201, job
        if method == "GET" and not rest:
            key, _, value = query["labelSelector"][0].partition("=")
            listed = [j for j in self.jobs.values() if j["metadata"]["labels"].get(key) == value]
            return 200, {"kind": "JobList", "items": listed}
        job = self.jobs.get(rest[0])
        if job is None:
            return 404, {"kind": "Status", "code": 404}
        if method == "PATCH":
            job["spec"]["suspend"] = body["spec"]["suspend"]
            ended = "Failed" if self.fails else "Complete"
            job["status"] = {"conditions": [{"type": ended, "status": "True"}]}
        if method == "DELETE":
            self.deleted.append(rest[0])
            del self.jobs[rest[0]]
            return 200, {"kind": "Status", "status": "Success"}
        return 200, job


@pytest.fixture
def api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> Iterator[FakeApi]:
    fake = FakeApi(fails=getattr(request, "param", False))

    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            url = urlparse(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length)) if length else None
            status, answer = fake.answer(self.command, url.path, parse_qs(url.query), body)
            data = answer.encode() if isinstance(answer, str) else json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/plain" if isinstance(answer, str) else "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PATCH = do_DELETE = _serve

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    kubeconfig = tmp_path / "kubeconfig"
    cluster = {"server": f"http://127.0.0.1:{server.server_address[1]}"}
    kubeconfig.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "fake", "cluster": cluster}],
                "users": [{"name": "fake", "user": {"token": "t"}}],
                "contexts": [{"name": "fake", "context": {"cluster": "fake", "user": "fake"}}],
                "current-context": "fake",
            }
        )
    )
    # The client reads $KUBECONFIG once, when it is imported: point its default at this file instead.
    from kubernetes.config import kube_config

    monkeypatch.setattr(kube_config, "KUBE_CONFIG_DEFAULT_LOCATION", str(kubeconfig))
    yield fake
    server.shutdown()
    server.server_close()


def _paved(*args: str) -> Any:
    return CliRunner().invoke(app, ["run", *args], catch_exceptions=False)


def test_a_run_streams_the_log_and_exits_with_the_jobs_result(api: FakeApi) -> None:
    result = _paved(
        "worker", "--stack", "prod", "-C", str(ROOT), "--yes", "--", "node", "fix.js", "--dry-run"
    )
    assert result.exit_code == 0, result.output
    assert "fixing rows\n3 rows fixed\n" in result.output and "Complete" in result.output
    [name] = [n for n in api.jobs if n.startswith("worker-run-")]
    job = api.jobs[name]
    assert job["spec"]["template"]["spec"]["containers"][0]["command"] == ["node", "fix.js", "--dry-run"]
    [policy] = api.policies
    assert policy["metadata"]["ownerReferences"][0]["uid"] == job["metadata"]["uid"]
    assert policy["spec"]["egress"] == EGRESS


@pytest.mark.parametrize("api", [True], indirect=True)
def test_a_failed_run_exits_1(api: FakeApi) -> None:
    result = _paved("worker", "--stack", "prod", "-C", str(ROOT), "--yes", "--", "false")
    assert result.exit_code == 1 and "Failed" in result.output


def test_declining_runs_nothing(api: FakeApi) -> None:
    result = CliRunner().invoke(
        app, ["run", "worker", "--stack", "prod", "-C", str(ROOT), "--", "x"], input="n\n"
    )
    assert result.exit_code == 0 and "Nothing run." in result.output
    assert set(api.jobs) == {"left-over", "someone-elses"}


def test_cleanup_deletes_only_paved_runs(api: FakeApi) -> None:
    result = _paved("worker", "--stack", "prod", "-C", str(ROOT), "--cleanup", "--yes")
    assert result.exit_code == 0, result.output
    assert api.deleted == ["left-over"]


@pytest.mark.parametrize(
    "args", [["nope", "--stack", "prod", "--", "x"], ["worker", "--stack", "prod"], ["worker", "--", "x"]]
)
def test_usage_errors_touch_nothing(api: FakeApi, args: list[str]) -> None:
    result = _paved("-C", str(ROOT), *args)
    assert result.exit_code == 2
    assert set(api.jobs) == {"left-over", "someone-elses"}
