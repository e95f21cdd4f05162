"""CloudFront and its us-east-1 side, as recorded for the prod stack."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from components.cdn import CACHING_DISABLED, CACHING_OPTIMIZED, MINIMUM_TLS
from paved.config import load_stack_config
from paved.recorder import Recording
from paved.values import is_secret

DISTRIBUTION = "aws:cloudfront/distribution:Distribution"


def _distribution(prod: Recording) -> dict[str, Any]:
    return prod.one(DISTRIBUTION, "cdn").inputs


def test_every_behavior_is_https_and_tls_minimums_hold(prod: Recording) -> None:
    inputs = _distribution(prod)
    behaviors = [inputs["defaultCacheBehavior"], *inputs["orderedCacheBehaviors"]]
    assert all(b["viewerProtocolPolicy"] == "redirect-to-https" for b in behaviors)
    certificate = inputs["viewerCertificate"]
    assert certificate["minimumProtocolVersion"] == MINIMUM_TLS == "TLSv1.2_2021"
    assert certificate["sslSupportMethod"] == "sni-only"
    assert (inputs["httpVersion"], inputs["isIpv6Enabled"]) == ("http2and3", True)
    [alb] = [o for o in inputs["origins"] if o["originId"] == "alb"]
    custom = alb["customOriginConfig"]
    assert (custom["originProtocolPolicy"], custom["originSslProtocols"]) == ("https-only", ["TLSv1.2"])
    assert alb["domainName"] == "origin.example.com"


def test_the_origin_secret_header_is_never_plain(prod: Recording) -> None:
    [alb] = [o for o in _distribution(prod)["origins"] if o["originId"] == "alb"]
    [header] = alb["customHeaders"]
    assert header["name"] == "X-Origin-Verify" and is_secret(header["value"])


def test_app_traffic_is_uncached_and_assets_are_cached_and_compressed(prod: Recording) -> None:
    inputs = _distribution(prod)
    default = inputs["defaultCacheBehavior"]
    assert (default["targetOriginId"], default["cachePolicyId"]) == ("alb", CACHING_DISABLED)
    assert default["compress"] is False
    assets = {b["pathPattern"]: b for b in inputs["orderedCacheBehaviors"]}
    assert set(assets) == {"/_next/static/*", "/static/*"}
    for behavior in assets.values():
        assert (behavior["targetOriginId"], behavior["cachePolicyId"]) == ("assets-group", CACHING_OPTIMIZED)
        assert behavior["compress"] is True
    [bucket_origin] = [o for o in inputs["origins"] if o["originId"] == "assets"]
    access = prod.one("aws:cloudfront/originAccessControl:OriginAccessControl")
    assert prod.one(DISTRIBUTION, "cdn").property_dependencies["origins"]
    assert access.inputs["signingBehavior"] == "always" and "originAccessControlId" in bucket_origin


def test_waf_certificate_and_logs_live_in_us_east_1(prod: Recording) -> None:
    distribution = prod.one(DISTRIBUTION, "cdn")
    acl = prod.one("aws:wafv2/webAcl:WebAcl", "cdn-waf")
    assert acl.inputs["scope"] == "CLOUDFRONT" and "::us-east-1::" in acl.provider
    assert acl.urn in distribution.property_dependencies["webAclId"]
    certificate = prod.one("aws:acm/certificate:Certificate", "cdn-certificate")
    assert "::us-east-1::" in certificate.provider
    assert "::us-east-1::" not in prod.one("aws:acm/certificate:Certificate", "certificate").provider
    for resource_type in (
        "aws:cloudwatch/logDeliverySource:LogDeliverySource",
        "aws:cloudwatch/logDeliveryDestination:LogDeliveryDestination",
        "aws:cloudwatch/logDelivery:LogDelivery",
    ):
        assert "::us-east-1::" in prod.one(resource_type).provider
    provider = prod.one("pulumi:providers:aws", "us-east-1")
    assert provider.inputs["region"] == "us-east-1"


def test_response_headers_policy(prod: Recording) -> None:
    policy = prod.one("aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy").inputs
    security = policy["securityHeadersConfig"]
    hsts = security["strictTransportSecurity"]
    assert (hsts["accessControlMaxAgeSec"], hsts["includeSubdomains"], hsts["preload"]) == (
        31_536_000,
        True,
        True,
    )
    assert security["frameOptions"]["frameOption"] == "DENY"
    assert security["contentTypeOptions"]["override"] is True
    assert security["contentSecurityPolicy"]["contentSecurityPolicy"].startswith("default-src 'self'")
    # corsAllowAppHosts: prod answers CORS for its own app host (test_prod_allows_cors_from_its_own_hosts).
    assert policy["corsConfig"]["accessControlAllowCredentials"] is False


def test_the_assets_key_trusts_only_this_distribution(prod: Recording) -> None:
    key = prod.one("aws:kms/key:Key", "cdn-assets")
    assert "policy" not in key.inputs  # the separate KeyPolicy breaks the key -> bucket -> CDN cycle
    key_policy = prod.one("aws:kms/keyPolicy:KeyPolicy", "cdn-assets")
    assert key_policy.property_dependencies["keyId"] == [key.urn]
    assert prod.one(DISTRIBUTION, "cdn").urn in key_policy.property_dependencies["policy"]
    bucket_policy = prod.one("aws:s3/bucketPolicy:BucketPolicy", "cdn-assets")
    assert prod.one(DISTRIBUTION, "cdn").urn in bucket_policy.property_dependencies["policy"]


def test_dns_aliases_point_at_cloudfront_and_origin_at_the_alb(prod: Recording) -> None:
    records = {r.name: r.inputs for r in prod.of_type("aws:route53/record:Record")}
    assert records["cdn-origin"]["name"] == "origin.example.com"
    for record_type in ("a", "aaaa"):
        alias = records[f"cdn-app.example.com-{record_type}"]["aliases"][0]
        assert alias["zoneId"] == "Z2FDTNDATAQYW2"


def test_cloudfront_alarms_use_the_us_east_1_topic(prod: Recording) -> None:
    alarms = {
        r.name: r for r in prod.of_type("aws:cloudwatch/metricAlarm:MetricAlarm") if r.name.startswith("cdn-")
    }
    assert {"cdn-5xx-rate", "cdn-4xx-rate"} <= set(alarms)
    topic = prod.one("aws:sns/topic:Topic", "alerts-global")
    for alarm in alarms.values():
        assert alarm.property_dependencies["alarmActions"] == [topic.urn]
        assert "::us-east-1::" in alarm.provider


@pytest.mark.parametrize(
    ("csp", "fragment"),
    [
        ("default-src 'self';\nscript-src 'self'", "one non-empty line"),
        ("x" * 1784, "CloudFront allows 1783"),
    ],
)
def test_bad_content_security_policies_are_rejected_with_the_key_path(csp: str, fragment: str) -> None:
    from paved.errors import ConfigError

    raw = {
        "aws:region": "eu-west-1",
        "paved:environment": "staging",
        "paved:domain": {"name": "example.com", "hostedZoneId": "Z0123456789ABCDEFGHIJ"},
        "paved:cluster": {"adminRoleArns": ["arn:aws:iam::123456789012:role/deploy"]},
        "paved:edge": {"contentSecurityPolicy": csp},
    }
    with pytest.raises(ConfigError) as caught:
        load_stack_config(raw, "staging")
    [problem] = caught.value.problems
    assert problem.path == "paved:edge.contentSecurityPolicy" and fragment in problem.message


def test_every_bucket_but_the_log_buckets_is_kms_encrypted(prod: Recording) -> None:
    configs = prod.of_type(
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
    )
    log_buckets = {"alb-logs", "s3-access-logs", "s3-access-logs-dr"}
    # The uptime canaries' artifacts and script are logs of a kind: the stack's logs key.
    keys = {
        "cdn-assets": "cdn-assets",
        "cdn-assets-dr": "cdn-assets-dr",
        "uptime-artifacts": "logs",
        "uptime-code": "logs",
    }
    assert {c.name for c in configs} == {*log_buckets, *keys}
    for config in configs:
        default = config.inputs["rules"][0]["applyServerSideEncryptionByDefault"]
        if config.name in log_buckets:
            # ALB log delivery and S3 server access logging deliver to SSE-S3 buckets only
            assert default["sseAlgorithm"] == "AES256"
        else:
            assert default["sseAlgorithm"] == "aws:kms"
            assert config.property_dependencies["rules"] == [
                prod.one("aws:kms/key:Key", keys[config.name]).urn
            ]


def test_cors_block_appears_only_with_allowed_origins(shipped_recordings: Callable[[str], Recording]) -> None:
    from pathlib import Path

    from paved.program import run_project

    root = Path(__file__).resolve().parent.parent
    edge = {"corsAllowedOrigins": ["https://admin.example.com"], "ingressCidrs": ["203.0.113.0/24"]}
    recording = run_project(root, "staging", {"paved:edge": edge})
    policy = recording.one("aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy").inputs
    origins = policy["corsConfig"]["accessControlAllowOrigins"]["items"]
    assert origins == ["https://admin.example.com"]
    assert policy["corsConfig"]["accessControlAllowCredentials"] is False
    assert (
        "corsConfig"
        not in shipped_recordings("staging")
        .one("aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy")
        .inputs
    )


def test_prod_allows_cors_from_its_own_hosts(prod: Recording) -> None:
    policy = prod.one("aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy").inputs
    assert policy["corsConfig"]["accessControlAllowOrigins"]["items"] == ["https://app.example.com"]


def test_assets_fail_over_to_a_dr_region_replica(prod: Recording) -> None:
    inputs = _distribution(prod)
    [group] = inputs["originGroups"]
    assert [m["originId"] for m in group["members"]] == ["assets", "assets-dr"]
    assert set(group["failoverCriteria"]["statusCodes"]) == {500, 502, 503, 504}
    assert {b["targetOriginId"] for b in inputs["orderedCacheBehaviors"]} == {"assets-group"}
    # Origin groups only fail over GET, HEAD and OPTIONS:
    # https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/high_availability_origin_failover.html
    assert all(
        set(b["allowedMethods"]) <= {"GET", "HEAD", "OPTIONS"} for b in inputs["orderedCacheBehaviors"]
    )
    dr_bucket = prod.one("aws:s3/bucket:Bucket", "cdn-assets-dr")
    dr_key = prod.one("aws:kms/key:Key", "cdn-assets-dr")
    assert "::dr::" in dr_bucket.provider and "::dr::" in dr_key.provider
    assert "::dr::" not in prod.one("aws:s3/bucket:Bucket", "cdn-assets").provider
    replication = prod.one("aws:s3/bucketReplicationConfig:BucketReplicationConfig")
    assert replication.property_dependencies["bucket"] == [prod.one("aws:s3/bucket:Bucket", "cdn-assets").urn]
    rule = replication.inputs["rules"][0]
    assert rule["status"] == "Enabled"
    assert rule["sourceSelectionCriteria"]["sseKmsEncryptedObjects"]["status"] == "Enabled"
    assert set(replication.property_dependencies["rules"]) == {dr_bucket.urn, dr_key.urn}
    assert dr_key.protect and dr_bucket.protect


def test_staging_has_no_assets_failover_and_failover_needs_a_dr_region(
    shipped_recordings: Callable[[str], Recording],
) -> None:
    from paved.errors import ConfigError

    staging = shipped_recordings("staging")
    assert "originGroups" not in staging.one(DISTRIBUTION, "cdn").inputs
    assert not staging.of_type("aws:s3/bucketReplicationConfig:BucketReplicationConfig")
    raw = {
        "aws:region": "eu-west-1",
        "paved:environment": "staging",
        "paved:domain": {"name": "example.com", "hostedZoneId": "Z0123456789ABCDEFGHIJ"},
        "paved:cluster": {"adminRoleArns": ["arn:aws:iam::123456789012:role/deploy"]},
        "paved:edge": {"assetsFailover": True},
    }
    with pytest.raises(ConfigError) as caught:
        load_stack_config(raw, "staging")
    assert [p.path for p in caught.value.problems] == ["paved:edge.assetsFailover"]
