"""CloudFront distribution rules.

Origins are read the way pulumi-aws sends them: an origin with neither customOriginConfig nor
vpcOriginConfig is an S3 origin, since the provider then adds an empty S3OriginConfig (terraform-provider-aws
`expandOrigin`: "if both custom and s3 origin are missing, add an empty s3 origin").
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from paved_policies.props import (
    UNKNOWN,
    any_item,
    any_of,
    as_map,
    get,
    get_bool,
    get_int,
    get_map,
    get_seq,
    get_text,
    has_item,
    has_value,
    peek,
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
from paved_policies.rules.s3 import BUCKETS

DISTRIBUTION = "aws:cloudfront/distribution:Distribution"
RESPONSE_HEADERS_POLICY = "aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy"
LOG_DELIVERY_SOURCE = "aws:cloudwatch/logDeliverySource:LogDeliverySource"
LOG_DELIVERY = "aws:cloudwatch/logDelivery:LogDelivery"
FUNCTION_URL = "aws:lambda/functionUrl:FunctionUrl"

HTTPS_VIEWER_POLICIES = ("redirect-to-https", "https-only")
# Viewer security policies are named TLSv<lowest version>_<year of the cipher list>. CloudFront.15 takes
# TLSv1.2_2021, TLSv1.2_2025 and TLSv1.3_2025: from TLSv1.2_2021 on they offer only AEAD ciphers (GCM,
# ChaCha20), where TLSv1.2_2019 still allows CBC ones.
# https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/secure-connections-supported-viewer-protocols-ciphers.html
MIN_VIEWER_POLICY = (1, 2, 2021)
_VIEWER_POLICY = re.compile(r"^TLSv(\d+)\.(\d+)_(\d{4})$")
ORIGIN_TLS_PROTOCOLS = frozenset({"TLSv1.2"})
# AWS managed response headers policies that send Strict-Transport-Security (max-age one year):
# SecurityHeadersPolicy, CORS-and-SecurityHeadersPolicy, CORS-with-preflight-and-SecurityHeadersPolicy.
# https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/using-managed-response-headers-policies.html
MANAGED_HSTS_POLICIES = frozenset(
    {
        "67f7725c-6f97-4210-82d7-5512b31e9d03",
        "e61eb60c-9c35-4d20-a928-2b84e02af89c",
        "eaab4381-ed33-4a86-88ca-d9558dc6cd63",
    }
)
# What the managed policies send and HSTS preload lists require.
MIN_HSTS_MAX_AGE_SECONDS = 31_536_000
# An origin group has a primary and a secondary origin:
# https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/high_availability_origin_failover.html
FAILOVER_ORIGINS = 2
# The REST endpoints a bucket is reached at: bucket.s3.amazonaws.com, bucket.s3.<region>.amazonaws.com,
# bucket.s3-<region>.amazonaws.com, bucket.s3.dualstack.<region>.amazonaws.com (and .com.cn in China).
# https://docs.aws.amazon.com/AmazonS3/latest/userguide/VirtualHosting.html
_S3_REST_DOMAIN = re.compile(
    r"^(?P<bucket>.+)\.s3(?:[.-](?:dualstack|external-1|[a-z]{2}(?:-gov|-iso[a-z]?)?-[a-z]+-\d+))*"
    r"\.amazonaws\.com(?:\.cn)?$"
)
# https://docs.aws.amazon.com/lambda/latest/dg/urls-configuration.html: <url-id>.lambda-url.<region>.on.aws
_FUNCTION_URL_DOMAIN = re.compile(r"^[a-z0-9]+\.lambda-url\.[a-z0-9-]+\.on\.aws$")


def _name(ctx: ResourceContext | StackContext) -> str:
    return f"Distribution '{ctx.name}'"


def _behaviors(props: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    ordered = [as_map(b) for b in get_seq(props, "orderedCacheBehaviors")]
    return [("default behavior", get_map(props, "defaultCacheBehavior"))] + [
        (f"behavior '{get_text(b, 'pathPattern') or i}'", b) for i, b in enumerate(ordered)
    ]


@resource_rule(
    name="cloudfront-viewer-https",
    description="Every CloudFront cache behavior (default and ordered) makes viewers use HTTPS.",
    severity="high",
    remediation="Set viewer_protocol_policy='redirect-to-https' (or 'https-only') on every cache behavior.",
    resource_types=(DISTRIBUTION,),
    checkov=("CKV_AWS_34",),
    fsbp=("CloudFront.3",),
    url="https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/using-https-viewers-to-cloudfront.html",
)
def cloudfront_viewer_https(props: Mapping[str, Any], ctx: ResourceContext) -> Finding:
    plain = [
        f"{where} ({get_text(behavior, 'viewerProtocolPolicy') or 'unset'})"
        for where, behavior in _behaviors(props)
        if get_text(behavior, "viewerProtocolPolicy") not in HTTPS_VIEWER_POLICIES
    ]
    if not plain:
        return compliant()
    return violation(f"{_name(ctx)} lets viewers use plain HTTP: {', '.join(plain)}.")


def _own_certificate(certificate: Mapping[str, Any]) -> bool:
    if get_bool(certificate, "cloudfrontDefaultCertificate") is True:
        return False
    return has_value(certificate, "acmCertificateArn") or has_value(certificate, "iamCertificateId")


def _viewer_policy_at_least(version: str) -> bool:
    match = _VIEWER_POLICY.match(version)
    return match is not None and tuple(int(part) for part in match.groups()) >= MIN_VIEWER_POLICY


@resource_rule(
    name="cloudfront-viewer-tls",
    description=(
        "CloudFront distributions serve their own certificate with a TLSv1.2_2021 or newer security policy "
        "(the default *.cloudfront.net certificate accepts TLSv1)."
    ),
    severity="high",
    remediation=(
        "Set viewer_certificate with acm_certificate_arn (an ACM certificate in us-east-1), "
        "ssl_support_method='sni-only' and minimum_protocol_version='TLSv1.2_2021' (or newer)."
    ),
    resource_types=(DISTRIBUTION,),
    checkov=("CKV_AWS_174", "CKV2_AWS_42"),
    cdk_nag=("AwsSolutions-CFR4",),
    # CloudFront.15 does not judge a distribution on the default certificate or on dedicated IPs (vip):
    # CloudFront.7 fails the first, and TLSv1.2_2021 is asked of both.
    fsbp=("CloudFront.7", "CloudFront.15"),
    url="https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/secure-connections-supported-viewer-protocols-ciphers.html",
)
def cloudfront_viewer_tls(props: Mapping[str, Any], ctx: ResourceContext) -> Finding:
    certificate = get_map(props, "viewerCertificate")
    if not _own_certificate(certificate):
        return violation(
            f"{_name(ctx)} uses the default *.cloudfront.net certificate, whose security policy is TLSv1."
        )
    version = get_text(certificate, "minimumProtocolVersion")
    if version is not None and _viewer_policy_at_least(version):
        return compliant()
    return violation(
        f"{_name(ctx)} has minimumProtocolVersion {version or 'unset (TLSv1)'}; TLSv1.2_2021 or newer is "
        "required."
    )


@resource_rule(
    name="cloudfront-viewer-sni",
    description="CloudFront distributions serve their own certificate over SNI, not on dedicated IPs.",
    severity="low",
    remediation=(
        "Set viewer_certificate.ssl_support_method='sni-only'. 'vip' (dedicated IP addresses at every edge "
        "location, billed monthly) serves only clients without SNI, which every browser since 2010 sends."
    ),
    resource_types=(DISTRIBUTION,),
    fsbp=("CloudFront.8",),
    url="https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/cnames-https-dedicated-ip-or-sni.html",
)
def cloudfront_viewer_sni(props: Mapping[str, Any], ctx: ResourceContext) -> Finding:
    certificate = get_map(props, "viewerCertificate")
    if not _own_certificate(certificate):
        return not_applicable(
            f"{_name(ctx)} serves the default *.cloudfront.net certificate (cloudfront-viewer-tls judges it)"
        )
    method = get_text(certificate, "sslSupportMethod")
    if method == "sni-only":
        return compliant()
    return violation(
        f"{_name(ctx)} serves its certificate with sslSupportMethod {method or 'unset'}, not sni-only."
    )


@resource_rule(
    name="cloudfront-waf-attached",
    description="CloudFront distributions have a WAFv2 web ACL (scope CLOUDFRONT) attached.",
    severity="high",
    remediation=(
        "Set web_acl_id to the ARN of a WAFv2 web ACL with scope CLOUDFRONT (created in us-east-1)."
    ),
    resource_types=(DISTRIBUTION,),
    checkov=("CKV_AWS_68",),
    cdk_nag=("AwsSolutions-CFR2",),
    fsbp=("CloudFront.6",),
    url="https://docs.aws.amazon.com/waf/latest/developerguide/cloudfront-features.html",
)
def cloudfront_waf_attached(props: Mapping[str, Any], ctx: ResourceContext) -> Finding:
    if has_value(props, "webAclId"):
        return compliant()
    return violation(f"{_name(ctx)} has no webAclId.")


def _delivers_access_logs(source: GraphResource, ctx: StackContext) -> bool:
    log_type = get_text(source.props, "logType")
    if log_type is not None and log_type != "ACCESS_LOGS":
        return False
    # A delivery source only produces logs once a LogDelivery connects it to a destination.
    return bool(ctx.graph.referrers(source.urn, "deliverySourceName", (LOG_DELIVERY,)))


@stack_rule(
    name="cloudfront-access-logging",
    description=(
        "CloudFront distributions log viewer requests: standard logging v2 (a CloudWatch log delivery "
        "source with a delivery) or legacy logging to S3."
    ),
    severity="medium",
    remediation=(
        "Create, in us-east-1, an aws.cloudwatch.LogDeliverySource (log_type 'ACCESS_LOGS', "
        "resource_arn=<the distribution>.arn), a LogDeliveryDestination and a LogDelivery joining them; or "
        "set logging_config.bucket (legacy logging needs an ACL-enabled bucket)."
    ),
    resource_types=(DISTRIBUTION,),
    checkov=("CKV_AWS_86",),
    cdk_nag=("AwsSolutions-CFR3",),
    # CloudFront.5 credits legacy logging to S3 only: fsbp_controls.json says why paved differs.
    url="https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/standard-logging.html",
)
def cloudfront_access_logging(props: Mapping[str, Any], ctx: StackContext) -> Finding:
    if has_value(get_map(props, "loggingConfig"), "bucket"):
        return compliant()
    sources = ctx.referrers("resourceArn", (LOG_DELIVERY_SOURCE,))
    if any_of(sources, lambda source: _delivers_access_logs(source, ctx)):
        return compliant()
    return violation(
        f"{_name(ctx)} logs no requests: no loggingConfig.bucket and no {LOG_DELIVERY_SOURCE} for its "
        f"ACCESS_LOGS with a {LOG_DELIVERY}."
    )


def _origins(props: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    origins = [as_map(o) for o in get_seq(props, "origins")]
    return [(str(get_text(o, "originId") or i), o) for i, o in enumerate(origins)]


def _domain(origin: Mapping[str, Any]) -> Any:
    """The origin's domainName, lower case; UNKNOWN while another resource's output is unknown in preview."""
    domain = peek(lambda: get_text(origin, "domainName"))
    return domain.lower() if isinstance(domain, str) else domain


def _is_s3_origin(origin: Mapping[str, Any]) -> bool:
    """An S3 REST origin as pulumi-aws sends it (see the module doc); S3 website endpoints serve as custom
    origins, never through S3OriginConfig."""
    if has_value(origin, "customOriginConfig") or has_value(origin, "vpcOriginConfig"):
        return False
    domain = _domain(origin)
    return not (isinstance(domain, str) and "s3-website" in domain)


def _is_function_url(origin: Mapping[str, Any]) -> bool:
    domain = _domain(origin)
    return isinstance(domain, str) and _FUNCTION_URL_DOMAIN.match(domain) is not None


def _has_oac(origin: Mapping[str, Any]) -> bool:
    return has_value(origin, "originAccessControlId")


def _defer_to_domain(origin: Mapping[str, Any]) -> None:
    """Read the origin's unknown domainName, for the SDK to report "can't run policy during preview"."""
    get(origin, "domainName")


