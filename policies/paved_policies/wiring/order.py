"""Ordering proofs: each resource is created only after what it needs to work has been created.

"B waits for A" is decided the way the Pulumi SDK and engine order registrations (pulumi/pulumi, SDK 3.x):
- A resource is registered only once every resource it depends on has finished its step: its explicit
  `depends_on` and the resources behind its inputs (`dependencies`, `propertyDependencies`). The engine
  answers a RegisterResource call only when the step has completed (pkg/resource/deploy/source_eval.go,
  `resmon.RegisterResource`: "Now block waiting for the operation to finish"), and the SDK awaits those URNs
  before it registers (sdk/python/lib/pulumi/runtime/resource.py, `prepare_resource`).
- A dependency on a local component resource stands for its descendants: the SDK replaces it with every custom
  resource reached through components, not through a custom resource's children, and keeps a remote component
  as itself (sdk/python/lib/pulumi/runtime/rpc.py, `_add_dependency`). Recorded dependencies therefore never
  name a local component; one that does (a hand-built snapshot) is expanded the same way.
- A resource also waits for its parent: `prepare_resource` awaits the parent's URN ("Wait for our parent to
  resolve"), which a component gets only after its own dependencies are done. So a consumer whose component
  ancestor depends on a policy waits for that policy too.
- Waiting is transitive: each link holds back the next registration until its own step is done.

The proofs:
- every consumer of an IAM role waits for each of the role's policies (AWS checks a role's permissions when
  the consumer is created: components/iam.py, `GrantedRole`);
- every EKS addon that runs a Deployment, and every Helm release, waits for a node group; node groups wait for
  the networking DaemonSet addons when the cluster does not bootstrap its own, and addons that take Pod
  Identity credentials wait for the Pod Identity agent;
- Kubernetes objects wait for the controllers whose admission webhooks and CRDs handle them;
- each app's Deployment waits for its awaited migration Job.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass, replace
from typing import Any

from paved_policies.wiring.snapshot import Resource, Snapshot, is_unknown, leaves
from paved_policies.wiring.verdicts import FlowResult, Hop, Verdict

ROLE = "aws:iam/role:Role"
ROLE_POLICIES = ("aws:iam/rolePolicy:RolePolicy", "aws:iam/rolePolicyAttachment:RolePolicyAttachment")
CLUSTER = "aws:eks/cluster:Cluster"
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
ADDON = "aws:eks/addon:Addon"
RELEASE = "kubernetes:helm.sh/v3:Release"
NAMESPACE = "kubernetes:core/v1:Namespace"
SERVICE = "kubernetes:core/v1:Service"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
JOB = "kubernetes:batch/v1:Job"
TARGET_GROUP_BINDING = "kubernetes:elbv2.k8s.aws/v1beta1:TargetGroupBinding"
# Workloads whose pods a Service can select, so the load balancer controller's pod webhook sees them.
_SERVING_WORKLOADS = (
    DEPLOYMENT,
    "kubernetes:apps/v1:StatefulSet",
    "kubernetes:apps/v1:DaemonSet",
    "kubernetes:apps/v1:ReplicaSet",
)

# Addons that run only DaemonSets: with no node they have nothing to schedule and EKS reports them ACTIVE.
# Every other addon runs a Deployment (CoreDNS: https://docs.aws.amazon.com/eks/latest/userguide/managing-coredns.html;
# the EBS CSI controller; the CloudWatch agent operator), whose replicas stay Pending without nodes: EKS then
# reports the addon DEGRADED with issue InsufficientNumberOfReplicas
# (https://docs.aws.amazon.com/eks/latest/APIReference/API_AddonIssue.html).
_DAEMONSET_ADDONS = ("vpc-cni", "kube-proxy", "eks-pod-identity-agent")
# With bootstrapSelfManagedAddons false, EKS installs no vpc-cni, coredns or kube-proxy of its own
# (https://docs.aws.amazon.com/eks/latest/APIReference/API_CreateCluster.html). A node without a CNI never
# becomes Ready (https://kubernetes.io/docs/concepts/extend-kubernetes/compute-storage-net/network-plugins/),
# and aws-node needs kube-proxy to become Ready
# (https://repost.aws/knowledge-center/eks-cni-plugin-troubleshooting): both must exist before the nodes.
_NODE_NETWORKING_ADDONS = ("vpc-cni", "kube-proxy")
# Pod Identity credentials come only from the agent's DaemonSet on the node
# (https://docs.aws.amazon.com/eks/latest/userguide/pod-identities.html): vpc-cni crash-loops without it.
_POD_IDENTITY_AGENT = "eks-pod-identity-agent"

EXTERNAL_SECRETS_CHART = "external-secrets"
LOAD_BALANCER_CONTROLLER_CHART = "aws-load-balancer-controller"
# The load balancer controller's pod webhook injects the readiness gate into pods in namespaces with this
# label (chart 3.5.0 templates/webhook.yaml, `mpod.elbv2.k8s.aws`). Its failurePolicy is Ignore: a pod created
# before the controller runs silently gets no gate, and rollouts stop waiting for the ALB to see it healthy.
READINESS_GATE_LABEL = "elbv2.k8s.aws/pod-readiness-gate-inject"
MIGRATION_COMPONENT = "migration"
# pulumi-kubernetes waits for a Job's Complete condition unless this annotation is "true"
# (https://github.com/pulumi/pulumi-kubernetes/pull/417, https://github.com/pulumi/pulumi-kubernetes/pull/633).
SKIP_AWAIT = "pulumi.com/skipAwait"


# -- waiting, as the engine orders it ----------------------------------------------------------------------


@dataclass(frozen=True)
class Wait:
    """`waiter` is registered only after `awaited`'s step has completed; `via` says why."""

    waiter: str
    awaited: str
    via: str  # an input property, "dependsOn", or "parent"


