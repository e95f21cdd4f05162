"""The wiring proof's flows on the shipped stacks: every required flow proven, no forbidden flow present; a
mutation of the recorded inputs breaks each flow at exactly the hop it changed; the c78210d preview (the
commit before #7) fails for #7's defects."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from paved_policies.wiring.flows import as_json, prove
from paved_policies.wiring.snapshot import Resource, Snapshot
from paved_policies.wiring.verdicts import FlowResult, Verdict

from paved.lineage import snapshot_of
from paved.program import load_project, load_stack_config, run_project
from tests.previews import cli_json, paved_json

ROOT = Path(__file__).parent.parent
PREVIEWS = Path(__file__).parent / "fixtures" / "previews"
Mutation = Callable[[Snapshot], None]


def _by_id(results: list[FlowResult]) -> dict[str, FlowResult]:
    return {result.id: result for result in results}


def _resource(snapshot: Snapshot, type_suffix: str, name: str) -> Resource:
    return next(r for r in snapshot if r.type.endswith(type_suffix) and r.name == name)


def _drop(type_suffix: str, name: str) -> Mutation:
    def mutate(snapshot: Snapshot) -> None:
        del snapshot.resources[_resource(snapshot, type_suffix, name).urn]

    return mutate


def _edit(type_suffix: str, name: str, change: Callable[[dict[str, Any]], None]) -> Mutation:
    def mutate(snapshot: Snapshot) -> None:
        change(_resource(snapshot, type_suffix, name).inputs)

    return mutate


def _edit_policy(
    type_suffix: str, name: str, change: Callable[[dict[str, Any]], None], key: str = "policy"
) -> Mutation:
    """Change a JSON policy document held in an input (`policy`, a role's `assumeRolePolicy`)."""

    def edit(inputs: dict[str, Any]) -> None:
        document = json.loads(inputs[key])
        change(document)
        inputs[key] = json.dumps(document)

    return _edit(type_suffix, name, edit)


def _without_statement(action: str) -> Callable[[dict[str, Any]], None]:
    def change(document: dict[str, Any]) -> None:
        document["Statement"] = [s for s in document["Statement"] if action not in json.dumps(s["Action"])]

    return change


def _without_sid(sid: str) -> Callable[[dict[str, Any]], None]:
    def change(document: dict[str, Any]) -> None:
        document["Statement"] = [s for s in document["Statement"] if s.get("Sid") != sid]

    return change


@pytest.mark.parametrize("stack", ["prod", "staging"])
def test_shipped_stacks_prove_every_flow(stack: str, shipped_snapshots: Callable[[str], Snapshot]) -> None:
    results = prove(shipped_snapshots(stack))
    kinds = {kind: [r for r in results if r.kind == kind] for kind in ("required", "forbidden", "order")}
    assert all(len(found) >= 10 for found in kinds.values()), {k: len(v) for k, v in kinds.items()}
    not_proven = [(r.id, r.verdict.value, r.reason) for r in results if r.verdict is not Verdict.PROVEN]
    assert not_proven == []


def test_required_flows_follow_the_config(shipped_snapshots: Callable[[str], Snapshot]) -> None:
    ids = set(_by_id(prove(shipped_snapshots("prod"))))
    # web and api have public paths, api and worker a database, both list the cacheUrl secret.
    assert {
        "edge->web",
        "edge->api",
        "api->database",
        "worker->database",
        "api->cache",
        "worker->cache",
    } <= ids
    assert "edge->worker" not in ids and "web->database" not in ids and "web->cache" not in ids
    assert {
        "api->secrets",
        "worker->secrets",
        "job-database-bootstrap->database",
        "job-api-migrate->database",
    } <= ids


def _all(*mutations: Mutation) -> Mutation:
    def mutate(snapshot: Snapshot) -> None:
        for mutation in mutations:
            mutation(snapshot)

    return mutate


def _without_private_default_routes(snapshot: Snapshot) -> None:
    for resource in list(snapshot):
        if resource.type.endswith("ec2/route:Route") and resource.name.startswith("network-private"):
            del snapshot.resources[resource.urn]


ENDPOINTS_CLOSED = _drop("SecurityGroupIngressRule", "network-endpoints-https-in")


def _foreign_role(index: int) -> Callable[[dict[str, Any]], None]:
    def change(inputs: dict[str, Any]) -> None:
        inputs["podIdentityAssociations"][index]["roleArn"] = "arn:aws:iam::123456789012:role/elsewhere"

    return change


# (flow, mutation, what the reason must name); every required flow of prod has one (checked below)
REQUIRED_MUTATIONS: list[tuple[str, Mutation, str]] = [
    ("edge->web", _drop("SecurityGroupIngressRule", "alb-sg-cloudfront"), "alb-sg ingress"),
    (
        "edge->api",
        _edit("core/v1:Service", "api", lambda i: i["spec"]["ports"][0].update(targetPort="metrics")),
        "targetPort",
    ),
    ("edge->web", _drop("SecurityGroupIngressRule", "alb-workloads-from-alb-3000"), "ingress"),
    (
        "api->database",
        _drop("SecurityGroupIngressRule", "database-proxy-sg-from-workloads"),
        "database-proxy-sg ingress",
    ),
    ("api->database", _drop("SecurityGroupEgressRule", "database-proxy-to-db"), "database-proxy-sg egress"),
    ("worker->database", _edit("rds/proxy:Proxy", "database-proxy", lambda i: i["auths"].pop()), "auths"),
    (
        "api->cache",
        _edit("ReplicationGroup", "cache", lambda i: i.update(transitEncryptionEnabled=False)),
        "transitEncryptionEnabled",
    ),
    (
        "worker->cache",
        _edit("NetworkPolicy", "worker", lambda i: i["spec"]["egress"][1]["ports"].pop()),
        "worker spec.egress",
    ),
    (
        "api->secrets",
        _edit_policy("rolePolicy:RolePolicy", "api-secrets", _without_statement("kms:Decrypt")),
        "kms:Decrypt",
    ),
    (
        "worker->secrets",
        _edit_policy(
            "rolePolicy:RolePolicy", "worker-secrets", _without_statement("secretsmanager:GetSecretValue")
        ),
        "secretsmanager:GetSecretValue",
    ),
    ("cluster-on-demand->sts", ENDPOINTS_CLOSED, "network-endpoints ingress"),
    ("cluster-on-demand->ecr.api", ENDPOINTS_CLOSED, "network-endpoints ingress"),
    ("cluster-on-demand->ecr.dkr", ENDPOINTS_CLOSED, "network-endpoints ingress"),
    (
        "cluster-on-demand->s3",
        _all(
            _without_private_default_routes,
            _edit("vpcEndpoint:VpcEndpoint", "network-s3", lambda i: i.update(routeTableIds=[])),
        ),
        "no route from network-private-1 to 0.0.0.0/0",
    ),
    (
        "job-api-migrate->database",
        _edit("NetworkPolicy", "api-migrate", lambda i: i["spec"].update(egress=[])),
        "spec.egress",
    ),
    (
        "alarms->alerts-global",
        _edit_policy("topicPolicy:TopicPolicy", "alerts-global", _without_statement("sns:Publish")),
        "sns:Publish",
    ),
    (
        "cdn-waf->cdn-waf-logs",
        _edit_policy(
            "logResourcePolicy:LogResourcePolicy",
            "cdn-waf-logs",
            _without_statement("logs:PutLogEvents"),
            "policyDocument",
        ),
        "nothing grants delivery.logs.amazonaws.com logs:PutLogEvents",
    ),
    (
        "cdn-access-logs->cdn-access-logs",
        _edit_policy(
            "logResourcePolicy:LogResourcePolicy",
            "cdn-access-logs",
            _without_statement("logs:PutLogEvents"),
            "policyDocument",
        ),
        "nothing grants delivery.logs.amazonaws.com logs:PutLogEvents",
    ),
    (
        "cache->cache-engine-log",
        _edit_policy(
            "logResourcePolicy:LogResourcePolicy",
            "cache",
            _without_statement("logs:PutLogEvents"),
            "policyDocument",
        ),
        "nothing grants delivery.logs.amazonaws.com logs:PutLogEvents",
    ),
    (
        "pod-identity-cluster-autoscaler-cluster-autoscaler",
        _edit_policy(
            "iam/role:Role",
            "cluster-autoscaler",
            lambda d: d["Statement"][0]["Condition"]["StringEquals"].update(
                {"aws:RequestTag/kubernetes-service-account": "default"}
            ),
            key="assumeRolePolicy",
        ),
        "kubernetes-service-account",
    ),
    (
        "pod-identity-cluster-vpc-cni-aws-node",
        _edit("eks/addon:Addon", "cluster-vpc-cni", _foreign_role(0)),
        "is no role",
    ),
    (
        "pod-identity-cluster-amazon-cloudwatch-observability-cloudwatch-agent",
        _edit("eks/addon:Addon", "cluster-amazon-cloudwatch-observability", _foreign_role(0)),
        "is no role",
    ),
    (
        "pod-identity-cluster-aws-ebs-csi-driver-ebs-csi-controller-sa",
        _edit("eks/addon:Addon", "cluster-aws-ebs-csi-driver", _foreign_role(0)),
        "is no role",
    ),
    (
        "deployer-sg-0123456789abcdef0->eks-api",
        _drop("SecurityGroupIngressRule", "cluster-deployer-from-sg-0123456789abcdef0"),
        "cluster-deployer, cluster cluster security group ingress: no rule admits tcp/443 from sg-0123",
    ),
    (
        "job-database-bootstrap->database",
        _edit("NetworkPolicy", "database-bootstrap", lambda i: i["spec"].update(egress=[])),
        "spec.egress",
    ),
    (
        "network-flow-logs->logs",
        _edit_policy("rolePolicy:RolePolicy", "network-flow-logs", _without_statement("logs:PutLogEvents")),
        "logs:PutLogEvents",
    ),
    (
        "alarms->alerts",
        _edit_policy("topicPolicy:TopicPolicy", "alerts", _without_statement("sns:Publish")),
        "sns:Publish",
    ),
    (
        "alb-waf->alb-waf-logs",
        _edit_policy(
            "logResourcePolicy:LogResourcePolicy",
            "alb-waf-logs",
            _without_statement("logs:PutLogEvents"),
            "policyDocument",
        ),
        "nothing grants delivery.logs.amazonaws.com logs:PutLogEvents",
    ),
    (
        "cache->cache-slow-log",
        _edit_policy("kms/key:Key", "logs", lambda d: d["Statement"].pop()),
        "nothing grants logs.eu-west-1.amazonaws.com kms:GenerateDataKey",
    ),
    (
        "pod-identity-aws-load-balancer-controller-aws-load-balancer-controller",
        _edit_policy(
            "iam/role:Role",
            "aws-load-balancer-controller",
            lambda d: d["Statement"][0]["Condition"]["StringEquals"].update(
                {"aws:RequestTag/kubernetes-namespace": "default"}
            ),
            key="assumeRolePolicy",
        ),
        "kubernetes-namespace",
    ),
    (
        "backup->vault",
        _edit_policy(
            "iam/role:Role",
            "backup",
            lambda d: d["Statement"][0].update(Principal={"Service": "ec2.amazonaws.com"}),
            key="assumeRolePolicy",
        ),
        "backup.amazonaws.com",
    ),
    *(
        (
            f"{rule}->alerts",
            _edit_policy("topicPolicy:TopicPolicy", "alerts", _without_sid("EventBridgeRules")),
            "nothing grants events.amazonaws.com sns:Publish",
        )
        for rule in ("backup-job-failed", "copy-job-failed")
    ),
    (
        # Without the key statement, SNS cannot encrypt what the rule publishes, and drops it.
        "restore-job-failed->alerts",
        _edit_policy("kms/key:Key", "alerts", _without_sid("EventBridgeRules")),
        "nothing grants events.amazonaws.com kms:GenerateDataKey",
    ),
    (
        # The DR network's flow logs, in the DR region: the trust policy names that region's flow logs.
        "dr-flow-logs->logs",
        _edit_policy(
            "iam/role:Role",
            "dr-flow-logs",
            lambda d: d["Statement"][0]["Condition"]["ArnLike"].update(
                {"aws:SourceArn": "arn:aws:ec2:eu-west-1:123456789012:vpc-flow-log/*"}
            ),
            key="assumeRolePolicy",
        ),
        "does not let vpc-flow-logs.amazonaws.com sts:AssumeRole",
    ),
    (
        "database-events->alerts",
        _edit_policy("topicPolicy:TopicPolicy", "alerts", _without_sid("RdsEvents")),
        "nothing grants events.rds.amazonaws.com sns:Publish",
    ),
    (
        # https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/ElastiCacheSNS.html
        "cache-notifications->alerts-elasticache",
        _edit("sns/topic:Topic", "alerts-elasticache", lambda i: i.update(kmsMasterKeyId="alias/aws/sns")),
        "ElastiCache cannot publish to it",
    ),
]


def test_every_required_flow_has_a_mutation_that_breaks_it(
    shipped_snapshots: Callable[[str], Snapshot],
) -> None:
    required = {r.id for r in prove(shipped_snapshots("prod")) if r.kind == "required"}
    assert required == {flow for flow, _, _ in REQUIRED_MUTATIONS}


@pytest.mark.parametrize(("flow", "mutation", "named"), REQUIRED_MUTATIONS)
def test_a_mutation_breaks_a_required_flow_at_its_hop(
    flow: str, mutation: Mutation, named: str, shipped_snapshots: Callable[[str], Snapshot]
) -> None:
    # Unmutated, every flow is proven (test_shipped_stacks_prove_every_flow).
    snapshot = shipped_snapshots("prod")
    mutation(snapshot)
    result = _by_id(prove(snapshot))[flow]
    assert result.verdict is Verdict.BROKEN
    assert named in result.reason


def _open_to_the_world(inputs: dict[str, Any]) -> None:
    inputs["vpcConfig"].update(endpointPublicAccess=True, publicAccessCidrs=["0.0.0.0/0"])


def _grant_everything(document: dict[str, Any]) -> None:
    document["Statement"][0]["Resource"] = "*"


_READ_BY_PARTNER = {
    "Effect": "Allow",
    "Principal": {"AWS": "arn:aws:iam::999999999999:root"},
    "Action": "secretsmanager:GetSecretValue",
    "Resource": "*",
}


def test_a_secrets_deny_outside_the_account_outweighs_a_grant_to_one(
    shipped_snapshots: Callable[[str], Snapshot],
) -> None:
    snapshot = shipped_snapshots("prod")
    _edit_policy(
        "secretsmanager/secret:Secret", "jwt-secret", lambda d: d["Statement"].append(_READ_BY_PARTNER)
    )(snapshot)
    assert _by_id(prove(snapshot))["outside-x->secret-jwt-secret"].verdict is Verdict.PROVEN


def _share_with_another_account(document: dict[str, Any]) -> None:
    document["Statement"].append(
        {
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::999999999999:root"},
            "Action": "kms:*",
            "Resource": "*",
        }
    )


FORBIDDEN_MUTATIONS: list[tuple[str, Mutation]] = [
    ("internet-x->cluster:443", _edit("eks/cluster:Cluster", "cluster", _open_to_the_world)),
    ("web-x->imds", _edit("NetworkPolicy", "web", lambda i: i["spec"]["egress"].append({}))),
    ("worker-x->jwt-secret", _edit_policy("rolePolicy:RolePolicy", "worker-secrets", _grant_everything)),
    ("outside-x->secrets", _edit_policy("kms/key:Key", "secrets", _share_with_another_account)),
    (
        "outside-x->secret-jwt-secret",
        _edit_policy(
            "secretsmanager/secret:Secret", "jwt-secret", lambda d: d.update(Statement=[_READ_BY_PARTNER])
        ),
    ),
    (
        "outside-x->bucket-cdn-assets",
        _edit_policy("bucketPolicy:BucketPolicy", "cdn-assets", _share_with_another_account),
    ),
]


@pytest.mark.parametrize(("flow", "mutation"), FORBIDDEN_MUTATIONS)
def test_a_mutation_that_opens_a_forbidden_flow_is_reported(
    flow: str, mutation: Mutation, shipped_snapshots: Callable[[str], Snapshot]
) -> None:
    snapshot = shipped_snapshots("prod")
    mutation(snapshot)
    assert _by_id(prove(snapshot))[flow].verdict is Verdict.BROKEN


@pytest.mark.parametrize("fixture", ["c78210d-prod.json", "c78210d-prod-no-lineage.json"])
def test_the_commit_before_7_fails_for_its_defects(fixture: str) -> None:
    """#7 fixed three wiring defects: the runner could not reach the private API, apps had no database login,
    and role consumers did not wait for their policies. The CLI's JSON (no lineage) cannot see them all.
    The log deliveries fail too: c78210d declared no log resource policy (d22ebd8 added them), leaving it to
    AWS to write one at deploy time, if the deployer may."""
    results = prove(Snapshot.from_preview(json.loads((PREVIEWS / fixture).read_text())))
    failing = {r.id for r in results if r.fails}
    order = {flow for flow in failing if flow.startswith("order:")}
    assert {"deployer->eks-api"} <= failing
    assert "order:cluster-on-demand-after-cluster-nodes-managed-0" in order
    if fixture == "c78210d-prod.json":
        deliveries = {"alb-waf->alb-waf-logs", "cdn-waf->cdn-waf-logs", "cdn-access-logs->cdn-access-logs"}
        deliveries |= {"cache->cache-slow-log", "cache->cache-engine-log"}
        assert failing - order == {"api->database", "worker->database", "deployer->eks-api"} | deliveries
        assert len(order) == 20
        by_id = _by_id(results)
        assert "no Secrets Manager secret for database user api" in by_id["api->database"].reason
        assert "no deployer security group or CIDR" in by_id["deployer->eks-api"].reason


@pytest.fixture(scope="module")
def staging_with_iam_login() -> Snapshot:
    """Staging (no proxy, so apps may mix login modes) with the worker on IAM auth."""
    raw = yaml.safe_load((ROOT / "stacks" / "Pulumi.staging.yaml").read_text())["config"]
    apps = copy.deepcopy(raw["paved:apps"])
    worker = next(app for app in apps if app["name"] == "worker")
    worker["database"] = {**worker.get("database", {}), "auth": "iam"}
    overrides = {"paved:apps": apps}
    recording = run_project(ROOT, "staging", overrides)
    return snapshot_of(recording, load_stack_config(load_project(ROOT), "staging", overrides).values)


def test_iam_login_is_the_pods_role_with_rds_db_connect_on_its_user(staging_with_iam_login: Snapshot) -> None:
    results = _by_id(prove(copy.deepcopy(staging_with_iam_login)))
    login = results["worker->database"]
    assert login.verdict is Verdict.PROVEN, login.reason
    assert any("rds-db:connect" in hop.text and "dbuser:db-" in hop.text for hop in login.evidence)
    assert any(hop.kind == "trust" and "worker/worker" in hop.text for hop in login.evidence)


def test_iam_login_breaks_without_rds_db_connect(staging_with_iam_login: Snapshot) -> None:
    snapshot = copy.deepcopy(staging_with_iam_login)
    _edit_policy("rolePolicy:RolePolicy", "worker-secrets", _without_statement("rds-db:connect"))(snapshot)
    login = _by_id(prove(snapshot))["worker->database"]
    assert login.verdict is Verdict.BROKEN
    assert "rds-db:connect" in login.reason


def test_the_clis_json_of_prod_leaves_links_unresolved_never_broken(
    shipped_recordings: Callable[[str], Any],
) -> None:
    """Under the real CLI (the pack's wiring-proof), what lineage would have traced is unknown: each such
    link is reported unresolved, and nothing fails for want of it."""
    config = load_stack_config(load_project(ROOT), "prod").values
    results = prove(Snapshot.from_preview(cli_json(paved_json(shipped_recordings("prod"), config))))
    assert [r.id for r in results if r.fails] == []
    unresolved = [r for r in results if r.verdict is Verdict.UNRESOLVED]
    assert unresolved and all("unknown" in r.reason or "unresolved" in r.reason for r in unresolved)


def test_flows_as_json_carry_the_evidence(shipped_snapshots: Callable[[str], Snapshot]) -> None:
    document = {flow["id"]: flow for flow in as_json(prove(shipped_snapshots("prod")))}
    deployer = document["deployer-sg-0123456789abcdef0->eks-api"]
    assert deployer["verdict"] == "proven" and deployer["kind"] == "required"
    assert any(hop["kind"] == "sg-rule" and "cluster-deployer" in hop["text"] for hop in deployer["evidence"])
