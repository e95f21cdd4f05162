"""SNS rules."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from paved_policies import iam
from paved_policies.props import get, has_value
from paved_policies.rule import Finding, ResourceContext, compliant, resource_rule, violation

TOPIC = "aws:sns/topic:Topic"
TOPIC_POLICY = "aws:sns/topicPolicy:TopicPolicy"


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


@resource_rule(
    name="sns-topic-policy-not-public",
    description=(
        "SNS topic access policies are not public: an Allow to any principal is pinned by a condition to "
        "fixed accounts, organizations or sources."
    ),
    severity="critical",
    remediation=(
        "Name the accounts, roles or service principals that may use the topic in its policy (the topic's "
        "`policy` or an aws.sns.TopicPolicy). Where a statement must name '*', confine it with a condition "
        "with fixed values, such as StringEquals aws:SourceAccount / AWS:SourceOwner or aws:PrincipalOrgID, "
        "or ArnEquals aws:SourceArn."
    ),
    resource_types=(TOPIC, TOPIC_POLICY),
    fsbp=("SNS.4",),
    url="https://docs.aws.amazon.com/sns/latest/dg/sns-security-best-practices.html",
)
def sns_topic_policy_not_public(props: Mapping[str, Any], ctx: ResourceContext) -> Finding:
    value = get(props, "policy")
    if ctx.resource_type == TOPIC and not (value.strip() if isinstance(value, str) else value):
        # SNS's default topic policy admits the owner account alone (an AWS:SourceOwner condition):
        # https://docs.aws.amazon.com/sns/latest/dg/sns-access-policy-use-cases.html
        return compliant()
    doc = iam.document(value)
    if doc is None:
        return violation(f"SNS topic policy of '{ctx.name}' is not a JSON object.")
    public = iam.public_grant(doc)
    if public is None:
        return compliant()
    return violation(f"SNS topic policy of '{ctx.name}' {public}.")


RULES = (sns_topic_encrypted, sns_topic_policy_not_public)
