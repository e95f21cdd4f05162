"""Amazon SES, opt-in (`paved:email`): a domain identity the apps that list `email` send as, through the SES
API over HTTPS, never SMTP (their NetworkPolicy opens 443 only).

- The domain identity signs with Easy DKIM (2048-bit keys) and bounces through a custom MAIL FROM subdomain,
  so mail passes DMARC by DKIM and by SPF; every record they need is written in the stack's hosted zone, as
  is a DMARC record unless config leaves it to you.
- A configuration set, the identity's default, requires TLS to the receiving server, tracks reputation,
  adds bounced and complained-about addresses to the account's suppression list, and publishes the
  configured events to an SNS topic of the stack's region, encrypted with a key of its own.
- Alarms on the account's bounce and complaint rates page on-call before SES reviews the account.
- An app that lists `email` may call SendEmail as this identity through this configuration set: nothing else.
"""

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import pulumi
import pulumi_aws as aws
from pydantic import AfterValidator, Field

from components.kms import AwsContext, aws_context, email_events_key
from components.observability import AlarmRule, Alerting, Email, owner_statement, threshold_within
from paved.errors import ConfigProblem, Hint
from paved.fields import ConfigModel, DnsName, RuleContext, distinct, matching

# What SES may publish to an event destination: botocore's sesv2 `EventType` (a test holds the two equal).
# https://docs.aws.amazon.com/ses/latest/APIReference-V2/API_EventDestinationDefinition.html
EventType = Literal[
    "SEND",
    "REJECT",
    "BOUNCE",
    "COMPLAINT",
    "DELIVERY",
    "OPEN",
    "CLICK",
    "RENDERING_FAILURE",
    "DELIVERY_DELAY",
    "SUBSCRIPTION",
]
DmarcPolicy = Literal["none", "quarantine", "reject"]
# Easy DKIM always hands out three tokens, each published as a CNAME to the key SES hosts and rotates:
# https://docs.aws.amazon.com/ses/latest/dg/send-email-authentication-dkim-easy.html
DKIM_TOKENS = 3
# SES's own SPF include, for the MAIL FROM domain (the envelope sender SPF checks):
# https://docs.aws.amazon.com/ses/latest/dg/mail-from.html
SPF_RECORD = "v=spf1 include:amazonses.com ~all"
RECORD_TTL = 600
# Env the apps that list `email` get (components/workload.py).
ENV_CONFIGURATION_SET = "SES_CONFIGURATION_SET"
ENV_FROM_DOMAIN = "SES_FROM_DOMAIN"
ENV_REGION = "SES_REGION"
ENV_NAMES = (ENV_CONFIGURATION_SET, ENV_FROM_DOMAIN, ENV_REGION)
# Reputation metrics are ratios (0.05 is 5%); config states them in percent.
_PERCENT = 0.01


class EmailAlarms(ConfigModel):
    # AWS reviews an account at a bounce rate of 5% and may pause its sending at 10%; for complaints at 0.1%
    # and 0.5%: https://docs.aws.amazon.com/ses/latest/dg/faqs-enforcement.html
    bounce_rate_percent: Annotated[
        AlarmRule, threshold_within(0, 100, "fires when more than this share of sent mail hard-bounces")
    ]
    complaint_rate_percent: Annotated[
        AlarmRule,
        threshold_within(0, 100, "fires when more than this share of delivered mail is reported as spam"),
    ]


class EmailArgs(ConfigModel):
    enabled: bool
    # Null: paved:domain.name. It must lie in the stack's hosted zone, where its records are written.
    domain: DnsName | None = None
    mail_from_subdomain: Annotated[
        str,
        matching(
            r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?",
            "a DNS label",
            "use one lowercase label such as mail; it becomes mail.<domain>",
        ),
    ]
    # Null: paved writes no DMARC record (the domain already publishes one).
    dmarc_policy: (
        Annotated[
            DmarcPolicy,
            Hint("none (reports only), quarantine or reject; null to keep the domain's own DMARC record"),
        ]
        | None
    )
    dmarc_report_email: Email | None = None
    events: Annotated[
        list[EventType],
        Field(min_length=1),
        AfterValidator(distinct),
        Hint("SES event types to publish, e.g. [BOUNCE, COMPLAINT]"),
    ]
    alarms: EmailAlarms

    def violations(self, path: str, ctx: RuleContext) -> Iterator[ConfigProblem]:
        if self.dmarc_report_email is not None and self.dmarc_policy is None:
            yield ConfigProblem(
                f"{path}.dmarcReportEmail",
                "paved writes no DMARC record (dmarcPolicy is null) to put it in",
                "set dmarcPolicy, or add the address to your own DMARC record's rua tag",
            )
        if ctx.is_prod and self.enabled and self.dmarc_policy == "none" and self.dmarc_report_email is None:
            yield ConfigProblem(
                f"{path}.dmarcReportEmail",
                "prod publishes DMARC p=none with nowhere to send the reports",
                "set an address that reads the aggregate reports (they show who sends as the domain before "
                "you raise dmarcPolicy to quarantine), or set dmarcPolicy",
            )

    def sending_domain(self, stack_domain: str) -> str:
        return self.domain or stack_domain

    def dmarc_record(self) -> str | None:
        """The `_dmarc` TXT value: the policy, with aggregate reports (`rua`) when an address is set.
        https://www.rfc-editor.org/rfc/rfc7489#section-6.3"""
        if self.dmarc_policy is None:
            return None
        reports = f"; rua=mailto:{self.dmarc_report_email}" if self.dmarc_report_email else ""
        return f"v=DMARC1; p={self.dmarc_policy}{reports}"


