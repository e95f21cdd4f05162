"""AWS Backup for the database: a locked vault, daily and weekly snapshots copied to the DR region, and
restore tests that actually restore a snapshot on a schedule.

RDS's own automated backups give point-in-time recovery (RPO ≤ 5 minutes) for `backupRetentionDays`. AWS
Backup adds what they lack: snapshots kept longer than 35 days, copies in a second region that a vault lock
keeps from early deletion, and proof that a restore works. Its rules take snapshots only: a continuous
(PITR) rule would make AWS Backup manage the instance's backup retention, which paved sets itself.
https://docs.aws.amazon.com/aws-backup/latest/devguide/point-in-time-recovery.html
"""

import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Annotated

import pulumi
import pulumi_aws as aws
from pydantic import Field

from components.iam import GrantedRole, service_role
from components.observability import Alerting
from paved.errors import ConfigProblem, Hint
from paved.fields import ConfigModel, RuleContext

# After the preset RDS backup window (02:00-03:00 UTC) and before the maintenance windows, so a snapshot
# never waits on the automated backup. Cron expressions are UTC.
_DAILY = "cron(0 5 ? * * *)"
_WEEKLY = "cron(0 5 ? * SUN *)"
_RESTORE_TEST = "cron(0 9 ? * MON *)"  # Monday morning, so a failed restore test is seen in working hours
# AWS Backup's job events and the states that mean a job did not do its work. Backup and copy jobs report
# `state`, restore jobs `status` (the API's member names); restore tests' restores are restore jobs too.
# https://docs.aws.amazon.com/aws-backup/latest/devguide/eventbridge.html
_FAILED_JOBS = (
    ("backup-job-failed", "Backup Job State Change", "state", ("FAILED", "ABORTED", "EXPIRED", "PARTIAL")),
    ("copy-job-failed", "Copy Job State Change", "state", ("FAILED", "PARTIAL")),
    ("restore-job-failed", "Restore Job State Change", "status", ("FAILED", "ABORTED")),
)
# A daily job starts within the start window and ends within the completion window after it; `paved verify`
# allows that much past a day for the latest recovery point.
START_WINDOW_MINUTES = 60
COMPLETION_WINDOW_MINUTES = 8 * 60


class BackupArgs(ConfigModel):
    enabled: bool
    vault_min_retention_days: Annotated[
        int, Field(ge=1, le=36500), Hint("AWS Backup vault lock: 1 to 36500 days")
    ]
    vault_max_retention_days: Annotated[
        int, Field(ge=1, le=36500), Hint("AWS Backup vault lock: 1 to 36500 days")
    ]
    daily_retention_days: Annotated[int, Field(ge=1, le=36500)]
    weekly_retention_days: Annotated[int, Field(ge=1, le=36500)]
    dr_copy_retention_days: Annotated[int, Field(ge=1, le=36500)]
    restore_testing: bool

    def violations(self, path: str, ctx: RuleContext) -> Iterator[ConfigProblem]:
        if ctx.is_prod and not self.enabled:
            yield ConfigProblem(
                f"{path}.enabled",
                "prod needs AWS Backup",
                "set enabled: true: it adds locked cross-region copies and tested restores to RDS's PITR",
            )
        if self.restore_testing and not self.enabled:
            yield ConfigProblem(
                f"{path}.restoreTesting",
                "restore testing needs backups",
                "set enabled: true, or restoreTesting: false",
            )
        if self.vault_min_retention_days > self.vault_max_retention_days:
            yield ConfigProblem(
                f"{path}.vaultMinRetentionDays",
                f"must be ≤ vaultMaxRetentionDays ({self.vault_max_retention_days}), "
                f"got {self.vault_min_retention_days}",
                "the vault lock keeps every recovery point between the two bounds",
            )
        # A locked vault fails every backup or copy job whose retention is outside its bounds:
        # https://docs.aws.amazon.com/aws-backup/latest/devguide/vault-lock.html
        for key, days in (
            ("dailyRetentionDays", self.daily_retention_days),
            ("weeklyRetentionDays", self.weekly_retention_days),
            ("drCopyRetentionDays", self.dr_copy_retention_days),
        ):
            if not self.vault_min_retention_days <= days <= self.vault_max_retention_days:
                yield ConfigProblem(
                    f"{path}.{key}",
                    f"{days} days is outside the vault lock's {self.vault_min_retention_days} to "
                    f"{self.vault_max_retention_days} days",
                    "AWS Backup fails jobs whose retention is outside the vault lock; change the retention "
                    "or the lock bounds",
                )


