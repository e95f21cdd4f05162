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
    urn_of,
)

INSTANCE = "aws:rds/instance:Instance"
CLUSTER = "aws:rds/cluster:Cluster"
CLUSTER_INSTANCE = "aws:rds/clusterInstance:ClusterInstance"
PG = "aws:rds/parameterGroup:ParameterGroup"
CPG = "aws:rds/clusterParameterGroup:ClusterParameterGroup"
DB_SUBNET_GROUP = "aws:rds/subnetGroup:SubnetGroup"
SNAPSHOT = "aws:rds/snapshot:Snapshot"
CLUSTER_SNAPSHOT = "aws:rds/clusterSnapshot:ClusterSnapshot"
SNAPSHOT_COPY = "aws:rds/snapshotCopy:SnapshotCopy"
CLUSTER_SNAPSHOT_COPY = "aws:rds/clusterSnapshotCopy:ClusterSnapshotCopy"
PROXY = "aws:rds/proxy:Proxy"
EVENTS = "aws:rds/eventSubscription:EventSubscription"
GLOBAL_CLUSTER = "aws:rds/globalCluster:GlobalCluster"
SUBNET = "aws:ec2/subnet:Subnet"
VPC = "aws:ec2/vpc:Vpc"
ROUTE_TABLE = "aws:ec2/routeTable:RouteTable"
ROUTE = "aws:ec2/route:Route"
ASSOCIATION = "aws:ec2/routeTableAssociation:RouteTableAssociation"
MAIN_ASSOCIATION = "aws:ec2/mainRouteTableAssociation:MainRouteTableAssociation"
IGW = "aws:ec2/internetGateway:InternetGateway"
NAT = "aws:ec2/natGateway:NatGateway"
TOPIC = "aws:sns/topic:Topic"
CACHE_CLUSTER = "aws:elasticache/cluster:Cluster"
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
    "username": "paved_admin",
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
    "multiAz": True,
    "skipFinalSnapshot": True,
    "deletionProtection": True,
    "iamDatabaseAuthenticationEnabled": True,
    "enabledCloudwatchLogsExports": ["postgresql", "upgrade"],
    "monitoringInterval": 60.0,
    "performanceInsightsEnabled": True,
    "performanceInsightsKmsKeyId": KEY_ARN,
    "copyTagsToSnapshot": True,
}
AURORA: dict[str, Any] = {
    "engine": "aurora-postgresql",
    "masterUsername": "paved_admin",
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
AURORA_MYSQL: dict[str, Any] = {
    **AURORA,
    "engine": "aurora-mysql",
    "masterUsername": "paved_admin",
    "backtrackWindow": 86400.0,
    "enabledCloudwatchLogsExports": ["audit", "error", "general", "slowquery"],
}
# A standalone Valkey/Redis OSS cache cluster, a Memcached one, and a member of a replication group.
CACHE_NODE: dict[str, Any] = {
    "engine": "redis",
    "nodeType": "cache.t4g.small",
    "numCacheNodes": 1.0,
    "snapshotRetentionLimit": 7.0,
    "subnetGroupName": UNKNOWN,
    "autoMinorVersionUpgrade": "true",
}
MEMCACHED: dict[str, Any] = {"engine": "memcached", "nodeType": "cache.t4g.small", "numCacheNodes": 2.0}
GROUP_MEMBER: dict[str, Any] = {"replicationGroupId": UNKNOWN}
DB_PROXY: dict[str, Any] = {
    "engineFamily": "POSTGRESQL",
    "requireTls": True,
    "roleArn": UNKNOWN,
    "vpcSubnetIds": [UNKNOWN],
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
    # AWS judges read replicas too (RDS.5).
    ("multiaz-replica", "rds-multi-az", INSTANCE, REPLICA, "ok", ""),
    (
        "multiaz-replica-single-az",
        "rds-multi-az",
        INSTANCE,
        but(REPLICA, multiAz=...),
        "violation",
        "multiAz",
    ),
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
        {"engine": "mysql", "enabledCloudwatchLogsExports": ["audit", "error", "general", "slowquery"]},
        "ok",
        "",
    ),
    # RDS.9 names every log of the engine; one of them is not enough.
    (
        "logs-mysql-error-only",
        "rds-log-exports",
        INSTANCE,
        {"engine": "mysql", "enabledCloudwatchLogsExports": ["error"]},
        "violation",
        "(mysql) does not export 'audit', 'general', 'slowquery'",
    ),
    (
        "logs-mariadb-no-audit",
        "rds-log-exports",
        INSTANCE,
        {"engine": "mariadb", "enabledCloudwatchLogsExports": ["error", "general", "slowquery"]},
        "violation",
        "'audit'",
    ),
    (
        "logs-sqlserver",
        "rds-log-exports",
        INSTANCE,
        {"engine": "sqlserver-se", "enabledCloudwatchLogsExports": ["agent", "error"]},
        "ok",
        "",
    ),
    (
        "logs-sqlserver-no-agent",
        "rds-log-exports",
        INSTANCE,
        {"engine": "sqlserver-ex", "enabledCloudwatchLogsExports": ["error"]},
        "violation",
        "'agent'",
    ),
    (
        "logs-oracle-no-listener",
        "rds-log-exports",
        INSTANCE,
        {"engine": "oracle-ee-cdb", "enabledCloudwatchLogsExports": ["alert", "audit", "trace"]},
        "violation",
        "'listener'",
    ),
    # Db2 is not among RDS.9's engines: any exported log passes.
    (
        "logs-db2",
        "rds-log-exports",
        INSTANCE,
        {"engine": "db2-se", "enabledCloudwatchLogsExports": ["diag.log"]},
        "ok",
        "",
    ),
    (
        "logs-aurora-mysql-no-audit",
        "rds-log-exports",
        CLUSTER,
        {"engine": "aurora-mysql", "enabledCloudwatchLogsExports": ["error", "general", "slowquery"]},
        "violation",
        "'audit'",
    ),
    # A Multi-AZ MySQL cluster cannot export an audit log (CreateDBCluster EnableCloudwatchLogsExports).
    (
        "logs-multi-az-mysql",
        "rds-log-exports",
        CLUSTER,
        {"engine": "mysql", "enabledCloudwatchLogsExports": ["error", "general", "slowquery"]},
        "ok",
        "",
    ),
    (
        "logs-multi-az-postgres-no-upgrade",
        "rds-log-exports",
        CLUSTER,
        but(MULTI_AZ_CLUSTER, enabledCloudwatchLogsExports=["postgresql"]),
        "violation",
        "'upgrade'",
    ),
    # A replica without an engine of its own must export one engine's whole set.
    (
        "logs-replica-partial",
        "rds-log-exports",
        INSTANCE,
        but(REPLICA, enabledCloudwatchLogsExports=["postgresql"]),
        "violation",
        "not every log of its engine",
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
        "does not export 'audit', 'error'",
    ),
    (
        "logs-no-engine-none",
        "rds-log-exports",
        INSTANCE,
        {"snapshotIdentifier": "snap", "enabledCloudwatchLogsExports": []},
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
    # elasticache-snapshot-retention: standalone cache clusters too (ElastiCache.1)
    ("snap-cluster", "elasticache-snapshot-retention", CACHE_CLUSTER, CACHE_NODE, "ok", ""),
    (
        "snap-cluster-off",
        "elasticache-snapshot-retention",
        CACHE_CLUSTER,
        but(CACHE_NODE, snapshotRetentionLimit=0.0),
        "violation",
        "Cache cluster 'res' keeps snapshots for 0 days",
    ),
    ("snap-memcached", "elasticache-snapshot-retention", CACHE_CLUSTER, MEMCACHED, "n/a", "Memcached"),
    (
        "snap-member",
        "elasticache-snapshot-retention",
        CACHE_CLUSTER,
        GROUP_MEMBER,
        "n/a",
        "replication group",
    ),
    # elasticache-not-default-subnet-group: standalone cache clusters too, Memcached included (ElastiCache.7)
    ("subnet-cluster", "elasticache-not-default-subnet-group", CACHE_CLUSTER, CACHE_NODE, "ok", ""),
    (
        "subnet-memcached-unset",
        "elasticache-not-default-subnet-group",
        CACHE_CLUSTER,
        MEMCACHED,
        "violation",
        "Cache cluster 'res' has no subnetGroupName",
    ),
    (
        "subnet-member",
        "elasticache-not-default-subnet-group",
        CACHE_CLUSTER,
        GROUP_MEMBER,
        "n/a",
        "replication group",
    ),
    # elasticache-auto-minor-upgrade: true by default; aws.elasticache.Cluster takes it as a string
    ("cache-minor-group-default", "elasticache-auto-minor-upgrade", RG, CACHE, "ok", ""),
    (
        "cache-minor-group-off",
        "elasticache-auto-minor-upgrade",
        RG,
        but(CACHE, autoMinorVersionUpgrade=False),
        "violation",
        "Replication group 'res' sets autoMinorVersionUpgrade to false",
    ),
    ("cache-minor-cluster-on", "elasticache-auto-minor-upgrade", CACHE_CLUSTER, CACHE_NODE, "ok", ""),
    (
        "cache-minor-cluster-off",
        "elasticache-auto-minor-upgrade",
        CACHE_CLUSTER,
        but(CACHE_NODE, autoMinorVersionUpgrade="false"),
        "violation",
        "Cache cluster 'res'",
    ),
    (
        "cache-minor-memcached",
        "elasticache-auto-minor-upgrade",
        CACHE_CLUSTER,
        but(MEMCACHED, autoMinorVersionUpgrade="false"),
        "n/a",
        "",
    ),
    ("cache-minor-member", "elasticache-auto-minor-upgrade", CACHE_CLUSTER, GROUP_MEMBER, "n/a", ""),
    # rds-snapshot-not-public
    ("snapshot-private", "rds-snapshot-not-public", SNAPSHOT, {"dbInstanceIdentifier": UNKNOWN}, "ok", ""),
    (
        "snapshot-shared",
        "rds-snapshot-not-public",
        CLUSTER_SNAPSHOT,
        {"dbClusterIdentifier": "c", "sharedAccounts": ["111122223333"]},
        "ok",
        "",
    ),
    (
        "snapshot-public",
        "rds-snapshot-not-public",
        SNAPSHOT,
        {"dbInstanceIdentifier": "db", "sharedAccounts": ["111122223333", "ALL"]},
        "violation",
        "'all'",
    ),
    # An unknown account id does not hide the 'all' beside it.
    (
        "snapshot-copy-public",
        "rds-snapshot-not-public",
        CLUSTER_SNAPSHOT_COPY,
        {"sourceDbClusterSnapshotIdentifier": "s", "sharedAccounts": [UNKNOWN, "all"]},
        "violation",
        "public",
    ),
    # rds-aurora-mysql-backtracking
    ("backtrack-on", "rds-aurora-mysql-backtracking", CLUSTER, AURORA_MYSQL, "ok", ""),
    (
        "backtrack-off",
        "rds-aurora-mysql-backtracking",
        CLUSTER,
        but(AURORA_MYSQL, backtrackWindow=...),
        "violation",
        "backtrackWindow",
    ),
    (
        "backtrack-aurora-mysql-1",
        "rds-aurora-mysql-backtracking",
        CLUSTER,
        {"engine": "aurora", "backtrackWindow": 0.0},
        "violation",
        "backtrackWindow",
    ),
    ("backtrack-postgres", "rds-aurora-mysql-backtracking", CLUSTER, AURORA, "n/a", "not Aurora MySQL"),
    # rds-cluster-custom-admin-username
    ("admin-cluster-own", "rds-cluster-custom-admin-username", CLUSTER, AURORA, "ok", ""),
    (
        "admin-cluster-postgres",
        "rds-cluster-custom-admin-username",
        CLUSTER,
        but(AURORA, masterUsername="Postgres"),
        "violation",
        "'Postgres'",
    ),
    (
        "admin-cluster-unset",
        "rds-cluster-custom-admin-username",
        CLUSTER,
        but(AURORA, masterUsername=...),
        "violation",
        "sets no masterUsername",
    ),
    (
        "admin-cluster-restored",
        "rds-cluster-custom-admin-username",
        CLUSTER,
        but(AURORA, masterUsername=..., snapshotIdentifier="snap"),
        "n/a",
        "restored or replicated",
    ),
    # rds-instance-custom-admin-username
    ("admin-instance-own", "rds-instance-custom-admin-username", INSTANCE, PRIMARY, "ok", ""),
    (
        "admin-instance-admin",
        "rds-instance-custom-admin-username",
        INSTANCE,
        but(PRIMARY, username="admin"),
        "violation",
        "'admin'",
    ),
    ("admin-instance-replica", "rds-instance-custom-admin-username", INSTANCE, REPLICA, "n/a", ""),
    # rds-proxy-require-tls
    ("proxy-tls", "rds-proxy-require-tls", PROXY, DB_PROXY, "ok", ""),
    (
        "proxy-plaintext",
        "rds-proxy-require-tls",
        PROXY,
        but(DB_PROXY, requireTls=...),
        "violation",
        "requireTls",
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
    ("elasticache-auto-minor-upgrade", CACHE_CLUSTER, but(CACHE_NODE, autoMinorVersionUpgrade=UNKNOWN)),
    ("elasticache-snapshot-retention", CACHE_CLUSTER, but(CACHE_NODE, engine=UNKNOWN)),
    ("rds-snapshot-not-public", SNAPSHOT, {"sharedAccounts": ["111122223333", UNKNOWN]}),
    ("rds-aurora-mysql-backtracking", CLUSTER, but(AURORA_MYSQL, engine=UNKNOWN)),
    ("rds-cluster-custom-admin-username", CLUSTER, but(AURORA, masterUsername=UNKNOWN)),
    ("rds-instance-custom-admin-username", INSTANCE, but(PRIMARY, username=UNKNOWN)),
    ("rds-proxy-require-tls", PROXY, but(DB_PROXY, requireTls=UNKNOWN_BOOLEAN_VALUE)),
    ("rds-log-exports", INSTANCE, {"engine": UNKNOWN, "enabledCloudwatchLogsExports": ["error"]}),
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
    ("elasticache-not-default-subnet-group", CACHE_CLUSTER, CACHE_NODE, "ok"),
    # A member names its group by an output: it is still a member.
    ("elasticache-snapshot-retention", CACHE_CLUSTER, GROUP_MEMBER, "n/a"),
    ("rds-proxy-require-tls", PROXY, DB_PROXY, "ok"),
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
    ("elasticache-auth", CACHE_CLUSTER),
    ("elasticache-auto-minor-upgrade", INSTANCE),
    ("rds-snapshot-not-public", INSTANCE),
    ("rds-proxy-require-tls", INSTANCE),
    ("rds-aurora-mysql-backtracking", INSTANCE),
    ("rds-instance-custom-admin-username", CLUSTER),
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
RECOVERY_POINTS = "backup-recovery-point-encrypted"
SELECTION = "aws:backup/selection:Selection"
VOLUME = "aws:ebs/volume:Volume"
REDSHIFT = "aws:redshift/cluster:Cluster"


def selection(name: str, sources: list[str], **props: Any) -> Res:
    """A backup selection listing `sources` by their ARN outputs, as paved's backup selects its database."""
    base = {"iamRoleArn": UNKNOWN, "planId": UNKNOWN, "name": name, "resources": [UNKNOWN] * len(sources)}
    return Res(SELECTION, name, {**base, **props}, prop_deps={"resources": sources})


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

SNAPSHOT_ENCRYPTED = "rds-snapshot-encrypted"
CLUSTER_MULTI_AZ = "rds-cluster-multi-az"
SQLSERVER_SSL = "rds-sqlserver-force-ssl"
MARIADB_TLS = "rds-mariadb-require-secure-transport"
AURORA_AUDIT = "rds-aurora-mysql-audit-logging"
PUBLIC_SUBNET = "rds-not-in-public-subnet"
CLUSTER_EVENTS = "rds-cluster-event-notifications"
INSTANCE_EVENTS = "rds-instance-event-notifications"
PARAMETER_GROUP_EVENTS = "rds-parameter-group-event-notifications"
SECURITY_GROUP_EVENTS = "rds-security-group-event-notifications"
GLOBAL_VERSION = "rds-global-cluster-supported-version"

UNENCRYPTED: dict[str, Any] = but(PRIMARY, storageEncrypted=..., kmsKeyId=...)


def _snapshot(name: str, source: str, resource_type: str = SNAPSHOT, **props: Any) -> Res:
    key = {
        SNAPSHOT: "dbInstanceIdentifier",
        CLUSTER_SNAPSHOT: "dbClusterIdentifier",
        SNAPSHOT_COPY: "sourceDbSnapshotIdentifier",
    }[resource_type]
    return Res(resource_type, name, {key: UNKNOWN, **props}, prop_deps={key: [source]})


def _aurora_instance(name: str, cluster: str, zone: str | None, prop: str = "clusterIdentifier") -> Res:
    props = {**AURORA_INSTANCE, "availabilityZone": zone} if zone else AURORA_INSTANCE
    return Res(CLUSTER_INSTANCE, name, props, prop_deps={prop: [cluster]})


def _with_group(name: str, resource_type: str, props: dict[str, Any], group: str, key: str) -> Res:
    return Res(resource_type, name, {**props, key: UNKNOWN}, prop_deps={key: [group]})


def _group(name: str, family: str, parameters: list[dict[str, Any]], resource_type: str = PG) -> Res:
    return Res(resource_type, name, {"family": family, "parameters": parameters})


SQLSERVER: dict[str, Any] = {"engine": "sqlserver-se", "instanceClass": "db.m6i.xlarge"}
MARIADB: dict[str, Any] = {"engine": "mariadb", "engineVersion": "10.11"}
AUDIT_ON = [
    {"name": "server_audit_logging", "value": "1"},
    {"name": "server_audit_events", "value": "CONNECT,QUERY_DDL"},
]


# A VPC with a public subnet (default route to the internet gateway), an isolated one (no default route) and
# a private one that reaches out through a NAT gateway, each with its own route table.
def _network() -> list[Res]:
    specs = [
        Res(VPC, "vpc", {"cidrBlock": "10.0.0.0/16"}),
        Res(IGW, "igw", {"vpcId": UNKNOWN}, prop_deps={"vpcId": ["vpc"]}),
        Res(NAT, "nat", {"subnetId": UNKNOWN}, prop_deps={"subnetId": ["public"]}),
    ]
    for tier, gateway in (("public", "igw"), ("isolated", None), ("private", "nat")):
        specs += [
            Res(SUBNET, tier, {"vpcId": UNKNOWN}, prop_deps={"vpcId": ["vpc"]}),
            Res(ROUTE_TABLE, f"{tier}-rt", {"vpcId": UNKNOWN}, prop_deps={"vpcId": ["vpc"]}),
            Res(
                ASSOCIATION,
                f"{tier}-assoc",
                {"subnetId": UNKNOWN, "routeTableId": UNKNOWN},
                prop_deps={"subnetId": [tier], "routeTableId": [f"{tier}-rt"]},
            ),
        ]
        if gateway:
            key = "gatewayId" if gateway == "igw" else "natGatewayId"
            specs.append(
                Res(
                    ROUTE,
                    f"{tier}-default",
                    {"routeTableId": UNKNOWN, "destinationCidrBlock": "0.0.0.0/0", key: UNKNOWN},
                    prop_deps={"routeTableId": [f"{tier}-rt"], key: [gateway]},
                )
            )
    return specs


def _db_in(name: str, *subnets: str, group: str = "db-subnets") -> list[Res]:
    return [
        Res(
            DB_SUBNET_GROUP,
            group,
            {"subnetIds": [UNKNOWN] * len(subnets)},
            prop_deps={"subnetIds": list(subnets)},
        ),
        _with_group(name, INSTANCE, PRIMARY, group, "dbSubnetGroupName"),
    ]


def _subscription(name: str, **props: Any) -> Res:
    return Res(EVENTS, name, {"snsTopic": UNKNOWN, **props}, prop_deps={"snsTopic": ["topic"]})


EVERY_CRITICAL_EVENT = [
    Res(TOPIC, "topic", {}),
    _subscription("clusters", sourceType="db-cluster", eventCategories=["failure", "maintenance"]),
    _subscription("instances", sourceType="db-instance"),
    _subscription(
        "parameter-groups", sourceType="db-parameter-group", eventCategories=["configuration change"]
    ),
    _subscription("security-groups", sourceType="db-security-group"),
]

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
    # rds-snapshot-encrypted: a snapshot is encrypted as its source is
    (
        "snapshot-of-encrypted-sources",
        SNAPSHOT_ENCRYPTED,
        [
            Res(INSTANCE, "db", PRIMARY),
            Res(CLUSTER, "aurora", AURORA),
            # A same-region replica without storageEncrypted is encrypted as its source is.
            Res(
                INSTANCE,
                "replica",
                but(REPLICA, storageEncrypted=...),
                prop_deps={"replicateSourceDb": ["db"]},
            ),
            _snapshot("db-snap", "db"),
            _snapshot("replica-snap", "replica"),
            _snapshot("aurora-snap", "aurora", CLUSTER_SNAPSHOT),
            _snapshot("copy", "db-snap", SNAPSHOT_COPY),
        ],
        "ok",
        [],
    ),
    (
        "snapshot-of-unencrypted-and-its-copy",
        SNAPSHOT_ENCRYPTED,
        [
            Res(INSTANCE, "plain", UNENCRYPTED),
            _snapshot("plain-snap", "plain"),
            _snapshot("plain-copy", "plain-snap", SNAPSHOT_COPY),
            # A copy given a key is encrypted whatever its source.
            _snapshot("keyed-copy", "plain-snap", SNAPSHOT_COPY, kmsKeyId=KEY_ARN),
        ],
        "violation",
        ["plain-snap", "plain-copy"],
    ),
    (
        "snapshot-of-undeclared-source",
        SNAPSHOT_ENCRYPTED,
        [Res(SNAPSHOT, "literal", {"dbInstanceIdentifier": "legacy-db"})],
        "n/a",
        [],
    ),
    # rds-cluster-multi-az
    (
        "multi-az-clusters",
        CLUSTER_MULTI_AZ,
        [
            Res(CLUSTER, "multi-az", MULTI_AZ_CLUSTER),
            Res(CLUSTER, "aurora", AURORA),
            _aurora_instance("writer", "aurora", "eu-west-1a"),
            _aurora_instance("reader", "aurora", "eu-west-1b"),
        ],
        "ok",
        [],
    ),
    (
        "aurora-in-one-az",
        CLUSTER_MULTI_AZ,
        [
            Res(CLUSTER, "pinned", AURORA),
            _aurora_instance("pinned-1", "pinned", "eu-west-1a"),
            _aurora_instance("pinned-2", "pinned", "eu-west-1a"),
            # Left to RDS, the AZs are not shown to differ.
            Res(CLUSTER, "unpinned", AURORA),
            _aurora_instance("unpinned-1", "unpinned", None),
            _aurora_instance("unpinned-2", "unpinned", None),
            # An instance linked through another input is not the cluster's.
            Res(CLUSTER, "alone", AURORA),
            _aurora_instance("alone-1", "alone", "eu-west-1a"),
            _aurora_instance("elsewhere", "alone", "eu-west-1b", prop="dbParameterGroupName"),
        ],
        "violation",
        ["pinned", "unpinned", "alone"],
    ),
    # rds-sqlserver-force-ssl: the instance's declared parameter group sets rds.force_ssl = 1
    (
        "sqlserver-force-ssl",
        SQLSERVER_SSL,
        [
            _group("sqlserver-tls", "sqlserver-se-16.0", [{"name": "rds.force_ssl", "value": "1"}]),
            _with_group("sqlserver", INSTANCE, SQLSERVER, "sqlserver-tls", "parameterGroupName"),
            # A same-region replica without a group of its own takes its source's.
            Res(INSTANCE, "sqlserver-replica", REPLICA, prop_deps={"replicateSourceDb": ["sqlserver"]}),
            Res(INSTANCE, "postgres", PRIMARY),
        ],
        "ok",
        [],
    ),
    (
        "sqlserver-default-or-plain-groups",
        SQLSERVER_SSL,
        [
            Res(INSTANCE, "no-group", SQLSERVER),
            Res(INSTANCE, "default-group", {**SQLSERVER, "parameterGroupName": "default.sqlserver-se-16.0"}),
            _group("sqlserver-plain", "sqlserver-se-16.0", [{"name": "rds.force_ssl", "value": "0"}]),
            _with_group("plain", INSTANCE, SQLSERVER, "sqlserver-plain", "parameterGroupName"),
        ],
        "violation",
        ["no-group", "default-group", "plain"],
    ),
    (
        "sqlserver-undeclared-group",
        SQLSERVER_SSL,
        [Res(INSTANCE, "shared-group", {**SQLSERVER, "parameterGroupName": "corp-sqlserver"})],
        "n/a",
        [],
    ),
    # rds-mariadb-require-secure-transport
    (
        "mariadb-secure-transport",
        MARIADB_TLS,
        [
            _group("mariadb-tls", "mariadb10.11", [{"name": "require_secure_transport", "value": "ON"}]),
            _with_group("mariadb", INSTANCE, MARIADB, "mariadb-tls", "parameterGroupName"),
            # Before 10.5 MariaDB has no require_secure_transport.
            Res(INSTANCE, "mariadb-10-4", {**MARIADB, "engineVersion": "10.4.34"}),
        ],
        "ok",
        [],
    ),
    (
        "mariadb-plaintext",
        MARIADB_TLS,
        [
            _group("mariadb-off", "mariadb10.11", [{"name": "require_secure_transport", "value": "OFF"}]),
            _with_group("mariadb-off-db", INSTANCE, MARIADB, "mariadb-off", "parameterGroupName"),
            Res(INSTANCE, "mariadb-default", {"engine": "mariadb"}),
        ],
        "violation",
        ["mariadb-off-db", "mariadb-default"],
    ),
    # rds-aurora-mysql-audit-logging
    (
        "aurora-mysql-audited",
        AURORA_AUDIT,
        [
            _group("audit", "aurora-mysql8.0", AUDIT_ON, CPG),
            _with_group("aurora-mysql", CLUSTER, AURORA_MYSQL, "audit", "dbClusterParameterGroupName"),
            Res(CLUSTER, "aurora-postgres", AURORA),
        ],
        "ok",
        [],
    ),
    (
        "aurora-mysql-not-audited",
        AURORA_AUDIT,
        [
            _group("no-events", "aurora-mysql8.0", AUDIT_ON[:1], CPG),
            _with_group("no-events-db", CLUSTER, AURORA_MYSQL, "no-events", "dbClusterParameterGroupName"),
            Res(CLUSTER, "default-group", AURORA_MYSQL),
        ],
        "violation",
        ["no-events-db", "default-group"],
    ),
    # rds-not-in-public-subnet
    (
        "db-in-isolated-and-private-subnets",
        PUBLIC_SUBNET,
        [
            *_network(),
            *_db_in("db", "isolated", "private"),
            Res(INSTANCE, "replica", REPLICA, prop_deps={"replicateSourceDb": ["db"]}),
        ],
        "ok",
        [],
    ),
    (
        "db-in-public-subnet-or-default-group",
        PUBLIC_SUBNET,
        [
            *_network(),
            *_db_in("exposed", "isolated", "public"),
            # A replica in its source's region shares the source's subnets.
            Res(INSTANCE, "exposed-replica", REPLICA, prop_deps={"replicateSourceDb": ["exposed"]}),
            Res(INSTANCE, "default-vpc", but(PRIMARY, dbSubnetGroupName=...)),
            Res(CLUSTER, "default-cluster", {**AURORA, "dbSubnetGroupName": "default"}),
        ],
        "violation",
        ["exposed", "exposed-replica", "default-vpc", "default-cluster"],
    ),
    # Subnets without an association use the VPC's main table: here a Route added through mainRouteTableId,
    # and a MainRouteTableAssociation to a table with an inline route to the internet gateway.
    (
        "db-in-subnets-of-public-main-tables",
        PUBLIC_SUBNET,
        [
            Res(VPC, "vpc", {}),
            Res(IGW, "igw", {"vpcId": UNKNOWN}, prop_deps={"vpcId": ["vpc"]}),
            Res(SUBNET, "a", {"vpcId": UNKNOWN}, prop_deps={"vpcId": ["vpc"]}),
            Res(
                ROUTE,
                "main-default",
                {"routeTableId": UNKNOWN, "destinationIpv6CidrBlock": "::/0", "gatewayId": UNKNOWN},
                prop_deps={"routeTableId": ["vpc"], "gatewayId": ["igw"]},
            ),
            *_db_in("via-vpc-main", "a"),
            Res(VPC, "vpc2", {}),
            Res(IGW, "igw2", {"vpcId": UNKNOWN}, prop_deps={"vpcId": ["vpc2"]}),
            Res(SUBNET, "b", {"vpcId": UNKNOWN}, prop_deps={"vpcId": ["vpc2"]}),
            Res(
                ROUTE_TABLE,
                "main2",
                {"vpcId": UNKNOWN, "routes": [{"cidrBlock": "0.0.0.0/0", "gatewayId": UNKNOWN}]},
                prop_deps={"vpcId": ["vpc2"], "routes": ["igw2"]},
            ),
            Res(
                MAIN_ASSOCIATION,
                "main2-assoc",
                {"vpcId": UNKNOWN, "routeTableId": UNKNOWN},
                prop_deps={"vpcId": ["vpc2"], "routeTableId": ["main2"]},
            ),
            *_db_in("via-main-association", "b", group="db-subnets-2"),
        ],
        "violation",
        ["via-vpc-main", "via-main-association"],
    ),
    (
        "db-subnets-outside-the-stack",
        PUBLIC_SUBNET,
        [
            Res(INSTANCE, "shared-group", {**PRIMARY, "dbSubnetGroupName": "corp-db"}),
            Res(DB_SUBNET_GROUP, "literal-subnets", {"subnetIds": ["subnet-0123"]}),
            _with_group("literal", INSTANCE, PRIMARY, "literal-subnets", "dbSubnetGroupName"),
        ],
        "n/a",
        [],
    ),
    # RDS.19-22: once a region has subscriptions, one delivers each source type's critical events
    ("events-all-covered", CLUSTER_EVENTS, EVERY_CRITICAL_EVENT, "ok", []),
    ("events-all-covered-instances", INSTANCE_EVENTS, EVERY_CRITICAL_EVENT, "ok", []),
    ("events-all-covered-parameter-groups", PARAMETER_GROUP_EVENTS, EVERY_CRITICAL_EVENT, "ok", []),
    ("events-all-covered-security-groups", SECURITY_GROUP_EVENTS, EVERY_CRITICAL_EVENT, "ok", []),
    # No source type, categories or ids: every event of every source.
    ("events-everything", SECURITY_GROUP_EVENTS, [Res(TOPIC, "topic"), _subscription("all")], "ok", []),
    (
        "events-no-cluster-subscription",
        CLUSTER_EVENTS,
        [
            Res(TOPIC, "topic"),
            _subscription("instances", sourceType="db-instance"),
            _subscription("failures-only", sourceType="db-cluster", eventCategories=["failure"]),
            _subscription("off", sourceType="db-cluster", enabled=False),
            _subscription("some-clusters", sourceType="db-cluster", sourceIds=["aurora-1"]),
        ],
        "violation",
        ["instances", "failures-only", "off", "some-clusters"],
    ),
    # A subscription covers its own region only (pulumi-aws 7's per-resource region).
    (
        "events-other-region",
        INSTANCE_EVENTS,
        [
            Res(TOPIC, "topic"),
            _subscription("eu", sourceType="db-instance", region="eu-west-1"),
            _subscription("us", sourceType="db-cluster", region="us-east-1"),
        ],
        "violation",
        ["us"],
    ),
    (
        "events-parameter-groups-missing",
        PARAMETER_GROUP_EVENTS,
        [Res(TOPIC, "topic"), _subscription("instances", sourceType="db-instance")],
        "violation",
        ["instances"],
    ),
    (
        "events-security-groups-missing",
        SECURITY_GROUP_EVENTS,
        [
            Res(TOPIC, "topic"),
            _subscription(
                "config-only", sourceType="db-security-group", eventCategories=["configuration change"]
            ),
        ],
        "violation",
        ["config-only"],
    ),
    # rds-global-cluster-supported-version
    (
        "global-supported",
        GLOBAL_VERSION,
        [
            Res(
                GLOBAL_CLUSTER,
                "current",
                {"engine": "aurora-mysql", "engineVersion": "8.0.mysql_aurora.3.08.2"},
            ),
            Res(
                GLOBAL_CLUSTER, "lts", {"engine": "aurora-mysql", "engineVersion": "8.0.mysql_aurora.3.04.3"}
            ),
            Res(CLUSTER, "source", {**AURORA_MYSQL, "engineVersion": "8.0.mysql_aurora.3.10.0"}),
            Res(
                GLOBAL_CLUSTER,
                "from-source",
                {"sourceDbClusterIdentifier": UNKNOWN},
                prop_deps={"sourceDbClusterIdentifier": ["source"]},
            ),
            Res(GLOBAL_CLUSTER, "postgres", {"engine": "aurora-postgresql", "engineVersion": "16.4"}),
        ],
        "ok",
        [],
    ),
    (
        "global-unsupported",
        GLOBAL_VERSION,
        [
            Res(
                GLOBAL_CLUSTER, "old", {"engine": "aurora-mysql", "engineVersion": "8.0.mysql_aurora.3.05.2"}
            ),
            Res(GLOBAL_CLUSTER, "v2", {"engine": "aurora-mysql", "engineVersion": "5.7.mysql_aurora.2.12.4"}),
            Res(GLOBAL_CLUSTER, "default", {"engine": "aurora-mysql"}),
        ],
        "violation",
        ["old", "v2"],
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
    # backup-recovery-point-encrypted
    (
        "selection-of-encrypted-sources",
        RECOVERY_POINTS,
        [
            Res(INSTANCE, "database", PRIMARY),
            Res(CLUSTER, "serverless", {"engine": "aurora-postgresql", "engineMode": "serverless"}),
            Res(REDSHIFT, "warehouse", {}),
            Res(REDSHIFT, "warehouse-said-so", {"encrypted": "TRUE"}),
            selection("prod-database", ["database", "serverless", "warehouse", "warehouse-said-so"]),
            # S3 and DynamoDB recovery points are encrypted whatever the source.
            selection(
                "buckets", [], resources=["arn:aws:s3:::assets", "arn:aws:dynamodb:eu-west-1:1:table/t"]
            ),
        ],
        "ok",
        [],
    ),
    (
        "selection-of-unencrypted-or-unknown-sources",
        RECOVERY_POINTS,
        [
            Res(INSTANCE, "plain-db", but(PRIMARY, storageEncrypted=...)),
            Res(CLUSTER, "plain-aurora", but(AURORA, storageEncrypted=False)),
            Res(VOLUME, "plain-volume", {"size": 10.0}),
            Res(REDSHIFT, "plain-warehouse", {"encrypted": "false"}),
            selection("inherits", ["plain-db", "plain-aurora", "plain-volume"]),
            selection("warehouse", ["plain-warehouse"]),
            selection("literal", [], resources=["arn:aws:ec2:eu-west-1:1:volume/vol-0123456789abcdef0"]),
            selection(
                "by-tag", [], selectionTags=[{"type": "STRINGEQUALS", "key": "backup", "value": "daily"}]
            ),
        ],
        "violation",
        ["inherits", "warehouse", "literal", "by-tag"],
    ),
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


def test_event_subscriptions_cover_the_region_of_their_provider() -> None:
    # The same subscriptions, one through a provider for another region: the other region has none that
    # delivers instance events, so its subscription is reported.
    specs = [
        Res(TOPIC, "topic"),
        _subscription("eu", sourceType="db-instance"),
        _subscription("us", sourceType="db-cluster"),
    ]
    outcome = run_stack(INSTANCE_EVENTS, specs, providers={"us": {"region": "us-east-1"}})
    assert [urn.rsplit("::", 1)[-1] for _, urn in outcome.violations if urn] == ["us"]
    assert run_stack(INSTANCE_EVENTS, specs, providers={"us": {"region": ""}}).status == "ok"


def test_an_unknown_source_type_defers_unless_another_subscription_decides() -> None:
    unknown = _subscription("new", sourceType=UNKNOWN)
    with pytest.raises(UnknownValueError):
        run_stack(CLUSTER_EVENTS, [Res(TOPIC, "topic"), unknown])
    everything = [Res(TOPIC, "topic"), unknown, _subscription("all")]
    assert run_stack(CLUSTER_EVENTS, everything).status == "ok"


def test_a_cross_region_replica_takes_its_regions_default_parameter_group() -> None:
    # RDS copies the source's DB parameter group to a same-region replica only.
    specs = [
        _group("sqlserver-tls", "sqlserver-se-16.0", [{"name": "rds.force_ssl", "value": "1"}]),
        _with_group("sqlserver", INSTANCE, SQLSERVER, "sqlserver-tls", "parameterGroupName"),
        Res(INSTANCE, "dr-replica", REPLICA, prop_deps={"replicateSourceDb": ["sqlserver"]}),
    ]
    outcome = run_stack(SQLSERVER_SSL, specs, providers={"dr-replica": {"region": "us-west-2"}})
    assert [urn for _, urn in outcome.violations] == [urn_of(INSTANCE, "dr-replica")]
    assert "the engine's default parameter group" in outcome.violations[0][0]


def test_an_unknown_availability_zone_defers_the_multi_az_verdict() -> None:
    # Two instances, one in a named AZ and one whose AZ is still unknown: it may be another AZ.
    with pytest.raises(UnknownValueError):
        run_stack(
            CLUSTER_MULTI_AZ,
            [
                Res(CLUSTER, "aurora", AURORA),
                _aurora_instance("a", "aurora", "eu-west-1a"),
                _aurora_instance("b", "aurora", UNKNOWN),
            ],
        )


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
        "sharedAccounts",
        "backtrackWindow",
        "availabilityZone",
        "masterUsername",
        "username",
        "requireTls",
        "sourceType",
        "eventCategories",
        "sourceIds",
        "enabled",
        "region",
        "autoMinorVersionUpgrade",
        "replicationGroupId",
        "parameterGroupName",
        "dbClusterParameterGroupName",
        "dbSubnetGroupName",
        "routes",
        "gatewayId",
        "destinationCidrBlock",
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
        "memcached",
        "sqlserver-se",
        "mariadb",
        "aurora-mysql",
        "8.0.mysql_aurora.3.08.0",
        "10.4.34",
        "all",
        "admin",
        "true",
        "false",
        "db-cluster",
        "db-instance",
        "maintenance",
        "failure",
        "configuration change",
        "default.sqlserver-se-16.0",
        "require_secure_transport",
        "server_audit_logging",
        "0.0.0.0/0",
        "igw-0123",
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
        StackFuzzTarget(SNAPSHOT_ENCRYPTED, SNAPSHOT, INSTANCE, "dbInstanceIdentifier", forward=True),
        StackFuzzTarget(
            SNAPSHOT_ENCRYPTED, SNAPSHOT_COPY, SNAPSHOT, "sourceDbSnapshotIdentifier", forward=True
        ),
        StackFuzzTarget(CLUSTER_MULTI_AZ, CLUSTER, CLUSTER_INSTANCE, "clusterIdentifier"),
        StackFuzzTarget(SQLSERVER_SSL, INSTANCE, PG, "parameterGroupName", forward=True),
        StackFuzzTarget(SQLSERVER_SSL, INSTANCE, INSTANCE, "replicateSourceDb", forward=True),
        StackFuzzTarget(MARIADB_TLS, INSTANCE, PG, "parameterGroupName", forward=True),
        StackFuzzTarget(AURORA_AUDIT, CLUSTER, CPG, "dbClusterParameterGroupName", forward=True),
        StackFuzzTarget(PUBLIC_SUBNET, INSTANCE, DB_SUBNET_GROUP, "dbSubnetGroupName", forward=True),
        StackFuzzTarget(PUBLIC_SUBNET, CLUSTER, DB_SUBNET_GROUP, "dbSubnetGroupName", forward=True),
        StackFuzzTarget(CLUSTER_EVENTS, EVENTS, TOPIC, "snsTopic", forward=True),
        StackFuzzTarget(INSTANCE_EVENTS, EVENTS, TOPIC, "snsTopic", forward=True),
        StackFuzzTarget(PARAMETER_GROUP_EVENTS, EVENTS, TOPIC, "snsTopic", forward=True),
        StackFuzzTarget(SECURITY_GROUP_EVENTS, EVENTS, TOPIC, "snsTopic", forward=True),
        StackFuzzTarget(GLOBAL_VERSION, GLOBAL_CLUSTER, CLUSTER, "sourceDbClusterIdentifier", forward=True),
        StackFuzzTarget(RECOVERY_POINTS, SELECTION, INSTANCE, "resources", forward=True),
        StackFuzzTarget(RECOVERY_POINTS, SELECTION, VOLUME, "resources", forward=True),
    ],
)
