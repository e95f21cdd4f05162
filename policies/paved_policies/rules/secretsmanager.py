"""Secrets Manager rules."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from paved_policies.props import get_map, has_value
from paved_policies.rule import (
    Finding,
    ResourceContext,
    StackContext,
    compliant,
    resource_rule,
    stack_rule,
    violation,
)

SECRET = "aws:secretsmanager/secret:Secret"
SECRET_ROTATION = "aws:secretsmanager/secretRotation:SecretRotation"

# A secret that cannot use a rotation Lambda says how it is rotated instead, e.g.
# `paved:rotation: version-bump` (paved's generated secrets rotate when their version is raised) or
# `paved:rotation: rds-managed`. Any non-blank value counts: the tag is a reviewed, greppable
# exception, not a second rotation mechanism the pack could verify.
ROTATION_TAG = "paved:rotation"


@resource_rule(
    name="secretsmanager-cmk",
    description="Secrets Manager secrets are encrypted with a customer managed KMS key.",
    severity="medium",
    remediation=(
        "Set kms_key_id to a customer managed KMS key whose key policy lets the secret's readers "
        "decrypt through secretsmanager.<region>.amazonaws.com (kms:ViaService); give each replica a "
        "key in its region."
    ),
    resource_types=(SECRET,),
    checkov=("CKV_AWS_149",),
    cdk_nag=("SecretsManagerUsingKMSKey",),
    url="https://docs.aws.amazon.com/secretsmanager/latest/userguide/security-encryption.html",
)
def secretsmanager_cmk(props: Mapping[str, Any], ctx: ResourceContext) -> Finding:
    if has_value(props, "kmsKeyId"):
        return compliant()
    return violation(
        f"Secret '{ctx.name}' has no kmsKeyId, so it uses the AWS managed aws/secretsmanager key."
    )


@stack_rule(
    name="secretsmanager-rotation",
    description=(
        f"Secrets Manager secrets rotate automatically, or carry a '{ROTATION_TAG}' tag saying how they "
        "are rotated instead."
    ),
    severity="medium",
    remediation=(
        "Create an aws.secretsmanager.SecretRotation with secret_id=<the secret>.id and rotation_rules "
        "(a rotation Lambda, or a managed rotation). Where a Lambda does not fit, tag the secret "
        f"'{ROTATION_TAG}' with how it is rotated (e.g. 'version-bump')."
    ),
    resource_types=(SECRET,),
    checkov=("CKV2_AWS_57",),
    cdk_nag=("AwsSolutions-SMG4", "SecretsManagerRotationEnabled"),
    # Advisory: paved's own generated secrets rotate by a version bump, not a rotation Lambda.
    enforcement="advisory",
    url="https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotating-secrets.html",
)
def secretsmanager_rotation(props: Mapping[str, Any], ctx: StackContext) -> Finding:
    if ctx.referrers("secretId", (SECRET_ROTATION,)):
        return compliant()
    # `tags` first: `tagsAll` (provider default tags merged in) may still be unknown in preview.
    for key in ("tags", "tagsAll"):
        value = get_map(props, key).get(ROTATION_TAG)
        if isinstance(value, str) and value.strip():
            return compliant()
    return violation(
        f"Secret '{ctx.name}' has no {SECRET_ROTATION} whose secretId is this secret and no "
        f"'{ROTATION_TAG}' tag."
    )


RULES = (secretsmanager_cmk, secretsmanager_rotation)