@resource_rule(
    name="cloudfront-s3-origin-oac",
    description=(
        "CloudFront reaches S3 origins through origin access control (OAC), not legacy OAI or public reads."
    ),
    severity="high",
    remediation=(
        "Create an aws.cloudfront.OriginAccessControl (origin type 's3', signing 'always', 'sigv4'), set "
        "origin_access_control_id on the S3 origin and drop s3_origin_config.origin_access_identity; let "
        "the bucket policy allow cloudfront.amazonaws.com with AWS:SourceArn = the distribution."
    ),
    resource_types=(DISTRIBUTION,),
    checkov=("CKV2_AWS_46",),
    cdk_nag=("AwsSolutions-CFR7",),
    fsbp=("CloudFront.13",),
    url="https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/private-content-restricting-access-to-s3.html",
)
def cloudfront_s3_origin_oac(props: Mapping[str, Any], ctx: ResourceContext) -> Finding:
    problems = []
    for origin_id, origin in _origins(props):
        if _has_oac(origin) or not _is_s3_origin(origin):
            continue
        if has_value(get_map(origin, "s3OriginConfig"), "originAccessIdentity"):
            problems.append(f"origin '{origin_id}' uses a legacy origin access identity")
        else:
            problems.append(f"origin '{origin_id}' reads S3 without origin access control")
    if not problems:
        return compliant()
    return violation(f"{_name(ctx)}: {'; '.join(problems)}.")


