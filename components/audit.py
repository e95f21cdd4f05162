"""Audit and threat detection, once per account and region (the bootstrap program's, opt-in): a CloudTrail
trail, GuardDuty with EKS audit logs and runtime monitoring, and Security Hub CSPM with FSBP, fed by AWS
Config. Each is one per account (or region): two app stacks that both declared one would fight.

The facts, with their sources, are in docs/aws-facts/audit.md.
"""

from collections.abc import Mapping
from typing import Annotated, Any

import pulumi
import pulumi_aws as aws
from pydantic import Field

from components.buckets import SecureBucket, ServerAccessLogs
from components.iam import policy_document, service_role
from components.kms import KmsKey, aws_context
from paved.errors import Hint
from paved.fields import ConfigModel

_CLOUDTRAIL = "cloudtrail.amazonaws.com"
_FSBP = "standards/aws-foundational-security-best-practices/v/1.0.0"


class AuditArgs(ConfigModel):
    cloud_trail: bool  # every region's management events, to a KMS-encrypted bucket
    guard_duty: bool  # with EKS audit logs and runtime monitoring (its agent an EKS add-on GuardDuty manages)
    security_hub: bool  # CSPM with FSBP only, and AWS Config recording, which its controls read
    log_retention_days: Annotated[
        int,
        Field(ge=90, le=3653),
        Hint("how long trail logs and Config history are kept: 90 days to 10 years"),
    ]


def _joined(*parts: pulumi.Input[str]) -> pulumi.Input[str]:
    """The parts as one string: plain when they all are (the statements can be read as built)."""
    if all(isinstance(part, str) for part in parts):
        return "".join(part for part in parts if isinstance(part, str))
    return pulumi.Output.concat(*parts)


