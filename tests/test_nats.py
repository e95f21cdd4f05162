"""NATS (components/nats.py), on in a staging stack whose api and worker list it.

The servers' pods come from a Helm release, so neither the preview nor the pack sees them. Here the pinned
chart, vendored at its tag (tests/fixtures/charts/nats-2.14.2), is rendered by Helm's own Go SDK
(helm-python-sdk) with exactly the values paved records for the release, and the rendered objects are held to
what paved promises: strict Kubernetes schemas, the restricted pod security profile, no natsBox, the
StorageClass, three servers spread over zones and nodes, the users' passwords, and the ports and labels that
paved's NetworkPolicies name.
"""

from __future__ import annotations

import json
import re
from typing import Any

import helm_python
import kubernetes_validate
import pytest
import yaml

from components.nats import (
    CLUSTER_PORT,
    NATS_CHART,
    NATS_POD_LABELS,
    NATS_PORT,
    STORAGE_CLASS,
    USERS_SECRET,
)
from components.workload import NATS_URL_ENV
from paved.program import run_project
from paved.recorder import Recording
from tests.manifests import manifest
from tests.stack_config import (
    ROOT,
    Mutation,
    apps,
    assert_rule_reports_path_and_hint,
    case,
    changed,
    section,
    shipped,
    with_app,
)

RELEASE = "kubernetes:helm.sh/v3:Release"
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
EXTERNAL_SECRET = "kubernetes:external-secrets.io/v1:ExternalSecret"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
CHART_DIR = ROOT / "tests" / "fixtures" / "charts" / f"{NATS_CHART.name}-{NATS_CHART.version}"
CLIENTS = ("api", "worker")


def nats_on(stack: str) -> dict[str, Any]:
    raw = changed(shipped(stack), {"paved:nats": {"enabled": True}})
    for index, app in enumerate(raw["paved:apps"]):
        if app["name"] in CLIENTS:
            raw = with_app(raw, index, {"nats": True})
    return raw


@pytest.fixture(scope="module")
def recording() -> Recording:
    return run_project(ROOT, "staging", nats_on("staging"))


@pytest.fixture(scope="module")
def rendered(recording: Recording) -> list[dict[str, Any]]:
    values = manifest(recording.one(RELEASE, "nats").inputs["values"])
    with helm_python.Chart.load(CHART_DIR) as chart:
        assert chart.version == NATS_CHART.version
        files = chart.render(values, name=NATS_CHART.name, namespace=NATS_CHART.namespace, is_install=True)
    return [
        document
        for path, text in files.items()
        if "/tests/" not in path  # `helm test` hooks, never installed
        for document in yaml.safe_load_all(text)
        if document
    ]


def _one(rendered: list[dict[str, Any]], kind: str, name: str = NATS_CHART.name) -> dict[str, Any]:
    [found] = [d for d in rendered if d["kind"] == kind and d["metadata"]["name"] == name]
    return found


# --- config ---


def test_nats_is_off_in_both_shipped_stacks(prod: Recording, staging: Recording) -> None:
    for shipped_recording in (prod, staging):
        assert not shipped_recording.of_type("paved:nats:Nats")
        assert not [r for r in shipped_recording.of_type(RELEASE) if r.name == "nats"]


@pytest.mark.parametrize(
    ("stack", "mutation", "path"),
    [
        case("prod", section("paved:nats", {"enabled": True, "replicas": 4}), "paved:nats.replicas", "even"),
        case("staging", apps(1, {"nats": True}), "paved:apps[1].nats", "listed-while-off"),
        case(
            "staging",
            lambda raw: with_app(nats_on("staging"), 1, {"secrets": [NATS_URL_ENV]}),
            "paved:apps[1].secrets",
            "url-in-secrets",
        ),
        case(
            "prod",
            section("paved:nats", {"alarms": {"podsMissing": {"threshold": 3}}}),
            "paved:nats.alarms.podsMissing.threshold",
            "alarm-never-fires",
        ),
    ],
)
def test_config_rules(stack: str, mutation: Mutation, path: str) -> None:
    assert_rule_reports_path_and_hint(stack, mutation, path)


# --- what paved records ---


def test_the_release_is_the_pinned_chart_in_its_own_namespace(recording: Recording) -> None:
    release = recording.one(RELEASE, "nats").inputs
    assert (release["chart"], release["version"]) == (NATS_CHART.name, NATS_CHART.version)
    assert release["repositoryOpts"]["repo"] == NATS_CHART.repository
    assert release["namespace"] == NATS_CHART.namespace and release["createNamespace"] is False
    namespace = recording.one("kubernetes:core/v1:Namespace", "nats").inputs["metadata"]["labels"]
    assert namespace["pod-security.kubernetes.io/enforce"] == "restricted"


