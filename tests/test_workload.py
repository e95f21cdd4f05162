"""The apps on EKS, as recorded for the real stacks, checked against Kubernetes' own schemas."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from components.workload import APP_UID, AppArgs, prestop_seconds
from paved.config import StackConfig, load_stack_config, load_stack_file
from paved.errors import ConfigError
from paved.fields import SYSTEM_NAMESPACES, parse_quantity
from paved.images import own_repository
from paved.program import run_project
from paved.recorder import RecordedResource, Recording
from tests.data_tier import recording_of
from tests.manifests import manifest
from tests.stack_config import Mutation, apps, assert_rule_reports_path_and_hint, case, shipped, with_app

ROOT = Path(__file__).resolve().parent.parent
CRDS = ROOT / "tests" / "fixtures" / "crds"
STACKS = ("prod", "staging")
ECR_REPOSITORY = "aws:ecr/repository:Repository"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
HPA = "kubernetes:autoscaling/v2:HorizontalPodAutoscaler"
PDB = "kubernetes:policy/v1:PodDisruptionBudget"
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
NAMESPACE = "kubernetes:core/v1:Namespace"
SERVICE = "kubernetes:core/v1:Service"
BINDING = "kubernetes:elbv2.k8s.aws/v1beta1:TargetGroupBinding"
EXTERNAL_SECRET = "kubernetes:external-secrets.io/v1:ExternalSecret"
SECRET_STORE = "kubernetes:external-secrets.io/v1:SecretStore"
TARGET_GROUP = "aws:lb/targetGroup:TargetGroup"
# Custom resources and the CRD schema files they are validated against (tests/fixtures/crds/README.md).
CUSTOM_RESOURCE_SCHEMAS = {
    BINDING: "targetgroupbindings.elbv2.k8s.aws.yaml",
    EXTERNAL_SECRET: "externalsecrets.external-secrets.io.v1.openapiv3schema.json",
}
# Exempt from CRD validation: the SecretStore CRD inlines every provider's schema (about 570,000 characters),
# too large to vendor (tests/fixtures/crds/README.md); test_apps_read_only_their_own_secrets checks its spec.
EXEMPT_CUSTOM_RESOURCES = {SECRET_STORE}


@pytest.fixture(scope="module", params=STACKS)
def recording(request: pytest.FixtureRequest, shipped_recordings: Callable[[str], Recording]) -> Recording:
    return shipped_recordings(request.param)


def _config(recording: Recording) -> StackConfig:
    return load_stack_file(ROOT / "stacks" / f"Pulumi.{recording.stack}.yaml", recording.stack)


def _kubernetes_objects(recording: Recording) -> list[RecordedResource]:
    return [
        r
        for r in recording.resources
        if r.type.startswith("kubernetes:") and r.type != "kubernetes:helm.sh/v3:Release" and r.custom
    ]


def _by_app(recording: Recording, type_: str) -> dict[str, RecordedResource]:
    return {
        r.inputs["metadata"]["namespace"]: r
        for r in recording.of_type(type_)
        if r.inputs["metadata"].get("name")
    }


# --- schemas ------------------------------------------------------------------------------------------------


def test_every_built_in_object_passes_strict_kubernetes_validation(recording: Recording) -> None:
    version = f"{_config(recording).cluster.version}.0"
    built_in = [
        r
        for r in _kubernetes_objects(recording)
        if r.type not in CUSTOM_RESOURCE_SCHEMAS and r.type not in EXEMPT_CUSTOM_RESOURCES
    ]
    assert {r.type for r in built_in} >= {DEPLOYMENT, HPA, PDB, NETWORK_POLICY, NAMESPACE, SERVICE}
    for resource in built_in:
        kubernetes_validate.validate(manifest(resource.inputs), version, strict=True)


def test_strict_validation_catches_a_misspelt_field() -> None:
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "x"},
        "spec": {"selector": {}, "template": {"spec": {"containers": [{"name": "x", "imagee": "y"}]}}},
    }
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, "1.36.0", strict=True)


def _crd_schema(file_name: str) -> dict[str, Any]:
    document = (CRDS / file_name).read_text()
    if file_name.endswith(".json"):
        return json.loads(document)
    crd = yaml.safe_load(document)
    [served] = [v for v in crd["spec"]["versions"] if v["storage"]]
    return served["schema"]["openAPIV3Schema"]


def test_custom_resources_match_their_crd_schemas(recording: Recording) -> None:
    customs = [r for r in _kubernetes_objects(recording) if r.type in CUSTOM_RESOURCE_SCHEMAS]
    assert {r.type for r in customs} == set(CUSTOM_RESOURCE_SCHEMAS)
    for resource in customs:
        schema = _crd_schema(CUSTOM_RESOURCE_SCHEMAS[resource.type])
        jsonschema.validate(manifest(resource.inputs), schema)


def test_crd_schema_rejects_an_unknown_target_type() -> None:
    schema = _crd_schema(CUSTOM_RESOURCE_SCHEMAS[BINDING])
    binding = {
        "apiVersion": "elbv2.k8s.aws/v1beta1",
        "kind": "TargetGroupBinding",
        "spec": {"serviceRef": {"name": "x", "port": 80}, "targetGroupARN": "arn", "targetType": "pod"},
    }
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(binding, schema)


# --- pods ---------------------------------------------------------------------------------------------------


def _image_of(recording: Recording, app: AppArgs) -> str:
    """What the app's container runs: `app.image`, or for `<app>:<tag>` that app's ECR repository of the
    stack, as the registry of the recording's account and region serves it."""
    own = own_repository(app.image, [a.name for a in _config(recording).apps])
    if own is None:
        return app.image
    [repository] = [r for r in recording.of_type(ECR_REPOSITORY) if r.name == f"registry-{own[0]}"]
    place = recording.place
    return f"{place.account}.dkr.ecr.{place.region}.amazonaws.com/{repository.inputs['name']}{own[1]}"


