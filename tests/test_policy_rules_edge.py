"""The edge and cross-cutting families: S3, ELBv2, WAFv2, CloudFront, required tags, stateful protection.

Fixtures and the tests only these families need; tests/test_policy_pack.py runs the tables below with
every other family's, through tests/policy_harness.py (the real pulumi_policy objects, props behind the
SDK's unknown-checking proxy, numbers as floats, unknowns as the engine's sentinels). Stack fixtures are
first previews: every ARN and id unknown, only the dependency edges known.

`PYTHONPATH=policies uv run python -m tests.test_policy_rules_edge` regenerates
policies/paved_policies/aws_taggable.py from the installed pulumi-aws.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from paved_policies.aws_taggable import TAGGABLE_TYPES
from paved_policies.pack import RULES
from paved_policies.rule import ResourceRule, StackRule, compliant
from paved_policies.rules import cloudfront, elbv2, protection, s3, tags, wafv2
from pulumi_policy.proxy import (
    UNKNOWN_ARRAY_VALUE,
    UNKNOWN_BOOLEAN_VALUE,
    UNKNOWN_OBJECT_VALUE,
    UnknownValueError,
)

from paved.analyzer import StackContext, analyze_with_pack
from paved.recorder import RecordedResource, Recording
from tests.policy_harness import (
    POLICIES,
    UNKNOWN,
    UNKNOWNS,
    Deferral,
    Family,
    OtherType,
    PreviewUnknown,
    Res,
    ResourceCase,
    StackCase,
    StackFuzzTarget,
    but,
    policy_document,
    run_resource,
    run_stack,
    urn_of,
    with_deps,
)

ROOT = Path(__file__).resolve().parent.parent

BUCKET = "aws:s3/bucket:Bucket"
BUCKET_V2 = "aws:s3/bucketV2:BucketV2"
PAB = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
SSE = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
SSE_V2 = "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2"
VERSIONING = "aws:s3/bucketVersioning:BucketVersioning"
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
OWNERSHIP = "aws:s3/bucketOwnershipControls:BucketOwnershipControls"
LOGGING = "aws:s3/bucketLogging:BucketLogging"
LOGGING_V2 = "aws:s3/bucketLoggingV2:BucketLoggingV2"
LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
LIFECYCLE_V2 = "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2"
DIRECTORY_BUCKET = "aws:s3/directoryBucket:DirectoryBucket"
ACCESS_POINT = "aws:s3/accessPoint:AccessPoint"
MRAP = "aws:s3control/multiRegionAccessPoint:MultiRegionAccessPoint"
ACCOUNT_PAB = "aws:s3/accountPublicAccessBlock:AccountPublicAccessBlock"
LB = "aws:lb/loadBalancer:LoadBalancer"
ALB_LB = "aws:alb/loadBalancer:LoadBalancer"
LISTENER = "aws:lb/listener:Listener"
ALB_LISTENER = "aws:alb/listener:Listener"
LISTENER_RULE = "aws:lb/listenerRule:ListenerRule"
TARGET_GROUP = "aws:lb/targetGroup:TargetGroup"
ALB_TARGET_GROUP = "aws:alb/targetGroup:TargetGroup"
CLASSIC_LB = "aws:elb/loadBalancer:LoadBalancer"
SUBNET = "aws:ec2/subnet:Subnet"
WAF_ASSOCIATION = "aws:wafv2/webAclAssociation:WebAclAssociation"
WEB_ACL = "aws:wafv2/webAcl:WebAcl"
RULE_GROUP = "aws:wafv2/ruleGroup:RuleGroup"
WEB_ACL_RULE = "aws:wafv2/webAclRule:WebAclRule"
RULE_GROUP_ASSOCIATION = "aws:wafv2/webAclRuleGroupAssociation:WebAclRuleGroupAssociation"
WAF_LOGGING = "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration"
DISTRIBUTION = "aws:cloudfront/distribution:Distribution"
HEADERS_POLICY = "aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy"
LOG_SOURCE = "aws:cloudwatch/logDeliverySource:LogDeliverySource"
LOG_DELIVERY = "aws:cloudwatch/logDelivery:LogDelivery"
FUNCTION_URL = "aws:lambda/functionUrl:FunctionUrl"
RDS_INSTANCE = "aws:rds/instance:Instance"
REPLICATION_GROUP = "aws:elasticache/replicationGroup:ReplicationGroup"
KMS_KEY = "aws:kms/key:Key"
QUEUE = "aws:sqs/queue:Queue"
ASG = "aws:autoscaling/group:Group"

TAGS = {"environment": "prod", "team": "platform"}

# ---------------------------------------------------------------------------------------------
# Fixtures, shaped as paved's own components declare them (a first preview: other resources' ids unknown).

ALB: dict[str, Any] = {
    "loadBalancerType": "application",
    "internal": False,
    "dropInvalidHeaderFields": True,
    "desyncMitigationMode": "strictest",
    "enableDeletionProtection": True,
    "accessLogs": {"enabled": True, "bucket": UNKNOWN},
    "securityGroups": [UNKNOWN],
    "subnets": UNKNOWN,
    "tags": TAGS,
}
NLB: dict[str, Any] = {
    "loadBalancerType": "network",
    "enableDeletionProtection": True,
    "accessLogs": {"enabled": True, "bucket": "nlb-logs"},
}
GWLB: dict[str, Any] = {"loadBalancerType": "gateway", "enableDeletionProtection": True}
HTTPS_LISTENER: dict[str, Any] = {
    "protocol": "HTTPS",
    "port": 443.0,
    "sslPolicy": "ELBSecurityPolicy-TLS13-1-2-Res-2021-06",
    "certificateArn": UNKNOWN,
    "loadBalancerArn": UNKNOWN,
    "defaultActions": [{"type": "fixed-response", "fixedResponse": {"statusCode": "403"}}],
}
REDIRECT = {"type": "redirect", "redirect": {"protocol": "HTTPS", "port": "443", "statusCode": "HTTP_301"}}
FORWARD = {"type": "forward", "targetGroupArn": UNKNOWN}
HTTP_LISTENER: dict[str, Any] = {
    "protocol": "HTTP",
    "port": 80.0,
    "loadBalancerArn": UNKNOWN,
    "defaultActions": [REDIRECT],
}
TARGET: dict[str, Any] = {
    "protocol": "HTTP",
    "port": 3000.0,
    "targetType": "ip",
    "vpcId": UNKNOWN,
    "healthCheck": {"enabled": True, "protocol": "HTTP", "path": "/health/ready", "matcher": "200-299"},
}

VISIBLE = {"cloudwatchMetricsEnabled": True, "sampledRequestsEnabled": True, "metricName": "m"}


def managed(name: str, *, override: str = "none", visible: Mapping[str, Any] = VISIBLE) -> dict[str, Any]:
    return {
        "name": f"AWS-{name}",
        "statement": {"managedRuleGroupStatement": {"vendorName": "AWS", "name": name}},
        "overrideAction": {override: {}},
        "visibilityConfig": dict(visible),
    }


RATE_RULE: dict[str, Any] = {
    "name": "rate-limit-per-ip",
    "statement": {"rateBasedStatement": {"limit": 600.0, "aggregateKeyType": "IP"}},
    "action": {"block": {}},
    "visibilityConfig": VISIBLE,
}
COMMON = "AWSManagedRulesCommonRuleSet"
BAD_INPUTS = "AWSManagedRulesKnownBadInputsRuleSet"
ACL: dict[str, Any] = {
    "scope": "CLOUDFRONT",
    "defaultAction": {"allow": {}},
    "visibilityConfig": VISIBLE,
    "rules": [RATE_RULE, managed(COMMON), managed(BAD_INPUTS)],
    "tags": TAGS,
}
# The WAF API's own JSON, as `ruleJson` takes it.
ACL_RULE_JSON = json.dumps(
    [
        {
            "Name": "AWS-Common",
            "Priority": 0,
            "Statement": {"ManagedRuleGroupStatement": {"VendorName": "AWS", "Name": COMMON}},
            "OverrideAction": {"None": {}},
            "VisibilityConfig": {
                "CloudWatchMetricsEnabled": True,
                "SampledRequestsEnabled": True,
                "MetricName": "common",
            },
        },
        {
            "Name": "AWS-BadInputs",
            "Priority": 1,
            "Statement": {"ManagedRuleGroupStatement": {"VendorName": "AWS", "Name": BAD_INPUTS}},
            "OverrideAction": {"None": {}},
            "VisibilityConfig": {
                "CloudWatchMetricsEnabled": True,
                "SampledRequestsEnabled": True,
                "MetricName": "bad",
            },
        },
    ]
)

GEO_RULE: dict[str, Any] = {
    "name": "geo",
    "priority": 0.0,
    "action": {"block": {}},
    "statement": {"geoMatchStatement": {"countryCodes": ["KP"]}},
    "visibilityConfig": VISIBLE,
}
RULE_GROUP_PROPS: dict[str, Any] = {
    "scope": "REGIONAL",
    "capacity": 10.0,
    "visibilityConfig": VISIBLE,
    "rules": [GEO_RULE],
    "tags": TAGS,
}
# A rule group's `rulesJson`: the WAF API's JSON, one rule whose metrics are off.
GROUP_RULES_JSON = json.dumps(
    [
        {
            "Name": "geo-json",
            "Priority": 0,
            "Action": {"Block": {}},
            "Statement": {"GeoMatchStatement": {"CountryCodes": ["KP"]}},
            "VisibilityConfig": {
                "CloudWatchMetricsEnabled": False,
                "SampledRequestsEnabled": True,
                "MetricName": "geo",
            },
        }
    ]
)

MANAGED_SECURITY_HEADERS = "67f7725c-6f97-4210-82d7-5512b31e9d03"
BEHAVIOR = {
    "targetOriginId": "alb",
    "viewerProtocolPolicy": "redirect-to-https",
    "responseHeadersPolicyId": UNKNOWN,
    "cachePolicyId": "4135ea2d-6df8-44a3-9df3-4b5a84be39ad",
}
ALB_ORIGIN = {
    "originId": "alb",
    "domainName": "origin.example.com",
    "customOriginConfig": {
        "originProtocolPolicy": "https-only",
        "originSslProtocols": ["TLSv1.2"],
        "httpPort": 80.0,
        "httpsPort": 443.0,
    },
}
ASSETS_ORIGIN = {"originId": "assets", "domainName": UNKNOWN, "originAccessControlId": UNKNOWN}
DIST: dict[str, Any] = {
    "enabled": True,
    "webAclId": UNKNOWN,
    "viewerCertificate": {
        "acmCertificateArn": UNKNOWN,
        "sslSupportMethod": "sni-only",
        "minimumProtocolVersion": "TLSv1.2_2021",
    },
    "defaultCacheBehavior": BEHAVIOR,
    "orderedCacheBehaviors": [
        {**BEHAVIOR, "pathPattern": "/static/*", "targetOriginId": "assets"},
    ],
    "origins": [ALB_ORIGIN, ASSETS_ORIGIN],
    "tags": TAGS,
}
HSTS_POLICY: dict[str, Any] = {
    "securityHeadersConfig": {
        "strictTransportSecurity": {
            "accessControlMaxAgeSec": 31536000.0,
            "includeSubdomains": True,
            "override": True,
        }
    }
}


def origin_change(**changes: Any) -> dict[str, Any]:
    """DIST with the custom (ALB) origin changed."""
    return but(DIST, origins=[but(ALB_ORIGIN, **changes), ASSETS_ORIGIN])


def custom_config(**changes: Any) -> dict[str, Any]:
    return origin_change(customOriginConfig=but(ALB_ORIGIN["customOriginConfig"], **changes))


def signed_behavior(**signers: Any) -> dict[str, Any]:
    """DIST with an ordered behavior for /private/* that requires signed URLs or cookies."""
    private = {**BEHAVIOR, "pathPattern": "/private/*", "targetOriginId": "assets", **signers}
    return but(DIST, orderedCacheBehaviors=[*DIST["orderedCacheBehaviors"], private])


def certificate(**changes: Any) -> dict[str, Any]:
    return but(DIST, viewerCertificate=but(DIST["viewerCertificate"], **changes))


# paved's assets failover: the bucket and its replica in the DR region.
ASSETS_GROUP = {
    "originId": "assets-group",
    "failoverCriteria": {"statusCodes": [500.0, 502.0, 503.0, 504.0]},
    "members": [{"originId": "assets"}, {"originId": "assets-dr"}],
}
FAILOVER_DIST = but(
    DIST,
    origins=[ALB_ORIGIN, ASSETS_ORIGIN, {**ASSETS_ORIGIN, "originId": "assets-dr"}],
    originGroups=[ASSETS_GROUP],
)
# A static site: the root URL comes from the bucket.
SITE = but(
    DIST, defaultCacheBehavior={**BEHAVIOR, "targetOriginId": "assets"}, defaultRootObject="index.html"
)
FUNCTION_URL_DOMAIN = "abcdefghijklmnopqrstuvwxyz012345.lambda-url.eu-west-1.on.aws"
API_ORIGIN = {
    "originId": "api",
    "domainName": FUNCTION_URL_DOMAIN,
    "customOriginConfig": ALB_ORIGIN["customOriginConfig"],
}


# (id, policy, type, props, expected, message fragment)
TLS_DENY = {
    "Sid": "DenyInsecureTransport",
    "Effect": "Deny",
    "Principal": "*",
    "Action": "s3:*",
    "Resource": ["arn:aws:s3:::b", "arn:aws:s3:::b/*"],
    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
}


AP_BLOCK = "s3-access-point-public-access-block"
MRAP_BLOCK = "s3-multi-region-access-point-public-access-block"
ACCOUNT_BLOCK = "s3-account-public-access-block"
CROSS_ACCOUNT = "s3-bucket-policy-other-accounts-restricted"
# Everything on the bucket to everyone: each action S3.6 forbids granting other accounts.
OPEN_WRITE = {
    "Effect": "Allow",
    "Principal": "*",
    "Action": "s3:*",
    "Resource": ["arn:aws:s3:::b", "arn:aws:s3:::b/*"],
}

RESOURCE_CASES: list[ResourceCase] = [
    # elb-listener-tls12-policy
    ("tls-res-2021", "elb-listener-tls12-policy", LISTENER, HTTPS_LISTENER, "ok", ""),
    (
        "tls-post-quantum",
        "elb-listener-tls12-policy",
        ALB_LISTENER,
        but(HTTPS_LISTENER, sslPolicy="ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09"),
        "ok",
        "",
    ),
    (
        # TLS 1.2 at the lowest, but not on ELB.17's list.
        "tls-fs-1-2",
        "elb-listener-tls12-policy",
        ALB_LISTENER,
        but(HTTPS_LISTENER, sslPolicy="ELBSecurityPolicy-FS-1-2-Res-2020-10"),
        "violation",
        "not one of AWS's recommended policies",
    ),
    (
        # TLS 1.3 and 1.2 with the wider cipher list: what this policy once recommended, ELB.17 fails it.
        "tls13-1-2-unrestricted",
        "elb-listener-tls12-policy",
        LISTENER,
        but(HTTPS_LISTENER, sslPolicy="ELBSecurityPolicy-TLS13-1-2-2021-06"),
        "violation",
        "TLS13-1-2-2021-06",
    ),
    (
        "tls-nlb-tls13-1-3",
        "elb-listener-tls12-policy",
        LISTENER,
        but(HTTPS_LISTENER, protocol="TLS", sslPolicy="ELBSecurityPolicy-TLS13-1-3-2021-06"),
        "ok",
        "",
    ),
    (
        "tls-2016",
        "elb-listener-tls12-policy",
        LISTENER,
        but(HTTPS_LISTENER, sslPolicy="ELBSecurityPolicy-2016-08"),
        "violation",
        "not one of AWS's recommended policies",
    ),
    (
        # TLS 1.3 added, TLS 1.0 still accepted.
        "tls13-1-0",
        "elb-listener-tls12-policy",
        LISTENER,
        but(HTTPS_LISTENER, sslPolicy="ELBSecurityPolicy-TLS13-1-0-2021-06"),
        "violation",
        "TLS13-1-0",
    ),
    (
        "tls-unset",
        "elb-listener-tls12-policy",
        ALB_LISTENER,
        but(HTTPS_LISTENER, sslPolicy=...),
        "violation",
        "ELBSecurityPolicy-2016-08",
    ),
    ("tls-http", "elb-listener-tls12-policy", LISTENER, HTTP_LISTENER, "n/a", ""),
    # alb-drop-invalid-header-fields
    ("headers-drop", "alb-drop-invalid-header-fields", LB, ALB, "ok", ""),
    (
        "headers-default",
        "alb-drop-invalid-header-fields",
        ALB_LB,
        but(ALB, dropInvalidHeaderFields=..., loadBalancerType=...),
        "violation",
        "dropInvalidHeaderFields",
    ),
    ("headers-nlb", "alb-drop-invalid-header-fields", LB, NLB, "n/a", ""),
    # alb-desync-mitigation
    ("desync-strictest", "alb-desync-mitigation", LB, ALB, "ok", ""),
    ("desync-default", "alb-desync-mitigation", LB, but(ALB, desyncMitigationMode=...), "ok", ""),
    (
        "desync-monitor",
        "alb-desync-mitigation",
        ALB_LB,
        but(ALB, desyncMitigationMode="monitor"),
        "violation",
        "monitor",
    ),
    ("desync-nlb", "alb-desync-mitigation", LB, NLB, "n/a", ""),
    # elb-access-logs
    ("logs-alb", "elb-access-logs", LB, ALB, "ok", ""),
    ("logs-nlb", "elb-access-logs", LB, NLB, "ok", ""),
    (
        "logs-bucket-but-disabled",
        "elb-access-logs",
        LB,
        but(ALB, accessLogs={"bucket": "logs"}),
        "violation",
        "accessLogs",
    ),
    ("logs-unset", "elb-access-logs", ALB_LB, but(ALB, accessLogs=...), "violation", "access logs"),
    ("logs-gwlb", "elb-access-logs", LB, GWLB, "n/a", ""),
    # A Classic Load Balancer's access_logs block is on by default.
    ("logs-classic", "elb-access-logs", CLASSIC_LB, {"accessLogs": {"bucket": UNKNOWN}}, "ok", ""),
    (
        "logs-classic-disabled",
        "elb-access-logs",
        CLASSIC_LB,
        {"accessLogs": {"bucket": "logs", "enabled": False}},
        "violation",
        "access logs",
    ),
    ("logs-classic-unset", "elb-access-logs", CLASSIC_LB, {"listeners": []}, "violation", "access logs"),
    # elb-deletion-protection
    ("delete-protected", "elb-deletion-protection", LB, ALB, "ok", ""),
    ("delete-gwlb", "elb-deletion-protection", LB, GWLB, "ok", ""),
    (
        "delete-unprotected",
        "elb-deletion-protection",
        ALB_LB,
        but(ALB, enableDeletionProtection=False),
        "violation",
        "enableDeletionProtection",
    ),
    # elb-target-group-health-check
    ("hc-ready-path", "elb-target-group-health-check", TARGET_GROUP, TARGET, "ok", ""),
    (
        "hc-tcp-default",
        "elb-target-group-health-check",
        TARGET_GROUP,
        {"protocol": "TCP", "port": 443.0, "targetType": "ip"},
        "ok",
        "",
    ),
    (
        "hc-lambda-on",
        "elb-target-group-health-check",
        ALB_TARGET_GROUP,
        {"targetType": "lambda", "healthCheck": {"enabled": True}},
        "ok",
        "",
    ),
    (
        "hc-no-path",
        "elb-target-group-health-check",
        TARGET_GROUP,
        but(TARGET, healthCheck=...),
        "violation",
        "without a path",
    ),
    (
        "hc-off",
        "elb-target-group-health-check",
        ALB_TARGET_GROUP,
        but(TARGET, healthCheck={"enabled": False, "path": "/"}),
        "violation",
        "off",
    ),
    (
        "hc-lambda-default",
        "elb-target-group-health-check",
        TARGET_GROUP,
        {"targetType": "lambda"},
        "violation",
        "Lambda",
    ),
    (
        "hc-alb-target-no-path",
        "elb-target-group-health-check",
        TARGET_GROUP,
        {"protocol": "TCP", "targetType": "alb", "port": 80.0},
        "violation",
        "HTTP",
    ),
    # wafv2-visibility-metrics
    ("vis-acl", "wafv2-visibility-metrics", WEB_ACL, ACL, "ok", ""),
    (
        "vis-rule-json",
        "wafv2-visibility-metrics",
        WEB_ACL,
        but(ACL, rules=..., ruleJson=ACL_RULE_JSON),
        "ok",
        "",
    ),
    (
        "vis-rule-resource",
        "wafv2-visibility-metrics",
        WEB_ACL_RULE,
        {**RATE_RULE, "webAclArn": UNKNOWN},
        "ok",
        "",
    ),
    (
        "vis-acl-off",
        "wafv2-visibility-metrics",
        WEB_ACL,
        but(ACL, visibilityConfig={**VISIBLE, "sampledRequestsEnabled": False}),
        "violation",
        "the ACL: sampledRequestsEnabled",
    ),
    (
        "vis-rule-off",
        "wafv2-visibility-metrics",
        WEB_ACL,
        but(ACL, rules=[RATE_RULE, managed(COMMON, visible={"metricName": "x"})]),
        "violation",
        "AWS-AWSManagedRulesCommonRuleSet",
    ),
    (
        "vis-association-unset",
        "wafv2-visibility-metrics",
        RULE_GROUP_ASSOCIATION,
        {"ruleName": "r", "webAclArn": UNKNOWN, "managedRuleGroup": {"name": COMMON, "vendorName": "AWS"}},
        "violation",
        "cloudwatchMetricsEnabled",
    ),
    ("vis-rule-group", "wafv2-visibility-metrics", RULE_GROUP, RULE_GROUP_PROPS, "ok", ""),
    (
        "vis-rule-group-metrics-off",
        "wafv2-visibility-metrics",
        RULE_GROUP,
        but(RULE_GROUP_PROPS, visibilityConfig={**VISIBLE, "cloudwatchMetricsEnabled": False}),
        "violation",
        "the rule group: cloudwatchMetricsEnabled",
    ),
    (
        "vis-rule-group-json",
        "wafv2-visibility-metrics",
        RULE_GROUP,
        but(RULE_GROUP_PROPS, rules=..., rulesJson=GROUP_RULES_JSON),
        "violation",
        "rule 'geo-json': cloudwatchMetricsEnabled",
    ),
    # cloudfront-viewer-https
    ("viewer-redirect", "cloudfront-viewer-https", DISTRIBUTION, DIST, "ok", ""),
    (
        "viewer-ordered-allow-all",
        "cloudfront-viewer-https",
        DISTRIBUTION,
        but(
            DIST,
            orderedCacheBehaviors=[
                {**BEHAVIOR, "pathPattern": "/img/*", "viewerProtocolPolicy": "allow-all"}
            ],
        ),
        "violation",
        "behavior '/img/*' (allow-all)",
    ),
    (
        "viewer-default-unset",
        "cloudfront-viewer-https",
        DISTRIBUTION,
        but(DIST, defaultCacheBehavior=but(BEHAVIOR, viewerProtocolPolicy=...)),
        "violation",
        "default behavior (unset)",
    ),
    # cloudfront-viewer-tls
    ("viewer-tls-2021", "cloudfront-viewer-tls", DISTRIBUTION, DIST, "ok", ""),
    (
        "viewer-tls13",
        "cloudfront-viewer-tls",
        DISTRIBUTION,
        but(DIST, viewerCertificate={"iamCertificateId": "c", "minimumProtocolVersion": "TLSv1.3_2025"}),
        "ok",
        "",
    ),
    (
        "viewer-tls-2018",
        "cloudfront-viewer-tls",
        DISTRIBUTION,
        but(DIST, viewerCertificate={"acmCertificateArn": UNKNOWN, "minimumProtocolVersion": "TLSv1.2_2018"}),
        "violation",
        "TLSv1.2_2018",
    ),
    # Forward-secret, but CBC ciphers: CloudFront.15 wants TLSv1.2_2021 or newer.
    (
        "viewer-tls-2019",
        "cloudfront-viewer-tls",
        DISTRIBUTION,
        certificate(minimumProtocolVersion="TLSv1.2_2019"),
        "violation",
        "TLSv1.2_2019",
    ),
    (
        "viewer-default-certificate",
        "cloudfront-viewer-tls",
        DISTRIBUTION,
        but(DIST, viewerCertificate={"cloudfrontDefaultCertificate": True}),
        "violation",
        "default *.cloudfront.net certificate",
    ),
    (
        "viewer-tls-unset",
        "cloudfront-viewer-tls",
        DISTRIBUTION,
        but(DIST, viewerCertificate={"acmCertificateArn": "arn:aws:acm:us-east-1:1:certificate/c"}),
        "violation",
        "unset",
    ),
    # cloudfront-viewer-sni
    ("viewer-sni", "cloudfront-viewer-sni", DISTRIBUTION, DIST, "ok", ""),
    (
        "viewer-vip",
        "cloudfront-viewer-sni",
        DISTRIBUTION,
        certificate(sslSupportMethod="vip"),
        "violation",
        "vip",
    ),
    (
        "viewer-sni-unset",
        "cloudfront-viewer-sni",
        DISTRIBUTION,
        certificate(sslSupportMethod=...),
        "violation",
        "unset",
    ),
    (
        "viewer-sni-default-certificate",
        "cloudfront-viewer-sni",
        DISTRIBUTION,
        but(DIST, viewerCertificate={"cloudfrontDefaultCertificate": True, "sslSupportMethod": "vip"}),
        "n/a",
        "",
    ),
    # cloudfront-origin-failover
    ("failover-group", "cloudfront-origin-failover", DISTRIBUTION, FAILOVER_DIST, "ok", ""),
    ("failover-none", "cloudfront-origin-failover", DISTRIBUTION, DIST, "violation", "no origin group"),
    (
        "failover-one-member",
        "cloudfront-origin-failover",
        DISTRIBUTION,
        but(FAILOVER_DIST, originGroups=[{**ASSETS_GROUP, "members": [{"originId": "assets"}]}]),
        "violation",
        "no origin group of 2 origins",
    ),
    # cloudfront-s3-root-object
    ("root-object", "cloudfront-s3-root-object", DISTRIBUTION, SITE, "ok", ""),
    # paved's: / goes to the app behind the ALB, which answers it.
    ("root-from-alb", "cloudfront-s3-root-object", DISTRIBUTION, DIST, "n/a", ""),
    (
        "root-object-unset",
        "cloudfront-s3-root-object",
        DISTRIBUTION,
        but(SITE, defaultRootObject=" "),
        "violation",
        "S3 origin 'assets' with no defaultRootObject",
    ),
    (
        "root-object-group",
        "cloudfront-s3-root-object",
        DISTRIBUTION,
        but(FAILOVER_DIST, defaultCacheBehavior={**BEHAVIOR, "targetOriginId": "assets-group"}),
        "violation",
        "S3 origin 'assets'",
    ),
    # cloudfront-trusted-key-groups
    (
        "key-groups",
        "cloudfront-trusted-key-groups",
        DISTRIBUTION,
        signed_behavior(trustedKeyGroups=[UNKNOWN]),
        "ok",
        "",
    ),
    (
        "key-pairs",
        "cloudfront-trusted-key-groups",
        DISTRIBUTION,
        signed_behavior(trustedKeyGroups=[UNKNOWN], trustedSigners=["self"]),
        "violation",
        "trustedSigners) on the behavior '/private/*'",
    ),
    # paved's: public sites, no signed URLs.
    (
        "key-groups-none",
        "cloudfront-trusted-key-groups",
        DISTRIBUTION,
        but(DIST, orderedCacheBehaviors=[{**BEHAVIOR, "trustedSigners": []}]),
        "n/a",
        "",
    ),
    # cloudfront-waf-attached
    ("cf-waf", "cloudfront-waf-attached", DISTRIBUTION, DIST, "ok", ""),
    ("cf-no-waf", "cloudfront-waf-attached", DISTRIBUTION, but(DIST, webAclId=""), "violation", "webAclId"),
    # cloudfront-s3-origin-oac
    ("oac-unknown-bucket", "cloudfront-s3-origin-oac", DISTRIBUTION, DIST, "ok", ""),
    (
        "oac-oai",
        "cloudfront-s3-origin-oac",
        DISTRIBUTION,
        but(
            DIST,
            origins=[
                {"originId": "s3", "domainName": UNKNOWN, "s3OriginConfig": {"originAccessIdentity": UNKNOWN}}
            ],
        ),
        "violation",
        "legacy origin access identity",
    ),
    (
        "oac-public-bucket",
        "cloudfront-s3-origin-oac",
        DISTRIBUTION,
        but(DIST, origins=[{"originId": "s3", "domainName": "assets.s3.eu-west-1.amazonaws.com"}]),
        "violation",
        "without origin access control",
    ),
    # pulumi-aws sends an origin without a custom or VPC config as an S3 origin, whatever its domain.
    (
        "oac-unknown-domain",
        "cloudfront-s3-origin-oac",
        DISTRIBUTION,
        but(DIST, origins=[{"originId": "x", "domainName": UNKNOWN}]),
        "violation",
        "origin 'x' reads S3 without origin access control",
    ),
    (
        "oac-website-endpoint-is-custom",
        "cloudfront-s3-origin-oac",
        DISTRIBUTION,
        but(DIST, origins=[{"originId": "site", "domainName": "site.s3-website.eu-west-1.amazonaws.com"}]),
        "ok",
        "",
    ),
    # cloudfront-custom-origin-https
    ("origin-https", "cloudfront-custom-origin-https", DISTRIBUTION, DIST, "ok", ""),
    (
        "origin-match-viewer",
        "cloudfront-custom-origin-https",
        DISTRIBUTION,
        custom_config(originProtocolPolicy="match-viewer"),
        "violation",
        "match-viewer",
    ),
    (
        "origin-tls1",
        "cloudfront-custom-origin-https",
        DISTRIBUTION,
        custom_config(originSslProtocols=["TLSv1", "TLSv1.2"]),
        "violation",
        "TLSv1",
    ),
    # aws-required-tags (default config: environment)
    ("tags-set", "aws-required-tags", QUEUE, {"tags": TAGS}, "ok", ""),
    ("tags-value-unknown", "aws-required-tags", QUEUE, {"tags": {"environment": UNKNOWN}}, "ok", ""),
    (
        "tags-asg-list",
        "aws-required-tags",
        ASG,
        {"tags": [{"key": "environment", "value": "prod", "propagateAtLaunch": True}]},
        "ok",
        "",
    ),
    (
        "tags-all-known",
        "aws-required-tags",
        QUEUE,
        {"tags": {}, "tagsAll": {"environment": "prod"}},
        "ok",
        "",
    ),
    ("tags-none", "aws-required-tags", QUEUE, {"name": "q"}, "violation", "environment"),
    ("tags-blank", "aws-required-tags", QUEUE, {"tags": {"environment": " "}}, "violation", "environment"),
    (
        "tags-all-unknown",
        "aws-required-tags",
        QUEUE,
        {"tags": {"team": "x"}, "tagsAll": UNKNOWN_OBJECT_VALUE},
        "violation",
        "Queue 'res' lacks the tag(s) environment",
    ),
    # s3-access-point-public-access-block: every setting defaults to on
    ("access-point-defaults", AP_BLOCK, ACCESS_POINT, {"bucket": UNKNOWN, "name": "ap"}, "ok", ""),
    (
        "access-point-all-on",
        AP_BLOCK,
        ACCESS_POINT,
        {"bucket": UNKNOWN, "publicAccessBlockConfiguration": {flag: True for flag in s3.BLOCK_FLAGS}},
        "ok",
        "",
    ),
    (
        "access-point-policy-allowed",
        AP_BLOCK,
        ACCESS_POINT,
        {
            "bucket": UNKNOWN,
            "publicAccessBlockConfiguration": {"blockPublicPolicy": False, "ignorePublicAcls": True},
        },
        "violation",
        "turns off blockPublicPolicy",
    ),
    # s3-multi-region-access-point-public-access-block
    (
        "mrap-defaults",
        MRAP_BLOCK,
        MRAP,
        {"details": {"name": "m", "regions": [{"bucket": UNKNOWN}]}},
        "ok",
        "",
    ),
    (
        "mrap-restrict-off",
        MRAP_BLOCK,
        MRAP,
        {
            "details": {
                "name": "m",
                "publicAccessBlock": {"restrictPublicBuckets": False, "blockPublicAcls": False},
            }
        },
        "violation",
        "blockPublicAcls, restrictPublicBuckets",
    ),
    # s3-account-public-access-block: every setting defaults to off
    ("account-block-all-on", ACCOUNT_BLOCK, ACCOUNT_PAB, {flag: True for flag in s3.BLOCK_FLAGS}, "ok", ""),
    (
        "account-block-partial",
        ACCOUNT_BLOCK,
        ACCOUNT_PAB,
        {"blockPublicAcls": True, "blockPublicPolicy": True},
        "violation",
        "does not set ignorePublicAcls, restrictPublicBuckets to true",
    ),
    # s3-bucket-policy-other-accounts-restricted
    (
        "cross-account-read-only-and-services",
        CROSS_ACCOUNT,
        BUCKET_POLICY,
        {
            "bucket": UNKNOWN,
            "policy": policy_document(
                TLS_DENY,
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": "444455556666"},
                    "Action": "s3:GetObject",
                    "Resource": "*",
                },
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "logging.s3.amazonaws.com"},
                    "Action": "s3:PutObject",
                    "Resource": "*",
                },
            ),
        },
        "ok",
        "",
    ),
    (
        "cross-account-put-acl-to-anyone",
        CROSS_ACCOUNT,
        BUCKET_POLICY,
        {
            "bucket": UNKNOWN,
            "policy": policy_document({**OPEN_WRITE, "Sid": "Acl", "Action": "s3:PutObjectAcl"}),
        },
        "violation",
        "Acl lets * call s3:PutObjectAcl",
    ),
    (
        "cross-account-s3-star-to-another-account",
        CROSS_ACCOUNT,
        BUCKET,
        {
            "policy": policy_document(
                {**OPEN_WRITE, "Principal": {"AWS": ["arn:aws:iam::444455556666:role/ci"]}}
            )
        },
        "violation",
        "#0 lets arn:aws:iam::444455556666:role/ci call s3:DeleteBucketPolicy, s3:PutBucketAcl, "
        "s3:PutBucketPolicy, s3:PutEncryptionConfiguration, s3:PutObjectAcl (no account of this stack",
    ),
    (
        "cross-account-put-wildcard-to-own-account-unconfigured",
        CROSS_ACCOUNT,
        BUCKET_V2,
        {
            "policy": policy_document(
                {**OPEN_WRITE, "Principal": {"AWS": "111122223333"}, "Action": "s3:Put*"}
            )
        },
        "violation",
        "111122223333 call s3:PutBucketAcl",
    ),
    ("cross-account-no-inline-policy", CROSS_ACCOUNT, BUCKET, {"tags": TAGS}, "n/a", "judged on its own"),
    (
        "cross-account-not-json",
        CROSS_ACCOUNT,
        BUCKET_POLICY,
        {"policy": "nope"},
        "violation",
        "not a JSON object",
    ),
    # stateful-resources-protected (run_resource sends protect=False)
    (
        "unprotected-db",
        "stateful-resources-protected",
        RDS_INSTANCE,
        {"engine": "postgres"},
        "violation",
        "DB instance",
    ),
    ("unprotected-bucket", "stateful-resources-protected", BUCKET_V2, {}, "violation", "bucket 'res'"),
]


# Pack-wide in tests/test_policy_pack.py: an unknown the SDK must report as "can't run during preview".
DEFERRALS: list[Deferral] = [
    (CROSS_ACCOUNT, BUCKET_POLICY, {"bucket": UNKNOWN, "policy": UNKNOWN}),
    (AP_BLOCK, ACCESS_POINT, {"publicAccessBlockConfiguration": {"blockPublicAcls": UNKNOWN_BOOLEAN_VALUE}}),
    (ACCOUNT_BLOCK, ACCOUNT_PAB, {**{flag: True for flag in s3.BLOCK_FLAGS}, "blockPublicPolicy": UNKNOWN}),
    ("elb-listener-tls12-policy", LISTENER, but(HTTPS_LISTENER, sslPolicy=UNKNOWN)),
    ("elb-listener-tls12-policy", LISTENER, but(HTTPS_LISTENER, protocol=UNKNOWN)),
    ("alb-drop-invalid-header-fields", LB, but(ALB, loadBalancerType=UNKNOWN)),
    ("alb-desync-mitigation", LB, but(ALB, desyncMitigationMode=UNKNOWN)),
    ("elb-deletion-protection", LB, but(ALB, enableDeletionProtection=UNKNOWN_BOOLEAN_VALUE)),
    ("elb-target-group-health-check", TARGET_GROUP, but(TARGET, healthCheck=UNKNOWN_OBJECT_VALUE)),
    ("wafv2-visibility-metrics", WEB_ACL, but(ACL, rules=UNKNOWN_ARRAY_VALUE)),
    ("wafv2-visibility-metrics", RULE_GROUP, but(RULE_GROUP_PROPS, rulesJson=UNKNOWN)),
    ("cloudfront-viewer-https", DISTRIBUTION, but(DIST, orderedCacheBehaviors=[UNKNOWN_OBJECT_VALUE])),
    (
        "cloudfront-viewer-tls",
        DISTRIBUTION,
        but(DIST, viewerCertificate={"acmCertificateArn": "a", "minimumProtocolVersion": UNKNOWN}),
    ),
    ("cloudfront-viewer-sni", DISTRIBUTION, certificate(sslSupportMethod=UNKNOWN)),
    ("cloudfront-origin-failover", DISTRIBUTION, but(DIST, originGroups=[UNKNOWN_OBJECT_VALUE])),
    (
        "cloudfront-origin-failover",
        DISTRIBUTION,
        but(DIST, originGroups=[{**ASSETS_GROUP, "members": UNKNOWN_ARRAY_VALUE}]),
    ),
    (
        "cloudfront-s3-root-object",
        DISTRIBUTION,
        but(SITE, defaultCacheBehavior={**BEHAVIOR, "targetOriginId": UNKNOWN}),
    ),
    ("cloudfront-custom-origin-https", DISTRIBUTION, custom_config(originProtocolPolicy=UNKNOWN)),
    ("aws-required-tags", QUEUE, {"tags": UNKNOWN_OBJECT_VALUE}),
]
PREVIEW_UNKNOWNS: list[PreviewUnknown] = [
    ("elb-access-logs", LB, ALB, "ok"),  # bucket unknown
    ("cloudfront-waf-attached", DISTRIBUTION, DIST, "ok"),  # web ACL ARN unknown
    ("cloudfront-viewer-tls", DISTRIBUTION, DIST, "ok"),  # certificate ARN unknown
    ("cloudfront-viewer-sni", DISTRIBUTION, DIST, "ok"),  # certificate ARN unknown
    ("cloudfront-s3-root-object", DISTRIBUTION, but(SITE, defaultRootObject=UNKNOWN), "ok"),
    ("cloudfront-s3-origin-oac", DISTRIBUTION, DIST, "ok"),  # OAC id and bucket domain unknown
]
OTHER_TYPES: list[OtherType] = [
    ("elb-listener-tls12-policy", LB),
    ("alb-drop-invalid-header-fields", LISTENER),
    ("cloudfront-viewer-https", WEB_ACL),
    ("cloudfront-origin-failover", BUCKET),
    ("wafv2-visibility-metrics", DISTRIBUTION),
    ("stateful-resources-protected", QUEUE),
    ("aws-required-tags", "aws:s3/bucketPolicy:BucketPolicy"),  # takes no tags
    (CROSS_ACCOUNT, "aws:s3control/accessPointPolicy:AccessPointPolicy"),
    (AP_BLOCK, BUCKET),
    (ACCOUNT_BLOCK, PAB),
]


# ---------------------------------------------------------------------------------------------
# Required tags: configuration, provider default tags, the taggable types.

TAGS_POLICY = "aws-required-tags"


def test_required_tags_come_from_the_pack_config() -> None:
    props = {"tags": {"environment": "prod"}}
    outcome = run_resource(
        TAGS_POLICY, QUEUE, props, config={"requiredTags": ["environment", "owner", "cost-center"]}
    )
    [(message, _)] = outcome.violations
    assert "owner, cost-center" in message
    assert run_resource(TAGS_POLICY, QUEUE, {}, config={"requiredTags": []}).status == "n/a"
    # Junk in the list (the CLI validates the schema, direct callers may not) is skipped, not a crash.
    assert (
        run_resource(TAGS_POLICY, QUEUE, props, config={"requiredTags": ["environment", 3, None, " "]}).status
        == "ok"
    )


@pytest.mark.parametrize(
    "provider",
    [
        {"region": "eu-west-1", "defaultTags": {"tags": {"environment": "prod"}}},
        # A default provider's settings come from stack config, objects as JSON text.
        {"region": "eu-west-1", "defaultTags": json.dumps({"tags": {"environment": "prod"}})},
    ],
)
def test_provider_default_tags_count(provider: dict[str, Any]) -> None:
    assert run_resource(TAGS_POLICY, QUEUE, {"tags": {"team": "x"}}, provider=provider).status == "ok"


def test_an_unknown_provider_default_tags_value_defers_to_the_sdk() -> None:
    with pytest.raises(UnknownValueError):
        run_resource(TAGS_POLICY, QUEUE, {}, provider={"defaultTags": UNKNOWN})
    # Not read at all when the resource's own tags already carry every required key.
    assert run_resource(TAGS_POLICY, QUEUE, {"tags": TAGS}, provider={"defaultTags": UNKNOWN}).status == "ok"


def test_required_tags_config_schema() -> None:
    rule = RULES[TAGS_POLICY]
    schema = {"type": "object", "properties": dict(rule.config_schema)}
    jsonschema.validate({"requiredTags": ["environment", "owner"]}, schema)
    for bad in (["environment", "environment"], [""], "environment", [3]):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate({"requiredTags": bad}, schema)
    policy = POLICIES[TAGS_POLICY]
    assert policy.config_schema is not None
    assert policy.config_schema.properties["requiredTags"]["default"] == ["environment"]


def test_policy_pack_config_sets_the_required_tags_end_to_end() -> None:
    """`--policy-pack-config` through the real Analyzer protocol, as `paved preview` drives it."""

    def resource(name: str, resource_tags: dict[str, str]) -> RecordedResource:
        return RecordedResource(urn_of(QUEUE, name), QUEUE, name, True, "", {"tags": resource_tags})

    recording = Recording(
        "paved",
        "prod",
        [resource("owned", {"environment": "p", "owner": "me"}), resource("unowned", {"environment": "p"})],
    )
    context = StackContext(
        project="paved", stack="prod", organization="o", config={}, secret_keys=frozenset()
    )
    result = analyze_with_pack(
        ROOT / "policies", recording, context, [{TAGS_POLICY: {"requiredTags": ["environment", "owner"]}}]
    )
    found = [(v.policy, v.urn, v.level) for v in result.violations]
    assert found == [(TAGS_POLICY, urn_of(QUEUE, "unowned"), "mandatory")]


def _taggable_types_in(package: Path) -> list[str]:
    """Every resource type token of pulumi-aws whose resource takes a `tags` input."""
    token = re.compile(r"super\(\w+, __self__\).__init__\(\s*'(aws:[^']+)'")
    found = set()
    for source in package.rglob("*.py"):
        text = source.read_text()
        if '__props__.__dict__["tags"] = tags' in text:
            found.update(token.findall(text))
    return sorted(found)


def _pulumi_aws_dir() -> Path:
    import pulumi_aws

    return Path(pulumi_aws.__file__).parent


def test_taggable_types_match_the_installed_provider() -> None:
    assert list(TAGGABLE_TYPES) == _taggable_types_in(_pulumi_aws_dir()), (
        "regenerate: PYTHONPATH=policies uv run python -m tests.test_policy_rules_edge"
    )
    assert {BUCKET, LB, ALB_LB, DISTRIBUTION, WEB_ACL, QUEUE, ASG} <= set(TAGGABLE_TYPES)
    assert not {PAB, BUCKET_POLICY, WAF_ASSOCIATION, WAF_LOGGING} & set(TAGGABLE_TYPES)


# ---------------------------------------------------------------------------------------------
# Stateful protection: Pulumi's `protect` option, which the Analyzer protocol carries.

PROTECTION = "stateful-resources-protected"


@pytest.mark.parametrize(
    "rtype",
    [
        RDS_INSTANCE,
        "aws:rds/cluster:Cluster",
        REPLICATION_GROUP,
        KMS_KEY,
        "aws:kms/replicaKey:ReplicaKey",
        BUCKET,
        "aws:secretsmanager/secret:Secret",
        "aws:cloudwatch/logGroup:LogGroup",
        "aws:backup/vault:Vault",
        "aws:eks/cluster:Cluster",
    ],
)
def test_protected_stateful_resources_pass(rtype: str) -> None:
    assert run_resource(PROTECTION, rtype, {}, protect=True).status == "ok"
    assert run_resource(PROTECTION, rtype, {}, protect=False).status == "violation"


# ---------------------------------------------------------------------------------------------
# Stack policies.


def secure_bucket(
    name: str = "b",
    *,
    bucket_type: str = BUCKET,
    block: Mapping[str, Any] | None = None,
    encryption: str | None = "aws:kms",
    encryption_type: str = SSE,
    versioning: str | None = "Enabled",
    policy: str | None = policy_document(TLS_DENY),
    ownership: str | None = "BucketOwnerEnforced",
    logs_to: str | None = "logs-bucket",
    lifecycle: str | None = "Enabled",
) -> list[Res]:
    """A bucket and its companions as SecureBucket declares them; None leaves a companion out."""
    flags = {flag: True for flag in s3.BLOCK_FLAGS} if block is None else dict(block)
    companions = [
        (PAB, flags) if block != {} else None,
        (encryption_type, {"rules": [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": encryption}}]})
        if encryption
        else None,
        (VERSIONING, {"versioningConfiguration": {"status": versioning}}) if versioning else None,
        (BUCKET_POLICY, {"policy": policy}) if policy else None,
        (OWNERSHIP, {"rule": {"objectOwnership": ownership}}) if ownership else None,
        (LOGGING, {"targetBucket": logs_to, "targetPrefix": f"{name}/"}) if logs_to else None,
        (LIFECYCLE, {"rules": [{"id": "baseline", "status": lifecycle, "filter": {}}]})
        if lifecycle
        else None,
    ]
    return [Res(bucket_type, name, {"tags": TAGS, "forceDestroy": False})] + [
        Res(rtype, f"{name}-{index}", {"bucket": UNKNOWN, **props}, prop_deps={"bucket": [name]})
        for index, (rtype, props) in enumerate(c for c in companions if c)
    ]


def alb_stack(*extra: Res, alb: Mapping[str, Any] = ALB) -> list[Res]:
    return [Res(LB, "alb", alb), *extra]


def acl_stack(acl: Mapping[str, Any], *extra: Res) -> list[Res]:
    return [Res(WEB_ACL, "acl", acl), *extra]


def cdn_stack(dist: Mapping[str, Any], *extra: Res) -> list[Res]:
    return [Res(DISTRIBUTION, "cdn", dist), *extra]


def assets_at(domain: str) -> dict[str, Any]:
    """DIST with the assets origin at a literal domain (known once the bucket exists, or hard-coded)."""
    return but(DIST, origins=[ALB_ORIGIN, {**ASSETS_ORIGIN, "domainName": domain}])


def api_stack(**origin: Any) -> list[Res]:
    """A first preview of a distribution in front of the stack's function URL, its domain still unknown."""
    api = {**API_ORIGIN, "domainName": UNKNOWN, **origin}
    return [
        with_deps(DISTRIBUTION, "cdn", but(DIST, origins=[ALB_ORIGIN, api]), origins=["url"]),
        Res(FUNCTION_URL, "url", {"functionName": UNKNOWN, "authorizationType": "AWS_IAM"}),
    ]


LOG_SOURCE_RES = with_deps(
    LOG_SOURCE, "src", {"resourceArn": UNKNOWN, "logType": "ACCESS_LOGS"}, resourceArn=["cdn"]
)
LOG_DELIVERY_RES = with_deps(
    LOG_DELIVERY, "delivery", {"deliverySourceName": UNKNOWN}, deliverySourceName=["src"]
)
HSTS_DIST = with_deps(
    DISTRIBUTION, "cdn", DIST, defaultCacheBehavior=["headers"], orderedCacheBehaviors=["headers"]
)
WAF_ASSOCIATION_RES = with_deps(
    WAF_ASSOCIATION, "assoc", {"resourceArn": UNKNOWN, "webAclArn": UNKNOWN}, resourceArn=["alb"]
)
HTTP_LISTENER_RES = Res(LISTENER, "http", HTTP_LISTENER)


def subnet(name: str, zone: str) -> Res:
    return Res(SUBNET, name, {"vpcId": UNKNOWN, "cidrBlock": "10.0.0.0/24", "availabilityZone": zone})


def listener_on(balancer: Res, **changes: Any) -> list[Res]:
    """The balancer and an HTTP listener of it whose protocol is unset."""
    props = but(HTTP_LISTENER, protocol=..., **changes)
    return [balancer, with_deps(ALB_LISTENER, "l", props, loadBalancerArn=[balancer.name])]


# (id, policy, resources, expected status, the names of the resources reported)
STACK_CASES: list[StackCase] = [
    # s3-public-access-block
    ("block-all-four", "s3-public-access-block", secure_bucket(), "ok", []),
    ("block-v2-bucket", "s3-public-access-block", secure_bucket(bucket_type=BUCKET_V2), "ok", []),
    ("block-missing", "s3-public-access-block", secure_bucket(block={}), "violation", ["b"]),
    (
        "block-three-of-four",
        "s3-public-access-block",
        secure_bucket(block={f: True for f in s3.BLOCK_FLAGS[:3]}),
        "violation",
        ["b"],
    ),
    # s3-default-encryption
    ("sse-kms", "s3-default-encryption", secure_bucket(), "ok", []),
    (
        "sse-s3-v2-resource",
        "s3-default-encryption",
        secure_bucket(encryption="AES256", encryption_type=SSE_V2),
        "ok",
        [],
    ),
    ("sse-algorithm-unknown", "s3-default-encryption", secure_bucket(encryption=UNKNOWN), "ok", []),
    (
        "sse-inline",
        "s3-default-encryption",
        [
            Res(
                BUCKET,
                "b",
                {
                    "serverSideEncryptionConfiguration": {
                        "rule": {"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}
                    }
                },
            )
        ],
        "ok",
        [],
    ),
    ("sse-missing", "s3-default-encryption", secure_bucket(encryption=None), "violation", ["b"]),
    # s3-versioning-enabled
    ("versioning-on", "s3-versioning-enabled", secure_bucket(), "ok", []),
    (
        "versioning-inline-v2",
        "s3-versioning-enabled",
        [Res(BUCKET_V2, "b", {"versionings": [{"enabled": True}]})],
        "ok",
        [],
    ),
    (
        "versioning-suspended",
        "s3-versioning-enabled",
        secure_bucket(versioning="Suspended"),
        "violation",
        ["b"],
    ),
    ("versioning-missing", "s3-versioning-enabled", secure_bucket(versioning=None), "violation", ["b"]),
    # s3-tls-only-policy
    ("tls-deny", "s3-tls-only-policy", secure_bucket(), "ok", []),
    (
        "tls-deny-list-and-bool",
        "s3-tls-only-policy",
        secure_bucket(
            policy=policy_document(
                {
                    **TLS_DENY,
                    "Principal": {"AWS": ["*"]},
                    "Action": ["*"],
                    "Condition": {"BoolIfExists": {"AWS:SecureTransport": [False]}},
                }
            )
        ),
        "ok",
        [],
    ),
    ("tls-inline", "s3-tls-only-policy", [Res(BUCKET, "b", {"policy": policy_document(TLS_DENY)})], "ok", []),
    ("tls-no-policy", "s3-tls-only-policy", secure_bucket(policy=None), "violation", ["b"]),
    (
        "tls-allow-only",
        "s3-tls-only-policy",
        secure_bucket(policy=policy_document({**TLS_DENY, "Effect": "Allow"})),
        "violation",
        ["b"],
    ),
    (
        "tls-deny-get-only",
        "s3-tls-only-policy",
        secure_bucket(policy=policy_document({**TLS_DENY, "Action": "s3:GetObject"})),
        "violation",
        ["b"],
    ),
    # s3-bucket-owner-enforced
    ("owner-enforced", "s3-bucket-owner-enforced", secure_bucket(), "ok", []),
    (
        "owner-preferred",
        "s3-bucket-owner-enforced",
        secure_bucket(ownership="BucketOwnerPreferred"),
        "violation",
        ["b"],
    ),
    ("owner-missing", "s3-bucket-owner-enforced", secure_bucket(ownership=None), "violation", ["b"]),
    # s3-access-logging
    ("logging-on", "s3-access-logging", secure_bucket(), "ok", []),
    (
        "logging-target-unknown-in-preview",
        "s3-access-logging",
        secure_bucket(logs_to=UNKNOWN),
        "ok",
        [],
    ),
    (
        "logging-inline",
        "s3-access-logging",
        [Res(BUCKET, "b", {"logging": {"targetBucket": "logs"}})],
        "ok",
        [],
    ),
    (
        "logging-inline-v2-list",
        "s3-access-logging",
        [Res(BUCKET_V2, "b", {"loggings": [{"targetBucket": "logs", "targetPrefix": "b/"}]})],
        "ok",
        [],
    ),
    (
        # The log bucket receives the others' logs and logs nowhere itself, as AWS advises: not judged.
        "logging-into-a-log-bucket",
        "s3-access-logging",
        [
            *secure_bucket("app", logs_to=None),
            *secure_bucket("logs", logs_to=None),
            with_deps(
                LOGGING_V2,
                "app-logs",
                {"bucket": UNKNOWN, "targetBucket": UNKNOWN},
                bucket=["app"],
                targetBucket=["logs"],
            ),
            # Another bucket's logging does not count for this one.
            *secure_bucket("quiet", logs_to=None),
        ],
        "violation",
        ["quiet"],
    ),
    (
        "logging-inline-target-is-a-log-bucket",
        "s3-access-logging",
        [
            Res(BUCKET, "logs", {}),
            with_deps(BUCKET, "app", {"logging": {"targetBucket": UNKNOWN}}, logging=["logs"]),
        ],
        "ok",
        [],
    ),
    ("logging-missing", "s3-access-logging", secure_bucket(logs_to=None), "violation", ["b"]),
    # s3-lifecycle-configuration
    ("lifecycle-enabled", "s3-lifecycle-configuration", secure_bucket(), "ok", []),
    (
        "lifecycle-inline",
        "s3-lifecycle-configuration",
        [
            Res(
                BUCKET,
                "b",
                {"lifecycleRules": [{"enabled": False}, {"enabled": True, "expiration": {"days": 30.0}}]},
            )
        ],
        "ok",
        [],
    ),
    (
        "lifecycle-v2-resource",
        "s3-lifecycle-configuration",
        [
            Res(BUCKET_V2, "b", {}),
            with_deps(
                LIFECYCLE_V2, "lc", {"bucket": UNKNOWN, "rules": [{"status": "Enabled"}]}, bucket=["b"]
            ),
        ],
        "ok",
        [],
    ),
    (
        "lifecycle-disabled-or-on-another-bucket",
        "s3-lifecycle-configuration",
        [
            *secure_bucket("off", lifecycle="Disabled"),
            *secure_bucket("other"),
            Res(BUCKET, "bare", {"lifecycleRules": [{"enabled": False}]}),
        ],
        "violation",
        ["off", "bare"],
    ),
    # s3-directory-bucket-lifecycle
    (
        "directory-lifecycle",
        "s3-directory-bucket-lifecycle",
        [
            Res(DIRECTORY_BUCKET, "d", {"bucket": "d--use1-az4--x-s3", "location": {"name": "use1-az4"}}),
            with_deps(
                LIFECYCLE,
                "lc",
                {"bucket": UNKNOWN, "rules": [{"status": "Enabled", "expiration": {"days": 7.0}}]},
                bucket=["d"],
            ),
        ],
        "ok",
        [],
    ),
    (
        "directory-no-lifecycle",
        "s3-directory-bucket-lifecycle",
        [Res(DIRECTORY_BUCKET, "d", {"bucket": "d--use1-az4--x-s3"}), *secure_bucket()],
        "violation",
        ["d"],
    ),
    # elb-http-redirects-to-https
    ("http-redirects", "elb-http-redirects-to-https", [HTTP_LISTENER_RES], "ok", []),
    (
        "http-redirect-rule",
        "elb-http-redirects-to-https",
        [HTTP_LISTENER_RES, with_deps(LISTENER_RULE, "rule", {"actions": [REDIRECT]}, listenerArn=["http"])],
        "ok",
        [],
    ),
    (
        "http-forwards",
        "elb-http-redirects-to-https",
        [Res(ALB_LISTENER, "http", but(HTTP_LISTENER, defaultActions=[FORWARD]))],
        "violation",
        ["http"],
    ),
    (
        "http-redirect-to-http",
        "elb-http-redirects-to-https",
        [
            Res(
                LISTENER,
                "http",
                but(HTTP_LISTENER, defaultActions=[{"type": "redirect", "redirect": {"port": "8080"}}]),
            )
        ],
        "violation",
        ["http"],
    ),
    (
        "http-forwarding-rule",
        "elb-http-redirects-to-https",
        [HTTP_LISTENER_RES, with_deps(LISTENER_RULE, "rule", {"actions": [FORWARD]}, listenerArn=["http"])],
        "violation",
        ["http"],
    ),
    (
        "http-only-https-listeners",
        "elb-http-redirects-to-https",
        [Res(LISTENER, "https", HTTPS_LISTENER)],
        "n/a",
        [],
    ),
    (
        # On a load balancer the program does not declare: HTTP on an ALB, TCP on an NLB.
        "http-protocol-unset",
        "elb-http-redirects-to-https",
        [Res(LISTENER, "l", but(HTTP_LISTENER, protocol=...))],
        "n/a",
        [],
    ),
    (
        "http-protocol-unset-on-alb",
        "elb-http-redirects-to-https",
        listener_on(Res(ALB_LB, "alb", but(ALB, loadBalancerType=...)), defaultActions=[FORWARD]),
        "violation",
        ["l"],
    ),
    (
        "http-protocol-unset-redirects",
        "elb-http-redirects-to-https",
        listener_on(Res(LB, "alb", ALB)),
        "ok",
        [],
    ),
    (
        "http-protocol-unset-on-nlb",
        "elb-http-redirects-to-https",
        listener_on(Res(LB, "nlb", NLB), defaultActions=[FORWARD]),
        "n/a",
        [],
    ),
    # elb-multiple-azs
    (
        "azs-declared-subnets",
        "elb-multiple-azs",
        [subnet("a", "eu-west-1a"), subnet("b", "eu-west-1b"), with_deps(LB, "alb", ALB, subnets=["a", "b"])],
        "ok",
        [],
    ),
    ("azs-literal-ids", "elb-multiple-azs", [Res(LB, "nlb", but(NLB, subnets=["s-1", "s-2"]))], "ok", []),
    (
        "azs-mappings",
        "elb-multiple-azs",
        [
            subnet("a", "eu-west-1a"),
            subnet("b", "eu-west-1b"),
            with_deps(
                ALB_LB,
                "gwlb",
                but(GWLB, subnetMappings=[{"subnetId": UNKNOWN}, {"subnetId": UNKNOWN}]),
                subnetMappings=["a", "b"],
            ),
        ],
        "ok",
        [],
    ),
    ("azs-one-id", "elb-multiple-azs", [Res(LB, "nlb", but(NLB, subnets=["s-1"]))], "violation", ["nlb"]),
    (
        "azs-one-declared-subnet",
        "elb-multiple-azs",
        [subnet("a", "eu-west-1a"), with_deps(LB, "nlb", but(NLB, subnets=[UNKNOWN]), subnets=["a"])],
        "violation",
        ["nlb"],
    ),
    (
        "azs-one-mapping",
        "elb-multiple-azs",
        [Res(LB, "nlb", but(NLB, subnetMappings=[{"subnetId": "s-1", "allocationId": UNKNOWN}]))],
        "violation",
        ["nlb"],
    ),
    # alb-waf-associated
    ("waf-associated", "alb-waf-associated", alb_stack(WAF_ASSOCIATION_RES), "ok", []),
    ("waf-missing", "alb-waf-associated", alb_stack(), "violation", ["alb"]),
    (
        "waf-association-of-another-alb",
        "alb-waf-associated",
        [
            Res(ALB_LB, "alb", ALB),
            Res(ALB_LB, "other", ALB),
            with_deps(WAF_ASSOCIATION, "assoc", {"resourceArn": UNKNOWN}, resourceArn=["other"]),
        ],
        "violation",
        ["alb"],
    ),
    ("waf-internal-alb", "alb-waf-associated", alb_stack(alb=but(ALB, internal=True)), "n/a", []),
    ("waf-nlb", "alb-waf-associated", alb_stack(alb=NLB), "n/a", []),
    # wafv2-managed-baseline-rules
    ("baseline-inline", "wafv2-managed-baseline-rules", acl_stack(ACL), "ok", []),
    (
        "baseline-rule-json",
        "wafv2-managed-baseline-rules",
        acl_stack(but(ACL, rules=..., ruleJson=ACL_RULE_JSON)),
        "ok",
        [],
    ),
    (
        "baseline-association-resources",
        "wafv2-managed-baseline-rules",
        acl_stack(
            but(ACL, rules=[RATE_RULE]),
            *[
                with_deps(
                    RULE_GROUP_ASSOCIATION,
                    f"group-{i}",
                    {
                        "ruleName": group,
                        "webAclArn": UNKNOWN,
                        "overrideAction": "none",
                        "managedRuleGroup": {"name": group, "vendorName": "AWS"},
                    },
                    webAclArn=["acl"],
                )
                for i, group in enumerate((COMMON, BAD_INPUTS))
            ],
        ),
        "ok",
        [],
    ),
    (
        "baseline-missing-bad-inputs",
        "wafv2-managed-baseline-rules",
        acl_stack(but(ACL, rules=[managed(COMMON)])),
        "violation",
        ["acl"],
    ),
    (
        "baseline-group-counts-only",
        "wafv2-managed-baseline-rules",
        acl_stack(but(ACL, rules=[managed(COMMON, override="count"), managed(BAD_INPUTS)])),
        "violation",
        ["acl"],
    ),
    # wafv2-rate-based-rule
    ("rate-inline", "wafv2-rate-based-rule", acl_stack(ACL), "ok", []),
    (
        "rate-rule-resource",
        "wafv2-rate-based-rule",
        acl_stack(
            but(ACL, rules=[]),
            with_deps(WEB_ACL_RULE, "rate", {**RATE_RULE, "webAclArn": UNKNOWN}, webAclArn=["acl"]),
        ),
        "ok",
        [],
    ),
    (
        "rate-upstream-tag",
        "wafv2-rate-based-rule",
        acl_stack(
            but(ACL, rules=[managed(COMMON)], tags={**TAGS, wafv2.RATE_LIMIT_TAG: "upstream: CloudFront"})
        ),
        "ok",
        [],
    ),
    (
        "rate-missing",
        "wafv2-rate-based-rule",
        acl_stack(but(ACL, rules=[managed(COMMON), managed(BAD_INPUTS)])),
        "violation",
        ["acl"],
    ),
    (
        "rate-counts-only",
        "wafv2-rate-based-rule",
        acl_stack(but(ACL, rules=[{**RATE_RULE, "action": {"count": {}}}])),
        "violation",
        ["acl"],
    ),
    # wafv2-logging-enabled
    (
        "waf-logged",
        "wafv2-logging-enabled",
        acl_stack(ACL, with_deps(WAF_LOGGING, "log", {"resourceArn": UNKNOWN}, resourceArn=["acl"])),
        "ok",
        [],
    ),
    ("waf-not-logged", "wafv2-logging-enabled", acl_stack(ACL), "violation", ["acl"]),
    # cloudfront-access-logging
    ("cf-logs-v2", "cloudfront-access-logging", cdn_stack(DIST, LOG_SOURCE_RES, LOG_DELIVERY_RES), "ok", []),
    (
        "cf-logs-legacy",
        "cloudfront-access-logging",
        cdn_stack(but(DIST, loggingConfig={"bucket": "logs.s3.amazonaws.com"})),
        "ok",
        [],
    ),
    (
        "cf-logs-source-without-delivery",
        "cloudfront-access-logging",
        cdn_stack(DIST, LOG_SOURCE_RES),
        "violation",
        ["cdn"],
    ),
    (
        "cf-logs-wrong-type",
        "cloudfront-access-logging",
        cdn_stack(
            DIST,
            with_deps(LOG_SOURCE, "src", {"logType": "CONNECTION_LOGS"}, resourceArn=["cdn"]),
            LOG_DELIVERY_RES,
        ),
        "violation",
        ["cdn"],
    ),
    ("cf-no-logs", "cloudfront-access-logging", cdn_stack(DIST), "violation", ["cdn"]),
    # cloudfront-hsts-headers
    (
        "hsts-own-policy",
        "cloudfront-hsts-headers",
        [HSTS_DIST, Res(HEADERS_POLICY, "headers", HSTS_POLICY)],
        "ok",
        [],
    ),
    (
        "hsts-managed-policy",
        "cloudfront-hsts-headers",
        cdn_stack(
            but(DIST, defaultCacheBehavior={**BEHAVIOR, "responseHeadersPolicyId": MANAGED_SECURITY_HEADERS})
        ),
        "ok",
        [],
    ),
    (
        "hsts-short-max-age",
        "cloudfront-hsts-headers",
        [
            HSTS_DIST,
            Res(
                HEADERS_POLICY,
                "headers",
                {"securityHeadersConfig": {"strictTransportSecurity": {"accessControlMaxAgeSec": 300.0}}},
            ),
        ],
        "violation",
        ["cdn"],
    ),
    (
        "hsts-policy-without-hsts",
        "cloudfront-hsts-headers",
        [
            HSTS_DIST,
            Res(
                HEADERS_POLICY,
                "headers",
                {"securityHeadersConfig": {"frameOptions": {"frameOption": "DENY"}}},
            ),
        ],
        "violation",
        ["cdn"],
    ),
    (
        "hsts-no-policy",
        "cloudfront-hsts-headers",
        cdn_stack(but(DIST, defaultCacheBehavior=but(BEHAVIOR, responseHeadersPolicyId=...))),
        "violation",
        ["cdn"],
    ),
    (
        "hsts-foreign-policy-id",
        "cloudfront-hsts-headers",
        cdn_stack(
            but(
                DIST,
                defaultCacheBehavior={
                    **BEHAVIOR,
                    "responseHeadersPolicyId": "5cc3b908-e619-4b99-88e5-2cf7f45965bd",
                },
            )
        ),
        "violation",
        ["cdn"],
    ),
    # cloudfront-s3-origin-bucket-declared: paved's, the domain an output of the stack's bucket.
    (
        "origin-bucket-output",
        "cloudfront-s3-origin-bucket-declared",
        [
            with_deps(DISTRIBUTION, "cdn", DIST, origins=["assets"]),
            Res(BUCKET, "assets", {"bucket": UNKNOWN}),
        ],
        "ok",
        [],
    ),
    (
        "origin-bucket-by-name",
        "cloudfront-s3-origin-bucket-declared",
        cdn_stack(
            assets_at("assets-1234.s3.eu-west-1.amazonaws.com"),
            Res(BUCKET_V2, "assets", {"bucket": "assets-1234"}),
        ),
        "ok",
        [],
    ),
    (
        "origin-bucket-elsewhere",
        "cloudfront-s3-origin-bucket-declared",
        cdn_stack(assets_at("assets-1234.s3.amazonaws.com"), Res(BUCKET, "other", {"bucket": "other-5678"})),
        "violation",
        ["cdn"],
    ),
    (
        "origin-not-a-bucket",
        "cloudfront-s3-origin-bucket-declared",
        cdn_stack(assets_at("static.example.com")),
        "violation",
        ["cdn"],
    ),
    (
        "origin-bucket-website-is-custom",
        "cloudfront-s3-origin-bucket-declared",
        cdn_stack(assets_at("site.s3-website-eu-west-1.amazonaws.com")),
        "n/a",
        [],
    ),
    (
        "origin-bucket-none",
        "cloudfront-s3-origin-bucket-declared",
        cdn_stack(but(DIST, origins=[ALB_ORIGIN])),
        "n/a",
        [],
    ),
    # cloudfront-lambda-url-origin-oac
    (
        "lambda-url-oac",
        "cloudfront-lambda-url-origin-oac",
        cdn_stack(but(DIST, origins=[{**API_ORIGIN, "originAccessControlId": UNKNOWN}, ASSETS_ORIGIN])),
        "ok",
        [],
    ),
    (
        "lambda-url-no-oac",
        "cloudfront-lambda-url-origin-oac",
        cdn_stack(but(DIST, origins=[API_ORIGIN, ASSETS_ORIGIN])),
        "violation",
        ["cdn"],
    ),
    # A first preview: the domain comes from the stack's function URL.
    (
        "lambda-url-output-oac",
        "cloudfront-lambda-url-origin-oac",
        api_stack(originAccessControlId=UNKNOWN),
        "ok",
        [],
    ),
    ("lambda-url-output-no-oac", "cloudfront-lambda-url-origin-oac", api_stack(), "violation", ["cdn"]),
    ("lambda-url-none", "cloudfront-lambda-url-origin-oac", cdn_stack(DIST), "n/a", []),
]


def test_a_secure_bucket_beside_a_bare_one() -> None:
    specs = secure_bucket("good") + [Res(BUCKET, "bare", {"tags": TAGS})]
    for rule in (rule for rule in s3.RULES if isinstance(rule, StackRule) and BUCKET in rule.resource_types):
        outcome = run_stack(rule.name, specs)
        assert [urn for _, urn in outcome.violations] == [urn_of(BUCKET, "bare")], rule.name


def test_a_bucket_policy_unknown_in_preview_defers_but_still_reports_the_others() -> None:
    # The policy names its own bucket's ARN, so it is unknown until the bucket exists.
    specs = secure_bucket("new", policy=UNKNOWN) + [Res(BUCKET, "bare", {})]
    with pytest.raises(UnknownValueError):
        run_stack("s3-tls-only-policy", specs)
    # Known elsewhere: an inline TLS-only policy settles it whatever the companion says.
    inline = [Res(BUCKET, "b", {"policy": policy_document(TLS_DENY)}), *secure_bucket(policy=UNKNOWN)[1:]]
    assert run_stack("s3-tls-only-policy", inline).status == "ok"


def test_grants_to_the_stacks_own_accounts_are_not_cross_account() -> None:
    own = {"policy": policy_document({**OPEN_WRITE, "Principal": {"AWS": "arn:aws:iam::111122223333:root"}})}
    assert run_resource(CROSS_ACCOUNT, BUCKET_POLICY, own).status == "violation"
    accounts = ["111122223333"]
    assert run_resource(CROSS_ACCOUNT, BUCKET_POLICY, own, config={"accountIds": accounts}).status == "ok"
    # The provider's allowedAccountIds, as a list or as the JSON text the engine may send for it.
    for allowed in (accounts, json.dumps(accounts)):
        outcome = run_resource(CROSS_ACCOUNT, BUCKET_POLICY, own, provider={"allowedAccountIds": allowed})
        assert outcome.status == "ok", allowed
    # Anyone, and any other account, stays another account whatever the stack's accounts are.
    for principal in ("*", {"AWS": "444455556666"}, {"CanonicalUser": "79a59df900b949e55d96a1e698fbaced"}):
        props = {"policy": policy_document({**OPEN_WRITE, "Principal": principal})}
        outcome = run_resource(CROSS_ACCOUNT, BUCKET_POLICY, props, config={"accountIds": accounts})
        assert outcome.status == "violation", principal


def test_literal_bucket_names_record_no_dependency_and_do_not_count() -> None:
    specs = [Res(BUCKET, "b", {}), Res(PAB, "pab", {"bucket": "b", **{f: True for f in s3.BLOCK_FLAGS}})]
    assert run_stack("s3-public-access-block", specs).status == "violation"


def test_a_config_property_without_a_default_is_rejected_at_declaration() -> None:
    with pytest.raises(ValueError, match="needs a default"):
        ResourceRule(
            name="demo",
            description="d",
            severity="low",
            remediation="r",
            resource_types=(QUEUE,),
            check=lambda props, ctx: compliant(),
            config_schema={"limit": {"type": "integer"}},
        )


@pytest.mark.parametrize(
    ("policy", "specs"),
    [
        # The domain comes from something that is not a declared bucket.
        ("cloudfront-s3-origin-bucket-declared", cdn_stack(DIST)),
        # Two unknown domains, one bucket: the other is not a declared bucket's.
        (
            "cloudfront-s3-origin-bucket-declared",
            [
                with_deps(
                    DISTRIBUTION,
                    "cdn",
                    but(DIST, origins=[ASSETS_ORIGIN, {**ASSETS_ORIGIN, "originId": "b"}]),
                    origins=["assets"],
                ),
                Res(BUCKET, "assets", {}),
            ],
        ),
        # One function URL, two origins of unknown domain, one with OAC: which one is it?
        (
            "cloudfront-lambda-url-origin-oac",
            [
                with_deps(
                    DISTRIBUTION,
                    "cdn",
                    but(
                        DIST,
                        origins=[
                            {**API_ORIGIN, "domainName": UNKNOWN, "originAccessControlId": UNKNOWN},
                            {**ALB_ORIGIN, "domainName": UNKNOWN},
                        ],
                    ),
                    origins=["url"],
                ),
                Res(FUNCTION_URL, "url", {}),
            ],
        ),
    ],
)
def test_an_origin_domain_unknown_in_preview_is_left_to_the_sdk(policy: str, specs: list[Res]) -> None:
    with pytest.raises(UnknownValueError):
        run_stack(policy, specs)


def test_s3_rest_endpoints_name_their_bucket() -> None:
    named = {
        "b.s3.amazonaws.com": "b",
        "my.dotted.bucket.s3.eu-west-1.amazonaws.com": "my.dotted.bucket",
        "b-1.s3-eu-west-1.amazonaws.com": "b-1",
        "b.s3.dualstack.us-gov-west-1.amazonaws.com": "b",
        "b.s3.cn-north-1.amazonaws.com.cn": "b",
        "b.s3-external-1.amazonaws.com": "b",
    }
    for domain, bucket in named.items():
        assert cloudfront._bucket_named_by(domain) == bucket, domain
    for domain in ("b.s3-website-eu-west-1.amazonaws.com", "example.com", "s3.amazonaws.com"):
        assert cloudfront._bucket_named_by(domain) is None, domain


def test_dependencies_fall_back_to_plain_dependencies_without_property_edges() -> None:
    # Older engines record no per-property edges: the distribution's plain dependency still names it.
    specs = [Res(DISTRIBUTION, "cdn", DIST, deps=["headers"]), Res(HEADERS_POLICY, "headers", HSTS_POLICY)]
    assert run_stack("cloudfront-hsts-headers", specs).status == "ok"


def test_elbv2_rules_match_both_module_tokens() -> None:
    for rule in elbv2.RULES:
        lb_types = {t for t in rule.resource_types if t.startswith("aws:lb/")}
        v2_types = {t for t in rule.resource_types if t != CLASSIC_LB}
        assert {t.replace("aws:lb/", "aws:alb/") for t in lb_types} == v2_types - lb_types


def test_load_balancer_zones_unknown_in_preview_defer_to_the_sdk() -> None:
    # Subnet ids from resources that are not declared subnets: nothing says how many there are.
    with pytest.raises(UnknownValueError):
        run_stack("elb-multiple-azs", [Res(LB, "alb", ALB)])
    # One declared subnet is not enough to say the whole list has one.
    one = [subnet("a", "eu-west-1a"), with_deps(LB, "alb", ALB, subnets=["a"])]
    with pytest.raises(UnknownValueError):
        run_stack("elb-multiple-azs", one)
    two_unknown_ids = but(NLB, subnets=[UNKNOWN, UNKNOWN])
    with pytest.raises(UnknownValueError):
        run_stack("elb-multiple-azs", [Res(LB, "nlb", two_unknown_ids)])


# Property names the edge rules read below the top level of the fixtures, for the fuzz tests.
FUZZ_KEYS = [
    "redirect",
    "protocol",
    "loadBalancerType",
    "subnets",
    "subnetMappings",
    "subnetId",
    "accessLogs",
    "rulesJson",
    "healthCheck",
    "path",
    "enabled",
    "rules",
    "statement",
    "overrideAction",
    "action",
    "visibilityConfig",
    "managedRuleGroupStatement",
    "rateBasedStatement",
    "vendorName",
    "name",
    "cloudwatchMetricsEnabled",
    "sampledRequestsEnabled",
    "viewerProtocolPolicy",
    "originAccessControlId",
    "customOriginConfig",
    "s3OriginConfig",
    "originAccessIdentity",
    "originProtocolPolicy",
    "originSslProtocols",
    "minimumProtocolVersion",
    "cloudfrontDefaultCertificate",
    "sslSupportMethod",
    "originGroups",
    "members",
    "originId",
    "targetOriginId",
    "defaultRootObject",
    "trustedKeyGroups",
    "trustedSigners",
    "domainName",
    "bucket",
    "securityHeadersConfig",
    "strictTransportSecurity",
    "accessControlMaxAgeSec",
    "defaultTags",
    "key",
    "value",
    "tags",
    "tagsAll",
    "versioning",
    "versionings",
    "sseAlgorithm",
    "objectOwnership",
    "versioningConfiguration",
    "status",
    "logging",
    "loggings",
    "targetBucket",
    "lifecycleRules",
    "enabled",
    "publicAccessBlockConfiguration",
    "publicAccessBlock",
    "details",
    *s3.BLOCK_FLAGS,
    wafv2.RATE_LIMIT_TAG,
    "environment",
]

FAMILY = Family(
    name="edge",
    rules=(*s3.RULES, *elbv2.RULES, *wafv2.RULES, *cloudfront.RULES, *tags.RULES, *protection.RULES),
    resource_cases=RESOURCE_CASES,
    stack_cases=STACK_CASES,
    deferrals=DEFERRALS,
    preview_unknowns=PREVIEW_UNKNOWNS,
    other_types=OTHER_TYPES,
    # A table row carries no resource options (protect is false), so only a violation can stand there.
    covered_elsewhere={PROTECTION: ("ok", test_protected_stateful_resources_pass)},
    fuzz_keys=FUZZ_KEYS,
    fuzz_values=[
        "HTTP",
        "HTTPS",
        "TLS",
        "TCP",
        "redirect",
        "forward",
        "application",
        "network",
        "gateway",
        "lambda",
        "alb",
        "monitor",
        "strictest",
        "count",
        "none",
        "AWS",
        COMMON,
        BAD_INPUTS,
        "allow-all",
        "https-only",
        "redirect-to-https",
        "match-viewer",
        "TLSv1",
        "TLSv1.2",
        "TLSv1.2_2021",
        "TLSv1.2_2018",
        "TLSv1_2016",
        "ELBSecurityPolicy-2016-08",
        "ELBSecurityPolicy-TLS13-1-2-2021-06",
        "Enabled",
        "Suspended",
        "BucketOwnerEnforced",
        "AES256",
        "aws:kms",
        "ACCESS_LOGS",
        MANAGED_SECURITY_HEADERS,
        "bucket.s3.amazonaws.com",
        ACL_RULE_JSON,
        GROUP_RULES_JSON,
        "ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09",
        policy_document(TLS_DENY),
        "environment",
        "",
        " ",
        *UNKNOWNS,
    ],
    stack_fuzz=[
        StackFuzzTarget("s3-public-access-block", BUCKET, PAB, "bucket"),
        StackFuzzTarget("s3-default-encryption", BUCKET_V2, SSE_V2, "bucket"),
        StackFuzzTarget("s3-versioning-enabled", BUCKET, VERSIONING, "bucket"),
        StackFuzzTarget("s3-tls-only-policy", BUCKET, BUCKET_POLICY, "bucket"),
        StackFuzzTarget("s3-bucket-owner-enforced", BUCKET, OWNERSHIP, "bucket"),
        StackFuzzTarget("s3-access-logging", BUCKET, LOGGING, "bucket"),
        StackFuzzTarget("s3-access-logging", BUCKET_V2, LOGGING_V2, "targetBucket"),
        StackFuzzTarget("s3-lifecycle-configuration", BUCKET, LIFECYCLE, "bucket"),
        StackFuzzTarget("s3-directory-bucket-lifecycle", DIRECTORY_BUCKET, LIFECYCLE_V2, "bucket"),
        StackFuzzTarget("elb-http-redirects-to-https", LISTENER, LISTENER_RULE, "listenerArn"),
        StackFuzzTarget("elb-http-redirects-to-https", ALB_LISTENER, LB, "loadBalancerArn", forward=True),
        StackFuzzTarget("elb-multiple-azs", LB, SUBNET, "subnets", forward=True),
        StackFuzzTarget("alb-waf-associated", LB, WAF_ASSOCIATION, "resourceArn"),
        StackFuzzTarget("wafv2-managed-baseline-rules", WEB_ACL, RULE_GROUP_ASSOCIATION, "webAclArn"),
        StackFuzzTarget("wafv2-rate-based-rule", WEB_ACL, WEB_ACL_RULE, "webAclArn"),
        StackFuzzTarget("wafv2-logging-enabled", WEB_ACL, WAF_LOGGING, "resourceArn"),
        StackFuzzTarget("cloudfront-access-logging", DISTRIBUTION, LOG_SOURCE, "resourceArn"),
        StackFuzzTarget(
            "cloudfront-s3-origin-bucket-declared", DISTRIBUTION, BUCKET, "origins", forward=True
        ),
        StackFuzzTarget(
            "cloudfront-lambda-url-origin-oac", DISTRIBUTION, FUNCTION_URL, "origins", forward=True
        ),
        # The distribution names its response headers policy, not the other way round.
        StackFuzzTarget(
            "cloudfront-hsts-headers", DISTRIBUTION, HEADERS_POLICY, "defaultCacheBehavior", forward=True
        ),
    ],
)


def _write_taggable_module() -> None:
    types = _taggable_types_in(_pulumi_aws_dir())
    target = ROOT / "policies" / "paved_policies" / "aws_taggable.py"
    head = target.read_text().split("TAGGABLE_TYPES", 1)[0]
    body = "".join(f'    "{t}",\n' for t in types)
    target.write_text(f"{head}TAGGABLE_TYPES: tuple[str, ...] = (\n{body})\n")
    print(f"{target}: {len(types)} taggable types", file=sys.stderr)


if __name__ == "__main__":
    _write_taggable_module()
