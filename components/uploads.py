"""The uploads bucket (`paved:uploads`): what users upload goes straight from the browser to S3 through a
presigned URL an app signs with its own role, never through CloudFront's WAF, the ALB or a pod.

- Private and SSE-KMS with a key of its own (SecureBucket's baseline: versioned, TLS only, access logged,
  protected in prod); the bucket policy also refuses an object encrypted any other way.
- CORS admits the app's origins for the presigned PUT (and POST, GET), exposing the ETag a multipart upload
  completes with.
- An app that lists `uploads` may put and get objects under `uploads/` only, and use the key only through S3
  for this bucket: nothing else.
- With CloudFront, `/uploads/*` is served from the bucket through origin access control, cached, under a
  response headers policy that sandboxes every response, since an upload is content no one reviewed.
"""

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any

import pulumi
import pulumi_aws as aws
from pydantic import AfterValidator, Field, StringConstraints

from components.buckets import (
    Lifecycle,
    SecureBucket,
    ServerAccessLogs,
    Statements,
    cloudfront_read_statement,
)
from components.edge import HttpsOrigin
from components.kms import account_key, cloudfront_key
from paved.errors import ConfigProblem, Hint
from paved.fields import ConfigModel, RuleContext, distinct

# Apps write under this key prefix; CloudFront forwards `/uploads/<key>` as the object key `uploads/<key>`.
PREFIX = "uploads/"
CDN_PATH = f"/{PREFIX}*"
# What a presigned upload sends besides the object: its type and disposition, a checksum, and the x-amz-*
# headers the SDKs sign (checksums, SSE). CORS allows one wildcard per header name:
# https://docs.aws.amazon.com/AmazonS3/latest/userguide/ManageCorsUsing.html
CORS_HEADERS = ("Content-Type", "Content-MD5", "Content-Disposition", "x-amz-*")
# The browser needs each part's ETag to complete a multipart upload, and CORS hides it unless exposed
# (same page, "ExposeHeader").
CORS_EXPOSED = ("ETag",)
CORS_MAX_AGE_SECONDS = 3000
# Env the apps that list `uploads` get (components/workload.py).
ENV_BUCKET = "UPLOADS_BUCKET"
ENV_REGION = "UPLOADS_REGION"
ENV_PREFIX = "UPLOADS_PREFIX"
ENV_PUBLIC_PATH = "UPLOADS_PUBLIC_PATH"
ENV_NAMES = (ENV_BUCKET, ENV_REGION, ENV_PREFIX, ENV_PUBLIC_PATH)

# S3 object keys are at most 1,024 bytes: https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-keys.html
KeyPrefix = Annotated[str, StringConstraints(min_length=1, max_length=1024)]


class UploadsLifecycle(ConfigModel):
    # S3 lifecycle days are positive whole numbers:
    # https://docs.aws.amazon.com/AmazonS3/latest/API/API_NoncurrentVersionExpiration.html
    noncurrent_version_days: Annotated[
        int, Field(ge=1, le=3650), Hint("days an overwritten or deleted upload stays recoverable: 1 to 3650")
    ]
    abort_incomplete_multipart_days: Annotated[
        int,
        Field(ge=1, le=365),
        Hint("days after which S3 drops the parts of a multipart upload never completed: 1 to 365"),
    ]
    expire_prefixes: Annotated[
        dict[KeyPrefix, Annotated[int, Field(ge=1, le=36500)]],
        Field(max_length=20),
        Hint("key prefix under uploads/ -> days its objects are kept, e.g. uploads/tmp/: 1"),
    ]


class UploadsArgs(ConfigModel):
    enabled: bool
    # Null: https://<host> of every host the apps are served on (components/cdn.py viewer_hosts).
    cors_origins: (
        Annotated[
            list[HttpsOrigin],
            Field(min_length=1),
            AfterValidator(distinct),
            Hint("the origins whose pages upload, e.g. https://app.example.com; null for the apps' hosts"),
        ]
        | None
    ) = None
    lifecycle: UploadsLifecycle

    def violations(self, path: str, ctx: RuleContext) -> Iterator[ConfigProblem]:
        for prefix in self.lifecycle.expire_prefixes:
            if not prefix.startswith(PREFIX):
                yield ConfigProblem(
                    f"{path}.lifecycle.expirePrefixes.{prefix}",
                    f"{prefix!r} is not under {PREFIX}, where the apps write",
                    f"start it with {PREFIX}, e.g. {PREFIX}tmp/",
                )

    def origins(self, hosts: Sequence[str]) -> list[str]:
        return list(self.cors_origins) if self.cors_origins is not None else [f"https://{h}" for h in hosts]