class Waits:
    """For every resource, what it waits for before it is created."""

    def __init__(self, snapshot: Snapshot) -> None:
        self._snapshot = snapshot
        self._children: dict[str, list[str]] = {}
        for resource in snapshot:
            self._children.setdefault(resource.parent, []).append(resource.urn)
        # A provider plugin registers custom resources and remote components; a package without a provider in
        # the stack (paved's own `paved:...` types, the stack itself) can only hold local components.
        providers = {r.type.split(":")[2] for r in snapshot if r.type.startswith("pulumi:providers:")}
        self._local_components = {
            r.urn for r in snapshot if r.type.split(":")[0] not in providers and r.urn in self._children
        }
        self._direct = {urn: self._direct_waits(resource) for urn, resource in snapshot.resources.items()}

    def _direct_waits(self, resource: Resource) -> dict[str, str]:
        by_property = {urn: prop for prop, urns in resource.property_dependencies.items() for urn in urns}
        waits: dict[str, str] = {}
        for urn in [*resource.dependencies, *by_property]:
            for awaited in self._expanded(urn):
                waits.setdefault(awaited, by_property.get(urn, "dependsOn"))
        if resource.parent in self._snapshot.resources:
            waits.setdefault(resource.parent, "parent")
        return waits

    def _expanded(self, urn: str) -> Iterator[str]:
        """A local component stands for the custom resources under it, reached through components only."""
        if urn not in self._local_components:
            yield urn
            return
        for child in self._children[urn]:
            yield from self._expanded(child)

    def path(self, waiter: str, awaited: Collection[str]) -> list[Wait] | None:
        """The shortest chain of waits from `waiter` to any of `awaited`; None when it waits for none."""
        came_from: dict[str, Wait | None] = {waiter: None}
        queue = deque([waiter])
        while queue:
            urn = queue.popleft()
            if urn in awaited and urn != waiter:
                chain: list[Wait] = []
                step = came_from[urn]
                while step is not None:
                    chain.append(step)
                    step = came_from[step.waiter]
                return chain[::-1]
            for next_urn, via in self._direct.get(urn, {}).items():
                if next_urn not in came_from:
                    came_from[next_urn] = Wait(urn, next_urn, via)
                    queue.append(next_urn)
        return None


# -- what a resource's inputs refer to ---------------------------------------------------------------------


def _is_policy_property(prop: str) -> bool:
    """A policy document names a role as principal or resource: it grants to the role, it does not hand the
    role to a service. Such inputs are named ...Policy or ...Policies."""
    return prop.lower().endswith(("policy", "policies"))


def _is_json_document(value: Any) -> bool:
    """A policy document inside another input (Helm values, a ConfigMap) is a JSON string."""
    return isinstance(value, str) and value.lstrip()[:1] in ("{", "[")


def references(snapshot: Snapshot, resource: Resource) -> dict[str, str]:
    """URN -> input path, for every resource whose output this resource's inputs carry (policy documents
    aside): through lineage where the value was resolved, through `propertyDependencies` where the property
    still holds an unknown."""
    found: dict[str, str] = {}
    for prop, value in resource.inputs.items():
        if _is_policy_property(prop):
            continue
        unresolved = False
        for path, leaf in leaves(value, prop):
            if is_unknown(leaf):
                unresolved = True
            elif not _is_json_document(leaf):
                origin = snapshot.origin(leaf)
                if origin is not None:
                    found.setdefault(origin.urn, path)
        if unresolved:
            for urn in resource.property_dependencies.get(prop, []):
                found.setdefault(urn, prop)
    return found


