"""The classic families: Classic Load Balancers and AWS WAF Classic, which paved never declares but programs
the pack judges may.

Fixtures and the tests only these families need; tests/test_policy_pack.py runs the tables below with every
other family's, through tests/policy_harness.py (the real pulumi_policy objects, props behind the SDK's
unknown-checking proxy, numbers as floats, unknowns as the engine's sentinels). Stack fixtures are first
previews: every ARN and name another resource outputs is unknown, only the dependency edges are known.
"""

from __future__ import annotations

from typing import Any

import pytest
from paved_policies.rules import elb_classic, waf_classic
from pulumi_policy.proxy import UNKNOWN_ARRAY_VALUE, UNKNOWN_BOOLEAN_VALUE, UnknownValueError

from tests.policy_harness import (
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
    run_stack,
    with_deps,
)

CLB = "aws:elb/loadBalancer:LoadBalancer"
LB_POLICY = "aws:elb/loadBalancerPolicy:LoadBalancerPolicy"
LISTENER_POLICY = "aws:elb/listenerPolicy:ListenerPolicy"
SSL_NEGOTIATION_POLICY = "aws:elb/sslNegotiationPolicy:SslNegotiationPolicy"
ACM_CERTIFICATE = "aws:acm/certificate:Certificate"
IAM_SERVER_CERTIFICATE = "aws:iam/serverCertificate:ServerCertificate"
SUBNET = "aws:ec2/subnet:Subnet"
GLOBAL_WEB_ACL = "aws:waf/webAcl:WebAcl"
GLOBAL_RULE = "aws:waf/rule:Rule"
GLOBAL_RULE_GROUP = "aws:waf/ruleGroup:RuleGroup"
REGIONAL_WEB_ACL = "aws:wafregional/webAcl:WebAcl"
REGIONAL_RULE = "aws:wafregional/rule:Rule"
REGIONAL_RULE_GROUP = "aws:wafregional/ruleGroup:RuleGroup"
V2_LB = "aws:lb/loadBalancer:LoadBalancer"
V2_WEB_ACL = "aws:wafv2/webAcl:WebAcl"

TAGS = {"environment": "prod", "team": "platform"}
REQUIRED_POLICY = elb_classic.REQUIRED_SSL_POLICY
ACM_ARN = "arn:aws:acm:eu-west-1:111122223333:certificate/c"
IAM_CERT_ARN = "arn:aws:iam::111122223333:server-certificate/legacy"

# ---------------------------------------------------------------------------------------------
# Fixtures: a Classic Load Balancer that passes every control, in a first preview.

HTTPS_443: dict[str, Any] = {
    "lbProtocol": "HTTPS",
    "lbPort": 443.0,
    "instanceProtocol": "HTTPS",
    "instancePort": 8443.0,
    "sslCertificateId": UNKNOWN,
}
HTTP_80: dict[str, Any] = {
    "lbProtocol": "HTTP",
    "lbPort": 80.0,
    "instanceProtocol": "HTTP",
    "instancePort": 80.0,
}
CLASSIC: dict[str, Any] = {
    "listeners": [HTTPS_443],
    "subnets": [UNKNOWN, UNKNOWN],
    "securityGroups": [UNKNOWN],
    "accessLogs": {"bucket": UNKNOWN, "interval": 60.0},
    "connectionDraining": True,
    "connectionDrainingTimeout": 300.0,
    "crossZoneLoadBalancing": True,
    "desyncMitigationMode": "strictest",
    "tags": TAGS,
}
WAF_ENTRY = {"priority": 1.0, "ruleId": UNKNOWN, "type": "REGULAR", "action": {"type": "BLOCK"}}
PREDICATE = {"dataId": UNKNOWN, "negated": False, "type": "IPMatch"}


def classic_cert(certificate_id: str) -> dict[str, Any]:
    return but(CLASSIC, listeners=[{**HTTPS_443, "sslCertificateId": certificate_id}])