@dataclass(frozen=True)
class EmailAccess:
    """What an app that lists `email` is given: its role's statement and its env."""

    identity_arn: pulumi.Output[str]
    configuration_set_arn: pulumi.Output[str]
    configuration_set_name: str
    domain: str
    region: str

    def statements(self) -> list[dict[str, Any]]:
        """SendEmail as the identity through the configuration set. SES authorizes a send against the
        identity and against the configuration set it uses (the identity's default included), so both are
        named or the send is refused on the configuration set:
        https://docs.aws.amazon.com/ses/latest/dg/control-user-access.html
        https://github.com/aws/aws-cdk/issues/34402
        SESv2 SendEmail with raw content (Nodemailer's SES transport, attachments, custom headers) is
        authorized as ses:SendRawEmail (django-anymail#384, novuhq/novu#10600), so both actions.
        """
        return [
            {
                "Effect": "Allow",
                "Action": ["ses:SendEmail", "ses:SendRawEmail"],
                "Resource": [self.identity_arn, self.configuration_set_arn],
            }
        ]

    def env(self) -> dict[str, pulumi.Input[str]]:
        return {
            ENV_CONFIGURATION_SET: self.configuration_set_name,
            ENV_FROM_DOMAIN: self.domain,
            ENV_REGION: self.region,
        }


def _topic_policy(
    topic_arn: pulumi.Output[str], configuration_set_arn: pulumi.Output[str], context: AwsContext
) -> pulumi.Output[str]:
    """SES may publish to the topic for this configuration set only (the confused-deputy guard SES documents):
    https://docs.aws.amazon.com/ses/latest/dg/event-publishing-add-event-destination-sns.html"""
    return pulumi.Output.json_dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                owner_statement(topic_arn, context),
                {
                    "Sid": "SesEvents",
                    "Effect": "Allow",
                    "Principal": {"Service": "ses.amazonaws.com"},
                    "Action": "sns:Publish",
                    "Resource": topic_arn,
                    "Condition": {
                        "StringEquals": {
                            "aws:SourceAccount": context.account,
                            "aws:SourceArn": configuration_set_arn,
                        }
                    },
                },
            ],
        }
    )