# -- findings ----------------------------------------------------------------------------------------------


def kind_of(resource: Resource) -> str:
    """`aws:eks/nodeGroup:NodeGroup` -> `NodeGroup`."""
    return resource.type.rsplit(":", 1)[-1]


def label(resource: Resource) -> str:
    return f"{kind_of(resource)} {resource.name}"


@dataclass(frozen=True)
class _Flow:
    """One proof before its id is given: ids depend on which names other flows use."""

    subject: Resource
    dependency: str  # what the subject must wait for, as the id names it
    result: FlowResult


class _Proof:
    """Shared state of one run: the snapshot and what each resource waits for."""

    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot
        self.waits = Waits(snapshot)
        self._clusters = {c.urn for c in snapshot.of_type(CLUSTER)}
        self._references: dict[str, dict[str, str]] = {}

    def references(self, resource: Resource) -> dict[str, str]:
        """`references(snapshot, resource)`, read once per resource: the order rules ask for the same
        resources' references again and again (each node group once per addon)."""
        found = self._references.get(resource.urn)
        if found is None:
            found = self._references[resource.urn] = references(self.snapshot, resource)
        return found

    def waits_for(
        self,
        subject: Resource,
        awaited: Iterable[Resource],
        *,
        dependency: str,
        title: str,
        missing: str,
        context: tuple[Hop, ...] = (),
    ) -> _Flow:
        """PROVEN when `subject` waits for one of `awaited` (the chain of waits is the evidence); else BROKEN
        with `missing` as the reason."""
        chain = self.waits.path(subject.urn, {resource.urn for resource in awaited})
        if chain is None:
            result = FlowResult("", "order", title, Verdict.BROKEN, context, missing)
        else:
            result = FlowResult("", "order", title, Verdict.PROVEN, context + tuple(map(self._hop, chain)))
        return _Flow(subject, dependency, result)

    def broken(self, subject: Resource, dependency: str, title: str, reason: str) -> _Flow:
        return _Flow(subject, dependency, FlowResult("", "order", title, Verdict.BROKEN, (), reason))

    def _hop(self, wait: Wait) -> Hop:
        waiter = self.snapshot.resources[wait.waiter]
        awaited = self.snapshot.resources[wait.awaited]
        return Hop("dependency", f"{label(waiter)} → {label(awaited)}", waiter.urn, wait.via)

    def clusters_of(self, resource: Resource) -> set[str]:
        """The EKS cluster a resource names (`clusterName`); every cluster of the stack when unresolved."""
        return (self._clusters & self.references(resource).keys()) or self._clusters

    def addons(self, clusters: set[str], names: Collection[str]) -> list[Resource]:
        return [
            addon
            for addon in self.snapshot.of_type(ADDON)
            if addon.get("addonName") in names and self.clusters_of(addon) & clusters
        ]

    def releases(self, chart: str) -> list[Resource]:
        return [
            release
            for release in self.snapshot.of_type(RELEASE)
            if str(release.get("chart") or "").rsplit("/", 1)[-1] == chart
        ]


def order_findings(snapshot: Snapshot) -> list[FlowResult]:
    proof = _Proof(snapshot)
    return _with_ids(
        [
            *_roles_before_consumers(proof),
            *_nodes_before_pods(proof),
            *_networking_before_nodes(proof),
            *_pod_identity_agent_first(proof),
            *_controllers_before_objects(proof),
            *_migrations_before_rollouts(proof),
        ]
    )


def _with_ids(flows: list[_Flow]) -> list[FlowResult]:
    """`order:<subject>-after-<dependency>`; where subjects of different kinds share a name (the
    ServiceAccount, the Deployment and the TargetGroupBinding of app `api`), the id names the kind too."""
    plain = [f"order:{flow.subject.name}-after-{flow.dependency}" for flow in flows]
    counts = Counter(plain)
    return [
        replace(
            flow.result,
            id=flow_id
            if counts[flow_id] == 1
            else f"order:{kind_of(flow.subject).lower()}/{flow.subject.name}-after-{flow.dependency}",
        )
        for flow, flow_id in zip(flows, plain, strict=True)
    ]


