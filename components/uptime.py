"""Uptime canaries: per public app, a CloudWatch Synthetics canary that GETs the app's uptime paths on its
public host every few minutes, as a visitor would (through DNS, CloudFront, the WAF and the ALB), and an
alarm when too few runs succeed.

- The runtime is a browserless `syn-nodejs-*` one, pinned in config and held to SYNTHETICS_NODEJS_RUNTIMES in
  paved/catalogues.py (a deprecated runtime creates no canaries). The check is components/uptime_check.js.
- Run artifacts (the run's log and HTTP report) go to a bucket of their own, SSE-KMS with the stack's logs
  key, expired after `artifactRetentionDays`. The script sits in a second bucket that never expires it:
  Synthetics reads it again whenever the canary changes.
- The canary's Lambda function is not allowed to create its CloudWatch log group, whose name carries the
  canary's ID (unknown until it exists) and so could get neither retention nor a key: the run's log is in
  its artifacts instead.
- Where `paved:edge.ingressCidrs` keeps the public out (staging: the office only), the canaries run in the
  VPC's private subnets and leave through the NAT gateways, whose addresses the allow-list admits.

Facts and sources: docs/aws-facts/canaries.md.
"""

import hashlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from importlib.resources import files
from typing import Annotated

import pulumi
import pulumi_aws as aws
from pydantic import Field

from components.buckets import SecureBucket, ServerAccessLogs
from components.dashboard import Metric, Widget
from components.iam import policy_document, service_role
from components.kms import AwsContext, aws_context
from components.observability import AlarmRule, AlarmSpec, Alerting
from components.security_groups import https_out_security_group
from components.workload import AppArgs
from paved.catalogues import synthetics_runtime_problem, today
from paved.errors import ConfigProblem, Hint
from paved.fields import ConfigModel, RuleContext

NAMESPACE = "CloudWatchSynthetics"
# Synthetics names a canary's Lambda function and log group after the first 21 characters of its name
# (botocore's synthetics model, DeleteCanary).
_LAMBDA_NAME_CHARACTERS = 21
_SCRIPT = "uptime_check.js"
# The Node.js runtimes load a script from nodejs/node_modules/ in the zip; the handler is
# `<file name without .js>.handler` (CanaryCodeInput, botocore's synthetics model).
_SCRIPT_IN_ZIP = f"nodejs/node_modules/{_SCRIPT}"
_HANDLER = "uptime_check.handler"
URLS_VARIABLE = "PAVED_UPTIME_URLS"


@dataclass(frozen=True)
class CanaryVpc:
    """Where canaries run when the public allow-list keeps them out: private subnets routed to the NAT."""

    vpc_id: pulumi.Input[str]
    subnet_ids: pulumi.Input[Sequence[str]]


