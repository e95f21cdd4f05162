"""AWS Backup (components/backup.py), run per stack under first-preview semantics."""

from __future__ import annotations

import json
import re

import botocore.session

from paved.recorder import Recording
from tests.data_tier import (
    EGRESS,
    INGRESS,
    PLAN,
    RESTORE_PLAN,
    RESTORE_SELECTION,
    SECURITY_GROUP,
    SELECTION,
    SUBNET_GROUP,
    VAULT,
    VAULT_LOCK,
    changed,
    key_urn,
    primary_instance,
    problem_paths,
    rules_of,
)

BACKUP_TYPES = (VAULT, VAULT_LOCK, PLAN, SELECTION, RESTORE_PLAN, RESTORE_SELECTION)


def test_prod_vault_is_encrypted_and_locked_in_governance_mode(prod: Recording) -> None:
    vault = prod.one(VAULT, "backup")
    assert vault.property_dependencies["kmsKeyArn"] == [key_urn(prod, "data")]
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
    assert selection.property_dependencies["resources"] == [primary_instance(prod).urn]
    assert selection.property_dependencies["planId"] == [prod.one(PLAN).urn]


def test_prod_restore_tests_land_in_an_isolated_group(prod: Recording) -> None:
    plan = prod.one(RESTORE_PLAN)
    # Restore testing plan names allow letters, digits and underscores only.
    assert re.fullmatch(r"[A-Za-z0-9_]+", plan.inputs["name"])
    selection = prod.one(RESTORE_SELECTION)
    assert selection.inputs["protectedResourceType"] == "RDS"
    assert selection.property_dependencies["protectedResourceArns"] == [primary_instance(prod).urn]
    # The inferred target is the default VPC, which may not exist:
    # https://docs.aws.amazon.com/aws-backup/latest/devguide/restore-testing-inferred-metadata.html
    assert set(selection.inputs["restoreMetadataOverrides"]) == {"dbsubnetgroupname", "vpcSecurityGroupIds"}
    isolation = prod.one(SECURITY_GROUP, "backup-restore-test")
    assert set(selection.property_dependencies["restoreMetadataOverrides"]) == {
        prod.one(SUBNET_GROUP, "database").urn,
        isolation.urn,
    }
    assert not isolation.inputs.get("ingress") and not isolation.inputs.get("egress")
    assert rules_of(prod, INGRESS, "backup-restore-test") == []
    assert rules_of(prod, EGRESS, "backup-restore-test") == []


def test_staging_has_no_backup_resources(staging: Recording) -> None:
    assert not [r.type for r in staging.resources if r.type in BACKUP_TYPES]
    assert staging.stack_outputs.get("backup_vault_arn") is None


def test_backup_retention_outside_the_vault_lock_is_rejected() -> None:
    raw = changed("prod", {"paved:backup": {"dailyRetentionDays": 500}})
    assert "paved:backup.dailyRetentionDays" in problem_paths(raw, "prod")


def test_prod_cannot_disable_backup() -> None:
    raw = changed("prod", {"paved:backup": {"enabled": False, "restoreTesting": False}})
    assert problem_paths(raw, "prod") == {"paved:backup.enabled"}


RULE = "aws:cloudwatch/eventRule:EventRule"
TARGET = "aws:cloudwatch/eventTarget:EventTarget"
# AWS Backup's job events: backup and copy jobs report `state`, restore jobs `status`, each from the API's
# enum of that name (botocore backup 2018-11-15).
# https://docs.aws.amazon.com/aws-backup/latest/devguide/eventbridge.html
FAILED_JOB_PATTERNS = {
    "backup-job-failed": (
        "Backup Job State Change",
        "state",
        "BackupJobState",
        {"FAILED", "ABORTED", "EXPIRED", "PARTIAL"},
    ),
    "copy-job-failed": ("Copy Job State Change", "state", "CopyJobState", {"FAILED", "PARTIAL"}),
    "restore-job-failed": ("Restore Job State Change", "status", "RestoreJobStatus", {"FAILED", "ABORTED"}),
}


def test_failed_backup_copy_and_restore_jobs_reach_the_alerts_topic(prod: Recording) -> None:
    model = botocore.session.get_session().get_service_model("backup")
    topic = prod.one("aws:sns/topic:Topic", "alerts")
    policy = prod.one("aws:sns/topicPolicy:TopicPolicy", "alerts")
    for name, (detail_type, field, enum, states) in FAILED_JOB_PATTERNS.items():
        rule = prod.one(RULE, name)
        assert rule.inputs["name"] == f"prod-{name}"
        pattern = json.loads(rule.inputs["eventPattern"])
        assert (pattern["source"], pattern["detail-type"], list(pattern["detail"])) == (
            ["aws.backup"],
            [detail_type],
            [field],
        )
        assert set(pattern["detail"][field]) == states
        assert states <= set(model.shape_for(enum).enum)
        target = prod.one(TARGET, name)
        assert target.property_dependencies["arn"] == [topic.urn]
        assert target.property_dependencies["rule"] == [rule.urn]
        # The topic policy admits the rule before its first event.
        assert policy.urn in target.dependencies
        assert "::default_" in rule.provider


def test_the_dr_region_forwards_the_same_failures_to_the_alerts_region(prod: Recording) -> None:
    for name in FAILED_JOB_PATTERNS:
        here, there = prod.one(RULE, name), prod.one(RULE, f"{name}-dr")
        assert "dr" in there.provider
        assert json.loads(there.inputs["eventPattern"]) == json.loads(here.inputs["eventPattern"])
        target = prod.one(TARGET, f"{name}-dr")
        # An SNS target must be in its rule's region; an event bus in another region need not be.
        assert target.inputs["arn"] == "arn:aws:events:eu-west-1:123456789012:event-bus/default"
        role = prod.one("aws:iam/role:Role", f"{name}-dr")
        assert target.property_dependencies["roleArn"] == [role.urn]
        [statement] = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
        assert statement["Principal"] == {"Service": "events.amazonaws.com"}
        assert statement["Condition"]["ArnLike"]["aws:SourceArn"].endswith(f":rule/prod-{name}-dr")
        inline = prod.one("aws:iam/rolePolicy:RolePolicy", f"{name}-dr")
        assert json.loads(inline.inputs["policy"])["Statement"] == [
            {"Effect": "Allow", "Action": "events:PutEvents", "Resource": target.inputs["arn"]}
        ]
        assert inline.urn in target.dependencies


def test_staging_without_backups_has_no_backup_event_rules(staging: Recording) -> None:
    assert not [
        rule for rule in staging.of_type(RULE) if rule.name.removesuffix("-dr") in FAILED_JOB_PATTERNS
    ]
