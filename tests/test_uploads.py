"""The uploads bucket (issue #20): prod recorded with `paved:uploads` on and two apps listing it.

A first preview cannot know the bucket's ARN, so the bucket policy and the apps' role policies are unknown
in the recording; their documents are built from the same functions under Pulumi's unit-test mocks
(`tests/test_buckets.py`'s `_resolve`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml
from paved_policies.wiring.identity import evaluate
from paved_policies.wiring.verdicts import Verdict

from components.cdn import CACHING_OPTIMIZED, UPLOADS_CONTENT_SECURITY_POLICY
from components.iam import policy_document
from components.uploads import CORS_EXPOSED, UploadsAccess, only_key_statements
from paved.program import run_project
from paved.recorder import Recording
from tests.stack_config import Mutation, apps, assert_rule_reports_path_and_hint, case, section, shipped
from tests.test_aws_names import CREATES, NOTHING_TO_CHECK, _aws_types, name_problems
from tests.test_buckets import _resolve
from tests.test_stateful import STATEFUL, STATELESS, _classified_types

ROOT = Path(__file__).resolve().parents[1]
BUCKET_ARN = "arn:aws:s3:::paved-prod-uploads-bucket"
KEY_ARN = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
UPLOADERS = {"web", "worker"}


def _uploads_on(raw: dict[str, Any]) -> dict[str, Any]:
    listed = [{**app, "uploads": app["name"] in UPLOADERS} for app in raw["paved:apps"]]
    return {
        "paved:uploads": {"enabled": True, "lifecycle": {"expirePrefixes": {"uploads/tmp/": 1}}},
        "paved:apps": listed,
        "paved:edge": {**raw["paved:edge"], "uploadPaths": ["/api/files"]},
    }


@pytest.fixture(scope="module")
def recording() -> Recording:
    return run_project(ROOT, "prod", _uploads_on(shipped("prod")))


def test_the_bucket_has_the_baseline_its_own_key_and_is_protected(recording: Recording) -> None:
    bucket = recording.one("aws:s3/bucket:Bucket", "uploads")
    assert bucket.protect and bucket.inputs["forceDestroy"] is False
    assert recording.one("aws:kms/key:Key", "uploads").protect
    [rule] = recording.one(
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", "uploads"
    ).inputs["rules"]
    assert rule["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "aws:kms"
    assert rule["bucketKeyEnabled"] is True
    versioning = recording.one("aws:s3/bucketVersioning:BucketVersioning", "uploads").inputs
    assert versioning["versioningConfiguration"]["status"] == "Enabled"
    assert recording.one("aws:s3/bucketLogging:BucketLogging", "uploads").inputs["targetPrefix"] == "uploads/"


def test_lifecycle_comes_from_config(recording: Recording) -> None:
    rules = recording.one(
        "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", "uploads"
    ).inputs["rules"]
    baseline, tmp = rules
    assert baseline["noncurrentVersionExpiration"] == {"noncurrentDays": 30}
    assert baseline["abortIncompleteMultipartUpload"] == {"daysAfterInitiation": 7}
    assert tmp == {
        "id": "expire-0",
        "status": "Enabled",
        "filter": {"prefix": "uploads/tmp/"},
        "expiration": {"days": 1},
    }


def test_cors_admits_the_apps_hosts_for_presigned_uploads(recording: Recording) -> None:
    [rule] = recording.one("aws:s3/bucketCorsConfiguration:BucketCorsConfiguration", "uploads").inputs[
        "corsRules"
    ]
    assert rule["allowedOrigins"] == ["https://app.example.com"]
    assert set(rule["allowedMethods"]) == {"PUT", "POST", "GET", "HEAD"}
    assert rule["exposeHeaders"] == list(CORS_EXPOSED) == ["ETag"]


def test_the_bucket_policy_refuses_any_other_encryption() -> None:
    statements = _resolve(lambda: pulumi.Output.all(*only_key_statements(BUCKET_ARN, KEY_ARN)))
    by_sid = {statement["Sid"]: statement for statement in statements}
    assert by_sid["DenyOtherEncryption"] == {
        "Sid": "DenyOtherEncryption",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:PutObject",
        "Resource": f"{BUCKET_ARN}/*",
        "Condition": {
            "StringNotEquals": {"s3:x-amz-server-side-encryption": "aws:kms"},
            "Null": {"s3:x-amz-server-side-encryption": "false"},
        },
    }
    # What the statements do to requests, by the wiring proof's IAM evaluator: a deny that holds is BROKEN.
    allow_all = {"Effect": "Allow", "Principal": "*", "Action": "s3:PutObject", "Resource": "*"}
    policy = [allow_all, *statements]
    encryption, key_id = "s3:x-amz-server-side-encryption", "s3:x-amz-server-side-encryption-aws-kms-key-id"
    requests = {
        "a presigned PUT without SSE headers": ({}, Verdict.PROVEN),
        "an UploadPart (no SSE header exists)": ({}, Verdict.PROVEN),
        "the bucket's key named": ({encryption: "aws:kms", key_id: KEY_ARN}, Verdict.PROVEN),
        "SSE-S3": ({encryption: "AES256"}, Verdict.BROKEN),
        "another key": ({encryption: "aws:kms", key_id: KEY_ARN.replace("1234", "9999")}, Verdict.BROKEN),
    }
    for what, (context, verdict) in requests.items():
        assert evaluate(policy, "s3:PutObject", f"{BUCKET_ARN}/uploads/a", context).verdict is verdict, what


def _access(served_by_cdn: bool) -> UploadsAccess:
    return UploadsAccess(
        bucket_name=pulumi.Output.from_input("paved-prod-uploads-bucket"),
        bucket_arn=pulumi.Output.from_input(BUCKET_ARN),
        key_arn=pulumi.Output.from_input(KEY_ARN),
        region="eu-west-1",
        served_by_cdn=served_by_cdn,
    )


def test_an_uploader_may_put_and_get_under_the_prefix_and_use_the_key_only_through_s3() -> None:
    document = json.loads(_resolve(lambda: policy_document(*_access(True).statements())))
    assert document["Statement"] == [
        {
            "Effect": "Allow",
            "Action": [
                "s3:PutObject",
                "s3:GetObject",
                "s3:AbortMultipartUpload",
                "s3:ListMultipartUploadParts",
            ],
            "Resource": f"{BUCKET_ARN}/uploads/*",
        },
        {
            "Effect": "Allow",
            "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
            "Resource": KEY_ARN,
            "Condition": {
                "StringEquals": {
                    "kms:ViaService": "s3.eu-west-1.amazonaws.com",
                    "kms:EncryptionContext:aws:s3:arn": BUCKET_ARN,
                }
            },
        },
    ]


def test_only_the_apps_that_list_uploads_get_the_grant_and_the_env(recording: Recording) -> None:
    for app in ("web", "api", "worker"):
        policy = recording.one("aws:iam/rolePolicy:RolePolicy", f"{app}-secrets")
        bucket = recording.one("aws:s3/bucket:Bucket", "uploads")
        depends = set(policy.property_dependencies["policy"])
        env = recording.one("kubernetes:core/v1:ConfigMap", f"{app}-env").inputs["data"]
        if app in UPLOADERS:
            assert bucket.urn in depends
            assert (env["UPLOADS_PREFIX"], env["UPLOADS_REGION"], env["UPLOADS_PUBLIC_PATH"]) == (
                "uploads/",
                "eu-west-1",
                "/uploads/",
            )
        else:
            assert bucket.urn not in depends and "UPLOADS_BUCKET" not in env


def test_without_cloudfront_the_app_gets_no_public_path() -> None:
    assert "UPLOADS_PUBLIC_PATH" not in _resolve(lambda: pulumi.Output.all(**_access(False).env()))


def test_cloudfront_serves_uploads_through_oac_on_their_own_sandboxed_path(recording: Recording) -> None:
    distribution = recording.one("aws:cloudfront/distribution:Distribution", "cdn")
    first, *assets = distribution.inputs["orderedCacheBehaviors"]
    assert first["pathPattern"] == "/uploads/*" and first["targetOriginId"] == "uploads"
    assert first["allowedMethods"] == ["GET", "HEAD"] and first["cachePolicyId"] == CACHING_OPTIMIZED
    assert {behavior["targetOriginId"] for behavior in assets} == {"assets-group"}
    [origin] = [o for o in distribution.inputs["origins"] if o["originId"] == "uploads"]
    access = recording.one("aws:cloudfront/originAccessControl:OriginAccessControl")
    assert "originAccessControlId" in origin and access.urn in distribution.dependencies
    headers = recording.one(
        "aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy", "cdn-uploads-headers"
    )
    csp = headers.inputs["securityHeadersConfig"]["contentSecurityPolicy"]["contentSecurityPolicy"]
    assert csp == UPLOADS_CONTENT_SECURITY_POLICY and csp.endswith("sandbox")
    assert headers.urn in distribution.property_dependencies["orderedCacheBehaviors"]


def test_the_key_and_bucket_policies_wait_for_the_distribution(recording: Recording) -> None:
    distribution = recording.one("aws:cloudfront/distribution:Distribution", "cdn").urn
    key_policy = recording.one("aws:kms/keyPolicy:KeyPolicy", "uploads")
    bucket_policy = recording.one("aws:s3/bucketPolicy:BucketPolicy", "uploads")
    assert distribution in key_policy.property_dependencies["policy"]
    assert distribution in bucket_policy.property_dependencies["policy"]


def test_the_upload_path_exemption_holds_only_for_upload_methods(recording: Recording) -> None:
    acl = recording.one("aws:wafv2/webAcl:WebAcl", "cdn-waf").inputs
    [rule] = [rule for rule in acl["rules"] if rule["name"] == "upload-path"]
    paths, methods = rule["statement"]["andStatement"]["statements"]
    assert paths["byteMatchStatement"]["searchString"] == "/api/files"
    matched = [s["byteMatchStatement"] for s in methods["orStatement"]["statements"]]
    assert [(m["searchString"], m["positionalConstraint"], list(m["fieldToMatch"])) for m in matched] == [
        ("POST", "EXACTLY", ["method"]),
        ("PUT", "EXACTLY", ["method"]),
    ]


def test_names_are_ones_aws_accepts_and_every_type_is_classified(recording: Recording) -> None:
    assert name_problems(recording) == []
    assert _aws_types(recording) <= set(CREATES) | set(NOTHING_TO_CHECK)
    assert _classified_types(recording) <= STATEFUL.keys() | STATELESS


def test_shipped_stacks_have_no_uploads_bucket(prod: Recording) -> None:
    assert not [r for r in prod.of_type("aws:s3/bucket:Bucket") if r.name == "uploads"]


RULE_CASES = [
    case(
        "prod",
        apps(0, {"uploads": True}),
        "paved:apps[0].uploads",
        "app-uploads-needs-bucket",
    ),
    case(
        "prod",
        lambda raw: {**raw, **_uploads_on(raw), "paved:edge": {"assetPaths": ["/static/*", "/uploads/*"]}},
        "paved:edge.assetPaths[1]",
        "uploads-cdn-path-taken",
    ),
    case(
        "staging",
        section("paved:uploads", {"lifecycle": {"expirePrefixes": {"tmp/": 1}}}),
        "paved:uploads.lifecycle.expirePrefixes.tmp/",
        "uploads-expiry-outside-prefix",
    ),
    case(
        "staging",
        section("paved:uploads", {"corsOrigins": ["http://app.example.com"]}),
        "paved:uploads.corsOrigins[0]",
        "uploads-cors-https",
    ),
    case(
        "prod",
        lambda raw: {
            **raw,
            **_uploads_on(raw),
            "paved:apps": [{**app, "env": {"UPLOADS_BUCKET": "x"}} for app in _uploads_on(raw)["paved:apps"]],
        },
        "paved:apps[0].env.UPLOADS_BUCKET",
        "uploads-env-reserved",
    ),
    case(
        "staging",
        section("paved:edge", {"uploadMethods": ["GET"]}),
        "paved:edge.uploadMethods[0]",
        "upload-methods",
    ),
]


@pytest.mark.parametrize(("stack", "mutation", "path"), RULE_CASES)
def test_rule_reports_path_and_hint(stack: str, mutation: Mutation, path: str) -> None:
    assert_rule_reports_path_and_hint(stack, mutation, path)


def test_presets_leave_uploads_off() -> None:
    for stack in ("prod", "staging"):
        raw = yaml.safe_load((ROOT / "stacks" / f"Pulumi.{stack}.yaml").read_text())["config"]
        assert "paved:uploads" not in raw
