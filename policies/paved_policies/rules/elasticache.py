"""ElastiCache (Redis OSS / Valkey) rules: replication groups, and standalone cache clusters where AWS's
controls judge them too.

A cache cluster with `replicationGroupId` is a member of that group and takes its engine, backups, subnet
group and upgrade settings from it, so the rules judge the group and mark the member not applicable. The
`fsbp` ids are AWS Security Hub controls (https://docs.aws.amazon.com/securityhub/latest/userguide/elasticache-controls.html).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from paved_policies.props import (
    UNKNOWN,
    as_seq,
    get,
    get_bool,
    get_flag,
    get_int,
    get_text,
    has_item,
    has_value,
    peek,
    peek_items,
)
from paved_policies.rule import (
    Finding,
    ResourceContext,
    compliant,
    not_applicable,
    resource_rule,
    violation,
)

REPLICATION_GROUP = "aws:elasticache/replicationGroup:ReplicationGroup"
CACHE_CLUSTER = "aws:elasticache/cluster:Cluster"

# 7 days of daily snapshots: a week to notice a bad write and restore before it. AWS allows 0-35.
MIN_SNAPSHOT_RETENTION_DAYS = 7
# The subnet group ElastiCache falls back to: the default VPC's subnets.
DEFAULT_SUBNET_GROUP = "default"


def _name(ctx: ResourceContext) -> str:
    kind = "Cache cluster" if ctx.resource_type == CACHE_CLUSTER else "Replication group"
    return f"{kind} '{ctx.name}'"


def _group_member(props: Mapping[str, Any], ctx: ResourceContext) -> Finding | None:
    """Not applicable to a cache cluster of a replication group, which is judged through the group."""
    if ctx.resource_type == CACHE_CLUSTER and has_value(props, "replicationGroupId"):
        return not_applicable(f"{_name(ctx)} belongs to a replication group, whose settings it takes")
    return None


def _unless_redis(props: Mapping[str, Any], ctx: ResourceContext) -> Finding | None:
    """Not applicable to a group member or a Memcached cluster: the controls judge Redis OSS and Valkey."""
    member = _group_member(props, ctx)
    if member:
        return member
    # A replication group's engine defaults to redis; a standalone cluster's is required.
    engine = (get_text(props, "engine") or "redis").lower()
    if engine == "memcached":
        return not_applicable(f"{_name(ctx)} runs Memcached")
    return None


@resource_rule(
    name="elasticache-transit-encryption",
    description="ElastiCache replication groups require TLS for every connection.",
    severity="high",
    remediation=(
        "Set transit_encryption_enabled=True and leave transit_encryption_mode unset or 'required' "
        "('preferred' still accepts plaintext clients; use it only while migrating)."
    ),
    resource_types=(REPLICATION_GROUP,),
    checkov=("CKV_AWS_30",),
    cdk_nag=("AwsSolutions-AEC3", "ElastiCacheRedisClusterEncryption"),
    fsbp=("ElastiCache.5",),
    url="https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/in-transit-encryption.html",
)
def elasticache_transit_encryption(props: Mapping[str, Any], ctx: ResourceContext) -> Finding:
    if get_bool(props, "transitEncryptionEnabled") is not True:
        return violation(f"{_name(ctx)} does not set transitEncryptionEnabled to true.")
    mode = get_text(props, "transitEncryptionMode")
    if mode is not None and mode.lower() != "required":
        return violation(f"{_name(ctx)} has transitEncryptionMode '{mode}', which accepts plaintext clients.")
    return compliant()


@resource_rule(
    name="elasticache-at-rest-encryption-cmk",
    description="ElastiCache replication groups encrypt data at rest with a customer managed KMS key.",
    severity="high",
    remediation=(
        "Set at_rest_encryption_enabled=True and kms_key_id to a customer managed KMS key ARN; both can "
        "only be chosen when the group is created."
    ),
    resource_types=(REPLICATION_GROUP,),
    checkov=("CKV_AWS_29", "CKV_AWS_191"),
    cdk_nag=("AwsSolutions-AEC3", "ElastiCacheRedisClusterEncryption"),
    fsbp=("ElastiCache.4",),
    url="https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/at-rest-encryption.html",
)
def elasticache_at_rest_encryption_cmk(props: Mapping[str, Any], ctx: ResourceContext) -> Finding:
    problems = []
    # atRestEncryptionEnabled defaults to true only for Valkey; for Redis OSS (the default engine,
    # pulumi-aws ReplicationGroup docs) it defaults to false, so there it must be set explicitly.
    enabled = get_bool(props, "atRestEncryptionEnabled")
    if enabled is False:
        problems.append("atRestEncryptionEnabled is false")
    elif enabled is None and (get_text(props, "engine") or "redis").lower() != "valkey":
        problems.append("atRestEncryptionEnabled is unset, which means false for Redis OSS")
    if not has_value(props, "kmsKeyId"):
        problems.append("kmsKeyId is unset, so ElastiCache would use an AWS owned key")
    if not problems:
        return compliant()
    return violation(f"{_name(ctx)}: {' and '.join(problems)}.")


@resource_rule(
    name="elasticache-auth",
    description="ElastiCache replication groups authenticate clients (AUTH token or RBAC user groups).",
    severity="high",
    remediation=(
        "Set auth_token_wo (with auth_token_wo_version) to a token kept in Secrets Manager, or "
        "user_group_ids for role-based access control. Both need transit encryption."
    ),
    resource_types=(REPLICATION_GROUP,),
    checkov=("CKV_AWS_31",),
    cdk_nag=("AwsSolutions-AEC6", "ElastiCacheRedisClusterRedisAuth"),
    fsbp=("ElastiCache.6",),
    url="https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/auth.html",
)
def elasticache_auth(props: Mapping[str, Any], ctx: ResourceContext) -> Finding:
    if has_value(props, "authToken") or has_value(props, "authTokenWo") or has_item(props, "userGroupIds"):
        return compliant()
    return violation(f"{_name(ctx)} lets any client in: no authToken, authTokenWo or userGroupIds.")


@resource_rule(
    name="elasticache-automatic-failover",
    description="ElastiCache replication groups span AZs with automatic failover.",
    severity="medium",
    remediation=(
        "Set automatic_failover_enabled=True and multi_az_enabled=True with at least one replica "
        "(num_cache_clusters >= 2, or replicas_per_node_group >= 1) in another AZ."
    ),
    resource_types=(REPLICATION_GROUP,),
    checkov=("CKV2_AWS_50",),
    cdk_nag=("AwsSolutions-AEC4", "ElastiCacheRedisClusterMultiAZ"),
    fsbp=("ElastiCache.3",),
    staging_enforcement="advisory",
    url="https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/AutoFailover.html",
)
def elasticache_automatic_failover(props: Mapping[str, Any], ctx: ResourceContext) -> Finding:
    # Both default to false.
    missing = [
        key for key in ("automaticFailoverEnabled", "multiAzEnabled") if get_bool(props, key) is not True
    ]
    if not missing:
        return compliant()
    return violation(f"{_name(ctx)} does not set {' and '.join(missing)} to true.")


@resource_rule(
    name="elasticache-snapshot-retention",
    description=(
        f"ElastiCache replication groups and Redis OSS/Valkey cache clusters keep automatic snapshots for at "
        f"least {MIN_SNAPSHOT_RETENTION_DAYS} days."
    ),
    severity="medium",
    remediation=(
        f"Set snapshot_retention_limit to {MIN_SNAPSHOT_RETENTION_DAYS} or more days (0, the default, "
        "turns automatic backups off) and a snapshot_window."
    ),
    resource_types=(REPLICATION_GROUP, CACHE_CLUSTER),
    # cdk-nag's rule asks for 15 days; checkov's CKV_AWS_134 (> 0) covers aws_elasticache_cluster.
    checkov=("CKV_AWS_134",),
    cdk_nag=("ElastiCacheRedisClusterAutomaticBackup",),
    fsbp=("ElastiCache.1",),
    staging_enforcement="advisory",
    url="https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/backups-automatic.html",
)
def elasticache_snapshot_retention(props: Mapping[str, Any], ctx: ResourceContext) -> Finding:
    # Memcached has no backups (ElastiCache.1 is about Redis OSS and Valkey).
    not_redis = _unless_redis(props, ctx)
    if not_redis:
        return not_redis
    days = get_int(props, "snapshotRetentionLimit")
    if days is not None and days >= MIN_SNAPSHOT_RETENTION_DAYS:
        return compliant()
    shown = "unset (no automatic backups)" if days is None else f"{days} days"
    return violation(
        f"{_name(ctx)} keeps snapshots for {shown}; at least {MIN_SNAPSHOT_RETENTION_DAYS} days are "
        "required (snapshotRetentionLimit)."
    )


@resource_rule(
    name="elasticache-not-default-subnet-group",
    description="ElastiCache replication groups and cache clusters use a subnet group of their own.",
    severity="medium",
    remediation=(
        "Create an aws.elasticache.SubnetGroup of private subnets and pass its name as subnet_group_name."
    ),
    resource_types=(REPLICATION_GROUP, CACHE_CLUSTER),
    checkov=("CKV_AWS_323",),
    cdk_nag=("AwsSolutions-AEC1", "ElastiCacheClusterInVPC"),
    fsbp=("ElastiCache.7",),
    url="https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/SubnetGroups.html",
)
def elasticache_not_default_subnet_group(props: Mapping[str, Any], ctx: ResourceContext) -> Finding:
    member = _group_member(props, ctx)
    if member:
        return member
    if not has_value(props, "subnetGroupName"):
        return violation(f"{_name(ctx)} has no subnetGroupName, so it lands in the default subnet group.")
    # An unknown name is a SubnetGroup resource's output: a group the program declares, which is never
    # the 'default' group (ElastiCache creates that one itself).
    name = peek(lambda: get_text(props, "subnetGroupName"))
    if isinstance(name, str) and name.lower() == DEFAULT_SUBNET_GROUP:
        return violation(f"{_name(ctx)} uses the '{DEFAULT_SUBNET_GROUP}' subnet group.")
    return compliant()


@resource_rule(
    name="elasticache-auto-minor-upgrade",
    description="ElastiCache Redis OSS/Valkey replication groups and cache clusters take minor upgrades.",
    severity="high",
    remediation=(
        "Leave auto_minor_version_upgrade at its default (true; 'true' on aws.elasticache.Cluster) and set a "
        "maintenance_window."
    ),
    resource_types=(REPLICATION_GROUP, CACHE_CLUSTER),
    # A replication group's setting is its cache clusters', which the control judges; Memcached has none.
    fsbp=("ElastiCache.2",),
    url="https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/VersionManagement.html",
)
def elasticache_auto_minor_upgrade(props: Mapping[str, Any], ctx: ResourceContext) -> Finding:
    not_redis = _unless_redis(props, ctx)
    if not_redis:
        return not_redis
    # Defaults to true on both (pulumi-aws Cluster "Defaults to `true`"; ReplicationGroup: AWS sets true).
    if get_flag(props, "autoMinorVersionUpgrade") is not False:
        return compliant()
    return violation(f"{_name(ctx)} sets autoMinorVersionUpgrade to false.")


@resource_rule(
    name="elasticache-log-delivery",
    description="ElastiCache replication groups deliver their slow and engine logs to a log destination.",
    severity="low",
    remediation=(
        "Add log_delivery_configurations for log_type 'slow-log' (and 'engine-log') with destination_type "
        "'cloudwatch-logs' or 'kinesis-firehose'."
    ),
    resource_types=(REPLICATION_GROUP,),
    # Neither checkov nor cdk-nag checks ElastiCache log delivery.
    url="https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/Log_Delivery.html",
)
def elasticache_log_delivery(props: Mapping[str, Any], ctx: ResourceContext) -> Finding:
    if _has_entry(props, "logDeliveryConfigurations"):
        return compliant()
    return violation(f"{_name(ctx)} delivers no logs (logDeliveryConfigurations is empty).")


def _has_entry(props: Mapping[str, Any], key: str) -> bool:
    """Whether the list at props[key] holds a non-empty mapping, counting unknowns as present."""
    entries = peek(lambda: get(props, key))
    if entries is UNKNOWN:
        return True
    items = peek_items(as_seq(entries))
    return any(entry is UNKNOWN or (isinstance(entry, Mapping) and len(entry) > 0) for entry in items)


RULES = (
    elasticache_transit_encryption,
    elasticache_at_rest_encryption_cmk,
    elasticache_auth,
    elasticache_automatic_failover,
    elasticache_snapshot_retention,
    elasticache_not_default_subnet_group,
    elasticache_log_delivery,
    elasticache_auto_minor_upgrade,
)
