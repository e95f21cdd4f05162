"""Ordering proofs (policies/paved_policies/wiring/order.py) on synthetic snapshots, one rule at a time: each
rule proven with the dependency in place, and broken, naming exactly the missing hop, without it. Then the
regression: the prod preview of c78210d (before #7) lacks the policy dependencies of its role consumers."""

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from paved_policies.wiring.order import order_findings
from paved_policies.wiring.snapshot import UNKNOWN, Resource, Snapshot
from paved_policies.wiring.verdicts import FlowResult, Verdict

FIXTURES = Path(__file__).parent / "fixtures" / "previews"
PROVIDERS = [
    Resource(f"urn:pulumi:prod::paved::pulumi:providers:{p}::default", f"pulumi:providers:{p}", "default")
    for p in ("aws", "kubernetes")
]


def resource(
    type_: str,
    name: str,
    inputs: dict[str, Any] | None = None,
    *,
    parent: Resource | None = None,
    after: tuple[Resource, ...] = (),
    property_dependencies: dict[str, list[Resource]] | None = None,
) -> Resource:
    """A resource as the recorder keeps it: `after` is its dependsOn, property dependencies count too."""
    by_property = {prop: [r.urn for r in rs] for prop, rs in (property_dependencies or {}).items()}
    dependencies = [r.urn for r in after] + [urn for urns in by_property.values() for urn in urns]
    return Resource(
        urn=f"urn:pulumi:prod::paved::{type_}::{name}",
        type=type_,
        name=name,
        parent=parent.urn if parent else "",
        inputs=inputs or {},
        dependencies=list(dict.fromkeys(dependencies)),
        property_dependencies=by_property,
    )


def findings(*resources: Resource, config: dict[str, Any] | None = None) -> dict[str, FlowResult]:
    results = order_findings(Snapshot.build([*PROVIDERS, *resources], config=config))
    assert len({r.id for r in results}) == len(results), "flow ids are unique"
    return {result.id: result for result in results}


def arn(role: Resource) -> str:
    return str(Snapshot.build([role]).output(role, "arn"))


# -- every consumer of a role waits for the role's policies -----------------------------------------------

ROLE = "aws:iam/role:Role"
ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
INLINE = "aws:iam/rolePolicy:RolePolicy"
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"


def granted_role(name: str = "nodes") -> tuple[Resource, Resource]:
    role = resource(ROLE, name)
    snapshot = Snapshot.build([role])
    policy = resource(
        ATTACHMENT,
        f"{name}-managed-0",
        {
            "role": snapshot.output(role, "name"),
            "policyArn": "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
        },
        property_dependencies={"role": [role]},
    )
    return role, policy


def test_a_consumer_that_waits_for_the_role_policy_is_proven():
    role, policy = granted_role()
    group = resource(
        NODE_GROUP,
        "on-demand",
        {"nodeRoleArn": arn(role)},
        after=(policy,),
        property_dependencies={"nodeRoleArn": [role]},
    )
    result = findings(role, policy, group)["order:on-demand-after-nodes-managed-0"]
    assert result.verdict is Verdict.PROVEN
    assert [str(hop) for hop in result.evidence] == [
        "reference on-demand nodeRoleArn → role nodes",
        "dependency NodeGroup on-demand → RolePolicyAttachment nodes-managed-0",
    ]


def test_a_consumer_that_does_not_wait_is_broken_and_the_reason_names_the_missing_dependency():
    role, policy = granted_role()
    group = resource(
        NODE_GROUP, "on-demand", {"nodeRoleArn": arn(role)}, property_dependencies={"nodeRoleArn": [role]}
    )
    result = findings(role, policy, group)["order:on-demand-after-nodes-managed-0"]
    assert result.verdict is Verdict.BROKEN and result.fails
    assert result.reason == (
        "NodeGroup on-demand does not wait for RolePolicyAttachment nodes-managed-0 of role nodes, which it "
        "uses in nodeRoleArn: add nodes-managed-0 to its depends_on"
    )


