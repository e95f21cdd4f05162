"""The data-tier families: RDS, ElastiCache, Secrets Manager and AWS Backup.

Fixtures and the tests only this family needs; tests/test_policy_pack.py runs the tables below with every
other family's, through tests/policy_harness.py (the real pulumi_policy objects, props behind the SDK's
unknown-checking proxy, numbers as floats, unknowns as the engine's sentinels).
"""

from __future__ import annotations

from typing import Any

import pytest
from paved_policies.rules import backup, elasticache, rds, secretsmanager
from pulumi_policy.proxy import (
    UNKNOWN_ARRAY_VALUE,
    UNKNOWN_BOOLEAN_VALUE,
    UNKNOWN_NUMBER_VALUE,
    UNKNOWN_OBJECT_VALUE,
    UnknownValueError,
)

from tests.policy_harness import (
    UNKNOWN,
    UNKNOWNS,
    Deferral,
    Family,
    OtherType,
    PreviewUnknown,
    Res,
    ResourceCase,
    StackCase,
    StackFuzzTarget,
    but,
    run_resource,
    run_stack,
)

INSTANCE = "aws:rds/instance:Instance"
CLUSTER = "aws:rds/cluster:Cluster"
CLUSTER_INSTANCE = "aws:rds/clusterInstance:ClusterInstance"
PG = "aws:rds/parameterGroup:ParameterGroup"
CPG = "aws:rds/clusterParameterGroup:ClusterParameterGroup"
BACKUP_REPLICATION = "aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication"
RG = "aws:elasticache/replicationGroup:ReplicationGroup"
SECRET = "aws:secretsmanager/secret:Secret"
ROTATION = "aws:secretsmanager/secretRotation:SecretRotation"
VAULT = "aws:backup/vault:Vault"
VAULT_LOCK = "aws:backup/vaultLockConfiguration:VaultLockConfiguration"
KEY_ARN = "arn:aws:kms:eu-west-1:111122223333:key/k"


# A primary as paved's prod stack declares it, in a first preview: ARNs from other resources unknown.
PRIMARY: dict[str, Any] = {
    "engine": "postgres",
    "engineVersion": "17",
    "instanceClass": "db.r7g.large",
    "storageEncrypted": True,
    "kmsKeyId": UNKNOWN,
    "publiclyAccessible": False,
    "backupRetentionPeriod": 35.0,
    "deletionProtection": True,
    "multiAz": True,
    "skipFinalSnapshot": False,
    "finalSnapshotIdentifier": "db-final",
    "manageMasterUserPassword": True,
    "iamDatabaseAuthenticationEnabled": True,
    "enabledCloudwatchLogsExports": ["postgresql", "upgrade"],
    "monitoringInterval": 15.0,
    "monitoringRoleArn": UNKNOWN,
    "performanceInsightsEnabled": True,
    "performanceInsightsKmsKeyId": UNKNOWN,
    "autoMinorVersionUpgrade": True,
    "copyTagsToSnapshot": True,
}
# A read replica: no engine, backups or credentials of its own.
REPLICA: dict[str, Any] = {
    "replicateSourceDb": "paved-prod-database",
    "instanceClass": "db.r7g.large",
    "storageEncrypted": True,
    "publiclyAccessible": False,
    "skipFinalSnapshot": True,
    "deletionProtection": True,
    "iamDatabaseAuthenticationEnabled": True,
    "enabledCloudwatchLogsExports": ["postgresql"],
    "monitoringInterval": 60.0,
    "performanceInsightsEnabled": True,
    "performanceInsightsKmsKeyId": KEY_ARN,
    "copyTagsToSnapshot": True,
}
AURORA: dict[str, Any] = {
    "engine": "aurora-postgresql",
    "storageEncrypted": True,
    "kmsKeyId": KEY_ARN,
    "backupRetentionPeriod": 14.0,
    "deletionProtection": True,
    "skipFinalSnapshot": False,
    "manageMasterUserPassword": True,
    "iamDatabaseAuthenticationEnabled": True,
    "enabledCloudwatchLogsExports": ["postgresql"],
    "copyTagsToSnapshot": True,
}
# An Aurora instance of that cluster: public access, monitoring, PI and upgrades are set per instance.
AURORA_INSTANCE: dict[str, Any] = {
    "clusterIdentifier": UNKNOWN,
    "engine": "aurora-postgresql",
    "instanceClass": "db.r7g.large",
    "publiclyAccessible": False,
    "monitoringInterval": 60.0,
    "monitoringRoleArn": UNKNOWN,
    "performanceInsightsEnabled": True,
    "performanceInsightsKmsKeyId": UNKNOWN,
    "autoMinorVersionUpgrade": True,
}
# A Multi-AZ DB cluster (engine postgres or mysql): its instances are not resources, the cluster has it all.
MULTI_AZ_CLUSTER: dict[str, Any] = {
    **AURORA,
    "engine": "postgres",
    "dbClusterInstanceClass": "db.m6gd.large",
    "allocatedStorage": 100.0,
    "storageType": "io1",
    "iops": 1000.0,
    "dbSubnetGroupName": UNKNOWN,
    "publiclyAccessible": False,
    "monitoringInterval": 30.0,
    "monitoringRoleArn": UNKNOWN,
    "performanceInsightsEnabled": True,
    "performanceInsightsKmsKeyId": KEY_ARN,
}
CACHE: dict[str, Any] = {
    "engine": "valkey",
    "transitEncryptionEnabled": True,
    "transitEncryptionMode": "required",
    "atRestEncryptionEnabled": True,
    "kmsKeyId": UNKNOWN,
    "authTokenWo": UNKNOWN,
    "automaticFailoverEnabled": True,
    "multiAzEnabled": True,
    "snapshotRetentionLimit": 7.0,
    "subnetGroupName": UNKNOWN,
    "logDeliveryConfigurations": [
        {
            "destination": "/cache/slow-log",
            "destinationType": "cloudwatch-logs",
            "logFormat": "json",
            "logType": "slow-log",
        }
    ],
}
FORCE_SSL_ON = [{"name": "rds.force_ssl", "value": "1", "applyMethod": "immediate"}]

