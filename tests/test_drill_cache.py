"""`paved drill cache` against a moto server over HTTP, through real boto3 clients (boto3 isn't patched).

moto keeps replication groups but no member clusters, and snapshots without their nodes' creation times, so
two reads go through botocore's Stubber on the drill's `reads` client alone:
- `DescribeSnapshots`, for the snapshot's `NodeSnapshots[].SnapshotCreateTime` (the RPO);
- `DescribeCacheClusters`, for the drill group's member: its version, parameter group, subnet group and
  security groups. Its answer names the drill's security group, which exists only once the drill has made
  it, so the test adds that answer when the drill first reads the time after the restore (`now`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from typer.testing import CliRunner

from components.database import DRILL_METRIC_NAMESPACE
from paved.cache_drill import (
    CacheDrillClients,
    cache_drill_identifier,
    cache_source,
    drill_caches,
    run_cache_drill,
)
from paved.cli import app
from paved.drill import DRILL_TAG, STACK_TAG
from tests.moto_resources import vpc_with_subnets

REGION = "eu-west-1"
STACK = "prod"
SOURCE = "paved-prod-cache"
KEY = "arn:aws:kms:eu-west-1:123456789012:key/0f0f0f0f-1111-2222-3333-444455556666"
SNAPSHOT_TIME = datetime(2026, 12, 5, 5, 10, tzinfo=UTC)
REQUESTED = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)


class Clock:
    """Monotonic seconds that advance only when told."""

    def __init__(self) -> None:
        self.seconds = 1000.0

    def __call__(self) -> float:
        return self.seconds


def _client(endpoint: str, service: str) -> Any:
    return boto3.client(service, region_name=REGION, endpoint_url=endpoint)


@pytest.fixture
def prod_cache(aws: str) -> dict[str, Any]:
    """Prod's cache in moto: its subnet group, the encrypted replication group, and a snapshot."""
    ec2, elasticache = _client(aws, "ec2"), _client(aws, "elasticache")
    vpc, subnets = vpc_with_subnets(ec2, REGION)
    elasticache.create_cache_subnet_group(
        CacheSubnetGroupName=SOURCE, CacheSubnetGroupDescription="paved", SubnetIds=subnets
    )
    elasticache.create_replication_group(
        ReplicationGroupId=SOURCE,
        ReplicationGroupDescription="paved prod",
        Engine="valkey",
        EngineVersion="8.0",
        CacheNodeType="cache.r7g.large",
        NumCacheClusters=2,
        CacheParameterGroupName="cache-valkey8",
        CacheSubnetGroupName=SOURCE,
        SecurityGroupIds=["sg-0123456789abcdef0"],
        AtRestEncryptionEnabled=True,
        KmsKeyId=KEY,
        TransitEncryptionEnabled=True,
        AuthToken="a" * 32,
    )
    elasticache.create_snapshot(
        SnapshotName="automatic.paved-prod-cache-2026-12-05-05-10", ReplicationGroupId=SOURCE
    )
    return {"endpoint": aws, "vpc": vpc, "elasticache": elasticache, "ec2": ec2}


def _snapshots_with_times(elasticache: Any) -> dict[str, Any]:
    """moto's own snapshots, each with the node creation time AWS reports."""
    snapshots = elasticache.describe_snapshots(ReplicationGroupId=SOURCE)["Snapshots"]
    for snapshot in snapshots:
        snapshot["NodeSnapshots"] = [{"CacheClusterId": f"{SOURCE}-001", "SnapshotCreateTime": SNAPSHOT_TIME}]
    return {"Snapshots": snapshots}


def _drill_group_id(ec2: Any, drill_id: str) -> str:
    [group] = ec2.describe_security_groups(Filters=[{"Name": f"tag:{DRILL_TAG}", "Values": [drill_id]}])[
        "SecurityGroups"
    ]
    return group["GroupId"]


def _clients(
    cache: dict[str, Any], drill_id: str, *, member: dict[str, Any] | None = None
) -> tuple[CacheDrillClients, Callable[[], datetime]]:
    """The drill's clients, its `reads` stubbed (module docstring), and a `now` that answers the request
    time, then the available time, when it adds the member's answer."""
    endpoint = cache["endpoint"]
    reads = _client(endpoint, "elasticache")
    stubber = Stubber(reads)
    stubber.add_response(
        "describe_snapshots", _snapshots_with_times(cache["elasticache"]), {"ReplicationGroupId": SOURCE}
    )
    stubber.activate()
    times: Iterator[datetime] = iter([REQUESTED, REQUESTED + timedelta(minutes=12)])

    def now() -> datetime:
        moment = next(times)
        if moment != REQUESTED:
            target = cache_drill_identifier(STACK, drill_id)
            described = {
                "CacheClusterId": f"{target}-001",
                "Engine": "valkey",
                "EngineVersion": "8.0",
                "CacheParameterGroup": {"CacheParameterGroupName": "cache-valkey8"},
                "CacheSubnetGroupName": SOURCE,
                "SecurityGroups": [
                    {"SecurityGroupId": _drill_group_id(cache["ec2"], drill_id), "Status": "active"}
                ],
                **(member or {}),
            }
            stubber.add_response(
                "describe_cache_clusters", {"CacheClusters": [described]}, {"CacheClusterId": f"{target}-001"}
            )
        return moment

    clients = CacheDrillClients(
        elasticache=cache["elasticache"],
        ec2=cache["ec2"],
        cloudwatch=_client(endpoint, "cloudwatch"),
        reads=reads,
    )
    return clients, now