# (id, policy, type, props, expected, message fragment)
RESOURCE_CASES: list[ResourceCase] = [
    # elb-classic-https-listeners
    ("clb-https", "elb-classic-https-listeners", CLB, CLASSIC, "ok", ""),
    (
        "clb-ssl",
        "elb-classic-https-listeners",
        CLB,
        but(CLASSIC, listeners=[{**HTTPS_443, "lbProtocol": "ssl"}]),
        "ok",
        "",
    ),
    (
        "clb-http",
        "elb-classic-https-listeners",
        CLB,
        but(CLASSIC, listeners=[HTTPS_443, HTTP_80]),
        "violation",
        "without TLS: HTTP:80",
    ),
    ("clb-no-listeners", "elb-classic-https-listeners", CLB, but(CLASSIC, listeners=[]), "n/a", ""),
    # elb-classic-connection-draining
    ("clb-draining", "elb-classic-connection-draining", CLB, CLASSIC, "ok", ""),
    (
        "clb-draining-default",
        "elb-classic-connection-draining",
        CLB,
        but(CLASSIC, connectionDraining=...),
        "violation",
        "connectionDraining",
    ),
    # elb-classic-cross-zone
    (
        "clb-cross-zone-default",
        "elb-classic-cross-zone",
        CLB,
        but(CLASSIC, crossZoneLoadBalancing=...),
        "ok",
        "",
    ),
    (
        "clb-cross-zone-off",
        "elb-classic-cross-zone",
        CLB,
        but(CLASSIC, crossZoneLoadBalancing=False),
        "violation",
        "crossZoneLoadBalancing off",
    ),
    # elb-classic-desync-mitigation
    (
        "clb-desync-default",
        "elb-classic-desync-mitigation",
        CLB,
        but(CLASSIC, desyncMitigationMode=...),
        "ok",
        "",
    ),
    (
        "clb-desync-monitor",
        "elb-classic-desync-mitigation",
        CLB,
        but(CLASSIC, desyncMitigationMode="monitor"),
        "violation",
        "monitor",
    ),
    # waf-classic-logging-enabled
    (
        "waf-classic-logged",
        "waf-classic-logging-enabled",
        GLOBAL_WEB_ACL,
        {"rules": [WAF_ENTRY], "loggingConfiguration": {"logDestination": "arn:aws:firehose:us-east-1:1:x"}},
        "ok",
        "",
    ),
    (
        "waf-classic-not-logged",
        "waf-classic-logging-enabled",
        GLOBAL_WEB_ACL,
        {"rules": [WAF_ENTRY]},
        "violation",
        "loggingConfiguration.logDestination",
    ),
    # waf-*-not-empty: the same check on six types, each its own control.
    *(
        case
        for policy, rtype, prop, entry in (
            ("waf-regional-rule-not-empty", REGIONAL_RULE, "predicates", PREDICATE),
            ("waf-regional-rulegroup-not-empty", REGIONAL_RULE_GROUP, "activatedRules", WAF_ENTRY),
            ("waf-regional-webacl-not-empty", REGIONAL_WEB_ACL, "rules", WAF_ENTRY),
            ("waf-global-rule-not-empty", GLOBAL_RULE, "predicates", PREDICATE),
            ("waf-global-rulegroup-not-empty", GLOBAL_RULE_GROUP, "activatedRules", WAF_ENTRY),
            ("waf-global-webacl-not-empty", GLOBAL_WEB_ACL, "rules", WAF_ENTRY),
        )
        for case in (
            (f"{policy}-set", policy, rtype, {"metricName": "m", prop: [entry]}, "ok", ""),
            (
                f"{policy}-empty",
                policy,
                rtype,
                {"metricName": "m", prop: []},
                "violation",
                f"{prop} is empty",
            ),
            (f"{policy}-unset", policy, rtype, {"metricName": "m"}, "violation", f"{prop} is empty"),
        )
    ),
]


def clb(props: dict[str, Any] = CLASSIC, **deps: list[str]) -> Res:
    return with_deps(CLB, "clb", props, **deps)


def lb_policy(name: str = "tls", reference: str = REQUIRED_POLICY, balancer: str = "clb") -> Res:
    return with_deps(
        LB_POLICY,
        f"{balancer}-{name}",
        {
            "loadBalancerName": UNKNOWN,
            "policyName": name,
            "policyTypeName": "SSLNegotiationPolicyType",
            "policyAttributes": [{"name": "Reference-Security-Policy", "value": reference}],
        },
        loadBalancerName=[balancer],
    )


def listener_policy(
    port: float = 443.0, names: list[str] | None = None, linked: list[str] | None = None
) -> Res:
    """A ListenerPolicy on `port`: policy names as literals (`names`) or as outputs (`linked`)."""
    return with_deps(
        LISTENER_POLICY,
        f"listener-{int(port)}",
        {"loadBalancerName": UNKNOWN, "loadBalancerPort": port, "policyNames": names or [UNKNOWN]},
        loadBalancerName=["clb"],
        policyNames=linked or [],
    )


