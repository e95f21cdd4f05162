"""The data tier (keys, secrets, RDS, ElastiCache, AWS Backup), run per stack under first-preview semantics.

Assertions are on recorded inputs, property dependencies and resource options: what the engine and a policy
pack receive. Config rules that need no program run are checked through `load_stack_config`.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from paved.config import load_stack_config
from paved.errors import ConfigError, ConfigProblem
from paved.presets import deep_merge
from paved.program import run_project
from paved.recorder import RecordedResource, Recording
from paved.values import is_secret, is_unknown

ROOT = Path(__file__).resolve().parent.parent
ACCOUNT = "123456789012"
DR_REGION = "eu-central-1"
DR_PROVIDER = "pulumi:providers:aws::dr"

INSTANCE = "aws:rds/instance:Instance"
PARAMETER_GROUP = "aws:rds/parameterGroup:ParameterGroup"
SUBNET_GROUP = "aws:rds/subnetGroup:SubnetGroup"
PROXY = "aws:rds/proxy:Proxy"
PROXY_TARGET = "aws:rds/proxyTarget:ProxyTarget"
BACKUPS_REPLICATION = "aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication"
REPLICATION_GROUP = "aws:elasticache/replicationGroup:ReplicationGroup"
CACHE_PARAMETER_GROUP = "aws:elasticache/parameterGroup:ParameterGroup"
KEY = "aws:kms/key:Key"
SECRET = "aws:secretsmanager/secret:Secret"
SECRET_VERSION = "aws:secretsmanager/secretVersion:SecretVersion"
RANDOM_PASSWORD = "random:index/randomPassword:RandomPassword"
VAULT = "aws:backup/vault:Vault"
VAULT_LOCK = "aws:backup/vaultLockConfiguration:VaultLockConfiguration"
PLAN = "aws:backup/plan:Plan"
SELECTION = "aws:backup/selection:Selection"
RESTORE_PLAN = "aws:backup/restoreTestingPlan:RestoreTestingPlan"
RESTORE_SELECTION = "aws:backup/restoreTestingSelection:RestoreTestingSelection"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
ROLE_POLICY_ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
AWS_PROVIDER = "pulumi:providers:aws"

# Resource types whose loss loses data: protected in prod, not in staging.
STATEFUL_TYPES = (INSTANCE, REPLICATION_GROUP, KEY, VAULT, BACKUPS_REPLICATION)
BACKUP_TYPES = (VAULT, VAULT_LOCK, PLAN, SELECTION, RESTORE_PLAN, RESTORE_SELECTION)
STACKS = ["prod", "staging"]


@pytest.fixture(scope="module")
def prod(shipped_recordings: Callable[[str], Recording]) -> Recording:
    return shipped_recordings("prod")


@pytest.fixture(scope="module")
def staging(shipped_recordings: Callable[[str], Recording]) -> Recording:
    return shipped_recordings("staging")


@pytest.fixture(scope="module")
def staging_blue_green() -> Recording:
    # Blue/green on the only shape AWS allows it: no read replicas, no RDS Proxy.
    overrides = {"paved:database": {"blueGreenUpdates": True, "readReplicas": 0, "proxy": False}}
    return run_project(ROOT, "staging", overrides)


def _recording(request: pytest.FixtureRequest, stack: str) -> Recording:
    return request.getfixturevalue(stack)


def _key_urn(recording: Recording, purpose: str) -> str:
    return recording.one(KEY, purpose).urn


def _primary(recording: Recording) -> RecordedResource:
    return recording.one(INSTANCE, "database")


def _replicas(recording: Recording) -> list[RecordedResource]:
    return [r for r in recording.of_type(INSTANCE) if "replicateSourceDb" in r.inputs]


def _parameters(resource: RecordedResource) -> dict[str, dict[str, Any]]:
    return {parameter["name"]: parameter for parameter in resource.inputs["parameters"]}


def _walk(value: Any) -> Iterator[Any]:
    yield value
    if is_secret(value):
        return
    if isinstance(value, dict):
        for item in value.values():
            yield from _walk(item)
    elif isinstance(value, list):
        for item in value:
            yield from _walk(item)


# --- config helpers (no program run), in the manner of tests/test_config.py -----------------------------


@cache
def _shipped(stack: str) -> dict[str, Any]:
    return yaml.safe_load((ROOT / "stacks" / f"Pulumi.{stack}.yaml").read_text())["config"]


def _changed(stack: str, changes: dict[str, Any]) -> dict[str, Any]:
    return deep_merge(copy.deepcopy(_shipped(stack)), changes)


def _problems(raw: dict[str, Any], stack: str) -> list[ConfigProblem]:
    with pytest.raises(ConfigError) as caught:
        load_stack_config(raw, stack)
    assert caught.value.problems, "a ConfigError must carry its problems"
    return caught.value.problems


def _paths(raw: dict[str, Any], stack: str) -> set[str]:
    return {problem.path for problem in _problems(raw, stack)}


# --- 1. RDS primary ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_primary_is_encrypted_private_postgres_17(stack: str, request: pytest.FixtureRequest) -> None:
    recording = _recording(request, stack)
    primary = _primary(recording)
    inputs = primary.inputs
    assert (inputs["engine"], inputs["engineVersion"]) == ("postgres", "17")
    assert inputs["storageEncrypted"] is True
    assert inputs["storageType"] == "gp3"
    assert inputs["publiclyAccessible"] is False
    assert inputs["iamDatabaseAuthenticationEnabled"] is True
    assert inputs["autoMinorVersionUpgrade"] is True
    assert inputs["copyTagsToSnapshot"] is True
    data_key = _key_urn(recording, "data")
    assert primary.property_dependencies["kmsKeyId"] == [data_key]
    assert inputs["performanceInsightsEnabled"] is True
    assert primary.property_dependencies["performanceInsightsKmsKeyId"] == [data_key]
    subnet_group = recording.one(SUBNET_GROUP, "database")
    assert primary.property_dependencies["dbSubnetGroupName"] == [subnet_group.urn]
    isolated = {r.urn for r in recording.of_type("aws:ec2/subnet:Subnet") if "-isolated-" in r.name}
    assert isolated and set(subnet_group.property_dependencies["subnetIds"]) == isolated


@pytest.mark.parametrize(
    ("stack", "retention", "delete_backups", "deletion_protection", "multi_az", "protect"),
    [("prod", 35, False, True, True, True), ("staging", 7, True, False, False, False)],
)
def test_primary_backups_and_deletion_per_environment(
    stack: str,
    retention: int,
    delete_backups: bool,
    deletion_protection: bool,
    multi_az: bool,
    protect: bool,
    request: pytest.FixtureRequest,
) -> None:
    primary = _primary(_recording(request, stack))
    inputs = primary.inputs
    # RDS keeps automated backups for at most 35 days:
    # https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_WorkingWithAutomatedBackups.html
    assert inputs["backupRetentionPeriod"] == retention
    assert inputs["deleteAutomatedBackups"] is delete_backups
    assert inputs["deletionProtection"] is deletion_protection
    assert inputs["multiAz"] is multi_az
    assert primary.protect is protect
    assert inputs["skipFinalSnapshot"] is False
    assert inputs["finalSnapshotIdentifier"] == f"paved-{stack}-database-final"
    assert re.fullmatch(r"\d\d:\d\d-\d\d:\d\d", inputs["backupWindow"])
    assert re.fullmatch(r"[a-z]{3}:\d\d:\d\d-[a-z]{3}:\d\d:\d\d", inputs["maintenanceWindow"])


@pytest.mark.parametrize("stack", STACKS)
def test_primary_storage_autoscales_logs_and_monitoring(stack: str, request: pytest.FixtureRequest) -> None:
    recording = _recording(request, stack)
    primary = _primary(recording)
    inputs = primary.inputs
    # The autoscaling ceiling must be at least 10% above the allocated storage:
    # https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_PIOPS.Autoscaling.html
    assert inputs["maxAllocatedStorage"] * 10 >= inputs["allocatedStorage"] * 11
    assert inputs["enabledCloudwatchLogsExports"] == ["postgresql", "upgrade"]
    # Enhanced monitoring needs a role: https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_Monitoring.OS.Enabling.html
    assert inputs["monitoringInterval"] > 0
    role = recording.one(ROLE, "database-monitoring")
    assert primary.property_dependencies["monitoringRoleArn"] == [role.urn]
    # RDS would create its log groups itself, unencrypted and kept forever, so they exist first.
    for log_type in ("postgresql", "upgrade"):
        group = recording.one(LOG_GROUP, f"paved-{stack}-database-{log_type}")
        assert group.inputs["name"] == f"/aws/rds/instance/paved-{stack}-database/{log_type}"
        assert group.urn in primary.dependencies
        assert group.property_dependencies["kmsKeyId"] == [_key_urn(recording, "logs")]


@pytest.mark.parametrize(
    ("stack", "mode", "retention"), [("prod", "advanced", 465), ("staging", "standard", 7)]
)
def test_database_insights_mode_follows_retention(
    stack: str, mode: str, retention: int, request: pytest.FixtureRequest
) -> None:
    # Advanced mode needs Performance Insights kept 465 days (15 months):
    # https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_DatabaseInsights.html
    inputs = _primary(_recording(request, stack)).inputs
    assert (inputs["databaseInsightsMode"], inputs["performanceInsightsRetentionPeriod"]) == (mode, retention)


# --- 2. master credentials --------------------------------------------------------------------------------
# RDS cannot manage the master password of an instance with read replicas or in a blue/green deployment,
# "Limitations for Secrets Manager integration":
# https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/rds-secrets-manager.html#rds-secrets-manager-limitations


def test_staging_master_password_is_managed_by_rds(staging: Recording) -> None:
    primary = _primary(staging)
    assert primary.inputs["manageMasterUserPassword"] is True
    assert primary.property_dependencies["masterUserSecretKmsKeyId"] == [_key_urn(staging, "secrets")]
    assert "passwordWo" not in primary.inputs and "passwordWoVersion" not in primary.inputs
    assert not [r for r in staging.of_type(RANDOM_PASSWORD) if r.name == "database-master"]
    assert not [r for r in staging.of_type(SECRET) if r.name == "database-master"]


def test_prod_master_password_is_generated_and_written_only(prod: Recording) -> None:
    primary = _primary(prod)
    assert "manageMasterUserPassword" not in primary.inputs
    assert "masterUserSecretKmsKeyId" not in primary.inputs
    assert is_secret(primary.inputs["passwordWo"])
    assert primary.inputs["passwordWoVersion"] == 1
    generator = prod.one(RANDOM_PASSWORD, "database-master")
    assert primary.property_dependencies["passwordWo"] == [generator.urn]
    secret = prod.one(SECRET, "database-master")
    assert secret.inputs["name"] == "prod/database/master"
    version = prod.one(SECRET_VERSION, "database-master")
    assert version.property_dependencies["secretId"] == [secret.urn]
    assert is_secret(version.inputs["secretStringWo"]) and "secretString" not in version.inputs
    assert generator.urn in version.property_dependencies["secretStringWo"]


@pytest.mark.parametrize("stack", STACKS)
def test_no_instance_takes_a_plain_password(stack: str, request: pytest.FixtureRequest) -> None:
    instances = _recording(request, stack).of_type(INSTANCE)
    assert instances
    assert all("password" not in instance.inputs for instance in instances)


def test_blue_green_with_read_replicas_is_rejected() -> None:
    raw = _changed("prod", {"paved:database": {"blueGreenUpdates": True, "readReplicas": 1, "proxy": False}})
    assert "paved:database.blueGreenUpdates" in _paths(raw, "prod")


def test_blue_green_with_proxy_is_accepted() -> None:
    # Since 2026-04-09 RDS Blue/Green deployments support RDS Proxy; README, "Database credentials", lists
    # the constraints: https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/rds-proxy-blue-green.html
    raw = _changed("prod", {"paved:database": {"blueGreenUpdates": True, "readReplicas": 0, "proxy": True}})
    assert load_stack_config(raw, "prod").database.blue_green_updates is True


# --- 3. parameter group -----------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_parameter_group_forces_tls_and_tracks_statements(stack: str, request: pytest.FixtureRequest) -> None:
    recording = _recording(request, stack)
    group = recording.one(PARAMETER_GROUP, "database")
    assert group.inputs["family"] == "postgres17"
    parameters = _parameters(group)
    assert parameters["rds.force_ssl"]["value"] == "1"
    # Static parameters apply on reboot only; AWS rejects "immediate" for them:
    # https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_WorkingWithParamGroups.html
    preload = parameters["shared_preload_libraries"]
    assert "pg_stat_statements" in preload["value"].split(",")
    assert preload["applyMethod"] == "pending-reboot"
    assert int(parameters["log_min_duration_statement"]["value"]) > 0
    assert "rds.logical_replication" not in parameters
    assert _primary(recording).property_dependencies["parameterGroupName"] == [group.urn]


def test_blue_green_enables_logical_replication_and_a_generated_password(
    staging_blue_green: Recording,
) -> None:
    # Blue/green for PostgreSQL replicates logically:
    # https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/blue-green-deployments-creating.html
    parameters = _parameters(staging_blue_green.one(PARAMETER_GROUP, "database"))
    assert parameters["rds.logical_replication"] == {
        "name": "rds.logical_replication",
        "value": "1",
        "applyMethod": "pending-reboot",
    }
    primary = _primary(staging_blue_green)
    assert primary.inputs["blueGreenUpdate"] == {"enabled": True}
    # No managed master password in a blue/green deployment (rds-secrets-manager-limitations, above).
    assert "manageMasterUserPassword" not in primary.inputs
    assert is_secret(primary.inputs["passwordWo"])
    assert staging_blue_green.one(SECRET, "database-master").inputs["name"] == "staging/database/master"


# --- 4. read replica --------------------------------------------------------------------------------------


def test_prod_replica_follows_the_primary(prod: Recording) -> None:
    [replica] = _replicas(prod)
    primary = _primary(prod)
    inputs = replica.inputs
    assert replica.property_dependencies["replicateSourceDb"] == [primary.urn]
    assert inputs["replicateSourceDb"] == primary.inputs["identifier"]
    assert not {"username", "password", "passwordWo", "manageMasterUserPassword"} & set(inputs)
    # RDS takes no final snapshot of a read replica.
    assert inputs["skipFinalSnapshot"] is True
    # A same-region replica inherits its source's key; RDS refuses a KmsKeyId for it
    # (https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBInstanceReadReplica.html).
    assert not {"kmsKeyId", "storageEncrypted"} & set(inputs)
    assert inputs["publiclyAccessible"] is False
    # CreateDBInstanceReadReplica takes no DatabaseInsightsMode:
    # https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBInstanceReadReplica.html
    assert "databaseInsightsMode" not in inputs
    assert replica.protect is True


def test_staging_has_no_replica(staging: Recording) -> None:
    assert _replicas(staging) == []
    assert len(staging.of_type(INSTANCE)) == 1


# --- 5. RDS Proxy -----------------------------------------------------------------------------------------


def _user_secrets(recording: Recording) -> dict[str, RecordedResource]:
    """The per-app database login secrets, by role."""
    return {
        secret.inputs["name"].rsplit("/", 1)[-1]: secret
        for secret in recording.of_type(SECRET)
        if "/database/users/" in secret.inputs["name"]
    }


def test_prod_proxy_requires_tls_and_logs_in_with_each_password_users_secret(prod: Recording) -> None:
    proxy = prod.one(PROXY)
    inputs = proxy.inputs
    assert inputs["engineFamily"] == "POSTGRESQL"
    assert inputs["requireTls"] is True
    # Password users: default scheme NONE and one SECRETS auth per user, the user read from the secret (AWS
    # rejects a UserName beside SECRETS): https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_UserAuthConfig.html
    assert inputs["defaultAuthScheme"] == "NONE"
    secrets = _user_secrets(prod)
    assert set(secrets) == {"api", "worker"}
    assert len(inputs["auths"]) == len(secrets)
    for auth in inputs["auths"]:
        assert auth["authScheme"] == "SECRETS"
        assert auth["iamAuth"] == "DISABLED"
        assert auth["clientPasswordAuthType"] == "POSTGRES_SCRAM_SHA_256"
        assert "username" not in auth
    assert set(proxy.property_dependencies["auths"]) == {secret.urn for secret in secrets.values()}
    isolated = {r.urn for r in prod.of_type("aws:ec2/subnet:Subnet") if "-isolated-" in r.name}
    assert set(proxy.property_dependencies["vpcSubnetIds"]) == isolated
    target = prod.one(PROXY_TARGET)
    assert target.property_dependencies["dbProxyName"] == [proxy.urn]
    assert target.property_dependencies["dbInstanceIdentifier"] == [_primary(prod).urn]


def test_prod_proxy_role_reads_only_the_users_secrets(prod: Recording) -> None:
    role = prod.one(ROLE, "database-proxy")
    trust = json.loads(role.inputs["assumeRolePolicy"])
    assert [s["Principal"] for s in trust["Statement"]] == [{"Service": "rds.amazonaws.com"}]
    # The secrets' ARNs are unknown in a first preview, so this checks what is known: one inline policy built
    # from exactly the users' secrets and the secrets key, and no managed policy that could grant more.
    # https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/rds-proxy-secrets-arns.html
    [policy] = [p for p in prod.of_type(ROLE_POLICY) if p.property_dependencies.get("role") == [role.urn]]
    secrets_key = prod.one(KEY, "secrets").urn
    expected = {secret.urn for secret in _user_secrets(prod).values()} | {secrets_key}
    assert set(policy.property_dependencies["policy"]) == expected
    attachments = [
        a for a in prod.of_type(ROLE_POLICY_ATTACHMENT) if role.urn in a.property_dependencies.get("role", [])
    ]
    assert attachments == []


def test_staging_has_no_proxy(staging: Recording) -> None:
    assert staging.of_type(PROXY) == [] and staging.of_type(PROXY_TARGET) == []
    assert not [g for g in staging.of_type(SECURITY_GROUP) if g.name == "database-proxy-sg"]


# --- 6. disaster-recovery region --------------------------------------------------------------------------


def test_dr_provider_points_at_the_dr_region(prod: Recording, staging: Recording) -> None:
    dr = prod.one(AWS_PROVIDER, "dr")
    assert dr.inputs["region"] == DR_REGION
    assert not [p for p in staging.of_type(AWS_PROVIDER) if p.name == "dr"]


def test_dr_resources_use_the_dr_provider_and_key(prod: Recording) -> None:
    # KMS keys are regional; copies in the DR region are encrypted with a key of that region:
    # https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_ReplicateBackups.html
    data_dr = prod.one(KEY, "data-dr")
    replication = prod.one(BACKUPS_REPLICATION)
    assert DR_PROVIDER in replication.provider
    assert replication.property_dependencies["kmsKeyId"] == [data_dr.urn]
    assert replication.property_dependencies["sourceDbInstanceArn"] == [_primary(prod).urn]
    assert replication.inputs["retentionPeriod"] == 35
    dr_vault = prod.one(VAULT, "backup-dr")
    assert DR_PROVIDER in dr_vault.provider
    assert dr_vault.property_dependencies["kmsKeyArn"] == [data_dr.urn]
    assert DR_PROVIDER in prod.one(VAULT_LOCK, "backup-dr").provider
    for name in ("data-dr", "secrets-dr"):
        assert DR_PROVIDER in prod.one(KEY, name).provider


def test_primary_region_resources_do_not_use_the_dr_provider(prod: Recording) -> None:
    # cdn-assets-dr is the assets replica CloudFront fails over to (tests/test_cdn.py); s3-access-logs-dr
    # takes its S3 server access logs (tests/test_stack.py).
    dr_names = {
        "data-dr",
        "secrets-dr",
        "database-backups-dr",
        "backup-dr",
        "cdn-assets-dr",
        "s3-access-logs-dr",
    }
    on_dr = {r.name for r in prod.resources if DR_PROVIDER in r.provider}
    assert on_dr == dr_names
    for name in ("data", "secrets", "logs", "alerts"):
        assert "::default_" in prod.one(KEY, name).provider
    assert "::default_" in _primary(prod).provider and "::default_" in prod.one(VAULT, "backup").provider


# --- 7. security groups -----------------------------------------------------------------------------------


def _rules_of(recording: Recording, type_: str, group: str) -> list[RecordedResource]:
    urn = recording.one(SECURITY_GROUP, group).urn
    return [r for r in recording.of_type(type_) if r.property_dependencies.get("securityGroupId") == [urn]]


@pytest.mark.parametrize("stack", STACKS)
def test_data_tier_ingress_comes_from_security_groups_only(
    stack: str, request: pytest.FixtureRequest
) -> None:
    recording = _recording(request, stack)
    # The load balancer's own ingress (from CloudFront or viewer CIDRs) is tested in tests/test_edge.py, the
    # EKS API's (from the deployer named in config) in tests/test_deployer.py.
    others = ("network-endpoints", "alb-sg-", "cluster-deployer-")
    rules = [r for r in recording.of_type(INGRESS) if not r.name.startswith(others)]
    assert rules
    for rule in rules:
        assert "referencedSecurityGroupId" in rule.inputs, rule.name
        assert rule.property_dependencies["referencedSecurityGroupId"], rule.name
        assert not {"cidrIpv4", "cidrIpv6", "prefixListId"} & set(rule.inputs), rule.name
        assert rule.inputs["ipProtocol"] == "tcp"


@pytest.mark.parametrize(
    ("stack", "group", "port", "sources"),
    [
        ("prod", "database-sg", 5432, {"network-workloads", "database-proxy-sg"}),
        ("prod", "database-proxy-sg", 5432, {"network-workloads"}),
        ("prod", "cache-sg", 6379, {"network-workloads"}),
        ("staging", "database-sg", 5432, {"network-workloads"}),
        ("staging", "cache-sg", 6379, {"network-workloads"}),
    ],
)
def test_data_tier_groups_admit_one_port_from_named_groups(
    stack: str, group: str, port: int, sources: set[str], request: pytest.FixtureRequest
) -> None:
    recording = _recording(request, stack)
    by_urn = recording.by_urn()
    rules = _rules_of(recording, INGRESS, group)
    assert {(r.inputs["fromPort"], r.inputs["toPort"]) for r in rules} == {(port, port)}
    peers = {by_urn[r.property_dependencies["referencedSecurityGroupId"][0]].name for r in rules}
    assert peers == sources


def test_only_the_proxy_has_egress_and_only_to_the_database(prod: Recording) -> None:
    assert _rules_of(prod, EGRESS, "database-sg") == [] and _rules_of(prod, EGRESS, "cache-sg") == []
    [egress] = _rules_of(prod, EGRESS, "database-proxy-sg")
    assert (egress.inputs["fromPort"], egress.inputs["toPort"]) == (5432, 5432)
    assert egress.property_dependencies["referencedSecurityGroupId"] == [
        prod.one(SECURITY_GROUP, "database-sg").urn
    ]


# --- 8. cache ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_cache_is_valkey_encrypted_with_a_rotating_token(stack: str, request: pytest.FixtureRequest) -> None:
    recording = _recording(request, stack)
    group = recording.one(REPLICATION_GROUP, "cache")
    inputs = group.inputs
    assert inputs["engine"] == "valkey"
    # An AUTH token needs in-transit encryption; "required" refuses plain-text clients:
    # https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/in-transit-encryption.html
    assert inputs["transitEncryptionEnabled"] is True
    assert inputs["transitEncryptionMode"] == "required"
    assert inputs["atRestEncryptionEnabled"] is True
    assert group.property_dependencies["kmsKeyId"] == [_key_urn(recording, "data")]
    # https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/auth.html (ROTATE keeps the old token valid)
    assert is_secret(inputs["authTokenWo"]) and "authToken" not in inputs
    assert group.property_dependencies["authTokenWo"] == [
        recording.one(RANDOM_PASSWORD, "cache-auth-token").urn
    ]
    assert inputs["authTokenUpdateStrategy"] == "ROTATE"
    assert inputs["finalSnapshotIdentifier"] == f"paved-{stack}-cache-final"
    parameters = recording.one(CACHE_PARAMETER_GROUP, "cache")
    assert parameters.inputs["family"] == "valkey8"
    assert _parameters(parameters)["maxmemory-policy"]["value"] == "volatile-lru"
    assert group.property_dependencies["parameterGroupName"] == [parameters.urn]


@pytest.mark.parametrize(
    ("stack", "nodes", "failover", "protect"), [("prod", 2, True, True), ("staging", 1, False, False)]
)
def test_cache_topology_per_environment(
    stack: str, nodes: int, failover: bool, protect: bool, request: pytest.FixtureRequest
) -> None:
    # Failover and Multi-AZ need a replica: https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/AutoFailover.html
    group = _recording(request, stack).one(REPLICATION_GROUP, "cache")
    assert group.inputs["numCacheClusters"] == nodes
    assert group.inputs["automaticFailoverEnabled"] is failover
    assert group.inputs["multiAzEnabled"] is failover
    assert group.protect is protect
    if stack == "prod":
        assert group.inputs["snapshotRetentionLimit"] >= 7


@pytest.mark.parametrize(("stack", "retention"), [("prod", 365), ("staging", 30)])
def test_cache_logs_go_to_encrypted_retained_groups(
    stack: str, retention: int, request: pytest.FixtureRequest
) -> None:
    recording = _recording(request, stack)
    group = recording.one(REPLICATION_GROUP, "cache")
    deliveries = {d["logType"]: d for d in group.inputs["logDeliveryConfigurations"]}
    assert set(deliveries) == {"slow-log", "engine-log"}
    for log_type, delivery in deliveries.items():
        log_group = recording.one(LOG_GROUP, f"cache-{log_type}")
        assert delivery["destinationType"] == "cloudwatch-logs"
        assert delivery["destination"] == log_group.inputs["name"]
        assert log_group.urn in group.property_dependencies["logDeliveryConfigurations"]
        assert log_group.property_dependencies["kmsKeyId"] == [_key_urn(recording, "logs")]
        assert log_group.inputs["retentionInDays"] == retention


# --- 9. secrets -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("stack", "recovery_days"), [("prod", 30), ("staging", 7)])
def test_every_secret_is_encrypted_and_kept_in_the_account(
    stack: str, recovery_days: int, request: pytest.FixtureRequest
) -> None:
    recording = _recording(request, stack)
    secrets = recording.of_type(SECRET)
    assert len(secrets) >= 4
    for secret in secrets:
        assert secret.property_dependencies["kmsKeyId"] == [_key_urn(recording, "secrets")], secret.name
        # Secrets Manager keeps a deleted secret recoverable for 7 to 30 days.
        assert secret.inputs["recoveryWindowInDays"] == recovery_days
        assert secret.inputs["name"].startswith(f"{stack}/")
        # https://docs.aws.amazon.com/secretsmanager/latest/userguide/auth-and-access_examples.html
        [deny] = [s for s in json.loads(secret.inputs["policy"])["Statement"] if s["Effect"] == "Deny"]
        assert deny["Principal"] == "*"
        assert deny["Condition"]["StringNotEquals"] == {"aws:PrincipalAccount": ACCOUNT}


def test_prod_secrets_replicate_to_the_dr_region_with_its_key(prod: Recording) -> None:
    secrets_dr = _key_urn(prod, "secrets-dr")
    for secret in prod.of_type(SECRET):
        [replica] = secret.inputs["replicas"]
        assert replica["region"] == DR_REGION
        assert "kmsKeyId" in replica
        assert secret.property_dependencies["replicas"] == [secrets_dr]


def test_staging_secrets_have_no_replica(staging: Recording) -> None:
    assert all(not secret.inputs.get("replicas") for secret in staging.of_type(SECRET))


@pytest.mark.parametrize("stack", STACKS)
def test_app_secret_values_by_source(stack: str, request: pytest.FixtureRequest) -> None:
    recording = _recording(request, stack)
    versions = {v.property_dependencies["secretId"][0]: v for v in recording.of_type(SECRET_VERSION)}
    jwt, redis = (recording.one(SECRET, n) for n in ("jwt-secret", "redis-url"))
    assert jwt.inputs["name"] == f"{stack}/app/JWT_SECRET"
    generator = recording.one(RANDOM_PASSWORD, "jwt-secret")
    assert generator.inputs["length"] == 64
    assert is_secret(versions[jwt.urn].inputs["secretStringWo"])
    assert versions[jwt.urn].property_dependencies["secretStringWo"] == [generator.urn]
    redis_value = versions[redis.urn].inputs["secretString"]
    assert is_secret(redis_value)
    assert (
        recording.one(RANDOM_PASSWORD, "cache-auth-token").urn
        in (versions[redis.urn].property_dependencies["secretString"])
    )


@pytest.mark.parametrize("stack", STACKS)
def test_generated_values_only_reach_secret_inputs(stack: str, request: pytest.FixtureRequest) -> None:
    recording = _recording(request, stack)
    generators = {r.urn for r in recording.of_type(RANDOM_PASSWORD)}
    assert generators
    flows = [
        (resource, key)
        for resource in recording.resources
        for key, deps in resource.property_dependencies.items()
        if generators & set(deps)
    ]
    assert len(flows) >= 4
    for resource, key in flows:
        # A generated value may sit inside a larger input (a listener rule's header condition): then the
        # engine marks that nested value secret, which is what must hold.
        assert any(is_secret(part) for part in _walk(resource.inputs[key])), (
            f"{resource.name}.{key} carries a generated value in plain"
        )
    for resource in recording.resources:
        for key in ("passwordWo", "authTokenWo", "secretStringWo", "secretString"):
            if key in resource.inputs:
                assert is_secret(resource.inputs[key]) or is_unknown(resource.inputs[key])


@pytest.mark.parametrize("stack", STACKS)
def test_stack_outputs_hold_no_secret(stack: str, request: pytest.FixtureRequest) -> None:
    outputs = _recording(request, stack).stack_outputs
    assert "database_master_secret_arn" in outputs and "cache_primary_endpoint" in outputs
    assert not [value for value in _walk(outputs) if is_secret(value)]
    assert not [key for key in outputs if re.search(r"password|token|url$", key, re.IGNORECASE)]


# --- 10. AWS Backup ---------------------------------------------------------------------------------------


def test_prod_vault_is_encrypted_and_locked_in_governance_mode(prod: Recording) -> None:
    vault = prod.one(VAULT, "backup")
    assert vault.property_dependencies["kmsKeyArn"] == [_key_urn(prod, "data")]
    assert vault.inputs["forceDestroy"] is False
    # Governance mode: no changeableForDays. https://docs.aws.amazon.com/aws-backup/latest/devguide/vault-lock.html
    for name in ("backup", "backup-dr"):
        lock = prod.one(VAULT_LOCK, name)
        assert (lock.inputs["minRetentionDays"], lock.inputs["maxRetentionDays"]) == (7, 400)
        assert "changeableForDays" not in lock.inputs
        assert lock.property_dependencies["backupVaultName"] == [prod.one(VAULT, name).urn]


def test_prod_plan_copies_daily_and_weekly_snapshots_to_the_dr_vault(prod: Recording) -> None:
    plan = prod.one(PLAN)
    rules = {rule["ruleName"]: rule for rule in plan.inputs["rules"]}
    assert {name: rule["lifecycle"]["deleteAfter"] for name, rule in rules.items()} == {
        "daily": 35,
        "weekly": 365,
    }
    for rule in rules.values():
        assert rule["targetVaultName"] == prod.one(VAULT, "backup").inputs["name"]
        [copy_action] = rule["copyActions"]
        assert "destinationVaultArn" in copy_action
        # Copies must fall inside the DR vault lock, or AWS Backup fails the job (vault-lock.html, above).
        assert 7 <= copy_action["lifecycle"]["deleteAfter"] <= 400
    assert prod.one(VAULT, "backup-dr").urn in plan.property_dependencies["rules"]


def test_prod_selection_covers_the_database(prod: Recording) -> None:
    selection = prod.one(SELECTION)
    assert len(selection.inputs["resources"]) == 1
    assert selection.property_dependencies["resources"] == [_primary(prod).urn]
    assert selection.property_dependencies["planId"] == [prod.one(PLAN).urn]


def test_prod_restore_tests_land_in_an_isolated_group(prod: Recording) -> None:
    plan = prod.one(RESTORE_PLAN)
    # Restore testing plan names allow letters, digits and underscores only.
    assert re.fullmatch(r"[A-Za-z0-9_]+", plan.inputs["name"])
    selection = prod.one(RESTORE_SELECTION)
    assert selection.inputs["protectedResourceType"] == "RDS"
    assert selection.property_dependencies["protectedResourceArns"] == [_primary(prod).urn]
    # The inferred target is the default VPC, which may not exist:
    # https://docs.aws.amazon.com/aws-backup/latest/devguide/restore-testing-inferred-metadata.html
    assert set(selection.inputs["restoreMetadataOverrides"]) == {"dbsubnetgroupname", "vpcSecurityGroupIds"}
    isolation = prod.one(SECURITY_GROUP, "backup-restore-test")
    assert set(selection.property_dependencies["restoreMetadataOverrides"]) == {
        prod.one(SUBNET_GROUP, "database").urn,
        isolation.urn,
    }
    assert not isolation.inputs.get("ingress") and not isolation.inputs.get("egress")
    assert _rules_of(prod, INGRESS, "backup-restore-test") == []
    assert _rules_of(prod, EGRESS, "backup-restore-test") == []


def test_staging_has_no_backup_resources(staging: Recording) -> None:
    assert not [r.type for r in staging.resources if r.type in BACKUP_TYPES]
    assert staging.stack_outputs.get("backup_vault_arn") is None


def test_backup_retention_outside_the_vault_lock_is_rejected() -> None:
    raw = _changed("prod", {"paved:backup": {"dailyRetentionDays": 500}})
    assert "paved:backup.dailyRetentionDays" in _paths(raw, "prod")


def test_prod_cannot_disable_backup() -> None:
    raw = _changed("prod", {"paved:backup": {"enabled": False, "restoreTesting": False}})
    assert _paths(raw, "prod") == {"paved:backup.enabled"}


# --- 11. protection ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("stack", "protected"), [("prod", True), ("staging", False)])
def test_stateful_resources_are_protected_in_prod_only(
    stack: str, protected: bool, request: pytest.FixtureRequest
) -> None:
    recording = _recording(request, stack)
    stateful = [r for r in recording.resources if r.type in STATEFUL_TYPES]
    expected_types = {INSTANCE, REPLICATION_GROUP, KEY} | (
        {VAULT, BACKUPS_REPLICATION} if protected else set()
    )
    assert {r.type for r in stateful} == expected_types
    assert {(r.type, r.name): r.protect for r in stateful} == {(r.type, r.name): protected for r in stateful}


# --- 12. alarms -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_every_data_tier_alarm_notifies(stack: str, request: pytest.FixtureRequest) -> None:
    alarms = _recording(request, stack).of_type(ALARM)
    assert alarms
    for alarm in alarms:
        assert alarm.inputs["alarmActions"] and alarm.inputs["okActions"], alarm.name
        assert alarm.property_dependencies["alarmActions"], alarm.name


def _alarm_names(recording: Recording, prefix: str) -> set[str]:
    return {a.name.removeprefix(prefix) for a in recording.of_type(ALARM) if a.name.startswith(prefix)}


def test_prod_alarm_set(prod: Recording) -> None:
    assert _alarm_names(prod, "database-") == {
        "cpu",
        "free-storage",
        "read-latency",
        "freeable-memory",
        "connections",
        "replica-1-lag",
    }
    per_node = {"cpu", "memory", "evictions", "connections", "replication-lag"}
    assert _alarm_names(prod, "cache-") == {f"{node}-{kind}" for node in (1, 2) for kind in per_node}
    # ElastiCache reports per node, <group id>-001, -002: https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/CacheMetrics.html
    nodes = {
        a.inputs["dimensions"]["CacheClusterId"] for a in prod.of_type(ALARM) if a.name.startswith("cache-")
    }
    assert nodes == {"paved-prod-cache-001", "paved-prod-cache-002"}


def test_staging_burstable_database_watches_cpu_credits(staging: Recording, prod: Recording) -> None:
    assert "cpu-credits" in _alarm_names(staging, "database-")
    assert "cpu-credits" not in _alarm_names(prod, "database-")
    assert not [n for n in _alarm_names(staging, "cache-") if n.endswith("replication-lag")]


@pytest.mark.parametrize("stack", STACKS)
def test_free_storage_threshold_is_ten_percent_of_allocated(
    stack: str, request: pytest.FixtureRequest
) -> None:
    recording = _recording(request, stack)
    allocated = _primary(recording).inputs["allocatedStorage"]
    alarm = recording.one(ALARM, "database-free-storage")
    assert alarm.inputs["threshold"] == pytest.approx(allocated * 2**30 * 0.1)
    if stack == "prod":
        assert alarm.inputs["threshold"] == pytest.approx(200 * 2**30 * 0.1)


# --- 13. config validation --------------------------------------------------------------------------------


def test_shipped_stacks_are_valid() -> None:
    for stack in STACKS:
        load_stack_config(_changed(stack, {}), stack)


@pytest.mark.parametrize(
    ("stack", "changes", "path"),
    [
        # https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_PIOPS.Autoscaling.html (≥ 10% above)
        (
            "prod",
            {"paved:database": {"allocatedStorage": 200, "maxAllocatedStorage": 219}},
            "paved:database.maxAllocatedStorage",
        ),
        # https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_WorkingWithAutomatedBackups.html (≤ 35)
        ("staging", {"paved:database": {"backupRetentionDays": 40}}, "paved:database.backupRetentionDays"),
        ("prod", {"paved:database": {"multiAz": False}}, "paved:database.multiAz"),
        # AWS rejects overlapping backup and maintenance windows.
        (
            "staging",
            {"paved:database": {"backupWindow": "03:00-04:00", "maintenanceWindow": "sun:03:30-sun:04:30"}},
            "paved:database.maintenanceWindow",
        ),
        # https://docs.aws.amazon.com/AmazonElastiCache/latest/APIReference/API_CreateReplicationGroup.html
        # (SnapshotWindow: at least 60 minutes)
        ("staging", {"paved:cache": {"snapshotWindow": "00:30-01:00"}}, "paved:cache.snapshotWindow"),
        # https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBInstance.html
        # (PerformanceInsightsRetentionPeriod: 7, 31 × months, or 731)
        (
            "staging",
            {"paved:database": {"performanceInsightsRetentionDays": 100}},
            "paved:database.performanceInsightsRetentionDays",
        ),
    ],
)
def test_invalid_data_tier_config_is_rejected(stack: str, changes: dict[str, Any], path: str) -> None:
    assert path in _paths(_changed(stack, changes), stack)


def test_limits_accept_their_boundaries() -> None:
    # The rules above must not reject the edge values AWS accepts.
    raw = _changed(
        "staging",
        {
            "paved:database": {
                "allocatedStorage": 200,
                "maxAllocatedStorage": 220,
                "backupRetentionDays": 35,
                "performanceInsightsRetentionDays": 93,
            },
            "paved:cache": {"snapshotWindow": "00:30-01:30"},
        },
    )
    load_stack_config(raw, "staging")


def test_undeclared_app_secret_is_rejected_at_its_position() -> None:
    raw = copy.deepcopy(_shipped("staging"))
    api = next(index for index, app in enumerate(raw["paved:apps"]) if app["name"] == "api")
    raw["paved:apps"][api]["secrets"] = [*raw["paved:apps"][api]["secrets"], "STRIPE_KEY"]
    position = len(raw["paved:apps"][api]["secrets"]) - 1
    problems = [p for p in _problems(raw, "staging") if "STRIPE_KEY" in p.message]
    assert [p.path for p in problems] == [f"paved:apps[{api}].secrets[{position}]"]


@pytest.mark.parametrize("stack", STACKS)
def test_every_secret_says_how_it_rotates(stack: str, request: pytest.FixtureRequest) -> None:
    # No rotation Lambda applies to paved's secrets; the tag is the documented reason the
    # secretsmanager-rotation policy accepts instead.
    recording = _recording(request, stack)
    rotations = {r.name: r.inputs["tags"].get("paved:rotation", "") for r in recording.of_type(SECRET)}
    assert rotations and all(reason.strip() for reason in rotations.values()), rotations
    assert rotations["jwt-secret"] == "raise paved:secrets.JWT_SECRET.version"
    assert all(
        reason.startswith("raise paved:apps[name=") and reason.endswith("].database.passwordVersion")
        for name, reason in rotations.items()
        if "-database-user-" in name
    )
