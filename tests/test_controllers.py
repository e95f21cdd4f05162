"""The pinned controller charts: their RBAC covers what the controllers need, and controllers whose webhooks
fail closed survive a drain.

Each chart's templates are vendored at the pinned version (tests/fixtures/charts/README.md) and rendered with
the values paved records for its Helm release, merged over the chart's defaults as Helm does
(tests/helm_template.py). What a controller needs comes from its upstream at the image's tag where upstream
publishes it (cluster-autoscaler's AWS example, the load balancer controller's generated role,
metrics-server's manifests); external-secrets publishes no such list, so its needs come from the objects
paved creates.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any, NamedTuple

import pytest
import yaml

from components.cluster import EKS_CALENDAR
from components.controllers import (
    AUTOSCALER_IMAGE_TAGS,
    CHARTS,
    CLUSTER_AUTOSCALER,
    EXTERNAL_SECRETS,
    LOAD_BALANCER_CONTROLLER,
    METRICS_SERVER,
    RELOAD_ON_SECRETS,
    RELOADER,
    Chart,
)
from paved.recorder import Recording
from tests.helm_template import merge_values, render

ROOT = Path(__file__).resolve().parent.parent
CHARTS_DIR = ROOT / "tests" / "fixtures" / "charts"
RELEASE = "kubernetes:helm.sh/v3:Release"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
STACKS = ("prod", "staging")


class Grant(NamedTuple):
    """One verb on one resource, for one object name ("*": any) in one namespace ("*": cluster-wide)."""

    group: str
    resource: str
    verb: str
    name: str
    namespace: str


@pytest.fixture(scope="module", params=STACKS)
def recording(request: pytest.FixtureRequest, shipped_recordings: Callable[[str], Recording]) -> Recording:
    return shipped_recordings(request.param)


def _yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def _chart_dir(chart: Chart) -> Path:
    return CHARTS_DIR / f"{chart.name}-{chart.version}"


def _values(recording: Recording, chart: Chart) -> dict[str, Any]:
    recorded = recording.one(RELEASE, chart.name).inputs["values"]
    return merge_values(_yaml(_chart_dir(chart) / "values.yaml"), recorded)


# What EKS serves, for templates that ask (`.Capabilities.APIVersions.Has`).
EKS_API_VERSIONS = frozenset(
    {"rbac.authorization.k8s.io/v1", "policy/v1", "apps/v1", "coordination.k8s.io/v1"}
)


def _rendered(recording: Recording, chart: Chart, *templates: str) -> list[dict[str, Any]]:
    values = _values(recording, chart)
    helpers = {
        f"{chart.name}.serviceAccountName": lambda _: chart.service_account,
        f"{chart.name}.namespace": lambda _: chart.namespace,
        # Reloader's helpers: its account is `reloader.serviceAccount.name`; no namespace selector is set.
        "reloader-serviceAccountName": lambda _: values["reloader"]["serviceAccount"]["name"],
        "reloader-namespaceSelector": lambda _: "",
    }
    return [
        doc
        for template in templates
        for doc in render(
            (_chart_dir(chart) / "templates" / template).read_text(),
            values,
            namespace=chart.namespace,
            helpers=helpers,
            api_versions=EKS_API_VERSIONS,
        )
    ]


def _documents(*paths: Path) -> list[dict[str, Any]]:
    return [doc for path in paths for doc in yaml.safe_load_all(path.read_text()) if doc]


def _expand(rules: Iterable[Mapping[str, Any]], namespace: str) -> set[Grant]:
    return {
        Grant(group, resource, verb, name, namespace)
        for rule in rules
        for group in rule.get("apiGroups", [])
        for resource in rule.get("resources", [])
        for verb in rule.get("verbs", [])
        for name in rule.get("resourceNames") or ["*"]
    }


def _account_grants(
    docs: list[dict[str, Any]], account: str, namespace: str
) -> tuple[set[Grant], set[tuple[str, str]]]:
    """What the bindings in `docs` give service account `account`: the grants of the roles defined in
    `docs`, and the (kind, name) of roles bound from elsewhere (Kubernetes' built-in roles)."""
    roles = {
        (doc["kind"], doc["metadata"]["name"]): doc for doc in docs if doc["kind"] in ("Role", "ClusterRole")
    }
    grants: set[Grant] = set()
    external: set[tuple[str, str]] = set()
    for binding in docs:
        if binding["kind"] not in ("RoleBinding", "ClusterRoleBinding"):
            continue
        if not any(s["kind"] == "ServiceAccount" and s["name"] == account for s in binding["subjects"]):
            continue
        ref = (binding["roleRef"]["kind"], binding["roleRef"]["name"])
        if ref not in roles:
            external.add(ref)
            continue
        scope = (
            "*"
            if binding["kind"] == "ClusterRoleBinding"
            else binding["metadata"].get("namespace", namespace)
        )
        grants |= _expand(roles[ref]["rules"], scope)
    return grants, external


def _uncovered(needs: Iterable[Grant], grants: set[Grant]) -> list[Grant]:
    def covers(grant: Grant, need: Grant) -> bool:
        return (
            grant.group == need.group
            and grant.resource == need.resource
            and grant.verb in (need.verb, "*")
            and grant.name in (need.name, "*")
            and grant.namespace in (need.namespace, "*")
        )

    return sorted(need for need in needs if not any(covers(grant, need) for grant in grants))


# --- pins ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("chart", CHARTS, ids=lambda chart: chart.name)
def test_each_pinned_chart_is_vendored_at_its_version(chart: Chart) -> None:
    metadata = _yaml(_chart_dir(chart) / "Chart.yaml")
    assert (metadata["name"], str(metadata["version"])) == (chart.name, chart.version)


def test_the_autoscaler_image_matches_the_cluster_version(recording: Recording) -> None:
    # Every version config can accept has an image of its own minor.
    assert set(AUTOSCALER_IMAGE_TAGS) == set(EKS_CALENDAR)
    for minor, tag in AUTOSCALER_IMAGE_TAGS.items():
        assert re.fullmatch(rf"v{re.escape(minor)}\.\d+", tag)
    cluster = recording.one("aws:eks/cluster:Cluster").inputs["version"]
    values = recording.one(RELEASE, CLUSTER_AUTOSCALER.name).inputs["values"]
    assert values["image"]["tag"] == AUTOSCALER_IMAGE_TAGS[cluster]
    assert "repository" not in values["image"], "the chart's registry.k8s.io image is the one tagged upstream"


# --- RBAC: cluster-autoscaler -------------------------------------------------------------------------------

EXAMPLES = CHARTS_DIR / "cluster-autoscaler-examples"
# The example's Role also opens the priority expander's ConfigMap, which the image reads only with
# --expander=priority; the chart grants it only then (its priorityExpanderEnabled helper).
PRIORITY_EXPANDER_CONFIGMAP = "cluster-autoscaler-priority-expander"
# Images from 1.35 lock --enable-dynamic-resource-allocation to true (config/flags/flags.go at
# cluster-autoscaler-1.35.2), so they watch resource.k8s.io; the AWS example only lists it from 1.36.1 on.
DYNAMIC_RESOURCE_ALLOCATION = {
    Grant("resource.k8s.io", resource, verb, "*", "*")
    for resource in ("deviceclasses", "resourceslices", "resourceclaims")
    for verb in ("get", "list", "watch")
}


def _autoscaler_needs(tag: str) -> set[Grant]:
    example = _documents(EXAMPLES / f"cluster-autoscaler-autodiscover-{tag}.yaml")
    needs, external = _account_grants(example, "cluster-autoscaler", "kube-system")
    assert not external
    needs = {need for need in needs if need.name != PRIORITY_EXPANDER_CONFIGMAP}
    minor = int(tag.split(".")[1])
    return needs | DYNAMIC_RESOURCE_ALLOCATION if minor >= 35 else needs


def _autoscaler_gaps(recording: Recording, chart: Chart, tag: str) -> list[Grant]:
    docs = _rendered(
        recording, chart, "clusterrole.yaml", "role.yaml", "clusterrolebinding.yaml", "rolebinding.yaml"
    )
    grants, _ = _account_grants(docs, chart.service_account, chart.namespace)
    return _uncovered(_autoscaler_needs(tag), grants)


@pytest.mark.parametrize("tag", sorted(set(AUTOSCALER_IMAGE_TAGS.values())))
def test_autoscaler_chart_rbac_covers_what_each_image_needs(recording: Recording, tag: str) -> None:
    values = recording.one(RELEASE, CLUSTER_AUTOSCALER.name).inputs["values"]
    assert "priority" not in values["extraArgs"]["expander"].split(",")
    assert not _autoscaler_gaps(recording, CLUSTER_AUTOSCALER, tag)


def test_the_chart_paved_pinned_before_lacks_what_images_from_1_35_need(recording: Recording) -> None:
    old = replace(CLUSTER_AUTOSCALER, version="9.50.1")
    assert not _autoscaler_gaps(recording, old, AUTOSCALER_IMAGE_TAGS["1.34"])
    for minor in ("1.35", "1.36"):
        assert (
            set(_autoscaler_gaps(recording, old, AUTOSCALER_IMAGE_TAGS[minor])) == DYNAMIC_RESOURCE_ALLOCATION
        )


# --- RBAC: aws-load-balancer-controller, metrics-server -----------------------------------------------------


def test_load_balancer_controller_chart_rbac_covers_its_generated_role(recording: Recording) -> None:
    # config/rbac/ at v3.5.0 is what controller-gen derives from the controller's code (kustomize names the
    # account "controller" there).
    upstream = _documents(*sorted((CHARTS_DIR / "aws-load-balancer-controller-v3.5.0-config").glob("*.yaml")))
    needs, external = _account_grants(upstream, "controller", LOAD_BALANCER_CONTROLLER.namespace)
    assert not external
    assert Grant("elbv2.k8s.aws", "targetgroupbindings", "watch", "*", "*") in needs
    grants, _ = _account_grants(
        _rendered(recording, LOAD_BALANCER_CONTROLLER, "rbac.yaml"),
        LOAD_BALANCER_CONTROLLER.service_account,
        LOAD_BALANCER_CONTROLLER.namespace,
    )
    assert not _uncovered(needs, grants)


def test_load_balancer_controller_reads_what_its_upstream_policy_reads(prod: Recording) -> None:
    upstream = json.loads(
        (CHARTS_DIR / "aws-load-balancer-controller-v3.5.0-config" / "iam_policy.json").read_text()
    )
    [reads] = [
        statement["Action"]
        for statement in upstream["Statement"]
        if statement["Resource"] == "*"
        and "Condition" not in statement
        and "ec2:DescribeVpcs" in statement["Action"]
    ]
    [describe] = json.loads(prod.one(ROLE_POLICY, "aws-load-balancer-controller-0").inputs["policy"])[
        "Statement"
    ]
    assert sorted(describe["Action"]) == sorted(reads)


def test_metrics_server_chart_rbac_covers_its_release_manifests(recording: Recording) -> None:
    upstream = _documents(CHARTS_DIR / "metrics-server-v0.8.1" / "rbac.yaml")
    needs, built_in_needs = _account_grants(upstream, "metrics-server", METRICS_SERVER.namespace)
    docs = _rendered(
        recording,
        METRICS_SERVER,
        "clusterrole.yaml",
        "clusterrolebinding.yaml",
        "clusterrolebinding-auth-delegator.yaml",
        "rolebinding.yaml",
    )
    grants, built_in = _account_grants(docs, METRICS_SERVER.service_account, METRICS_SERVER.namespace)
    assert not _uncovered(needs, grants)
    # Delegated authentication and authorization: Kubernetes' own roles, bound as upstream binds them.
    assert built_in_needs == {
        ("ClusterRole", "system:auth-delegator"),
        ("Role", "extension-apiserver-authentication-reader"),
    }
    assert built_in_needs <= built_in


# --- RBAC: external-secrets ---------------------------------------------------------------------------------


def _external_secrets_needs(recording: Recording) -> set[Grant]:
    """What the controller does with the objects paved creates: it watches each kind and writes its status
    and finalizers, writes the target Secret, and exchanges a token of the app's service account for AWS
    access."""
    needs: set[Grant] = set()
    for resource in recording.resources:
        kind = re.fullmatch(r"kubernetes:external-secrets\.io/v1:(\w+)", resource.type)
        if kind is None:
            continue
        plural = kind.group(1).lower() + "s"
        needs |= {
            Grant("external-secrets.io", plural, v, "*", "*") for v in ("get", "list", "watch", "update")
        }
        needs |= {Grant("external-secrets.io", f"{plural}/status", v, "*", "*") for v in ("update", "patch")}
        if resource.inputs["spec"].get("provider", {}).get("aws", {}).get("auth", {}).get("jwt"):
            needs.add(Grant("", "serviceaccounts/token", "create", "*", "*"))
    secret_verbs = ("get", "list", "watch", "create", "update", "patch", "delete")
    return needs | {Grant("", "secrets", verb, "*", "*") for verb in secret_verbs}


def test_external_secrets_chart_rbac_covers_the_objects_paved_creates(recording: Recording) -> None:
    needs = _external_secrets_needs(recording)
    assert Grant("external-secrets.io", "externalsecrets", "watch", "*", "*") in needs
    assert Grant("", "serviceaccounts/token", "create", "*", "*") in needs
    grants, _ = _account_grants(
        _rendered(recording, EXTERNAL_SECRETS, "rbac.yaml"),
        EXTERNAL_SECRETS.service_account,
        "external-secrets",
    )
    assert not _uncovered(needs, grants)
    # Leader election is a Lease in its own namespace.
    assert Grant("coordination.k8s.io", "leases", "create", "*", EXTERNAL_SECRETS.namespace) in grants


# --- availability -------------------------------------------------------------------------------------------


def test_external_secrets_elects_a_leader_among_its_replicas(recording: Recording) -> None:
    values = _values(recording, EXTERNAL_SECRETS)
    assert values["replicaCount"] >= 2
    # Without it every replica reconciles every ExternalSecret.
    assert values["leaderElect"] is True


class Deployment(NamedTuple):
    replicas: Callable[[Mapping[str, Any]], int]
    pdb_template: str


# Each Deployment whose pods serve a webhook: where the chart reads its replica count, and its PDB template.
WEBHOOK_SERVERS: dict[Chart, dict[str, Deployment]] = {
    EXTERNAL_SECRETS: {
        "webhook": Deployment(lambda v: v["webhook"]["replicaCount"], "webhook-poddisruptionbudget.yaml"),
        # Not a webhook server, but the webhook's certificate expires without it.
        "cert-controller": Deployment(
            lambda v: v["certController"]["replicaCount"], "cert-controller-poddisruptionbudget.yaml"
        ),
        "controller": Deployment(lambda v: v["replicaCount"], "poddisruptionbudget.yaml"),
    },
    # The controller's own pods serve its webhooks.
    LOAD_BALANCER_CONTROLLER: {"controller": Deployment(lambda v: v["replicaCount"], "pdb.yaml")},
}


def _fails_closed(recording: Recording, chart: Chart) -> bool:
    if chart is EXTERNAL_SECRETS:
        webhooks = _rendered(recording, chart, "validatingwebhook.yaml")
        policies = {hook["failurePolicy"] for doc in webhooks for hook in doc["webhooks"]}
    else:
        # The template binds variables, which tests/helm_template.py doesn't do: read its literal policies.
        text = (_chart_dir(chart) / "templates" / "webhook.yaml").read_text()
        policies = set(re.findall(r"failurePolicy:\s*(\w+)", text))
    return "Fail" in policies


@pytest.mark.parametrize("chart", list(WEBHOOK_SERVERS), ids=lambda chart: chart.name)
def test_controllers_whose_webhooks_fail_closed_survive_a_drain(recording: Recording, chart: Chart) -> None:
    assert _fails_closed(recording, chart)
    values = _values(recording, chart)
    for name, deployment in WEBHOOK_SERVERS[chart].items():
        replicas = deployment.replicas(values)
        assert replicas >= 2, name
        [pdb] = _rendered(recording, chart, deployment.pdb_template)
        assert pdb["kind"] == "PodDisruptionBudget", name
        spec = pdb["spec"]
        assert ("maxUnavailable" in spec) != ("minAvailable" in spec), name
        # A drain may evict a pod (else it blocks), and never the last one.
        unavailable = spec.get("maxUnavailable", replicas - spec.get("minAvailable", 0))
        assert 1 <= unavailable < replicas, name


# --- README -------------------------------------------------------------------------------------------------


def _readme_controllers() -> str:
    readme = (ROOT / "README.md").read_text()
    [bullet] = re.findall(r"^- \*\*Controllers\*\* .*?(?=^- )", readme, re.MULTILINE | re.DOTALL)
    return " ".join(bullet.split())


# What Reloader does for paved (its README, "Reload Strategies", and pkg/ at v1.4.21): watch Secrets in every
# namespace, patch the Deployments that name them, hold its leader-election lease, and record events.
RELOADER_NEEDS = {
    *(Grant("", "secrets", verb, "*", "*") for verb in ("get", "list", "watch")),
    *(Grant("apps", "deployments", verb, "*", "*") for verb in ("get", "list", "update", "patch")),
    *(Grant("coordination.k8s.io", "leases", verb, "*", "reloader") for verb in ("create", "get", "update")),
    Grant("", "events", "create", "*", "*"),
}


def test_reloader_chart_rbac_covers_what_it_does_and_no_more(recording: Recording) -> None:
    docs = _rendered(recording, RELOADER, "clusterrole.yaml", "clusterrolebinding.yaml")
    grants, external = _account_grants(docs, RELOADER.service_account, RELOADER.namespace)
    assert external == set()
    assert _uncovered(RELOADER_NEEDS, grants) == []
    # paved syncs no ConfigMaps and rolls no Jobs: the values leave those rights out.
    granted = {(grant.group, grant.resource) for grant in grants}
    assert not granted & {("", "configmaps"), ("batch", "jobs"), ("batch", "cronjobs")}


def test_reloader_survives_a_drain_with_a_leader_among_two_replicas(recording: Recording) -> None:
    values = _values(recording, RELOADER)["reloader"]
    assert (values["enableHA"], values["deployment"]["replicas"]) == (True, 2)
    [budget] = _rendered(recording, RELOADER, "poddisruptionbudget.yaml")
    assert budget["spec"]["maxUnavailable"] == 1
    assert values["readOnlyRootFileSystem"] is True
    assert (
        values["reloadStrategy"]
        in _yaml(_chart_dir(RELOADER) / "values.schema.json")["properties"]["reloader"]["properties"][
            "reloadStrategy"
        ]["enum"]
    )


def test_every_deployment_with_synced_secrets_is_rolled_by_reloader_when_they_change(
    recording: Recording,
) -> None:
    external_secrets = {
        (r.inputs["metadata"]["namespace"], r.inputs["spec"]["target"]["name"]): r
        for r in recording.of_type("kubernetes:external-secrets.io/v1:ExternalSecret")
    }
    deployments = recording.of_type("kubernetes:apps/v1:Deployment")
    rolled = 0
    for deployment in deployments:
        metadata = deployment.inputs["metadata"]
        env_secrets = {
            source["secretRef"]["name"]
            for container in deployment.inputs["spec"]["template"]["spec"]["containers"]
            for source in container.get("envFrom", [])
            if "secretRef" in source
        }
        named = metadata.get("annotations", {}).get(RELOAD_ON_SECRETS)
        assert named == (",".join(sorted(env_secrets)) if env_secrets else None), deployment.name
        for secret in env_secrets:
            synced = external_secrets[(metadata["namespace"], secret)]
            assert synced.inputs["spec"]["refreshInterval"] == "5m"
            rolled += 1
    assert rolled, "the shipped stacks have apps with synced secrets"


def test_readme_names_the_pinned_chart_versions() -> None:
    bullet = _readme_controllers()
    named = dict(re.findall(r"([a-z][a-z-]+[a-z]) (\d+\.\d+\.\d+)", bullet))
    assert named == {chart.name: chart.version for chart in CHARTS}


def test_readme_names_the_autoscaler_images_paved_pins() -> None:
    images = re.findall(r"(v\d+\.\d+\.\d+) for (\d+\.\d+)", _readme_controllers())
    assert images
    for tag, minor in images:
        assert AUTOSCALER_IMAGE_TAGS[minor] == tag
