"""AWS Backup rules: vaults, and what the recovery points of a backup selection are encrypted with."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from paved_policies.props import (
    UNKNOWN,
    get_bool,
    get_flag,
    get_seq,
    get_text,
    has_value,
    peek,
    peek_items,
    problems_found,
)
from paved_policies.rule import (
    Finding,
    GraphResource,
    ResourceContext,
    StackContext,
    compliant,
    provider_props,
    resource_rule,
    stack_rule,
    violation,
)
from paved_policies.rules.ec2 import INSTANCE, VOLUME, ebs_encryption_gaps

VAULT = "aws:backup/vault:Vault"
VAULT_LOCK = "aws:backup/vaultLockConfiguration:VaultLockConfiguration"
SELECTION = "aws:backup/selection:Selection"
RDS_CLUSTER = "aws:rds/cluster:Cluster"
# Recovery points of these keep their source's encryption, so an unencrypted source gives an unencrypted
# recovery point; AWS Backup encrypts every other type it protects with the vault's key (or the type is
# always encrypted at rest): https://docs.aws.amazon.com/aws-backup/latest/devguide/encryption.html
STORAGE_ENCRYPTED = (
    "aws:rds/instance:Instance",
    RDS_CLUSTER,
    "aws:docdb/cluster:Cluster",
    "aws:neptune/cluster:Cluster",
)
REDSHIFT_CLUSTER = "aws:redshift/cluster:Cluster"
INHERITING = (VOLUME, INSTANCE, *STORAGE_ENCRYPTED, REDSHIFT_CLUSTER)
# ARNs of the types whose recovery points are always encrypted (the same page); DynamoDB encrypts every
# table at rest: https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/EncryptionAtRest.html
ALWAYS_ENCRYPTED_ARN = re.compile(
    r"^arn:aws[a-z-]*:(s3|elasticfilesystem|dynamodb|timestream|cloudformation|backup-gateway|ssm-sap):"
)


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


def _unencrypted_source(resource: GraphResource, ctx: StackContext) -> str | None:
    """How a selected resource of the program would give unencrypted recovery points, or None."""
    props = resource.props
    if resource.resource_type in (VOLUME, INSTANCE):
        gaps = ebs_encryption_gaps(resource.resource_type, props, provider_props(resource), ctx)
        return f"'{resource.name}' ({', '.join(gaps)} not set encrypted)" if gaps else None
    if resource.resource_type == REDSHIFT_CLUSTER:
        # pulumi-aws takes Redshift's flag as a string, and documents "Default is `true`": new provisioned
        # clusters are encrypted unless told otherwise.
        encrypted = get_flag(props, "encrypted")
        return f"'{resource.name}' (encrypted set false)" if encrypted is False else None
    encrypted = get_bool(props, "storageEncrypted")
    # pulumi-aws: an Aurora cluster's storageEncrypted defaults to true only in serverless engine mode.
    if encrypted is None and resource.resource_type == RDS_CLUSTER:
        encrypted = (get_text(props, "engineMode") or "").lower() == "serverless"
    return None if encrypted else f"'{resource.name}' (storageEncrypted not set true)"


def _outside_the_program(props: Mapping[str, Any]) -> list[str]:
    """What the selection picks beyond the program's own resources, unless AWS Backup always encrypts it."""
    found = []
    for item in peek_items(get_seq(props, "resources")):
        # An unknown item is an output of a resource of the program, which the dependencies name.
        if item is UNKNOWN or not isinstance(item, str) or ALWAYS_ENCRYPTED_ARN.match(item.strip()):
            continue
        found.append(f"'{item}'")
    tags = peek(lambda: get_seq(props, "selectionTags"))
    if tags is UNKNOWN or tags:
        found.append("every resource carrying its selectionTags")
    return found


@stack_rule(
    name="backup-recovery-point-encrypted",
    description=(
        "Backup selections pick only resources whose recovery points are encrypted: EBS volumes, EC2 "
        "instances and RDS/Aurora/DocumentDB/Neptune/Redshift clusters of the program that are encrypted "
        "themselves, or types AWS Backup always encrypts."
    ),
    severity="medium",
    remediation=(
        "Encrypt what the selection backs up (EBS encrypted=True or EBS encryption by default, "
        "storage_encrypted=True on databases), and list it in resources by its arn output, not by a literal "
        "ARN, a wildcard or selection_tags, so the pack can check it. AWS Backup cannot encrypt the backups "
        "of an unencrypted EBS volume or database: they inherit the source's encryption."
    ),
    resource_types=(SELECTION,),
    fsbp=("Backup.1",),
    url="https://docs.aws.amazon.com/aws-backup/latest/devguide/encryption.html",
)
def backup_recovery_point_encrypted(props: Mapping[str, Any], ctx: StackContext) -> Finding:
    sources = ctx.dependencies("resources", INHERITING)
    unencrypted = problems_found(
        [lambda source=source: _unencrypted_source(source, ctx) for source in sources]
    )
    outside = _outside_the_program(props)
    if not unencrypted and not outside:
        return compliant()
    found = []
    if unencrypted:
        found.append(f"unencrypted {', '.join(unencrypted)}")
    if outside:
        found.append(f"{', '.join(outside)}, whose encryption this program cannot check")
    return violation(f"Backup selection '{ctx.name}' backs up {'; and '.join(found)}.")


RULES = (backup_vault_cmk, backup_vault_locked, backup_recovery_point_encrypted)
