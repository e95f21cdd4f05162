"""IAM roles that AWS services assume, with the confused-deputy guard AWS recommends in every trust policy.

https://docs.aws.amazon.com/IAM/latest/UserGuide/confused-deputy.html
"""

from collections.abc import Mapping, Sequence
from typing import Any

import pulumi
import pulumi_aws as aws

from components.kms import aws_context


def service_role(
    name: str,
    *,
    service: str,
    description: str,
    managed_policy_arns: Sequence[str] = (),
    inline_policy: pulumi.Input[str] | None = None,
    tags: Mapping[str, str],
    parent: pulumi.Resource,
) -> aws.iam.Role:
    """A role only `service` may assume, and only on behalf of this account.

    `managed_policy_arns` are partition-relative (`iam::aws:policy/...`); the partition is filled in.
    """
    context = aws_context(pulumi.ResourceOptions(parent=parent))
    trust = pulumi.Output.json_dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": service},
                    "Action": "sts:AssumeRole",
                    "Condition": {"StringEquals": {"aws:SourceAccount": context.account}},
                }
            ],
        }
    )
    here = pulumi.ResourceOptions(parent=parent)
    role = aws.iam.Role(name, description=description, assume_role_policy=trust, tags=dict(tags), opts=here)
    for index, policy in enumerate(managed_policy_arns):
        aws.iam.RolePolicyAttachment(
            f"{name}-managed-{index}",
            role=role.name,
            policy_arn=pulumi.Output.concat("arn:", context.partition, ":", policy),
            opts=here,
        )
    if inline_policy is not None:
        aws.iam.RolePolicy(name, role=role.id, policy=inline_policy, opts=here)
    return role


def policy_document(*statements: Mapping[str, Any]) -> pulumi.Output[str]:
    return pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": list(statements)})