@resource_rule(
    name="cloudfront-custom-origin-https",
    description="CloudFront connects to custom origins over HTTPS only, with TLSv1.2 only.",
    severity="high",
    remediation=(
        "Set custom_origin_config.origin_protocol_policy='https-only' and origin_ssl_protocols=['TLSv1.2'] "
        "on every custom origin, and give the origin a certificate for the name CloudFront connects to."
    ),
    resource_types=(DISTRIBUTION,),
    checkov=("CKV2_AWS_54", "CKV2_AWS_72"),
    cdk_nag=("AwsSolutions-CFR5",),
    # https-only with TLSv1.2 only is stricter than CloudFront.9 (no http-only, no match-viewer behind
    # allow-all) and CloudFront.10 (no SSLv3).
    fsbp=("CloudFront.9", "CloudFront.10"),
    url="https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/using-https-cloudfront-to-custom-origin.html",
)
def cloudfront_custom_origin_https(props: Mapping[str, Any], ctx: ResourceContext) -> Finding:
    problems = []
    for origin_id, origin in _origins(props):
        config = get_map(origin, "customOriginConfig")
        if not config:
            continue
        policy = get_text(config, "originProtocolPolicy")
        if policy != "https-only":
            problems.append(f"origin '{origin_id}' has originProtocolPolicy {policy or 'unset'}")
        protocols = set(strings(get_seq(config, "originSslProtocols")))
        if not protocols or protocols - ORIGIN_TLS_PROTOCOLS:
            problems.append(f"origin '{origin_id}' allows {sorted(protocols) or 'unset'} originSslProtocols")
    if not problems:
        return compliant()
    return violation(f"{_name(ctx)}: {'; '.join(problems)} (only https-only with TLSv1.2).")


