"""Cache restore drills (issue #17): the stack's latest Valkey snapshot restored into a temporary
replication group, verified, measured, and removed.

The restore is a CreateReplicationGroup from the snapshot. Everything it is not given falls back to
defaults (the default subnet group, the VPC's default security group, no encryption), and at-rest encryption
can only be set at creation, so the drill passes all of it: the source's subnet group and parameter group, a
drill security group that admits nothing, TLS with a new AUTH token, and at-rest encryption with the
source's key. The group carries the drill tags, and only a group carrying them is deleted (by the drill, or
by `paved drill cleanup` after an interrupted one).

Snapshots and member clusters are read through `CacheDrillClients.reads`, the same client in use: moto
(the tests' AWS) has no member clusters and no snapshot times, so the tests stub those reads alone.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from paved.drill import (
    DRILL_TAG,
    STACK_TAG,
    DrillError,
    DrillGroup,
    DrillReport,
    DrillSteps,
    Outcome,
    delete_group,
    drill_security_group,
    drill_tags,
    error_text,
    run_drill,
    wait_for,
)

# ReplicationGroupId: 1-40 lowercase letters, digits and hyphens, starting with a letter, no "--", no
# trailing hyphen (CreateReplicationGroup's doc; botocore does not check it).
_GROUP_ID_LIMIT = 40
# Orders a snapshot without a creation time (moto's) before every dated one.
_UNKNOWN_TIME = datetime.min.replace(tzinfo=UTC)


@dataclass(frozen=True)
class CacheSource:
    """The stack's replication group, and the snapshot the drill restores."""

    group_id: str
    arn: str
    engine: str
    engine_version: str
    node_type: str
    parameter_group: str
    subnet_group: str
    vpc_id: str
    kms_key_id: str
    snapshot: str
    snapshot_time: datetime | None


@dataclass(frozen=True)
class CacheDrillClients:
    elasticache: Any
    ec2: Any
    cloudwatch: Any
    # DescribeSnapshots and DescribeCacheClusters (module docstring); the elasticache client in use.
    reads: Any


def _snapshot_time(snapshot: dict[str, Any]) -> datetime | None:
    times = [node.get("SnapshotCreateTime") for node in snapshot.get("NodeSnapshots") or []]
    return min((moment for moment in times if moment is not None), default=None)


def cache_source(clients: CacheDrillClients, group_id: str) -> CacheSource:
    """The group and its latest available snapshot (automatic or manual); DrillError when there is none."""
    try:
        [group] = clients.elasticache.describe_replication_groups(ReplicationGroupId=group_id)[
            "ReplicationGroups"
        ]
        snapshots = [
            snapshot
            for page in clients.reads.get_paginator("describe_snapshots").paginate(
                ReplicationGroupId=group_id
            )
            for snapshot in page.get("Snapshots", [])
            if snapshot.get("SnapshotStatus") == "available"
        ]
        if not snapshots:
            raise DrillError(f"the cache {group_id} has no available snapshot to restore")
        latest = max(snapshots, key=lambda s: (_snapshot_time(s) or _UNKNOWN_TIME, s["SnapshotName"]))
        [subnet_group] = clients.elasticache.describe_cache_subnet_groups(
            CacheSubnetGroupName=latest["CacheSubnetGroupName"]
        )["CacheSubnetGroups"]
    except ClientError as error:
        raise DrillError(f"cannot read the stack's cache {group_id}: {error_text(error)}") from None
    return CacheSource(
        group_id=group_id,
        arn=group.get("ARN", ""),
        engine=latest.get("Engine") or group.get("Engine", ""),
        engine_version=_minor(latest.get("EngineVersion", "")),
        node_type=group.get("CacheNodeType") or latest.get("CacheNodeType", ""),
        parameter_group=latest.get("CacheParameterGroupName", ""),
        subnet_group=latest["CacheSubnetGroupName"],
        vpc_id=subnet_group.get("VpcId", ""),
        kms_key_id=group.get("KmsKeyId", ""),
        snapshot=latest["SnapshotName"],
        snapshot_time=_snapshot_time(latest),
    )