def _roles_before_consumers(proof: _Proof) -> Iterator[_Flow]:
    snapshot = proof.snapshot
    roles = {r.urn for r in snapshot.of_type(ROLE)}
    policies: dict[str, list[Resource]] = {}
    for policy in snapshot.of_type(*ROLE_POLICIES):
        for urn, path in proof.references(policy).items():
            if urn in roles and path == "role":
                policies.setdefault(urn, []).append(policy)
    granting = {policy.urn for granted in policies.values() for policy in granted}
    for consumer in snapshot:
        if consumer.urn in granting or consumer.urn in roles:
            continue
        for role_urn, path in proof.references(consumer).items():
            if role_urn not in roles:
                continue
            role = snapshot.resources[role_urn]
            use = Hop("reference", f"{consumer.name} {path} → role {role.name}", consumer.urn, path)
            for policy in policies.get(role_urn, []):
                yield proof.waits_for(
                    consumer,
                    [policy],
                    dependency=policy.name,
                    title=f"{label(consumer)} is created after {label(policy)}, which grants role "
                    f"{role.name} its permissions",
                    missing=f"{label(consumer)} does not wait for {label(policy)} of role {role.name}, which "
                    f"it uses in {path}: add {policy.name} to its depends_on",
                    context=(use,),
                )


def _nodes_before_pods(proof: _Proof) -> Iterator[_Flow]:
    snapshot = proof.snapshot
    node_groups = snapshot.of_type(NODE_GROUP)
    for addon in snapshot.of_type(ADDON):
        name = addon.get("addonName")
        if name in _DAEMONSET_ADDONS:
            continue
        clusters = proof.clusters_of(addon)
        yield proof.waits_for(
            addon,
            [group for group in node_groups if proof.clusters_of(group) & clusters],
            dependency="node-group",
            title=f"addon {name} ({addon.name}) is created after a node group of its cluster",
            missing=f"{label(addon)} (addon {name}) waits for no node group of its cluster: its Deployment's "
            "pods stay Pending and EKS reports the addon DEGRADED (InsufficientNumberOfReplicas)",
        )
    for release in snapshot.of_type(RELEASE):
        chart = release.get("chart")
        yield proof.waits_for(
            release,
            node_groups,
            dependency="node-group",
            title=f"Helm release {release.name} (chart {chart}) is installed after a node group",
            missing=f"{label(release)} (chart {chart}) waits for no node group: its pods cannot be scheduled "
            "and the release times out",
        )


def _networking_before_nodes(proof: _Proof) -> Iterator[_Flow]:
    snapshot = proof.snapshot
    for group in snapshot.of_type(NODE_GROUP):
        clusters = proof.clusters_of(group)
        if all(snapshot.resources[urn].get("bootstrapSelfManagedAddons") is False for urn in clusters):
            yield from _after_addons(
                proof,
                group,
                _NODE_NETWORKING_ADDONS,
                "its cluster bootstraps no networking addon of its own, so the nodes would join without it "
                "and stay NotReady",
            )


def _pod_identity_agent_first(proof: _Proof) -> Iterator[_Flow]:
    for addon in proof.snapshot.of_type(ADDON):
        if addon.get("podIdentityAssociations"):
            yield from _after_addons(
                proof,
                addon,
                [_POD_IDENTITY_AGENT],
                "its pods take Pod Identity credentials, which only the agent hands out",
            )


def _after_addons(proof: _Proof, subject: Resource, names: Collection[str], why: str) -> Iterator[_Flow]:
    """`subject` waits for each addon of its cluster named in `names`."""
    for addon in proof.addons(proof.clusters_of(subject), names):
        name = addon.get("addonName")
        yield proof.waits_for(
            subject,
            [addon],
            dependency=addon.name,
            title=f"{label(subject)} is created after addon {name}",
            missing=f"{label(subject)} does not wait for {label(addon)} (addon {name}): {why}",
        )


def _metadata(resource: Resource, field: str) -> Any:
    return resource.get(f"metadata.{field}")


def _namespace(resource: Resource) -> str:
    return str(_metadata(resource, "namespace") or "default")


def _admitted_by_external_secrets(snapshot: Snapshot) -> Iterator[Resource]:
    """Its CRDs define every external-secrets.io object, and its validating webhooks (failurePolicy Fail)
    admit them (chart 2.9.0 templates/validatingwebhook.yaml)."""
    return (r for r in snapshot if r.type.startswith("kubernetes:external-secrets.io/"))


def _admitted_by_load_balancer_controller(
    snapshot: Snapshot, controllers: list[Resource]
) -> Iterator[Resource]:
    """What the load balancer controller's CRDs define and its webhooks handle (chart 3.5.0
    templates/webhook.yaml)."""
    yield from (r for r in snapshot if r.type.startswith("kubernetes:elbv2.k8s.aws/"))
    yield from _gated_workloads(snapshot)
    yield from _mutated_services(snapshot, controllers)


