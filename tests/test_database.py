"""RDS (components/database.py): the primary, its master credentials, parameter group, read replica, RDS Proxy
and alarms, run per stack under first-preview semantics; shared readers are in tests/data_tier.py.
"""

from __future__ import annotations

import json
import re

import pytest

from components.database import DRILL_METRIC_NAMESPACE
from paved.config import load_stack_config
from paved.program import run_project
from paved.recorder import RecordedResource, Recording
from paved.values import is_secret
from tests.data_tier import (
    ALARM,
    INSTANCE,
    KEY,
    LOG_GROUP,
    PARAMETER_GROUP,
    PROXY,
    PROXY_TARGET,
    RANDOM_PASSWORD,
    ROLE,
    ROLE_POLICY,
    ROLE_POLICY_ATTACHMENT,
    SECRET,
    SECRET_VERSION,
    SECURITY_GROUP,
    STACKS,
    SUBNET_GROUP,
    alarm_names,
    changed,
    key_urn,
    parameters_of,
    primary_instance,
    problem_paths,
    recording_of,
)
from tests.stack_config import ROOT, Mutation, assert_rule_reports_path_and_hint, case, problems_of, section


@pytest.fixture(scope="module")
def staging_blue_green() -> Recording:
    # Blue/green on the only shape AWS allows it: no read replicas, no RDS Proxy.
    overrides = {"paved:database": {"blueGreenUpdates": True, "readReplicas": 0, "proxy": False}}
    return run_project(ROOT, "staging", overrides)


def _replicas(recording: Recording) -> list[RecordedResource]:
    return [r for r in recording.of_type(INSTANCE) if "replicateSourceDb" in r.inputs]


def _user_secrets(recording: Recording) -> dict[str, RecordedResource]:
    """The per-app database login secrets, by role."""
    return {
        secret.inputs["name"].rsplit("/", 1)[-1]: secret
        for secret in recording.of_type(SECRET)
        if "/database/users/" in secret.inputs["name"]
    }


# RDS cannot manage the master password of an instance with read replicas or in a blue/green deployment,
# "Limitations for Secrets Manager integration":
# https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/rds-secrets-manager.html#rds-secrets-manager-limitations


@pytest.mark.parametrize("stack", STACKS)
def test_primary_is_encrypted_private_postgres_17(stack: str, request: pytest.FixtureRequest) -> None:
    recording = recording_of(request, stack)
    primary = primary_instance(recording)
    inputs = primary.inputs
    assert (inputs["engine"], inputs["engineVersion"]) == ("postgres", "17")
    assert inputs["storageEncrypted"] is True
    assert inputs["storageType"] == "gp3"
    assert inputs["publiclyAccessible"] is False
    assert inputs["iamDatabaseAuthenticationEnabled"] is True
    assert inputs["autoMinorVersionUpgrade"] is True
    assert inputs["copyTagsToSnapshot"] is True
    data_key = key_urn(recording, "data")
    assert primary.property_dependencies["kmsKeyId"] == [data_key]
    assert inputs["performanceInsightsEnabled"] is True
    assert primary.property_dependencies["performanceInsightsKmsKeyId"] == [data_key]
    subnet_group = recording.one(SUBNET_GROUP, "database")
    assert primary.property_dependencies["dbSubnetGroupName"] == [subnet_group.urn]
    isolated = {
        r.urn for r in recording.of_type("aws:ec2/subnet:Subnet") if r.name.startswith("network-isolated-")
    }
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
    primary = primary_instance(recording_of(request, stack))
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
    recording = recording_of(request, stack)
    primary = primary_instance(recording)
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
        assert group.property_dependencies["kmsKeyId"] == [key_urn(recording, "logs")]


@pytest.mark.parametrize(
    ("stack", "mode", "retention"), [("prod", "advanced", 465), ("staging", "standard", 7)]
)
def test_database_insights_mode_follows_retention(
    stack: str, mode: str, retention: int, request: pytest.FixtureRequest
) -> None:
    # Advanced mode needs Performance Insights kept 465 days (15 months):
    # https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_DatabaseInsights.html
    inputs = primary_instance(recording_of(request, stack)).inputs
    assert (inputs["databaseInsightsMode"], inputs["performanceInsightsRetentionPeriod"]) == (mode, retention)