def test_a_role_deep_in_an_input_is_found_through_lineage():
    role = resource(ROLE, "api-secrets")
    policy = resource(
        INLINE, "api-secrets", {"role": Snapshot.build([role]).output(role, "id"), "policy": "{}"}
    )
    account = resource(
        "kubernetes:core/v1:ServiceAccount",
        "api",
        {"metadata": {"name": "api", "annotations": {"eks.amazonaws.com/role-arn": arn(role)}}},
    )
    result = findings(role, policy, account)["order:api-after-api-secrets"]
    assert result.verdict is Verdict.BROKEN
    assert "which it uses in metadata.annotations.eks.amazonaws.com/role-arn" in result.reason


def test_an_unresolved_input_counts_through_its_property_dependency():
    role, policy = granted_role()
    unresolved = {"metadata": {"annotations": {"eks.amazonaws.com/role-arn": UNKNOWN}}}
    waiting = resource(
        "kubernetes:core/v1:ServiceAccount",
        "app",
        unresolved,
        after=(policy,),
        property_dependencies={"metadata": [role]},
    )
    not_waiting = resource(
        "kubernetes:core/v1:ServiceAccount", "other", unresolved, property_dependencies={"metadata": [role]}
    )
    results = findings(role, policy, waiting, not_waiting)
    assert results["order:app-after-nodes-managed-0"].verdict is Verdict.PROVEN
    assert results["order:other-after-nodes-managed-0"].verdict is Verdict.BROKEN


def test_a_policy_document_that_names_the_role_is_no_consumer():
    role, policy = granted_role()
    statement = {"Effect": "Allow", "Principal": {"AWS": arn(role)}, "Action": "kms:Decrypt", "Resource": "*"}
    key = resource(
        "aws:kms/key:Key",
        "secrets",
        {"policy": json.dumps({"Statement": [statement]})},
        property_dependencies={"policy": [role]},
    )
    # A saved CLI preview has the document unknown, with the role behind it.
    unresolved = resource(
        "aws:kms/keyPolicy:KeyPolicy", "logs", {"policy": UNKNOWN}, property_dependencies={"policy": [role]}
    )
    values = resource("kubernetes:helm.sh/v3:Release", "tool", {"values": {"doc": json.dumps(statement)}})
    results = findings(role, policy, key, unresolved, values)
    assert not [flow for flow in results if flow.endswith("-after-nodes-managed-0")]


def test_waiting_is_transitive():
    role, policy = granted_role()
    template = resource("aws:ec2/launchTemplate:LaunchTemplate", "nodes-template", after=(policy,))
    group = resource(NODE_GROUP, "on-demand", {"nodeRoleArn": arn(role)}, after=(template,))
    result = findings(role, policy, template, group)["order:on-demand-after-nodes-managed-0"]
    assert result.verdict is Verdict.PROVEN
    assert [hop.text for hop in result.evidence[1:]] == [
        "NodeGroup on-demand → LaunchTemplate nodes-template",
        "LaunchTemplate nodes-template → RolePolicyAttachment nodes-managed-0",
    ]


def component(name: str, *, after: tuple[Resource, ...] = (), parent: Resource | None = None) -> Resource:
    return resource("paved:test:Component", name, parent=parent, after=after)


def test_a_consumer_waits_for_what_its_component_ancestors_wait_for():
    role, policy = granted_role()
    outer = component("outer", after=(policy,))
    inner = component("inner", parent=outer)
    group = resource(NODE_GROUP, "on-demand", {"nodeRoleArn": arn(role)}, parent=inner)
    result = findings(role, policy, outer, inner, group)["order:on-demand-after-nodes-managed-0"]
    assert result.verdict is Verdict.PROVEN
    assert [(hop.text, hop.property) for hop in result.evidence[1:]] == [
        ("NodeGroup on-demand → Component inner", "parent"),
        ("Component inner → Component outer", "parent"),
        ("Component outer → RolePolicyAttachment nodes-managed-0", "dependsOn"),
    ]
    without = component("outer", parent=None)
    assert findings(role, policy, without, inner, group)["order:on-demand-after-nodes-managed-0"].fails


