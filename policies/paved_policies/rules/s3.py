"""S3 rules: buckets over their split settings resources, bucket policies, access points, the account block.

Since pulumi-aws 6 a bucket's settings are separate resources (BucketPublicAccessBlock,
BucketServerSideEncryptionConfiguration, BucketVersioning, BucketPolicy, BucketOwnershipControls,
BucketLogging, BucketLifecycleConfiguration, and their deprecated ...V2 twins), each naming its bucket in
`bucket`. The bucket rules are stack rules: a bucket is judged with the companions whose `bucket` input was
built from it (a property dependency, known in a first preview while the bucket's name is not), never with
another bucket's. The deprecated inline settings of the bucket itself (`versioning`, `logging`,
`lifecycleRules`, `serverSideEncryptionConfiguration`, `policy`, and BucketV2's list-shaped `versionings`,
`loggings`...) count too.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from paved_policies import iam
from paved_policies.props import (
    UNKNOWN,
    any_of,
    as_map,
    as_seq,
    find_values,
    get,
    get_bool,
    get_map,
    get_seq,
    get_text,
    has_value,
    peek,
    problems_found,
    strings,
)
from paved_policies.rule import (
    Finding,
    GraphResource,
    ResourceContext,
    StackContext,
    compliant,
    not_applicable,
    resource_rule,
    stack_rule,
    violation,
)

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
LOGGING = ("aws:s3/bucketLogging:BucketLogging", "aws:s3/bucketLoggingV2:BucketLoggingV2")
LIFECYCLE = (
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
    "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2",
)
DIRECTORY_BUCKET = "aws:s3/directoryBucket:DirectoryBucket"
ACCESS_POINT = "aws:s3/accessPoint:AccessPoint"
MULTI_REGION_ACCESS_POINT = "aws:s3control/multiRegionAccessPoint:MultiRegionAccessPoint"
ACCOUNT_PUBLIC_ACCESS_BLOCK = "aws:s3/accountPublicAccessBlock:AccountPublicAccessBlock"

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


def _any_set(values: Any) -> bool:
    """Whether some value is a non-blank string, or unknown in preview (another resource's output)."""
    return any(v is UNKNOWN or (isinstance(v, str) and v.strip()) for v in values)


def _pass_bucket_output(kind: str) -> str:
    return f"Pass the bucket's id output as its `bucket` (not a literal name) so the pack sees the {kind}."


def _flags(block: Any, wrong: Callable[[bool | None], bool]) -> list[str]:
    """The block public access flags whose value (None: unset) is wrong; an unknown one defers unless
    another flag is wrong already."""
    return problems_found(
        [lambda flag=flag: flag if wrong(get_bool(block, flag)) else None for flag in BLOCK_FLAGS]
    )


def _flags_not_on(block: Any) -> list[str]:
    # On a bucket's or the account's block each flag defaults to false, so an unset one leaves that door open.
    return _flags(block, lambda value: value is not True)


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
    # All four flags on the bucket settle S3.8, and with them neither a policy nor an ACL can make the bucket
    # publicly readable (S3.2) or writable (S3.3), whatever the account-level block says.
    fsbp=("S3.2", "S3.3", "S3.8"),
    url="https://docs.aws.amazon.com/AmazonS3/latest/userguide/access-control-block-public-access.html",
)
def s3_public_access_block(props: Mapping[str, Any], ctx: StackContext) -> Finding:
    blocks = _companions(ctx, (PUBLIC_ACCESS_BLOCK,))
    if not blocks:
        return violation(f"Bucket '{ctx.name}' has no {PUBLIC_ACCESS_BLOCK}.")
    if any_of(blocks, lambda block: not _flags_not_on(block.props)):
        return compliant()
    return violation(
        f"Bucket '{ctx.name}': its public access block does not set all of {', '.join(BLOCK_FLAGS)} to true."
    )


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
    if _any_set(find_values(inline, "sseAlgorithm")):
        return compliant()
    for configuration in _companions(ctx, ENCRYPTION):
        if _any_set(find_values(_read_all(configuration.props, "rules"), "sseAlgorithm")):
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


def _principal_is_everyone(statement: Mapping[str, Any]) -> bool:
    principal = statement.get("Principal")
    return principal == "*" or "*" in iam.listed(as_map(principal).get("AWS"))


def _denies_insecure_transport(statement: Mapping[str, Any]) -> bool:
    """Deny, to everyone, every S3 action, when aws:SecureTransport is false: the statement AWS documents."""
    if statement.get("Effect") != "Deny" or not _principal_is_everyone(statement):
        return False
    if not {"s3:*", "*"} & {a for a in iam.listed(statement.get("Action")) if isinstance(a, str)}:
        return False
    for operator, conditions in as_map(statement.get("Condition")).items():
        if str(operator).lower() not in _BOOL_OPERATORS:
            continue
        for key, value in as_map(conditions).items():
            if str(key).lower() == SECURE_TRANSPORT_KEY and any(
                str(v).lower() == "false" for v in iam.listed(value)
            ):
                return True
    return False


