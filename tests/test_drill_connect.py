"""`paved drill restore --connect`: the Job's objects against Kubernetes' own schemas (kubernetes-validate,
strict, at the stack's cluster version), and the check's AWS side against a moto server over HTTP.

There is no Kubernetes API server here, so the cluster is `RecordingCluster`: it records what the check
creates, resumes and deletes, and answers the Job's outcome the test scripts. What it stands in for is
`paved.drill_connect.KubernetesCluster`, a thin adapter on the official client.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import boto3
import kubernetes_validate
import pytest

from paved.config import load_stack_file
from paved.drill import DRILL_TAG, STACK_TAG, DrillClients, drill_identifier
from paved.drill_connect import (
    CHECK_NAME,
    DRILL_LABEL,
    ConnectCheck,
    Target,
    connect_check,
    job_manifest,
    owned_manifests,
)
from tests.clock import Clock
from tests.moto_resources import postgres_instance, vpc_with_subnets

ROOT = Path(__file__).resolve().parents[1]
REGION = "eu-west-1"
TARGET = Target(
    host="paved-prod-database-drill-d1.abc.eu-west-1.rds.amazonaws.com",
    port=5432,
    user="paved",
    cidrs=("10.0.0.0/24", "10.0.1.0/24"),
    engine_version="16.4",
)


def _objects() -> list[dict[str, Any]]:
    job = job_manifest("d1", "prod", "api", TARGET)
    return [job, *owned_manifests("d1", "prod", "api", TARGET, "secret-password", "uid-of-the-job")]


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_the_objects_pass_strict_kubernetes_validation_at_the_cluster_version(stack: str) -> None:
    version = f"{load_stack_file(ROOT / 'stacks' / f'Pulumi.{stack}.yaml', stack).cluster.version}.0"
    for manifest in _objects():
        kubernetes_validate.validate(manifest, version, strict=True)


def test_the_job_meets_the_restricted_profile_and_starts_only_when_resumed() -> None:
    job = _objects()[0]
    spec = job["spec"]
    assert spec["suspend"] is True and spec["backoffLimit"] == 0 and spec["ttlSecondsAfterFinished"] > 0
    pod = spec["template"]["spec"]
    assert pod["automountServiceAccountToken"] is False
    [container] = pod["containers"]
    context = container["securityContext"]
    assert context["allowPrivilegeEscalation"] is False and context["capabilities"] == {"drop": ["ALL"]}
    assert context["runAsNonRoot"] is True and context["seccompProfile"] == {"type": "RuntimeDefault"}
    assert container["image"] == "public.ecr.aws/docker/library/postgres:16-alpine"
    env = {item["name"]: item for item in container["env"]}
    assert env["PGSSLMODE"]["value"] == "require"
    assert env["PGPASSWORD"]["valueFrom"] == {"secretKeyRef": {"name": "paved-drill-d1", "key": "password"}}
    assert "value" not in env["PGPASSWORD"]  # the password is in the Secret only


def test_the_pod_reaches_dns_and_the_instance_subnets_on_its_port_and_nothing_reaches_it() -> None:
    _, secret, policy = _objects()
    for owned in (secret, policy):
        [owner] = owned["metadata"]["ownerReferences"]
        assert (owner["kind"], owner["name"], owner["uid"]) == ("Job", "paved-drill-d1", "uid-of-the-job")
    spec = policy["spec"]
    assert spec["podSelector"] == {"matchLabels": {DRILL_LABEL: "d1"}}
    assert spec["policyTypes"] == ["Ingress", "Egress"] and "ingress" not in spec
    dns, database = spec["egress"]
    assert {port["port"] for port in dns["ports"]} == {53}
    assert database == {
        "to": [{"ipBlock": {"cidr": "10.0.0.0/24"}}, {"ipBlock": {"cidr": "10.0.1.0/24"}}],
        "ports": [{"port": 5432, "protocol": "TCP"}],
    }


class RecordingCluster:
    def __init__(self, outcome: tuple[str, str], polls_before_done: int = 0) -> None:
        self.outcome = outcome
        self.polls_before_done = polls_before_done
        self.created: list[Mapping[str, Any]] = []
        self.calls: list[str] = []

    def create(self, manifest: Mapping[str, Any]) -> str:
        self.created.append(manifest)
        self.calls.append(f"create {manifest['kind']}")
        return "uid-1"

    def resume_job(self, namespace: str, name: str) -> None:
        self.calls.append(f"resume {namespace}/{name}")

    def job_outcome(self, namespace: str, name: str) -> tuple[str, str]:
        if self.polls_before_done:
            self.polls_before_done -= 1
            return "", ""
        return self.outcome

    def delete_job(self, namespace: str, name: str) -> None:
        self.calls.append(f"delete {namespace}/{name}")


@pytest.fixture
def drill(aws: str) -> tuple[DrillClients, str, str]:
    """A restored drill instance carrying its tags, behind its empty drill group; and the apps' group."""
    session = {"region_name": REGION, "endpoint_url": aws}
    clients = DrillClients(
        rds=boto3.client("rds", **session),
        ec2=boto3.client("ec2", **session),
        cloudwatch=boto3.client("cloudwatch", **session),
    )
    vpc, subnets = vpc_with_subnets(clients.ec2, REGION)
    clients.rds.create_db_subnet_group(
        DBSubnetGroupName="database-subnets", DBSubnetGroupDescription="isolated", SubnetIds=subnets
    )
    workloads = clients.ec2.create_security_group(GroupName="workloads", Description="apps", VpcId=vpc)
    group = clients.ec2.create_security_group(GroupName="paved-drill-prod-d1", Description="drill", VpcId=vpc)
    postgres_instance(
        clients.rds,
        drill_identifier("paved-prod-database", "d1"),
        EngineVersion="16.4",
        DBSubnetGroupName="database-subnets",
        VpcSecurityGroupIds=[group["GroupId"]],
        Tags=[{"Key": DRILL_TAG, "Value": "d1"}, {"Key": STACK_TAG, "Value": "prod"}],
    )
    return clients, workloads["GroupId"], group["GroupId"]