def test_a_dependency_on_a_component_stands_for_its_descendants_through_components_only():
    """sdk/python/lib/pulumi/runtime/rpc.py `_add_dependency`: a local component expands to the custom
    resources under it, reached through components; children of a custom resource are not included."""
    role = resource(ROLE, "nodes")
    iam = component("iam")
    nested = component("nested", parent=iam)
    policy = resource(
        ATTACHMENT, "nodes-managed-0", {"role": Snapshot.build([role]).output(role, "name")}, parent=nested
    )
    group = resource(NODE_GROUP, "on-demand", {"nodeRoleArn": arn(role)}, after=(iam,))
    assert findings(role, iam, nested, policy, group)["order:on-demand-after-nodes-managed-0"].verdict is (
        Verdict.PROVEN
    )
    holder = resource("aws:iam/instanceProfile:InstanceProfile", "holder")
    under_custom = resource(
        ATTACHMENT, "nodes-managed-0", {"role": Snapshot.build([role]).output(role, "name")}, parent=holder
    )
    group = resource(NODE_GROUP, "on-demand", {"nodeRoleArn": arn(role)}, after=(holder,))
    result = findings(role, holder, under_custom, group)["order:on-demand-after-nodes-managed-0"]
    assert result.fails


# -- addons and Helm releases wait for nodes --------------------------------------------------------------

CLUSTER = "aws:eks/cluster:Cluster"
ADDON = "aws:eks/addon:Addon"
RELEASE = "kubernetes:helm.sh/v3:Release"


def cluster(name: str = "cluster", inputs: dict[str, Any] | None = None) -> Resource:
    return resource(CLUSTER, name, {"name": name, **(inputs or {})})


def in_cluster(type_: str, name: str, of: Resource, inputs: dict[str, Any] | None = None, **kwargs: Any):
    return resource(type_, name, {"clusterName": of.inputs["name"], **(inputs or {})}, **kwargs)


def addon(name: str, of: Resource, **kwargs: Any) -> Resource:
    return in_cluster(ADDON, f"{of.name}-{name}", of, {"addonName": name}, **kwargs)


def test_an_addon_that_runs_a_deployment_waits_for_a_node_group_of_its_cluster():
    eks, other = cluster(), cluster("other")
    group = in_cluster(NODE_GROUP, "on-demand", eks)
    elsewhere = in_cluster(NODE_GROUP, "elsewhere", other)
    assert (
        findings(eks, group, addon("coredns", eks, after=(group,)))[
            "order:cluster-coredns-after-node-group"
        ].verdict
        is Verdict.PROVEN
    )
    result = findings(eks, other, group, elsewhere, addon("coredns", eks, after=(elsewhere,)))[
        "order:cluster-coredns-after-node-group"
    ]
    assert result.fails
    assert result.reason.startswith(
        "Addon cluster-coredns (addon coredns) waits for no node group of its cluster"
    )


def test_daemonset_addons_need_no_node_group():
    eks = cluster()
    results = findings(
        eks, *(addon(name, eks) for name in ("vpc-cni", "kube-proxy", "eks-pod-identity-agent"))
    )
    assert not [flow for flow in results if flow.endswith("-after-node-group")]


def test_every_helm_release_waits_for_a_node_group():
    eks = cluster()
    group = in_cluster(NODE_GROUP, "on-demand", eks)
    chart = {"chart": "metrics-server"}
    results = findings(
        eks, group, resource(RELEASE, "metrics", chart, after=(group,)), resource(RELEASE, "early", chart)
    )
    assert results["order:metrics-after-node-group"].verdict is Verdict.PROVEN
    assert results["order:early-after-node-group"].reason == (
        "Release early (chart metrics-server) waits for no node group: its pods cannot be scheduled and the "
        "release times out"
    )


@pytest.mark.parametrize("bootstrap", [True, None])
def test_nodes_need_no_networking_addon_when_the_cluster_brings_its_own(bootstrap: bool | None):
    eks = cluster(inputs={} if bootstrap is None else {"bootstrapSelfManagedAddons": bootstrap})
    results = findings(eks, addon("vpc-cni", eks), in_cluster(NODE_GROUP, "on-demand", eks))
    assert "order:on-demand-after-cluster-vpc-cni" not in results


