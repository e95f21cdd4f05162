"""Alerting: the encrypted SNS topic alarms notify, its subscriptions, and the helper that creates alarms.

Every component creates its alarms through `Alerting.alarm`, so all of them are named `<stack>-<name>`,
notify on ALARM and on OK, and make their missing-data behaviour an explicit choice.
"""

import hashlib
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Literal
from urllib.parse import urlsplit

import pulumi
import pulumi_aws as aws
from pydantic import AfterValidator, Field, model_validator

from components.exemptions import exemption_tags
from components.iam import policy_document, service_role
from components.kms import AwsContext, aws_context
from paved.errors import ConfigProblem, invalid
from paved.fields import ConfigModel, Hint, RuleContext, distinct

TreatMissingData = Literal["missing", "ignore", "breaching", "notBreaching"]
Statistic = Literal["SampleCount", "Average", "Sum", "Minimum", "Maximum"]
ComparisonOperator = Literal[
    "GreaterThanOrEqualToThreshold",
    "GreaterThanThreshold",
    "LessThanThreshold",
    "LessThanOrEqualToThreshold",
]

# Alarm period and evaluation range limits:
# https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html
_HIGH_RESOLUTION_PERIODS = (10, 20, 30)
# Where alerts point for their runbook when no runbookBaseUrl is set: this repository's pages.
RUNBOOKS_IN_REPO = "docs/runbooks"
# A window of a burn-rate alert: its composite alarm notifies, and this alarm alone would page for every
# short burst or keep paging long after a burn stopped.
_COMPOSITE_WINDOW_EXEMPTION = exemption_tags(
    ["cloudwatch-alarm-has-actions"],
    "A window of a composite burn-rate alarm: the composite notifies; this window alone would page for "
    "every burst",
)

_ONE_HOUR = 3_600
_ONE_DAY = 86_400
_SEVEN_DAYS = 7 * _ONE_DAY


def _https_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme != "https" or not parts.netloc:
        raise invalid(
            f"{value!r} is not an https:// URL", "SNS must deliver alerts over TLS; use https://..."
        )
    return value


def _email(value: str) -> str:
    """An address SNS can subscribe, judged by email-validator (RFC 5322/6531 syntax in linear time, no DNS
    lookup offline); imported on first use, so stacks without addresses don't pay for it."""
    from email_validator import EmailNotValidError, validate_email

    try:
        validate_email(value, check_deliverability=False)
    except EmailNotValidError as error:
        raise invalid(f"{value!r} is not an email address: {error}", "use e.g. ops@example.com") from None
    return value


Email = Annotated[str, AfterValidator(_email)]


class AlertsArgs(ConfigModel):
    emails: Annotated[list[Email], AfterValidator(distinct)]
    https_endpoints: Annotated[list[Annotated[str, AfterValidator(_https_url)]], AfterValidator(distinct)]
    # Where the runbooks (docs/runbooks/ of this repository) are published; alerts link to them there. At
    # most 200 characters, so that every description with its link stays within CloudWatch's 1024 and
    # EventBridge's 512.
    runbook_base_url: (
        Annotated[
            str,
            Field(max_length=200),
            AfterValidator(_https_url),
            Hint("the https:// URL where docs/runbooks is published, at most 200 characters"),
        ]
        | None
    ) = None

    def violations(self, path: str, ctx: RuleContext) -> Iterator[ConfigProblem]:
        if ctx.is_prod and not (self.emails or self.https_endpoints):
            yield ConfigProblem(
                f"{path}.emails",
                "prod needs at least one alert subscription",
                "add an on-call address to emails (or an https endpoint such as your paging tool's webhook); "
                "alarms nobody receives do not page anyone",
            )