def test_staging_master_password_is_managed_by_rds(staging: Recording) -> None:
    primary = primary_instance(staging)
    assert primary.inputs["manageMasterUserPassword"] is True
    assert primary.property_dependencies["masterUserSecretKmsKeyId"] == [key_urn(staging, "secrets")]
    assert "passwordWo" not in primary.inputs and "passwordWoVersion" not in primary.inputs
    assert not [r for r in staging.of_type(RANDOM_PASSWORD) if r.name == "database-master"]
    assert not [r for r in staging.of_type(SECRET) if r.name == "database-master"]


def test_prod_master_password_is_generated_and_written_only(prod: Recording) -> None:
    primary = primary_instance(prod)
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
    instances = recording_of(request, stack).of_type(INSTANCE)
    assert instances
    assert all("password" not in instance.inputs for instance in instances)


def test_blue_green_with_read_replicas_is_rejected() -> None:
    raw = changed("prod", {"paved:database": {"blueGreenUpdates": True, "readReplicas": 1, "proxy": False}})
    assert "paved:database.blueGreenUpdates" in problem_paths(raw, "prod")


def test_blue_green_with_proxy_is_accepted() -> None:
    # Since 2026-04-09 RDS Blue/Green deployments support RDS Proxy; README, "Database credentials", lists
    # the constraints: https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/rds-proxy-blue-green.html
    raw = changed("prod", {"paved:database": {"blueGreenUpdates": True, "readReplicas": 0, "proxy": True}})
    assert load_stack_config(raw, "prod").database.blue_green_updates is True


@pytest.mark.parametrize("stack", STACKS)
def test_parameter_group_forces_tls_and_tracks_statements(stack: str, request: pytest.FixtureRequest) -> None:
    recording = recording_of(request, stack)
    group = recording.one(PARAMETER_GROUP, "database")
    assert group.inputs["family"] == "postgres17"
    parameters = parameters_of(group)
    assert parameters["rds.force_ssl"]["value"] == "1"
    # Static parameters apply on reboot only; AWS rejects "immediate" for them:
    # https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_WorkingWithParamGroups.html
    preload = parameters["shared_preload_libraries"]
    assert "pg_stat_statements" in preload["value"].split(",")
    assert preload["applyMethod"] == "pending-reboot"
    assert int(parameters["log_min_duration_statement"]["value"]) > 0
    assert "rds.logical_replication" not in parameters
    assert primary_instance(recording).property_dependencies["parameterGroupName"] == [group.urn]


def test_blue_green_enables_logical_replication_and_a_generated_password(
    staging_blue_green: Recording,
) -> None:
    # Blue/green for PostgreSQL replicates logically:
    # https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/blue-green-deployments-creating.html
    parameters = parameters_of(staging_blue_green.one(PARAMETER_GROUP, "database"))
    assert parameters["rds.logical_replication"] == {
        "name": "rds.logical_replication",
        "value": "1",
        "applyMethod": "pending-reboot",
    }
    primary = primary_instance(staging_blue_green)
    assert primary.inputs["blueGreenUpdate"] == {"enabled": True}
    # No managed master password in a blue/green deployment (rds-secrets-manager-limitations, above).
    assert "manageMasterUserPassword" not in primary.inputs
    assert is_secret(primary.inputs["passwordWo"])
    assert staging_blue_green.one(SECRET, "database-master").inputs["name"] == "staging/database/master"


def test_prod_replica_follows_the_primary(prod: Recording) -> None:
    [replica] = _replicas(prod)
    primary = primary_instance(prod)
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
    # Multi-AZ like its primary (AWS's RDS.5 judges read replicas too).
    assert inputs["multiAz"] is primary.inputs["multiAz"] is True
    # CreateDBInstanceReadReplica takes no DatabaseInsightsMode:
    # https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBInstanceReadReplica.html
    assert "databaseInsightsMode" not in inputs
    assert replica.protect is True


def test_staging_has_no_replica(staging: Recording) -> None:
    assert _replicas(staging) == []
    assert len(staging.of_type(INSTANCE)) == 1


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
    isolated = {
        r.urn for r in prod.of_type("aws:ec2/subnet:Subnet") if r.name.startswith("network-isolated-")
    }
    assert set(proxy.property_dependencies["vpcSubnetIds"]) == isolated
    target = prod.one(PROXY_TARGET)
    assert target.property_dependencies["dbProxyName"] == [proxy.urn]
    assert target.property_dependencies["dbInstanceIdentifier"] == [primary_instance(prod).urn]


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


