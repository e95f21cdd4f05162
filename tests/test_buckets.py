"""SecureBucket (issue #4), run once under first-preview semantics: assertions on recorded inputs.

The fixture (tests/fixtures/bucket_program) makes an SSE-KMS assets bucket read by CloudFront and an SSE-S3
ALB log bucket. A first preview cannot know a new bucket's ARN, so the recorded bucket policies are unknown,
as they are for `pulumi preview`; the policy documents are read from the same component run under Pulumi's
unit-test mocks instead, which answer with an ARN.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pulumi
import pytest
from pulumi.runtime import settings as runtime_settings

from components.buckets import (
    ABORT_INCOMPLETE_MULTIPART_DAYS,
    NONCURRENT_VERSION_DAYS,
    SecureBucket,
    ServerAccessLogs,
    alb_log_delivery_statement,
    bucket_policy,
    cloudfront_read_statement,
)
from paved.program import run_project
from paved.recorder import RecordedResource, Recording
from paved.values import is_unknown

FIXTURE = Path(__file__).parent / "fixtures" / "bucket_program"
ACCOUNT = "123456789012"
DISTRIBUTION_ARN = "arn:aws:cloudfront::123456789012:distribution/EDFDVBD6EXAMPLE"
COMPONENT = "paved:buckets:SecureBucket"
BUCKET = "aws:s3/bucket:Bucket"
PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
OWNERSHIP = "aws:s3/bucketOwnershipControls:BucketOwnershipControls"
ENCRYPTION = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
VERSIONING = "aws:s3/bucketVersioning:BucketVersioning"
LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
POLICY = "aws:s3/bucketPolicy:BucketPolicy"
LOGGING = "aws:s3/bucketLogging:BucketLogging"
KEY = "aws:kms/key:Key"
SOURCES = ["assets", "alb-logs"]
ACCESS_LOGS = "s3-access-logs"
BUCKETS = [*SOURCES, ACCESS_LOGS]


@pytest.fixture(scope="module")
def recording() -> Recording:
    return run_project(FIXTURE, "dev")


def _child(recording: Recording, type_: str, name: str) -> RecordedResource:
    resource = recording.one(type_, name)
    assert resource.parent == recording.one(COMPONENT, name).urn
    return resource


def _bucket_urn(recording: Recording, name: str) -> str:
    return _child(recording, BUCKET, name).urn


# --- recorded inputs --------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", BUCKETS)
def test_bucket_is_autonamed_kept_and_tagged(name: str, recording: Recording) -> None:
    bucket = _child(recording, BUCKET, name)
    assert bucket.inputs["forceDestroy"] is False
    assert "bucket" not in bucket.inputs and "bucketPrefix" not in bucket.inputs
    assert bucket.inputs["tags"]["environment"] == "dev" and bucket.inputs["tags"]["managed-by"] == "paved"
    assert bucket.inputs["tags"]["purpose"] in {"static assets", "ALB access logs", "S3 server access logs"}
    # The legacy inline arguments stay unset: each setting is its own resource.
    legacy = {"acl", "grants", "policy", "versioning", "lifecycleRules", "serverSideEncryptionConfiguration"}
    assert not legacy & set(bucket.inputs)


@pytest.mark.parametrize(("name", "protected"), [("assets", True), ("alb-logs", False), (ACCESS_LOGS, False)])
def test_protect_is_honoured_on_the_bucket(name: str, protected: bool, recording: Recording) -> None:
    assert _child(recording, BUCKET, name).protect is protected


@pytest.mark.parametrize("name", BUCKETS)
def test_all_four_public_access_blocks_are_on(name: str, recording: Recording) -> None:
    block = _child(recording, PUBLIC_ACCESS_BLOCK, name)
    flags = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    assert {flag: block.inputs.get(flag) for flag in flags} == dict.fromkeys(flags, True)
    assert block.property_dependencies["bucket"] == [_bucket_urn(recording, name)]


@pytest.mark.parametrize("name", BUCKETS)
def test_acls_are_disabled(name: str, recording: Recording) -> None:
    ownership = _child(recording, OWNERSHIP, name)
    assert ownership.inputs["rule"] == {"objectOwnership": "BucketOwnerEnforced"}
    assert ownership.property_dependencies["bucket"] == [_bucket_urn(recording, name)]


def test_kms_bucket_uses_its_key_with_a_bucket_key(recording: Recording) -> None:
    encryption = _child(recording, ENCRYPTION, "assets")
    [rule] = encryption.inputs["rules"]
    assert rule["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "aws:kms"
    assert "kmsMasterKeyId" in rule["applyServerSideEncryptionByDefault"]
    assert encryption.property_dependencies["rules"] == [recording.one(KEY, "assets").urn]
    assert rule["bucketKeyEnabled"] is True


@pytest.mark.parametrize("name", ["alb-logs", ACCESS_LOGS])
def test_log_buckets_use_sse_s3(name: str, recording: Recording) -> None:
    # ALB access logs: "The only server-side encryption option that's supported is ... SSE-S3"
    # https://docs.aws.amazon.com/elasticloadbalancing/latest/application/enable-access-logging.html
    # S3 server access logs: SSE-S3 default encryption only, SSE-KMS is not supported.
    # https://docs.aws.amazon.com/AmazonS3/latest/userguide/enable-server-access-logging.html
    encryption = _child(recording, ENCRYPTION, name)
    assert encryption.inputs["rules"] == [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}]
    assert encryption.property_dependencies["rules"] == []


@pytest.mark.parametrize("name", BUCKETS)
def test_versioning_is_enabled(name: str, recording: Recording) -> None:
    versioning = _child(recording, VERSIONING, name)
    assert versioning.inputs["versioningConfiguration"] == {"status": "Enabled"}
    assert versioning.property_dependencies["bucket"] == [_bucket_urn(recording, name)]


@pytest.mark.parametrize(
    ("name", "expiration"),
    [
        ("assets", {"expiredObjectDeleteMarker": True}),
        ("alb-logs", {"days": 90}),
        (ACCESS_LOGS, {"days": 30}),
    ],
)
def test_lifecycle_tidies_up_and_expires_only_when_asked(
    name: str, expiration: dict[str, Any], recording: Recording
) -> None:
    lifecycle = _child(recording, LIFECYCLE, name)
    [rule] = lifecycle.inputs["rules"]
    assert rule["status"] == "Enabled"
    assert rule["filter"] == {}  # every object
    assert rule["abortIncompleteMultipartUpload"] == {"daysAfterInitiation": ABORT_INCOMPLETE_MULTIPART_DAYS}
    assert ABORT_INCOMPLETE_MULTIPART_DAYS == 7
    assert rule["noncurrentVersionExpiration"] == {"noncurrentDays": NONCURRENT_VERSION_DAYS}
    # Only log buckets expire current objects; the assets bucket keeps them.
    assert rule["expiration"] == expiration
    assert _child(recording, VERSIONING, name).urn in lifecycle.dependencies


@pytest.mark.parametrize("name", BUCKETS)
def test_policy_follows_the_public_access_block_and_names_the_bucket(name: str, recording: Recording) -> None:
    policy = _child(recording, POLICY, name)
    assert _child(recording, PUBLIC_ACCESS_BLOCK, name).urn in policy.dependencies
    # A new bucket's ARN is unknown in a first preview, and so is a document that embeds it.
    assert is_unknown(policy.inputs["policy"])
    # The access log bucket's policy also names the buckets whose logs it admits.
    named = [*SOURCES, name] if name == ACCESS_LOGS else [name]
    assert sorted(policy.property_dependencies["policy"]) == sorted(_bucket_urn(recording, n) for n in named)
    assert policy.property_dependencies["bucket"] == [_bucket_urn(recording, name)]


def test_one_policy_per_bucket(recording: Recording) -> None:
    # S3 keeps one policy per bucket; a second BucketPolicy would replace the first, TLS deny included.
    bucket_urns = [policy.property_dependencies["bucket"][0] for policy in recording.of_type(POLICY)]
    assert sorted(bucket_urns) == sorted(_bucket_urn(recording, name) for name in BUCKETS)


@pytest.mark.parametrize("name", SOURCES)
def test_every_bucket_logs_into_the_access_log_bucket(name: str, recording: Recording) -> None:
    logging = _child(recording, LOGGING, name)
    target = _bucket_urn(recording, ACCESS_LOGS)
    assert logging.property_dependencies["bucket"] == [_bucket_urn(recording, name)]
    assert logging.property_dependencies["targetBucket"] == [target]
    assert logging.inputs["targetPrefix"] == f"{name}/"
    assert "targetGrants" not in logging.inputs  # BucketOwnerEnforced targets take no grants
    # The policy admitting the logging service is in place before S3 starts writing.
    assert _child(recording, POLICY, ACCESS_LOGS).urn in logging.dependencies


def test_the_access_log_bucket_does_not_log_itself(recording: Recording) -> None:
    # AWS advises against a target that logs: each delivery would be logged in turn.
    logged = [logging.property_dependencies["bucket"] for logging in recording.of_type(LOGGING)]
    assert sorted(logged) == sorted([_bucket_urn(recording, name)] for name in SOURCES)


def test_outputs_come_from_the_bucket(recording: Recording) -> None:
    component = recording.one(COMPONENT, "assets")
    assert set(component.outputs) == {"bucket_name", "bucket_arn", "regional_domain_name"}
    # Unknown until the bucket exists: nothing is named by hand.
    assert all(is_unknown(value) for value in recording.stack_outputs.values())


# --- policy documents, with an ARN (Pulumi unit-test mocks) ----------------------------------------------


class _Mocks(pulumi.runtime.Mocks):
    """Answers as AWS would after a create: a bucket gets an ARN, everything else echoes its inputs."""

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict]:
        outputs = dict(args.inputs)
        if args.typ == BUCKET:
            outputs["arn"] = f"arn:aws:s3:::{args.name}-bucket"
        return f"{args.name}-id", outputs

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict, list[tuple[str, str]] | None]:
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {"accountId": ACCOUNT, "arn": f"arn:aws:iam::{ACCOUNT}:root", "userId": ACCOUNT}, []
        raise NotImplementedError(f"no mock for {args.token}")


def _resolve(build: Callable[[], pulumi.Output[Any]]) -> Any:
    """Run `build` as a program under the mocks (an update, not a preview) and return its value."""
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    # Put back the project and stack after: tests that read them (load_from_pulumi) may run next.
    project, stack = pulumi.get_project(), pulumi.get_stack()
    pulumi.runtime.set_mocks(_Mocks(), project="bucketdemo", stack="unit", preview=False)
    box: dict[str, Any] = {}

    @pulumi.runtime.test
    def program() -> pulumi.Output[None]:
        return build().apply(lambda value: box.update(value=value))

    try:
        program()
    finally:
        runtime_settings.reset_options(project=project, stack=stack)
        loop.close()
        asyncio.set_event_loop(None)
    return box["value"]


def _document(build: Callable[[], pulumi.Output[str]]) -> dict[str, Any]:
    return json.loads(_resolve(build))


def _by_sid(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    assert document["Version"] == "2012-10-17"
    return {statement["Sid"]: statement for statement in document["Statement"]}


def _tls_deny(arn: str) -> dict[str, Any]:
    # https://docs.aws.amazon.com/AmazonS3/latest/userguide/security-best-practices.html
    return {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [arn, f"{arn}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def test_component_policy_for_alb_logs() -> None:
    document = _document(
        lambda: (
            SecureBucket(
                "alb-logs",
                purpose="ALB access logs",
                kms_key_arn=None,
                expire_days=90,
                extra_statements=lambda arn: [alb_log_delivery_statement(arn, ACCOUNT, "aws")],
                access_logs=None,
                protect=False,
                tags={},
            ).policy.policy
        )
    )
    arn = "arn:aws:s3:::alb-logs-bucket"
    statements = _by_sid(document)
    assert set(statements) == {"DenyInsecureTransport", "AllowAlbLogDelivery"}
    assert statements["DenyInsecureTransport"] == _tls_deny(arn)
    # The policy AWS documents for all Regions today:
    # https://docs.aws.amazon.com/elasticloadbalancing/latest/application/enable-access-logging.html
    assert statements["AllowAlbLogDelivery"] == {
        "Sid": "AllowAlbLogDelivery",
        "Effect": "Allow",
        "Principal": {"Service": "logdelivery.elasticloadbalancing.amazonaws.com"},
        "Action": "s3:PutObject",
        "Resource": f"{arn}/AWSLogs/{ACCOUNT}/*",
    }


def test_component_policy_for_cloudfront_reads() -> None:
    document = _document(
        lambda: (
            SecureBucket(
                "assets",
                purpose="static assets",
                kms_key_arn="arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
                expire_days=None,
                extra_statements=lambda arn: [cloudfront_read_statement(arn, DISTRIBUTION_ARN)],
                access_logs=None,
                protect=True,
                tags={},
            ).policy.policy
        )
    )
    arn = "arn:aws:s3:::assets-bucket"
    statements = _by_sid(document)
    assert statements["DenyInsecureTransport"] == _tls_deny(arn)
    # https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/private-content-restricting-access-to-s3.html
    assert statements["AllowCloudFrontServicePrincipalReadOnly"] == {
        "Sid": "AllowCloudFrontServicePrincipalReadOnly",
        "Effect": "Allow",
        "Principal": {"Service": "cloudfront.amazonaws.com"},
        "Action": "s3:GetObject",
        "Resource": f"{arn}/*",
        "Condition": {"StringEquals": {"AWS:SourceArn": DISTRIBUTION_ARN}},
    }


def _source(name: str, access_logs: ServerAccessLogs) -> SecureBucket:
    return SecureBucket(
        name,
        purpose="x",
        kms_key_arn=None,
        expire_days=None,
        access_logs=access_logs,
        protect=False,
        tags={},
    )


def test_access_log_bucket_policy_admits_the_logging_service_for_its_buckets_only() -> None:
    def build() -> pulumi.Output[str]:
        access_logs = ServerAccessLogs("access-logs", expire_days=30, protect=False, tags={})
        _source("assets", access_logs)
        _source("alb-logs", access_logs)
        target = access_logs.deliver()
        assert target is not None
        return target.policy.policy

    arn = "arn:aws:s3:::access-logs-bucket"
    statements = _by_sid(_document(build))
    assert set(statements) == {"DenyInsecureTransport", "AllowS3ServerAccessLogs"}
    assert statements["DenyInsecureTransport"] == _tls_deny(arn)
    # https://docs.aws.amazon.com/AmazonS3/latest/userguide/enable-server-access-logging.html
    assert statements["AllowS3ServerAccessLogs"] == {
        "Sid": "AllowS3ServerAccessLogs",
        "Effect": "Allow",
        "Principal": {"Service": "logging.s3.amazonaws.com"},
        "Action": "s3:PutObject",
        "Resource": [f"{arn}/assets/*", f"{arn}/alb-logs/*"],
        "Condition": {
            "ArnLike": {"aws:SourceArn": ["arn:aws:s3:::assets-bucket", "arn:aws:s3:::alb-logs-bucket"]},
            "StringEquals": {"aws:SourceAccount": ACCOUNT},
        },
    }


def test_access_logs_without_buckets_make_no_log_bucket() -> None:
    assert ServerAccessLogs("unused", expire_days=30, protect=False, tags={}).deliver() is None


def test_a_bucket_declared_after_delivery_is_refused() -> None:
    # SecureBucket joins through add(); one declared after deliver() would otherwise go unlogged.
    access_logs = ServerAccessLogs("access-logs", expire_days=30, protect=False, tags={})
    access_logs.deliver()
    with pytest.raises(ValueError, match="after deliver"):
        access_logs.add("late", object.__new__(SecureBucket))
    with pytest.raises(ValueError, match="delivered twice"):
        access_logs.deliver()


def test_two_buckets_cannot_share_a_log_prefix() -> None:
    access_logs = ServerAccessLogs("access-logs", expire_days=30, protect=False, tags={})
    first = object.__new__(SecureBucket)
    access_logs.add("assets", first)
    with pytest.raises(ValueError, match="distinct names"):
        access_logs.add("assets", first)


def test_policy_without_extra_statements_is_the_tls_deny_alone() -> None:
    arn = "arn:aws:s3:::plain"
    assert _document(lambda: bucket_policy(arn)) == {"Version": "2012-10-17", "Statement": [_tls_deny(arn)]}


def test_extra_statements_may_be_a_plain_sequence() -> None:
    # Statements that do not name the bucket itself need no function of its ARN.
    extra = {"Sid": "DenyDeleteBucket", "Effect": "Deny", "Principal": "*", "Action": "s3:DeleteBucket"}
    document = _document(
        lambda: (
            SecureBucket(
                "plain",
                purpose="x",
                kms_key_arn=None,
                expire_days=None,
                extra_statements=[extra],
                access_logs=None,
                protect=False,
                tags={},
            ).policy.policy
        )
    )
    assert document["Statement"] == [_tls_deny("arn:aws:s3:::plain-bucket"), extra]


# --- refusals ---------------------------------------------------------------------------------------------


def test_repeated_statement_ids_are_refused() -> None:
    def build() -> pulumi.Output[str]:
        statement = cloudfront_read_statement("arn:aws:s3:::b", DISTRIBUTION_ARN)
        return bucket_policy("arn:aws:s3:::b", [statement, statement])

    with pytest.raises(ValueError, match="statement IDs repeat"):
        _resolve(build)


def test_alb_statement_outside_the_aws_partition_is_refused() -> None:
    with pytest.raises(ValueError, match="aws-cn"):
        _resolve(lambda: alb_log_delivery_statement("arn:aws-cn:s3:::b", ACCOUNT, "aws-cn"))


@pytest.mark.parametrize("days", [0, -1])
def test_expire_days_must_be_positive(days: int) -> None:
    with pytest.raises(ValueError, match="expire_days"):
        SecureBucket(
            "bad", purpose="x", kms_key_arn=None, expire_days=days, access_logs=None, protect=False, tags={}
        )