def test_jetstream_volumes_are_encrypted_gp3_made_in_the_pods_zone(recording: Recording) -> None:
    storage = recording.one("kubernetes:storage.k8s.io/v1:StorageClass", STORAGE_CLASS)
    inputs = storage.inputs
    assert inputs["provisioner"] == "ebs.csi.aws.com"
    assert inputs["volumeBindingMode"] == "WaitForFirstConsumer"
    assert {key: inputs["parameters"][key] for key in ("type", "encrypted")} == {
        "type": "gp3",
        "encrypted": "true",
    }
    key = recording.one("aws:kms/key:Key", "cluster-volumes")
    assert storage.property_dependencies["parameters"] == [key.urn]
    kubernetes_validate.validate(
        manifest(_object(storage.inputs, "storage.k8s.io/v1", "StorageClass")), "1.36.0", strict=True
    )


def _object(inputs: dict[str, Any], api_version: str, kind: str) -> dict[str, Any]:
    return {"apiVersion": api_version, "kind": kind, **inputs}


def test_the_ebs_csi_driver_may_use_the_volumes_key(recording: Recording) -> None:
    [policy] = [
        r
        for r in recording.of_type("aws:iam/rolePolicy:RolePolicy")
        if r.name.startswith("cluster-aws-ebs-csi-driver")
    ]
    key = recording.one("aws:kms/key:Key", "cluster-volumes")
    assert key.urn in policy.property_dependencies["policy"]
    statements = json.loads(policy.resolved_inputs["policy"])["Statement"]
    grants = next(s for s in statements if "kms:CreateGrant" in s["Action"])
    assert grants["Condition"] == {"Bool": {"kms:GrantIsForAWSResource": True}}


def test_on_demand_nodes_are_one_group_per_zone(recording: Recording, staging: Recording) -> None:
    groups = {r.name: r for r in recording.of_type("aws:eks/nodeGroup:NodeGroup")}
    # Staging has two zones, and spot nodes, which hold no volumes and stay one group.
    assert set(groups) == {"cluster-on-demand-1", "cluster-on-demand-2", "cluster-spot"}
    assert {groups[f"cluster-on-demand-{zone}"].inputs["scalingConfig"]["minSize"] for zone in (1, 2)} == {1}
    assert {r.name for r in staging.of_type("aws:eks/nodeGroup:NodeGroup")} == {
        "cluster-on-demand",
        "cluster-spot",
    }


def test_only_the_listing_apps_reach_the_servers(recording: Recording) -> None:
    policy = recording.one(NETWORK_POLICY, "nats").inputs["spec"]
    assert policy["podSelector"]["matchLabels"] == NATS_POD_LABELS
    by_port = {rule["ports"][0]["port"]: rule["from"] for rule in policy["ingress"]}
    assert set(by_port) == {NATS_PORT, CLUSTER_PORT}
    assert {
        peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"] for peer in by_port[NATS_PORT]
    } == set(CLIENTS)
    assert by_port[CLUSTER_PORT] == [{"podSelector": {"matchLabels": NATS_POD_LABELS}}]
    for app in ("web", *CLIENTS):
        egress = recording.one(NETWORK_POLICY, app).inputs["spec"]["egress"]
        to_nats = [rule for rule in egress if rule["ports"] == [{"port": NATS_PORT, "protocol": "TCP"}]]
        assert bool(to_nats) is (app in CLIENTS)


def test_each_listing_app_gets_its_own_url_and_the_servers_every_password(recording: Recording) -> None:
    for app in CLIENTS:
        secret = recording.one("aws:secretsmanager/secret:Secret", f"nats-{app}")
        data = recording.one(EXTERNAL_SECRET, f"{app}-secrets").inputs["spec"]["data"]
        [url] = [item for item in data if item["secretKey"] == NATS_URL_ENV]
        assert url["remoteRef"]["property"] == "url"
        assert secret.urn in recording.one(EXTERNAL_SECRET, f"{app}-secrets").property_dependencies["spec"]
    for web in (r for r in recording.of_type(EXTERNAL_SECRET) if r.name == "web-secrets"):
        assert NATS_URL_ENV not in {item["secretKey"] for item in web.inputs["spec"]["data"]}
    users = recording.one(EXTERNAL_SECRET, USERS_SECRET).inputs["spec"]
    assert {item["secretKey"] for item in users["data"]} == {"NATS_PASSWORD_API", "NATS_PASSWORD_WORKER"}
    assert {item["remoteRef"]["property"] for item in users["data"]} == {"password"}


def test_alarms_watch_every_server_and_the_quorum(recording: Recording) -> None:
    alarms = {r.name: r.inputs for r in recording.of_type(ALARM) if r.name.startswith("nats-")}
    assert set(alarms) == {"nats-0-restarts", "nats-1-restarts", "nats-2-restarts", "nats-pods"}
    assert alarms["nats-0-restarts"]["dimensions"]["PodName"] == "nats-0"
    pods = alarms["nats-pods"]
    assert (pods["metricName"], pods["comparisonOperator"], pods["threshold"]) == (
        "namespace_number_of_running_pods",
        "LessThanThreshold",
        3,
    )
    assert pods["dimensions"]["Namespace"] == NATS_CHART.namespace
    for inputs in alarms.values():
        page = re.search(r"docs/runbooks/([a-z0-9-]+)\.md\)$", inputs["alarmDescription"])
        assert page and (ROOT / "docs" / "runbooks" / f"{page.group(1)}.md").exists()