@dataclass(frozen=True, kw_only=True)
class AlarmSpec:
    """What an alarm watches and when it fires.

    Watch either one metric (`metric_name`, `namespace`, `dimensions`, `period` and exactly one of
    `statistic` / `extended_statistic` such as "p95") or a metric math expression (`metric_queries`, each
    query carrying its own period, exactly one with `return_data=True`).
    """

    description: str
    comparison_operator: ComparisonOperator
    threshold: float
    evaluation_periods: int
    datapoints_to_alarm: int
    treat_missing_data: TreatMissingData
    metric_name: str | None = None
    namespace: str | None = None
    dimensions: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    statistic: Statistic | None = None
    extended_statistic: str | None = None
    period: int | None = None
    metric_queries: Sequence[aws.cloudwatch.MetricAlarmMetricQueryArgs] = ()

    def __post_init__(self) -> None:
        if not self.description.strip():
            raise ValueError("AlarmSpec.description must say what is wrong when the alarm fires")
        sources = [self.statistic, self.extended_statistic, self.metric_queries]
        if sum(1 for source in sources if source) != 1:
            raise ValueError("AlarmSpec needs exactly one of statistic, extended_statistic or metric_queries")
        if self.metric_queries:
            self._check_metric_math()
        else:
            self._check_single_metric()
        self._check_datapoints()

    def _check_single_metric(self) -> None:
        if not (self.metric_name and self.namespace):
            raise ValueError("AlarmSpec on a single metric needs metric_name and namespace")
        if self.period is None:
            raise ValueError("AlarmSpec on a single metric needs period (seconds)")
        if self.period not in _HIGH_RESOLUTION_PERIODS and (self.period <= 0 or self.period % 60):
            raise ValueError(f"AlarmSpec.period must be 10, 20, 30 or a multiple of 60, got {self.period}")
        window = self.period * self.evaluation_periods
        limit = _ONE_DAY if self.period < _ONE_HOUR else _SEVEN_DAYS
        if window > limit:
            raise ValueError(
                f"AlarmSpec evaluates {window} s (period × evaluation_periods); CloudWatch allows at most "
                f"{limit} s for a period of {self.period} s"
            )

    def _check_metric_math(self) -> None:
        if self.metric_name or self.namespace or self.dimensions or self.period is not None:
            raise ValueError(
                "AlarmSpec with metric_queries takes metric_name, namespace, dimensions and period "
                "inside the queries, not on the spec"
            )
        ids = [query.id for query in self.metric_queries]
        if len(set(ids)) != len(ids):
            raise ValueError(f"AlarmSpec.metric_queries ids must be unique, got {ids}")
        returned = [query.id for query in self.metric_queries if query.return_data is True]
        if len(returned) != 1:
            raise ValueError(
                f"exactly one of AlarmSpec.metric_queries must have return_data=True (the value the "
                f"alarm compares), got {returned or 'none'}"
            )

    def _check_datapoints(self) -> None:
        if self.evaluation_periods < 1:
            raise ValueError(f"AlarmSpec.evaluation_periods must be ≥ 1, got {self.evaluation_periods}")
        if not 1 <= self.datapoints_to_alarm <= self.evaluation_periods:
            raise ValueError(
                f"AlarmSpec.datapoints_to_alarm must be between 1 and evaluation_periods "
                f"({self.evaluation_periods}), got {self.datapoints_to_alarm}"
            )


def _subscription_suffix(endpoint: str) -> str:
    # Named after the endpoint rather than its position, so reordering the list replaces nothing.
    return hashlib.sha256(endpoint.encode()).hexdigest()[:8]


def owner_statement(topic_arn: pulumi.Output[str], context: AwsContext) -> dict[str, object]:
    return {
        "Sid": "AccountOwner",
        "Effect": "Allow",
        "Principal": {"AWS": context.root_principal},
        "Action": [
            "sns:GetTopicAttributes",
            "sns:SetTopicAttributes",
            "sns:AddPermission",
            "sns:RemovePermission",
            "sns:DeleteTopic",
            "sns:Subscribe",
            "sns:ListSubscriptionsByTopic",
        ],
        "Resource": topic_arn,
    }


