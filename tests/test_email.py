"""Amazon SES, opt-in (issue #20): prod recorded with `paved:email` on and two apps listing it.

The identity's DKIM tokens, and every ARN, are unknown in a first preview; the documents built from them
(the topic policy, the apps' statements) are resolved from the same functions under Pulumi's unit-test mocks
(`tests/test_buckets.py`'s `_resolve`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, get_args

import botocore.session
import pulumi
import pytest
import yaml

from components.email import DKIM_TOKENS, EmailAccess, EmailArgs, EventType, _topic_policy
from components.iam import policy_document
from components.kms import AwsContext
from paved.presets import PRESETS
from paved.program import run_project
from paved.recorder import Recording
from paved.values import is_unknown
from tests.stack_config import (
    Mutation,
    apps,
    assert_rule_reports_path_and_hint,
    case,
    changed,
    section,
    shipped,
    with_app,
)
from tests.test_aws_names import CREATES, NOTHING_TO_CHECK, _aws_types, name_problems
from tests.test_buckets import _resolve
from tests.test_stateful import STATEFUL, STATELESS, _classified_types

ROOT = Path(__file__).resolve().parents[1]
SENDERS = {"api", "worker"}
ACCOUNT = "123456789012"
IDENTITY_ARN = f"arn:aws:ses:eu-west-1:{ACCOUNT}:identity/example.com"
SET_ARN = f"arn:aws:ses:eu-west-1:{ACCOUNT}:configuration-set/paved-prod"
TOPIC_ARN = f"arn:aws:sns:eu-west-1:{ACCOUNT}:paved-prod-email-events"
RECORD = "aws:route53/record:Record"


def email_on(raw: dict[str, Any]) -> dict[str, Any]:
    """`raw` sending through SES, with its api and worker listing email."""
    raw = changed(raw, {"paved:email": {"enabled": True, "dmarcReportEmail": "dmarc-reports@example.com"}})
    for index, app in enumerate(raw["paved:apps"]):
        if app["name"] in SENDERS:
            raw = with_app(raw, index, {"email": True})
    return raw


@pytest.fixture(scope="module")
def recording() -> Recording:
    return run_project(ROOT, "prod", email_on(shipped("prod")))


def test_the_identity_signs_with_2048_bit_keys_and_uses_the_configuration_set(recording: Recording) -> None:
    identity = recording.one("aws:sesv2/emailIdentity:EmailIdentity", "email")
    assert identity.inputs["emailIdentity"] == "example.com"
    assert identity.inputs["dkimSigningAttributes"] == {"nextSigningKeyLength": "RSA_2048_BIT"}
    assert identity.inputs["configurationSetName"] == "paved-prod"
    assert identity.protect
    mail_from = recording.one(
        "aws:sesv2/emailIdentityMailFromAttributes:EmailIdentityMailFromAttributes", "email"
    ).inputs
    assert mail_from == {
        "emailIdentity": "example.com",
        "mailFromDomain": "mail.example.com",
        "behaviorOnMxFailure": "USE_DEFAULT_VALUE",
    }


def test_three_dkim_cnames_wait_for_the_identitys_tokens(recording: Recording) -> None:
    identity = recording.one("aws:sesv2/emailIdentity:EmailIdentity", "email").urn
    dkim = [r for r in recording.of_type(RECORD) if r.name.startswith("email-dkim-")]
    assert [r.name for r in dkim] == [
        f"email-dkim-{index}" for index in range(DKIM_TOKENS)
    ] and DKIM_TOKENS == 3
    for record in dkim:
        assert record.inputs["type"] == "CNAME" and record.inputs["zoneId"] == "Z0123456789ABCDEFGHIJ"
        assert is_unknown(record.inputs["name"]) and all(is_unknown(v) for v in record.inputs["records"])
        assert record.property_dependencies["name"] == [identity]


def test_mail_from_and_dmarc_records(recording: Recording) -> None:
    def inputs(name: str) -> dict[str, Any]:
        found = recording.one(RECORD, name).inputs
        return {key: found[key] for key in ("name", "type", "records", "ttl")}

    assert inputs("email-mail-from-mx") == {
        "name": "mail.example.com",
        "type": "MX",
        "records": ["10 feedback-smtp.eu-west-1.amazonses.com"],
        "ttl": 600,
    }
    assert inputs("email-mail-from-spf")["records"] == ["v=spf1 include:amazonses.com ~all"]
    assert inputs("email-dmarc") == {
        "name": "_dmarc.example.com",
        "type": "TXT",
        "records": ["v=DMARC1; p=none; rua=mailto:dmarc-reports@example.com"],
        "ttl": 600,
    }
    # Never overwrites a DMARC record (or any other) the zone already has.
    assert not any(
        r.inputs.get("allowOverwrite") for r in recording.of_type(RECORD) if r.name.startswith("email")
    )


def test_the_configuration_set_requires_tls_tracks_reputation_and_suppresses(recording: Recording) -> None:
    inputs = recording.one("aws:sesv2/configurationSet:ConfigurationSet", "email").inputs
    assert inputs["configurationSetName"] == "paved-prod"
    assert inputs["deliveryOptions"] == {"tlsPolicy": "REQUIRE"}
    assert inputs["reputationOptions"] == {"reputationMetricsEnabled": True}
    assert inputs["suppressionOptions"] == {"suppressedReasons": ["BOUNCE", "COMPLAINT"]}


def test_bounces_and_complaints_go_to_the_encrypted_topic_once_ses_may_publish(recording: Recording) -> None:
    destination = recording.one(
        "aws:sesv2/configurationSetEventDestination:ConfigurationSetEventDestination", "email"
    )
    event = destination.inputs["eventDestination"]
    assert event["enabled"] is True and event["matchingEventTypes"] == ["BOUNCE", "COMPLAINT"]
    topic = recording.one("aws:sns/topic:Topic", "email")
    assert topic.inputs["name"] == "paved-prod-email-events"
    assert topic.urn in destination.property_dependencies["eventDestination"]
    assert recording.one("aws:sns/topicPolicy:TopicPolicy", "email").urn in destination.dependencies
    key = recording.one("aws:kms/key:Key", "email")
    assert key.urn in topic.property_dependencies["kmsMasterKeyId"] and key.protect
    # The topic has no subscription: bounces are many and nobody's page (the alarms page instead).
    assert not [
        s
        for s in recording.of_type("aws:sns/topicSubscription:TopicSubscription")
        if s.name.startswith("email")
    ]


def test_ses_may_use_the_key_for_this_topic_only(recording: Recording) -> None:
    policy = json.loads(recording.one("aws:kms/key:Key", "email").inputs["policy"])
    [service] = [s for s in policy["Statement"] if s["Sid"] == "ServiceUse"]
    assert service == {
        "Sid": "ServiceUse",
        "Effect": "Allow",
        "Principal": {"Service": ["ses.amazonaws.com"]},
        "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
        "Resource": "*",
        "Condition": {"StringEquals": {"kms:EncryptionContext:aws:sns:topicArn": TOPIC_ARN}},
    }


def test_the_topic_admits_ses_for_this_configuration_set_only() -> None:
    def policy() -> pulumi.Output[str]:
        context = AwsContext(*(pulumi.Output.from_input(v) for v in ("aws", "eu-west-1", ACCOUNT)))
        return _topic_policy(pulumi.Output.from_input(TOPIC_ARN), pulumi.Output.from_input(SET_ARN), context)

    document = json.loads(_resolve(policy))
    owner, ses = document["Statement"]
    assert owner["Sid"] == "AccountOwner" and "sns:Publish" not in owner["Action"]
    assert ses == {
        "Sid": "SesEvents",
        "Effect": "Allow",
        "Principal": {"Service": "ses.amazonaws.com"},
        "Action": "sns:Publish",
        "Resource": TOPIC_ARN,
        "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT, "aws:SourceArn": SET_ARN}},
    }


def _access() -> EmailAccess:
    return EmailAccess(
        identity_arn=pulumi.Output.from_input(IDENTITY_ARN),
        configuration_set_arn=pulumi.Output.from_input(SET_ARN),
        configuration_set_name="paved-prod",
        domain="example.com",
        region="eu-west-1",
    )


def test_a_sender_may_send_as_the_identity_through_the_configuration_set_only() -> None:
    document = json.loads(_resolve(lambda: policy_document(*_access().statements())))
    assert document["Statement"] == [
        {
            "Effect": "Allow",
            "Action": ["ses:SendEmail", "ses:SendRawEmail"],
            "Resource": [IDENTITY_ARN, SET_ARN],
        }
    ]


def test_only_the_apps_that_list_email_get_the_grant_and_the_env(recording: Recording) -> None:
    identity = recording.one("aws:sesv2/emailIdentity:EmailIdentity", "email").urn
    configuration_set = recording.one("aws:sesv2/configurationSet:ConfigurationSet", "email").urn
    for app in ("web", "api", "worker"):
        env = recording.one("kubernetes:core/v1:ConfigMap", f"{app}-env").inputs["data"]
        policies = [
            p for p in recording.of_type("aws:iam/rolePolicy:RolePolicy") if p.name == f"{app}-secrets"
        ]
        depends = {urn for policy in policies for urn in policy.property_dependencies["policy"]}
        if app in SENDERS:
            assert {identity, configuration_set} <= depends
            assert {k: env[k] for k in ("SES_CONFIGURATION_SET", "SES_FROM_DOMAIN", "SES_REGION")} == {
                "SES_CONFIGURATION_SET": "paved-prod",
                "SES_FROM_DOMAIN": "example.com",
                "SES_REGION": "eu-west-1",
            }
        else:
            assert identity not in depends and "SES_REGION" not in env


def test_the_alarms_watch_the_account_rates_before_aws_reviews_it(recording: Recording) -> None:
    for name, metric, threshold in (
        ("email-bounce-rate", "Reputation.BounceRate", 0.04),
        ("email-complaint-rate", "Reputation.ComplaintRate", 0.0008),
    ):
        alarm = recording.one("aws:cloudwatch/metricAlarm:MetricAlarm", name).inputs
        assert (alarm["namespace"], alarm["metricName"], alarm["statistic"]) == ("AWS/SES", metric, "Maximum")
        assert alarm["threshold"] == pytest.approx(threshold) and "dimensions" not in alarm
        assert (
            alarm["treatMissingData"] == "notBreaching"
            and alarm["comparisonOperator"] == "GreaterThanThreshold"
        )
        assert alarm["alarmDescription"].endswith(f"(runbook: docs/runbooks/{name}.md)")


def test_names_are_ones_aws_accepts_and_every_type_is_classified(recording: Recording) -> None:
    assert name_problems(recording) == []
    assert _aws_types(recording) <= set(CREATES) | set(NOTHING_TO_CHECK)
    assert _classified_types(recording) <= STATEFUL.keys() | STATELESS
    assert recording.stack_outputs["email_events_topic_arn"] is not None


def test_event_types_are_the_ones_ses_accepts() -> None:
    model = botocore.session.get_session().get_service_model("sesv2")
    assert list(get_args(EventType)) == model.shape_for("EventType").enum


def test_dmarc_record_follows_config() -> None:
    def args(**changes: Any) -> EmailArgs:
        return EmailArgs.model_validate({**PRESETS["prod"]["email"], **changes})

    assert args(dmarcPolicy="quarantine").dmarc_record() == "v=DMARC1; p=quarantine"
    assert args(dmarcPolicy=None).dmarc_record() is None


@pytest.mark.parametrize("stack", ["prod", "staging"])
def test_shipped_stacks_do_not_use_ses(shipped_recordings: Callable[[str], Recording], stack: str) -> None:
    recording = shipped_recordings(stack)
    assert not [r for r in recording.resources if r.type.startswith("aws:sesv2")]
    assert recording.stack_outputs.get("email_events_topic_arn") is None
    raw = yaml.safe_load((ROOT / "stacks" / f"Pulumi.{stack}.yaml").read_text())["config"]
    assert "paved:email" not in raw


def _no_zone(raw: dict[str, Any]) -> dict[str, Any]:
    certificate = f"{ACCOUNT}:certificate/12345678-1234-1234-1234-123456789012"
    domain = {
        "name": "example.com",
        "certificateArn": f"arn:aws:acm:eu-west-1:{certificate}",
        "cloudfrontCertificateArn": f"arn:aws:acm:us-east-1:{certificate}",
    }
    return {**email_on(raw), "paved:domain": domain}


RULE_CASES = [
    case("prod", apps(1, {"email": True}), "paved:apps[1].email", "app-email-needs-ses"),
    case("prod", _no_zone, "paved:email.enabled", "email-needs-hosted-zone"),
    case(
        "staging",
        lambda raw: changed(email_on(raw), {"paved:email": {"domain": "example.org"}}),
        "paved:email.domain",
        "email-domain-outside-zone",
    ),
    case(
        "prod",
        section("paved:email", {"enabled": True}),
        "paved:email.dmarcReportEmail",
        "email-prod-dmarc-none-needs-reports",
    ),
    case(
        "staging",
        section("paved:email", {"dmarcPolicy": None, "dmarcReportEmail": "dmarc@example.com"}),
        "paved:email.dmarcReportEmail",
        "email-reports-without-record",
    ),
    case(
        "staging",
        section("paved:email", {"dmarcPolicy": "monitor"}),
        "paved:email.dmarcPolicy",
        "dmarc-policy",
    ),
    case(
        "staging",
        section("paved:email", {"dmarcReportEmail": "nobody"}),
        "paved:email.dmarcReportEmail",
        "dmarc-rua",
    ),
    case(
        "staging",
        section("paved:email", {"mailFromSubdomain": "Mail.x"}),
        "paved:email.mailFromSubdomain",
        "mail-from-label",
    ),
    case(
        "staging",
        section("paved:email", {"events": ["BOUNCES"]}),
        "paved:email.events[0]",
        "email-event-type",
    ),
    case("staging", section("paved:email", {"events": []}), "paved:email.events", "email-events-empty"),
    case(
        "prod",
        lambda raw: with_app(email_on(raw), 1, {"env": {"SES_REGION": "us-east-1"}}),
        "paved:apps[1].env.SES_REGION",
        "email-env-reserved",
    ),
]


@pytest.mark.parametrize(("stack", "mutation", "path"), RULE_CASES)
def test_rule_reports_path_and_hint(stack: str, mutation: Mutation, path: str) -> None:
    assert_rule_reports_path_and_hint(stack, mutation, path)
