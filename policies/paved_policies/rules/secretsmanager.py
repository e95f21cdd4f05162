"""Secrets Manager rules."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from paved_policies.props import any_of, get_bool, get_int, get_map, get_text, has_value, problems_found
from paved_policies.rule import (
    Finding,
    GraphResource,
    ResourceContext,
    StackContext,
    compliant,
    not_applicable,
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
# SecretsManager.4's maxDaysSinceRotation as Security Hub sets it:
# https://docs.aws.amazon.com/securityhub/latest/userguide/secretsmanager-controls.html#secretsmanager-4
MAX_ROTATION_DAYS = 90


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


def _rotations(ctx: StackContext) -> Sequence[GraphResource]:
    """The secret's SecretRotations: those whose secretId came from this secret."""
    return ctx.referrers("secretId", (SECRET_ROTATION,))


def _rotates(rotation: GraphResource) -> bool:
    # rotationEnabled=false turns off a rotation AWS set up (an RDS-managed secret's); left unset, rotation
    # is on when rotationRules are given (pulumi-aws's SecretRotation docs).
    enabled = get_bool(rotation.props, "rotationEnabled")
    return enabled is True or (enabled is None and has_value(rotation.props, "rotationRules"))


@stack_rule(
    name="secretsmanager-rotation",
    description=(
        f"Secrets Manager secrets rotate automatically, or carry a '{ROTATION_TAG}' tag saying how they "
        "are rotated instead."
    ),
    severity="medium",
    remediation=(
        "Create an aws.secretsmanager.SecretRotation with secret_id=<the secret>.id and rotation_rules "
        "(a rotation Lambda, or a managed rotation), without rotation_enabled=False. Where a Lambda does "
        f"not fit, tag the secret '{ROTATION_TAG}' with how it is rotated (e.g. 'version-bump')."
    ),
    resource_types=(SECRET,),
    checkov=("CKV2_AWS_57",),
    cdk_nag=("AwsSolutions-SMG4", "SecretsManagerRotationEnabled"),
    # Advisory: paved's own generated secrets rotate by a version bump, not a rotation Lambda. For the same
    # reason this is not FSBP SecretsManager.1, which only counts automatic rotation (the catalogue says so).
    enforcement="advisory",
    url="https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotating-secrets.html",
)
def secretsmanager_rotation(props: Mapping[str, Any], ctx: StackContext) -> Finding:
    if any_of(_rotations(ctx), _rotates):
        return compliant()
    # `tags` first: `tagsAll` (provider default tags merged in) may still be unknown in preview.
    for key in ("tags", "tagsAll"):
        value = get_map(props, key).get(ROTATION_TAG)
        if isinstance(value, str) and value.strip():
            return compliant()
    return violation(
        f"Secret '{ctx.name}' has no {SECRET_ROTATION} turning rotation on (secretId from this secret, "
        f"rotationRules set, rotationEnabled not false) and no '{ROTATION_TAG}' tag."
    )


_RATE = re.compile(r"rate\(\s*(\d+)\s+(hour|hours|day|days)\s*\)", re.IGNORECASE)
_CRON = re.compile(r"cron\((.*)\)", re.IGNORECASE | re.DOTALL)
# A cron schedule that fires in every month of every year, on a day of the month or a weekday every month
# has, is at most 62 days apart (a 31st, say, skips the short months). Secrets Manager's cron fields:
# minutes hours day-of-month month day-of-week year.
# https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotate-secrets_schedule.html
_MONTHLY_CRON_BOUND_DAYS = 62


def _longest_gap_days(expression: str) -> float | None:
    """The most days a schedule expression leaves between rotations; None where the pack can't bound it."""
    rate = _RATE.fullmatch(expression)
    if rate:
        count = int(rate.group(1))
        return count / 24 if rate.group(2).lower().startswith("hour") else float(count)
    cron = _CRON.fullmatch(expression)
    if cron:
        fields = cron.group(1).split()
        # `#5` (a fifth weekday) exists only in some months.
        if len(fields) == 6 and fields[3] == "*" and fields[5] == "*" and "#5" not in fields[4]:
            return float(_MONTHLY_CRON_BOUND_DAYS)
    return None


def _interval_problem(rotation: GraphResource) -> str | None:
    rules = get_map(rotation.props, "rotationRules")
    days = get_int(rules, "automaticallyAfterDays")
    if days is not None:
        return None if days <= MAX_ROTATION_DAYS else f"'{rotation.name}' rotates every {days} days"
    expression = get_text(rules, "scheduleExpression")
    if expression is None:
        return f"'{rotation.name}' sets neither automaticallyAfterDays nor scheduleExpression"
    gap = _longest_gap_days(expression)
    if gap is None:
        return (
            f"'{rotation.name}' rotates on '{expression}', which the pack cannot bound (it reads rate() "
            "and cron() schedules that fire every month)"
        )
    return None if gap <= MAX_ROTATION_DAYS else f"'{rotation.name}' rotates on '{expression}'"


@stack_rule(
    name="secretsmanager-rotation-interval",
    description=(
        f"Secrets Manager secrets that rotate automatically do so at least every {MAX_ROTATION_DAYS} days."
    ),
    severity="medium",
    remediation=(
        f"Set the SecretRotation's rotation_rules to automatically_after_days <= {MAX_ROTATION_DAYS}, or a "
        f"schedule_expression such as rate(30 days) or a monthly cron()."
    ),
    resource_types=(SECRET,),
    fsbp=("SecretsManager.4",),
    url="https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotate-secrets_schedule.html",
)
def secretsmanager_rotation_interval(props: Mapping[str, Any], ctx: StackContext) -> Finding:
    rotations = [rotation for rotation in _rotations(ctx) if _rotates(rotation)]
    if not rotations:
        return not_applicable(
            f"Secret '{ctx.name}' does not rotate automatically (secretsmanager-rotation judges that)."
        )
    problems = problems_found(
        [lambda rotation=rotation: _interval_problem(rotation) for rotation in rotations]
    )
    if not problems:
        return compliant()
    return violation(
        f"Secret '{ctx.name}' must rotate at least every {MAX_ROTATION_DAYS} days: "
        + "; ".join(problems)
        + "."
    )


RULES = (secretsmanager_cmk, secretsmanager_rotation, secretsmanager_rotation_interval)
