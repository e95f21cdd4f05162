"""Customer managed KMS keys with explicit key policies, and factories for the keys paved needs."""

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import pulumi
import pulumi_aws as aws

# In a key policy "Resource": "*" means "this key", the only resource a key policy can govern:
# https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-overview.html
_THIS_KEY = "*"
# The encryption context SNS gives KMS for a topic's data keys: the topic's ARN.
SNS_TOPIC_CONTEXT = "kms:EncryptionContext:aws:sns:topicArn"
# What a service publishing to an SSE-KMS topic needs of the topic's key.
_PUBLISHER_KEY_ACTIONS = ("kms:Decrypt", "kms:GenerateDataKey*")

# Condition operator -> {condition key: value(s)}, as in an IAM policy's "Condition" block.
Conditions = Mapping[str, Mapping[str, pulumi.Input[str] | Sequence[pulumi.Input[str]]]]


class AwsContext(NamedTuple):
    """Where resources land: the partition, region and account of the provider in use."""

    partition: pulumi.Output[str]
    region: pulumi.Output[str]
    account: pulumi.Output[str]

    @property
    def root_principal(self) -> pulumi.Output[str]:
        return pulumi.Output.concat("arn:", self.partition, ":iam::", self.account, ":root")


def aws_context(opts: pulumi.ResourceOptions | None = None) -> AwsContext:
    """The AwsContext of the provider that resources created with `opts` will use."""
    invoke = pulumi.InvokeOutputOptions(parent=opts.parent, provider=opts.provider) if opts else None
    return AwsContext(
        aws.get_partition_output(opts=invoke).partition,
        aws.get_region_output(opts=invoke).region,
        aws.get_caller_identity_output(opts=invoke).account_id,
    )


def _key_policy(
    root: pulumi.Input[str],
    service_principals: Sequence[pulumi.Input[str]],
    service_actions: Sequence[str],
    service_conditions: Conditions | None,
    extra_statements: Sequence[Mapping[str, Any]],
) -> pulumi.Output[str]:
    # The account root statement lets IAM policies in this account govern the key; without it the key
    # could become unmanageable: https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html
    statements: list[dict[str, Any]] = [
        {
            "Sid": "AccountAdministration",
            "Effect": "Allow",
            "Principal": {"AWS": root},
            "Action": "kms:*",
            "Resource": _THIS_KEY,
        }
    ]
    if service_principals:
        service: dict[str, Any] = {
            "Sid": "ServiceUse",
            "Effect": "Allow",
            "Principal": {"Service": list(service_principals)},
            "Action": list(service_actions),
            "Resource": _THIS_KEY,
        }
        if service_conditions:
            service["Condition"] = service_conditions
        statements.append(service)
    statements.extend(dict(statement) for statement in extra_statements)
    return pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": statements})


