"""S3 bucket rules, over the split bucket resources.

Since pulumi-aws 6 a bucket's settings are separate resources (BucketPublicAccessBlock,
BucketServerSideEncryptionConfiguration, BucketVersioning, BucketPolicy, BucketOwnershipControls), each
naming its bucket in `bucket`. These are stack rules: a bucket is judged with the companions whose
`bucket` input was built from it (a property dependency, known in a first preview while the bucket's
name is not). The deprecated inline settings of the bucket itself (`versioning`,
`serverSideEncryptionConfiguration`, `policy`) count too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from paved_policies import iam
from paved_policies.props import (
    UNKNOWN,
    any_of,
    as_map,
    find_values,
    get_bool,
    get_map,
    get_str,
    get_text,
    peek,
)
from paved_policies.rule import Finding, GraphResource, StackContext, compliant, stack_rule, violation

BUCKET = "aws:s3/bucket:Bucket"
BUCKET_V2 = "aws:s3/bucketV2:BucketV2"  # pulumi-aws 7 keeps it as a deprecated alias of Bucket
BUCKETS = (BUCKET, BUCKET_V2)
PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
ENCRYPTION = (
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
)
VERSIONING = (
    "aws:s3/bucketVersioning:BucketVersioning",
    "aws:s3/bucketVersioningV2:BucketVersioningV2",
)
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
OWNERSHIP_CONTROLS = "aws:s3/bucketOwnershipControls:BucketOwnershipControls"

BLOCK_FLAGS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
OWNER_ENFORCED = "BucketOwnerEnforced"
SECURE_TRANSPORT_KEY = "aws:securetransport"  # condition keys are case-insensitive
_BOOL_OPERATORS = ("bool", "boolifexists")


def _companions(ctx: StackContext, resource_types: Sequence[str]) -> Sequence[GraphResource]:
    """The bucket's setting resources of `resource_types`: those whose `bucket` came from this bucket."""
    return ctx.referrers("bucket", resource_types)


def _read_all(props: Mapping[str, Any], *keys: str) -> list[Any]:
    """props[key] for each key, UNKNOWN where unknown in preview: where find_values starts looking."""
    return [peek(lambda key=key: props.get(key)) for key in keys]


def _pass_bucket_output(kind: str) -> str:
    return f"Pass the bucket's id output as its `bucket` (not a literal name) so the pack sees the {kind}."


@stack_rule(
    name="s3-public-access-block",
    description="Every S3 bucket has a public access block with all four settings on.",
    severity="high",
    remediation=(
        "Create an aws.s3.BucketPublicAccessBlock for the bucket with block_public_acls, "
        "block_public_policy, ignore_public_acls and restrict_public_buckets all True. "
        + _pass_bucket_output("block")
    ),
    resource_types=BUCKETS,
    checkov=("CKV2_AWS_6", "CKV_AWS_53", "CKV_AWS_54", "CKV_AWS_55", "CKV_AWS_56"),
    cdk_nag=("AwsSolutions-S2",),
    url="https://docs.aws.amazon.com/AmazonS3/latest/userguide/access-control-block-public-access.html",
)
def s3_public_access_block(props: Mapping[str, Any], ctx: StackContext) -> Finding:
    blocks = _companions(ctx, (PUBLIC_ACCESS_BLOCK,))
    if not blocks:
        return violation(f"Bucket '{ctx.name}' has no {PUBLIC_ACCESS_BLOCK}.")
    # Each flag defaults to false, so an unset one leaves that door open.
    if any_of(blocks, lambda block: all(get_bool(block.props, flag) is True for flag in BLOCK_FLAGS)):
        return compliant()
    return violation(
        f"Bucket '{ctx.name}': its public access block does not set all of {', '.join(BLOCK_FLAGS)} to true."
    )


def _sets_algorithm(values: Any) -> bool:
    return any(v is UNKNOWN or (isinstance(v, str) and v.strip()) for v in values)


@stack_rule(
    name="s3-default-encryption",
    description="Every S3 bucket declares its default encryption (SSE-S3 or SSE-KMS).",
    severity="medium",
    remediation=(
        "Create an aws.s3.BucketServerSideEncryptionConfiguration for the bucket whose rule sets "
        "apply_server_side_encryption_by_default.sse_algorithm ('aws:kms' with a customer managed key, or "
        "'AES256' where the writer cannot use KMS, e.g. ALB access logs). "
        + _pass_bucket_output("configuration")
    ),
    resource_types=BUCKETS,
    # CKV_AWS_145 and cdk-nag's S3DefaultEncryptionKMS demand KMS; this rule accepts SSE-S3 too.
    checkov=("CKV_AWS_19",),
    url="https://docs.aws.amazon.com/AmazonS3/latest/userguide/default-bucket-encryption.html",
)
def s3_default_encryption(props: Mapping[str, Any], ctx: StackContext) -> Finding:
    # S3 encrypts new objects with SSE-S3 even without this; declaring it makes the choice (and any move
    # to SSE-KMS) visible and reviewable rather than an account default.
    inline = _read_all(props, "serverSideEncryptionConfiguration", "serverSideEncryptionConfigurations")
    if _sets_algorithm(find_values(inline, "sseAlgorithm")):
        return compliant()
    for configuration in _companions(ctx, ENCRYPTION):
        if _sets_algorithm(find_values(_read_all(configuration.props, "rules"), "sseAlgorithm")):
            return compliant()
    return violation(
        f"Bucket '{ctx.name}' declares no default encryption: no {ENCRYPTION[0]} with an sseAlgorithm."
    )