def test_every_container_has_resources_probes_and_a_locked_down_context(recording: Recording) -> None:
    apps = {app.name: app for app in _config(recording).apps}
    deployments = _by_app(recording, DEPLOYMENT)
    assert set(deployments) == set(apps)
    for name, deployment in deployments.items():
        app = apps[name]
        pod = deployment.inputs["spec"]["template"]["spec"]
        assert pod["securityContext"] == {
            "runAsNonRoot": True,
            "runAsUser": APP_UID,
            "runAsGroup": APP_UID,
            "fsGroup": APP_UID,
            "seccompProfile": {"type": "RuntimeDefault"},
        }
        assert pod["automountServiceAccountToken"] is False
        [container] = pod["containers"]
        assert container["image"] == _image_of(recording, app)
        assert container["securityContext"] == {
            "runAsNonRoot": True,
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        }
        resources = container["resources"]
        assert resources["requests"] == {
            "cpu": app.resources.cpu_request,
            "memory": app.resources.memory_request,
        }
        assert resources["limits"] == {"cpu": app.resources.cpu_limit, "memory": app.resources.memory_limit}
        for kind in ("cpu", "memory"):
            assert parse_quantity(resources["limits"][kind]) >= parse_quantity(resources["requests"][kind])
        probes = {
            probe: container[f"{probe}Probe"]["httpGet"]["path"]
            for probe in ("startup", "readiness", "liveness")
        }
        assert app.health_paths is not None  # every shipped app is a service
        assert probes == app.health_paths.model_dump()
        mounts = {mount["mountPath"] for mount in container["volumeMounts"]}
        assert mounts == set(app.writable_paths)
        assert all("emptyDir" in volume for volume in pod["volumes"])


def test_rollouts_never_drop_capacity_and_leave_the_count_to_the_autoscaler(recording: Recording) -> None:
    for deployment in recording.of_type(DEPLOYMENT):
        spec = deployment.inputs["spec"]
        assert "replicas" not in spec
        rolling = spec["strategy"]["rollingUpdate"]
        assert rolling["maxUnavailable"] == 0
        assert rolling["maxSurge"] == "25%"  # rounds up: at least one extra pod