class KmsKey(pulumi.ComponentResource):
    """A symmetric key: yearly rotation, 30-day deletion window, alias `alias/paved-<stack>-<name>`.

    The policy lets the account administer the key and grants `service_principals` only `service_actions`,
    under `service_conditions`; `extra_statements` are for principals that are not services (service-linked
    roles). Pass `protect=True` in `opts` to protect the key and its alias.
    """

    key_arn: pulumi.Output[str]
    key_id: pulumi.Output[str]
    alias_name: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        *,
        description: str,
        service_principals: Sequence[pulumi.Input[str]] = (),
        service_actions: Sequence[str] = (),
        service_conditions: Conditions | None = None,
        extra_statements: Sequence[Mapping[str, Any]] = (),
        separate_policy: bool = False,
        tags: Mapping[str, str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        if bool(service_principals) != bool(service_actions):
            raise ValueError(f"KmsKey {name!r}: give service_principals and service_actions together")
        if service_conditions and not service_principals:
            raise ValueError(f"KmsKey {name!r}: service_conditions need service_principals")
        super().__init__("paved:kms:KmsKey", name, None, opts)
        root = aws_context(pulumi.ResourceOptions(parent=self)).root_principal
        # A service statement conditioned on a resource that itself depends on this key (CloudFront reading
        # a KMS-encrypted bucket) would form a cycle; such keys get their policy as a separate resource.
        policy = _key_policy(root, service_principals, service_actions, service_conditions, extra_statements)
        key = aws.kms.Key(
            name,
            description=description,
            enable_key_rotation=True,
            deletion_window_in_days=30,
            policy=None if separate_policy else policy,
            tags=dict(tags),
            opts=pulumi.ResourceOptions(parent=self),
        )
        if separate_policy:
            # Until then AWS applies its default key policy, which is our account statement alone:
            # https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html
            aws.kms.KeyPolicy(
                name,
                key_id=key.key_id,
                policy=policy,
                opts=pulumi.ResourceOptions(parent=self),
            )
        alias = aws.kms.Alias(
            name,
            name=f"alias/paved-{pulumi.get_stack()}-{name}",
            target_key_id=key.key_id,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.key_arn = key.arn
        self.key_id = key.key_id
        self.alias_name = alias.name
        self.register_outputs({"key_arn": self.key_arn, "key_id": self.key_id, "alias_name": self.alias_name})


def logs_key(
    name: str,
    *,
    tags: Mapping[str, str],
    opts: pulumi.ResourceOptions | None = None,
    purpose: str = "",
    log_group: str | None = None,
) -> KmsKey:
    """A key CloudWatch Logs may use for log groups of this account and region only, or for the one named
    `log_group`; `purpose` names what else the key encrypts, through grants or the caller's permissions (as
    `account_key`).

    https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html
    """
    partition, region, account = aws_context(opts)
    groups = f"log-group:{log_group}" if log_group else "*"
    return KmsKey(
        name,
        description=f"paved: encrypts {purpose + ' and ' if purpose else ''}CloudWatch Logs "
        + (f"log group {log_group}" if log_group else "log groups"),
        service_principals=[pulumi.Output.concat("logs.", region, ".amazonaws.com")],
        service_actions=[
            "kms:Encrypt*",
            "kms:Decrypt*",
            "kms:ReEncrypt*",
            "kms:GenerateDataKey*",
            "kms:Describe*",
        ],
        # Logs puts the log group ARN in the encryption context; this keeps the key to our log groups.
        service_conditions={
            "ArnLike": {
                "kms:EncryptionContext:aws:logs:arn": pulumi.Output.concat(
                    "arn:", partition, ":logs:", region, ":", account, ":", groups
                )
            }
        },
        tags=tags,
        opts=opts,
    )


def alerts_key(name: str, *, tags: Mapping[str, str], opts: pulumi.ResourceOptions | None = None) -> KmsKey:
    """A key for the alerts SNS topic that lets this account's publishers use it: CloudWatch alarms,
    EventBridge rules and RDS event subscriptions. Without it SNS cannot encrypt what they publish, and
    the message is dropped without an error anyone sees.

    The AWS managed key aws/sns cannot be used: its policy does not let these services call kms:Decrypt
    and kms:GenerateDataKey*. EventBridge's statement cannot be kept to the account the usual way:
    aws:SourceAccount, aws:SourceArn and aws:SourceOrgID in a key policy are "not supported for
    EventBridge-to-encrypted topics". SNS names the topic in the encryption context of every data key it
    asks for, so the statement admits EventBridge only for this account's topics (and the topic policy only
    for the stack's rules).
    https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services
    """
    partition, region, account = aws_context(opts)
    return KmsKey(
        name,
        description="paved: encrypts the alerts SNS topic",
        service_principals=["cloudwatch.amazonaws.com", "events.rds.amazonaws.com"],
        service_actions=list(_PUBLISHER_KEY_ACTIONS),
        # Confused-deputy guard: only this account's alarms and event subscriptions may use the key.
        service_conditions={"StringEquals": {"aws:SourceAccount": account}},
        extra_statements=[
            {
                "Sid": "EventBridgeRules",
                "Effect": "Allow",
                "Principal": {"Service": "events.amazonaws.com"},
                "Action": list(_PUBLISHER_KEY_ACTIONS),
                "Resource": _THIS_KEY,
                "Condition": {
                    "ArnLike": {
                        SNS_TOPIC_CONTEXT: pulumi.Output.format(
                            "arn:{0}:sns:{1}:{2}:*", partition, region, account
                        )
                    }
                },
            }
        ],
        tags=tags,
        opts=opts,
    )


def account_key(
    name: str, *, purpose: str, tags: Mapping[str, str], opts: pulumi.ResourceOptions | None = None
) -> KmsKey:
    """A key that AWS services use on this account's behalf: RDS, Performance Insights, ElastiCache,
    AWS Backup and Secrets Manager all work through grants or the caller's permissions, which the account
    statement allows, so no service principal needs a statement of its own.

    https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/Overview.Encryption.Keys.html
    https://docs.aws.amazon.com/secretsmanager/latest/userguide/security-encryption.html
    """
    return KmsKey(name, description=f"paved: encrypts {purpose}", tags=tags, opts=opts)


def cloudfront_key(
    name: str,
    *,
    purpose: str,
    distribution_arn: pulumi.Input[str],
    tags: Mapping[str, str],
    opts: pulumi.ResourceOptions | None = None,
) -> KmsKey:
    """A key for a bucket one CloudFront distribution reads through origin access control: the distribution
    may decrypt with it, no other. Its policy is a resource of its own, since the distribution needs the
    bucket the key encrypts.
    https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/private-content-restricting-access-to-s3.html
    """
    return KmsKey(
        name,
        description=f"paved: encrypts {purpose}",
        service_principals=["cloudfront.amazonaws.com"],
        service_actions=["kms:Decrypt"],
        service_conditions={"StringEquals": {"AWS:SourceArn": distribution_arn}},
        separate_policy=True,
        tags=tags,
        opts=opts,
    )


def email_events_key(
    name: str,
    *,
    topic_arn: pulumi.Input[str],
    tags: Mapping[str, str],
    opts: pulumi.ResourceOptions | None = None,
) -> KmsKey:
    """A key for the SES events topic that SES may use for that topic only. SES publishing to an SSE-KMS
    topic needs kms:GenerateDataKey* and kms:Decrypt in the key's policy, which the AWS managed aws/sns key
    can't grant: https://docs.aws.amazon.com/ses/latest/dg/receiving-email-action-sns.html

    The statement is held to the topic through the encryption context SNS puts on every data key it asks
    for (as `alerts_key` does for EventBridge), not aws:SourceArn, which SES's documentation names only for
    the topic policy; that policy keeps publishing to this stack's configuration set.
    """
    return KmsKey(
        name,
        description="paved: encrypts the SES email events SNS topic",
        service_principals=["ses.amazonaws.com"],
        service_actions=list(_PUBLISHER_KEY_ACTIONS),
        service_conditions={"StringEquals": {SNS_TOPIC_CONTEXT: topic_arn}},
        tags=tags,
        opts=opts,
    )