def _minor(version: str) -> str:
    """`major.minor` of an engine version: a snapshot may report the patch level, which
    CreateReplicationGroup refuses from Redis OSS 6 on ("Specific version selection is not allowed")."""
    return ".".join(version.split(".")[:2])


def cache_drill_identifier(stack: str, drill_id: str) -> str:
    """`drill-<stack hash>-<drill id>`: within 40 characters for any stack, and distinct per stack."""
    identifier = f"drill-{hashlib.sha256(stack.encode()).hexdigest()[:6]}-{drill_id}"
    return identifier[:_GROUP_ID_LIMIT].rstrip("-")


def cache_plan_lines(source: CacheSource, target: str, keep: bool) -> Iterator[str]:
    yield (
        f"Cache restore drill: snapshot {source.snapshot} of {source.group_id}, as a new replication group "
        f"{target}"
    )
    yield (
        f"  {source.engine} {source.engine_version} on one {source.node_type} node, in subnet group "
        f"{source.subnet_group} (VPC {source.vpc_id}) with parameter group {source.parameter_group}"
    )
    yield "  TLS required with a new AUTH token, encrypted at rest with the source's key"
    yield "  behind a new drill security group that admits nothing, tagged like the group"
    yield (
        "  then keep the drill group (--keep)"
        if keep
        else "  then delete the drill group (no final snapshot: it is a copy of one) and its security group"
    )


def _auth_token() -> str:
    # AUTH tokens: 16 to 128 printable characters, no @, " or / (CreateReplicationGroup); hex has none.
    return secrets.token_hex(32)


def verify_cache(
    clients: CacheDrillClients, target: str, source: CacheSource, security_group: str
) -> list[tuple[str, bool, str]]:
    """What the restore had to get right, read back from the group and its member cluster."""
    [group] = clients.elasticache.describe_replication_groups(ReplicationGroupId=target)["ReplicationGroups"]
    members = group.get("MemberClusters") or []
    [member] = (
        clients.reads.describe_cache_clusters(CacheClusterId=members[0])["CacheClusters"] if members else [{}]
    )
    groups = [g.get("SecurityGroupId") for g in member.get("SecurityGroups") or []]
    version = f"{member.get('Engine')} {_minor(str(member.get('EngineVersion')))}"
    return [
        ("engine and version", version == f"{source.engine} {source.engine_version}", version),
        ("node type", group.get("CacheNodeType") == source.node_type, str(group.get("CacheNodeType"))),
        (
            "encrypted at rest with the source's key",
            bool(group.get("AtRestEncryptionEnabled")) and group.get("KmsKeyId") == source.kms_key_id,
            str(group.get("KmsKeyId") or "not encrypted"),
        ),
        (
            "TLS and an AUTH token",
            bool(group.get("TransitEncryptionEnabled")) and bool(group.get("AuthTokenEnabled")),
            f"TLS {group.get('TransitEncryptionEnabled')}, AUTH {group.get('AuthTokenEnabled')}",
        ),
        (
            "parameter group",
            (member.get("CacheParameterGroup") or {}).get("CacheParameterGroupName")
            == source.parameter_group,
            str((member.get("CacheParameterGroup") or {}).get("CacheParameterGroupName")),
        ),
        (
            "subnet group",
            member.get("CacheSubnetGroupName") == source.subnet_group,
            str(member.get("CacheSubnetGroupName")),
        ),
        ("only the drill security group", groups == [security_group], ", ".join(map(str, groups))),
    ]