# (id, policy, type, props, expected, message fragment)
RESOURCE_CASES: list[ResourceCase] = [
    # rds-storage-encrypted-cmk
    ("enc-primary", "rds-storage-encrypted-cmk", INSTANCE, PRIMARY, "ok", ""),
    (
        "enc-replica-inherits-key",
        "rds-storage-encrypted-cmk",
        INSTANCE,
        REPLICA,
        "n/a",
        "inherits the encryption",
    ),
    ("enc-aurora", "rds-storage-encrypted-cmk", CLUSTER, AURORA, "ok", ""),
    (
        "enc-unencrypted",
        "rds-storage-encrypted-cmk",
        INSTANCE,
        but(PRIMARY, storageEncrypted=...),
        "violation",
        "storageEncrypted",
    ),
    (
        "enc-aws-key",
        "rds-storage-encrypted-cmk",
        INSTANCE,
        but(PRIMARY, kmsKeyId=...),
        "violation",
        "kmsKeyId",
    ),
    (
        "enc-blank-key",
        "rds-storage-encrypted-cmk",
        CLUSTER,
        but(AURORA, kmsKeyId=" "),
        "violation",
        "kmsKeyId",
    ),
    (
        "enc-replica-unencrypted",
        "rds-storage-encrypted-cmk",
        INSTANCE,
        but(REPLICA, storageEncrypted=False),
        "violation",
        "storageEncrypted",
    ),
    # rds-not-public
    ("public-no", "rds-not-public", INSTANCE, PRIMARY, "ok", ""),
    ("public-unset", "rds-not-public", INSTANCE, {}, "ok", ""),
    ("public-yes", "rds-not-public", INSTANCE, but(PRIMARY, publiclyAccessible=True), "violation", "public"),
    ("public-replica", "rds-not-public", INSTANCE, but(REPLICA, publiclyAccessible=True), "violation", ""),
    ("public-aurora-instance-no", "rds-not-public", CLUSTER_INSTANCE, AURORA_INSTANCE, "ok", ""),
    # The provider sends PubliclyAccessible=false for an unset ClusterInstance ("Default `false`").
    (
        "public-aurora-instance-unset",
        "rds-not-public",
        CLUSTER_INSTANCE,
        but(AURORA_INSTANCE, publiclyAccessible=...),
        "ok",
        "",
    ),
    (
        "public-aurora-instance-yes",
        "rds-not-public",
        CLUSTER_INSTANCE,
        but(AURORA_INSTANCE, publiclyAccessible=True),
        "violation",
        "Aurora DB instance 'res' has publiclyAccessible set to true",
    ),
    ("public-aurora-cluster", "rds-not-public", CLUSTER, AURORA, "n/a", "on each of its instances"),
    ("public-multi-az-no", "rds-not-public", CLUSTER, MULTI_AZ_CLUSTER, "ok", ""),
    (
        "public-multi-az-yes",
        "rds-not-public",
        CLUSTER,
        but(MULTI_AZ_CLUSTER, publiclyAccessible=True),
        "violation",
        "DB cluster 'res' has publiclyAccessible set to true",
    ),
    (
        "public-multi-az-unset-own-subnets",
        "rds-not-public",
        CLUSTER,
        but(MULTI_AZ_CLUSTER, publiclyAccessible=..., dbSubnetGroupName="db-private"),
        "ok",
        "",
    ),
    # Unset on a Multi-AZ DB cluster: RDS makes it public with the default subnet group, or none.
    (
        "public-multi-az-unset-default-subnets",
        "rds-not-public",
        CLUSTER,
        but(MULTI_AZ_CLUSTER, publiclyAccessible=..., dbSubnetGroupName="default"),
        "violation",
        "the default DB subnet group",
    ),
    (
        "public-multi-az-unset-no-subnets",
        "rds-not-public",
        CLUSTER,
        but(MULTI_AZ_CLUSTER, publiclyAccessible=..., dbSubnetGroupName=...),
        "violation",
        "no DB subnet group",
    ),
    (
        "public-multi-az-by-instance-class",
        "rds-not-public",
        CLUSTER,
        {"dbClusterInstanceClass": "db.m6gd.large", "publiclyAccessible": True},
        "violation",
        "publiclyAccessible",
    ),
    # rds-backup-retention
    ("retention-35", "rds-backup-retention", INSTANCE, PRIMARY, "ok", ""),
    ("retention-14-cluster", "rds-backup-retention", CLUSTER, AURORA, "ok", ""),
    (
        "retention-7",
        "rds-backup-retention",
        INSTANCE,
        but(PRIMARY, backupRetentionPeriod=7.0),
        "violation",
        "7 days",
    ),
    (
        "retention-unset",
        "rds-backup-retention",
        INSTANCE,
        but(PRIMARY, backupRetentionPeriod=...),
        "violation",
        "unset",
    ),
    (
        "retention-fraction",
        "rds-backup-retention",
        INSTANCE,
        but(PRIMARY, backupRetentionPeriod=14.5),
        "violation",
        "unset",
    ),
    ("retention-replica", "rds-backup-retention", INSTANCE, REPLICA, "n/a", ""),
    # rds-deletion-protection
    ("delprot-on", "rds-deletion-protection", INSTANCE, PRIMARY, "ok", ""),
    ("delprot-cluster-on", "rds-deletion-protection", CLUSTER, AURORA, "ok", ""),
    (
        "delprot-off",
        "rds-deletion-protection",
        INSTANCE,
        but(PRIMARY, deletionProtection=False),
        "violation",
        "deletionProtection",
    ),
    (
        "delprot-cluster-unset",
        "rds-deletion-protection",
        CLUSTER,
        but(AURORA, deletionProtection=...),
        "violation",
        "DB cluster",
    ),
    # rds-multi-az
    ("multiaz-on", "rds-multi-az", INSTANCE, PRIMARY, "ok", ""),
    ("multiaz-off", "rds-multi-az", INSTANCE, but(PRIMARY, multiAz=False), "violation", "multiAz"),
    ("multiaz-replica", "rds-multi-az", INSTANCE, REPLICA, "n/a", ""),
    # rds-final-snapshot
    ("final-kept", "rds-final-snapshot", INSTANCE, PRIMARY, "ok", ""),
    ("final-default", "rds-final-snapshot", CLUSTER, but(AURORA, skipFinalSnapshot=...), "ok", ""),
    (
        "final-skipped",
        "rds-final-snapshot",
        INSTANCE,
        but(PRIMARY, skipFinalSnapshot=True),
        "violation",
        "skipFinalSnapshot",
    ),
    ("final-replica", "rds-final-snapshot", INSTANCE, REPLICA, "n/a", ""),
    # rds-no-plaintext-password
    ("pw-managed", "rds-no-plaintext-password", INSTANCE, PRIMARY, "ok", ""),
    (
        "pw-write-only",
        "rds-no-plaintext-password",
        INSTANCE,
        but(PRIMARY, manageMasterUserPassword=..., passwordWo=UNKNOWN, passwordWoVersion=1.0),
        "ok",
        "",
    ),
    ("pw-replica-none", "rds-no-plaintext-password", INSTANCE, REPLICA, "ok", ""),
    (
        "pw-plain",
        "rds-no-plaintext-password",
        INSTANCE,
        but(PRIMARY, password="hunter22"),
        "violation",
        "password",
    ),
    (
        "pw-plain-unknown",
        "rds-no-plaintext-password",
        INSTANCE,
        but(PRIMARY, password=UNKNOWN),
        "violation",
        "password",
    ),
    (
        "pw-cluster-plain",
        "rds-no-plaintext-password",
        CLUSTER,
        but(AURORA, masterPassword="x"),
        "violation",
        "masterPassword",
    ),
    ("pw-cluster-wo", "rds-no-plaintext-password", CLUSTER, but(AURORA, masterPasswordWo="x"), "ok", ""),
    # rds-iam-auth
    ("iam-on", "rds-iam-auth", INSTANCE, PRIMARY, "ok", ""),
    (
        "iam-off",
        "rds-iam-auth",
        CLUSTER,
        but(AURORA, iamDatabaseAuthenticationEnabled=False),
        "violation",
        "iamDatabaseAuthenticationEnabled",
    ),
    ("iam-oracle", "rds-iam-auth", INSTANCE, {"engine": "oracle-ee"}, "n/a", ""),
    ("iam-sqlserver", "rds-iam-auth", INSTANCE, {"engine": "sqlserver-se"}, "n/a", ""),
    # rds-log-exports
    ("logs-postgres", "rds-log-exports", INSTANCE, PRIMARY, "ok", ""),
    ("logs-aurora", "rds-log-exports", CLUSTER, AURORA, "ok", ""),
    ("logs-replica-no-engine", "rds-log-exports", INSTANCE, REPLICA, "ok", ""),
    (
        "logs-mysql",
        "rds-log-exports",
        INSTANCE,
        {"engine": "mysql", "enabledCloudwatchLogsExports": ["error"]},
        "ok",
        "",
    ),
    (
        "logs-postgres-upgrade-only",
        "rds-log-exports",
        INSTANCE,
        but(PRIMARY, enabledCloudwatchLogsExports=["upgrade"]),
        "violation",
        "'postgresql'",
    ),
    (
        "logs-mysql-none",
        "rds-log-exports",
        INSTANCE,
        {"engine": "mysql", "enabledCloudwatchLogsExports": []},
        "violation",
        "no logs",
    ),
    (
        "logs-unset",
        "rds-log-exports",
        INSTANCE,
        but(PRIMARY, enabledCloudwatchLogsExports=...),
        "violation",
        "postgresql",
    ),
    # rds-enhanced-monitoring
    ("mon-15", "rds-enhanced-monitoring", INSTANCE, PRIMARY, "ok", ""),
    (
        "mon-0",
        "rds-enhanced-monitoring",
        INSTANCE,
        but(PRIMARY, monitoringInterval=0.0),
        "violation",
        "monitoringInterval",
    ),
    ("mon-unset", "rds-enhanced-monitoring", INSTANCE, {}, "violation", "monitoringInterval"),
    ("mon-aurora-instance", "rds-enhanced-monitoring", CLUSTER_INSTANCE, AURORA_INSTANCE, "ok", ""),
    (
        "mon-aurora-instance-unset",
        "rds-enhanced-monitoring",
        CLUSTER_INSTANCE,
        but(AURORA_INSTANCE, monitoringInterval=...),
        "violation",
        "Aurora DB instance 'res' has no Enhanced Monitoring",
    ),
    ("mon-aurora-cluster", "rds-enhanced-monitoring", CLUSTER, AURORA, "n/a", "monitoringInterval"),
    ("mon-multi-az", "rds-enhanced-monitoring", CLUSTER, MULTI_AZ_CLUSTER, "ok", ""),
    (
        "mon-multi-az-off",
        "rds-enhanced-monitoring",
        CLUSTER,
        but(MULTI_AZ_CLUSTER, monitoringInterval=0.0),
        "violation",
        "DB cluster 'res' has no Enhanced Monitoring",
    ),
    # rds-performance-insights-cmk
    ("pi-cmk", "rds-performance-insights-cmk", INSTANCE, PRIMARY, "ok", ""),
    (
        "pi-off",
        "rds-performance-insights-cmk",
        INSTANCE,
        but(PRIMARY, performanceInsightsEnabled=False),
        "violation",
        "performanceInsightsEnabled",
    ),
    (
        "pi-aws-key",
        "rds-performance-insights-cmk",
        INSTANCE,
        but(PRIMARY, performanceInsightsKmsKeyId=...),
        "violation",
        "performanceInsightsKmsKeyId",
    ),
    ("pi-aurora-instance", "rds-performance-insights-cmk", CLUSTER_INSTANCE, AURORA_INSTANCE, "ok", ""),
    (
        "pi-aurora-instance-off",
        "rds-performance-insights-cmk",
        CLUSTER_INSTANCE,
        but(AURORA_INSTANCE, performanceInsightsEnabled=...),
        "violation",
        "Aurora DB instance 'res' does not enable performanceInsightsEnabled",
    ),
    (
        "pi-aurora-instance-aws-key",
        "rds-performance-insights-cmk",
        CLUSTER_INSTANCE,
        but(AURORA_INSTANCE, performanceInsightsKmsKeyId=" "),
        "violation",
        "performanceInsightsKmsKeyId",
    ),
    ("pi-aurora-cluster", "rds-performance-insights-cmk", CLUSTER, AURORA, "n/a", "Aurora"),
    ("pi-multi-az", "rds-performance-insights-cmk", CLUSTER, MULTI_AZ_CLUSTER, "ok", ""),
    (
        "pi-multi-az-off",
        "rds-performance-insights-cmk",
        CLUSTER,
        but(MULTI_AZ_CLUSTER, performanceInsightsEnabled=False),
        "violation",
        "DB cluster 'res'",
    ),
    # rds-auto-minor-upgrade
    ("minor-on", "rds-auto-minor-upgrade", INSTANCE, PRIMARY, "ok", ""),
    ("minor-default", "rds-auto-minor-upgrade", INSTANCE, {}, "ok", ""),
    (
        "minor-off",
        "rds-auto-minor-upgrade",
        INSTANCE,
        but(PRIMARY, autoMinorVersionUpgrade=False),
        "violation",
        "autoMinorVersionUpgrade",
    ),
    (
        "minor-aurora-instance-default",
        "rds-auto-minor-upgrade",
        CLUSTER_INSTANCE,
        but(AURORA_INSTANCE, autoMinorVersionUpgrade=...),
        "ok",
        "",
    ),
    (
        "minor-aurora-instance-off",
        "rds-auto-minor-upgrade",
        CLUSTER_INSTANCE,
        but(AURORA_INSTANCE, autoMinorVersionUpgrade=False),
        "violation",
        "Aurora DB instance 'res' sets autoMinorVersionUpgrade to false",
    ),
    ("minor-cluster-default", "rds-auto-minor-upgrade", CLUSTER, AURORA, "ok", ""),
    (
        "minor-cluster-off",
        "rds-auto-minor-upgrade",
        CLUSTER,
        but(MULTI_AZ_CLUSTER, autoMinorVersionUpgrade=False),
        "violation",
        "DB cluster 'res' sets autoMinorVersionUpgrade to false",
    ),
    # rds-copy-tags-to-snapshot
    ("tags-on", "rds-copy-tags-to-snapshot", CLUSTER, AURORA, "ok", ""),
    (
        "tags-default",
        "rds-copy-tags-to-snapshot",
        INSTANCE,
        but(PRIMARY, copyTagsToSnapshot=...),
        "violation",
        "copyTagsToSnapshot",
    ),
    # rds-force-ssl
    ("ssl-on", "rds-force-ssl", PG, {"family": "postgres17", "parameters": FORCE_SSL_ON}, "ok", ""),
    (
        "ssl-aurora",
        "rds-force-ssl",
        CPG,
        {"family": "aurora-postgresql16", "parameters": FORCE_SSL_ON},
        "ok",
        "",
    ),
    (
        "ssl-numeric",
        "rds-force-ssl",
        PG,
        {"family": "postgres16", "parameters": [{"name": "rds.force_ssl", "value": 1.0}]},
        "ok",
        "",
    ),
    (
        "ssl-missing",
        "rds-force-ssl",
        PG,
        {"family": "postgres17", "parameters": [{"name": "log_lock_waits", "value": "1"}]},
        "violation",
        "is not set",
    ),
    ("ssl-no-parameters", "rds-force-ssl", PG, {"family": "postgres17"}, "violation", "is not set"),
    (
        "ssl-off",
        "rds-force-ssl",
        PG,
        {"family": "postgres17", "parameters": [{"name": "rds.force_ssl", "value": "0"}]},
        "violation",
        "is not 1",
    ),
    (
        "ssl-true-is-not-1",
        "rds-force-ssl",
        PG,
        {"family": "postgres17", "parameters": [{"name": "rds.force_ssl", "value": "true"}]},
        "violation",
        "is not 1",
    ),
    (
        "ssl-duplicate-off",
        "rds-force-ssl",
        PG,
        {"family": "postgres17", "parameters": [*FORCE_SSL_ON, {"name": "rds.force_ssl", "value": "0"}]},
        "violation",
        "is not 1",
    ),
    ("ssl-mysql", "rds-force-ssl", PG, {"family": "mysql8.0", "parameters": []}, "n/a", ""),
    # elasticache-transit-encryption
    ("transit-required", "elasticache-transit-encryption", RG, CACHE, "ok", ""),
    (
        "transit-mode-unset",
        "elasticache-transit-encryption",
        RG,
        but(CACHE, transitEncryptionMode=...),
        "ok",
        "",
    ),
    (
        "transit-off",
        "elasticache-transit-encryption",
        RG,
        but(CACHE, transitEncryptionEnabled=False),
        "violation",
        "transitEncryptionEnabled",
    ),
    (
        "transit-preferred",
        "elasticache-transit-encryption",
        RG,
        but(CACHE, transitEncryptionMode="preferred"),
        "violation",
        "preferred",
    ),
    # elasticache-at-rest-encryption-cmk
    ("rest-cmk", "elasticache-at-rest-encryption-cmk", RG, CACHE, "ok", ""),
    (
        "rest-valkey-default",
        "elasticache-at-rest-encryption-cmk",
        RG,
        but(CACHE, atRestEncryptionEnabled=...),
        "ok",
        "",
    ),
    (
        "rest-redis-default",
        "elasticache-at-rest-encryption-cmk",
        RG,
        but(CACHE, engine="redis", atRestEncryptionEnabled=...),
        "violation",
        "Redis OSS",
    ),
    (
        "rest-off",
        "elasticache-at-rest-encryption-cmk",
        RG,
        but(CACHE, atRestEncryptionEnabled=False),
        "violation",
        "atRestEncryptionEnabled is false",
    ),
    (
        "rest-no-key",
        "elasticache-at-rest-encryption-cmk",
        RG,
        but(CACHE, kmsKeyId=...),
        "violation",
        "kmsKeyId",
    ),
    # elasticache-auth
    ("auth-wo", "elasticache-auth", RG, CACHE, "ok", ""),
    ("auth-token", "elasticache-auth", RG, but(CACHE, authTokenWo=..., authToken="t" * 32), "ok", ""),
    ("auth-rbac", "elasticache-auth", RG, but(CACHE, authTokenWo=..., userGroupIds=["app-users"]), "ok", ""),
    ("auth-none", "elasticache-auth", RG, but(CACHE, authTokenWo=...), "violation", "authToken"),
    (
        "auth-blank-groups",
        "elasticache-auth",
        RG,
        but(CACHE, authTokenWo=..., userGroupIds=[" "]),
        "violation",
        "userGroupIds",
    ),
    # elasticache-automatic-failover
    ("failover-on", "elasticache-automatic-failover", RG, CACHE, "ok", ""),
    (
        "failover-single-az",
        "elasticache-automatic-failover",
        RG,
        but(CACHE, multiAzEnabled=False),
        "violation",
        "multiAzEnabled",
    ),
    ("failover-unset", "elasticache-automatic-failover", RG, {}, "violation", "automaticFailoverEnabled"),
    # elasticache-snapshot-retention
    ("snap-7", "elasticache-snapshot-retention", RG, CACHE, "ok", ""),
    (
        "snap-1",
        "elasticache-snapshot-retention",
        RG,
        but(CACHE, snapshotRetentionLimit=1.0),
        "violation",
        "1 days",
    ),
    (
        "snap-unset",
        "elasticache-snapshot-retention",
        RG,
        but(CACHE, snapshotRetentionLimit=...),
        "violation",
        "no automatic backups",
    ),
    # elasticache-not-default-subnet-group
    ("subnet-own-unknown", "elasticache-not-default-subnet-group", RG, CACHE, "ok", ""),
    (
        "subnet-own-named",
        "elasticache-not-default-subnet-group",
        RG,
        but(CACHE, subnetGroupName="cache"),
        "ok",
        "",
    ),
    (
        "subnet-default",
        "elasticache-not-default-subnet-group",
        RG,
        but(CACHE, subnetGroupName="default"),
        "violation",
        "'default'",
    ),
    (
        "subnet-unset",
        "elasticache-not-default-subnet-group",
        RG,
        but(CACHE, subnetGroupName=...),
        "violation",
        "subnetGroupName",
    ),
    # elasticache-log-delivery
    ("logs-slow", "elasticache-log-delivery", RG, CACHE, "ok", ""),
    (
        "logs-unknown-list",
        "elasticache-log-delivery",
        RG,
        but(CACHE, logDeliveryConfigurations=UNKNOWN_ARRAY_VALUE),
        "ok",
        "",
    ),
    (
        "logs-empty",
        "elasticache-log-delivery",
        RG,
        but(CACHE, logDeliveryConfigurations=[]),
        "violation",
        "logDeliveryConfigurations",
    ),
    (
        "logs-junk",
        "elasticache-log-delivery",
        RG,
        but(CACHE, logDeliveryConfigurations=["slow-log", {}]),
        "violation",
        "logDeliveryConfigurations",
    ),
    # secretsmanager-cmk
    ("secret-cmk", "secretsmanager-cmk", SECRET, {"kmsKeyId": UNKNOWN}, "ok", ""),
    ("secret-aws-key", "secretsmanager-cmk", SECRET, {"name": "app/x"}, "violation", "kmsKeyId"),
    # backup-vault-cmk
    ("vault-cmk", "backup-vault-cmk", VAULT, {"kmsKeyArn": KEY_ARN}, "ok", ""),
    ("vault-aws-key", "backup-vault-cmk", VAULT, {"name": "v", "kmsKeyArn": ""}, "violation", "kmsKeyArn"),
]