# --- the rendered chart ---


def test_the_chart_renders_only_the_servers_and_their_objects(rendered: list[dict[str, Any]]) -> None:
    kinds = sorted((d["kind"], d["metadata"]["name"]) for d in rendered)
    assert kinds == [
        ("ConfigMap", "nats-config"),
        ("PodDisruptionBudget", "nats"),
        ("Service", "nats"),
        ("Service", "nats-headless"),
        ("StatefulSet", "nats"),
    ]
    for document in rendered:
        kubernetes_validate.validate(document, "1.36.0", strict=True)


def _restricted_problems(pod: dict[str, Any]) -> list[str]:
    """What Pod Security Admission's `restricted` profile refuses in a pod spec:
    https://kubernetes.io/docs/concepts/security/pod-security-standards/#restricted"""
    problems = []
    pod_context = pod.get("securityContext", {})
    for container in pod["containers"] + pod.get("initContainers", []):
        context = {**pod_context, **container.get("securityContext", {})}
        name = container["name"]
        if context.get("allowPrivilegeEscalation") is not False:
            problems.append(f"{name}: allowPrivilegeEscalation")
        if context.get("capabilities", {}).get("drop") != ["ALL"]:
            problems.append(f"{name}: capabilities")
        if context.get("runAsNonRoot") is not True or context.get("runAsUser") == 0:
            problems.append(f"{name}: runAsNonRoot")
        if context.get("seccompProfile", {}).get("type") not in ("RuntimeDefault", "Localhost"):
            problems.append(f"{name}: seccompProfile")
        if container.get("securityContext", {}).get("privileged"):
            problems.append(f"{name}: privileged")
    if pod.get("hostNetwork") or pod.get("hostPID") or pod.get("hostIPC"):
        problems.append("host namespaces")
    return problems


def test_the_servers_pass_the_restricted_profile(rendered: list[dict[str, Any]]) -> None:
    pod = _one(rendered, "StatefulSet")["spec"]["template"]["spec"]
    assert {c["name"] for c in pod["containers"]} == {"nats", "reloader"}
    assert _restricted_problems(pod) == []
    assert all(c["securityContext"]["readOnlyRootFilesystem"] for c in pod["containers"])


def test_three_servers_spread_over_zones_and_nodes_on_the_paved_storage_class(
    rendered: list[dict[str, Any]],
) -> None:
    spec = _one(rendered, "StatefulSet")["spec"]
    assert spec["replicas"] == 3
    labels = spec["template"]["metadata"]["labels"]
    assert NATS_POD_LABELS.items() <= labels.items()
    spread = {c["topologyKey"]: c for c in spec["template"]["spec"]["topologySpreadConstraints"]}
    assert set(spread) == {"topology.kubernetes.io/zone", "kubernetes.io/hostname"}
    for constraint in spread.values():
        assert constraint["whenUnsatisfiable"] == "DoNotSchedule" and constraint["maxSkew"] == 1
        assert constraint["labelSelector"]["matchLabels"].items() <= labels.items()
    [claim] = spec["volumeClaimTemplates"]
    assert claim["spec"]["storageClassName"] == STORAGE_CLASS
    assert claim["spec"]["resources"]["requests"]["storage"] == "10Gi"
    pdb = _one(rendered, "PodDisruptionBudget")["spec"]
    assert pdb["maxUnavailable"] == 1 and pdb["selector"]["matchLabels"].items() <= labels.items()


def test_ports_and_service_match_what_paved_names(rendered: list[dict[str, Any]]) -> None:
    [nats] = [
        c
        for c in _one(rendered, "StatefulSet")["spec"]["template"]["spec"]["containers"]
        if c["name"] == "nats"
    ]
    ports = {port["name"]: port["containerPort"] for port in nats["ports"]}
    assert (ports["nats"], ports["cluster"]) == (NATS_PORT, CLUSTER_PORT)
    service = _one(rendered, "Service")
    # The host in every app's NATS_URL: <release>.<namespace>.svc.cluster.local.
    assert service["metadata"]["name"] == NATS_CHART.name
    assert [p["port"] for p in service["spec"]["ports"]] == [NATS_PORT]
    assert service["spec"]["selector"].items() <= NATS_POD_LABELS.items()
    env = {item["name"]: item.get("valueFrom") for item in nats["env"]}
    for app in CLIENTS:
        ref = env[f"NATS_PASSWORD_{app.upper()}"]["secretKeyRef"]
        assert ref == {"name": USERS_SECRET, "key": f"NATS_PASSWORD_{app.upper()}"}


def test_the_server_config_has_jetstream_a_cluster_and_the_users(rendered: list[dict[str, Any]]) -> None:
    config = _one(rendered, "ConfigMap", "nats-config")["data"]["nats.conf"]
    # Variables are unquoted, so the server reads them from its environment.
    for app in CLIENTS:
        assert f'"password": $NATS_PASSWORD_{app.upper()}' in config
        assert f'"user": "{app}"' in config
    assert '"store_dir": "/data"' in config and '"max_file_store": 10Gi' in config
    assert config.count(f"nats-headless:{CLUSTER_PORT}") == 3