def test_without_bootstrapped_addons_nodes_wait_for_vpc_cni_and_kube_proxy():
    eks = cluster(inputs={"bootstrapSelfManagedAddons": False})
    cni, proxy = addon("vpc-cni", eks), addon("kube-proxy", eks)
    results = findings(eks, cni, proxy, in_cluster(NODE_GROUP, "on-demand", eks, after=(cni,)))
    assert results["order:on-demand-after-cluster-vpc-cni"].verdict is Verdict.PROVEN
    assert results["order:on-demand-after-cluster-kube-proxy"].reason.startswith(
        "NodeGroup on-demand does not wait for Addon cluster-kube-proxy (addon kube-proxy)"
    )


def test_an_addon_with_pod_identity_waits_for_the_agent():
    eks = cluster()
    agent = addon("eks-pod-identity-agent", eks)
    associations = {"podIdentityAssociations": [{"roleArn": "arn:aws:iam::123456789012:role/cni"}]}
    cni = in_cluster(ADDON, "cni", eks, {"addonName": "vpc-cni", **associations}, after=(agent,))
    early = in_cluster(ADDON, "ebs", eks, {"addonName": "aws-ebs-csi-driver", **associations})
    results = findings(eks, agent, cni, early)
    assert results["order:cni-after-cluster-eks-pod-identity-agent"].verdict is Verdict.PROVEN
    assert results["order:ebs-after-cluster-eks-pod-identity-agent"].fails


# -- Kubernetes objects wait for the controllers that admit them ------------------------------------------

TGB = "kubernetes:elbv2.k8s.aws/v1beta1:TargetGroupBinding"


def test_external_secrets_objects_wait_for_the_external_secrets_release():
    controller = resource(RELEASE, "external-secrets", {"chart": "external-secrets"})
    store = resource("kubernetes:external-secrets.io/v1:SecretStore", "api-store", after=(controller,))
    secret = resource("kubernetes:external-secrets.io/v1:ExternalSecret", "api-secrets", after=(store,))
    unordered = resource("kubernetes:external-secrets.io/v1:ExternalSecret", "web-secrets")
    results = findings(controller, store, secret, unordered)
    assert results["order:api-store-after-external-secrets"].verdict is Verdict.PROVEN
    assert results["order:api-secrets-after-external-secrets"].verdict is Verdict.PROVEN
    assert results["order:web-secrets-after-external-secrets"].reason == (
        "ExternalSecret web-secrets does not wait for Release external-secrets: until the controller's pods "
        "run, its webhooks cannot admit it"
    )
    alone = findings(unordered)["order:web-secrets-after-external-secrets"]
    assert (
        alone.reason
        == "ExternalSecret web-secrets needs the external-secrets controller, and the stack installs none"
    )


def public_app(controller: Resource, *, gated: bool, waits: bool) -> list[Resource]:
    labels = {"elbv2.k8s.aws/pod-readiness-gate-inject": "enabled"} if gated else {}
    namespace = resource(
        "kubernetes:core/v1:Namespace", "api", {"metadata": {"name": "api", "labels": labels}}
    )
    service = resource(
        "kubernetes:core/v1:Service",
        "api",
        {
            "metadata": {"name": "api", "namespace": "api"},
            "spec": {"type": "ClusterIP", "selector": {"app.kubernetes.io/name": "api"}},
        },
    )
    binding = resource(
        TGB,
        "api",
        {"metadata": {"namespace": "api"}, "spec": {"serviceRef": {"name": "api"}}},
        after=(controller,),
    )
    deployment = resource(
        "kubernetes:apps/v1:Deployment",
        "api",
        {
            "metadata": {"name": "api", "namespace": "api"},
            "spec": {"template": {"metadata": {"labels": {"app.kubernetes.io/name": "api", "tier": "web"}}}},
        },
        after=(controller,) if waits else (),
    )
    return [namespace, service, binding, deployment]