def run_cache_drill(
    clients: CacheDrillClients,
    stack: str,
    source: CacheSource,
    drill_id: str,
    *,
    keep: bool,
    timeout: float,
    now: Callable[[], datetime],
    clock: Callable[[], float],
    sleep: Callable[[float], None] = time.sleep,
) -> DrillReport:
    """Restore the snapshot, wait, verify, measure, report metrics, and (unless `keep`) delete the drill's
    own group and security group, and nothing that isn't tagged as this stack's drill."""
    elasticache = clients.elasticache
    target = cache_drill_identifier(stack, drill_id)
    report = DrillReport(
        stack=stack,
        drill_id=drill_id,
        source=source.group_id,
        target=target,
        region=elasticache.meta.region_name,
        restore_point=f"snapshot {source.snapshot}",
        kind="cache",
    )
    group = drill_security_group(clients.ec2, source.vpc_id, stack, drill_id)

    def restore() -> None:
        elasticache.create_replication_group(
            ReplicationGroupId=target,
            ReplicationGroupDescription=f"paved restore drill {drill_id} of stack {stack}",
            SnapshotName=source.snapshot,
            Engine=source.engine,
            EngineVersion=source.engine_version,
            CacheNodeType=source.node_type,
            NumCacheClusters=1,
            AutomaticFailoverEnabled=False,
            MultiAZEnabled=False,
            CacheParameterGroupName=source.parameter_group,
            CacheSubnetGroupName=source.subnet_group,
            SecurityGroupIds=[group],
            AtRestEncryptionEnabled=True,
            KmsKeyId=source.kms_key_id,
            TransitEncryptionEnabled=True,
            AuthToken=_auth_token(),
            SnapshotRetentionLimit=0,
            Tags=drill_tags(stack, drill_id),
        )

    def wait(waiter: str) -> str:
        return wait_for(
            elasticache.get_waiter(waiter),
            lambda: elasticache.describe_replication_groups(ReplicationGroupId=target),
            lambda response: str(response["ReplicationGroups"][0].get("Status")),
            timeout=timeout,
            clock=clock,
            sleep=sleep,
        )

    return run_drill(
        report,
        DrillSteps(
            recovery_point=lambda: source.snapshot_time,
            restore=restore,
            wait=lambda: wait("replication_group_available"),
            verify=lambda: verify_cache(clients, target, source, group),
            delete=lambda: _delete_cache_drill(
                clients, stack, target, group, wait_deleted=lambda: wait("replication_group_deleted")
            ),
        ),
        cloudwatch=clients.cloudwatch,
        keep=keep,
        now=now,
        clock=clock,
    )


@dataclass(frozen=True)
class DrillCache:
    group_id: str
    drill_id: str
    status: str


def drill_caches(elasticache: Any, stack: str) -> list[DrillCache]:
    """Every replication group tagged as a drill of `stack`, in id order."""
    found = []
    for page in elasticache.get_paginator("describe_replication_groups").paginate():
        for group in page.get("ReplicationGroups", []):
            tags = {
                tag["Key"]: tag["Value"]
                for tag in elasticache.list_tags_for_resource(ResourceName=group["ARN"]).get("TagList", [])
            }
            if DRILL_TAG in tags and tags.get(STACK_TAG) == stack:
                found.append(
                    DrillCache(group["ReplicationGroupId"], tags[DRILL_TAG], group.get("Status", ""))
                )
    return sorted(found, key=lambda cache: cache.group_id)


def clean_up_cache(elasticache: Any, cache: DrillCache) -> Outcome:
    """Delete one drill group, without a final snapshot; one already deleting or gone is not a failure."""
    if cache.status == "deleting":
        return Outcome(cache.group_id, "already deleting")
    try:
        elasticache.delete_replication_group(ReplicationGroupId=cache.group_id)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ReplicationGroupNotFoundFault":
            return Outcome(cache.group_id, "already gone")
        return Outcome(cache.group_id, f"failed: {error_text(error)}", failed=True)
    except BotoCoreError as error:
        return Outcome(cache.group_id, f"failed: {error_text(error)}", failed=True)
    return Outcome(cache.group_id, "deleting")


def _delete_cache_drill(
    clients: CacheDrillClients, stack: str, target: str, group: str, *, wait_deleted: Callable[[], str]
) -> bool:
    """Delete the drill group (only when it carries this stack's drill tags), then, once it is gone, its
    security group; a group still deleting when `wait_deleted` gives up leaves the security group to
    `paved drill cleanup`. True when the group's deletion started."""
    mine = [cache for cache in drill_caches(clients.elasticache, stack) if cache.group_id == target]
    if not mine or clean_up_cache(clients.elasticache, mine[0]).failed:
        return False
    if not wait_deleted():
        delete_group(clients.ec2, DrillGroup(group, "", ""))
    return True
