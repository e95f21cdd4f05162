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
) -> aws.cloudwatch.LogGroup:
    return aws.cloudwatch.LogGroup(
        resource_name,
        name=name,
        kms_key_id=kms_key_arn,
        retention_in_days=retention_days,
        tags=dict(tags),
        opts=pulumi.ResourceOptions(parent=parent),
    )