# Pack-wide in tests/test_policy_pack.py: an unknown the SDK must report as "can't run during preview".
DEFERRALS: list[Deferral] = [
    ("rds-storage-encrypted-cmk", INSTANCE, but(PRIMARY, storageEncrypted=UNKNOWN_BOOLEAN_VALUE)),
    ("rds-backup-retention", INSTANCE, but(PRIMARY, backupRetentionPeriod=UNKNOWN_NUMBER_VALUE)),
    ("rds-multi-az", INSTANCE, but(PRIMARY, multiAz=UNKNOWN_BOOLEAN_VALUE)),
    ("rds-iam-auth", INSTANCE, but(PRIMARY, engine=UNKNOWN)),
    ("rds-log-exports", INSTANCE, but(PRIMARY, enabledCloudwatchLogsExports=[UNKNOWN])),
    ("rds-enhanced-monitoring", INSTANCE, but(PRIMARY, monitoringInterval=UNKNOWN_NUMBER_VALUE)),
    ("rds-not-public", CLUSTER_INSTANCE, but(AURORA_INSTANCE, publiclyAccessible=UNKNOWN_BOOLEAN_VALUE)),
    ("rds-not-public", CLUSTER, but(MULTI_AZ_CLUSTER, publiclyAccessible=UNKNOWN_BOOLEAN_VALUE)),
    # Aurora or Multi-AZ: the engine decides where public access is set.
    ("rds-not-public", CLUSTER, but(MULTI_AZ_CLUSTER, engine=UNKNOWN, publiclyAccessible=...)),
    (
        "rds-enhanced-monitoring",
        CLUSTER_INSTANCE,
        but(AURORA_INSTANCE, monitoringInterval=UNKNOWN_NUMBER_VALUE),
    ),
    (
        "rds-auto-minor-upgrade",
        CLUSTER,
        but(MULTI_AZ_CLUSTER, autoMinorVersionUpgrade=UNKNOWN_BOOLEAN_VALUE),
    ),
    ("rds-force-ssl", PG, {"family": UNKNOWN, "parameters": FORCE_SSL_ON}),
    (
        "rds-force-ssl",
        PG,
        {"family": "postgres17", "parameters": [{"name": "rds.force_ssl", "value": UNKNOWN}]},
    ),
    ("elasticache-transit-encryption", RG, but(CACHE, transitEncryptionMode=UNKNOWN)),
    ("elasticache-snapshot-retention", RG, but(CACHE, snapshotRetentionLimit=UNKNOWN_NUMBER_VALUE)),
    ("elasticache-automatic-failover", RG, but(CACHE, multiAzEnabled=UNKNOWN_BOOLEAN_VALUE)),
]
PREVIEW_UNKNOWNS: list[PreviewUnknown] = [
    ("rds-storage-encrypted-cmk", INSTANCE, PRIMARY, "ok"),  # kmsKeyId unknown
    ("rds-performance-insights-cmk", INSTANCE, PRIMARY, "ok"),
    ("rds-performance-insights-cmk", CLUSTER_INSTANCE, AURORA_INSTANCE, "ok"),  # key ARN unknown
    # A subnet group built from a SubnetGroup resource is not 'default'.
    ("rds-not-public", CLUSTER, but(MULTI_AZ_CLUSTER, publiclyAccessible=...), "ok"),
    (
        "rds-backup-retention",
        INSTANCE,
        but(REPLICA, replicateSourceDb=UNKNOWN),
        "n/a",
    ),  # replica of a new primary
    ("elasticache-at-rest-encryption-cmk", RG, CACHE, "ok"),
    ("elasticache-auth", RG, CACHE, "ok"),
    ("elasticache-auth", RG, but(CACHE, authTokenWo=..., userGroupIds=UNKNOWN_ARRAY_VALUE), "ok"),
    ("elasticache-not-default-subnet-group", RG, CACHE, "ok"),
    ("elasticache-log-delivery", RG, but(CACHE, logDeliveryConfigurations=[UNKNOWN_OBJECT_VALUE]), "ok"),
    ("secretsmanager-cmk", SECRET, {"kmsKeyId": UNKNOWN}, "ok"),
    ("backup-vault-cmk", VAULT, {"kmsKeyArn": UNKNOWN}, "ok"),
]
OTHER_TYPES: list[OtherType] = [
    ("rds-not-public", PG),
    ("rds-enhanced-monitoring", CPG),
    ("rds-multi-az", PG),
    ("rds-force-ssl", INSTANCE),
    ("elasticache-auth", INSTANCE),
    ("secretsmanager-cmk", VAULT),
    ("backup-vault-cmk", SECRET),
]