def _tls_only(policy: Any) -> bool:
    doc = iam.document(policy)
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
    fsbp=("S3.5",),
    url="https://docs.aws.amazon.com/AmazonS3/latest/userguide/security-best-practices.html",
)
def s3_tls_only_policy(props: Mapping[str, Any], ctx: StackContext) -> Finding:
    # A policy naming its own bucket's ARN stays unknown until the bucket exists; reading it raises,
    # and the SDK reports "can't run during preview" instead of a guess.
    documents = [props, *(policy.props for policy in _companions(ctx, (BUCKET_POLICY,)))]
    if any_of(documents, lambda doc: _tls_only(get(doc, "policy"))):
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
    # With ACLs disabled no ACL can grant access at all (S3.12 also passes owner-only ACLs).
    fsbp=("S3.12",),
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


def _log_sources(ctx: StackContext) -> list[str]:
    """The buckets whose server access logs this bucket receives (their target came from this bucket)."""
    companions = ctx.referrers("targetBucket", LOGGING)
    inline = [*ctx.referrers("logging", BUCKETS), *ctx.referrers("loggings", BUCKETS)]
    return sorted({source.name for source in [*companions, *inline]})


@stack_rule(
    name="s3-access-logging",
    description="Every S3 bucket but a log bucket logs its requests (server access logging) elsewhere.",
    severity="medium",
    remediation=(
        "Create an aws.s3.BucketLogging for the bucket with target_bucket set to a log bucket of the same "
        "region and account (SSE-S3, no Object Lock default retention) whose policy lets "
        "logging.s3.amazonaws.com put objects. " + _pass_bucket_output("configuration")
    ),
    resource_types=BUCKETS,
    checkov=("CKV_AWS_18",),
    cdk_nag=("AwsSolutions-S1", "S3BucketLoggingEnabled"),
    fsbp=("S3.9",),
    url="https://docs.aws.amazon.com/AmazonS3/latest/userguide/enable-server-access-logging.html",
)
def s3_access_logging(props: Mapping[str, Any], ctx: StackContext) -> Finding:
    if _any_set(find_values(_read_all(props, "logging", "loggings"), "targetBucket")):
        return compliant()
    if any(has_value(logging.props, "targetBucket") for logging in _companions(ctx, LOGGING)):
        return compliant()
    sources = _log_sources(ctx)
    if sources:
        # A log bucket that logged its own deliveries would log forever; AWS advises a separate target, and
        # the chain has to end somewhere: https://docs.aws.amazon.com/AmazonS3/latest/userguide/ServerLogs.html
        # Security Hub still reports S3.9 on it; that finding is the one to suppress.
        return not_applicable(f"Bucket '{ctx.name}' is the access-log target of {', '.join(sources)}.")
    return violation(f"Bucket '{ctx.name}' has no {LOGGING[0]} with a targetBucket.")


def _has_enabled_rule(props: Mapping[str, Any]) -> bool:
    """Whether a lifecycle configuration (`rules[].status`) or a bucket's inline `lifecycleRules[].enabled`
    has a rule in force. A rule unknown in preview defers only if no other rule settles it."""
    split = get_seq(props, "rules")
    inline = get_seq(props, "lifecycleRules")
    checks = [
        *(lambda i=i: get_text(split[i], "status") == "Enabled" for i in range(len(split))),
        *(lambda i=i: get_bool(inline[i], "enabled") is True for i in range(len(inline))),
    ]
    return any_of(checks, lambda check: check())


def _has_active_lifecycle(props: Mapping[str, Any], ctx: StackContext) -> bool:
    """The bucket's inline rules, then the lifecycle configurations whose `bucket` came from it."""
    configurations = [props, *(configuration.props for configuration in _companions(ctx, LIFECYCLE))]
    return any_of(configurations, _has_enabled_rule)


@stack_rule(
    name="s3-lifecycle-configuration",
    description="Every S3 bucket has a lifecycle configuration with at least one enabled rule.",
    severity="low",
    remediation=(
        "Create an aws.s3.BucketLifecycleConfiguration for the bucket with at least one rule of status "
        "'Enabled' (expire old objects or noncurrent versions, abort incomplete multipart uploads). "
        + _pass_bucket_output("configuration")
    ),
    resource_types=BUCKETS,
    checkov=("CKV2_AWS_61",),
    fsbp=("S3.13",),
    url="https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lifecycle-mgmt.html",
)
def s3_lifecycle_configuration(props: Mapping[str, Any], ctx: StackContext) -> Finding:
    if _has_active_lifecycle(props, ctx):
        return compliant()
    return violation(f"Bucket '{ctx.name}' has no {LIFECYCLE[0]} with a rule of status 'Enabled'.")