class UptimeArgs(ConfigModel):
    """Every public app's canary: its runtime, how often it runs, how long artifacts stay, when it alerts."""

    enabled: bool
    runtime: Annotated[
        str,
        Hint(
            "a browserless runtime, e.g. syn-nodejs-5.4 (SYNTHETICS_NODEJS_RUNTIMES in paved/catalogues.py)"
        ),
    ]
    # Synthetics runs a canary from rate(1 minute) to rate(1 hour) (CreateCanary, Schedule.Expression).
    interval_minutes: Annotated[
        int, Field(ge=1, le=60), Hint("minutes between runs, 1 to 60; each run is billed")
    ]
    # RunConfig.TimeoutInSeconds is 3 to 840 and no longer than the interval; the Node.js runtime pages ask
    # for 15 s or more, for Lambda's cold start.
    timeout_seconds: Annotated[
        int, Field(ge=15, le=840), Hint("15 to 840 seconds, and no longer than the interval")
    ]
    # S3 keeps a run's artifacts this long; Synthetics keeps its record of runs 1 to 455 days.
    artifact_retention_days: Annotated[int, Field(ge=1, le=455), Hint("1 to 455 days")]
    # Fires when the share of successful runs falls below `threshold` percent.
    alarm: AlarmRule

    def violations(self, path: str, ctx: RuleContext) -> Iterator[ConfigProblem]:
        if problem := synthetics_runtime_problem(self.runtime, today()):
            yield ConfigProblem(f"{path}.runtime", *problem)
        if self.timeout_seconds > self.interval_minutes * 60:
            yield ConfigProblem(
                f"{path}.timeoutSeconds",
                f"a run of up to {self.timeout_seconds} s does not fit between runs {self.interval_minutes} "
                "minute(s) apart",
                "Synthetics refuses a timeout longer than the interval: lower timeoutSeconds",
            )
        if self.alarm.period_seconds < self.interval_minutes * 60:
            yield ConfigProblem(
                f"{path}.alarm.periodSeconds",
                f"{self.alarm.period_seconds}-second periods are shorter than the "
                f"{self.interval_minutes}-minute interval between runs",
                "a period with no run has no datapoint, which the alarm reads as failing: use a period at "
                "least as long as the interval",
            )
        if self.alarm.threshold > 100:
            yield ConfigProblem(
                f"{path}.alarm.threshold",
                f"{self.alarm.threshold}% of runs can never succeed",
                "the alarm fires below this share of successful runs: use e.g. 90",
            )

    @property
    def schedule_expression(self) -> str:
        if self.interval_minutes == 60:
            return "rate(1 hour)"
        return f"rate({self.interval_minutes} minute{'s' if self.interval_minutes > 1 else ''})"


def canary_name(stack: str, app: str) -> str:
    """Synthetics takes lowercase letters, digits, '-' and '_' (CanaryName: ^[0-9a-z_\\-]+$, up to 255)."""
    return "".join(c if c.isascii() and (c.isalnum() or c in "-_") else "-" for c in f"{stack}-{app}".lower())


def uptime_urls(app: AppArgs, domain: str) -> list[str]:
    """The URLs the app's canary checks: its uptime paths on its public host."""
    return [f"https://{app.host or domain}{path}" for path in app.effective_uptime_paths]


def script() -> str:
    return (files("components") / _SCRIPT).read_text(encoding="utf-8")