def test_pods_that_get_the_readiness_gate_wait_for_the_load_balancer_controller():
    controller = resource(
        RELEASE,
        "lbc",
        {"chart": "aws-load-balancer-controller", "values": {"enableServiceMutatorWebhook": False}},
    )
    results = findings(controller, *public_app(controller, gated=True, waits=True))
    # The Deployment and the TargetGroupBinding share a name, so their ids name the kind.
    assert results["order:targetgroupbinding/api-after-lbc"].verdict is Verdict.PROVEN
    assert results["order:deployment/api-after-lbc"].verdict is Verdict.PROVEN
    broken = findings(controller, *public_app(controller, gated=True, waits=False))[
        "order:deployment/api-after-lbc"
    ]
    assert broken.reason.startswith("Deployment api does not wait for Release lbc")
    ungated = findings(controller, *public_app(controller, gated=False, waits=False))
    assert [flow for flow in ungated if flow.endswith("-after-lbc")] == ["order:api-after-lbc"]  # the binding


@pytest.mark.parametrize(
    ("values", "waiting"),
    [
        ({}, {"api", "lb"}),  # the chart's default: the webhook on, failing closed
        ({"serviceMutatorWebhookConfig": {"failurePolicy": "Ignore"}}, {"lb"}),
        ({"enableServiceMutatorWebhook": False}, set()),
    ],
)
def test_services_wait_for_the_service_mutator_webhook(values: dict[str, Any], waiting: set[str]):
    controller = resource(RELEASE, "lbc", {"chart": "aws-load-balancer-controller", "values": values})
    cluster_ip = resource("kubernetes:core/v1:Service", "api", {"spec": {"type": "ClusterIP"}})
    load_balancer = resource("kubernetes:core/v1:Service", "lb", {"spec": {"type": "LoadBalancer"}})
    results = findings(controller, cluster_ip, load_balancer)
    assert {
        flow.removeprefix("order:").removesuffix("-after-lbc")
        for flow in results
        if flow != "order:lbc-after-node-group"
    } == waiting


# -- the migration Job runs before its Deployment ---------------------------------------------------------

APPS = {"paved:apps": [{"name": "api", "database": {"migrationCommand": ["migrate"]}}, {"name": "web"}]}


def migration(annotations: dict[str, str] | None = None) -> Resource:
    metadata = {
        "name": "api-migrate-1",
        "namespace": "api",
        "labels": {"app.kubernetes.io/component": "migration"},
    }
    return resource(
        "kubernetes:batch/v1:Job", "api-migrate", {"metadata": {**metadata, "annotations": annotations or {}}}
    )


def deployment(name: str, after: tuple[Resource, ...] = ()) -> Resource:
    return resource(
        "kubernetes:apps/v1:Deployment", name, {"metadata": {"name": name, "namespace": name}}, after=after
    )


def test_the_deployment_rolls_out_after_its_awaited_migration():
    job = migration()
    results = findings(job, deployment("api", (job,)), deployment("web"), config=APPS)
    assert list(results) == ["order:api-after-api-migrate"]
    assert results["order:api-after-api-migrate"].verdict is Verdict.PROVEN
    broken = findings(job, deployment("api"), config=APPS)["order:api-after-api-migrate"]
    assert broken.reason == (
        "Deployment api does not wait for Job api-migrate: the new image would serve before its migration ran"
    )


def test_a_migration_that_is_not_awaited_or_missing_is_broken():
    job = migration({"pulumi.com/skipAwait": "true"})
    skipped = findings(job, deployment("api", (job,)), config=APPS)["order:api-after-api-migrate"]
    assert skipped.reason.startswith("Job api-migrate is not awaited (pulumi.com/skipAwait)")
    missing = findings(deployment("api"), config=APPS)["order:api-after-migration"]
    assert missing.reason == "app api lists a migrationCommand, and namespace api has no migration Job"


# -- regression: c78210d ----------------------------------------------------------------------------------