def test_prod_alarms_on_connections_failing_at_the_proxy(prod: Recording, staging: Recording) -> None:
    [proxy] = prod.of_type(PROXY)
    for suffix, metric in (
        ("auth-failures", "ClientConnectionsSetupFailedAuth"),
        ("connect-failures", "DatabaseConnectionsSetupFailed"),
    ):
        alarm = prod.one(ALARM, f"database-proxy-{suffix}")
        inputs = alarm.inputs
        assert (inputs["namespace"], inputs["metricName"], inputs["statistic"]) == ("AWS/RDS", metric, "Sum")
        assert (inputs["comparisonOperator"], inputs["threshold"]) == ("GreaterThanThreshold", 0)
        # No attempt is no data, not an outage: RDS publishes proxy metrics once connections happen.
        assert inputs["treatMissingData"] == "notBreaching"
        assert inputs["dimensions"] == {"ProxyName": proxy.inputs["name"]}
        assert alarm.property_dependencies["dimensions"] == [proxy.urn]
        assert f"runbooks/database-proxy-{suffix}.md" in inputs["alarmDescription"]
    # Staging's apps connect to the instance: no proxy, so nothing to watch there.
    assert not [name for name in alarm_names(staging, "database-") if name.startswith("proxy-")]


def test_staging_burstable_database_watches_cpu_credits(staging: Recording, prod: Recording) -> None:
    assert "cpu-credits" in alarm_names(staging, "database-")
    assert "cpu-credits" not in alarm_names(prod, "database-")
    assert not [n for n in alarm_names(staging, "cache-") if n.endswith("replication-lag")]


@pytest.mark.parametrize("stack", STACKS)
def test_free_storage_threshold_is_ten_percent_of_allocated(
    stack: str, request: pytest.FixtureRequest
) -> None:
    recording = recording_of(request, stack)
    allocated = primary_instance(recording).inputs["allocatedStorage"]
    alarm = recording.one(ALARM, "database-free-storage")
    assert alarm.inputs["threshold"] == pytest.approx(allocated * 2**30 * 0.1)
    if stack == "prod":
        assert alarm.inputs["threshold"] == pytest.approx(200 * 2**30 * 0.1)


# --- one failing case per rule (tests/stack_config.py checks its path and hint) -----------------------------

RULE_CASES = [
    case("prod", section("paved:database", {"multiAz": "yes"}), "paved:database.multiAz", "bool-not-text"),
    case("prod", section("paved:database", {"multiAz": 1}), "paved:database.multiAz", "bool-not-number"),
    case(
        "staging",
        section("paved:database", {"instanceClass": "r7g.large"}),
        "paved:database.instanceClass",
        "db-class",
    ),
    case(
        "staging",
        section("paved:database", {"engineVersion": "latest"}),
        "paved:database.engineVersion",
        "db-engine",
    ),
    case(
        "staging",
        section("paved:database", {"allocatedStorage": 10}),
        "paved:database.allocatedStorage",
        "db-storage-min",
    ),
    case(
        "staging",
        section("paved:database", {"allocatedStorage": 500, "maxAllocatedStorage": 100}),
        "paved:database.maxAllocatedStorage",
        "db-storage-can-grow",
    ),
    case(
        "prod",
        section("paved:database", {"backupRetentionDays": 40}),
        "paved:database.backupRetentionDays",
        "db-backup-max",
    ),
    case(
        "prod", section("paved:database", {"readReplicas": 6}), "paved:database.readReplicas", "db-replicas"
    ),
    case("prod", section("paved:database", {"multiAz": False}), "paved:database.multiAz", "prod-db-multi-az"),
    case(
        "prod",
        section("paved:database", {"deletionProtection": False}),
        "paved:database.deletionProtection",
        "prod-db-deletion-protection",
    ),
    case(
        "prod",
        section("paved:database", {"alarms": {"cpuPercent": {"threshold": 101}}}),
        "paved:database.alarms.cpuPercent",
        "db-alarm-percent",
    ),
    case(
        "prod",
        section("paved:database", {"alarms": {"freeStoragePercent": {"threshold": 60}}}),
        "paved:database.alarms.freeStoragePercent",
        "db-alarm-free-share",
    ),
    case(
        "prod",
        section("paved:database", {"alarms": {"readLatencyMs": {"periods": 100, "periodSeconds": 900}}}),
        "paved:database.alarms.readLatencyMs",
        "db-alarm-window",
    ),
    case(
        "prod",
        section("paved:database", {"alarms": {"connectionFailures": {"periodSeconds": 30}}}),
        "paved:database.alarms.connectionFailures.periodSeconds",
        "db-alarm-period",
    ),
]


