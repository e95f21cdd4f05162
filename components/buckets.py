"""S3 buckets with paved's baseline: private, owner-only objects, encrypted, versioned, TLS-only, tidied up.

Every bucket paved makes goes through SecureBucket, so the baseline lives in one place. A bucket's policy
holds the TLS-only deny plus the statements its user needs (ALB log delivery, CloudFront OAC reads). Those
statements usually name the bucket itself, whose ARN exists only once the bucket does, so
`extra_statements` may also be a function of the bucket's ARN:

    SecureBucket(
        "alb-logs", ..., extra_statements=lambda arn: [alb_log_delivery_statement(arn, account, partition)]
    )

S3 keeps one policy per bucket (PutBucketPolicy replaces the whole document), so a second
`aws.s3.BucketPolicy` on the same bucket would silently overwrite the first one, TLS deny included:
https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketPolicy.html

Every SecureBucket logs its requests (S3 server access logging) into the log bucket of its region, which
ServerAccessLogs declares once all of that region's buckets exist.
"""

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

Statements = Sequence[pulumi.Input[Mapping[str, Any]]]

# Parts of an upload that was never completed are stored and billed, invisible to listings, until aborted:
# https://docs.aws.amazon.com/AmazonS3/latest/userguide/mpu-abort-incomplete-mpu-lifecycle-config.html
ABORT_INCOMPLETE_MULTIPART_DAYS = 7
# Versioning keeps every overwritten or deleted object; after this many days a noncurrent version goes.
NONCURRENT_VERSION_DAYS = 30


@dataclass(frozen=True)
class Lifecycle:
    """How long a SecureBucket keeps what it no longer serves: noncurrent versions, the parts of abandoned
    multipart uploads, and (`prefix_expirations`, key prefix -> days) current objects under a prefix."""

    noncurrent_version_days: int = NONCURRENT_VERSION_DAYS
    abort_incomplete_multipart_days: int = ABORT_INCOMPLETE_MULTIPART_DAYS
    prefix_expirations: Mapping[str, int] = field(default_factory=dict)


BASELINE = Lifecycle()


