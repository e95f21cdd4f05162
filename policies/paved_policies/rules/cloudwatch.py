"""CloudWatch Logs and alarm rules."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from paved_policies.props import get_bool, get_int, get_str, has_item, has_value
from paved_policies.rule import Finding, ResourceContext, compliant, resource_rule, violation

LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
METRIC_ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"

# DELIVERY-class log groups ignore retentionInDays: the service pins their retention to 2 days
# (pulumi-aws LogGroup docs; https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CloudWatch_Logs_Log_Classes.html).
FIXED_RETENTION_CLASSES = frozenset({"DELIVERY"})


@resource_rule(
    name="cloudwatch-log-group-encrypted",
    description="CloudWatch log groups are encrypted with a customer managed KMS key.",
    severity="medium",
    remediation=(
        "Set kms_key_id to the ARN of a symmetric KMS key whose key policy lets the "
        "logs.<region>.amazonaws.com service principal use it."
    ),
    resource_types=(LOG_GROUP,),
    checkov=("CKV_AWS_158",),
    cdk_nag=("CloudWatchLogGroupEncrypted",),
    url="https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html",
)
def cloudwatch_log_group_encrypted(props: Mapping[str, Any], ctx: ResourceContext) -> Finding:
    if has_value(props, "kmsKeyId"):
        return compliant()
    return violation(f"Log group '{ctx.name}' has no kmsKeyId.")


@resource_rule(
    name="cloudwatch-log-group-retention",
    description="CloudWatch log groups have a finite retention period.",
    severity="low",
    remediation=(
        "Set retention_in_days to one of the values CloudWatch Logs accepts (e.g. 30, 90, 365, 3653) "
        "that meets your audit requirements."
    ),
    resource_types=(LOG_GROUP,),
    checkov=("CKV_AWS_66",),
    cdk_nag=("CloudWatchLogGroupRetentionPeriod",),
    url="https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/Working-with-log-groups-and-streams.html",
)
def cloudwatch_log_group_retention(props: Mapping[str, Any], ctx: ResourceContext) -> Finding:
    if get_str(props, "logGroupClass") in FIXED_RETENTION_CLASSES:
        return compliant()
    # Unset and 0 both mean "never expire" (CreateLogGroup: events do not expire by default).
    days = get_int(props, "retentionInDays")
    if days is not None and days > 0:
        return compliant()
    return violation(f"Log group '{ctx.name}' keeps events forever: retentionInDays is unset or 0.")


@resource_rule(
    name="cloudwatch-alarm-has-actions",
    description="CloudWatch alarms notify someone: they have alarm actions and actions are enabled.",
    severity="medium",
    remediation=(
        "Set alarm_actions to at least one SNS topic (or Auto Scaling/EC2 action) ARN and leave "
        "actions_enabled at its default True."
    ),
    resource_types=(METRIC_ALARM,),
    checkov=("CKV_AWS_319",),
    cdk_nag=("CloudWatchAlarmAction",),
    url="https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html",
)
def cloudwatch_alarm_has_actions(props: Mapping[str, Any], ctx: ResourceContext) -> Finding:
    problems = []
    if not has_item(props, "alarmActions"):
        problems.append("alarmActions is empty")
    # actionsEnabled defaults to true (PutMetricAlarm); only an explicit false silences the alarm.
    if get_bool(props, "actionsEnabled") is False:
        problems.append("actionsEnabled is false")
    if not problems:
        return compliant()
    return violation(f"Alarm '{ctx.name}' would fire silently: {' and '.join(problems)}.")


RULES = (cloudwatch_log_group_encrypted, cloudwatch_log_group_retention, cloudwatch_alarm_has_actions)