@pytest.mark.parametrize(("stack", "mutation", "path"), RULE_CASES)
def test_rule_reports_path_and_hint(stack: str, mutation: Mutation, path: str) -> None:
    assert_rule_reports_path_and_hint(stack, mutation, path)


@pytest.mark.parametrize("stack", STACKS)
def test_rds_events_of_the_stacks_own_instances_reach_the_alerts_topic(
    request: pytest.FixtureRequest, stack: str
) -> None:
    recording = recording_of(request, stack)
    subscription = recording.one("aws:rds/eventSubscription:EventSubscription", "database")
    instances = recording.of_type(INSTANCE)
    # Only the stack's own instances: a restore drill's instance (paved drill restore) pages no one.
    assert sorted(subscription.inputs["sourceIds"]) == sorted(i.inputs["identifier"] for i in instances)
    assert subscription.inputs["sourceType"] == "db-instance"
    # Categories of db-instance events: https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_Events.Messages.html
    assert set(subscription.inputs["eventCategories"]) == {
        "failover",
        "failure",
        "low storage",
        "maintenance",
    }
    topic = recording.one("aws:sns/topic:Topic", "alerts")
    assert subscription.property_dependencies["snsTopic"] == [topic.urn]
    assert recording.one("aws:sns/topicPolicy:TopicPolicy", "alerts").urn in subscription.dependencies
    # That the topic policy and key admit RDS for these instances: tests/test_wiring_flows.py
    # (database-events->alerts).


def test_prod_alarms_when_no_restore_drill_succeeded_in_a_week(prod: Recording, staging: Recording) -> None:
    alarm = prod.one(ALARM, "database-restore-drill")
    # What paved drill restore reports (tests/test_drill_restore.py reads it back from CloudWatch).
    assert (alarm.inputs["namespace"], alarm.inputs["metricName"]) == (DRILL_METRIC_NAMESPACE, "Success")
    assert alarm.inputs["dimensions"] == {"Stack": "prod", "DBInstance": "paved-prod-database"}
    # Seven one-day periods: the most CloudWatch evaluates for periods of an hour or more. A day with no
    # drill reported is a day without a success.
    assert (alarm.inputs["period"], alarm.inputs["evaluationPeriods"], alarm.inputs["datapointsToAlarm"]) == (
        86_400,
        7,
        7,
    )
    assert alarm.inputs["period"] * alarm.inputs["evaluationPeriods"] <= 7 * 86_400
    assert (alarm.inputs["comparisonOperator"], alarm.inputs["threshold"]) == ("LessThanThreshold", 1)
    assert (alarm.inputs["statistic"], alarm.inputs["treatMissingData"]) == ("Maximum", "breaching")
    assert "database-restore-drill" not in {a.name for a in staging.of_type(ALARM)}


@pytest.mark.parametrize("days", [0, 8])
def test_a_drill_age_cloudwatch_cannot_evaluate_is_refused(days: int) -> None:
    raw = changed("prod", {"paved:database": {"alarms": {"restoreDrillMaxAgeDays": days}}})
    assert "paved:database.alarms.restoreDrillMaxAgeDays" in problem_paths(raw, "prod")


def test_an_alarm_threshold_out_of_its_unit_says_the_range_and_what_it_means() -> None:
    raw = changed("prod", {"paved:database": {"alarms": {"connectionsPercent": {"threshold": 5}}}})
    [problem] = problems_of(raw, "prod")
    assert problem == (
        "paved:database.alarms.connectionsPercent",
        "threshold must be 10 to 100, got 5",
        "alarm when connections exceed this share of max_connections; use a threshold of 10 to 100",
    )