def tls_only_statement(bucket_arn: pulumi.Input[str]) -> pulumi.Output[dict]:
    """Deny every request to the bucket and its objects that does not arrive over TLS.

    https://docs.aws.amazon.com/AmazonS3/latest/userguide/security-best-practices.html (enforce encryption
    of data in transit; the s3-bucket-ssl-requests-only AWS Config rule checks for this statement)
    """
    return pulumi.Output.from_input(bucket_arn).apply(
        lambda arn: {
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [arn, f"{arn}/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
    )


def alb_log_delivery_statement(
    bucket_arn: pulumi.Input[str], account: pulumi.Input[str], partition: pulumi.Input[str]
) -> pulumi.Output[dict]:
    """Let Elastic Load Balancing write the access and connection logs of `account`'s load balancers.

    This is the policy AWS documents today for all Regions: the log-delivery service principal, PutObject
    on `<bucket>/AWSLogs/<account>/*` (no prefix; the account segment is not a wildcard). The older policy
    naming a per-Region ELB account is legacy and unsupported in newer Regions.
    https://docs.aws.amazon.com/elasticloadbalancing/latest/application/enable-access-logging.html
    The bucket must use SSE-S3 (`kms_key_arn=None`): ELB log delivery does not support SSE-KMS (same page).

    That page documents the commercial partition; paved has not confirmed the principal in aws-cn or
    aws-us-gov, so another partition is refused rather than given a policy that may never deliver logs.
    """

    def statement(args: list[Any]) -> dict:
        arn, account_id, partition_name = args
        if partition_name != "aws":
            raise ValueError(
                f"ALB log delivery policy for partition {partition_name!r}: paved only knows the "
                "statement AWS documents for the aws partition; check the ELB guide of that partition"
            )
        return {
            "Sid": "AllowAlbLogDelivery",
            "Effect": "Allow",
            "Principal": {"Service": "logdelivery.elasticloadbalancing.amazonaws.com"},
            "Action": "s3:PutObject",
            "Resource": f"{arn}/AWSLogs/{account_id}/*",
        }

    return pulumi.Output.all(bucket_arn, account, partition).apply(statement)


def cloudfront_read_statement(
    bucket_arn: pulumi.Input[str], distribution_arn: pulumi.Input[str]
) -> pulumi.Output[dict]:
    """Let one CloudFront distribution read objects through origin access control (OAC), and no other.

    The AWS:SourceArn condition keeps other distributions, in any account, from using the same principal
    to read this bucket: https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/private-content-restricting-access-to-s3.html
    """
    return pulumi.Output.all(bucket_arn, distribution_arn).apply(
        lambda args: {
            "Sid": "AllowCloudFrontServicePrincipalReadOnly",
            "Effect": "Allow",
            "Principal": {"Service": "cloudfront.amazonaws.com"},
            "Action": "s3:GetObject",
            "Resource": f"{args[0]}/*",
            "Condition": {"StringEquals": {"AWS:SourceArn": args[1]}},
        }
    )


def server_access_log_delivery_statement(
    bucket_arn: pulumi.Input[str],
    sources: Sequence[tuple[str, pulumi.Input[str]]],
    account: pulumi.Input[str],
) -> pulumi.Output[dict]:
    """Let S3 server access logging write the logs of `sources` (log prefix, bucket ARN) into this bucket.

    The policy AWS documents for a target whose Object Ownership is BucketOwnerEnforced, where ACL grants to
    the log delivery group no longer work: the logging service principal may PutObject under the sources'
    prefixes, and aws:SourceArn / aws:SourceAccount keep it to this account's listed buckets.
    https://docs.aws.amazon.com/AmazonS3/latest/userguide/enable-server-access-logging.html
    """
    prefixes = [prefix for prefix, _ in sources]
    source_arns = [arn for _, arn in sources]
    return pulumi.Output.all(bucket_arn, account, *source_arns).apply(
        lambda args: {
            "Sid": "AllowS3ServerAccessLogs",
            "Effect": "Allow",
            "Principal": {"Service": "logging.s3.amazonaws.com"},
            "Action": "s3:PutObject",
            "Resource": [f"{args[0]}/{prefix}/*" for prefix in prefixes],
            "Condition": {
                "ArnLike": {"aws:SourceArn": list(args[2:])},
                "StringEquals": {"aws:SourceAccount": args[1]},
            },
        }
    )


def bucket_policy(bucket_arn: pulumi.Input[str], extra_statements: Statements = ()) -> pulumi.Output[str]:
    """The policy document of a SecureBucket: the TLS-only deny, then `extra_statements`.

    A repeated Sid is refused here rather than left to AWS: IAM requires Sids to be unique within a policy
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_sid.html), and two
    statements under one name are a composition mistake in any case.
    """

    def document(args: list[Any]) -> str:
        arn, tls, extras = args
        statements = [tls, *extras]
        sids = [statement["Sid"] for statement in statements if "Sid" in statement]
        if len(sids) != len(set(sids)):
            raise ValueError(f"bucket policy for {arn}: statement IDs repeat: {sids}")
        return json.dumps({"Version": "2012-10-17", "Statement": statements})

    extras = pulumi.Output.from_input([pulumi.Output.from_input(s) for s in extra_statements])
    return pulumi.Output.all(bucket_arn, tls_only_statement(bucket_arn), extras).apply(document)


class SecureBucket(pulumi.ComponentResource):
    """A private S3 bucket with paved's baseline; the bucket's name is left to Pulumi autonaming.

    - Block Public Access, all four settings: neither ACLs nor the policy can make anything public.
    - Object Ownership BucketOwnerEnforced: ACLs are off, the bucket owner owns every object.
    - Default encryption: SSE-KMS with `kms_key_arn` and an S3 Bucket Key, or SSE-S3 when it is None (for
      services that cannot write to SSE-KMS buckets, such as ALB access logs).
    - Versioning, with noncurrent versions expired and incomplete multipart uploads aborted as `lifecycle`
      says (NONCURRENT_VERSION_DAYS and ABORT_INCOMPLETE_MULTIPART_DAYS unless given); current objects
      expired after `expire_days` when given (logs), and under each of `lifecycle.prefix_expirations`.
    - A policy denying non-TLS requests, plus `extra_statements`: a sequence, or a function of the
      bucket's ARN returning one (for statements that name the bucket itself).
    - `force_destroy=False` and `protect` on the bucket: a bucket holding objects is never deleted by Pulumi.
    - S3 server access logging into `access_logs`, the log bucket of the bucket's region. Only a log bucket
      itself passes None: a target logging its own writes would log forever.
    """

    bucket_name: pulumi.Output[str]
    bucket_arn: pulumi.Output[str]
    regional_domain_name: pulumi.Output[str]
    policy: aws.s3.BucketPolicy

    def __init__(
        self,
        name: str,
        *,
        purpose: str,
        kms_key_arn: pulumi.Input[str] | None,
        expire_days: int | None,
        extra_statements: Statements | Callable[[pulumi.Output[str]], Statements] = (),
        lifecycle: Lifecycle = BASELINE,
        access_logs: "ServerAccessLogs | None",
        protect: bool,
        tags: Mapping[str, str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        if expire_days is not None and expire_days < 1:
            raise ValueError(f"SecureBucket {name!r}: expire_days must be a positive number of days")
        super().__init__("paved:buckets:SecureBucket", name, None, opts)
        here = pulumi.ResourceOptions(parent=self)
        bucket = aws.s3.Bucket(
            name,
            force_destroy=False,
            # An autonamed bucket says little in the console; the purpose tag says why it exists.
            tags={**tags, "purpose": purpose},
            opts=pulumi.ResourceOptions(parent=self, protect=protect),
        )
        # https://docs.aws.amazon.com/AmazonS3/latest/userguide/access-control-block-public-access.html
        public_access_block = aws.s3.BucketPublicAccessBlock(
            name,
            bucket=bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=here,
        )
        # With ACLs disabled, access is governed by policies alone, as AWS recommends for new buckets:
        # https://docs.aws.amazon.com/AmazonS3/latest/userguide/about-object-ownership.html
        aws.s3.BucketOwnershipControls(
            name,
            bucket=bucket.id,
            rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
            opts=here,
        )
        aws.s3.BucketServerSideEncryptionConfiguration(
            name, bucket=bucket.id, rules=[_encryption_rule(kms_key_arn)], opts=here
        )
        versioning = aws.s3.BucketVersioning(
            name,
            bucket=bucket.id,
            versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(status="Enabled"),
            opts=here,
        )
        # Noncurrent-version rules act on versions, so versioning is on before they are set (the provider's
        # "Lifecycle Configuration for a bucket with versioning" example does the same).
        aws.s3.BucketLifecycleConfiguration(
            name,
            bucket=bucket.id,
            rules=_lifecycle_rules(expire_days, lifecycle),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[versioning]),
        )
        # With Block Public Access still being applied, S3 could judge a policy against the old settings;
        # putting the policy after the block keeps the two from racing.
        extras = extra_statements(bucket.arn) if callable(extra_statements) else extra_statements
        self.policy = aws.s3.BucketPolicy(
            name,
            bucket=bucket.id,
            policy=bucket_policy(bucket.arn, extras),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[public_access_block]),
        )
        self.bucket_name = bucket.id
        self.bucket_arn = bucket.arn
        self.regional_domain_name = bucket.bucket_regional_domain_name
        if access_logs is not None:
            access_logs.add(name, self)
        self.register_outputs(
            {
                "bucket_name": self.bucket_name,
                "bucket_arn": self.bucket_arn,
                "regional_domain_name": self.regional_domain_name,
            }
        )


def _encryption_rule(
    kms_key_arn: pulumi.Input[str] | None,
) -> aws.s3.BucketServerSideEncryptionConfigurationRuleArgsDict:
    if kms_key_arn is None:
        # SSE-S3: https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingServerSideEncryption.html
        return {"apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"}}
    # A Bucket Key cuts the KMS requests (and their cost and throttling) S3 makes for SSE-KMS objects:
    # https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucket-key.html
    return {
        "apply_server_side_encryption_by_default": {
            "sse_algorithm": "aws:kms",
            "kms_master_key_id": kms_key_arn,
        },
        "bucket_key_enabled": True,
    }


def _lifecycle_rules(
    expire_days: int | None, lifecycle: Lifecycle
) -> list[aws.s3.BucketLifecycleConfigurationRuleArgsDict]:
    # Expiring a current version in a versioned bucket adds a delete marker and keeps the object as a
    # noncurrent version, which the noncurrent rule then removes; S3 removes a delete marker left with no
    # versions. Without `expire_days`, ExpiredObjectDeleteMarker does that tidying (it cannot be combined
    # with Days): https://docs.aws.amazon.com/AmazonS3/latest/userguide/lifecycle-expire-general-considerations.html
    # https://docs.aws.amazon.com/AmazonS3/latest/API/API_LifecycleExpiration.html
    expiration: aws.s3.BucketLifecycleConfigurationRuleExpirationArgsDict = (
        {"days": expire_days} if expire_days is not None else {"expired_object_delete_marker": True}
    )
    baseline: aws.s3.BucketLifecycleConfigurationRuleArgsDict = {
        "id": "baseline",
        "status": "Enabled",
        # An empty filter: the rule applies to every object in the bucket.
        "filter": {},
        "abort_incomplete_multipart_upload": {
            "days_after_initiation": lifecycle.abort_incomplete_multipart_days
        },
        "noncurrent_version_expiration": {"noncurrent_days": lifecycle.noncurrent_version_days},
        "expiration": expiration,
    }
    # Where rules overlap, S3 applies the expiration that comes first, so a prefix rule shortens the
    # baseline's keep for its objects and never lengthens it:
    # https://docs.aws.amazon.com/AmazonS3/latest/userguide/lifecycle-conflicts.html
    prefixed: list[aws.s3.BucketLifecycleConfigurationRuleArgsDict] = [
        {
            "id": f"expire-{index}",
            "status": "Enabled",
            "filter": {"prefix": prefix},
            "expiration": {"days": days},
        }
        for index, (prefix, days) in enumerate(sorted(lifecycle.prefix_expirations.items()))
    ]
    return [baseline, *prefixed]


class ServerAccessLogs:
    """S3 server access logging for the buckets of one region, into one log bucket in that region.

    S3 delivers a bucket's access logs only to a bucket of the same region and account, and that bucket may
    not use SSE-KMS default encryption (SSE-S3 only) or Object Lock; it should not log itself either.
    https://docs.aws.amazon.com/AmazonS3/latest/userguide/enable-server-access-logging.html
    So each region with buckets gets one ServerAccessLogs (with that region's `provider`).

    Buckets join as SecureBucket declares them; `deliver()`, called once after the stack's last bucket,
    declares the log bucket, whose policy admits exactly those buckets' logs, and then each bucket's logging
    configuration (logs go under `<bucket's resource name>/`). A bucket that joins later is refused, so one
    declared after `deliver()` fails the preview instead of going unlogged.
    """

    def __init__(
        self,
        name: str,
        *,
        expire_days: int,
        protect: bool,
        tags: Mapping[str, str],
        provider: aws.Provider | None = None,
    ) -> None:
        self._name = name
        self._expire_days = expire_days
        self._protect = protect
        self._tags = dict(tags)
        self._provider = provider
        self._sources: dict[str, SecureBucket] = {}
        self._delivered = False

    def add(self, prefix: str, source: SecureBucket) -> None:
        if self._delivered:
            raise ValueError(
                f"bucket {prefix!r} joins the access logs of {self._name!r} after deliver(): declare every "
                "bucket before ServerAccessLogs.deliver()"
            )
        if prefix in self._sources:
            raise ValueError(f"two buckets log under {prefix!r} in {self._name!r}; give them distinct names")
        self._sources[prefix] = source

    def deliver(self) -> SecureBucket | None:
        """The log bucket and every joined bucket's logging configuration; None if no bucket joined."""
        if self._delivered:
            raise ValueError(f"ServerAccessLogs {self._name!r} delivered twice")
        self._delivered = True
        if not self._sources:
            return None
        account = aws.get_caller_identity_output(
            opts=pulumi.InvokeOutputOptions(provider=self._provider)
        ).account_id
        sources = [(prefix, source.bucket_arn) for prefix, source in self._sources.items()]
        target = SecureBucket(
            self._name,
            purpose="S3 server access logs",
            kms_key_arn=None,  # server access logging delivers to SSE-S3 buckets only
            expire_days=self._expire_days,
            extra_statements=lambda arn: [server_access_log_delivery_statement(arn, sources, account)],
            access_logs=None,
            protect=self._protect,
            tags=self._tags,
            opts=pulumi.ResourceOptions(provider=self._provider),
        )
        for prefix, source in self._sources.items():
            aws.s3.BucketLogging(
                prefix,
                bucket=source.bucket_name,
                target_bucket=target.bucket_name,
                target_prefix=f"{prefix}/",
                # S3 writes the first logs as soon as logging is on: the policy admitting them comes first.
                opts=pulumi.ResourceOptions(parent=source, depends_on=[target.policy]),
            )
        return target