class SesEmail(pulumi.ComponentResource):
    """The domain identity, its DNS records, its configuration set, the events topic and the alarms."""

    access: EmailAccess
    topic_arn: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        args: EmailArgs,
        *,
        domain: str,
        zone_id: str,
        region: str,
        alerting: Alerting,
        protect: bool,
        tags: Mapping[str, str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("paved:email:SesEmail", name, None, opts)
        here = pulumi.ResourceOptions(parent=self)
        context = aws_context(here)
        partition, account = context.partition, context.account
        set_name = f"{pulumi.get_project()}-{pulumi.get_stack()}"
        topic_name = f"{set_name}-email-events"
        # Named, so the key's policy can name the topic before it exists (the topic needs the key).
        topic_arn = pulumi.Output.format("arn:{0}:sns:{1}:{2}:{3}", partition, region, account, topic_name)
        set_arn = pulumi.Output.format(
            "arn:{0}:ses:{1}:{2}:configuration-set/{3}", partition, region, account, set_name
        )
        key = email_events_key(
            name, topic_arn=topic_arn, tags=tags, opts=pulumi.ResourceOptions(parent=self, protect=protect)
        )
        topic = aws.sns.Topic(
            name,
            name=topic_name,
            display_name=f"paved {pulumi.get_stack()} email events",
            kms_master_key_id=key.key_arn,
            tags=dict(tags),
            opts=here,
        )
        topic_policy = aws.sns.TopicPolicy(
            name, arn=topic.arn, policy=_topic_policy(topic.arn, set_arn, context), opts=here
        )
        configuration_set = aws.sesv2.ConfigurationSet(
            name,
            configuration_set_name=set_name,
            # Refuse delivery to a receiving server that can't take TLS rather than send in the clear:
            # https://docs.aws.amazon.com/ses/latest/APIReference-V2/API_DeliveryOptions.html
            delivery_options=aws.sesv2.ConfigurationSetDeliveryOptionsArgs(tls_policy="REQUIRE"),
            reputation_options=aws.sesv2.ConfigurationSetReputationOptionsArgs(
                reputation_metrics_enabled=True
            ),
            # A hard bounce or a complaint stops further sends to that address, which keeps both rates down:
            # https://docs.aws.amazon.com/ses/latest/dg/sending-email-suppression-list.html
            suppression_options=aws.sesv2.ConfigurationSetSuppressionOptionsArgs(
                suppressed_reasons=["BOUNCE", "COMPLAINT"]
            ),
            tags=dict(tags),
            opts=here,
        )
        aws.sesv2.ConfigurationSetEventDestination(
            name,
            configuration_set_name=configuration_set.configuration_set_name,
            event_destination_name="sns",
            event_destination=aws.sesv2.ConfigurationSetEventDestinationEventDestinationArgs(
                enabled=True,
                matching_event_types=list(args.events),
                sns_destination=aws.sesv2.ConfigurationSetEventDestinationEventDestinationSnsDestinationArgs(
                    topic_arn=topic.arn
                ),
            ),
            # Events published before the topic policy and the key admit SES would be dropped.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[topic_policy, key]),
        )
        identity = aws.sesv2.EmailIdentity(
            name,
            email_identity=domain,
            configuration_set_name=configuration_set.configuration_set_name,
            # SES signs with 1024-bit keys unless asked; 2048-bit keys need no more than the usual CNAMEs:
            # https://docs.aws.amazon.com/ses/latest/dg/send-email-authentication-dkim-easy.html
            dkim_signing_attributes=aws.sesv2.EmailIdentityDkimSigningAttributesArgs(
                next_signing_key_length="RSA_2048_BIT"
            ),
            tags=dict(tags),
            # Deleting the identity stops every send until SES verifies a new one (up to 72 hours).
            opts=pulumi.ResourceOptions(parent=self, protect=protect),
        )
        self._records(name, identity, args, domain=domain, zone_id=zone_id, region=region)
        self._alarms(args, alerting)
        self.topic_arn = topic.arn
        self.access = EmailAccess(
            identity_arn=identity.arn,
            configuration_set_arn=configuration_set.arn,
            configuration_set_name=set_name,
            domain=domain,
            region=region,
        )
        self.register_outputs({"topic_arn": self.topic_arn, "identity_arn": identity.arn})

    def _records(
        self,
        name: str,
        identity: aws.sesv2.EmailIdentity,
        args: EmailArgs,
        *,
        domain: str,
        zone_id: str,
        region: str,
    ) -> None:
        here = pulumi.ResourceOptions(parent=self)

        def record(suffix: str, record_name: pulumi.Input[str], type_: str, value: pulumi.Input[str]) -> None:
            aws.route53.Record(
                f"{name}-{suffix}",
                zone_id=zone_id,
                name=record_name,
                type=type_,
                records=[value],
                ttl=RECORD_TTL,
                opts=here,
            )

        # The tokens are unknown until SES creates the identity, but there are always three of them.
        tokens = identity.dkim_signing_attributes.tokens
        for index in range(DKIM_TOKENS):
            token = tokens[index]
            record(
                f"dkim-{index}",
                pulumi.Output.format("{0}._domainkey.{1}", token, domain),
                "CNAME",
                pulumi.Output.format("{0}.dkim.amazonses.com", token),
            )
        mail_from = f"{args.mail_from_subdomain}.{domain}"
        # Bounces and complaints come back to SES's feedback endpoint of the identity's region:
        # https://docs.aws.amazon.com/ses/latest/dg/mail-from.html
        record("mail-from-mx", mail_from, "MX", f"10 feedback-smtp.{region}.amazonses.com")
        record("mail-from-spf", mail_from, "TXT", SPF_RECORD)
        aws.sesv2.EmailIdentityMailFromAttributes(
            name,
            email_identity=identity.email_identity,
            mail_from_domain=mail_from,
            # Until SES has read the MX record it sends with its own MAIL FROM rather than refusing the mail;
            # DMARC still passes on the DKIM signature, which is aligned with the From domain.
            behavior_on_mx_failure="USE_DEFAULT_VALUE",
            opts=here,
        )
        dmarc = args.dmarc_record()
        if dmarc is not None:
            # No allow_overwrite: a DMARC record the domain already has makes Route 53 refuse this one, and
            # `pulumi up` stops rather than replace the domain's policy (README, "Email").
            record("dmarc", f"_dmarc.{domain}", "TXT", dmarc)

    def _alarms(self, args: EmailArgs, alerting: Alerting) -> None:
        # Account-wide rates, the ones SES enforces; no sends means no data, which is not a problem.
        thresholds = [
            rule.threshold_for(
                suffix=suffix,
                description=f"SES {what} rate above {rule.threshold:g}% {rule.window_text} (AWS reviews the "
                f"account at {review})",
                metric_name=metric,
                statistic="Maximum",
                comparison_operator="GreaterThanThreshold",
                treat_missing_data="notBreaching",
                scale=_PERCENT,
            )
            for rule, suffix, what, metric, review in (
                (args.alarms.bounce_rate_percent, "bounce-rate", "bounce", "Reputation.BounceRate", "5%"),
                (
                    args.alarms.complaint_rate_percent,
                    "complaint-rate",
                    "complaint",
                    "Reputation.ComplaintRate",
                    "0.1%",
                ),
            )
        ]
        alerting.threshold_alarms("email", thresholds, namespace="AWS/SES", dimensions={}, parent=self)