# What #7 fixed: these consumers were created without waiting for their role's policies.
C78210D_MISSING = {
    ("database-proxy", "database-proxy"),
    ("database", "database-monitoring-managed-0"),
    ("database-replica-1", "database-monitoring-managed-0"),
    ("cluster", "cluster-control-plane-managed-0"),
    ("cluster", "cluster-control-plane"),
    ("backup-restore-test", "backup-managed-0"),
    ("backup-restore-test", "backup-managed-1"),
    ("backup", "backup-managed-0"),
    ("backup", "backup-managed-1"),
    ("cluster-vpc-cni", "cluster-vpc-cni-managed-0"),
    ("cluster-aws-ebs-csi-driver", "cluster-aws-ebs-csi-driver-managed-0"),
    ("cluster-amazon-cloudwatch-observability", "cluster-amazon-cloudwatch-observability-managed-0"),
    ("aws-load-balancer-controller", "aws-load-balancer-controller-0"),
    ("aws-load-balancer-controller", "aws-load-balancer-controller-1"),
    ("cluster-autoscaler", "cluster-autoscaler-0"),
    ("cdn-assets", "cdn-assets-replication"),
    ("cluster-on-demand", "cluster-nodes-managed-0"),
    ("cluster-on-demand", "cluster-nodes-managed-1"),
    ("api", "api-secrets"),
    ("worker", "worker-secrets"),
}


@pytest.mark.parametrize("fixture", ["c78210d-prod.json", "c78210d-prod-no-lineage.json"])
def test_the_prod_preview_before_7_lacks_exactly_the_policy_dependencies_7_added(fixture: str):
    """With lineage (exact placeholders) and without (propertyDependencies only), the same defects."""
    document = json.loads((FIXTURES / fixture).read_text())
    failing = [result for result in order_findings(Snapshot.from_preview(document)) if result.fails]
    assert {tuple(result.id.removeprefix("order:").split("-after-")) for result in failing} == C78210D_MISSING
    node_group = next(r for r in failing if r.id == "order:cluster-on-demand-after-cluster-nodes-managed-0")
    assert node_group.reason == (
        "NodeGroup cluster-on-demand does not wait for RolePolicyAttachment cluster-nodes-managed-0 of role "
        "cluster-nodes, which it uses in nodeRoleArn: add cluster-nodes-managed-0 to its depends_on"
    )


# -- the shipped stacks ------------------------------------------------------------------------------------

RULES = (
    "-after-cluster-nodes-managed-0",  # a role's consumer after its policies
    "-after-node-group",
    "-after-cluster-vpc-cni",
    "-after-cluster-eks-pod-identity-agent",
    "-after-external-secrets",
    "-after-aws-load-balancer-controller",
    "-after-api-migrate",
)


@pytest.mark.parametrize("stack", ["prod", "staging"])
def test_the_shipped_stacks_prove_every_ordering_rule(
    shipped_snapshots: Callable[[str], Snapshot], stack: str
) -> None:
    results = order_findings(shipped_snapshots(stack))
    # A proven order shows the chain of waits behind it.
    assert [(result.id, result.reason) for result in results if result.fails or not result.evidence] == []
    assert {rule for rule in RULES if not any(result.id.endswith(rule) for result in results)} == set()


def test_dropping_one_recorded_dependency_breaks_exactly_that_proof(
    shipped_snapshots: Callable[[str], Snapshot],
):
    snapshot = shipped_snapshots("prod")
    group = next(r for r in snapshot.of_type(NODE_GROUP) if r.name == "cluster-on-demand")
    attachment = next(r for r in snapshot.of_type(ATTACHMENT) if r.name == "cluster-nodes-managed-1")
    group.dependencies.remove(attachment.urn)
    failing = [result for result in order_findings(snapshot) if result.fails]
    assert [(result.id, result.reason) for result in failing] == [
        (
            "order:cluster-on-demand-after-cluster-nodes-managed-1",
            "NodeGroup cluster-on-demand does not wait for RolePolicyAttachment cluster-nodes-managed-1 of "
            "role cluster-nodes, which it uses in nodeRoleArn: add cluster-nodes-managed-1 to its depends_on",
        )
    ]