@resource_rule(
    name="cloudfront-origin-failover",
    description=(
        "CloudFront distributions have an origin group of two origins, to fail over to when the primary "
        "origin errors or times out."
    ),
    severity="low",
    remediation=(
        "Add a second origin (a replica bucket in another region, a standby load balancer) and an "
        "origin_groups entry with both as members and failover_criteria.status_codes such as [500, 502, 503, "
        "504]; point the cache behaviors that only read (GET, HEAD, OPTIONS) at the group's origin_id."
    ),
    resource_types=(DISTRIBUTION,),
    fsbp=("CloudFront.4",),
    # A second origin is a second copy of the content, in another region: staging may go without it.
    staging_enforcement="advisory",
    url="https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/high_availability_origin_failover.html",
)
def cloudfront_origin_failover(props: Mapping[str, Any], ctx: ResourceContext) -> Finding:
    groups = get_seq(props, "originGroups")
    if any_item(groups, lambda group: len(get_seq(as_map(group), "members")) >= FAILOVER_ORIGINS):
        return compliant()
    return violation(
        f"{_name(ctx)} has no origin group of {FAILOVER_ORIGINS} origins, so nothing takes over when an "
        "origin fails."
    )


def _root_origins(props: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    """The origins the default behavior sends the root URL to: its target, or the members of its group."""
    target = get_text(get_map(props, "defaultCacheBehavior"), "targetOriginId")
    members = {
        get_text(group, "originId"): [get_text(m, "originId") for m in get_seq(group, "members")]
        for group in map(as_map, get_seq(props, "originGroups"))
    }
    targets = members.get(target) or [target]
    return [(origin_id, origin) for origin_id, origin in _origins(props) if origin_id in targets]


@resource_rule(
    name="cloudfront-s3-root-object",
    description=(
        "A CloudFront distribution whose default behavior serves the root URL from an S3 origin names a "
        "defaultRootObject, so a request for / returns that object, not an S3 error or the bucket listing."
    ),
    severity="medium",
    remediation=(
        "Set default_root_object to the object the root should show (such as 'index.html', without a "
        "leading slash). CloudFront rewrites only / itself: a subdirectory needs a CloudFront Function."
    ),
    resource_types=(DISTRIBUTION,),
    # CloudFront.1 fails every distribution with an S3 origin anywhere and no default root object, also when
    # the root URL goes to a custom origin, where a root object would rewrite / for the app:
    # fsbp_controls.json says why paved differs.
    url="https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/DefaultRootObject.html",
)
def cloudfront_s3_root_object(props: Mapping[str, Any], ctx: ResourceContext) -> Finding:
    s3 = [origin_id for origin_id, origin in _root_origins(props) if _is_s3_origin(origin)]
    if not s3:
        return not_applicable(f"the default behavior of {_name(ctx)} reaches no S3 origin")
    # A presence check: CloudFront serves whatever object it names.
    if has_value(props, "defaultRootObject"):
        return compliant()
    return violation(
        f"{_name(ctx)} serves / from S3 origin '{s3[0]}' with no defaultRootObject, so the root URL returns "
        "an S3 error, or the bucket's listing where the bucket allows it."
    )


def _bucket_named_by(domain: str) -> str | None:
    match = _S3_REST_DOMAIN.match(domain)
    return match["bucket"] if match else None


@stack_rule(
    name="cloudfront-s3-origin-bucket-declared",
    description=(
        "Every S3 origin of a CloudFront distribution is a bucket the stack declares (an output of it, or "
        "its REST endpoint by name), so the bucket exists and is the program's own."
    ),
    severity="high",
    remediation=(
        "Declare the bucket in this stack and take the origin's domain_name from its "
        "bucket_regional_domain_name. If the bucket belongs to another stack, check that it exists and is "
        "yours, and exempt the distribution from this policy with the reason."
    ),
    resource_types=(DISTRIBUTION,),
    fsbp=("CloudFront.12",),
    # AWS: a distribution pointing at a deleted bucket serves whatever the next owner of that bucket name
    # puts there; only live S3 state says whether an undeclared bucket exists.
    url="https://docs.aws.amazon.com/securityhub/latest/userguide/cloudfront-controls.html#cloudfront-12",
)
def cloudfront_s3_origin_bucket_declared(props: Mapping[str, Any], ctx: StackContext) -> Finding:
    s3 = [(origin_id, origin) for origin_id, origin in _origins(props) if _is_s3_origin(origin)]
    if not s3:
        return not_applicable(f"{_name(ctx)} has no S3 origin")
    names = (peek(lambda b=b: get_text(b.props, "bucket")) for b in ctx.of_types(BUCKETS))
    declared = {name for name in names if isinstance(name, str)}
    problems = []
    unknown = []
    for origin_id, origin in s3:
        domain = _domain(origin)
        if domain is UNKNOWN:
            unknown.append(origin)
        elif (bucket := _bucket_named_by(domain or "")) not in declared:
            named = f"bucket '{bucket}'" if bucket else f"'{domain}', not a bucket endpoint"
            problems.append(f"origin '{origin_id}': {named}")
    if problems:
        return violation(
            f"{_name(ctx)} reads S3 buckets the stack does not declare ({'; '.join(problems)}), so the pack "
            "cannot see that they exist; a deleted bucket's name can be taken by anyone, who then serves "
            "through this distribution."
        )
    # A domain unknown in preview is a bucket's when the origins were built from as many declared buckets.
    if len(unknown) > len(ctx.dependencies("origins", BUCKETS)):
        _defer_to_domain(unknown[0])
    return compliant()


@stack_rule(
    name="cloudfront-lambda-url-origin-oac",
    description=(
        "CloudFront reaches Lambda function URL origins through origin access control (OAC), so the URL can "
        "take AWS_IAM auth and answer CloudFront alone."
    ),
    severity="medium",
    remediation=(
        "Create an aws.cloudfront.OriginAccessControl (origin type 'lambda', signing 'always', 'sigv4'), set "
        "origin_access_control_id on the function URL's origin, set the aws.lambda_.FunctionUrl "
        "authorization_type='AWS_IAM', and allow lambda:InvokeFunctionUrl to cloudfront.amazonaws.com with "
        "AWS:SourceArn = the distribution (aws.lambda_.Permission)."
    ),
    resource_types=(DISTRIBUTION,),
    fsbp=("CloudFront.16",),
    url="https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/private-content-restricting-access-to-lambda.html",
)
def cloudfront_lambda_url_origin_oac(props: Mapping[str, Any], ctx: StackContext) -> Finding:
    origins = _origins(props)
    named = [(origin_id, origin) for origin_id, origin in origins if _is_function_url(origin)]
    # The stack's function URLs not among them feed domains still unknown in preview, of custom origins.
    pending = len(ctx.dependencies("origins", (FUNCTION_URL,))) - len(named)
    unknown = [
        (origin_id, origin)
        for origin_id, origin in origins
        if pending > 0 and _domain(origin) is UNKNOWN and not _is_s3_origin(origin)
    ]
    if not named and not unknown:
        return not_applicable(f"{_name(ctx)} has no Lambda function URL origin")
    problems = [f"origin '{origin_id}'" for origin_id, origin in named if not _has_oac(origin)]
    unsigned = [(origin_id, origin) for origin_id, origin in unknown if not _has_oac(origin)]
    # Each function URL is one origin's domain: fewer origins with OAC than such URLs leaves one without.
    if unsigned and len(unknown) - len(unsigned) < pending:
        candidates = ", ".join(f"'{origin_id}'" for origin_id, _ in unsigned)
        problems.append(f"one of origins {candidates}, whose domains come from the stack's function URLs")
    if problems:
        return violation(f"{_name(ctx)} reaches a Lambda function URL without OAC: {'; '.join(problems)}.")
    if unsigned:
        _defer_to_domain(unsigned[0][1])
    return compliant()


@resource_rule(
    name="cloudfront-trusted-key-groups",
    description=(
        "Cache behaviors that require signed URLs or cookies trust key groups, not CloudFront key pairs "
        "(trustedSigners), which only the AWS account root user can manage."
    ),
    severity="medium",
    remediation=(
        "Create an aws.cloudfront.PublicKey and an aws.cloudfront.KeyGroup holding it, set "
        "trusted_key_groups=[group.id] on the cache behavior and drop trusted_signers; sign URLs and cookies "
        "with the key group's private key."
    ),
    resource_types=(DISTRIBUTION,),
    # CloudFront.17 also fails every behavior that requires no signature at all: fsbp_controls.json says why
    # paved differs.
    url="https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/private-content-trusted-signers.html",
)
def cloudfront_trusted_key_groups(props: Mapping[str, Any], ctx: ResourceContext) -> Finding:
    # Presence checks: the key group ids are other resources' outputs.
    signed = [
        (where, behavior)
        for where, behavior in _behaviors(props)
        if has_item(behavior, "trustedKeyGroups") or has_item(behavior, "trustedSigners")
    ]
    if not signed:
        return not_applicable(f"{_name(ctx)} requires no signed URLs or cookies")
    key_pairs = [where for where, behavior in signed if has_item(behavior, "trustedSigners")]
    if not key_pairs:
        return compliant()
    return violation(
        f"{_name(ctx)} trusts CloudFront key pairs (trustedSigners) on the {', '.join(key_pairs)}, not key "
        "groups."
    )


def _sends_hsts(policy: GraphResource) -> bool:
    hsts = get_map(get_map(policy.props, "securityHeadersConfig"), "strictTransportSecurity")
    max_age = get_int(hsts, "accessControlMaxAgeSec")
    return max_age is not None and max_age >= MIN_HSTS_MAX_AGE_SECONDS


@stack_rule(
    name="cloudfront-hsts-headers",
    description=(
        "The default cache behavior of every CloudFront distribution sends Strict-Transport-Security for at "
        "least a year, through a response headers policy of the stack or an AWS managed one."
    ),
    severity="medium",
    remediation=(
        "Create an aws.cloudfront.ResponseHeadersPolicy whose security_headers_config."
        "strict_transport_security sets access_control_max_age_sec >= 31536000 (with include_subdomains "
        "and override), and pass its id as the default behavior's response_headers_policy_id; or use the "
        "managed SecurityHeadersPolicy (67f7725c-6f97-4210-82d7-5512b31e9d03)."
    ),
    resource_types=(DISTRIBUTION,),
    checkov=("CKV2_AWS_32", "CKV_AWS_259"),
    url="https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/understanding-response-headers-policies.html",
)
def cloudfront_hsts_headers(props: Mapping[str, Any], ctx: StackContext) -> Finding:
    # The default behavior's only input that can come from a ResponseHeadersPolicy is its
    # responseHeadersPolicyId, so the property dependency names the policy while its id is unknown.
    declared = ctx.dependencies("defaultCacheBehavior", (RESPONSE_HEADERS_POLICY,))
    if declared:
        if any_of(declared, _sends_hsts):
            return compliant()
        return violation(
            f"{_name(ctx)}: the default behavior's response headers policy sends no "
            f"Strict-Transport-Security with a max-age of at least {MIN_HSTS_MAX_AGE_SECONDS} seconds."
        )
    policy_id = get_text(get_map(props, "defaultCacheBehavior"), "responseHeadersPolicyId")
    if policy_id in MANAGED_HSTS_POLICIES:
        return compliant()
    if policy_id is None:
        return violation(f"{_name(ctx)}: the default behavior has no responseHeadersPolicyId.")
    return violation(
        f"{_name(ctx)}: the default behavior's response headers policy {policy_id} is neither declared in "
        "this stack nor an AWS managed policy with HSTS, so the pack cannot see that it sends HSTS."
    )


RULES = (
    cloudfront_viewer_https,
    cloudfront_viewer_tls,
    cloudfront_viewer_sni,
    cloudfront_waf_attached,
    cloudfront_access_logging,
    cloudfront_s3_origin_oac,
    cloudfront_custom_origin_https,
    cloudfront_origin_failover,
    cloudfront_s3_root_object,
    cloudfront_s3_origin_bucket_declared,
    cloudfront_lambda_url_origin_oac,
    cloudfront_trusted_key_groups,
    cloudfront_hsts_headers,
)