def test_prestop_outlasts_the_deregistration_delay(recording: Recording) -> None:
    config = _config(recording)
    delay = config.edge.deregistration_delay_seconds
    deployments = _by_app(recording, DEPLOYMENT)
    groups = {g.inputs["tags"]["app"]: g for g in recording.of_type(TARGET_GROUP)}
    for app in config.apps:
        pod = deployments[app.name].inputs["spec"]["template"]["spec"]
        [container] = pod["containers"]
        if app.is_public:
            sleep = container["lifecycle"]["preStop"]["sleep"]["seconds"]
            assert sleep > groups[app.name].inputs["deregistrationDelay"] == delay
            assert sleep == prestop_seconds(app, delay)
            assert pod["terminationGracePeriodSeconds"] == sleep + app.shutdown_seconds
        else:
            assert "lifecycle" not in container
            assert pod["terminationGracePeriodSeconds"] == app.shutdown_seconds


def test_every_deployment_has_an_hpa_a_pdb_and_network_policies(recording: Recording) -> None:
    config = _config(recording)
    hpas, pdbs = _by_app(recording, HPA), _by_app(recording, PDB)
    policies = [p for p in recording.of_type(NETWORK_POLICY)]
    for app in config.apps:
        hpa = hpas[app.name].inputs["spec"]
        assert hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": app.name}
        assert app.replicas is not None
        assert (hpa["minReplicas"], hpa["maxReplicas"]) == (app.replicas.min, app.replicas.max)
        assert {m["resource"]["name"] for m in hpa["metrics"]} == {"cpu", "memory"}
        assert hpa["behavior"]["scaleDown"]["stabilizationWindowSeconds"] >= 300
        covering = [p for p in policies if p.inputs["metadata"]["namespace"] == app.name]
        deny = [p for p in covering if p.inputs["spec"]["podSelector"] == {}]
        assert deny and deny[0].inputs["spec"]["policyTypes"] == ["Ingress", "Egress"]
        assert any(
            p.inputs["spec"]["podSelector"].get("matchLabels") == {"app.kubernetes.io/name": app.name}
            for p in covering
        )
        pdb = pdbs[app.name].inputs["spec"]
        assert pdb["selector"]["matchLabels"] == {"app.kubernetes.io/name": app.name}


def test_disruption_budgets_never_block_a_drain(recording: Recording) -> None:
    for pdb in recording.of_type(PDB):
        spec = pdb.inputs["spec"]
        # maxUnavailable ≥ 1 always lets one pod go, even at min replicas; minAvailable could block.
        assert "minAvailable" not in spec
        assert spec["maxUnavailable"] >= 1
        assert spec["unhealthyPodEvictionPolicy"] == "AlwaysAllow"


def test_namespaces_enforce_the_restricted_pod_security_standard(recording: Recording) -> None:
    version = f"v{_config(recording).cluster.version}"
    for namespace in recording.of_type(NAMESPACE):
        labels = namespace.inputs["metadata"]["labels"]
        for mode in ("enforce", "audit", "warn"):
            assert labels[f"pod-security.kubernetes.io/{mode}"] == "restricted"
            assert labels[f"pod-security.kubernetes.io/{mode}-version"] == version
        assert namespace.inputs["metadata"]["name"] != "default"


def test_network_policies_allow_only_what_apps_need(recording: Recording) -> None:
    config = _config(recording)
    for app in config.apps:
        [policy] = [
            p
            for p in recording.of_type(NETWORK_POLICY)
            if p.inputs["metadata"]["namespace"] == app.name
            and p.inputs["spec"]["podSelector"] == {"matchLabels": {"app.kubernetes.io/name": app.name}}
        ]
        spec = manifest(policy.inputs["spec"])
        egress_ports = sorted(port["port"] for rule in spec["egress"] for port in rule["ports"])
        assert egress_ports == [53, 53, 443, 5432, 6379]
        # Instance metadata (169.254.169.254:80) is unreachable: no egress rule admits port 80.
        assert 80 not in egress_ports
        if app.is_public:
            # From the load balancer's subnets, and from the metrics scraper when the app serves metrics.
            ingress, *scraper = spec["ingress"]
            assert [port["port"] for port in ingress["ports"]] == [app.port]
            cidrs = [peer["ipBlock"]["cidr"] for peer in ingress["from"]]
            assert cidrs and all(not cidr.startswith("0.0.0.0") for cidr in cidrs)
            assert len(scraper) == (1 if app.metrics_path else 0)
            assert all(rule["ports"] == ingress["ports"] for rule in scraper)
        else:
            assert spec.get("ingress", []) == []