def test_a_plaintext_password_from_another_resource_is_still_a_violation() -> None:
    # Unknown in preview (a RandomPassword's result), but it would be stored in the state all the same.
    assert run_resource("rds-no-plaintext-password", INSTANCE, but(PRIMARY, password=UNKNOWN)).violations


# ---------------------------------------------------------------------------------------------
# Stack policies.

XREGION = "rds-cross-region-backup"
SECRET_ROTATION = "secretsmanager-rotation"
ROTATION_INTERVAL = "secretsmanager-rotation-interval"
VAULT_LOCKED = "backup-vault-locked"


def _replication(name: str, source: str) -> Res:
    return Res(
        BACKUP_REPLICATION,
        name,
        {"sourceDbInstanceArn": UNKNOWN, "kmsKeyId": UNKNOWN},
        prop_deps={"sourceDbInstanceArn": [source], "kmsKeyId": []},
    )


def _rotation(name: str, secret: str, **props: Any) -> Res:
    """A SecretRotation whose secretId came from `secret`, with a rotation Lambda still unknown in preview."""
    return Res(
        ROTATION,
        name,
        {"secretId": UNKNOWN, "rotationLambdaArn": UNKNOWN, **props},
        prop_deps={"secretId": [secret]},
    )


def _rotated_every(schedule: dict[str, Any]) -> list[Res]:
    return [Res(SECRET, "s", {"kmsKeyId": UNKNOWN}), _rotation("r", "s", rotationRules=schedule)]