def _check(
    drill: tuple[DrillClients, str, str], cluster: RecordingCluster, instance: str | None = None
) -> Any:
    clients, workloads, group = drill
    clock = Clock()
    return connect_check(
        ConnectCheck(cluster, "api", workloads),
        clients,
        "prod",
        "d1",
        instance or drill_identifier("paved-prod-database", "d1"),
        group,
        timeout=600,
        clock=clock,
        sleep=clock.sleep,
    )


def test_a_job_that_prints_1_passes_and_the_drill_group_admits_the_apps_group_only(
    drill: tuple[DrillClients, str, str],
) -> None:
    clients, workloads, group = drill
    cluster = RecordingCluster(("Complete", "1\n"), polls_before_done=2)
    name, passed, detail = _check(drill, cluster)
    assert (name, passed) == (CHECK_NAME, True), detail
    # Order: the Job suspended, then what it owns, then resumed; deleted at the end.
    assert cluster.calls == [
        "create Job",
        "create Secret",
        "create NetworkPolicy",
        "resume api/paved-drill-d1",
        "delete api/paved-drill-d1",
    ]
    job, secret, _ = cluster.created
    password = secret["stringData"]["password"]
    assert len(password) >= 32
    env = {
        item["name"]: item.get("value") for item in job["spec"]["template"]["spec"]["containers"][0]["env"]
    }
    [instance] = clients.rds.describe_db_instances(
        DBInstanceIdentifier=drill_identifier("paved-prod-database", "d1")
    )["DBInstances"]
    assert env["PGHOST"] == instance["Endpoint"]["Address"] and env["PGUSER"] == "paved"
    [rules] = [
        g["IpPermissions"] for g in clients.ec2.describe_security_groups(GroupIds=[group])["SecurityGroups"]
    ]
    assert [(r["FromPort"], r["ToPort"], [p["GroupId"] for p in r["UserIdGroupPairs"]]) for r in rules] == [
        (5432, 5432, [workloads])
    ]
    assert rules[0]["IpRanges"] == []


def test_a_failed_job_fails_the_check_with_its_log_and_is_deleted(
    drill: tuple[DrillClients, str, str],
) -> None:
    cluster = RecordingCluster(("Failed", "psql: error: connection timed out\n"))
    _, passed, detail = _check(drill, cluster)
    assert not passed and "connection timed out" in detail
    assert cluster.calls[-1] == "delete api/paved-drill-d1"


def test_a_job_that_never_ends_fails_the_check_and_is_deleted(drill: tuple[DrillClients, str, str]) -> None:
    cluster = RecordingCluster(("Complete", "1"), polls_before_done=10_000)
    _, passed, detail = _check(drill, cluster)
    assert not passed and "not done within" in detail
    assert cluster.calls[-1] == "delete api/paved-drill-d1"


def test_an_instance_without_the_drill_tags_keeps_its_password_and_no_job_runs(
    drill: tuple[DrillClients, str, str],
) -> None:
    clients, _, _ = drill
    postgres_instance(clients.rds, "someone-elses")
    cluster = RecordingCluster(("Complete", "1"))
    _, passed, detail = _check(drill, cluster, "someone-elses")
    assert not passed and "does not carry this drill's tags" in detail
    assert cluster.calls == []
