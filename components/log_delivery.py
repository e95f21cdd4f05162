"""The log-group resource policy that AWS's log delivery service needs to write vended logs.

CloudFront standard logging v2, WAF logging and ElastiCache log delivery write through
`delivery.logs.amazonaws.com`. AWS adds the policy below by itself only when the deployer holds
`logs:PutResourcePolicy`; paved declares it instead, so `up` needs no such right and the policy is tracked.
Policy as documented ("Logs sent to CloudWatch Logs", log group resource policy):
https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/AWS-logs-infrastructure-V2-CloudWatchLogs.html
https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/AWS-logs-and-resource-policy.html

An account holds at most 10 resource policies per region, each at most 5120 characters:
https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/cloudwatch_limits_cwl.html
so a policy names exactly its log groups (ARN built from the known name, which keeps it short and readable at
preview), and each component that delivers logs declares one.
"""

from collections.abc import Sequence

import pulumi
import pulumi_aws as aws

from components.kms import aws_context

LOG_DELIVERY_SERVICE = "delivery.logs.amazonaws.com"


def log_delivery_policy(
    name: str, log_group_names: Sequence[pulumi.Input[str]], *, opts: pulumi.ResourceOptions
) -> aws.cloudwatch.LogResourcePolicy:
    """Let the log delivery service write to `log_group_names`, in `opts`' region, for this account only.

    Resources that start a delivery must `depends_on` the returned policy.
    """
    partition, region, account = aws_context(opts)
    log_groups_arn = pulumi.Output.concat("arn:", partition, ":logs:", region, ":", account, ":log-group:")
    document = pulumi.Output.json_dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "AWSLogDeliveryWrite",
                    "Effect": "Allow",
                    "Principal": {"Service": LOG_DELIVERY_SERVICE},
                    "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                    "Resource": [
                        pulumi.Output.concat(log_groups_arn, group, ":log-stream:*")
                        for group in log_group_names
                    ],
                    # Confused-deputy guard: only deliveries of this account's resources in this region.
                    "Condition": {
                        "StringEquals": {"aws:SourceAccount": account},
                        "ArnLike": {
                            "aws:SourceArn": pulumi.Output.concat(
                                "arn:", partition, ":logs:", region, ":", account, ":*"
                            )
                        },
                    },
                }
            ],
        }
    )
    return aws.cloudwatch.LogResourcePolicy(
        name,
        policy_name=f"paved-{pulumi.get_stack()}-{name}-log-delivery",
        policy_document=document,
        opts=opts,
    )