# --- traffic and identity -----------------------------------------------------------------------------------


def test_public_apps_are_bound_to_their_target_group_and_workers_are_not(recording: Recording) -> None:
    config = _config(recording)
    bindings, services = _by_app(recording, BINDING), _by_app(recording, SERVICE)
    groups = {g.inputs["tags"]["app"]: g for g in recording.of_type(TARGET_GROUP)}
    assert set(bindings) == set(services) == {app.name for app in config.apps if app.is_public}
    for name, binding in bindings.items():
        spec = binding.inputs["spec"]
        assert spec["targetType"] == "ip"
        assert binding.property_dependencies["spec"] == [groups[name].urn]
        assert spec["serviceRef"] == {"name": name, "port": services[name].inputs["spec"]["ports"][0]["port"]}
        assert services[name].inputs["spec"]["type"] == "ClusterIP"


def _logs_in_with_password(app: AppArgs) -> bool:
    return app.database is not None and app.database.auth == "password"


def test_apps_read_only_their_own_secrets(recording: Recording) -> None:
    config = _config(recording)
    secrets = {r.name: r for r in recording.of_type("aws:secretsmanager/secret:Secret")}
    user_secret = f"paved-{recording.stack}-database-user-{{app}}"
    for app in config.apps:
        if not app.secrets and app.database is None:
            assert not [r for r in recording.of_type("aws:iam/role:Role") if r.name == f"{app.name}-secrets"]
            continue
        policy = recording.one("aws:iam/rolePolicy:RolePolicy", f"{app.name}-secrets")
        # Trusted through the cluster's OIDC provider (IRSA); the issuer is unknown until the cluster exists.
        oidc = recording.one("aws:iam/openIdConnectProvider:OpenIdConnectProvider")
        role = recording.one("aws:iam/role:Role", f"{app.name}-secrets")
        assert oidc.urn in role.property_dependencies["assumeRolePolicy"]
        own = {name.lower().replace("_", "-") for name in app.secrets}
        if _logs_in_with_password(app):
            own.add(user_secret.format(app=app.name))
        assert {secrets[name].urn for name in own} <= set(policy.property_dependencies["policy"])
        others = {r.urn for name, r in secrets.items() if name not in own}
        assert not others & set(policy.property_dependencies["policy"])
        external = _by_app(recording, EXTERNAL_SECRET)[app.name]
        store = _by_app(recording, SECRET_STORE)[app.name].inputs["spec"]["provider"]["aws"]
        assert store["auth"] == {"jwt": {"serviceAccountRef": {"name": app.name}}}
        data = external.inputs["spec"]["data"]
        named = [item for item in data if item["secretKey"] in app.secrets]
        assert [item["secretKey"] for item in named] == app.secrets
        assert all(item["remoteRef"]["key"] == f"{recording.stack}/app/{item['secretKey']}" for item in named)
        if _logs_in_with_password(app):
            # DATABASE_URL is the `url` field of the app's own login secret, nobody else's.
            [url] = [item for item in data if item["secretKey"] == "DATABASE_URL"]
            assert url["remoteRef"]["property"] == "url"
            assert external.property_dependencies["spec"] == [secrets[user_secret.format(app=app.name)].urn]


def test_workloads_wait_for_the_controllers_webhooks(recording: Recording) -> None:
    releases = {r.name: r.urn for r in recording.of_type("kubernetes:helm.sh/v3:Release")}
    for resource in recording.of_type(NAMESPACE):
        assert {releases["aws-load-balancer-controller"], releases["external-secrets"]} <= set(
            resource.dependencies
        )


