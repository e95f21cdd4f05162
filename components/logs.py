"""CloudWatch Logs log groups: always encrypted with the logs key and always with a retention period."""

from collections.abc import Mapping

import pulumi
import pulumi_aws as aws


def log_group(
    resource_name: str,
    *,
    name: str,
    kms_key_arn: pulumi.Input[str],
    retention_days: int,
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
        tags=dict(tags),
        opts=pulumi.ResourceOptions(parent=parent, provider=provider),
    )