# (id, policy, resources, expected status, the names of the resources reported)
STACK_CASES: list[StackCase] = [
    # elb-classic-acm-certificate
    (
        "clb-acm-output",
        "elb-classic-acm-certificate",
        [Res(ACM_CERTIFICATE, "cert", {"domainName": "example.com"}), clb(listeners=["cert"])],
        "ok",
        [],
    ),
    ("clb-acm-arn", "elb-classic-acm-certificate", [clb(classic_cert(ACM_ARN))], "ok", []),
    ("clb-iam-arn", "elb-classic-acm-certificate", [clb(classic_cert(IAM_CERT_ARN))], "violation", ["clb"]),
    (
        "clb-iam-output",
        "elb-classic-acm-certificate",
        [Res(IAM_SERVER_CERTIFICATE, "legacy", {"name": "legacy"}), clb(listeners=["legacy"])],
        "violation",
        ["clb"],
    ),
    (
        "clb-http-only",
        "elb-classic-acm-certificate",
        [clb(but(CLASSIC, listeners=[HTTP_80]))],
        "n/a",
        [],
    ),
    # elb-classic-tls-policy
    (
        "clb-tls-linked-policy",
        "elb-classic-tls-policy",
        [clb(), lb_policy(), listener_policy(linked=["clb-tls"])],
        "ok",
        [],
    ),
    (
        "clb-tls-policy-by-name",
        "elb-classic-tls-policy",
        [clb(), lb_policy(), listener_policy(names=["tls"])],
        "ok",
        [],
    ),
    (
        "clb-tls-negotiation-policy",
        "elb-classic-tls-policy",
        [
            clb(),
            with_deps(
                SSL_NEGOTIATION_POLICY,
                "negotiation",
                {
                    "loadBalancer": UNKNOWN,
                    "lbPort": 443.0,
                    "attributes": [{"name": "Reference-Security-Policy", "value": REQUIRED_POLICY}],
                },
                loadBalancer=["clb"],
            ),
        ],
        "ok",
        [],
    ),
    ("clb-tls-no-policy", "elb-classic-tls-policy", [clb()], "violation", ["clb"]),
    (
        "clb-tls-older-policy",
        "elb-classic-tls-policy",
        [clb(), lb_policy(reference="ELBSecurityPolicy-2016-08"), listener_policy(linked=["clb-tls"])],
        "violation",
        ["clb"],
    ),
    (
        "clb-tls-policy-on-another-port",
        "elb-classic-tls-policy",
        [clb(), lb_policy(), listener_policy(port=8443.0, linked=["clb-tls"])],
        "violation",
        ["clb"],
    ),
    (
        # The name is another load balancer's policy: policy names are per load balancer.
        "clb-tls-another-balancers-policy",
        "elb-classic-tls-policy",
        [
            clb(),
            with_deps(CLB, "other", but(CLASSIC, listeners=[HTTP_80])),
            lb_policy(balancer="other"),
            listener_policy(names=["tls"]),
        ],
        "violation",
        ["clb"],
    ),
    ("clb-tls-http-only", "elb-classic-tls-policy", [clb(but(CLASSIC, listeners=[HTTP_80]))], "n/a", []),
    # elb-classic-multiple-azs
    (
        "clb-zones-declared-subnets",
        "elb-classic-multiple-azs",
        [
            Res(SUBNET, "a", {"availabilityZone": "eu-west-1a"}),
            Res(SUBNET, "b", {"availabilityZone": "eu-west-1b"}),
            clb(but(CLASSIC, subnets=UNKNOWN_ARRAY_VALUE), subnets=["a", "b"]),
        ],
        "ok",
        [],
    ),
    (
        "clb-zones-named",
        "elb-classic-multiple-azs",
        [clb(but(CLASSIC, subnets=..., availabilityZones=["eu-west-1a", "eu-west-1b"]))],
        "ok",
        [],
    ),
    (
        "clb-one-zone",
        "elb-classic-multiple-azs",
        [clb(but(CLASSIC, subnets=..., availabilityZones=["eu-west-1a"]))],
        "violation",
        ["clb"],
    ),
]