class Backup(pulumi.ComponentResource):
    """Vault (+ lock), DR vault (+ lock), plan, database selection, and the restore-testing plan."""

    vault_arn: pulumi.Output[str]
    dr_vault_arn: pulumi.Output[str] | None
    plan_id: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        args: BackupArgs,
        *,
        database_arn: pulumi.Input[str],
        data_key_arn: pulumi.Input[str],
        dr_provider: aws.Provider | None,
        dr_data_key_arn: pulumi.Input[str] | None,
        vpc_id: pulumi.Input[str],
        restore_subnet_group_name: pulumi.Input[str],
        alerting: Alerting,
        protect: bool,
        tags: Mapping[str, str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("paved:backup:Backup", name, None, opts)
        self._args = args
        self._tags = dict(tags)
        vault = self._locked_vault(name, data_key_arn, pulumi.ResourceOptions(parent=self, protect=protect))
        dr_vault = None
        if dr_provider is not None and dr_data_key_arn is not None:
            dr_vault = self._locked_vault(
                f"{name}-dr",
                dr_data_key_arn,
                pulumi.ResourceOptions(parent=self, provider=dr_provider, protect=protect),
            )
        role = service_role(
            name,
            service="backup.amazonaws.com",
            description="Lets AWS Backup snapshot, copy and test-restore the database",
            managed_policy_arns=[
                "iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup",
                "iam::aws:policy/service-role/AWSBackupServiceRolePolicyForRestores",
            ],
            tags=self._tags,
            parent=self,
        )
        plan = aws.backup.Plan(
            name,
            name=f"{pulumi.get_project()}-{pulumi.get_stack()}-{name}",
            rules=[
                self._rule(
                    "daily", _DAILY, vault, args.daily_retention_days, dr_vault, args.dr_copy_retention_days
                ),
                self._rule(
                    "weekly", _WEEKLY, vault, args.weekly_retention_days, dr_vault, args.weekly_retention_days
                ),
            ],
            tags=self._tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        aws.backup.Selection(
            name,
            name=f"{pulumi.get_stack()}-database",
            plan_id=plan.id,
            iam_role_arn=role.arn,
            resources=[database_arn],
            opts=pulumi.ResourceOptions(parent=self, depends_on=role.ready),
        )
        if args.restore_testing:
            # Restored test instances answer nobody: no ingress, and no egress rules either.
            isolation = aws.ec2.SecurityGroup(
                f"{name}-restore-test",
                vpc_id=vpc_id,
                description="AWS Backup restore tests: no traffic in or out",
                tags={**self._tags, "Name": f"{name}-restore-test"},
                opts=pulumi.ResourceOptions(parent=self),
            )
            self._restore_testing(name, vault, role, database_arn, restore_subnet_group_name, [isolation.id])
        self._failure_alerts(alerting, dr_provider if dr_vault else None)
        self.vault_arn = vault.arn
        self.dr_vault_arn = dr_vault.arn if dr_vault else None
        self.plan_id = plan.id
        self.register_outputs(
            {"vault_arn": self.vault_arn, "dr_vault_arn": self.dr_vault_arn, "plan_id": self.plan_id}
        )

    def _failure_alerts(self, alerting: Alerting, dr_provider: aws.Provider | None) -> None:
        """Failed, aborted, expired and partial jobs reach the alerts topic: from this region, and from the
        DR region (its copies and any restore there) through this region's event bus. AWS Backup delivers
        these events best effort, so `paved verify` checks the latest recovery point's age as well."""
        for rule_name, detail_type, field, states in _FAILED_JOBS:
            pattern = {
                "source": ["aws.backup"],
                "detail-type": [detail_type],
                "detail": {field: list(states)},
            }
            description = f"AWS Backup: {detail_type} to {', '.join(states)}"
            alerting.event_rule(rule_name, description=description, pattern=pattern, parent=self)
            if dr_provider is not None:
                alerting.forwarded_rule(
                    f"{rule_name}-dr",
                    description=f"{description}, in the DR region",
                    pattern=pattern,
                    provider=dr_provider,
                    runbook=rule_name,
                    parent=self,
                )

    def _locked_vault(
        self, name: str, kms_key_arn: pulumi.Input[str], opts: pulumi.ResourceOptions
    ) -> aws.backup.Vault:
        vault = aws.backup.Vault(
            name,
            name=f"{pulumi.get_project()}-{pulumi.get_stack()}-{name}",
            kms_key_arn=kms_key_arn,
            force_destroy=False,
            tags=self._tags,
            opts=opts,
        )
        # Governance mode (no changeable_for_days): recovery points cannot be deleted early or kept outside
        # the bounds, yet a principal with backup:DeleteBackupVaultLockConfiguration can still lift the lock.
        # https://docs.aws.amazon.com/aws-backup/latest/devguide/vault-lock.html
        aws.backup.VaultLockConfiguration(
            name,
            backup_vault_name=vault.name,
            min_retention_days=self._args.vault_min_retention_days,
            max_retention_days=self._args.vault_max_retention_days,
            opts=opts,
        )
        return vault

    def _rule(
        self,
        rule_name: str,
        schedule: str,
        vault: aws.backup.Vault,
        retention_days: int,
        dr_vault: aws.backup.Vault | None,
        dr_retention_days: int,
    ) -> aws.backup.PlanRuleArgs:
        copies = (
            [
                aws.backup.PlanRuleCopyActionArgs(
                    destination_vault_arn=dr_vault.arn,
                    lifecycle=aws.backup.PlanRuleCopyActionLifecycleArgs(delete_after=dr_retention_days),
                )
            ]
            if dr_vault
            else None
        )
        return aws.backup.PlanRuleArgs(
            rule_name=rule_name,
            target_vault_name=vault.name,
            schedule=schedule,
            start_window=START_WINDOW_MINUTES,
            completion_window=COMPLETION_WINDOW_MINUTES,
            lifecycle=aws.backup.PlanRuleLifecycleArgs(delete_after=retention_days),
            copy_actions=copies,
            recovery_point_tags=self._tags,
        )

    def _restore_testing(
        self,
        name: str,
        vault: aws.backup.Vault,
        role: GrantedRole,
        database_arn: pulumi.Input[str],
        subnet_group_name: pulumi.Input[str],
        security_group_ids: Sequence[pulumi.Input[str]],
    ) -> None:
        # Restore-testing names allow letters, digits and underscores only.
        plan_name = f"{pulumi.get_project()}_{pulumi.get_stack()}_{name}".replace("-", "_")
        plan = aws.backup.RestoreTestingPlan(
            f"{name}-restore-test",
            name=plan_name,
            schedule_expression=_RESTORE_TEST,
            start_window_hours=24,
            recovery_point_selection=aws.backup.RestoreTestingPlanRecoveryPointSelectionArgs(
                algorithm="LATEST_WITHIN_WINDOW",
                include_vaults=[vault.arn],
                recovery_point_types=["SNAPSHOT"],
                selection_window_days=7,
            ),
            tags=self._tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        # The inferred restore target is the default VPC, which may not exist; restore into the database's
        # isolated subnet group with a security group that admits nobody.
        # https://docs.aws.amazon.com/aws-backup/latest/devguide/restore-testing-inferred-metadata.html
        aws.backup.RestoreTestingSelection(
            f"{name}-restore-test",
            name="database",
            restore_testing_plan_name=plan.name,
            protected_resource_type="RDS",
            protected_resource_arns=[database_arn],
            iam_role_arn=role.arn,
            restore_metadata_overrides={
                "dbsubnetgroupname": subnet_group_name,
                "vpcSecurityGroupIds": pulumi.Output.all(*security_group_ids).apply(json.dumps),
            },
            validation_window_hours=4,
            opts=pulumi.ResourceOptions(parent=self, depends_on=role.ready),
        )