def _gated_workloads(snapshot: Snapshot) -> Iterator[Resource]:
    """Workloads in a readiness-gate namespace whose pods a Service bound to a target group selects: the pods
    that get the gate."""
    gated = {
        _metadata(namespace, "name")
        for namespace in snapshot.of_type(NAMESPACE)
        if (_metadata(namespace, "labels") or {}).get(READINESS_GATE_LABEL) == "enabled"
    }
    bound = {(_namespace(b), b.get("spec.serviceRef.name")) for b in snapshot.of_type(TARGET_GROUP_BINDING)}
    selectors = [
        (_namespace(service), service.get("spec.selector") or {})
        for service in snapshot.of_type(SERVICE)
        if (_namespace(service), _metadata(service, "name")) in bound and _namespace(service) in gated
    ]
    for workload in snapshot.of_type(*_SERVING_WORKLOADS):
        labels = workload.get("spec.template.metadata.labels") or {}
        if any(
            namespace == _namespace(workload) and selector and selector.items() <= labels.items()
            for namespace, selector in selectors
        ):
            yield workload


def _mutated_services(snapshot: Snapshot, controllers: list[Resource]) -> Iterator[Resource]:
    """With `enableServiceMutatorWebhook` (the chart's default) the webhook sees every Service created. With
    its default failurePolicy Fail, no Service can be created while the controller is down; with Ignore, a
    LoadBalancer Service created before it would get the in-tree cloud provider's load balancer instead."""
    mutating = [c for c in controllers if c.get("values.enableServiceMutatorWebhook") is not False]
    if not mutating:
        return
    fail_closed = any(
        (c.get("values.serviceMutatorWebhookConfig.failurePolicy") or "Fail") == "Fail" for c in mutating
    )
    for service in snapshot.of_type(SERVICE):
        if fail_closed or service.get("spec.type") == "LoadBalancer":
            yield service


def _controllers_before_objects(proof: _Proof) -> Iterator[_Flow]:
    snapshot = proof.snapshot
    load_balancer = proof.releases(LOAD_BALANCER_CONTROLLER_CHART)
    admitted = (
        (
            EXTERNAL_SECRETS_CHART,
            proof.releases(EXTERNAL_SECRETS_CHART),
            _admitted_by_external_secrets(snapshot),
        ),
        (
            LOAD_BALANCER_CONTROLLER_CHART,
            load_balancer,
            _admitted_by_load_balancer_controller(snapshot, load_balancer),
        ),
    )
    for chart, releases, objects in admitted:
        for resource in objects:
            title = f"{label(resource)} is applied after the {chart} controller that admits it"
            if not releases:
                reason = f"{label(resource)} needs the {chart} controller, and the stack installs none"
                yield proof.broken(resource, chart, title, reason)
                continue
            yield proof.waits_for(
                resource,
                releases,
                dependency=releases[0].name,
                title=title,
                missing=f"{label(resource)} does not wait for {label(releases[0])}: until the controller's "
                "pods run, its webhooks cannot admit it",
            )


def _migrations_before_rollouts(proof: _Proof) -> Iterator[_Flow]:
    snapshot = proof.snapshot
    for app in snapshot.config.get("paved:apps") or []:
        if not (app.get("database") or {}).get("migrationCommand"):
            continue
        name = app["name"]
        jobs = [
            job
            for job in snapshot.of_type(JOB)
            if _namespace(job) == name
            and (_metadata(job, "labels") or {}).get("app.kubernetes.io/component") == MIGRATION_COMPONENT
        ]
        for deployment in snapshot.of_type(DEPLOYMENT):
            if (_namespace(deployment), _metadata(deployment, "name")) != (name, name):
                continue
            title = f"app {name}: the Deployment rolls out only after its migration Job has completed"
            if not jobs:
                reason = f"app {name} lists a migrationCommand, and namespace {name} has no migration Job"
                yield proof.broken(deployment, "migration", title, reason)
            for job in jobs:
                if str((_metadata(job, "annotations") or {}).get(SKIP_AWAIT, "")).lower() == "true":
                    reason = (
                        f"{label(job)} is not awaited ({SKIP_AWAIT}): {label(deployment)} would roll out "
                        "while the migration still runs"
                    )
                    yield proof.broken(deployment, job.name, title, reason)
                    continue
                yield proof.waits_for(
                    deployment,
                    [job],
                    dependency=job.name,
                    title=title,
                    missing=f"{label(deployment)} does not wait for {label(job)}: the new image would serve "
                    "before its migration ran",
                )
