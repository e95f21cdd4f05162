"""CloudFront distribution rules."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from paved_policies.props import (
    any_of,
    as_map,
    get_bool,
    get_int,
    get_map,
    get_seq,
    get_text,
    has_value,
    strings,
)
from paved_policies.rule import (
    Finding,
    GraphResource,
    ResourceContext,
    StackContext,
    compliant,
    resource_rule,
    stack_rule,
    violation,
)

DISTRIBUTION = "aws:cloudfront/distribution:Distribution"
RESPONSE_HEADERS_POLICY = "aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy"
LOG_DELIVERY_SOURCE = "aws:cloudwatch/logDeliverySource:LogDeliverySource"
LOG_DELIVERY = "aws:cloudwatch/logDelivery:LogDelivery"

HTTPS_VIEWER_POLICIES = ("redirect-to-https", "https-only")
# Viewer security policies are named TLSv<lowest version>_<year of the cipher list>; from TLSv1.2_2019 on
# they offer only TLS 1.2+ with forward-secret ciphers (TLSv1.2_2018 still allows CBC-SHA ones).
# https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/secure-connections-supported-viewer-protocols-ciphers.html
MIN_VIEWER_POLICY = (1, 2, 2019)
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


def _viewer_policy_at_least(version: str) -> bool:
    match = _VIEWER_POLICY.match(version)
    return match is not None and tuple(int(part) for part in match.groups()) >= MIN_VIEWER_POLICY


@resource_rule(
    name="cloudfront-viewer-tls",
    description=(
        "CloudFront distributions serve their own certificate with a TLSv1.2_2019 or newer security policy "
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
    url="https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/secure-connections-supported-viewer-protocols-ciphers.html",
)
def cloudfront_viewer_tls(props: Mapping[str, Any], ctx: ResourceContext) -> Finding:
    certificate = get_map(props, "viewerCertificate")
    own = has_value(certificate, "acmCertificateArn") or has_value(certificate, "iamCertificateId")
    if get_bool(certificate, "cloudfrontDefaultCertificate") is True or not own:
        return violation(
            f"{_name(ctx)} uses the default *.cloudfront.net certificate, whose security policy is TLSv1."
        )
    version = get_text(certificate, "minimumProtocolVersion")
    if version is not None and _viewer_policy_at_least(version):
        return compliant()
    return violation(
        f"{_name(ctx)} has minimumProtocolVersion {version or 'unset (TLSv1)'}; TLSv1.2_2019 or newer is "
        "required."
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


def _is_s3_rest_endpoint(domain: str) -> bool:
    # bucket.s3.amazonaws.com, bucket.s3.<region>.amazonaws.com, bucket.s3-<region>.amazonaws.com; website
    # endpoints (s3-website) are custom origins and cannot use OAC.
    domain = domain.lower()
    if "s3-website" in domain or not domain.endswith((".amazonaws.com", ".amazonaws.com.cn")):
        return False
    return ".s3." in domain or ".s3-" in domain


def _origins(props: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    origins = [as_map(o) for o in get_seq(props, "origins")]
    return [(str(get_text(o, "originId") or i), o) for i, o in enumerate(origins)]


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
    url="https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/private-content-restricting-access-to-s3.html",
)
def cloudfront_s3_origin_oac(props: Mapping[str, Any], ctx: ResourceContext) -> Finding:
    problems = []
    for origin_id, origin in _origins(props):
        if has_value(origin, "originAccessControlId"):
            continue
        if has_value(origin, "customOriginConfig") or has_value(origin, "vpcOriginConfig"):
            continue  # not an S3 REST origin
        s3_config = get_map(origin, "s3OriginConfig")
        if has_value(s3_config, "originAccessIdentity"):
            problems.append(f"origin '{origin_id}' uses a legacy origin access identity")
        # Unknown in a first preview when it is a bucket's output: reading it defers to the SDK.
        elif len(s3_config) > 0 or _is_s3_rest_endpoint(get_text(origin, "domainName") or ""):
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
    cloudfront_waf_attached,
    cloudfront_access_logging,
    cloudfront_s3_origin_oac,
    cloudfront_custom_origin_https,
    cloudfront_hsts_headers,
)
