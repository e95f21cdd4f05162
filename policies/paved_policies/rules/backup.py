"""AWS Backup vault rules."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from paved_policies.props import has_value
from paved_policies.rule import (
    Finding,
    ResourceContext,
    StackContext,
    compliant,
    resource_rule,
    stack_rule,
    violation,
)

VAULT = "aws:backup/vault:Vault"
VAULT_LOCK = "aws:backup/vaultLockConfiguration:VaultLockConfiguration"


@resource_rule(
    name="backup-vault-cmk",
    description="AWS Backup vaults encrypt recovery points with a customer managed KMS key.",
    severity="medium",
    remediation=(
        "Set kms_key_arn to a customer managed KMS key (in the vault's region); it cannot be changed "
        "after the vault is created."
    ),
    resource_types=(VAULT,),
    checkov=("CKV_AWS_166",),
    url="https://docs.aws.amazon.com/aws-backup/latest/devguide/encryption.html",
)
def backup_vault_cmk(props: Mapping[str, Any], ctx: ResourceContext) -> Finding:
    if has_value(props, "kmsKeyArn"):
        return compliant()
    return violation(
        f"Backup vault '{ctx.name}' has no kmsKeyArn, so it uses the AWS managed aws/backup key."
    )


@stack_rule(
    name="backup-vault-locked",
    description="Every AWS Backup vault has a Vault Lock, so recovery points cannot be deleted early.",
    severity="medium",
    remediation=(
        "Create an aws.backup.VaultLockConfiguration with backup_vault_name=<the vault>.name and "
        "min_retention_days / max_retention_days (add changeable_for_days for compliance mode). Pass "
        "the vault's name output, not a literal name, so the dependency is recorded."
    ),
    resource_types=(VAULT,),
    # Neither checkov nor cdk-nag checks Vault Lock.
    url="https://docs.aws.amazon.com/aws-backup/latest/devguide/vault-lock.html",
)
def backup_vault_locked(props: Mapping[str, Any], ctx: StackContext) -> Finding:
    if ctx.referrers("backupVaultName", (VAULT_LOCK,)):
        return compliant()
    return violation(f"Backup vault '{ctx.name}' has no {VAULT_LOCK} whose backupVaultName is this vault.")


RULES = (backup_vault_cmk, backup_vault_locked)