# --- config -------------------------------------------------------------------------------------------------


def _raw(stack: str) -> dict:
    return yaml.safe_load((ROOT / "stacks" / f"Pulumi.{stack}.yaml").read_text())["config"]


@pytest.mark.parametrize(
    ("changes", "path"),
    [
        ({"resources": {"cpuRequest": "2", "cpuLimit": "1"}}, "paved:apps[0].resources.cpuLimit"),
        ({"replicas": {"min": 5, "max": 2}}, "paved:apps[0].replicas.min"),
        ({"healthPaths": {"readiness": "health"}}, "paved:apps[0].healthPaths.readiness"),
        ({"writablePaths": ["tmp"]}, "paved:apps[0].writablePaths[0]"),
        ({"shutdownSeconds": 0}, "paved:apps[0].shutdownSeconds"),
    ],
)
def test_invalid_app_config_names_the_key(changes: dict, path: str) -> None:
    raw = _raw("staging")
    raw["paved:apps"][0].update(changes)
    with pytest.raises(ConfigError) as error:
        load_stack_config(raw, "staging")
    assert path in [problem.path for problem in error.value.problems], error.value


# --- database login, bootstrap, migrations, readiness gate -------------------------------------------------

JOB = "kubernetes:batch/v1:Job"
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"


def _bootstrap_job(recording: Recording) -> RecordedResource:
    return recording.one(JOB, "database-bootstrap")


def test_apps_roll_out_after_bootstrap_and_migrations(recording: Recording) -> None:
    config = _config(recording)
    bootstrap = _bootstrap_job(recording).urn
    deployments = _by_app(recording, DEPLOYMENT)
    migrations = {
        j.name.removesuffix("-migrate"): j for j in recording.of_type(JOB) if j.name.endswith("-migrate")
    }
    assert set(migrations) == {
        app.name for app in config.apps if app.database and app.database.migration_command
    }
    for app in config.apps:
        deployment = deployments[app.name]
        assert (bootstrap in deployment.dependencies) == (app.database is not None)
        if app.name not in migrations:
            continue
        migration = migrations[app.name]
        assert app.database is not None
        assert bootstrap in migration.dependencies
        assert migration.urn in deployment.dependencies
        container = migration.inputs["spec"]["template"]["spec"]["containers"][0]
        assert container["image"] == _image_of(recording, app)
        assert container["command"] == app.database.migration_command
        # Migration pods must not count toward the app's PDB, HPA or NetworkPolicy selector.
        labels = migration.inputs["spec"]["template"]["metadata"]["labels"]
        assert labels["app.kubernetes.io/name"] != app.name
        assert "ttlSecondsAfterFinished" not in migration.inputs["spec"]


def test_iam_users_connect_as_themselves_without_a_password(recording: Recording) -> None:
    config = _config(recording)
    for app in config.apps:
        if app.database is None or app.database.auth != "iam":
            continue
        policy = recording.one("aws:iam/rolePolicy:RolePolicy", f"{app.name}-secrets")
        target = "aws:rds/proxy:Proxy" if config.database.proxy else "aws:rds/instance:Instance"
        source = [r for r in recording.of_type(target) if r.name in ("database", "database-proxy")]
        assert {r.urn for r in source} <= set(policy.property_dependencies["policy"])
        env = recording.one(CONFIG_MAP, f"{app.name}-env")
        assert "DATABASE_URL" in env.inputs["data"]
        synced = _by_app(recording, EXTERNAL_SECRET).get(app.name)
        keys = [item["secretKey"] for item in synced.inputs["spec"]["data"]] if synced else []
        assert "DATABASE_URL" not in keys