def _drill(
    cache: dict[str, Any], drill_id: str, *, keep: bool = False, member: dict[str, Any] | None = None
) -> Any:
    clients, now = _clients(cache, drill_id, member=member)
    source = cache_source(clients, SOURCE)
    clock = Clock()

    def later() -> float:
        clock.seconds += 300  # each look at the clock is five minutes on
        return clock.seconds

    return clients, run_cache_drill(
        clients, STACK, source, drill_id, keep=keep, timeout=3600, now=now, clock=later, sleep=lambda _: None
    )


def test_a_cache_drill_restores_the_latest_snapshot_verifies_measures_and_cleans_up(
    prod_cache: dict[str, Any],
) -> None:
    clients, report = _drill(prod_cache, "c1")
    assert report.succeeded, report.as_markdown()
    # RPO: requested at 09:00, snapshot of 05:10; RTO: the clock read at the request and after the wait.
    assert report.rpo_seconds == (REQUESTED - SNAPSHOT_TIME).total_seconds()
    assert report.rto_seconds == 600
    assert [name for name, _, _ in report.checks] == [
        "engine and version",
        "node type",
        "encrypted at rest with the source's key",
        "TLS and an AUTH token",
        "parameter group",
        "subnet group",
        "only the drill security group",
    ]
    # Its deletion started. moto keeps a deleted group `deleting` for good, so the drill waits out its
    # timeout and leaves the security group, still in use in AWS until the group is gone, to cleanup.
    assert report.deleted
    target = cache_drill_identifier(STACK, "c1")
    [drill] = clients.elasticache.describe_replication_groups(ReplicationGroupId=target)["ReplicationGroups"]
    assert drill["Status"] == "deleting"
    drill_groups = clients.ec2.describe_security_groups(
        Filters=[{"Name": f"tag:{DRILL_TAG}", "Values": ["c1"]}]
    )
    assert drill_groups["SecurityGroups"]
    statistics = clients.cloudwatch.get_metric_statistics(
        Namespace=DRILL_METRIC_NAMESPACE,
        MetricName="Success",
        Dimensions=[{"Name": "Stack", "Value": STACK}, {"Name": "ReplicationGroup", "Value": SOURCE}],
        StartTime="2000-01-01T00:00:00Z",
        EndTime="2100-01-01T00:00:00Z",
        Period=60,
        Statistics=["Maximum"],
    )
    assert [point["Maximum"] for point in statistics["Datapoints"]] == [1.0]


def test_the_restore_passes_every_setting_it_would_otherwise_default(prod_cache: dict[str, Any]) -> None:
    clients, report = _drill(prod_cache, "c2", keep=True)
    [group] = clients.elasticache.describe_replication_groups(ReplicationGroupId=report.target)[
        "ReplicationGroups"
    ]
    assert (group["AtRestEncryptionEnabled"], group["KmsKeyId"]) == (True, KEY)
    assert (group["TransitEncryptionEnabled"], group["AuthTokenEnabled"]) == (True, True)
    assert group["CacheNodeType"] == "cache.r7g.large"
    tags = clients.elasticache.list_tags_for_resource(ResourceName=group["ARN"])["TagList"]
    assert {tag["Key"]: tag["Value"] for tag in tags} == {DRILL_TAG: "c2", STACK_TAG: STACK}
    assert not report.deleted
    # Kept, it is what cleanup finds: a drill of this stack.
    assert [cache.group_id for cache in drill_caches(clients.elasticache, STACK)] == [report.target]


def test_a_copy_that_differs_from_its_source_fails_the_drill(prod_cache: dict[str, Any]) -> None:
    _, report = _drill(
        prod_cache, "c3", member={"CacheParameterGroup": {"CacheParameterGroupName": "default.valkey8"}}
    )
    assert not report.succeeded
    assert [name for name, passed, _ in report.checks if not passed] == ["parameter group"]


def test_cleanup_removes_the_stacks_drill_caches_and_nothing_else(prod_cache: dict[str, Any]) -> None:
    # A drill group alone, its security group already gone: cleanup has nothing to wait for.
    prod_cache["elasticache"].create_replication_group(
        ReplicationGroupId=cache_drill_identifier(STACK, "c4"),
        ReplicationGroupDescription="paved restore drill c4 of stack prod",
        Engine="valkey",
        CacheNodeType="cache.r7g.large",
        Tags=[{"Key": DRILL_TAG, "Value": "c4"}, {"Key": STACK_TAG, "Value": STACK}],
    )
    result = CliRunner().invoke(
        app,
        [
            "drill",
            "cleanup",
            "--stack",
            STACK,
            "--region",
            REGION,
            "--endpoint-url",
            prod_cache["endpoint"],
            "--yes",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "1 drill cache" in result.stdout.splitlines()[0]
    statuses = {
        g["ReplicationGroupId"]: g["Status"]
        for g in prod_cache["elasticache"].describe_replication_groups()["ReplicationGroups"]
    }
    assert statuses == {SOURCE: "available", cache_drill_identifier(STACK, "c4"): "deleting"}


def test_a_cache_without_snapshots_is_refused_before_anything_is_made(aws: str) -> None:
    elasticache = _client(aws, "elasticache")
    elasticache.create_replication_group(
        ReplicationGroupId=SOURCE,
        ReplicationGroupDescription="paved prod",
        Engine="valkey",
        CacheNodeType="cache.t4g.small",
    )
    result = CliRunner().invoke(
        app,
        [
            "drill",
            "cache",
            "--stack",
            STACK,
            "--group",
            SOURCE,
            "--region",
            REGION,
            "--endpoint-url",
            aws,
            "--yes",
        ],
    )
    assert result.exit_code == 1
    assert f"the cache {SOURCE} has no available snapshot to restore" in result.stderr
    assert [
        g["ReplicationGroupId"] for g in elasticache.describe_replication_groups()["ReplicationGroups"]
    ] == [SOURCE]
