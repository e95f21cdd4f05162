"""KMS key rules."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from paved_policies import iam
from paved_policies.props import get_bool, get_str, get_text, has_value
from paved_policies.rule import (
    Finding,
    ResourceContext,
    StackContext,
    compliant,
    not_applicable,
    resource_rule,
    stack_rule,
    violation,
)

KMS_KEY = "aws:kms/key:Key"
KEY_POLICY = "aws:kms/keyPolicy:KeyPolicy"
# Every kind of key that takes a key policy of its own.
KEYS = (
    KMS_KEY,
    "aws:kms/replicaKey:ReplicaKey",
    "aws:kms/externalKey:ExternalKey",
    "aws:kms/replicaExternalKey:ReplicaExternalKey",
)

SYMMETRIC_DEFAULT = "SYMMETRIC_DEFAULT"


def _rotation_unsupported_reason(props: Mapping[str, Any]) -> str | None:
    """Why AWS cannot rotate this key automatically, if it cannot.

    Automatic rotation exists only for symmetric encryption keys whose material KMS generated and
    holds: not asymmetric or HMAC keys, nor keys in custom (CloudHSM/external) key stores.
    https://docs.aws.amazon.com/kms/latest/developerguide/rotate-keys.html
    """
    # pulumi-aws calls it customerMasterKeySpec; the KMS API and other SDKs call it KeySpec.
    spec = get_text(props, "customerMasterKeySpec") or get_text(props, "keySpec") or SYMMETRIC_DEFAULT
    if spec != SYMMETRIC_DEFAULT:
        return f"{spec} keys cannot be rotated automatically"
    if get_text(props, "customKeyStoreId") or get_text(props, "xksKeyId"):
        return "keys in a custom key store cannot be rotated automatically"
    return None


@resource_rule(
    name="kms-key-rotation-enabled",
    description="Symmetric KMS keys have automatic key rotation enabled.",
    severity="medium",
    remediation="Set enable_key_rotation=True (optionally rotation_period_in_days) on the key.",
    resource_types=(KMS_KEY,),
    checkov=("CKV_AWS_7",),
    cdk_nag=("AwsSolutions-KMS5",),
    url="https://docs.aws.amazon.com/kms/latest/developerguide/rotate-keys.html",
)
def kms_key_rotation_enabled(props: Mapping[str, Any], ctx: ResourceContext) -> Finding:
    reason = _rotation_unsupported_reason(props)
    if reason:
        return not_applicable(reason)
    if get_bool(props, "enableKeyRotation") is True:
        return compliant()
    return violation(f"KMS key '{ctx.name}' does not have enableKeyRotation set to true.")


@resource_rule(
    name="kms-key-policy-no-wildcard-principal",
    description=(
        "KMS key policies are not public: an Allow to any principal ('*', a wildcard, NotPrincipal) is "
        "pinned by a condition to fixed accounts, organizations or sources."
    ),
    severity="critical",
    remediation=(
        "Name specific principals (the account root, roles, service principals) in the key policy's Allow "
        "statements. Where '*' is needed, add a condition with fixed values that confines it, such as "
        "StringEquals kms:CallerAccount, aws:PrincipalOrgID or aws:SourceAccount; a condition on "
        "aws:SecureTransport, a negated operator, an ...IfExists operator, a wildcard or a ${} variable "
        "confines nothing."
    ),
    resource_types=(*KEYS, KEY_POLICY),
    checkov=("CKV_AWS_33",),
    fsbp=("KMS.5",),
    url="https://docs.aws.amazon.com/config/latest/developerguide/kms-key-policy-no-public-access.html",
)
def kms_key_policy_no_wildcard_principal(props: Mapping[str, Any], ctx: ResourceContext) -> Finding:
    text = get_str(props, "policy")
    if not text or not text.strip():
        if ctx.resource_type == KEY_POLICY:
            return violation(f"Key policy '{ctx.name}' is empty.")
        if ctx.resource_type == KMS_KEY:
            return not_applicable(
                f"KMS key '{ctx.name}' has no inline policy (see kms-key-has-explicit-policy)."
            )
        # Replica and external keys without one get KMS's default key policy, the account alone:
        # https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html
        return not_applicable(f"KMS key '{ctx.name}' has no inline policy: KMS gives it the default one.")
    doc = iam.parse_document(text)
    if doc is None:
        return violation(f"KMS key '{ctx.name}' policy is not a JSON object.")
    public = iam.public_grant(doc)
    if public is None:
        return compliant()
    return violation(f"KMS key '{ctx.name}' policy {public}.")


@stack_rule(
    name="kms-key-has-explicit-policy",
    description="KMS keys have an explicit key policy, inline or as a separate aws.kms.KeyPolicy resource.",
    severity="medium",
    remediation=(
        "Set the key's policy, or declare an aws.kms.KeyPolicy for it (needed when the policy names a "
        "resource that depends on the key, such as a CloudFront distribution reading an encrypted bucket)."
    ),
    resource_types=(KMS_KEY,),
    checkov=("CKV2_AWS_64",),
    url="https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html",
)
def kms_key_has_explicit_policy(props: Mapping[str, Any], ctx: StackContext) -> Finding:
    # Correlated through the keyId property dependency, so it holds while the key ID is still unknown.
    if has_value(props, "policy") or ctx.referrers("keyId", (KEY_POLICY,)):
        return compliant()
    return violation(f"KMS key '{ctx.name}' has no explicit key policy; KMS would apply its default one.")


RULES = (kms_key_rotation_enabled, kms_key_policy_no_wildcard_principal, kms_key_has_explicit_policy)