def _topic_policy(topic_arn: pulumi.Output[str], context: AwsContext) -> pulumi.Output[str]:
    """The publishers the alerts topic admits, each confined to this stack's own sources: its CloudWatch
    alarms, its EventBridge rules and its RDS instances' event subscriptions. The account manages the topic
    but does not publish to it. The aws:Source* conditions guard against the confused-deputy problem:
    https://docs.aws.amazon.com/sns/latest/dg/sns-access-policy-use-cases.html"""

    def arn(service: str, resource: str) -> pulumi.Output[str]:
        return pulumi.Output.format(
            "arn:{0}:{1}:{2}:{3}:{4}", context.partition, service, context.region, context.account, resource
        )

    def publisher(sid: str, service: str, source_arn: pulumi.Output[str]) -> dict[str, object]:
        return {
            "Sid": sid,
            "Effect": "Allow",
            "Principal": {"Service": service},
            "Action": "sns:Publish",
            "Resource": topic_arn,
            "Condition": {
                "StringEquals": {"aws:SourceAccount": context.account},
                "ArnLike": {"aws:SourceArn": source_arn},
            },
        }

    stack = pulumi.get_stack()
    return pulumi.Output.json_dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                owner_statement(topic_arn, context),
                publisher(
                    "CloudWatchAlarms", "cloudwatch.amazonaws.com", arn("cloudwatch", f"alarm:{stack}-*")
                ),
                publisher("EventBridgeRules", "events.amazonaws.com", arn("events", f"rule/{stack}-*")),
                # RDS names the instance that raised the event as the source:
                # https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_Events.GrantingPermissions.html
                publisher(
                    "RdsEvents",
                    "events.rds.amazonaws.com",
                    arn("rds", f"db:{pulumi.get_project()}-{stack}-*"),
                ),
            ],
        }
    )


def _elasticache_topic_policy(topic_arn: pulumi.Output[str], context: AwsContext) -> pulumi.Output[str]:
    """ElastiCache publishes only where the policy names AWS:SourceOwner (not aws:SourceAccount), to any
    principal: https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/ECEvents.SNS.html"""
    return pulumi.Output.json_dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                owner_statement(topic_arn, context),
                {
                    "Sid": "ElastiCacheNotifications",
                    "Effect": "Allow",
                    "Principal": {"AWS": "*"},
                    "Action": "sns:Publish",
                    "Resource": topic_arn,
                    "Condition": {"StringEquals": {"AWS:SourceOwner": context.account}},
                },
            ],
        }
    )


class AlarmRule(ConfigModel):
    """When an alarm fires: past `threshold` in each of `periods` consecutive periods of `periodSeconds`."""

    threshold: Annotated[float, Field(ge=0), Hint("a number ≥ 0, in the alarm's unit (README lists it)")]
    periods: Annotated[
        int, Field(ge=1, le=288), Hint("how many consecutive periods must breach before the alarm fires")
    ]
    period_seconds: Annotated[
        Literal[60, 300, 900, 3600],
        Hint("60 or 300 (1 or 5 minutes); 900 or 3600 for slow signals"),
    ]

    @model_validator(mode="after")
    def _cloudwatch_evaluates_the_window(self) -> "AlarmRule":
        # https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html
        # (EvaluationPeriods): at most one day, or seven for periods of an hour or more.
        window = self.periods * self.period_seconds
        limit = _ONE_DAY if self.period_seconds < _ONE_HOUR else _SEVEN_DAYS
        if window > limit:
            raise invalid(
                f"{self.periods} periods of {self.period_seconds} s is {window} s",
                f"CloudWatch evaluates at most {limit} s with {self.period_seconds}-second periods: "
                "use fewer periods or longer ones",
            )
        return self

    @property
    def window_text(self) -> str:
        """`in 5 minutes` for one period, `for 15 minutes` for several."""
        minutes = self.periods * self.period_seconds // 60
        return f"{'in' if self.periods == 1 else 'for'} {minutes} minute{'s' if minutes != 1 else ''}"

    def threshold_for(
        self,
        *,
        suffix: str,
        description: str,
        metric_name: str,
        statistic: Statistic,
        comparison_operator: ComparisonOperator,
        treat_missing_data: TreatMissingData,
        scale: float = 1,
    ) -> "Threshold":
        """This rule on one metric; `scale` converts the configured unit to the metric's."""
        return Threshold(
            suffix=suffix,
            description=description,
            metric_name=metric_name,
            statistic=statistic,
            comparison_operator=comparison_operator,
            threshold=self.threshold * scale,
            periods=self.periods,
            period=self.period_seconds,
            treat_missing_data=treat_missing_data,
        )


def threshold_within(low: float, high: float | None, meaning: str) -> AfterValidator:
    """An alarm rule whose threshold must lie from `low` to `high` (None: no upper bound), the values that
    mean something in its unit (a percentage, a count); `meaning` says when the alarm fires."""

    def check(rule: AlarmRule) -> AlarmRule:
        if rule.threshold < low or (high is not None and rule.threshold > high):
            span = f"{low:g} to {high:g}" if high is not None else f"{low:g} or more"
            raise invalid(
                f"threshold must be {span}, got {rule.threshold:g}", f"{meaning}; use a threshold of {span}"
            )
        return rule

    return AfterValidator(check)


