"""RDS rules: DB instances, DB clusters (Aurora and Multi-AZ), Aurora instances, parameter groups, snapshots,
proxies, event subscriptions and global clusters.

Read replicas (`replicateSourceDb` set) take their storage, backups and credentials from the source
instance, so the rules about those judge the primary and mark the replica not applicable. A same-region
replica that leaves its DB parameter group or DB subnet group unset takes its source's
(CreateDBInstanceReadReplica, DBParameterGroupName and DBSubnetGroupName:
https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBInstanceReadReplica.html), so the stack
rules about those follow the replica to its source when the stack declares it.

Public access, Enhanced Monitoring, Performance Insights and minor upgrades are settings of each DB
instance: of an `rds.Instance`, of each Aurora `rds.ClusterInstance`, and of a Multi-AZ DB cluster as a
whole (engine mysql or postgres: its instances are not separate resources). An Aurora `rds.Cluster` is not
judged for them; its ClusterInstances are.

The `fsbp` ids are AWS Security Hub controls (https://docs.aws.amazon.com/securityhub/latest/userguide/rds-controls.html).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from paved_policies.placement import region_of
from paved_policies.props import (
    UNKNOWN,
    any_of,
    as_int,
    get,
    get_bool,
    get_int,
    get_seq,
    get_str,
    get_text,
    has_item,
    has_value,
    peek,
    peek_items,
    raise_first_unknown,
    strings,
)
from paved_policies.rule import (
    Finding,
    GraphResource,
    ResourceContext,
    StackContext,
    StackRule,
    Status,
    compliant,
    not_applicable,
    provider_props,
    resource_rule,
    stack_rule,
    violation,
)

INSTANCE = "aws:rds/instance:Instance"
CLUSTER = "aws:rds/cluster:Cluster"
CLUSTER_INSTANCE = "aws:rds/clusterInstance:ClusterInstance"
GLOBAL_CLUSTER = "aws:rds/globalCluster:GlobalCluster"
PARAMETER_GROUP = "aws:rds/parameterGroup:ParameterGroup"
CLUSTER_PARAMETER_GROUP = "aws:rds/clusterParameterGroup:ClusterParameterGroup"
DB_SUBNET_GROUP = "aws:rds/subnetGroup:SubnetGroup"
BACKUP_REPLICATION = "aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication"
SNAPSHOT = "aws:rds/snapshot:Snapshot"
CLUSTER_SNAPSHOT = "aws:rds/clusterSnapshot:ClusterSnapshot"
SNAPSHOT_COPY = "aws:rds/snapshotCopy:SnapshotCopy"
CLUSTER_SNAPSHOT_COPY = "aws:rds/clusterSnapshotCopy:ClusterSnapshotCopy"
SNAPSHOTS = (SNAPSHOT, CLUSTER_SNAPSHOT, SNAPSHOT_COPY, CLUSTER_SNAPSHOT_COPY)
PROXY = "aws:rds/proxy:Proxy"
EVENT_SUBSCRIPTION = "aws:rds/eventSubscription:EventSubscription"
SUBNET = "aws:ec2/subnet:Subnet"
VPC = "aws:ec2/vpc:Vpc"
ROUTE_TABLE = "aws:ec2/routeTable:RouteTable"
DEFAULT_ROUTE_TABLE = "aws:ec2/defaultRouteTable:DefaultRouteTable"
ROUTE = "aws:ec2/route:Route"
ROUTE_TABLE_ASSOCIATION = "aws:ec2/routeTableAssociation:RouteTableAssociation"
MAIN_ROUTE_TABLE_ASSOCIATION = "aws:ec2/mainRouteTableAssociation:MainRouteTableAssociation"
INTERNET_GATEWAY = "aws:ec2/internetGateway:InternetGateway"

# Hard-coded: the rule framework has no per-policy config schema yet. 14 days covers two weekly
# release cycles of point-in-time restore; AWS allows 0-35 (USER_WorkingWithAutomatedBackups).
MIN_BACKUP_RETENTION_DAYS = 14

# IAM database authentication exists for MariaDB, MySQL and PostgreSQL (and Aurora), not for
# Oracle, SQL Server, Db2 or RDS Custom:
# https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/UsingWithRDS.IAMDBAuth.html
NO_IAM_AUTH_ENGINES = ("oracle", "sqlserver", "db2", "custom-")
# Parameter group families for RDS / Aurora PostgreSQL: postgres17, aurora-postgresql16, ...
POSTGRES_FAMILIES = ("postgres", "aurora-postgresql")
FORCE_SSL = "rds.force_ssl"
# rds.Cluster `engine`: "aurora-mysql, aurora-postgresql, mysql, postgres. (Note that mysql and postgres
# are Multi-AZ RDS clusters)" (pulumi-aws 7.51.1 rds/cluster.py).
MULTI_AZ_CLUSTER_ENGINES = frozenset({"mysql", "postgres"})
# Aurora MySQL, as `aurora-mysql` and as the Aurora MySQL 1 engine name `aurora`.
AURORA_MYSQL_ENGINES = frozenset({"aurora", "aurora-mysql"})


def _is_replica(props: Mapping[str, Any], ctx: ResourceContext | StackContext) -> bool:
    """A same- or cross-region read replica of another DB instance (a presence check)."""
    return ctx.resource_type == INSTANCE and has_value(props, "replicateSourceDb")


def _kind(ctx: ResourceContext | StackContext) -> str:
    kinds = {CLUSTER: "DB cluster", CLUSTER_INSTANCE: "Aurora DB instance"}
    return kinds.get(ctx.resource_type, "DB instance")


def _engine(props: Mapping[str, Any]) -> str:
    return (get_text(props, "engine") or "").lower()


def _is_multi_az_cluster(props: Mapping[str, Any]) -> bool:
    """A Multi-AZ DB cluster (RDS for MySQL/PostgreSQL with two readable standbys), not an Aurora cluster."""
    engine = _engine(props)
    if engine:
        return engine in MULTI_AZ_CLUSTER_ENGINES
    # engine is required; without it, dbClusterInstanceClass is "Required for Multi-AZ DB cluster" only.
    return has_value(props, "dbClusterInstanceClass")


def _set_per_instance(props: Mapping[str, Any], ctx: ResourceContext, setting: str) -> Finding | None:
    """Not applicable to an Aurora DB cluster, whose ClusterInstances carry `setting`; None otherwise."""
    if ctx.resource_type == CLUSTER and not _is_multi_az_cluster(props):
        return not_applicable(
            f"an Aurora DB cluster sets {setting} on each of its instances ({CLUSTER_INSTANCE}), judged there"
        )
    return None


class _Db(NamedTuple):
    """A DB instance or cluster as stack rules follow it through the graph: the judged resource or another."""

    props: Mapping[str, Any]
    urn: str
    region: str | None


def _judged_db(props: Mapping[str, Any], ctx: StackContext) -> _Db:
    return _Db(props, ctx.urn, region_of(props, ctx.provider, ctx.stack_config))


def _graph_db(resource: GraphResource, ctx: StackContext) -> _Db:
    props = resource.props
    return _Db(props, resource.urn, region_of(props, provider_props(resource), ctx.stack_config))


def _setting_holder(db: _Db, ctx: StackContext, key: str, *, across_regions: bool = False) -> _Db | None:
    """The DB whose `key` applies to `db`: `db` itself, or the declared source of a read replica that leaves
    `key` unset. RDS copies a source's DB parameter group and DB subnet group to a same-region replica only
    (a cross-region one takes its region's default); the engine comes from the source anywhere. None when the
    source is not declared in the stack."""
    seen = {db.urn}
    while has_value(db.props, "replicateSourceDb") and not has_value(db.props, key):
        sources = ctx.graph.dependencies(db.urn, "replicateSourceDb", (INSTANCE,))
        if not sources:
            return None
        source = _graph_db(sources[0], ctx)
        if source.urn in seen or (source.region != db.region and not across_regions):
            return db
        seen.add(source.urn)
        db = source
    return db


def _engine_of(db: _Db, ctx: StackContext) -> str | None:
    """The engine of a DB (a read replica's from its declared source); None when that source is undeclared."""
    holder = _setting_holder(db, ctx, "engine", across_regions=True)
    return None if holder is None else _engine(holder.props)


@resource_rule(
    name="rds-storage-encrypted-cmk",
    description="RDS DB instances and clusters encrypt storage with a customer managed KMS key.",
    severity="high",
    remediation=(
        "Set storage_encrypted=True and kms_key_id to a customer managed KMS key ARN. Encryption cannot "
        "be turned on in place: restore an encrypted copy of a snapshot. Read replicas inherit the "
        "source's encryption but must still declare storage_encrypted=True."
    ),
    resource_types=(INSTANCE, CLUSTER),
    checkov=("CKV_AWS_16", "CKV_AWS_96", "CKV_AWS_327"),
    cdk_nag=("AwsSolutions-RDS2", "RDSStorageEncrypted"),
    fsbp=("RDS.3", "RDS.27"),
    url="https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/Overview.Encryption.html",
)
def rds_storage_encrypted_cmk(props: Mapping[str, Any], ctx: ResourceContext) -> Finding:
    source = get_str(props, "replicateSourceDb")
    if source and not source.startswith("arn:"):
        # A replica in its source's region is always encrypted with the source's key, and RDS refuses a
        # KmsKeyId for it (CreateDBInstanceReadReplica, KmsKeyId): it is judged through its source.
        if get_bool(props, "storageEncrypted") is False:
            return violation(f"{_kind(ctx)} '{ctx.name}': storageEncrypted is false.")
        return not_applicable(f"{_kind(ctx)} '{ctx.name}' inherits the encryption of its source {source}.")
    problems = []
    # storageEncrypted defaults to false for instances and non-serverless clusters; the provider ignores
    # it on a cross-region replica (named by ARN), which is encrypted by giving it a key of its region.
    if not source and get_bool(props, "storageEncrypted") is not True:
        problems.append("storageEncrypted is not true")
    if not has_value(props, "kmsKeyId"):
        problems.append("kmsKeyId is unset, so RDS would use the AWS managed aws/rds key")
    if not problems:
        return compliant()
    return violation(f"{_kind(ctx)} '{ctx.name}': {' and '.join(problems)}.")


@resource_rule(
    name="rds-not-public",
    description="RDS DB instances, Aurora instances and Multi-AZ DB clusters are not publicly accessible.",
    severity="critical",
    remediation=(
        "Set publicly_accessible=False (on each Aurora cluster instance; on a Multi-AZ DB cluster, together "
        "with a db_subnet_group_name other than 'default') and use a DB subnet group of private subnets; "
        "reach the database through a bastion, SSM port forwarding, RDS Proxy or a VPN."
    ),
    resource_types=(INSTANCE, CLUSTER_INSTANCE, CLUSTER),
    # checkov CKV_AWS_17 covers aws_db_instance and aws_rds_cluster_instance.
    checkov=("CKV_AWS_17",),
    cdk_nag=("RDSInstancePublicAccess",),
    fsbp=("RDS.2",),
    url="https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_VPC.WorkingWithRDSInstanceinaVPC.html",
)
def rds_not_public(props: Mapping[str, Any], ctx: ResourceContext) -> Finding:
    public = get_bool(props, "publiclyAccessible")
    if public is True:
        return violation(f"{_kind(ctx)} '{ctx.name}' has publiclyAccessible set to true.")
    if ctx.resource_type != CLUSTER:
        # Unset is private: pulumi-aws documents "Default `false`" for Instance and ClusterInstance, and the
        # provider sends PubliclyAccessible=false on create.
        return compliant()
    not_multi_az = _set_per_instance(props, ctx, "publiclyAccessible")
    if not_multi_az:
        # CreateDBCluster PubliclyAccessible: "Valid for Cluster Type: Multi-AZ DB clusters only".
        return not_multi_az
    if public is False:
        return compliant()
    # No provider default on a cluster: RDS makes it public when the DB subnet group is unset or 'default'
    # (pulumi-aws rds.Cluster publicly_accessible; CreateDBCluster PubliclyAccessible,
    # https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBCluster.html).
    subnet_group = peek(lambda: get_text(props, "dbSubnetGroupName"))
    if subnet_group is UNKNOWN or (subnet_group and subnet_group.lower() != "default"):
        return compliant()
    return violation(
        f"DB cluster '{ctx.name}' leaves publiclyAccessible unset with "
        f"{'the default' if subnet_group else 'no'} DB subnet group, so RDS makes it public."
    )


@resource_rule(
    name="rds-backup-retention",
    description=f"RDS keeps automated backups for at least {MIN_BACKUP_RETENTION_DAYS} days.",
    severity="high",
    remediation=(
        f"Set backup_retention_period to {MIN_BACKUP_RETENTION_DAYS} or more (up to 35) days. Set it "
        "explicitly: leaving it unset is not accepted, whatever the AWS default."
    ),
    resource_types=(INSTANCE, CLUSTER),
    checkov=("CKV_AWS_133",),
    cdk_nag=("AwsSolutions-RDS13", "RDSInstanceBackupEnabled"),
    fsbp=("RDS.11", "RDS.50"),
    # Staging keeps 7 days of point-in-time restore by design (README, "Data tier").
    staging_enforcement="advisory",
    url="https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_WorkingWithAutomatedBackups.html",
)
def rds_backup_retention(props: Mapping[str, Any], ctx: ResourceContext) -> Finding:
    if _is_replica(props, ctx):
        return not_applicable("read replicas are restored from their source's backups")
    days = get_int(props, "backupRetentionPeriod")
    if days is not None and days >= MIN_BACKUP_RETENTION_DAYS:
        return compliant()
    shown = "unset" if days is None else f"{days} days"
    return violation(
        f"{_kind(ctx)} '{ctx.name}' keeps automated backups for {shown}; at least "
        f"{MIN_BACKUP_RETENTION_DAYS} days are required (backupRetentionPeriod)."
    )


@resource_rule(
    name="rds-deletion-protection",
    description="RDS DB instances and clusters have deletion protection enabled.",
    severity="medium",
    remediation="Set deletion_protection=True; turn it off in a separate update before a deliberate delete.",
    resource_types=(INSTANCE, CLUSTER),
    checkov=("CKV_AWS_293", "CKV_AWS_139"),
    cdk_nag=("AwsSolutions-RDS10", "RDSInstanceDeletionProtectionEnabled"),
    fsbp=("RDS.7", "RDS.8"),
    staging_enforcement="advisory",
    url="https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_DeleteInstance.html",
)
def rds_deletion_protection(props: Mapping[str, Any], ctx: ResourceContext) -> Finding:
    if get_bool(props, "deletionProtection") is True:
        return compliant()
    return violation(f"{_kind(ctx)} '{ctx.name}' does not have deletionProtection set to true.")


@resource_rule(
    name="rds-multi-az",
    description="RDS DB instances, read replicas included, run Multi-AZ with a synchronous standby.",
    severity="medium",
    remediation=(
        "Set multi_az=True (a standby in another AZ with automatic failover), on read replicas too: a "
        "single-AZ replica's reads stop with its AZ."
    ),
    resource_types=(INSTANCE,),
    checkov=("CKV_AWS_157",),
    cdk_nag=("AwsSolutions-RDS3", "RDSMultiAZSupport"),
    # AWS judges read replicas too: only the instances of a Multi-AZ DB cluster, which are no Pulumi
    # resources, are out of scope (rds-controls.html#rds-5).
    fsbp=("RDS.5",),
    staging_enforcement="advisory",
    url="https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/Concepts.MultiAZSingleStandby.html",
)
def rds_multi_az(props: Mapping[str, Any], ctx: ResourceContext) -> Finding:
    if get_bool(props, "multiAz") is True:
        return compliant()
    return violation(f"DB instance '{ctx.name}' does not have multiAz set to true.")


@resource_rule(
    name="rds-final-snapshot",
    description="Deleting an RDS primary DB instance or cluster takes a final snapshot.",
    severity="medium",
    remediation=(
        "Leave skip_final_snapshot=False and set final_snapshot_identifier, so a delete (or a "
        "replacement) keeps a restorable snapshot."
    ),
    resource_types=(INSTANCE, CLUSTER),
    # No checkov or cdk-nag rule checks the final snapshot.
    url="https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_DeleteInstance.html",
)
def rds_final_snapshot(props: Mapping[str, Any], ctx: ResourceContext) -> Finding:
    if _is_replica(props, ctx):
        return not_applicable("read replicas cannot take a final snapshot")
    # pulumi-aws defaults skipFinalSnapshot to false, which then requires finalSnapshotIdentifier.
    if get_bool(props, "skipFinalSnapshot") is not True:
        return compliant()
    return violation(f"{_kind(ctx)} '{ctx.name}' sets skipFinalSnapshot, so a delete keeps no snapshot.")


# pulumi-aws names the master password `password` on instances and `masterPassword` on clusters;
# the write-only (`...Wo`) variants never reach the state file.
_PASSWORD_KEYS = {INSTANCE: "password", CLUSTER: "masterPassword"}


@resource_rule(
    name="rds-no-plaintext-password",
    description=(
        "RDS master passwords are managed by RDS in Secrets Manager or passed write-only, never kept in "
        "the Pulumi state."
    ),
    severity="high",
    remediation=(
        "Set manage_master_user_password=True (optionally master_user_secret_kms_key_id), or pass the "
        "password as password_wo / master_password_wo with a password_wo_version; remove password / "
        "master_password."
    ),
    resource_types=(INSTANCE, CLUSTER),
    # No RDS equivalent in checkov or cdk-nag (AwsSolutions-DOC3 is the same control for DocumentDB).
    url="https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/rds-secrets-manager.html",
)
def rds_no_plaintext_password(props: Mapping[str, Any], ctx: ResourceContext) -> Finding:
    key = _PASSWORD_KEYS.get(ctx.resource_type, "password")
    # Presence is the violation: even an unknown (a RandomPassword's output) lands in the state.
    if not has_value(props, key):
        return compliant()
    return violation(
        f"{_kind(ctx)} '{ctx.name}' sets {key}, which Pulumi stores in its state; use "
        f"manageMasterUserPassword or {key}Wo."
    )


@resource_rule(
    name="rds-iam-auth",
    description="RDS DB instances and clusters accept IAM database authentication.",
    severity="medium",
    remediation=(
        "Set iam_database_authentication_enabled=True and let applications connect with "
        "rds-db:connect tokens instead of static passwords."
    ),
    resource_types=(INSTANCE, CLUSTER),
    checkov=("CKV_AWS_161", "CKV_AWS_162"),
    cdk_nag=("AwsSolutions-RDS6",),
    fsbp=("RDS.10", "RDS.12"),
    url="https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/UsingWithRDS.IAMDBAuth.html",
)
def rds_iam_auth(props: Mapping[str, Any], ctx: ResourceContext) -> Finding:
    engine = (get_text(props, "engine") or "").lower()
    if engine.startswith(NO_IAM_AUTH_ENGINES):
        return not_applicable(f"engine {engine} does not support IAM database authentication")
    if get_bool(props, "iamDatabaseAuthenticationEnabled") is True:
        return compliant()
    return violation(f"{_kind(ctx)} '{ctx.name}' does not enable iamDatabaseAuthenticationEnabled.")


# The logs RDS.9 asks of each engine (rds-controls.html#rds-9). Clusters export what their instances log:
# Aurora's, and a Multi-AZ DB cluster's, which CreateDBCluster lets export only error, general and slowquery
# for MySQL (no audit log; EnableCloudwatchLogsExports,
# https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBCluster.html). The sets cover RDS.34
# (Aurora MySQL audit), RDS.36 and RDS.37 (postgresql), RDS.40 (SQL Server agent and error) and RDS.42
# (MariaDB audit and error) too.
_MYSQL_LOGS = ("audit", "error", "general", "slowquery")
INSTANCE_LOGS: Mapping[str, tuple[str, ...]] = {
    "oracle": ("alert", "audit", "trace", "listener"),
    "postgres": ("postgresql", "upgrade"),
    "mysql": _MYSQL_LOGS,
    "mariadb": _MYSQL_LOGS,
    "sqlserver": ("error", "agent"),
}
CLUSTER_LOGS: Mapping[str, tuple[str, ...]] = {
    "aurora": _MYSQL_LOGS,
    "aurora-mysql": _MYSQL_LOGS,
    "aurora-postgresql": ("postgresql",),
    "mysql": ("error", "general", "slowquery"),
    "postgres": ("postgresql", "upgrade"),
}


def _required_logs(engine: str, ctx: ResourceContext) -> tuple[str, ...] | None:
    """The logs an engine must export; None for an engine RDS.9 does not name (Db2, RDS Custom)."""
    if ctx.resource_type == CLUSTER:
        return CLUSTER_LOGS.get(engine)
    # oracle-ee, oracle-se2-cdb, sqlserver-se: the family is the first word; custom-oracle-ee is RDS Custom.
    return INSTANCE_LOGS.get(engine.split("-", 1)[0])


@resource_rule(
    name="rds-log-exports",
    description="RDS exports every database log AWS's RDS.9 names for the engine to CloudWatch Logs.",
    severity="medium",
    remediation=(
        "Set enabled_cloudwatch_logs_exports to the engine's logs: ['postgresql', 'upgrade'] for PostgreSQL, "
        "['postgresql'] for Aurora PostgreSQL, ['audit', 'error', 'general', 'slowquery'] for MySQL, MariaDB "
        "and Aurora MySQL (['error', 'general', 'slowquery'] for a Multi-AZ MySQL cluster), ['error', "
        "'agent'] for SQL Server, ['alert', 'audit', 'trace', 'listener'] for Oracle. MySQL and MariaDB "
        "also need the audit plugin and general/slow query logging turned on in their parameter and option "
        "groups."
    ),
    resource_types=(INSTANCE, CLUSTER),
    checkov=("CKV_AWS_129", "CKV_AWS_324"),
    cdk_nag=("RDSLoggingEnabled",),
    fsbp=("RDS.9", "RDS.34", "RDS.36", "RDS.37", "RDS.40", "RDS.42"),
    url="https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_LogAccess.Procedural.UploadtoCloudWatch.html",
)
def rds_log_exports(props: Mapping[str, Any], ctx: ResourceContext) -> Finding:
    exports = set(strings(get_seq(props, "enabledCloudwatchLogsExports")))
    engine = _engine(props)
    if not engine and _is_replica(props, ctx):
        # A replica's engine is its source's, which this resource does not show; the log names are each
        # engine's own (RDS refuses another engine's), so exporting one engine's whole set is the check.
        if any(set(logs) <= exports for logs in INSTANCE_LOGS.values()):
            return compliant()
        return violation(
            f"{_kind(ctx)} '{ctx.name}' exports {sorted(exports) or 'no logs'}, not every log of its engine "
            "(enabledCloudwatchLogsExports)."
        )
    required = _required_logs(engine, ctx)
    if required is None:
        if has_item(props, "enabledCloudwatchLogsExports"):
            return compliant()
        return violation(
            f"{_kind(ctx)} '{ctx.name}' exports no logs (enabledCloudwatchLogsExports is empty)."
        )
    missing = [log for log in required if log not in exports]
    if not missing:
        return compliant()
    shown = ", ".join(f"'{log}'" for log in missing)
    return violation(
        f"{_kind(ctx)} '{ctx.name}' ({engine}) does not export {shown} (enabledCloudwatchLogsExports)."
    )


@resource_rule(
    name="rds-enhanced-monitoring",
    description=(
        "RDS DB instances, Aurora instances and Multi-AZ DB clusters publish Enhanced Monitoring OS metrics."
    ),
    severity="low",
    remediation=(
        "Set monitoring_interval to 1, 5, 10, 15, 30 or 60 seconds and monitoring_role_arn to a role "
        "with the AmazonRDSEnhancedMonitoringRole policy (on each Aurora cluster instance; on the cluster "
        "for a Multi-AZ DB cluster)."
    ),
    # checkov CKV_AWS_118 covers aws_db_instance and aws_rds_cluster_instance.
    resource_types=(INSTANCE, CLUSTER_INSTANCE, CLUSTER),
    checkov=("CKV_AWS_118",),
    cdk_nag=("RDSEnhancedMonitoringEnabled",),
    fsbp=("RDS.6",),
    url="https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_Monitoring.OS.html",
)
def rds_enhanced_monitoring(props: Mapping[str, Any], ctx: ResourceContext) -> Finding:
    aurora = _set_per_instance(props, ctx, "monitoringInterval")
    if aurora:
        return aurora
    # 0 (the default on Instance, ClusterInstance and Cluster) disables Enhanced Monitoring.
    interval = get_int(props, "monitoringInterval")
    if interval is not None and interval > 0:
        return compliant()
    return violation(
        f"{_kind(ctx)} '{ctx.name}' has no Enhanced Monitoring (monitoringInterval is unset or 0)."
    )


@resource_rule(
    name="rds-performance-insights-cmk",
    description=(
        "RDS DB instances, Aurora instances and Multi-AZ DB clusters enable Performance Insights encrypted "
        "with a customer managed KMS key."
    ),
    severity="low",
    remediation=(
        "Set performance_insights_enabled=True and performance_insights_kms_key_id to a customer "
        "managed KMS key ARN (the key cannot be changed once set). On Aurora, set both on each cluster "
        "instance, to the same values as any cluster-level Performance Insights settings."
    ),
    # Both checkov ids cover aws_db_instance and aws_rds_cluster_instance.
    resource_types=(INSTANCE, CLUSTER_INSTANCE, CLUSTER),
    checkov=("CKV_AWS_353", "CKV_AWS_354"),
    url="https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_PerfInsights.Enabling.html",
)
def rds_performance_insights_cmk(props: Mapping[str, Any], ctx: ResourceContext) -> Finding:
    aurora = _set_per_instance(props, ctx, "performanceInsightsEnabled")
    if aurora:
        return aurora
    if get_bool(props, "performanceInsightsEnabled") is not True:
        return violation(f"{_kind(ctx)} '{ctx.name}' does not enable performanceInsightsEnabled.")
    if has_value(props, "performanceInsightsKmsKeyId"):
        return compliant()
    return violation(
        f"{_kind(ctx)} '{ctx.name}' has no performanceInsightsKmsKeyId, so Performance Insights uses the "
        "AWS managed key."
    )


@resource_rule(
    name="rds-auto-minor-upgrade",
    description=(
        "RDS DB instances, Aurora instances and DB clusters apply minor engine upgrades automatically in "
        "the maintenance window."
    ),
    severity="low",
    remediation="Leave auto_minor_version_upgrade at its default True and set a maintenance_window.",
    # checkov CKV_AWS_226 covers aws_db_instance and aws_rds_cluster_instance; the cluster-level setting
    # exists for Aurora and Multi-AZ DB clusters alike (CreateDBCluster AutoMinorVersionUpgrade).
    resource_types=(INSTANCE, CLUSTER_INSTANCE, CLUSTER),
    checkov=("CKV_AWS_226",),
    cdk_nag=("RDSAutomaticMinorVersionUpgradeEnabled",),
    fsbp=("RDS.13", "RDS.35"),
    url="https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_UpgradeDBInstance.Maintenance.html",
)
def rds_auto_minor_upgrade(props: Mapping[str, Any], ctx: ResourceContext) -> Finding:
    # autoMinorVersionUpgrade defaults to true (pulumi-aws Instance, ClusterInstance "Default `true`",
    # Cluster "Defaults to `true`"); only an explicit false opts out.
    if get_bool(props, "autoMinorVersionUpgrade") is not False:
        return compliant()
    return violation(f"{_kind(ctx)} '{ctx.name}' sets autoMinorVersionUpgrade to false.")


@resource_rule(
    name="rds-copy-tags-to-snapshot",
    description="RDS copies the resource's tags to its snapshots.",
    severity="low",
    remediation="Set copy_tags_to_snapshot=True so snapshots keep the owner and cost tags.",
    resource_types=(INSTANCE, CLUSTER),
    checkov=("CKV2_AWS_60", "CKV_AWS_313"),
    fsbp=("RDS.16", "RDS.17", "RDS.47", "RDS.48"),
    url="https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_Tagging.html",
)
def rds_copy_tags_to_snapshot(props: Mapping[str, Any], ctx: ResourceContext) -> Finding:
    # copyTagsToSnapshot defaults to false.
    if get_bool(props, "copyTagsToSnapshot") is True:
        return compliant()
    return violation(f"{_kind(ctx)} '{ctx.name}' does not set copyTagsToSnapshot to true.")


def _parameter_values(group: Mapping[str, Any], name: str) -> tuple[Any, ...]:
    """Each value a parameter group's `parameters` give `name` (two if listed twice); empty when unset."""
    return tuple(
        get(parameter, "value")
        for parameter in get_seq(group, "parameters")
        if (get_str(parameter, "name") or "").strip() == name
    )


def _text(value: Any) -> str:
    """A parameter value as RDS reads it: a string ('1', 'ON'), or a number given as one (a bool is neither:
    True is not '1')."""
    if isinstance(value, str):
        return value.strip().lower()
    number = as_int(value)
    return "" if number is None else str(number)


def _each_one_of(*accepted: str) -> Callable[[tuple[Any, ...]], bool]:
    """Set, and every value the group gives it is one of `accepted` (each, if listed twice)."""
    return lambda values: bool(values) and all(_text(value) in accepted for value in values)


@resource_rule(
    name="rds-force-ssl",
    description="PostgreSQL parameter groups reject unencrypted connections (rds.force_ssl = 1).",
    severity="high",
    remediation=(
        "Add the parameter {name: 'rds.force_ssl', value: '1'} to the PostgreSQL (or Aurora PostgreSQL "
        "cluster) parameter group. Set it explicitly even on PostgreSQL 15+, where 1 is the default, so a "
        "family change or a copied group cannot drop it."
    ),
    resource_types=(PARAMETER_GROUP, CLUSTER_PARAMETER_GROUP),
    checkov=("CKV2_AWS_69",),
    url="https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/PostgreSQL.Concepts.General.SSL.html",
)
def rds_force_ssl(props: Mapping[str, Any], ctx: ResourceContext) -> Finding:
    family = (get_text(props, "family") or "").lower()
    if not family.startswith(POSTGRES_FAMILIES):
        return not_applicable(f"family {family or '<unset>'} is not PostgreSQL")
    values = _parameter_values(props, FORCE_SSL)
    if _each_one_of("1")(values):
        return compliant()
    found = "is not set" if not values else "is not 1"
    return violation(f"Parameter group '{ctx.name}': {FORCE_SSL} {found}.")


@stack_rule(
    name="rds-cross-region-backup",
    description=("Every primary PostgreSQL DB instance replicates its automated backups to another region."),
    severity="medium",
    remediation=(
        "Create an aws.rds.InstanceAutomatedBackupsReplication in the DR region (a provider for that "
        "region) with source_db_instance_arn=<the instance>.arn and kms_key_id of a key in that region. "
        "Pass the instance's arn output, not a literal ARN, so the dependency is recorded."
    ),
    resource_types=(INSTANCE,),
    # No checkov or cdk-nag rule requires the replication (CKV_AWS_245 checks its encryption).
    staging_enforcement="advisory",
    url="https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_ReplicateBackups.html",
)
def rds_cross_region_backup(props: Mapping[str, Any], ctx: StackContext) -> Finding:
    if _is_replica(props, ctx):
        return not_applicable("read replicas have no automated backups of their own")
    engine = (get_text(props, "engine") or "").lower()
    if engine != "postgres":
        return not_applicable(f"engine {engine or '<unset>'} is not PostgreSQL")
    if ctx.referrers("sourceDbInstanceArn", (BACKUP_REPLICATION,)):
        return compliant()
    return violation(
        f"DB instance '{ctx.name}' has no {BACKUP_REPLICATION} whose sourceDbInstanceArn is this instance."
    )


@resource_rule(
    name="rds-snapshot-not-public",
    description="Manual RDS DB and cluster snapshots, and copies of them, are not public.",
    severity="critical",
    remediation=(
        "Remove 'all' from shared_accounts; share a snapshot with the account ids that need it instead."
    ),
    resource_types=SNAPSHOTS,
    fsbp=("RDS.1",),
    url="https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_ShareSnapshot.html",
)
def rds_snapshot_not_public(props: Mapping[str, Any], ctx: ResourceContext) -> Finding:
    # pulumi-aws sharedAccounts: "Use `all` to make the snapshot public"; automated snapshots can't be shared.
    accounts = get_seq(props, "sharedAccounts")
    items = peek_items(accounts)
    if any(isinstance(item, str) and item.strip().lower() == "all" for item in items):
        return violation(f"Snapshot '{ctx.name}' is public: sharedAccounts includes 'all'.")
    raise_first_unknown(accounts, items)
    return compliant()


# What a snapshot is taken or copied from: the stack resource whose encryption it carries.
_ENCRYPTION_SOURCES: Mapping[str, tuple[str, tuple[str, ...]]] = {
    SNAPSHOT: ("dbInstanceIdentifier", (INSTANCE,)),
    CLUSTER_SNAPSHOT: ("dbClusterIdentifier", (CLUSTER,)),
    SNAPSHOT_COPY: ("sourceDbSnapshotIdentifier", (SNAPSHOT, SNAPSHOT_COPY)),
    CLUSTER_SNAPSHOT_COPY: ("sourceDbClusterSnapshotIdentifier", (CLUSTER_SNAPSHOT, CLUSTER_SNAPSHOT_COPY)),
    INSTANCE: ("replicateSourceDb", (INSTANCE,)),
}
# Inputs through which a DB takes its storage from elsewhere (a snapshot, a point in time, a global or
# replication source): left without storageEncrypted, it is encrypted as that source is.
_RESTORED_FROM = (
    "snapshotIdentifier",
    "restoreToPointInTime",
    "globalClusterIdentifier",
    "replicationSourceIdentifier",
    "replicateSourceDb",
)


def _encrypted_at_rest(
    resource_type: str, props: Mapping[str, Any], urn: str, ctx: StackContext
) -> bool | None:
    """Whether a snapshot, or the DB instance or cluster behind one, is encrypted at rest; None when that
    depends on something the stack does not declare. A snapshot is encrypted exactly when its source is, and
    a copy with a kmsKeyId always is (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/Overview.Encryption.html)."""
    seen: set[str] = set()
    while urn not in seen:
        seen.add(urn)
        flag = get_bool(props, "storageEncrypted")
        if flag is not None:
            return flag
        # A copy, or a cross-region read replica, given a key is encrypted with it.
        copied = resource_type in (SNAPSHOT_COPY, CLUSTER_SNAPSHOT_COPY) or has_value(
            props, "replicateSourceDb"
        )
        if copied and has_value(props, "kmsKeyId"):
            return True
        if resource_type == CLUSTER and (get_text(props, "engineMode") or "").lower() == "serverless":
            return True  # Aurora Serverless v1 clusters are always encrypted
        if resource_type in (INSTANCE, CLUSTER) and not any(has_value(props, key) for key in _RESTORED_FROM):
            return False  # storageEncrypted defaults to false
        source_key, source_types = _ENCRYPTION_SOURCES.get(resource_type, ("", ()))
        sources = ctx.graph.dependencies(urn, source_key, source_types) if source_key else []
        if not sources:
            return None
        resource_type, props, urn = sources[0].resource_type, sources[0].props, sources[0].urn
    return None


@stack_rule(
    name="rds-snapshot-encrypted",
    description="Manual RDS DB and cluster snapshots, and their copies, are encrypted at rest.",
    severity="medium",
    remediation=(
        "Take snapshots of encrypted DB instances and clusters only (storage_encrypted=True), or copy a "
        "snapshot with kms_key_id set. Pass the source's identifier output, not a literal, so the pack can "
        "follow the snapshot to it."
    ),
    resource_types=SNAPSHOTS,
    fsbp=("RDS.4",),
    url="https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/Overview.Encryption.html",
)
def rds_snapshot_encrypted(props: Mapping[str, Any], ctx: StackContext) -> Finding:
    encrypted = _encrypted_at_rest(ctx.resource_type, props, ctx.urn, ctx)
    if encrypted is True:
        return compliant()
    if encrypted is None:
        return not_applicable(
            f"snapshot '{ctx.name}' is encrypted as its source is, and the stack does not declare that source"
        )
    return violation(f"Snapshot '{ctx.name}' is not encrypted: its source DB does not set storageEncrypted.")


@resource_rule(
    name="rds-aurora-mysql-backtracking",
    description="Aurora MySQL DB clusters can backtrack: they keep a backtrack window.",
    severity="medium",
    remediation=(
        "Set backtrack_window (seconds, up to 259200 = 72 hours) when creating the cluster; it cannot be "
        "turned on later, so an existing cluster needs a clone with it. Aurora MySQL global databases, "
        "binary-log replicas and Serverless v1 clusters cannot backtrack."
    ),
    resource_types=(CLUSTER,),
    fsbp=("RDS.14",),
    url="https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/AuroraMySQL.Managing.Backtrack.html",
)
def rds_aurora_mysql_backtracking(props: Mapping[str, Any], ctx: ResourceContext) -> Finding:
    engine = _engine(props)
    if engine not in AURORA_MYSQL_ENGINES:
        return not_applicable(f"engine {engine or '<unset>'} is not Aurora MySQL")
    window = get_int(props, "backtrackWindow")
    if window is not None and window > 0:
        return compliant()
    return violation(f"Aurora MySQL DB cluster '{ctx.name}' has no backtrackWindow (unset or 0).")


@stack_rule(
    name="rds-cluster-multi-az",
    description="RDS DB clusters span AZs: Multi-AZ DB clusters, or Aurora with instances in 2+ AZs.",
    severity="medium",
    remediation=(
        "Give an Aurora cluster at least two aws.rds.ClusterInstance resources whose cluster_identifier is "
        "the cluster's id output and whose availability_zone differ (left unset, RDS picks each AZ itself "
        "and may pick one AZ for all), or use a Multi-AZ DB cluster (engine mysql or postgres)."
    ),
    resource_types=(CLUSTER,),
    fsbp=("RDS.15",),
    staging_enforcement="advisory",
    url="https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/Concepts.AuroraHighAvailability.html",
)
def rds_cluster_multi_az(props: Mapping[str, Any], ctx: StackContext) -> Finding:
    if _is_multi_az_cluster(props):
        return compliant()  # a writer and two readable standbys, each in its own AZ
    instances = ctx.referrers("clusterIdentifier", (CLUSTER_INSTANCE,))
    zones = [
        peek(lambda instance=instance: get_text(instance.props, "availabilityZone")) for instance in instances
    ]
    named = {zone for zone in zones if isinstance(zone, str)}
    if len(named) >= 2:
        return compliant()
    for instance, zone in zip(instances, zones, strict=True):
        if zone is UNKNOWN:
            get(instance.props, "availabilityZone")  # raises: the SDK reports "can't run during preview"
    placed = f"in {len(named)} named AZ(s)" if named else "with no availabilityZone set"
    return violation(
        f"DB cluster '{ctx.name}' has {len(instances)} Aurora instance(s) in the stack, {placed}: "
        "not two AZs."
    )


_DEFAULT_ADMIN_USERNAMES = frozenset({"admin", "postgres"})


def _default_admin(props: Mapping[str, Any], key: str, kind: str, name: str) -> Finding:
    """RDS.24/RDS.25: a username given is not an engine default; one left unset is taken from the source
    the DB is restored or replicated from, where it is judged."""
    username = get_text(props, key)
    if username is None:
        if any(has_value(props, source) for source in _RESTORED_FROM):
            return not_applicable(
                f"{kind} '{name}' takes its {key} from the DB it is restored or replicated from"
            )
        return violation(f"{kind} '{name}' sets no {key}.")
    if username.lower() in _DEFAULT_ADMIN_USERNAMES:
        return violation(f"{kind} '{name}' uses the default administrator name '{username}' ({key}).")
    return compliant()


# The Config rules reject 'admin' and 'postgres', the names the RDS console offers:
# https://docs.aws.amazon.com/config/latest/developerguide/rds-instance-default-admin-check.html
@resource_rule(
    name="rds-cluster-custom-admin-username",
    description="RDS DB clusters name their administrator something other than 'admin' or 'postgres'.",
    severity="medium",
    remediation=(
        "Set master_username to a name of your own (it cannot be changed later: a new cluster restored "
        "from a snapshot takes a new one only with a new master_username)."
    ),
    resource_types=(CLUSTER,),
    fsbp=("RDS.24",),
    url="https://docs.aws.amazon.com/config/latest/developerguide/rds-cluster-default-admin-check.html",
)
def rds_cluster_custom_admin_username(props: Mapping[str, Any], ctx: ResourceContext) -> Finding:
    return _default_admin(props, "masterUsername", "DB cluster", ctx.name)


@resource_rule(
    name="rds-instance-custom-admin-username",
    description="RDS DB instances name their administrator something other than 'admin' or 'postgres'.",
    severity="medium",
    remediation="Set username to a name of your own; it can only be chosen when the instance is created.",
    resource_types=(INSTANCE,),
    fsbp=("RDS.25",),
    url="https://docs.aws.amazon.com/config/latest/developerguide/rds-instance-default-admin-check.html",
)
def rds_instance_custom_admin_username(props: Mapping[str, Any], ctx: ResourceContext) -> Finding:
    return _default_admin(props, "username", "DB instance", ctx.name)


@resource_rule(
    name="rds-proxy-require-tls",
    description="RDS proxies accept TLS connections only.",
    severity="medium",
    remediation="Set require_tls=True on the aws.rds.Proxy.",
    resource_types=(PROXY,),
    fsbp=("RDS.43",),
    url="https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/rds-proxy.howitworks.html#rds-proxy-security.tls",
)
def rds_proxy_require_tls(props: Mapping[str, Any], ctx: ResourceContext) -> Finding:
    # requireTls defaults to false.
    if get_bool(props, "requireTls") is True:
        return compliant()
    return violation(
        f"DB proxy '{ctx.name}' does not set requireTls to true, so it accepts plaintext clients."
    )


class _Parameter(NamedTuple):
    """A parameter as a DB's parameter group sets it, and which group that is."""

    group: str
    values: tuple[Any, ...]  # each value the group sets for it; empty: the engine default


def _parameter(
    db: _Db, ctx: StackContext, key: str, group_types: tuple[str, ...], name: str
) -> _Parameter | None:
    """`name` in the parameter group `db.props[key]` names; None when that group is not declared in the stack.

    A group the program declares is read through the graph; no group, or an RDS default group
    (`default.<family>`), leaves every parameter at the engine default.
    """
    groups = ctx.graph.dependencies(db.urn, key, group_types)
    if groups:
        group = groups[0]
        return _Parameter(f"parameter group '{group.name}'", _parameter_values(group.props, name))
    given = peek(lambda: get_text(db.props, key))
    if given is None:
        return _Parameter("the engine's default parameter group", ())
    if isinstance(given, str) and given.lower().startswith("default."):
        return _Parameter(f"the default parameter group '{given}'", ())
    return None


def _parameter_check(
    ctx: StackContext,
    props: Mapping[str, Any],
    *,
    key: str,
    group_types: tuple[str, ...],
    name: str,
    accepted: Callable[[tuple[Any, ...]], bool],
    wanted: str,
) -> Finding:
    """The parameter `name` of the judged DB's parameter group (`key`) passes `accepted`."""
    holder = _setting_holder(_judged_db(props, ctx), ctx, key)
    parameter = None if holder is None else _parameter(holder, ctx, key, group_types, name)
    if parameter is None:
        return not_applicable(
            f"{_kind(ctx)} '{ctx.name}' uses a parameter group the stack does not declare: {name} is unknown"
        )
    if accepted(parameter.values):
        return compliant()
    found = "does not set it" if not parameter.values else f"sets it to {parameter.values[-1]!r}"
    return violation(f"{_kind(ctx)} '{ctx.name}': {name} must be {wanted}; {parameter.group} {found}.")


def _unless_engine(
    props: Mapping[str, Any], ctx: StackContext, engines: Callable[[str], bool], what: str
) -> Finding | None:
    """Not applicable unless the judged DB (a replica: its declared source) runs one of `engines`."""
    engine = _engine_of(_judged_db(props, ctx), ctx)
    if engine is None:
        return not_applicable(f"read replica '{ctx.name}' of a DB instance the stack does not declare")
    if not engines(engine):
        return not_applicable(f"engine {engine or '<unset>'} is not {what}")
    return None


@stack_rule(
    name="rds-sqlserver-force-ssl",
    description="RDS for SQL Server DB instances accept encrypted connections only (rds.force_ssl = 1).",
    severity="medium",
    remediation=(
        "Give the instance a DB parameter group (family sqlserver-*) with {name: 'rds.force_ssl', "
        "value: '1', apply_method: 'pending-reboot'} and pass the group's name output as "
        "parameter_group_name; reboot to apply it."
    ),
    resource_types=(INSTANCE,),
    fsbp=("RDS.41",),
    url="https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/SQLServer.Concepts.General.SSL.Using.html",
)
def rds_sqlserver_force_ssl(props: Mapping[str, Any], ctx: StackContext) -> Finding:
    return _unless_engine(props, ctx, lambda engine: engine.startswith("sqlserver"), "SQL Server") or (
        _parameter_check(
            ctx,
            props,
            key="parameterGroupName",
            group_types=(PARAMETER_GROUP,),
            name=FORCE_SSL,
            accepted=_each_one_of("1"),
            wanted="1",
        )
    )


# require_secure_transport exists from MariaDB 10.5 on, and RDS.44 skips older versions (rds-44).
MARIADB_SECURE_TRANSPORT_SINCE = (10, 5)


def _version(text: str) -> tuple[int, ...]:
    """The leading numbers of a version ('10.6.14' -> (10, 6, 14)); stops at the first non-number."""
    numbers: list[int] = []
    for part in text.split("."):
        if not part.isdigit():
            break
        numbers.append(int(part))
    return tuple(numbers)


def _unless_mariadb_with_secure_transport(props: Mapping[str, Any], ctx: StackContext) -> Finding | None:
    not_mariadb = _unless_engine(props, ctx, lambda engine: engine == "mariadb", "MariaDB")
    if not_mariadb:
        return not_mariadb
    holder = _setting_holder(_judged_db(props, ctx), ctx, "engineVersion", across_regions=True)
    version = None if holder is None else get_text(holder.props, "engineVersion")
    # Unset: RDS's current default MariaDB, which is past 10.5.
    if version and _version(version) < MARIADB_SECURE_TRANSPORT_SINCE:
        return not_applicable(f"MariaDB {version} predates require_secure_transport (10.5)")
    return None


@stack_rule(
    name="rds-mariadb-require-secure-transport",
    description="RDS for MariaDB DB instances accept encrypted connections only (require_secure_transport).",
    severity="medium",
    remediation=(
        "Give the instance a DB parameter group (family mariadb*) with {name: 'require_secure_transport', "
        "value: 'ON'} and pass the group's name output as parameter_group_name."
    ),
    resource_types=(INSTANCE,),
    fsbp=("RDS.44",),
    url="https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/mariadb-ssl-connections.require-ssl.html",
)
def rds_mariadb_require_secure_transport(props: Mapping[str, Any], ctx: StackContext) -> Finding:
    return _unless_mariadb_with_secure_transport(props, ctx) or _parameter_check(
        ctx,
        props,
        key="parameterGroupName",
        group_types=(PARAMETER_GROUP,),
        name="require_secure_transport",
        accepted=_each_one_of("on", "1"),
        wanted="ON",
    )


@stack_rule(
    name="rds-aurora-mysql-audit-logging",
    description="Aurora MySQL DB clusters turn on Advanced Auditing (server_audit_logging = 1, with events).",
    severity="medium",
    remediation=(
        "Give the cluster a DB cluster parameter group (family aurora-mysql*) with server_audit_logging "
        "= '1' and server_audit_events naming what to audit (e.g. 'CONNECT,QUERY_DCL,QUERY_DDL'), and "
        "pass the group's name output as db_cluster_parameter_group_name."
    ),
    resource_types=(CLUSTER,),
    fsbp=("RDS.45",),
    url="https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/AuroraMySQL.Auditing.html",
)
def rds_aurora_mysql_audit_logging(props: Mapping[str, Any], ctx: StackContext) -> Finding:
    not_aurora_mysql = _unless_engine(
        props, ctx, lambda engine: engine in AURORA_MYSQL_ENGINES, "Aurora MySQL"
    )
    if not_aurora_mysql:
        return not_aurora_mysql

    def setting(name: str, accepted: Callable[[tuple[Any, ...]], bool], wanted: str) -> Finding:
        return _parameter_check(
            ctx,
            props,
            key="dbClusterParameterGroupName",
            group_types=(CLUSTER_PARAMETER_GROUP,),
            name=name,
            accepted=accepted,
            wanted=wanted,
        )

    logging = setting("server_audit_logging", _each_one_of("1"), "1")
    if logging.status is not Status.COMPLIANT:
        return logging
    return setting(
        "server_audit_events", lambda values: bool(values) and all(map(_text, values)), "a list of events"
    )


def _is_default_route(route: Mapping[str, Any], v4: str, v6: str) -> bool:
    return get_text(route, v4) == "0.0.0.0/0" or get_text(route, v6) == "::/0"


def _names_internet_gateway(route: Mapping[str, Any]) -> bool:
    """A literal internet gateway id (gatewayId also takes virtual private gateways and 'local')."""
    return (get_text(route, "gatewayId") or "").startswith("igw-")


def _to_internet_gateway(table: GraphResource, ctx: StackContext) -> bool:
    """Whether `table` sends 0.0.0.0/0 or ::/0 to an internet gateway.

    `table` is a RouteTable, a DefaultRouteTable, or a Vpc standing for its own main route table (whose
    Route resources take the VPC's mainRouteTableId). A gateway given as another resource's output counts when
    it came from an InternetGateway of the stack.
    """
    graph = ctx.graph
    inline_to_gateway = bool(graph.dependencies(table.urn, "routes", (INTERNET_GATEWAY,)))

    def inline(route: Any) -> bool:
        if not _is_default_route(route, "cidrBlock", "ipv6CidrBlock"):
            return False
        gateway = peek(lambda: get(route, "gatewayId"))
        return inline_to_gateway if gateway is UNKNOWN else _names_internet_gateway(route)

    def separate(route: GraphResource) -> bool:
        if not _is_default_route(route.props, "destinationCidrBlock", "destinationIpv6CidrBlock"):
            return False
        return bool(graph.dependencies(route.urn, "gatewayId", (INTERNET_GATEWAY,))) or (
            _names_internet_gateway(route.props)
        )

    declared = get_seq(table.props, "routes")
    items = peek_items(declared)
    if any_of([item for item in items if item is not UNKNOWN], inline):
        return True
    raise_first_unknown(declared, items)
    return any_of(graph.referrers(table.urn, "routeTableId", (ROUTE,)), separate)


def _table_label(table: GraphResource) -> str:
    if table.resource_type == VPC:
        return f"the main route table of VPC '{table.name}'"
    return f"route table '{table.name}'"


def _route_tables(subnet: GraphResource, ctx: StackContext) -> list[GraphResource] | None:
    """The route tables a subnet uses: its explicit association's, else its VPC's main table; None when that
    is not declared in the stack (https://docs.aws.amazon.com/vpc/latest/userguide/RouteTables.html)."""
    graph = ctx.graph
    associations = graph.referrers(subnet.urn, "subnetId", (ROUTE_TABLE_ASSOCIATION,))
    if associations:
        tables = [
            table
            for association in associations
            for table in graph.dependencies(
                association.urn, "routeTableId", (ROUTE_TABLE, DEFAULT_ROUTE_TABLE)
            )
        ]
        return tables or None
    vpcs = graph.dependencies(subnet.urn, "vpcId", (VPC,))
    if not vpcs:
        return None
    vpc = vpcs[0]
    main = [
        table
        for association in graph.referrers(vpc.urn, "vpcId", (MAIN_ROUTE_TABLE_ASSOCIATION,))
        for table in graph.dependencies(association.urn, "routeTableId", (ROUTE_TABLE,))
    ]
    if main:
        return main
    # The main table EC2 made with the VPC holds only the local route, unless a DefaultRouteTable adopts it or
    # Routes are added to it through the VPC's mainRouteTableId.
    return [*graph.referrers(vpc.urn, "defaultRouteTableId", (DEFAULT_ROUTE_TABLE,)), vpc]


@stack_rule(
    name="rds-not-in-public-subnet",
    description=(
        "RDS DB instances and clusters sit in subnets with no route to an internet gateway (not the default "
        "DB subnet group)."
    ),
    severity="high",
    remediation=(
        "Give the DB a DB subnet group (db_subnet_group_name, the group's name output) of private or "
        "isolated subnets: subnets whose route tables send 0.0.0.0/0 and ::/0 to a NAT gateway or nowhere, "
        "never to an internet gateway. Without one, RDS uses the default VPC's public subnets."
    ),
    resource_types=(INSTANCE, CLUSTER),
    fsbp=("RDS.46",),
    url="https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_VPC.WorkingWithRDSInstanceinaVPC.html",
)
def rds_not_in_public_subnet(props: Mapping[str, Any], ctx: StackContext) -> Finding:
    holder = _setting_holder(_judged_db(props, ctx), ctx, "dbSubnetGroupName")
    if holder is None:
        return not_applicable(
            f"read replica '{ctx.name}' shares the subnets of a source the stack does not declare"
        )
    groups = ctx.graph.dependencies(holder.urn, "dbSubnetGroupName", (DB_SUBNET_GROUP,))
    if not groups:
        name = peek(lambda: get_text(holder.props, "dbSubnetGroupName"))
        if name is None or (isinstance(name, str) and name.lower() == "default"):
            return violation(
                f"{_kind(ctx)} '{ctx.name}' uses the default DB subnet group: the default VPC's subnets, "
                "which route to its internet gateway."
            )
        return not_applicable(f"{_kind(ctx)} '{ctx.name}' uses a DB subnet group the stack does not declare")
    group = groups[0]
    subnets = ctx.graph.dependencies(group.urn, "subnetIds", (SUBNET,))
    public: list[str] = []
    undeclared = not subnets
    for subnet in subnets:
        tables = _route_tables(subnet, ctx)
        if tables is None:
            undeclared = True
            continue
        public += [
            f"subnet '{subnet.name}': {_table_label(table)} routes to an internet gateway"
            for table in tables
            if _to_internet_gateway(table, ctx)
        ]
    if public:
        return violation(f"{_kind(ctx)} '{ctx.name}' sits in public subnets ({'; '.join(public)}).")
    # An unknown list (ids of subnets still to be created) is all the stack's: its edges name them.
    listed = peek(lambda: get_seq(group.props, "subnetIds"))
    if undeclared or (listed is not UNKNOWN and len(listed) > len(subnets)):
        return not_applicable(
            f"DB subnet group '{group.name}' of '{ctx.name}' has subnets or route tables the stack does "
            "not declare"
        )
    return compliant()


class _CriticalEvents(NamedTuple):
    """One of RDS.19-22: a source type and the event categories a subscription must deliver for it."""

    source_type: str
    categories: tuple[str, ...]


def _delivers(subscription: Mapping[str, Any], wanted: _CriticalEvents) -> bool:
    """Whether an enabled subscription sends every `wanted` category for all sources of its type.

    Unset sourceType subscribes to every source type, unset eventCategories to every category, unset
    sourceIds to every source (pulumi-aws rds.EventSubscription; enabled defaults to true).
    """
    if get_bool(subscription, "enabled") is False or has_item(subscription, "sourceIds"):
        return False
    source_type = get_text(subscription, "sourceType")
    if source_type is not None and source_type.lower() != wanted.source_type:
        return False
    chosen = {category.strip().lower() for category in strings(get_seq(subscription, "eventCategories"))}
    return not chosen or set(wanted.categories) <= chosen


def _event_subscription_rule(name: str, control: str, what: str, wanted: _CriticalEvents) -> StackRule:
    """RDS.19-22 as one stack rule each: once a region has RDS event subscriptions (none passes), one of them
    must deliver `wanted`; judged on every subscription of the region the stack declares."""
    categories = ", ".join(f"'{category}'" for category in wanted.categories)

    @stack_rule(
        name=name,
        description=f"RDS event subscriptions deliver {what} events ({categories}) of all sources.",
        severity="low",
        remediation=(
            f"Add (or widen) an aws.rds.EventSubscription with source_type '{wanted.source_type}', no "
            f"source_ids, and event_categories including {categories} (or none, for all), sending to an SNS "
            "topic; enabled defaults to true."
        ),
        resource_types=(EVENT_SUBSCRIPTION,),
        fsbp=(control,),
        url="https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_Events.Subscribing.html",
    )
    def check(props: Mapping[str, Any], ctx: StackContext) -> Finding:
        region = region_of(props, ctx.provider, ctx.stack_config)

        def covers(subscription: GraphResource) -> bool:
            here = region_of(subscription.props, provider_props(subscription), ctx.stack_config) == region
            return here and _delivers(subscription.props, wanted)

        if any_of(ctx.of_types((EVENT_SUBSCRIPTION,)), covers):
            return compliant()
        return violation(
            f"Event subscription '{ctx.name}': no RDS event subscription of the stack in "
            f"{region or 'the default region'} delivers {wanted.source_type} events {categories} for all "
            "sources."
        )

    return check


rds_cluster_event_notifications = _event_subscription_rule(
    "rds-cluster-event-notifications",
    "RDS.19",
    "critical DB cluster",
    _CriticalEvents("db-cluster", ("maintenance", "failure")),
)
rds_instance_event_notifications = _event_subscription_rule(
    "rds-instance-event-notifications",
    "RDS.20",
    "critical DB instance",
    _CriticalEvents("db-instance", ("maintenance", "configuration change", "failure")),
)
rds_parameter_group_event_notifications = _event_subscription_rule(
    "rds-parameter-group-event-notifications",
    "RDS.21",
    "DB parameter group",
    _CriticalEvents("db-parameter-group", ("configuration change",)),
)
rds_security_group_event_notifications = _event_subscription_rule(
    "rds-security-group-event-notifications",
    "RDS.22",
    "DB security group",
    _CriticalEvents("db-security-group", ("configuration change", "failure")),
)


# The control's fixed parameters (rds-controls.html#rds-51): Aurora MySQL 3.08.0 or later, or a 3.04 long-term
# support release. They follow AWS's support calendar: check the page when it moves.
MIN_GLOBAL_AURORA_MYSQL = (3, 8, 0)
LTS_GLOBAL_AURORA_MYSQL = frozenset({(3, 4, 0), (3, 4, 1), (3, 4, 2), (3, 4, 3)})


@stack_rule(
    name="rds-global-cluster-supported-version",
    description="Aurora MySQL global databases run a supported Aurora MySQL version (3.08.0+, or 3.04 LTS).",
    severity="high",
    remediation=(
        "Set engine_version to 8.0.mysql_aurora.3.08.0 or later (or a 3.04 long-term support release) on the "
        "aws.rds.GlobalCluster and its clusters; upgrade the global database in place."
    ),
    resource_types=(GLOBAL_CLUSTER,),
    fsbp=("RDS.51",),
    url="https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/aurora-global-database-upgrade.html",
)
def rds_global_cluster_supported_version(props: Mapping[str, Any], ctx: StackContext) -> Finding:
    # With sourceDbClusterIdentifier the global database takes the engine and version of that cluster.
    sources = ctx.dependencies("sourceDbClusterIdentifier", (CLUSTER,))
    source = sources[0].props if sources else {}
    engine = _engine(props) or _engine(source)
    if not engine and has_value(props, "sourceDbClusterIdentifier"):
        return not_applicable(
            f"global cluster '{ctx.name}' is made from a DB cluster the stack does not declare"
        )
    if engine not in AURORA_MYSQL_ENGINES:
        return not_applicable(f"engine {engine or '<unset>'} is not Aurora MySQL")
    version = get_text(props, "engineVersion") or get_text(source, "engineVersion")
    if version is None:
        return not_applicable(
            f"global cluster '{ctx.name}' sets no engineVersion: RDS creates it on its default version"
        )
    _, _, aurora = version.partition(".mysql_aurora.")
    release = _version(aurora)
    if release >= MIN_GLOBAL_AURORA_MYSQL or release in LTS_GLOBAL_AURORA_MYSQL:
        return compliant()
    return violation(
        f"Global cluster '{ctx.name}' runs Aurora MySQL {version}, older than 8.0.mysql_aurora.3.08.0 and "
        "not a 3.04 long-term support release."
    )


RULES = (
    rds_storage_encrypted_cmk,
    rds_not_public,
    rds_backup_retention,
    rds_deletion_protection,
    rds_multi_az,
    rds_final_snapshot,
    rds_no_plaintext_password,
    rds_iam_auth,
    rds_log_exports,
    rds_enhanced_monitoring,
    rds_performance_insights_cmk,
    rds_auto_minor_upgrade,
    rds_copy_tags_to_snapshot,
    rds_force_ssl,
    rds_cross_region_backup,
    rds_snapshot_not_public,
    rds_snapshot_encrypted,
    rds_aurora_mysql_backtracking,
    rds_cluster_multi_az,
    rds_cluster_custom_admin_username,
    rds_instance_custom_admin_username,
    rds_proxy_require_tls,
    rds_sqlserver_force_ssl,
    rds_mariadb_require_secure_transport,
    rds_aurora_mysql_audit_logging,
    rds_not_in_public_subnet,
    rds_cluster_event_notifications,
    rds_instance_event_notifications,
    rds_parameter_group_event_notifications,
    rds_security_group_event_notifications,
    rds_global_cluster_supported_version,
)
