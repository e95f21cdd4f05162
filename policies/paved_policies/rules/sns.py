"""SNS rules."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from paved_policies.props import has_value
from paved_policies.rule import Finding, ResourceContext, compliant, resource_rule, violation

TOPIC = "aws:sns/topic:Topic"


@resource_rule(
    name="sns-topic-encrypted",
    description="SNS topics encrypt messages at rest with KMS (server-side encryption).",
    severity="medium",
    remediation=(
        "Set kms_master_key_id to a customer managed KMS key (or 'alias/aws/sns'); the key policy must "
        "let publishing services use it."
    ),
    resource_types=(TOPIC,),
    checkov=("CKV_AWS_26",),
    cdk_nag=("AwsSolutions-SNS2", "SNSEncryptedKMS"),
    url="https://docs.aws.amazon.com/sns/latest/dg/sns-server-side-encryption.html",
)
def sns_topic_encrypted(props: Mapping[str, Any], ctx: ResourceContext) -> Finding:
    if has_value(props, "kmsMasterKeyId"):
        return compliant()
    return violation(f"SNS topic '{ctx.name}' has no kmsMasterKeyId.")


RULES = (sns_topic_encrypted,)