@stack_rule(
    name="s3-directory-bucket-lifecycle",
    description="Every S3 directory bucket has a lifecycle configuration with at least one enabled rule.",
    severity="low",
    remediation=(
        "Create an aws.s3.BucketLifecycleConfiguration with bucket=<the directory bucket>.bucket and a "
        "rule of status 'Enabled' that expires objects or aborts incomplete multipart uploads (what "
        "directory buckets support)."
    ),
    resource_types=(DIRECTORY_BUCKET,),
    fsbp=("S3.25",),
    url="https://docs.aws.amazon.com/AmazonS3/latest/userguide/directory-buckets-objects-lifecycle.html",
)
def s3_directory_bucket_lifecycle(props: Mapping[str, Any], ctx: StackContext) -> Finding:
    if _has_active_lifecycle(props, ctx):
        return compliant()
    return violation(f"Directory bucket '{ctx.name}' has no {LIFECYCLE[0]} with a rule of status 'Enabled'.")


def _flags_turned_off(block: Any) -> list[str]:
    # An access point's or a Multi-Region Access Point's flags are all true unless set.
    return _flags(block, lambda value: value is False)


@resource_rule(
    name="s3-access-point-public-access-block",
    description="S3 access points keep all four block public access settings on.",
    severity="critical",
    remediation=(
        "Leave public_access_block_configuration unset (every setting defaults to true) or set all four "
        "settings to true; the settings cannot change after the access point exists, so replace it."
    ),
    resource_types=(ACCESS_POINT,),
    fsbp=("S3.19",),
    url="https://docs.aws.amazon.com/AmazonS3/latest/userguide/access-points-bpa-settings.html",
)
def s3_access_point_public_access_block(props: Mapping[str, Any], ctx: ResourceContext) -> Finding:
    off = _flags_turned_off(get_map(props, "publicAccessBlockConfiguration"))
    if not off:
        return compliant()
    return violation(f"Access point '{ctx.name}' turns off {', '.join(off)}.")


@resource_rule(
    name="s3-multi-region-access-point-public-access-block",
    description="S3 Multi-Region Access Points keep all four block public access settings on.",
    severity="high",
    remediation=(
        "Leave details.public_access_block unset (every setting defaults to true) or set all four settings "
        "to true; they cannot change after the Multi-Region Access Point exists, so replace it."
    ),
    resource_types=(MULTI_REGION_ACCESS_POINT,),
    fsbp=("S3.24",),
    url="https://docs.aws.amazon.com/AmazonS3/latest/userguide/multi-region-access-point-block-public-access.html",
)
def s3_multi_region_access_point_public_access_block(
    props: Mapping[str, Any], ctx: ResourceContext
) -> Finding:
    off = _flags_turned_off(get_map(get_map(props, "details"), "publicAccessBlock"))
    if not off:
        return compliant()
    return violation(f"Multi-Region Access Point '{ctx.name}' turns off {', '.join(off)}.")


@resource_rule(
    name="s3-account-public-access-block",
    description="The account-level S3 block public access has all four settings on.",
    severity="medium",
    remediation=(
        "Set block_public_acls, block_public_policy, ignore_public_acls and restrict_public_buckets to True "
        "on the aws.s3.AccountPublicAccessBlock (each defaults to false)."
    ),
    resource_types=(ACCOUNT_PUBLIC_ACCESS_BLOCK,),
    fsbp=("S3.1",),
    url="https://docs.aws.amazon.com/AmazonS3/latest/userguide/configuring-block-public-access-account.html",
)
def s3_account_public_access_block(props: Mapping[str, Any], ctx: ResourceContext) -> Finding:
    missing = _flags_not_on(props)
    if not missing:
        return compliant()
    return violation(f"Account public access block '{ctx.name}' does not set {', '.join(missing)} to true.")


# What S3.6 forbids granting other accounts: rewriting the bucket's policy, ACLs or encryption.
# https://docs.aws.amazon.com/securityhub/latest/userguide/s3-controls.html#s3-6
CROSS_ACCOUNT_BLOCKED_ACTIONS = (
    "s3:DeleteBucketPolicy",
    "s3:PutBucketAcl",
    "s3:PutBucketPolicy",
    "s3:PutEncryptionConfiguration",
    "s3:PutObjectAcl",
)
ACCOUNT_IDS_CONFIG = "accountIds"
_ACCOUNT_ID = re.compile(r"[0-9]{12}")
_IAM_ARN_ACCOUNT = re.compile(r"arn:[^:]+:iam::([^:]*):.*")