def test_an_unknown_certificate_from_neither_acm_nor_iam_defers_to_the_sdk() -> None:
    with pytest.raises(UnknownValueError):
        run_stack("elb-classic-acm-certificate", [clb()])
    both = [
        Res(ACM_CERTIFICATE, "acm", {}),
        Res(IAM_SERVER_CERTIFICATE, "iam", {}),
        clb(listeners=["acm", "iam"]),
    ]
    with pytest.raises(UnknownValueError):
        run_stack("elb-classic-acm-certificate", both)


# Pack-wide in tests/test_policy_pack.py: an unknown the SDK must report as "can't run during preview".
DEFERRALS: list[Deferral] = [
    ("elb-classic-https-listeners", CLB, but(CLASSIC, listeners=UNKNOWN_ARRAY_VALUE)),
    ("elb-classic-https-listeners", CLB, but(CLASSIC, listeners=[{**HTTPS_443, "lbProtocol": UNKNOWN}])),
    ("elb-classic-connection-draining", CLB, but(CLASSIC, connectionDraining=UNKNOWN_BOOLEAN_VALUE)),
    ("elb-classic-cross-zone", CLB, but(CLASSIC, crossZoneLoadBalancing=UNKNOWN_BOOLEAN_VALUE)),
    ("elb-classic-desync-mitigation", CLB, but(CLASSIC, desyncMitigationMode=UNKNOWN)),
    ("waf-global-rule-not-empty", GLOBAL_RULE, {"predicates": UNKNOWN_ARRAY_VALUE}),
    ("waf-regional-webacl-not-empty", REGIONAL_WEB_ACL, {"rules": UNKNOWN_ARRAY_VALUE}),
]
PREVIEW_UNKNOWNS: list[PreviewUnknown] = [
    (
        "waf-classic-logging-enabled",
        GLOBAL_WEB_ACL,
        {"loggingConfiguration": {"logDestination": UNKNOWN}},
        "ok",
    ),
    ("waf-regional-rule-not-empty", REGIONAL_RULE, {"predicates": [UNKNOWN]}, "ok"),
]
OTHER_TYPES: list[OtherType] = [
    ("elb-classic-connection-draining", V2_LB),
    ("elb-classic-cross-zone", V2_LB),
    ("waf-global-webacl-not-empty", V2_WEB_ACL),
    ("waf-regional-webacl-not-empty", GLOBAL_WEB_ACL),
]

FAMILY = Family(
    name="classic",
    rules=(*elb_classic.RULES, *waf_classic.RULES),
    resource_cases=RESOURCE_CASES,
    stack_cases=STACK_CASES,
    deferrals=DEFERRALS,
    preview_unknowns=PREVIEW_UNKNOWNS,
    other_types=OTHER_TYPES,
    fuzz_keys=[
        "listeners",
        "lbProtocol",
        "lbPort",
        "sslCertificateId",
        "availabilityZones",
        "subnets",
        "policyNames",
        "policyName",
        "policyTypeName",
        "policyAttributes",
        "attributes",
        "loadBalancerPort",
        "name",
        "value",
        "loggingConfiguration",
        "logDestination",
        "predicates",
        "activatedRules",
        "rules",
    ],
    fuzz_values=[
        "HTTPS",
        "SSL",
        "HTTP",
        "TCP",
        443.0,
        ACM_ARN,
        IAM_CERT_ARN,
        "SSLNegotiationPolicyType",
        "Reference-Security-Policy",
        REQUIRED_POLICY,
        "tls",
        "monitor",
        "",
        " ",
        *UNKNOWNS,
    ],
    fuzz_fixtures={
        LB_POLICY: [lb_policy().props],
        LISTENER_POLICY: [listener_policy().props],
        ACM_CERTIFICATE: [{"domainName": "example.com"}],
    },
    stack_fuzz=[
        StackFuzzTarget("elb-classic-acm-certificate", CLB, ACM_CERTIFICATE, "listeners", forward=True),
        StackFuzzTarget(
            "elb-classic-acm-certificate", CLB, IAM_SERVER_CERTIFICATE, "listeners", forward=True
        ),
        StackFuzzTarget("elb-classic-tls-policy", CLB, LISTENER_POLICY, "loadBalancerName"),
        StackFuzzTarget("elb-classic-tls-policy", CLB, LB_POLICY, "loadBalancerName"),
        StackFuzzTarget("elb-classic-tls-policy", CLB, SSL_NEGOTIATION_POLICY, "loadBalancer"),
        StackFuzzTarget("elb-classic-multiple-azs", CLB, SUBNET, "subnets", forward=True),
    ],
)