ROTATED_SECRETS = [
    Res(SECRET, "rotated", {"kmsKeyId": UNKNOWN}),
    _rotation("rotation", "rotated", rotationRules={"automaticallyAfterDays": 30.0}),
    Res(SECRET, "bumped", {"tags": {"paved:rotation": "version-bump"}}),
    Res(SECRET, "default-tags", {"tags": {}, "tagsAll": {"paved:rotation": "rds-managed"}}),
]
LOCKED_VAULT = [
    Res(VAULT, "locked", {"kmsKeyArn": UNKNOWN, "name": "locked"}),
    Res(
        VAULT_LOCK,
        "lock",
        {"backupVaultName": "locked", "minRetentionDays": 7.0},
        prop_deps={"backupVaultName": ["locked"]},
    ),
]

OK_OR_NA = frozenset({"ok", "n/a"})

STACK_CASES: list[StackCase] = [
    # rds-cross-region-backup
    (
        "xregion-replicated-primary",
        XREGION,
        [
            Res(INSTANCE, "db", PRIMARY),
            Res(INSTANCE, "db-replica", REPLICA, prop_deps={"replicateSourceDb": ["db"]}),
            _replication("db-dr", "db"),
        ],
        "ok",
        [],
    ),
    (
        "xregion-missing-is-reported-against-the-primary",
        XREGION,
        [
            Res(INSTANCE, "covered", PRIMARY),
            Res(INSTANCE, "bare", PRIMARY),
            _replication("dr", "covered"),
            # Linked to 'bare' only through kmsKeyId: not a replication of it.
            Res(
                BACKUP_REPLICATION,
                "wrong-edge",
                {"sourceDbInstanceArn": "arn:aws:rds:x", "kmsKeyId": UNKNOWN},
                prop_deps={"kmsKeyId": ["bare"]},
            ),
        ],
        "violation",
        ["bare"],
    ),
    (
        "xregion-replicas-and-other-engines",
        XREGION,
        [
            Res(INSTANCE, "replica", REPLICA),
            Res(INSTANCE, "mysql", {"engine": "mysql", "backupRetentionPeriod": 14.0}),
        ],
        "n/a",
        [],
    ),
    # secretsmanager-rotation: a SecretRotation, or a paved:rotation tag saying how it rotates
    ("rotation-by-resource-or-tag", SECRET_ROTATION, ROTATED_SECRETS, "ok", []),
    (
        "rotation-blank-tag",
        SECRET_ROTATION,
        [*ROTATED_SECRETS, Res(SECRET, "bare", {"tags": {"paved:rotation": "  "}})],
        "violation",
        ["bare"],
    ),
    ("rotation-no-secrets", SECRET_ROTATION, [Res(VAULT, "v")], "n/a", []),
    (
        # rotationEnabled=false turns rotation off; a rotation without rules never turns it on.
        "rotation-turned-off",
        SECRET_ROTATION,
        [
            Res(SECRET, "off", {}),
            _rotation("disabled", "off", rotationEnabled=False),
            _rotation("no-rules", "off"),
            *ROTATED_SECRETS,
        ],
        "violation",
        ["off"],
    ),
    # secretsmanager-rotation-interval: at most 90 days between rotations
    ("interval-30-days", ROTATION_INTERVAL, _rotated_every({"automaticallyAfterDays": 30.0}), "ok", []),
    ("interval-90-days", ROTATION_INTERVAL, _rotated_every({"automaticallyAfterDays": 90.0}), "ok", []),
    (
        "interval-rate-hours",
        ROTATION_INTERVAL,
        _rotated_every({"scheduleExpression": "rate(4 hours)"}),
        "ok",
        [],
    ),
    (
        "interval-monthly-cron",
        ROTATION_INTERVAL,
        _rotated_every({"scheduleExpression": "cron(0 16 L * ? *)", "duration": "3h"}),
        "ok",
        [],
    ),
    (
        "interval-91-days",
        ROTATION_INTERVAL,
        _rotated_every({"automaticallyAfterDays": 91.0}),
        "violation",
        ["s"],
    ),
    (
        "interval-rate-100-days",
        ROTATION_INTERVAL,
        _rotated_every({"scheduleExpression": "rate(100 days)"}),
        "violation",
        ["s"],
    ),
    (
        # Quarterly: the pack reads only crons that fire every month.
        "interval-quarterly-cron",
        ROTATION_INTERVAL,
        _rotated_every({"scheduleExpression": "cron(0 0 1 1,4,7,10 ? *)"}),
        "violation",
        ["s"],
    ),
    (
        "interval-fifth-weekday-cron",
        ROTATION_INTERVAL,
        _rotated_every({"scheduleExpression": "cron(0 0 ? * MON#5 *)"}),
        "violation",
        ["s"],
    ),
    (
        "interval-not-rotated-is-left-to-the-rotation-policy",
        ROTATION_INTERVAL,
        [Res(SECRET, "bumped", {"tags": {"paved:rotation": "version-bump"}}), Res(SECRET, "off", {})],
        "n/a",
        [],
    ),
    # backup-vault-locked
    ("vault-locked", VAULT_LOCKED, LOCKED_VAULT, "ok", []),
    (
        "vault-lock-must-reference-the-vault-by-name",
        VAULT_LOCKED,
        [
            *LOCKED_VAULT,
            Res(VAULT, "open", {"kmsKeyArn": UNKNOWN, "name": "open"}),
            # A literal name records no dependency: the pack cannot tell it locks 'open'.
            Res(
                VAULT_LOCK, "literal", {"backupVaultName": "open"}, prop_deps={"backupVaultName": []}, deps=[]
            ),
        ],
        "violation",
        ["open"],
    ),
]