@dataclass(frozen=True)
class UploadsAccess:
    """What an app that lists `uploads` is given: its role's statements and its env."""

    bucket_name: pulumi.Output[str]
    bucket_arn: pulumi.Output[str]
    key_arn: pulumi.Output[str]
    region: str
    served_by_cdn: bool

    def statements(self) -> list[dict[str, Any]]:
        """Put and get objects under `uploads/`, with the bucket's key used only by S3 for this bucket.

        A presigned request runs with the signer's permissions, so this is all a browser can do with one:
        https://docs.aws.amazon.com/AmazonS3/latest/userguide/using-presigned-url.html
        SSE-KMS uploads need kms:GenerateDataKey, and multipart ones kms:Decrypt too (S3 decrypts the parts
        to assemble them), as do reads: https://repost.aws/knowledge-center/s3-large-file-encryption-kms-key
        With an S3 Bucket Key the encryption context is the bucket's ARN, not the object's:
        https://docs.aws.amazon.com/AmazonS3/latest/userguide/configuring-bucket-key.html
        """
        return [
            {
                "Effect": "Allow",
                # Multipart uploads (large files) are PutObject per part, aborted or listed to resume.
                "Action": [
                    "s3:PutObject",
                    "s3:GetObject",
                    "s3:AbortMultipartUpload",
                    "s3:ListMultipartUploadParts",
                ],
                "Resource": pulumi.Output.concat(self.bucket_arn, f"/{PREFIX}*"),
            },
            {
                "Effect": "Allow",
                "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
                "Resource": self.key_arn,
                "Condition": {
                    "StringEquals": {
                        "kms:ViaService": f"s3.{self.region}.amazonaws.com",
                        "kms:EncryptionContext:aws:s3:arn": self.bucket_arn,
                    }
                },
            },
        ]

    def env(self) -> dict[str, pulumi.Input[str]]:
        env: dict[str, pulumi.Input[str]] = {
            ENV_BUCKET: self.bucket_name,
            ENV_REGION: self.region,
            ENV_PREFIX: PREFIX,
        }
        if self.served_by_cdn:
            env[ENV_PUBLIC_PATH] = f"/{PREFIX}"
        return env


def only_key_statements(bucket_arn: pulumi.Input[str], key_arn: pulumi.Input[str]) -> Statements:
    """Refuse an object encrypted other than with the bucket's key: a request may name its own encryption,
    which would otherwise override the default. Without either header the default (this key) applies.
    https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingKMSEncryption.html (requiring SSE-KMS)

    Each deny holds only when its header is present (Null false) and wrong: a ...IfExists operator would
    hold for an absent header too (IAM's condition operators page, "...IfExists"), refusing every presigned
    PUT that sends none, and every UploadPart, which S3 authorises as s3:PutObject and which carries no SSE
    header at all (botocore's UploadPartRequest).
    """

    def deny(sid: str, condition_key: str, expected: pulumi.Input[str]) -> pulumi.Output[dict[str, Any]]:
        return pulumi.Output.all(bucket_arn, expected).apply(
            lambda args: {
                "Sid": sid,
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:PutObject",
                "Resource": f"{args[0]}/*",
                "Condition": {
                    "StringNotEquals": {condition_key: args[1]},
                    "Null": {condition_key: "false"},
                },
            }
        )

    return [
        deny("DenyOtherEncryption", "s3:x-amz-server-side-encryption", "aws:kms"),
        deny("DenyOtherKeys", "s3:x-amz-server-side-encryption-aws-kms-key-id", key_arn),
    ]


class Uploads(pulumi.ComponentResource):
    """The uploads bucket and its key; with `distribution_arn`, readable by that distribution alone."""

    bucket_name: pulumi.Output[str]
    regional_domain_name: pulumi.Output[str]
    access: UploadsAccess

    def __init__(
        self,
        name: str,
        args: UploadsArgs,
        *,
        origins: Sequence[str],
        region: str,
        distribution_arn: pulumi.Input[str] | None,
        access_logs: ServerAccessLogs,
        protect: bool,
        tags: Mapping[str, str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("paved:uploads:Uploads", name, None, opts)
        keep = pulumi.ResourceOptions(parent=self, protect=protect)
        purpose = "the uploads bucket"
        key = (
            cloudfront_key(name, purpose=purpose, distribution_arn=distribution_arn, tags=tags, opts=keep)
            if distribution_arn is not None
            else account_key(name, purpose=purpose, tags=tags, opts=keep)
        )

        def statements(bucket_arn: pulumi.Output[str]) -> Statements:
            served = [cloudfront_read_statement(bucket_arn, distribution_arn)] if distribution_arn else []
            return [*only_key_statements(bucket_arn, key.key_arn), *served]

        lifecycle = args.lifecycle
        bucket = SecureBucket(
            name,
            purpose="user uploads through presigned URLs",
            kms_key_arn=key.key_arn,
            expire_days=None,
            extra_statements=statements,
            lifecycle=Lifecycle(
                noncurrent_version_days=lifecycle.noncurrent_version_days,
                abort_incomplete_multipart_days=lifecycle.abort_incomplete_multipart_days,
                prefix_expirations=dict(lifecycle.expire_prefixes),
            ),
            access_logs=access_logs,
            protect=protect,
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        # https://docs.aws.amazon.com/AmazonS3/latest/userguide/cors.html
        aws.s3.BucketCorsConfiguration(
            name,
            bucket=bucket.bucket_name,
            cors_rules=[
                aws.s3.BucketCorsConfigurationCorsRuleArgs(
                    id="app-origins",
                    allowed_methods=["PUT", "POST", "GET", "HEAD"],
                    allowed_origins=list(origins),
                    allowed_headers=list(CORS_HEADERS),
                    expose_headers=list(CORS_EXPOSED),
                    max_age_seconds=CORS_MAX_AGE_SECONDS,
                )
            ],
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.bucket_name = bucket.bucket_name
        self.regional_domain_name = bucket.regional_domain_name
        self.access = UploadsAccess(
            bucket_name=bucket.bucket_name,
            bucket_arn=bucket.bucket_arn,
            key_arn=key.key_arn,
            region=region,
            served_by_cdn=distribution_arn is not None,
        )
        self.register_outputs({"bucket_name": self.bucket_name})