class UptimeCanaries(pulumi.ComponentResource):
    """A canary and an alarm per public app; `widgets` graph each canary's share of successful runs.

    The canaries start once everything in `after` exists (the apps, the web ACLs admitting them). `vpc` is
    given when the canaries must run inside the VPC (the public allow-list keeps them out
    otherwise): its private subnets, with a route to the NAT gateways, and the VPC they are in.
    """

    canary_names: dict[str, str]
    widgets: list[Widget]

    def __init__(
        self,
        name: str,
        args: UptimeArgs,
        apps: Sequence[AppArgs],
        *,
        domain: str,
        logs_key_arn: pulumi.Input[str],
        access_logs: ServerAccessLogs,
        alerting: Alerting,
        vpc: CanaryVpc | None,
        after: Sequence[pulumi.Resource],
        protect: bool,
        tags: Mapping[str, str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("paved:uptime:UptimeCanaries", name, None, opts)
        here = pulumi.ResourceOptions(parent=self)
        stack = pulumi.get_stack()
        context = aws_context(here)
        checked = {app.name: uptime_urls(app, domain) for app in apps if app.is_public}
        self.canary_names = {app: canary_name(stack, app) for app in checked}
        artifacts = SecureBucket(
            f"{name}-artifacts",
            purpose="uptime canary run artifacts",
            kms_key_arn=logs_key_arn,
            expire_days=args.artifact_retention_days,
            access_logs=access_logs,
            protect=protect,
            tags=tags,
            opts=here,
        )
        code_bucket = SecureBucket(
            f"{name}-code",
            purpose="uptime canary script",
            kms_key_arn=logs_key_arn,
            expire_days=None,
            access_logs=access_logs,
            protect=protect,
            tags=tags,
            opts=here,
        )
        source = script()
        digest = hashlib.sha256(source.encode()).hexdigest()[:12]
        # Named by content: a changed script is a new key, which updates every canary that runs it.
        code = aws.s3.BucketObjectv2(
            f"{name}-code",
            bucket=code_bucket.bucket_name,
            key=f"uptime-check-{digest}.zip",
            source=pulumi.AssetArchive({_SCRIPT_IN_ZIP: pulumi.StringAsset(source)}),
            tags=dict(tags),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[code_bucket]),
        )
        security_group = self._security_group(name, vpc, tags) if vpc else None
        role = service_role(
            f"{name}-canary",
            service="lambda.amazonaws.com",
            description="CloudWatch Synthetics runs the uptime canaries as this role",
            inline_policy=self._permissions(artifacts, logs_key_arn, context, in_vpc=vpc is not None),
            # Lambda documents its execution role's trust without conditions (lambda-intro-execution-role):
            # it is not known to send aws:SourceAccount when it assumes the role.
            source_account_guard=False,
            tags=tags,
            parent=self,
        )
        self.widgets = []
        for app, urls in checked.items():
            canary = self._canary(
                app,
                urls,
                args,
                artifacts,
                code,
                code_bucket,
                role.arn,
                logs_key_arn,
                vpc,
                security_group,
                tags,
                # A canary starts on creation: not before the apps it checks are up and the edge admits it.
                depends_on=[*role.ready, artifacts, *after],
            )
            alerting.alarm(
                f"uptime-{app}",
                AlarmSpec(
                    description=f"{app}: under {args.alarm.threshold:g}% of uptime checks of "
                    f"{', '.join(urls)} succeeded {args.alarm.window_text}",
                    namespace=NAMESPACE,
                    metric_name="SuccessPercent",
                    dimensions={"CanaryName": canary.name},
                    statistic="Average",
                    period=args.alarm.period_seconds,
                    comparison_operator="LessThanThreshold",
                    threshold=args.alarm.threshold,
                    evaluation_periods=args.alarm.periods,
                    datapoints_to_alarm=args.alarm.periods,
                    # A canary that stopped running says nothing about the app being up.
                    treat_missing_data="breaching",
                ),
                parent=self,
                runbook="uptime",
            )
            self.widgets.append(
                Widget(
                    f"Uptime: {app}",
                    context.region,
                    [Metric(NAMESPACE, "SuccessPercent", {"CanaryName": canary.name}, "Average", app)],
                    period=max(300, args.interval_minutes * 60),
                    y_axis={"min": 0, "max": 100},
                )
            )
        self.register_outputs({"canary_names": self.canary_names})

    def _security_group(self, name: str, vpc: CanaryVpc, tags: Mapping[str, str]) -> aws.ec2.SecurityGroup:
        # The canary calls the stack's public hosts, which resolve to CloudFront or the ALB's public
        # addresses: reached through the NAT gateways, at addresses no list keeps.
        return https_out_security_group(
            f"{name}-canary",
            vpc_id=vpc.vpc_id,
            description="Uptime canaries: no inbound, HTTPS out to the public hosts",
            egress_description="HTTPS to the public hosts of the stack, and to S3 and CloudWatch",
            tags=tags,
            parent=self,
        )

    @staticmethod
    def _permissions(
        artifacts: SecureBucket, key_arn: pulumi.Input[str], context: AwsContext, *, in_vpc: bool
    ) -> pulumi.Output[str]:
        # "Required roles and permissions for canaries":
        # https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Synthetics_Canaries_CanaryPermissions.html
        statements: list[Mapping[str, object]] = [
            {
                "Sid": "RunArtifacts",
                "Effect": "Allow",
                "Action": ["s3:PutObject", "s3:GetObject"],
                "Resource": pulumi.Output.concat(artifacts.bucket_arn, "/results/*"),
            },
            {
                "Sid": "ArtifactBucketLocation",
                "Effect": "Allow",
                "Action": "s3:GetBucketLocation",
                "Resource": artifacts.bucket_arn,
            },
            {
                # The runtime lists the account's buckets before it uploads; ListAllMyBuckets acts on no
                # narrower resource than "*" (Service Authorization Reference, Amazon S3).
                "Sid": "FindArtifactBucket",
                "Effect": "Allow",
                "Action": "s3:ListAllMyBuckets",
                "Resource": "*",
            },
            {
                "Sid": "ArtifactKey",
                "Effect": "Allow",
                "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
                "Resource": key_arn,
                "Condition": {
                    "StringEquals": {
                        "kms:ViaService": pulumi.Output.concat("s3.", context.region, ".amazonaws.com")
                    }
                },
            },
            {
                # PutMetricData acts on no resource; the namespace condition keeps it to Synthetics' own.
                "Sid": "CanaryMetrics",
                "Effect": "Allow",
                "Action": "cloudwatch:PutMetricData",
                "Resource": "*",
                "Condition": {"StringEquals": {"cloudwatch:namespace": NAMESPACE}},
            },
        ]
        if in_vpc:
            # The canary's Lambda function reaches the VPC through network interfaces Lambda manages with the
            # function's role; the Describe calls and these interface actions take no narrower resource.
            # https://docs.aws.amazon.com/lambda/latest/dg/configuration-vpc.html#configuration-vpc-permissions
            statements.append(
                {
                    "Sid": "CanaryNetworkInterfaces",
                    "Effect": "Allow",
                    "Action": [
                        "ec2:CreateNetworkInterface",
                        "ec2:DescribeNetworkInterfaces",
                        "ec2:DescribeSubnets",
                        "ec2:DeleteNetworkInterface",
                        "ec2:AssignPrivateIpAddresses",
                        "ec2:UnassignPrivateIpAddresses",
                    ],
                    "Resource": "*",
                }
            )
        return policy_document(*statements)

    def _canary(
        self,
        app: str,
        urls: Sequence[str],
        args: UptimeArgs,
        artifacts: SecureBucket,
        code: aws.s3.BucketObjectv2,
        code_bucket: SecureBucket,
        role_arn: pulumi.Output[str],
        key_arn: pulumi.Input[str],
        vpc: CanaryVpc | None,
        security_group: aws.ec2.SecurityGroup | None,
        tags: Mapping[str, str],
        *,
        depends_on: Sequence[pulumi.Resource],
    ) -> aws.synthetics.Canary:
        name = self.canary_names[app]
        return aws.synthetics.Canary(
            f"uptime-{app}",
            name=name,
            runtime_version=args.runtime,
            handler=_HANDLER,
            s3_bucket=code_bucket.bucket_name,
            s3_key=code.key,
            execution_role_arn=role_arn,
            artifact_s3_location=pulumi.Output.concat("s3://", artifacts.bucket_name, "/results/", name, "/"),
            artifact_config=aws.synthetics.CanaryArtifactConfigArgs(
                s3_encryption=aws.synthetics.CanaryArtifactConfigS3EncryptionArgs(
                    encryption_mode="SSE_KMS", kms_key_arn=key_arn
                )
            ),
            schedule=aws.synthetics.CanaryScheduleArgs(expression=args.schedule_expression),
            run_config=aws.synthetics.CanaryRunConfigArgs(
                timeout_in_seconds=args.timeout_seconds,
                environment_variables={URLS_VARIABLE: " ".join(urls)},
            ),
            success_retention_period=args.artifact_retention_days,
            failure_retention_period=args.artifact_retention_days,
            vpc_config=(
                aws.synthetics.CanaryVpcConfigArgs(
                    subnet_ids=vpc.subnet_ids, security_group_ids=[security_group.id]
                )
                if vpc and security_group
                else None
            ),
            # Created stopped unless told: a canary that never runs would only ever alarm.
            start_canary=True,
            delete_lambda=True,
            tags=dict(tags),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[*depends_on, code]),
        )