def test_public_apps_wait_for_alb_health_through_the_readiness_gate(recording: Recording) -> None:
    config = _config(recording)
    namespaces = {n.inputs["metadata"]["name"]: n for n in recording.of_type(NAMESPACE)}
    services, bindings = _by_app(recording, SERVICE), _by_app(recording, BINDING)
    for app in config.apps:
        labels = namespaces[app.name].inputs["metadata"]["labels"]
        assert (labels.get("elbv2.k8s.aws/pod-readiness-gate-inject") == "enabled") == app.is_public
        if app.is_public:
            # The gate is injected at pod creation only when a bound Service already selects the pod.
            deployment = _by_app(recording, DEPLOYMENT)[app.name]
            assert {services[app.name].urn, bindings[app.name].urn} <= set(deployment.dependencies)


@pytest.mark.parametrize("stack", ["prod", "staging"])
def test_no_app_may_take_a_namespace_the_stack_runs_something_else_in(
    stack: str, request: pytest.FixtureRequest
) -> None:
    recording = recording_of(request, stack)
    stack_file = yaml.safe_load((ROOT / "stacks" / f"Pulumi.{stack}.yaml").read_text())
    app_namespaces = {app["name"] for app in stack_file["config"]["paved:apps"]}
    used = {str(r.inputs["namespace"]) for r in recording.of_type("kubernetes:helm.sh/v3:Release")}
    used |= {r.inputs["metadata"]["name"] for r in recording.of_type("kubernetes:core/v1:Namespace")}
    system = used - app_namespaces
    assert system and all(name in SYSTEM_NAMESPACES or name.startswith("kube-") for name in system), system


# --- one failing case per rule (tests/stack_config.py checks its path and hint) -----------------------------

RULE_CASES = [
    case("prod", apps(1, {"name": "API"}), "paved:apps[1].name", "app-name-dns-label"),
    case("prod", apps(1, {"name": "a" * 41}), "paved:apps[1].name", "app-name-length"),
    case("prod", apps(1, {"name": "kube-jobs"}), "paved:apps[1].name", "app-name-kube-prefix"),
    case("prod", apps(1, {"name": "default"}), "paved:apps[1].name", "app-name-default-namespace"),
    case(
        "prod", apps(2, {"name": "external-secrets"}), "paved:apps[2].name", "app-name-controller-namespace"
    ),
    case("prod", apps(0, {"image": "web:latest"}), "paved:apps[0].image", "image-not-latest"),
    case("prod", apps(0, {"image": "registry:5000/web"}), "paved:apps[0].image", "image-tagged"),
    case("prod", apps(0, {"image": "web@sha256:abc"}), "paved:apps[0].image", "image-digest"),
    case("prod", apps(0, {"port": 70000}), "paved:apps[0].port", "port"),
    case(
        "prod", apps(0, {"healthPaths": {"liveness": "live"}}), "paved:apps[0].healthPaths.liveness", "health"
    ),
    case("prod", apps(2, {"replicas": {"min": 11}}), "paved:apps[2].replicas.min", "replicas-min-le-max"),
    case("prod", apps(2, {"replicas": {"min": 0}}), "paved:apps[2].replicas.min", "replicas-at-least-one"),
    case("prod", apps(0, {"replicas": {"min": 1}}), "paved:apps[0].replicas.min", "prod-public-two-replicas"),
    case(
        "prod",
        apps(1, {"resources": {"cpuLimit": "400m"}}),
        "paved:apps[1].resources.cpuLimit",
        "cpu-limit-ge-request",
    ),
    case(
        "prod",
        apps(1, {"resources": {"memoryLimit": "512Mi"}}),
        "paved:apps[1].resources.memoryLimit",
        "memory-limit-ge-request",
    ),
    case(
        "prod",
        apps(1, {"resources": {"memoryRequest": "lots"}}),
        "paved:apps[1].resources.memoryRequest",
        "quantity",
    ),
    case("prod", apps(1, {"publicPath": "api/*"}), "paved:apps[1].publicPath", "public-path"),
    case("prod", apps(0, {"host": "App.example.com"}), "paved:apps[0].host", "host-dns-name"),
    case("prod", apps(2, {"websocket": True}), "paved:apps[2].websocket", "worker-no-websocket"),
    case(
        "prod",
        apps(1, {"env": {"STRIPE_KEY": "sk_live_1"}}),
        "paved:apps[1].env.STRIPE_KEY",
        "env-not-secret",
    ),
    case(
        "prod", apps(1, {"env": {"db_password": "x"}}), "paved:apps[1].env.DB_PASSWORD", "env-secret-any-case"
    ),
    case("prod", apps(1, {"secrets": ["database-url"]}), "paved:apps[1].secrets[0]", "secret-names"),
    case(
        "prod",
        apps(1, {"pdb": {"maxUnavailable": 0}}),
        "paved:apps[1].pdb.maxUnavailable",
        "pdb-allows-drain",
    ),
]


