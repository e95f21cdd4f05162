"""RDS rules: DB instances, DB clusters, Aurora instances and PostgreSQL parameter groups.

Read replicas (`replicateSourceDb` set) take their storage, backups and credentials from the source
instance, so the rules about those judge the primary and mark the replica not applicable.

Public access, Enhanced Monitoring, Performance Insights and minor upgrades are settings of each DB
instance: of an `rds.Instance`, of each Aurora `rds.ClusterInstance`, and of a Multi-AZ DB cluster as a
whole (engine mysql or postgres: its instances are not separate resources). An Aurora `rds.Cluster` is not
judged for them; its ClusterInstances are.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from paved_policies.props import (
    UNKNOWN,
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
    strings,
)
from paved_policies.rule import (
    Finding,
    ResourceContext,
    StackContext,
    compliant,
    not_applicable,
    resource_rule,
    stack_rule,
    violation,
)

INSTANCE = "aws:rds/instance:Instance"
CLUSTER = "aws:rds/cluster:Cluster"
CLUSTER_INSTANCE = "aws:rds/clusterInstance:ClusterInstance"
PARAMETER_GROUP = "aws:rds/parameterGroup:ParameterGroup"
CLUSTER_PARAMETER_GROUP = "aws:rds/clusterParameterGroup:ClusterParameterGroup"
BACKUP_REPLICATION = "aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication"

# Hard-coded: the rule framework has no per-policy config schema yet. 14 days covers two weekly
# release cycles of point-in-time restore; AWS allows 0-35 (USER_WorkingWithAutomatedBackups).
MIN_BACKUP_RETENTION_DAYS = 14

# IAM database authentication exists for MariaDB, MySQL and PostgreSQL (and Aurora), not for
# Oracle, SQL Server, Db2 or RDS Custom:
# https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/UsingWithRDS.IAMDBAuth.html
NO_IAM_AUTH_ENGINES = ("oracle", "sqlserver", "db2", "custom-")
POSTGRES_ENGINES = frozenset({"postgres", "aurora-postgresql"})
# Parameter group families for RDS / Aurora PostgreSQL: postgres17, aurora-postgresql16, ...
POSTGRES_FAMILIES = ("postgres", "aurora-postgresql")
FORCE_SSL = "rds.force_ssl"
# rds.Cluster `engine`: "aurora-mysql, aurora-postgresql, mysql, postgres. (Note that mysql and postgres
# are Multi-AZ RDS clusters)" (pulumi-aws 7.51.1 rds/cluster.py).
MULTI_AZ_CLUSTER_ENGINES = frozenset({"mysql", "postgres"})


def _is_replica(props: Mapping[str, Any], ctx: ResourceContext | StackContext) -> bool:
    """A same- or cross-region read replica of another DB instance (a presence check)."""
    return ctx.resource_type == INSTANCE and has_value(props, "replicateSourceDb")


def _kind(ctx: ResourceContext | StackContext) -> str:
    kinds = {CLUSTER: "DB cluster", CLUSTER_INSTANCE: "Aurora DB instance"}
    return kinds.get(ctx.resource_type, "DB instance")


def _is_multi_az_cluster(props: Mapping[str, Any]) -> bool:
    """A Multi-AZ DB cluster (RDS for MySQL/PostgreSQL with two readable standbys), not an Aurora cluster."""
    engine = (get_text(props, "engine") or "").lower()
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
    staging_enforcement="advisory",
    url="https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_DeleteInstance.html",
)
def rds_deletion_protection(props: Mapping[str, Any], ctx: ResourceContext) -> Finding:
    if get_bool(props, "deletionProtection") is True:
        return compliant()
    return violation(f"{_kind(ctx)} '{ctx.name}' does not have deletionProtection set to true.")


@resource_rule(
    name="rds-multi-az",
    description="RDS DB instances run Multi-AZ with a synchronous standby.",
    severity="medium",
    remediation="Set multi_az=True (a standby in another AZ with automatic failover).",
    resource_types=(INSTANCE,),
    checkov=("CKV_AWS_157",),
    cdk_nag=("AwsSolutions-RDS3", "RDSMultiAZSupport"),
    staging_enforcement="advisory",
    url="https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/Concepts.MultiAZSingleStandby.html",
)
def rds_multi_az(props: Mapping[str, Any], ctx: ResourceContext) -> Finding:
    if _is_replica(props, ctx):
        return not_applicable("read replicas add read capacity; the primary's Multi-AZ gives failover")
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
    url="https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/UsingWithRDS.IAMDBAuth.html",
)
def rds_iam_auth(props: Mapping[str, Any], ctx: ResourceContext) -> Finding:
    engine = (get_text(props, "engine") or "").lower()
    if engine.startswith(NO_IAM_AUTH_ENGINES):
        return not_applicable(f"engine {engine} does not support IAM database authentication")
    if get_bool(props, "iamDatabaseAuthenticationEnabled") is True:
        return compliant()
    return violation(f"{_kind(ctx)} '{ctx.name}' does not enable iamDatabaseAuthenticationEnabled.")


@resource_rule(
    name="rds-log-exports",
    description="RDS exports its database logs to CloudWatch Logs (the postgresql log for PostgreSQL).",
    severity="medium",
    remediation=(
        "Set enabled_cloudwatch_logs_exports, e.g. ['postgresql', 'upgrade'] for PostgreSQL, or the "
        "engine's error/general/slowquery/audit logs for MySQL and MariaDB."
    ),
    resource_types=(INSTANCE, CLUSTER),
    checkov=("CKV_AWS_129", "CKV_AWS_324"),
    cdk_nag=("RDSLoggingEnabled",),
    url="https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_LogAccess.Procedural.UploadtoCloudWatch.html",
)
def rds_log_exports(props: Mapping[str, Any], ctx: ResourceContext) -> Finding:
    engine = (get_text(props, "engine") or "").lower()
    if engine in POSTGRES_ENGINES:
        # PostgreSQL writes errors, slow queries and connections to one log, called "postgresql".
        if "postgresql" in strings(get_seq(props, "enabledCloudwatchLogsExports")):
            return compliant()
        return violation(
            f"{_kind(ctx)} '{ctx.name}' does not export the 'postgresql' log (enabledCloudwatchLogsExports)."
        )
    if has_item(props, "enabledCloudwatchLogsExports"):
        return compliant()
    return violation(f"{_kind(ctx)} '{ctx.name}' exports no logs (enabledCloudwatchLogsExports is empty).")


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
    url="https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_Tagging.html",
)
def rds_copy_tags_to_snapshot(props: Mapping[str, Any], ctx: ResourceContext) -> Finding:
    # copyTagsToSnapshot defaults to false.
    if get_bool(props, "copyTagsToSnapshot") is True:
        return compliant()
    return violation(f"{_kind(ctx)} '{ctx.name}' does not set copyTagsToSnapshot to true.")


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
    values = [
        get(parameter, "value")
        for parameter in get_seq(props, "parameters")
        if (get_str(parameter, "name") or "").strip() == FORCE_SSL
    ]
    if values and all(_is_one(value) for value in values):
        return compliant()
    found = "is not set" if not values else "is not 1"
    return violation(f"Parameter group '{ctx.name}': {FORCE_SSL} {found}.")


def _is_one(value: Any) -> bool:
    # Parameter values are strings in pulumi-aws ('1'); accept a number 1 too, never True/'true'.
    if isinstance(value, str):
        return value.strip() == "1"
    return as_int(value) == 1


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
)