def test_cross_region_backup_unknown_engine_defers_but_still_reports_the_others() -> None:
    with pytest.raises(UnknownValueError):
        run_stack(
            XREGION, [Res(INSTANCE, "new", but(PRIMARY, engine=UNKNOWN)), Res(INSTANCE, "bare", PRIMARY)]
        )


FAMILY = Family(
    name="data",
    rules=(*rds.RULES, *elasticache.RULES, *secretsmanager.RULES, *backup.RULES),
    resource_cases=RESOURCE_CASES,
    stack_cases=STACK_CASES,
    deferrals=DEFERRALS,
    preview_unknowns=PREVIEW_UNKNOWNS,
    other_types=OTHER_TYPES,
    fuzz_keys=[
        "password",
        "masterPassword",
        "passwordWo",
        "authToken",
        "userGroupIds",
        "replicateSourceDb",
        "tags",
        "tagsAll",
        "name",
        "value",
        "paved:rotation",
        "rotationEnabled",
        "rotationRules",
        "automaticallyAfterDays",
        "scheduleExpression",
    ],
    fuzz_values=[
        "postgres",
        "aurora-postgresql",
        "mysql",
        "oracle-ee",
        "postgres17",
        "rds.force_ssl",
        "1",
        "0",
        "required",
        "preferred",
        "default",
        "valkey",
        "redis",
        "rate(10 days)",
        "cron(0 0 1 * ? *)",
        "",
        " ",
        *UNKNOWNS,
    ],
    fuzz_fixtures={
        PG: [{"family": "postgres17", "parameters": FORCE_SSL_ON}],
        CPG: [{"family": "aurora-postgresql16", "parameters": FORCE_SSL_ON}],
        SECRET: [{"kmsKeyId": KEY_ARN, "tags": {"paved:rotation": "version-bump"}}],
        VAULT: [{"kmsKeyArn": KEY_ARN, "name": "v"}],
    },
    # A linked referrer always satisfies the rule (when the resource is judged at all), but for rotations.
    stack_fuzz=[
        StackFuzzTarget(XREGION, INSTANCE, BACKUP_REPLICATION, "sourceDbInstanceArn", when_linked=OK_OR_NA),
        # A linked rotation may be turned off (rotationEnabled=false) or have no rules: any status.
        StackFuzzTarget(SECRET_ROTATION, SECRET, ROTATION, "secretId"),
        StackFuzzTarget(ROTATION_INTERVAL, SECRET, ROTATION, "secretId"),
        StackFuzzTarget(VAULT_LOCKED, VAULT, VAULT_LOCK, "backupVaultName", when_linked=OK_OR_NA),
    ],
)