def _own_accounts(ctx: ResourceContext) -> frozenset[str]:
    """The stack's accounts: this policy's `accountIds` config and the provider's allowedAccountIds (the
    engine may send a provider's list input as JSON text)."""
    allowed = ctx.provider.get("allowedAccountIds")
    if isinstance(allowed, str):
        try:
            allowed = json.loads(allowed)
        except ValueError:
            allowed = ()
    return frozenset(strings(as_seq(ctx.config.get(ACCOUNT_IDS_CONFIG))) + strings(as_seq(allowed)))


def _other_accounts(statement: Mapping[str, Any], own: frozenset[str]) -> list[str]:
    """The principals of a statement that may belong to another account: anyone, a wildcard, NotPrincipal,
    an account or IAM ARN of an account not in `own`, a canonical user (whose account the policy can't tell).
    Service and federated principals are not accounts."""
    if "NotPrincipal" in statement:
        return ["everyone outside NotPrincipal"]
    principal = statement.get("Principal")
    if principal == "*":
        return ["*"]
    principals = as_map(principal)
    found = iam.strings(principals.get("CanonicalUser"))
    for value in iam.strings(principals.get("AWS")):
        arn = _IAM_ARN_ACCOUNT.fullmatch(value)
        account = arn.group(1) if arn else value
        if "*" in value or "?" in value or not (_ACCOUNT_ID.fullmatch(account) and account in own):
            found.append(value)
    return found


def _cross_account_grant(statement: Mapping[str, Any], index: int, own: frozenset[str]) -> str | None:
    if not iam.is_allow(statement):
        return None
    actions = [action for action in CROSS_ACCOUNT_BLOCKED_ACTIONS if iam.allows_action(statement, action)]
    principals = _other_accounts(statement, own) if actions else []
    if not principals:
        return None
    return f"{iam.label(statement, index)} lets {', '.join(principals)} call {', '.join(actions)}"


@resource_rule(
    name="s3-bucket-policy-other-accounts-restricted",
    description=(
        "S3 bucket policies do not let other accounts (or anyone) change the bucket's policy, ACLs or "
        "encryption."
    ),
    severity="high",
    remediation=(
        "Remove s3:DeleteBucketPolicy, s3:PutBucketAcl, s3:PutBucketPolicy, s3:PutEncryptionConfiguration "
        "and s3:PutObjectAcl (and wildcards covering them, such as s3:* or s3:Put*) from statements that "
        "allow '*' or principals of other accounts. If the pack mistakes this stack's own account for "
        f"another one, list it in this policy's `{ACCOUNT_IDS_CONFIG}` config or the provider's "
        "allowed_account_ids."
    ),
    resource_types=(*BUCKETS, BUCKET_POLICY),
    fsbp=("S3.6",),
    url="https://docs.aws.amazon.com/config/latest/developerguide/s3-bucket-blacklisted-actions-prohibited.html",
    config_schema={
        ACCOUNT_IDS_CONFIG: {
            "type": "array",
            "items": {"type": "string", "pattern": "^[0-9]{12}$"},
            "description": "The stack's own AWS account IDs, whose principals may be granted these actions.",
            "default": [],
        }
    },
)
def s3_bucket_policy_other_accounts_restricted(props: Mapping[str, Any], ctx: ResourceContext) -> Finding:
    value = get(props, "policy")
    if ctx.resource_type in BUCKETS and not (value.strip() if isinstance(value, str) else value):
        return not_applicable(
            f"Bucket '{ctx.name}' has no inline policy (a {BUCKET_POLICY} is judged on its own)."
        )
    doc = iam.document(value)
    if doc is None:
        return violation(f"Bucket policy of '{ctx.name}' is not a JSON object.")
    own = _own_accounts(ctx)
    grants = [
        grant
        for index, statement in enumerate(iam.statements(doc))
        if (grant := _cross_account_grant(statement, index, own))
    ]
    if not grants:
        return compliant()
    unknown_account = (
        "" if own else " (no account of this stack is configured, so every account counts as another)"
    )
    return violation(f"Bucket policy of '{ctx.name}': " + "; ".join(grants) + unknown_account + ".")


RULES = (
    s3_public_access_block,
    s3_default_encryption,
    s3_versioning_enabled,
    s3_tls_only_policy,
    s3_bucket_owner_enforced,
    s3_access_logging,
    s3_lifecycle_configuration,
    s3_directory_bucket_lifecycle,
    s3_access_point_public_access_block,
    s3_multi_region_access_point_public_access_block,
    s3_account_public_access_block,
    s3_bucket_policy_other_accounts_restricted,
)
