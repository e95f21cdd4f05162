"""NATS (components/nats.py), on in a staging stack whose api and worker list it.

The servers' pods come from a Helm release, so neither the preview nor the pack sees them. Here the pinned
chart, vendored at its tag (tests/fixtures/charts/nats-2.14.2), is rendered by Helm's own Go SDK
(helm-python-sdk) with exactly the values paved records for the release, and the rendered objects are held to
what paved promises: strict Kubernetes schemas, the restricted pod security profile, no natsBox, the
StorageClass, three servers spread over zones and nodes, the users' passwords, TLS on the client port and the
routes from the synced Secret, and the ports and labels that paved's NetworkPolicies name.
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
    CA_FILE,
    CERT_FILE,
    CLUSTER_PORT,
    HEADLESS_SERVICE,
    KEY_FILE,
    NATS_CHART,
    NATS_HOST,
    NATS_POD_LABELS,
    NATS_PORT,
    STORAGE_CLASS,
    TLS_SECRET,
    USERS_SECRET,
    nats_url,
)
from components.workload import NATS_CA_ENV, NATS_URL_ENV
from paved.program import run_project
from paved.recorder import Recording
from paved.values import is_secret
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
SECRET = "aws:secretsmanager/secret:Secret"
SECRET_VERSION = "aws:secretsmanager/secretVersion:SecretVersion"
PRIVATE_KEY = "tls:index/privateKey:PrivateKey"
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
            "staging",
            lambda raw: with_app(
                nats_on("staging"), 1, {"env": {NATS_CA_ENV: "-----BEGIN CERTIFICATE-----"}}
            ),
            f"paved:apps[1].env.{NATS_CA_ENV}",
            "ca-in-env",
        ),
        case(
            "prod",
            section("paved:nats", {"certificateValidityDays": 400}),
            "paved:nats.certificateValidityDays",
            "certificate-outlives-the-ca-renewal",
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
    # Servers may wait for new nodes and volumes past the provider's 300 s before `atomic` would undo them.
    assert (release["atomic"], release["skipAwait"], release["timeout"]) == (True, False, 900)
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
    ca = recording.one("tls:index/selfSignedCert:SelfSignedCert", "nats-ca")
    for app in CLIENTS:
        secret = recording.one(SECRET, f"nats-{app}")
        data = recording.one(EXTERNAL_SECRET, f"{app}-secrets").inputs["spec"]["data"]
        properties = {item["secretKey"]: item["remoteRef"].get("property") for item in data}
        assert (properties[NATS_URL_ENV], properties[NATS_CA_ENV]) == ("url", "ca")
        assert secret.urn in recording.one(EXTERNAL_SECRET, f"{app}-secrets").property_dependencies["spec"]
        version = recording.one(SECRET_VERSION, f"nats-{app}")
        assert ca.urn in version.property_dependencies["secretString"]
    for web in (r for r in recording.of_type(EXTERNAL_SECRET) if r.name == "web-secrets"):
        assert not {NATS_URL_ENV, NATS_CA_ENV} & {item["secretKey"] for item in web.inputs["spec"]["data"]}
    users = recording.one(EXTERNAL_SECRET, USERS_SECRET).inputs["spec"]
    assert {item["secretKey"] for item in users["data"]} == {"NATS_PASSWORD_API", "NATS_PASSWORD_WORKER"}
    assert {item["remoteRef"]["property"] for item in users["data"]} == {"password"}


def test_the_url_asks_for_tls_at_the_service_the_certificate_names() -> None:
    assert nats_url("api", "pw") == f"tls://api:pw@{NATS_HOST}:{NATS_PORT}"


def test_a_ca_of_the_stack_signs_the_servers_certificate(recording: Recording) -> None:
    keys = {r.name: r for r in recording.of_type(PRIVATE_KEY)}
    assert {name: (k.inputs["algorithm"], k.inputs["ecdsaCurve"]) for name, k in keys.items()} == {
        "nats-ca": ("ECDSA", "P256"),
        "nats-server": ("ECDSA", "P256"),
    }
    ca = recording.one("tls:index/selfSignedCert:SelfSignedCert", "nats-ca")
    assert ca.inputs["isCaCertificate"] is True
    assert ca.inputs["allowedUses"] == ["cert_signing", "crl_signing"]
    assert (ca.inputs["validityPeriodHours"], ca.inputs["earlyRenewalHours"]) == (3650 * 24, 365 * 24)
    assert ca.property_dependencies["privateKeyPem"] == [keys["nats-ca"].urn]
    request = recording.one("tls:index/certRequest:CertRequest", "nats-server")
    assert request.property_dependencies["privateKeyPem"] == [keys["nats-server"].urn]
    assert request.inputs["dnsNames"] == [
        "nats",
        "nats.nats",
        "nats.nats.svc",
        NATS_HOST,
        f"*.{HEADLESS_SERVICE}.{NATS_CHART.namespace}.svc.cluster.local",
    ]
    server = recording.one("tls:index/locallySignedCert:LocallySignedCert", "nats-server")
    # Routes present it as a client certificate too.
    assert server.inputs["allowedUses"] == ["digital_signature", "server_auth", "client_auth"]
    # Staging's 365 days, renewed by a pulumi up in the last third.
    assert (server.inputs["validityPeriodHours"], server.inputs["earlyRenewalHours"]) == (8760, 2920)
    assert {
        key: server.property_dependencies[key] for key in ("certRequestPem", "caCertPem", "caPrivateKeyPem")
    } == {
        "certRequestPem": [request.urn],
        "caCertPem": [ca.urn],
        "caPrivateKeyPem": [keys["nats-ca"].urn],
    }
    for signer in (ca, request, server):
        assert all(is_secret(value) for key, value in signer.inputs.items() if key.endswith("PrivateKeyPem"))


def test_the_certificate_reaches_the_servers_through_secrets_manager(recording: Recording) -> None:
    secret = recording.one(SECRET, "server-tls")
    assert secret.inputs["name"] == "staging/nats-tls"
    version = recording.one(SECRET_VERSION, "server-tls")
    # Write-only: the version's state holds no key; a new certificate's start sends the new value.
    assert "secretString" not in version.inputs and is_secret(version.inputs["secretStringWo"])
    server = recording.one("tls:index/locallySignedCert:LocallySignedCert", "nats-server")
    assert server.urn in version.property_dependencies["secretStringWoVersion"]
    assert {
        recording.one(PRIVATE_KEY, "nats-server").urn,
        server.urn,
        recording.one("tls:index/selfSignedCert:SelfSignedCert", "nats-ca").urn,
    } <= set(version.property_dependencies["secretStringWo"])
    synced = recording.one(EXTERNAL_SECRET, TLS_SECRET)
    spec = synced.inputs["spec"]
    assert {item["secretKey"]: item["remoteRef"]["property"] for item in spec["data"]} == {
        CERT_FILE: "cert",
        KEY_FILE: "key",
        CA_FILE: "ca",
    }
    # Synced once the value is there, not merely the secret: a first read of an empty secret fails.
    assert spec["target"]["name"] == TLS_SECRET
    assert set(synced.property_dependencies["spec"]) == {secret.urn, version.urn}
    users = recording.one(EXTERNAL_SECRET, USERS_SECRET)
    assert spec["secretStoreRef"] == users.inputs["spec"]["secretStoreRef"]
    store = recording.one("kubernetes:external-secrets.io/v1:SecretStore", "nats-secrets-store")
    assert {synced.urn, users.urn} <= set(recording.one(RELEASE, "nats").dependencies)
    assert store.urn in synced.dependencies
    [reader] = [
        r for r in recording.of_type("aws:iam/rolePolicy:RolePolicy") if r.name.startswith("nats-secrets")
    ]
    assert secret.urn in reader.property_dependencies["policy"]


def test_the_release_turns_tls_on_for_clients_and_routes(recording: Recording) -> None:
    values = recording.one(RELEASE, "nats").inputs["values"]
    files = {"enabled": True, "secretName": TLS_SECRET, "cert": CERT_FILE, "key": KEY_FILE}
    assert values["config"]["nats"]["tls"] == files
    assert values["config"]["cluster"]["tls"] == files
    assert values["config"]["cluster"]["routeURLs"] == {"useFQDN": True}
    assert values["tlsCA"] == {"enabled": True, "secretName": TLS_SECRET, "key": CA_FILE}


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
    # Fewer nodes than servers count as a zero: a server waits for a node of its own.
    assert spread["kubernetes.io/hostname"]["minDomains"] == spec["replicas"]
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
    # The host in every app's NATS_URL and in the certificate.
    assert f"{service['metadata']['name']}.{NATS_CHART.namespace}.svc.cluster.local" == NATS_HOST
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


def _nats_conf(rendered: list[dict[str, Any]]) -> dict[str, Any]:
    """nats.conf as the chart writes it (JSON, but for unquoted variables and units), parsed."""
    text = _one(rendered, "ConfigMap", "nats-config")["data"]["nats.conf"]
    return json.loads(re.sub(r": (\$\w+|\d+[A-Za-z]+)", r': "\1"', text))


def test_the_servers_require_tls_from_clients_and_between_themselves(rendered: list[dict[str, Any]]) -> None:
    config = _nats_conf(rendered)
    ca = f"/etc/nats-ca-cert/{CA_FILE}"
    for block, directory in ((config["tls"], "nats"), (config["cluster"]["tls"], "cluster")):
        assert block == {
            "cert_file": f"/etc/nats-certs/{directory}/{CERT_FILE}",
            "key_file": f"/etc/nats-certs/{directory}/{KEY_FILE}",
            "ca_file": ca,
        }
    # No plain-text clients beside TLS ones, and no client certificates asked for.
    assert "allow_non_tls" not in config and "verify" not in config["tls"]
    # The monitoring port stays plain HTTP, which the probes use.
    assert config["http_port"] == 8222 and "https_port" not in config
    wildcard = f"*.{HEADLESS_SERVICE}.{NATS_CHART.namespace}.svc.cluster.local"
    routes = config["cluster"]["routes"]
    assert routes == [f"tls://nats-{n}.{wildcard[2:]}:{CLUSTER_PORT}" for n in range(3)]
    # Each route's host is one label under the wildcard the certificate holds.
    assert {route.split("://")[1].split(":")[0].split(".", 1)[1] for route in routes} == {wildcard[2:]}
    assert _one(rendered, "Service", HEADLESS_SERVICE)["spec"]["clusterIP"] == "None"


def test_the_servers_mount_the_synced_secret(rendered: list[dict[str, Any]]) -> None:
    pod = _one(rendered, "StatefulSet")["spec"]["template"]["spec"]
    secrets = {v["name"]: v["secret"]["secretName"] for v in pod["volumes"] if "secret" in v}
    assert secrets == {"nats-tls": TLS_SECRET, "cluster-tls": TLS_SECRET, "tls-ca": TLS_SECRET}
    containers = {c["name"]: c for c in pod["containers"]}
    mounts = {m["name"]: m["mountPath"] for m in containers["nats"]["volumeMounts"]}
    assert {name: mounts[name] for name in secrets} == {
        "nats-tls": "/etc/nats-certs/nats",
        "cluster-tls": "/etc/nats-certs/cluster",
        "tls-ca": "/etc/nats-ca-cert",
    }
    # The config reloader watches the files, so a renewed certificate is reloaded without a restart.
    watched = containers["reloader"]["args"][1::2]
    assert {
        f"/etc/nats-certs/nats/{CERT_FILE}",
        f"/etc/nats-certs/nats/{KEY_FILE}",
        f"/etc/nats-ca-cert/{CA_FILE}",
    } <= set(watched)
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert containers["nats"][probe]["httpGet"].get("scheme", "HTTP") == "HTTP"