def _versioning_enabled(configuration: GraphResource) -> bool:
    status = get_text(get_map(configuration.props, "versioningConfiguration"), "status")
    return status == "Enabled"


@stack_rule(
    name="s3-versioning-enabled",
    description="Every S3 bucket has versioning enabled, so overwritten and deleted objects can be restored.",
    severity="medium",
    remediation=(
        "Create an aws.s3.BucketVersioning for the bucket with versioning_configuration.status='Enabled', "
        "and a lifecycle rule expiring noncurrent versions. " + _pass_bucket_output("configuration")
    ),
    resource_types=BUCKETS,
    checkov=("CKV_AWS_21",),
    cdk_nag=("S3BucketVersioningEnabled",),
    url="https://docs.aws.amazon.com/AmazonS3/latest/userguide/Versioning.html",
)
def s3_versioning_enabled(props: Mapping[str, Any], ctx: StackContext) -> Finding:
    if any(value is True for value in find_values(_read_all(props, "versioning", "versionings"), "enabled")):
        return compliant()
    if any_of(_companions(ctx, VERSIONING), _versioning_enabled):
        return compliant()
    return violation(f"Bucket '{ctx.name}' has no {VERSIONING[0]} with status 'Enabled'.")


def _values(value: Any) -> list[Any]:
    return [value] if isinstance(value, str | bool) else list(value) if isinstance(value, Sequence) else []


def _principal_is_everyone(statement: Mapping[str, Any]) -> bool:
    principal = statement.get("Principal")
    return principal == "*" or "*" in _values(as_map(principal).get("AWS"))


def _denies_insecure_transport(statement: Mapping[str, Any]) -> bool:
    """Deny, to everyone, every S3 action, when aws:SecureTransport is false: the statement AWS documents."""
    if statement.get("Effect") != "Deny" or not _principal_is_everyone(statement):
        return False
    if not {"s3:*", "*"} & {a for a in _values(statement.get("Action")) if isinstance(a, str)}:
        return False
    for operator, conditions in as_map(statement.get("Condition")).items():
        if str(operator).lower() not in _BOOL_OPERATORS:
            continue
        for key, value in as_map(conditions).items():
            if str(key).lower() == SECURE_TRANSPORT_KEY and any(
                str(v).lower() == "false" for v in _values(value)
            ):
                return True
    return False


def _tls_only(document: str | None) -> bool:
    doc = iam.parse_document(document) if document else None
    return doc is not None and any(_denies_insecure_transport(s) for s in iam.statements(doc))


@stack_rule(
    name="s3-tls-only-policy",
    description="Every S3 bucket has a policy denying requests that do not use TLS (aws:SecureTransport).",
    severity="medium",
    remediation=(
        "Give the bucket an aws.s3.BucketPolicy with the statement {Effect: Deny, Principal: '*', "
        "Action: 's3:*', Resource: [bucket ARN, bucket ARN + '/*'], Condition: {Bool: "
        "{'aws:SecureTransport': 'false'}}}. Keep one policy per bucket: a second BucketPolicy replaces the "
        "first. " + _pass_bucket_output("policy")
    ),
    resource_types=BUCKETS,
    # checkov's CKV_AWS_379 reads aws_s3_bucket_acl resources only, so it is not the same check.
    cdk_nag=("AwsSolutions-S10", "S3BucketSSLRequestsOnly"),
    url="https://docs.aws.amazon.com/AmazonS3/latest/userguide/security-best-practices.html",
)
def s3_tls_only_policy(props: Mapping[str, Any], ctx: StackContext) -> Finding:
    # A policy naming its own bucket's ARN stays unknown until the bucket exists; reading it raises,
    # and the SDK reports "can't run during preview" instead of a guess.
    documents = [props, *(policy.props for policy in _companions(ctx, (BUCKET_POLICY,)))]
    if any_of(documents, lambda doc: _tls_only(get_str(doc, "policy"))):
        return compliant()
    return violation(
        f"Bucket '{ctx.name}' has no bucket policy denying requests where aws:SecureTransport is false."
    )


@stack_rule(
    name="s3-bucket-owner-enforced",
    description="Every S3 bucket has ACLs disabled: Object Ownership is BucketOwnerEnforced.",
    severity="medium",
    remediation=(
        "Create an aws.s3.BucketOwnershipControls for the bucket with "
        "rule.object_ownership='BucketOwnerEnforced', and grant access through policies only. "
        + _pass_bucket_output("controls")
    ),
    resource_types=BUCKETS,
    checkov=("CKV2_AWS_65",),
    url="https://docs.aws.amazon.com/AmazonS3/latest/userguide/about-object-ownership.html",
)
def s3_bucket_owner_enforced(props: Mapping[str, Any], ctx: StackContext) -> Finding:
    # New buckets default to BucketOwnerEnforced, but an imported or older bucket keeps whatever it had:
    # only an explicit setting says what the bucket is.
    controls = _companions(ctx, (OWNERSHIP_CONTROLS,))
    if any_of(controls, lambda c: get_text(get_map(c.props, "rule"), "objectOwnership") == OWNER_ENFORCED):
        return compliant()
    return violation(
        f"Bucket '{ctx.name}' has no {OWNERSHIP_CONTROLS} with objectOwnership '{OWNER_ENFORCED}'."
    )


RULES = (
    s3_public_access_block,
    s3_default_encryption,
    s3_versioning_enabled,
    s3_tls_only_policy,
    s3_bucket_owner_enforced,
)