@pytest.mark.parametrize(("stack", "mutation", "path"), RULE_CASES)
def test_rule_reports_path_and_hint(stack: str, mutation: Mutation, path: str) -> None:
    assert_rule_reports_path_and_hint(stack, mutation, path)


# --- metrics and tracing ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def observed() -> Recording:
    """prod with the api serving metrics and traced as a Node.js app."""
    raw = with_app(shipped("prod"), 1, {"metricsPath": "/api/metrics", "tracing": "nodejs"})
    return run_project(ROOT, "prod", raw)


def _app_policy(recording: Recording, app: str) -> RecordedResource:
    [policy] = [
        r
        for r in recording.of_type(NETWORK_POLICY)
        if r.inputs["metadata"]["namespace"] == app and r.inputs["metadata"]["name"] == app
    ]
    return policy


def _agent_peer(agent: str) -> dict[str, Any]:
    return {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "amazon-cloudwatch"}},
        "podSelector": {
            "matchLabels": {
                "app.kubernetes.io/component": "amazon-cloudwatch-agent",
                "app.kubernetes.io/instance": f"amazon-cloudwatch.{agent}",
            }
        },
    }


def test_a_traced_app_is_injected_and_reaches_only_its_nodes_agent(
    observed: Recording, prod: Recording
) -> None:
    template = _by_app(observed, DEPLOYMENT)["api"].inputs["spec"]["template"]
    assert template["metadata"]["annotations"] == {"instrumentation.opentelemetry.io/inject-nodejs": "true"}
    egress = _app_policy(observed, "api").inputs["spec"]["egress"]
    assert egress[-1] == {
        "to": [_agent_peer("cloudwatch-agent")],
        "ports": [{"port": 4316, "protocol": "TCP"}, {"port": 2000, "protocol": "TCP"}],
    }
    # The injected SDK names the agent's Service, so the app keeps its DNS rule.
    assert any(rule["ports"][0] == {"port": 53, "protocol": "UDP"} for rule in egress)
    # Untraced, nothing changes.
    untraced = _app_policy(prod, "api").inputs["spec"]["egress"]
    assert egress[:-1] == untraced
    assert "annotations" not in _by_app(prod, DEPLOYMENT)["api"].inputs["spec"]["template"]["metadata"]


def test_only_the_scraper_reaches_an_apps_port_besides_the_load_balancer(observed: Recording) -> None:
    ingress = _app_policy(observed, "api").inputs["spec"]["ingress"]
    assert ingress[-1] == {
        "from": [_agent_peer("cloudwatch-agent-prometheus")],
        "ports": [{"port": 3000, "protocol": "TCP"}],
    }
    assert all("ipBlock" in peer for rule in ingress[:-1] for peer in rule["from"])


def test_metrics_and_tracing_objects_pass_strict_kubernetes_validation(observed: Recording) -> None:
    version = f"{_config(observed).cluster.version}.0"
    for resource in (_by_app(observed, DEPLOYMENT)["api"], _app_policy(observed, "api")):
        kubernetes_validate.validate(manifest(resource.inputs), version, strict=True)


@pytest.mark.parametrize("language", ["java", "go"])
def test_tracing_a_language_without_restricted_injection_is_refused(language: str) -> None:
    assert_rule_reports_path_and_hint("prod", apps(1, {"tracing": language}), "paved:apps[1].tracing")