def cloudtrail_bucket_statements(
    bucket_arn: pulumi.Input[str], account: pulumi.Input[str], trail_arn: pulumi.Input[str]
) -> list[dict[str, Any]]:
    """What CloudTrail needs of the bucket, for this trail only (aws:SourceArn).
    https://docs.aws.amazon.com/awscloudtrail/latest/userguide/create-s3-bucket-policy-for-cloudtrail.html"""
    this_trail = {"aws:SourceArn": trail_arn}
    return [
        {
            "Sid": "CloudTrailAclCheck",
            "Effect": "Allow",
            "Principal": {"Service": _CLOUDTRAIL},
            "Action": "s3:GetBucketAcl",
            "Resource": bucket_arn,
            "Condition": {"StringEquals": this_trail},
        },
        {
            "Sid": "CloudTrailWrite",
            "Effect": "Allow",
            "Principal": {"Service": _CLOUDTRAIL},
            "Action": "s3:PutObject",
            "Resource": _joined(bucket_arn, "/AWSLogs/", account, "/*"),
            "Condition": {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control", **this_trail}},
        },
    ]


class AccountAudit(pulumi.ComponentResource):
    """What `args` turns on; the trail's and Config's logs share one bucket and key, under AWSLogs/."""

    def __init__(
        self,
        name: str,
        args: AuditArgs,
        *,
        tags: Mapping[str, str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("paved:audit:AccountAudit", name, None, opts)
        self._name = name
        self._tags = dict(tags)
        context = aws_context(pulumi.ResourceOptions(parent=self))
        self._trail_arn = pulumi.Output.format("arn:{0}:cloudtrail:{1}:{2}:trail/paved-{3}", *context, name)
        if args.guard_duty:
            self._guard_duty()
        if not (args.cloud_trail or args.security_hub):
            self.register_outputs({})
            return
        key = KmsKey(
            f"{name}-logs",
            description="paved: encrypts the account's CloudTrail logs and AWS Config history",
            # CloudTrail encrypts each log file with a data key whose context names the trail.
            # https://docs.aws.amazon.com/awscloudtrail/latest/userguide/create-kms-key-policy-for-cloudtrail.html
            service_principals=[_CLOUDTRAIL] if args.cloud_trail else [],
            service_actions=["kms:GenerateDataKey*"] if args.cloud_trail else [],
            service_conditions={
                "StringEquals": {"aws:SourceArn": self._trail_arn},
                "StringLike": {
                    "kms:EncryptionContext:aws:cloudtrail:arn": pulumi.Output.format(
                        "arn:{0}:cloudtrail:*:{1}:trail/*", context.partition, context.account
                    )
                },
            }
            if args.cloud_trail
            else None,
            extra_statements=[
                {
                    "Sid": "CloudTrailDescribesTheKey",
                    "Effect": "Allow",
                    "Principal": {"Service": _CLOUDTRAIL},
                    "Action": "kms:DescribeKey",
                    "Resource": "*",
                    "Condition": {"StringEquals": {"aws:SourceArn": self._trail_arn}},
                }
            ]
            if args.cloud_trail
            else [],
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self, protect=True),
        )
        # Who read or wrote the trail's files: CIS asks for the trail bucket's access logs.
        access_logs = ServerAccessLogs(
            f"{name}-access-logs", expire_days=args.log_retention_days, protect=True, tags=tags
        )
        bucket = SecureBucket(
            f"{name}-logs",
            purpose="CloudTrail logs and AWS Config history",
            kms_key_arn=key.key_arn,
            expire_days=args.log_retention_days,
            extra_statements=(lambda arn: cloudtrail_bucket_statements(arn, context.account, self._trail_arn))
            if args.cloud_trail
            else (),
            access_logs=access_logs,
            protect=True,
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        access_logs.deliver()
        if args.cloud_trail:
            aws.cloudtrail.Trail(
                name,
                name=f"paved-{name}",
                s3_bucket_name=bucket.bucket_name,
                kms_key_id=key.key_arn,
                is_multi_region_trail=True,
                include_global_service_events=True,
                # A digest file per hour, signed: tampering with or deleting a log file shows.
                enable_log_file_validation=True,
                tags=self._tags,
                # CloudTrail checks that it may write to the bucket, and use the key, when the trail is made.
                opts=pulumi.ResourceOptions(parent=self, depends_on=[bucket.policy, key]),
            )
        if args.security_hub:
            self._security_hub(bucket, key)
        self.register_outputs({})

    def _guard_duty(self) -> None:
        detector = aws.guardduty.Detector(
            self._name,
            enable=True,
            finding_publishing_frequency="FIFTEEN_MINUTES",
            tags=self._tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        aws.guardduty.DetectorFeature(
            f"{self._name}-eks-audit-logs",
            detector_id=detector.id,
            name="EKS_AUDIT_LOGS",
            status="ENABLED",
            opts=pulumi.ResourceOptions(parent=self),
        )
        # RUNTIME_MONITORING covers EKS (and EC2, ECS) and supersedes EKS_RUNTIME_MONITORING: never both.
        # GuardDuty installs and updates its agent as an EKS add-on in every cluster of the account.
        aws.guardduty.DetectorFeature(
            f"{self._name}-runtime-monitoring",
            detector_id=detector.id,
            name="RUNTIME_MONITORING",
            status="ENABLED",
            additional_configurations=[
                aws.guardduty.DetectorFeatureAdditionalConfigurationArgs(
                    name="EKS_ADDON_MANAGEMENT", status="ENABLED"
                )
            ],
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _security_hub(self, bucket: SecureBucket, key: KmsKey) -> None:
        """Security Hub CSPM with FSBP alone (the defaults would add CIS 1.2), and the AWS Config recording
        its controls evaluate: every supported resource type, global ones (IAM) included, delivered to the
        audit bucket with a role of its own (a same-account role needs no bucket or key policy statement).
        https://docs.aws.amazon.com/securityhub/latest/userguide/securityhub-prereq-config.html"""
        name = self._name
        context = aws_context(pulumi.ResourceOptions(parent=self))
        role = service_role(
            f"{name}-config",
            service="config.amazonaws.com",
            description="AWS Config records the account's resources with it, for Security Hub's controls",
            managed_policy_arns=["iam::aws:policy/service-role/AWS_ConfigRole"],
            inline_policy=policy_document(
                {
                    "Sid": "DeliverHistory",
                    "Effect": "Allow",
                    "Action": "s3:PutObject",
                    "Resource": pulumi.Output.concat(
                        bucket.bucket_arn, "/AWSLogs/", context.account, "/Config/*"
                    ),
                    "Condition": {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control"}},
                },
                {
                    "Sid": "CheckBucket",
                    "Effect": "Allow",
                    "Action": "s3:GetBucketAcl",
                    "Resource": bucket.bucket_arn,
                },
                {
                    "Sid": "EncryptHistory",
                    "Effect": "Allow",
                    "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
                    "Resource": key.key_arn,
                },
            ),
            tags=self._tags,
            parent=self,
        )
        recorder = aws.cfg.Recorder(
            name,
            name=f"paved-{name}",
            role_arn=role.arn,
            recording_group=aws.cfg.RecorderRecordingGroupArgs(
                all_supported=True, include_global_resource_types=True
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=role.ready),
        )
        channel = aws.cfg.DeliveryChannel(
            name,
            name=f"paved-{name}",
            s3_bucket_name=bucket.bucket_name,
            s3_kms_key_arn=key.key_arn,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[recorder]),
        )
        aws.cfg.RecorderStatus(
            name,
            name=recorder.name,
            is_enabled=True,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[channel]),
        )
        hub = aws.securityhub.Account(
            name,
            enable_default_standards=False,
            # One finding per control, whichever standards include it.
            control_finding_generator="SECURITY_CONTROL",
            auto_enable_controls=True,
            opts=pulumi.ResourceOptions(parent=self),
        )
        aws.securityhub.StandardsSubscription(
            name,
            standards_arn=pulumi.Output.format(
                "arn:{0}:securityhub:{1}::{2}", context.partition, context.region, _FSBP
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[hub]),
        )