@dataclass(frozen=True, kw_only=True)
class Threshold:
    """A metric against a threshold, breaching in every one of `periods` consecutive periods (5 minutes
    unless `period` says otherwise).

    The compact form most component alarms take; `spec` turns it into an AlarmSpec for one resource.
    """

    suffix: str
    description: str
    metric_name: str
    statistic: Statistic
    comparison_operator: ComparisonOperator
    threshold: float
    periods: int
    treat_missing_data: TreatMissingData
    period: int = 300

    def spec(self, namespace: str, dimensions: Mapping[str, pulumi.Input[str]]) -> AlarmSpec:
        return AlarmSpec(
            description=self.description,
            namespace=namespace,
            dimensions=dimensions,
            metric_name=self.metric_name,
            statistic=self.statistic,
            period=self.period,
            comparison_operator=self.comparison_operator,
            threshold=self.threshold,
            evaluation_periods=self.periods,
            datapoints_to_alarm=self.periods,
            treat_missing_data=self.treat_missing_data,
        )


class Alerting(pulumi.ComponentResource):
    """The alerts SNS topic, encrypted with `kms_key_arn` (use `components.kms.alerts_key`).

    Other components create their alarms with `alerting.alarm("db-cpu", AlarmSpec(...), parent=self)`,
    their EventBridge rules with `alerting.event_rule(...)`, and point RDS event subscriptions at
    `topic_arn`. ElastiCache, which cannot publish to an encrypted topic, gets `elasticache_topic()`.
    """

    topic_arn: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        args: AlertsArgs,
        *,
        kms_key_arn: pulumi.Input[str],
        tags: Mapping[str, str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("paved:observability:Alerting", name, None, opts)
        self._name = name
        self._args = args
        self._tags = dict(tags)
        self._alarm_names: set[str] = set()
        self._rule_names: set[str] = set()
        self._runbook_base = (args.runbook_base_url or RUNBOOKS_IN_REPO).rstrip("/")
        # Alarms and rules must live in the topic's region: CloudWatch only notifies topics of its own
        # region, and an EventBridge rule's SNS target must be in the rule's region.
        # https://repost.aws/knowledge-center/sns-not-getting-eventbridge-notification
        self._provider = opts.provider if opts else None
        self._context = aws_context(pulumi.ResourceOptions(parent=self, provider=self._provider))
        topic = aws.sns.Topic(
            name,
            display_name=f"paved {pulumi.get_stack()} alerts",
            kms_master_key_id=kms_key_arn,
            tags=self._tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self._policy = aws.sns.TopicPolicy(
            name,
            arn=topic.arn,
            policy=_topic_policy(topic.arn, self._context),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self._subscribe(name, topic)
        self._elasticache_topic: tuple[pulumi.Output[str], list[pulumi.Resource]] | None = None
        self.topic_arn = topic.arn
        self.register_outputs({"topic_arn": self.topic_arn})

    def _subscribe(self, name: str, topic: aws.sns.Topic) -> None:
        subscriptions = [("email", email) for email in self._args.emails] + [
            ("https", url) for url in self._args.https_endpoints
        ]
        for protocol, endpoint in subscriptions:
            aws.sns.TopicSubscription(
                f"{name}-{protocol}-{_subscription_suffix(endpoint)}",
                topic=topic.arn,
                protocol=protocol,
                endpoint=endpoint,
                opts=pulumi.ResourceOptions(parent=self),
            )

    @property
    def ready(self) -> list[pulumi.Resource]:
        """What a publisher must wait for: the topic policy that admits it."""
        return [self._policy]

    def elasticache_topic(self) -> tuple[pulumi.Output[str], list[pulumi.Resource]]:
        """The ARN of a topic for ElastiCache's notifications (failover, node replacement), with the same
        subscribers.

        It is the one topic paved leaves unencrypted: ElastiCache marks an encrypted topic inactive and
        stops notifying it. The messages carry event names and cluster ids, no data. Also returned: what
        a cache must wait for, the policy that admits ElastiCache.
        https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/ElastiCacheSNS.html
        """
        if self._elasticache_topic is None:
            name = f"{self._name}-elasticache"
            topic = aws.sns.Topic(
                name,
                display_name=f"paved {pulumi.get_stack()} cache notifications",
                tags={
                    **self._tags,
                    **exemption_tags(
                        ["sns-topic-encrypted"], "ElastiCache cannot publish to an encrypted SNS topic"
                    ),
                },
                opts=pulumi.ResourceOptions(parent=self),
            )
            policy = aws.sns.TopicPolicy(
                name,
                arn=topic.arn,
                policy=_elasticache_topic_policy(topic.arn, self._context),
                opts=pulumi.ResourceOptions(parent=self),
            )
            self._subscribe(name, topic)
            self._elasticache_topic = (topic.arn, [policy])
        return self._elasticache_topic

    def _rule_name(self, name: str) -> str:
        if name in self._rule_names:
            raise ValueError(f"event rule {name!r} is already defined; rule names must be unique in a stack")
        self._rule_names.add(name)
        return f"{pulumi.get_stack()}-{name}"

    def event_rule(
        self, name: str, *, description: str, pattern: Mapping[str, object], parent: pulumi.Resource
    ) -> aws.cloudwatch.EventRule:
        """An EventBridge rule `<stack>-<name>` on the default bus that sends matching events to the topic;
        its description links its runbook, docs/runbooks/<name>.md."""
        rule = aws.cloudwatch.EventRule(
            name,
            name=self._rule_name(name),
            description=self._described(description, name),
            event_pattern=json.dumps(pattern),
            tags=self._tags,
            opts=pulumi.ResourceOptions(parent=parent, provider=self._provider),
        )
        aws.cloudwatch.EventTarget(
            name,
            rule=rule.name,
            arn=self.topic_arn,
            # The topic policy must admit the rule before its first event, or that event is dropped.
            opts=pulumi.ResourceOptions(parent=parent, provider=self._provider, depends_on=self.ready),
        )
        return rule

    def forwarded_rule(
        self,
        name: str,
        *,
        description: str,
        pattern: Mapping[str, object],
        provider: aws.Provider,
        runbook: str,
        parent: pulumi.Resource,
    ) -> aws.cloudwatch.EventRule:
        """A rule `<stack>-<name>` in `provider`'s region that forwards matching events to the default bus of
        the topic's region, where a rule of `event_rule` with the same pattern sends them on: an SNS target
        must be in its rule's region, an event bus need not.
        https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-cross-region.html"""
        here = aws_context(pulumi.ResourceOptions(parent=parent, provider=provider))
        rule_name = self._rule_name(name)
        bus_arn = pulumi.Output.format(
            "arn:{0}:events:{1}:{2}:event-bus/default",
            self._context.partition,
            self._context.region,
            self._context.account,
        )
        role = service_role(
            name,
            service="events.amazonaws.com",
            description=f"Lets EventBridge forward {rule_name} events to the alerts region",
            inline_policy=policy_document(
                {"Effect": "Allow", "Action": "events:PutEvents", "Resource": bus_arn}
            ),
            source_arn=pulumi.Output.format(
                "arn:{0}:events:{1}:{2}:rule/{3}", here.partition, here.region, here.account, rule_name
            ),
            tags=self._tags,
            parent=parent,
        )
        rule = aws.cloudwatch.EventRule(
            name,
            name=rule_name,
            description=self._described(description, runbook),
            event_pattern=json.dumps(pattern),
            tags=self._tags,
            opts=pulumi.ResourceOptions(parent=parent, provider=provider),
        )
        aws.cloudwatch.EventTarget(
            name,
            rule=rule.name,
            arn=bus_arn,
            role_arn=role.arn,
            opts=pulumi.ResourceOptions(parent=parent, provider=provider, depends_on=role.ready),
        )
        return rule

    def threshold_alarms(
        self,
        prefix: str,
        thresholds: Sequence[Threshold],
        *,
        namespace: str,
        dimensions: Mapping[str, pulumi.Input[str]],
        parent: pulumi.Resource,
        runbook_prefix: str | None = None,
    ) -> list[aws.cloudwatch.MetricAlarm]:
        """One alarm `<stack>-<prefix>-<suffix>` per threshold, all on the same resource's metrics; their
        runbooks are `<runbook_prefix>-<suffix>` (default: the prefix), for a prefix that names one of
        several resources (`cache-2`)."""
        return [
            self.alarm(
                f"{prefix}-{threshold.suffix}",
                threshold.spec(namespace, dimensions),
                parent=parent,
                runbook=f"{runbook_prefix or prefix}-{threshold.suffix}",
            )
            for threshold in thresholds
        ]

    def runbook(self, slug: str) -> str:
        """Where docs/runbooks/<slug>.md is read: under `runbookBaseUrl`, else in the repository."""
        return f"{self._runbook_base}/{slug}.md"

    def _described(self, description: str, runbook: str) -> str:
        return f"{description} (runbook: {self.runbook(runbook)})"

    def alarm(
        self, name: str, spec: AlarmSpec, *, parent: pulumi.Resource, runbook: str | None = None
    ) -> aws.cloudwatch.MetricAlarm:
        """A CloudWatch alarm `<stack>-<name>` under `parent` that notifies the topic on ALARM and OK. Its
        description links its runbook, docs/runbooks/<runbook>.md (default: the name), which says what to do
        (tests/test_runbooks.py holds every alarm to a page)."""
        return self._metric_alarm(name, spec, parent=parent, runbook=runbook or name, notify=True)

    def burn_rate_alert(
        self,
        name: str,
        *,
        description: str,
        windows: Mapping[str, AlarmSpec],
        parent: pulumi.Resource,
        runbook: str,
    ) -> aws.cloudwatch.CompositeAlarm:
        """A composite alarm `<stack>-<name>` in ALARM only while every window's alarm is: the long window
        sees a budget burning, the short one that it still burns, so the alert clears soon after the burn
        stops (the multiwindow burn-rate alert: https://sre.google/workbook/alerting-on-slos/). Only the
        composite notifies; each window's alarm (`<name>-<window>`) stays silent.
        https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Create_Composite_Alarm.html"""
        self._claim(name)
        quiet = [
            self._metric_alarm(f"{name}-{window}", spec, parent=parent, runbook=runbook, notify=False)
            for window, spec in windows.items()
        ]
        rule = pulumi.Output.all(*(alarm.name for alarm in quiet)).apply(
            lambda names: " AND ".join(f'ALARM("{alarm_name}")' for alarm_name in names)
        )
        return aws.cloudwatch.CompositeAlarm(
            name,
            alarm_name=f"{pulumi.get_stack()}-{name}",
            alarm_description=self._described(description, runbook),
            alarm_rule=rule,
            actions_enabled=True,
            alarm_actions=[self.topic_arn],
            ok_actions=[self.topic_arn],
            tags=self._tags,
            opts=pulumi.ResourceOptions(parent=parent, depends_on=self.ready, provider=self._provider),
        )

    def _claim(self, name: str) -> None:
        if name in self._alarm_names:
            raise ValueError(f"alarm {name!r} is already defined; alarm names must be unique in a stack")
        self._alarm_names.add(name)

    def _metric_alarm(
        self, name: str, spec: AlarmSpec, *, parent: pulumi.Resource, runbook: str, notify: bool
    ) -> aws.cloudwatch.MetricAlarm:
        self._claim(name)
        actions = [self.topic_arn] if notify else None
        silent = {} if notify else _COMPOSITE_WINDOW_EXEMPTION
        return aws.cloudwatch.MetricAlarm(
            name,
            name=f"{pulumi.get_stack()}-{name}",
            alarm_description=self._described(spec.description, runbook),
            comparison_operator=spec.comparison_operator,
            threshold=spec.threshold,
            evaluation_periods=spec.evaluation_periods,
            datapoints_to_alarm=spec.datapoints_to_alarm,
            treat_missing_data=spec.treat_missing_data,
            metric_name=spec.metric_name,
            namespace=spec.namespace,
            dimensions=dict(spec.dimensions) or None,
            statistic=spec.statistic,
            extended_statistic=spec.extended_statistic,
            period=spec.period,
            metric_queries=list(spec.metric_queries) or None,
            actions_enabled=notify,
            alarm_actions=actions,
            ok_actions=actions,
            tags={**self._tags, **silent},
            # The topic policy must let CloudWatch publish before the alarm can first change state.
            opts=pulumi.ResourceOptions(parent=parent, depends_on=self.ready, provider=self._provider),
        )
