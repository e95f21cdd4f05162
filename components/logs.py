"""CloudWatch Logs log groups: always encrypted with the logs key and always with a retention period.

Log groups hold audit evidence (VPC flow logs, EKS control-plane and WAF logs), so in prod (`protect`) they
are Pulumi-protected and CloudWatch Logs refuses to delete them: a log group with deletion protection
enabled rejects DeleteLogGroup until the protection is turned off.
https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/protecting-log-groups-from-deletion.html
"""

from collections.abc import Mapping

import pulumi
import pulumi_aws as aws


def log_group(
    resource_name: str,
    *,
    name: str,
    kms_key_arn: pulumi.Input[str],
    retention_days: int,
    protect: bool,
    tags: Mapping[str, str],
    parent: pulumi.Resource,
    provider: aws.Provider | None = None,
) -> aws.cloudwatch.LogGroup:
    """`provider` places the group in another region than its parent's (CloudFront logs: us-east-1)."""
    return aws.cloudwatch.LogGroup(
        resource_name,
        name=name,
        kms_key_id=kms_key_arn,
        retention_in_days=retention_days,
        # Always sent, false included: the provider only turns protection off when told so explicitly.
        deletion_protection_enabled=protect,
        tags=dict(tags),
        opts=pulumi.ResourceOptions(parent=parent, provider=provider, protect=protect),
    )
