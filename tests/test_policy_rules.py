"""The base families of the paved-aws CrossGuard pack (VPC, security groups, CloudWatch, KMS, SNS), and
the pack's shape: its policies, their metadata, the gRPC server and README's policy table.

The fixtures run through tests/policy_harness.py (the real pulumi_policy objects, props behind the SDK's
unknown-checking proxy); tests/test_policy_pack.py runs this file's tables with every other family's.
"""

from __future__ import annotations

import ast
import contextlib
import json
import pkgutil
import re
import subprocess
import sys
from collections.abc import Iterator, Mapping
from importlib import import_module
from pathlib import Path
from typing import Any

import paved_policies.rules as rules_pkg
import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from paved_policies.framework import enforcement_for
from paved_policies.pack import RULES, build_policies
from paved_policies.rule import ResourceRule, StackRule, compliant
from paved_policies.rules import ALL_RULES, cloudwatch, kms, security_groups, sns, vpc
from pulumi_policy import EnforcementLevel
from pulumi_policy.proxy import (
    UNKNOWN_ARRAY_VALUE,
    UNKNOWN_BOOLEAN_VALUE,
    UNKNOWN_NUMBER_VALUE,
    UNKNOWN_OBJECT_VALUE,
    UnknownValueError,
)

from tests.policy_harness import (
    INTERESTING,
    KEYS,
    POLICIES,
    UNKNOWN,
    Deferral,
    Family,
    OtherType,
    PreviewUnknown,
    Res,
    ResourceCase,
    StackCase,
    but,
    policy_document,
    props_strategy,
    run_resource,
    run_stack,
    urn_of,
)

POLICIES_DIR = Path(__file__).resolve().parent.parent / "policies"

VPC = "aws:ec2/vpc:Vpc"
DEFAULT_VPC = "aws:ec2/defaultVpc:DefaultVpc"
FLOW_LOG = "aws:ec2/flowLog:FlowLog"
SUBNET = "aws:ec2/subnet:Subnet"
DEFAULT_SUBNET = "aws:ec2/defaultSubnet:DefaultSubnet"
ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"
NACL = "aws:ec2/networkAcl:NetworkAcl"
NACL_RULE = "aws:ec2/networkAclRule:NetworkAclRule"
NACL_ASSOCIATION = "aws:ec2/networkAclAssociation:NetworkAclAssociation"
DEFAULT_NACL = "aws:ec2/defaultNetworkAcl:DefaultNetworkAcl"
SG = "aws:ec2/securityGroup:SecurityGroup"
SG_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
SG_INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
SG_EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
LB = "aws:lb/loadBalancer:LoadBalancer"
ALB = "aws:alb/loadBalancer:LoadBalancer"
CLASSIC_ELB = "aws:elb/loadBalancer:LoadBalancer"
DEFAULT_SG = "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
KMS_KEY = "aws:kms/key:Key"
TOPIC = "aws:sns/topic:Topic"
TOPIC_POLICY = "aws:sns/topicPolicy:TopicPolicy"
REPLICA_KEY = "aws:kms/replicaKey:ReplicaKey"

BASE_POLICIES = {
    "vpc-flow-logs-enabled",
    "security-group-no-public-ingress",
    "security-group-public-web-lb-only",
    "security-group-descriptions",
    "default-security-group-closed",
    "cloudwatch-log-group-encrypted",
    "cloudwatch-log-group-retention",
    "cloudwatch-alarm-has-actions",
    "kms-key-rotation-enabled",
    "kms-key-policy-no-wildcard-principal",
    "kms-key-has-explicit-policy",
    "sns-topic-encrypted",
    "sns-topic-policy-not-public",
    "subnet-no-public-ip-by-default",
    "vpc-ec2-interface-endpoint",
    "vpc-ecr-api-interface-endpoint",
    "vpc-ecr-dkr-interface-endpoint",
    "network-acl-no-public-admin-ports",
    "network-acl-in-use",
}
# Fixtures for these live in tests/test_policy_rules_ec2.py.
EC2_POLICIES = {
    "ebs-encryption-by-default",
    "ebs-attached-volumes-encrypted",
    "ebs-snapshot-block-public-access",
    "ec2-instance-imdsv2",
    "ec2-instance-no-public-ip",
    "ec2-instance-single-network-interface",
    "ec2-instance-hvm",
    "ec2-source-dest-check",
    "ec2-launch-template-imdsv2",
    "ec2-launch-template-no-public-ip",
    "ec2-launch-template-ebs-encrypted",
    "ec2-spot-fleet-ebs-encrypted",
    "ec2-transit-gateway-no-auto-accept",
    "ec2-vpc-block-public-access",
    "ec2-vpn-tunnel-logging",
    "ec2-vpn-ikev2-only",
    "ec2-client-vpn-connection-logging",
}
ACM_POLICIES = {"acm-certificate-renewal", "acm-certificate-rsa-2048"}
# Fixtures for these live in tests/test_policy_rules_data.py.
DATA_POLICIES = {
    "rds-storage-encrypted-cmk",
    "rds-not-public",
    "rds-backup-retention",
    "rds-deletion-protection",
    "rds-multi-az",
    "rds-final-snapshot",
    "rds-no-plaintext-password",
    "rds-iam-auth",
    "rds-log-exports",
    "rds-enhanced-monitoring",
    "rds-performance-insights-cmk",
    "rds-auto-minor-upgrade",
    "rds-copy-tags-to-snapshot",
    "rds-force-ssl",
    "rds-cross-region-backup",
    "rds-snapshot-not-public",
    "rds-snapshot-encrypted",
    "rds-aurora-mysql-backtracking",
    "rds-cluster-multi-az",
    "rds-cluster-custom-admin-username",
    "rds-instance-custom-admin-username",
    "rds-proxy-require-tls",
    "rds-sqlserver-force-ssl",
    "rds-mariadb-require-secure-transport",
    "rds-aurora-mysql-audit-logging",
    "rds-not-in-public-subnet",
    "rds-cluster-event-notifications",
    "rds-instance-event-notifications",
    "rds-parameter-group-event-notifications",
    "rds-security-group-event-notifications",
    "rds-global-cluster-supported-version",
    "elasticache-transit-encryption",
    "elasticache-at-rest-encryption-cmk",
    "elasticache-auth",
    "elasticache-automatic-failover",
    "elasticache-snapshot-retention",
    "elasticache-not-default-subnet-group",
    "elasticache-log-delivery",
    "elasticache-auto-minor-upgrade",
    "secretsmanager-cmk",
    "secretsmanager-rotation",
    "secretsmanager-rotation-interval",
    "backup-vault-cmk",
    "backup-vault-locked",
    "backup-recovery-point-encrypted",
}
# Fixtures for these live in tests/test_policy_rules_edge.py.
EDGE_POLICIES = {
    "s3-public-access-block",
    "s3-default-encryption",
    "s3-versioning-enabled",
    "s3-tls-only-policy",
    "s3-bucket-owner-enforced",
    "s3-access-logging",
    "s3-lifecycle-configuration",
    "s3-directory-bucket-lifecycle",
    "s3-access-point-public-access-block",
    "s3-multi-region-access-point-public-access-block",
    "s3-account-public-access-block",
    "s3-bucket-policy-other-accounts-restricted",
    "elb-listener-tls12-policy",
    "elb-http-redirects-to-https",
    "alb-drop-invalid-header-fields",
    "alb-desync-mitigation",
    "elb-access-logs",
    "elb-deletion-protection",
    "elb-target-group-health-check",
    "elb-multiple-azs",
    "alb-waf-associated",
    "wafv2-managed-baseline-rules",
    "wafv2-rate-based-rule",
    "wafv2-visibility-metrics",
    "wafv2-logging-enabled",
    "cloudfront-viewer-https",
    "cloudfront-viewer-tls",
    "cloudfront-viewer-sni",
    "cloudfront-waf-attached",
    "cloudfront-access-logging",
    "cloudfront-s3-origin-oac",
    "cloudfront-custom-origin-https",
    "cloudfront-origin-failover",
    "cloudfront-s3-root-object",
    "cloudfront-s3-origin-bucket-declared",
    "cloudfront-lambda-url-origin-oac",
    "cloudfront-trusted-key-groups",
    "cloudfront-hsts-headers",
    "aws-required-tags",
    "stateful-resources-protected",
}
# Fixtures for these live in tests/test_policy_rules_classic.py.
CLASSIC_POLICIES = {
    "elb-classic-https-listeners",
    "elb-classic-acm-certificate",
    "elb-classic-tls-policy",
    "elb-classic-connection-draining",
    "elb-classic-cross-zone",
    "elb-classic-multiple-azs",
    "elb-classic-desync-mitigation",
    "waf-classic-logging-enabled",
    "waf-regional-rule-not-empty",
    "waf-regional-rulegroup-not-empty",
    "waf-regional-webacl-not-empty",
    "waf-global-rule-not-empty",
    "waf-global-rulegroup-not-empty",
    "waf-global-webacl-not-empty",
}
# Fixtures for these live in tests/test_policy_rules_eks.py.
EKS_POLICIES = {
    "eks-endpoint-not-public",
    "eks-control-plane-logging",
    "eks-secrets-encryption",
    "eks-supported-version",
    "eks-node-group-supported-version",
    "eks-node-group-no-open-ssh",
    "eks-node-imdsv2-required",
    "eks-access-entries-auth",
}
# Fixtures for these live in tests/test_policy_rules_kubernetes.py.
KUBERNETES_POLICIES = {
    "k8s-container-resources",
    "k8s-readiness-probe",
    "k8s-liveness-probe",
    "k8s-run-as-non-root",
    "k8s-read-only-root-filesystem",
    "k8s-no-privilege-escalation",
    "k8s-drop-all-capabilities",
    "k8s-no-host-ports",
    "k8s-seccomp-profile",
    "k8s-no-unconfined-apparmor",
    "k8s-selinux-options",
    "k8s-default-proc-mount",
    "k8s-no-host-process",
    "k8s-no-probe-host",
    "k8s-image-tag-pinned",
    "k8s-no-host-path-volumes",
    "k8s-restricted-volume-types",
    "k8s-no-host-namespaces",
    "k8s-safe-sysctls",
    "k8s-not-default-namespace",
    "k8s-no-load-balancer-service",
    "k8s-deployment-has-hpa",
    "k8s-deployment-has-pdb",
    "k8s-network-policy-coverage",
}
# Fixtures for these live in tests/test_policy_rules_wiring.py.
WIRING_POLICIES = {"wiring-proof"}
# Fixtures for these live in tests/test_policy_rules_iam.py.
IAM_POLICIES = {
    "iam-github-oidc-trust-pinned",
    "iam-policy-no-full-admin",
    "iam-user-no-attached-policies",
    "iam-password-policy-strong",
    "iam-policy-no-service-wildcard",
    "iam-policy-no-kms-decrypt-all-keys",
    "iam-inline-policy-no-kms-decrypt-all-keys",
}
ECR_POLICIES = {"ecr-tag-immutability", "ecr-lifecycle-policy", "ecr-repository-kms"}
CODEBUILD_POLICIES = {
    "codebuild-source-no-credentials",
    "codebuild-env-no-plaintext-aws-keys",
    "codebuild-logging-enabled",
    "codebuild-s3-logs-encrypted",
    "codebuild-privileged-mode-off",
    "codebuild-report-group-export-encrypted",
}
# The pack's own report of exemptions, beside the rules; tests/test_policy_exemptions.py covers it.
EXEMPTIONS_POLICY = "paved-exemptions"
EXPECTED_POLICIES = (
    BASE_POLICIES
    | EC2_POLICIES
    | ACM_POLICIES
    | DATA_POLICIES
    | EDGE_POLICIES
    | CLASSIC_POLICIES
    | EKS_POLICIES
    | KUBERNETES_POLICIES
    | WIRING_POLICIES
    | IAM_POLICIES
    | ECR_POLICIES
    | CODEBUILD_POLICIES
    | {EXEMPTIONS_POLICY}
)


# ---------------------------------------------------------------------------------------------
# Resource policy fixtures.


def ingress(proto: str, from_port: float, to_port: float, cidrs=(), ipv6=()) -> dict[str, Any]:
    return {
        "protocol": proto,
        "fromPort": from_port,
        "toPort": to_port,
        "cidrBlocks": list(cidrs),
        "ipv6CidrBlocks": list(ipv6),
    }


def described(rule: dict[str, Any], description: str) -> dict[str, Any]:
    return {**rule, "description": description}


ROOT = {"AWS": "arn:aws:iam::111122223333:root"}


def open_statement(**condition: dict[str, Any]) -> dict[str, Any]:
    """An Allow to everyone, under `condition` when given (operator -> {key: value})."""
    statement: dict[str, Any] = {
        "Sid": "Open",
        "Effect": "Allow",
        "Principal": {"AWS": "*"},
        "Action": "kms:Decrypt",
        "Resource": "*",
    }
    return {**statement, "Condition": condition} if condition else statement


SG_POLICY = "security-group-no-public-ingress"
SG_WEB = "security-group-public-web-lb-only"
SG_DESC = "security-group-descriptions"
DSG_POLICY = "default-security-group-closed"
LG_KMS = "cloudwatch-log-group-encrypted"
LG_RETENTION = "cloudwatch-log-group-retention"
ALARM_POLICY = "cloudwatch-alarm-has-actions"
ROTATION = "kms-key-rotation-enabled"
KEY_POLICY = "kms-key-policy-no-wildcard-principal"
SNS_POLICY = "sns-topic-encrypted"
TOPIC_PUBLIC = "sns-topic-policy-not-public"
SUBNET_POLICY = "subnet-no-public-ip-by-default"
WORLD = ["0.0.0.0/0"]

RESOURCE_CASES: list[ResourceCase] = [
    ("sg-https-world", SG_POLICY, SG, {"ingress": [ingress("tcp", 443.0, 443.0, WORLD, ["::/0"])]}, "ok", ""),
    (
        "sg-web-and-private-ssh",
        SG_POLICY,
        SG,
        {"ingress": [ingress("tcp", 80.0, 80.0, WORLD), ingress("tcp", 22.0, 22.0, ["10.0.0.0/8"])]},
        "ok",
        "",
    ),
    # EC2.18 authorizes no UDP port from anywhere by default, HTTP/3 included.
    (
        "sg-quic",
        SG_POLICY,
        SG,
        {"ingress": [ingress("udp", 443.0, 443.0, WORLD)]},
        "violation",
        "udp ports 443",
    ),
    (
        "sg-default-group-ssh",
        SG_POLICY,
        DEFAULT_SG,
        {"ingress": [ingress("tcp", 22.0, 22.0, WORLD)]},
        "violation",
        "ingress[0]: tcp ports 22-22 from 0.0.0.0/0",
    ),
    ("sg-default-group-closed", SG_POLICY, DEFAULT_SG, {"vpcId": UNKNOWN}, "ok", ""),
    ("sg-no-ingress", SG_POLICY, SG, {"egress": [ingress("-1", 0.0, 0.0, WORLD)]}, "ok", ""),
    (
        "sg-ssh-world",
        SG_POLICY,
        SG,
        {"ingress": [ingress("tcp", 443.0, 443.0, WORLD), ingress("tcp", 22.0, 22.0, WORLD)]},
        "violation",
        "ingress[1]: tcp ports 22-22 from 0.0.0.0/0",
    ),
    (
        "sg-rdp-ipv6",
        SG_POLICY,
        SG,
        {"ingress": [ingress("6", 3389.0, 3389.0, ipv6=["::/0"])]},
        "violation",
        "::/0",
    ),
    (
        "sg-all-traffic",
        SG_POLICY,
        SG,
        {"ingress": [ingress("-1", 0.0, 0.0, WORLD)]},
        "violation",
        "protocol -1",
    ),
    (
        "sg-80-to-443-range",
        SG_POLICY,
        SG,
        {"ingress": [ingress("tcp", 80.0, 443.0, WORLD)]},
        "violation",
        "80-443",
    ),
    (
        "sg-icmp-world",
        SG_POLICY,
        SG,
        {"ingress": [ingress("icmp", 8.0, 0.0, WORLD)]},
        "violation",
        "protocol icmp",
    ),
    (
        "sg-non-canonical-anywhere",
        SG_POLICY,
        SG,
        {"ingress": [ingress("tcp", 22.0, 22.0, ["10.1.2.3/0"])]},
        "violation",
        "10.1.2.3/0",
    ),
    (
        # Two halves are everyone too, as for EKS endpoints (paved_policies/cidrs.py).
        "sg-halves-of-anywhere",
        SG_POLICY,
        SG,
        {"ingress": [ingress("tcp", 22.0, 22.0, ["0.0.0.0/1", "128.0.0.0/1"])]},
        "violation",
        "0.0.0.0/1",
    ),
    (
        "sgr-ssh-world",
        SG_POLICY,
        SG_RULE,
        {"type": "ingress", **ingress("tcp", 22.0, 22.0, WORLD)},
        "violation",
        "22",
    ),
    (
        "sgr-all-named",
        SG_POLICY,
        SG_RULE,
        {"type": "ingress", **ingress("all", 0.0, 65535.0, WORLD)},
        "violation",
        "protocol all",
    ),
    (
        "sgr-inf-port",
        SG_POLICY,
        SG_RULE,
        {"type": "ingress", **ingress("tcp", float("inf"), 443.0, WORLD)},
        "violation",
        "tcp ports ?-443",
    ),
    ("sgr-https", SG_POLICY, SG_RULE, {"type": "ingress", **ingress("tcp", 443.0, 443.0, WORLD)}, "ok", ""),
    ("sgr-egress", SG_POLICY, SG_RULE, {"type": "egress", **ingress("-1", 0.0, 0.0, WORLD)}, "n/a", ""),
    (
        "sgi-all-world",
        SG_POLICY,
        SG_INGRESS,
        {"ipProtocol": "-1", "cidrIpv4": "0.0.0.0/0"},
        "violation",
        "-1",
    ),
    (
        "sgi-ssh-v6",
        SG_POLICY,
        SG_INGRESS,
        {"ipProtocol": "tcp", "fromPort": 22.0, "toPort": 22.0, "cidrIpv6": "::/0"},
        "violation",
        "::/0",
    ),
    (
        "sgi-https-v6",
        SG_POLICY,
        SG_INGRESS,
        {"ipProtocol": "tcp", "fromPort": 443.0, "toPort": 443.0, "cidrIpv6": "::/0"},
        "ok",
        "",
    ),
    (
        "sgi-from-sg",
        SG_POLICY,
        SG_INGRESS,
        {"ipProtocol": "-1", "referencedSecurityGroupId": "sg-1"},
        "ok",
        "",
    ),
    (
        "desc-group-and-rules",
        SG_DESC,
        SG,
        {
            "description": "ALB: HTTPS from the office",
            "ingress": [
                described(ingress("tcp", 443.0, 443.0, ["198.51.100.0/24"]), "HTTPS from the office")
            ],
            "egress": [described(ingress("tcp", 3000.0, 3000.0, ["10.0.0.0/16"]), "to the app")],
        },
        "ok",
        "",
    ),
    ("desc-no-rules", SG_DESC, SG, {"description": "restore tests: no traffic"}, "ok", ""),
    # What the SDK sends when the program gives none: SecurityGroupArgs defaults it.
    (
        "desc-provider-default",
        SG_DESC,
        SG,
        {"description": "Managed by Pulumi"},
        "violation",
        "default description 'Managed by Pulumi'",
    ),
    ("desc-group-unset", SG_DESC, SG, {"ingress": []}, "violation", "the group has no description"),
    ("desc-group-blank", SG_DESC, SG, {"description": "  "}, "violation", "no description"),
    (
        "desc-inline-rule",
        SG_DESC,
        SG,
        {
            "description": "web",
            "ingress": [
                described(ingress("tcp", 443.0, 443.0, WORLD), "HTTPS"),
                ingress("tcp", 80.0, 80.0, WORLD),
            ],
            "egress": [described(ingress("-1", 0.0, 0.0, WORLD), " ")],
        },
        "violation",
        "ingress[1] has no description; egress[0] has no description",
    ),
    (
        "desc-sgr",
        SG_DESC,
        SG_RULE,
        {"type": "ingress", "description": "HTTPS", **ingress("tcp", 443.0, 443.0, WORLD)},
        "ok",
        "",
    ),
    (
        "desc-sgr-missing",
        SG_DESC,
        SG_RULE,
        {"type": "egress", **ingress("-1", 0.0, 0.0, WORLD)},
        "violation",
        "'res' has no description",
    ),
    (
        "desc-sgi",
        SG_DESC,
        SG_INGRESS,
        {
            "ipProtocol": "tcp",
            "fromPort": 5432.0,
            "toPort": 5432.0,
            "referencedSecurityGroupId": UNKNOWN,
            "description": "from the app",
        },
        "ok",
        "",
    ),
    (
        "desc-sgi-blank",
        SG_DESC,
        SG_INGRESS,
        {"ipProtocol": "-1", "description": ""},
        "violation",
        "no description",
    ),
    (
        "desc-sge",
        SG_DESC,
        SG_EGRESS,
        {
            "ipProtocol": "tcp",
            "fromPort": 443.0,
            "toPort": 443.0,
            "cidrIpv4": "10.0.0.0/16",
            "description": "HTTPS in the VPC",
        },
        "ok",
        "",
    ),
    (
        "desc-sge-missing",
        SG_DESC,
        SG_EGRESS,
        {"ipProtocol": "tcp", "fromPort": 443.0, "toPort": 443.0, "cidrIpv4": "10.0.0.0/16"},
        "violation",
        "no description",
    ),
    ("lg-kms", LG_KMS, LOG_GROUP, {"kmsKeyId": "arn:aws:kms:eu-west-1:1:key/k"}, "ok", ""),
    ("lg-no-kms", LG_KMS, LOG_GROUP, {"retentionInDays": 30.0}, "violation", "kmsKeyId"),
    ("lg-blank-kms", LG_KMS, LOG_GROUP, {"kmsKeyId": "  "}, "violation", "kmsKeyId"),
    ("lg-30-days", LG_RETENTION, LOG_GROUP, {"retentionInDays": 30.0}, "ok", ""),
    ("lg-delivery", LG_RETENTION, LOG_GROUP, {"logGroupClass": "DELIVERY"}, "ok", ""),
    ("lg-forever-unset", LG_RETENTION, LOG_GROUP, {}, "violation", "forever"),
    ("lg-forever-zero", LG_RETENTION, LOG_GROUP, {"retentionInDays": 0.0}, "violation", "0"),
    ("lg-nan-retention", LG_RETENTION, LOG_GROUP, {"retentionInDays": float("nan")}, "violation", "unset"),
    ("lg-fraction-retention", LG_RETENTION, LOG_GROUP, {"retentionInDays": 0.5}, "violation", "unset"),
    ("lg-bool-retention", LG_RETENTION, LOG_GROUP, {"retentionInDays": True}, "violation", "unset"),
    ("alarm-sns", ALARM_POLICY, ALARM, {"alarmActions": ["arn:aws:sns:eu-west-1:1:t"]}, "ok", ""),
    ("alarm-none", ALARM_POLICY, ALARM, {"alarmActions": []}, "violation", "alarmActions"),
    # A bare string is not a list of ARNs; its characters must not count as actions.
    (
        "alarm-not-a-list",
        ALARM_POLICY,
        ALARM,
        {"alarmActions": "arn:aws:sns:eu-west-1:1:t"},
        "violation",
        "alarmActions",
    ),
    (
        "alarm-disabled",
        ALARM_POLICY,
        ALARM,
        {"alarmActions": ["arn:aws:sns:eu-west-1:1:t"], "actionsEnabled": False},
        "violation",
        "actionsEnabled",
    ),
    ("kms-rotated", ROTATION, KMS_KEY, {"enableKeyRotation": True}, "ok", ""),
    (
        "kms-rotated-explicit-spec",
        ROTATION,
        KMS_KEY,
        {"customerMasterKeySpec": "SYMMETRIC_DEFAULT", "enableKeyRotation": True},
        "ok",
        "",
    ),
    ("kms-not-rotated", ROTATION, KMS_KEY, {}, "violation", "enableKeyRotation"),
    (
        "kms-rotation-off",
        ROTATION,
        KMS_KEY,
        {"keySpec": "SYMMETRIC_DEFAULT", "enableKeyRotation": False},
        "violation",
        "enableKeyRotation",
    ),
    ("kms-asymmetric", ROTATION, KMS_KEY, {"customerMasterKeySpec": "RSA_2048"}, "n/a", ""),
    ("kms-hmac", ROTATION, KMS_KEY, {"keySpec": "HMAC_256"}, "n/a", ""),
    ("kms-cloudhsm", ROTATION, KMS_KEY, {"customKeyStoreId": "cks-1"}, "n/a", ""),
    (
        "kp-root",
        KEY_POLICY,
        KMS_KEY,
        {
            "policy": policy_document(
                {"Sid": "Root", "Effect": "Allow", "Principal": ROOT, "Action": "kms:*", "Resource": "*"}
            )
        },
        "ok",
        "",
    ),
    (
        "kp-star-with-condition",
        KEY_POLICY,
        KMS_KEY,
        {
            "policy": policy_document(
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": "*"},
                    "Action": "kms:Decrypt",
                    "Resource": "*",
                    "Condition": {"StringEquals": {"kms:CallerAccount": "111122223333"}},
                }
            )
        },
        "ok",
        "",
    ),
    (
        "kp-deny-star",
        KEY_POLICY,
        KMS_KEY,
        {"policy": policy_document({"Effect": "Deny", "Principal": "*", "Action": "kms:*", "Resource": "*"})},
        "ok",
        "",
    ),
    ("kp-missing", KEY_POLICY, KMS_KEY, {"enableKeyRotation": True}, "n/a", "kms-key-has-explicit-policy"),
    (
        "kp-resource-star",
        KEY_POLICY,
        "aws:kms/keyPolicy:KeyPolicy",
        {
            "policy": policy_document(
                {"Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*"}
            )
        },
        "violation",
        "allows any principal",
    ),
    (
        "kp-star",
        KEY_POLICY,
        KMS_KEY,
        {
            "policy": policy_document(
                {"Sid": "Root", "Effect": "Allow", "Principal": ROOT, "Action": "kms:*", "Resource": "*"},
                {"Sid": "Open", "Effect": "Allow", "Principal": "*", "Action": "kms:*", "Resource": "*"},
            )
        },
        "violation",
        "Open",
    ),
    (
        "kp-aws-star-in-list",
        KEY_POLICY,
        KMS_KEY,
        {
            "policy": json.dumps(
                {
                    "Statement": {
                        "Effect": "Allow",
                        "Principal": {"AWS": ["arn:aws:iam::1:root", "*"]},
                        "Action": "kms:*",
                    }
                }
            )
        },
        "violation",
        "#0",
    ),
    (
        "kp-not-principal",
        KEY_POLICY,
        KMS_KEY,
        {
            "policy": policy_document(
                {"Effect": "Allow", "NotPrincipal": ROOT, "Action": "kms:*", "Resource": "*"}
            )
        },
        "violation",
        "#0",
    ),
    ("kp-not-json", KEY_POLICY, KMS_KEY, {"policy": "{not json"}, "violation", "not a JSON object"),
    # KMS.5: only a condition pinning the grant to fixed accounts, organizations or sources keeps '*' private.
    (
        "kp-star-with-a-condition-that-confines-nothing",
        KEY_POLICY,
        KMS_KEY,
        {"policy": policy_document(open_statement(Bool={"aws:SecureTransport": "true"}))},
        "violation",
        "Open",
    ),
    (
        "kp-star-with-a-negated-account-condition",
        KEY_POLICY,
        KMS_KEY,
        {"policy": policy_document(open_statement(StringNotEquals={"kms:CallerAccount": "111122223333"}))},
        "violation",
        "Open",
    ),
    (
        "kp-star-with-a-wildcard-account",
        KEY_POLICY,
        KMS_KEY,
        {"policy": policy_document(open_statement(StringLike={"aws:PrincipalAccount": "1111*"}))},
        "violation",
        "Open",
    ),
    (
        "kp-star-with-an-if-exists-condition",
        KEY_POLICY,
        KMS_KEY,
        {
            "policy": policy_document(
                open_statement(StringEqualsIfExists={"aws:PrincipalOrgID": "o-a1b2c3d4e5"})
            )
        },
        "violation",
        "Open",
    ),
    (
        "kp-star-confined-to-the-organization",
        KEY_POLICY,
        KMS_KEY,
        {"policy": policy_document(open_statement(StringEquals={"aws:PrincipalOrgID": ["o-a1b2c3d4e5"]}))},
        "ok",
        "",
    ),
    (
        "kp-account-wildcard-principal",
        KEY_POLICY,
        KMS_KEY,
        {"policy": policy_document({**open_statement(), "Principal": {"AWS": "arn:aws:iam::*:root"}})},
        "violation",
        "Open",
    ),
    (
        "kp-replica-key",
        KEY_POLICY,
        REPLICA_KEY,
        {
            "primaryKeyArn": "arn:aws:kms:eu-west-1:111122223333:key/mrk-1",
            "policy": policy_document(open_statement()),
        },
        "violation",
        "Open",
    ),
    ("kp-replica-key-default-policy", KEY_POLICY, REPLICA_KEY, {"primaryKeyArn": "arn:k"}, "n/a", "default"),
    (
        "kp-external-key",
        KEY_POLICY,
        "aws:kms/externalKey:ExternalKey",
        {
            "policy": policy_document(
                {"Effect": "Allow", "Principal": ROOT, "Action": "kms:*", "Resource": "*"}
            )
        },
        "ok",
        "",
    ),
    ("sns-kms", SNS_POLICY, TOPIC, {"kmsMasterKeyId": "alias/aws/sns"}, "ok", ""),
    ("sns-plain", SNS_POLICY, TOPIC, {"name": "alerts"}, "violation", "kmsMasterKeyId"),
    # sns-topic-policy-not-public (SNS.4)
    ("topic-default-policy", TOPIC_PUBLIC, TOPIC, {"name": "alerts"}, "ok", ""),
    (
        "topic-policy-for-alarms-of-this-account",
        TOPIC_PUBLIC,
        TOPIC_POLICY,
        {
            "arn": UNKNOWN,
            "policy": policy_document(
                {"Sid": "Owner", "Effect": "Allow", "Principal": ROOT, "Action": "sns:*", "Resource": "*"},
                {
                    "Sid": "Alarms",
                    "Effect": "Allow",
                    "Principal": {"Service": "cloudwatch.amazonaws.com"},
                    "Action": "sns:Publish",
                    "Resource": "*",
                    "Condition": {"StringEquals": {"aws:SourceAccount": "111122223333"}},
                },
                # The shape of SNS's default policy: everyone, pinned to the owner account.
                {
                    "Sid": "Default",
                    "Effect": "Allow",
                    "Principal": {"AWS": "*"},
                    "Action": ["sns:Publish", "sns:Subscribe"],
                    "Resource": "*",
                    "Condition": {"StringEquals": {"AWS:SourceOwner": "111122223333"}},
                },
            ),
        },
        "ok",
        "",
    ),
    (
        "topic-policy-open-to-everyone",
        TOPIC_PUBLIC,
        TOPIC_POLICY,
        {
            "arn": UNKNOWN,
            "policy": policy_document({**open_statement(), "Sid": "Anyone", "Action": "sns:Publish"}),
        },
        "violation",
        "Anyone",
    ),
    (
        "topic-inline-policy-with-a-variable",
        TOPIC_PUBLIC,
        TOPIC,
        {
            "policy": policy_document(
                open_statement(StringEquals={"aws:SourceArn": "arn:aws:s3:::${aws:username}"})
            )
        },
        "violation",
        "Open",
    ),
    ("topic-policy-not-json", TOPIC_PUBLIC, TOPIC_POLICY, {"policy": "[]"}, "violation", "not a JSON object"),
    ("subnet-private", SUBNET_POLICY, SUBNET, {"mapPublicIpOnLaunch": False}, "ok", ""),
    ("subnet-unset", SUBNET_POLICY, SUBNET, {"cidrBlock": "10.0.0.0/24"}, "ok", ""),
    ("subnet-ipv6-off", SUBNET_POLICY, SUBNET, {"assignIpv6AddressOnCreation": False}, "ok", ""),
    (
        # EC2.15 fails a load balancer subnet too: the balancer's addresses are its own.
        "subnet-elb",
        SUBNET_POLICY,
        SUBNET,
        {"mapPublicIpOnLaunch": True, "tags": {"kubernetes.io/role/elb": "1"}},
        "violation",
        "public IPv4 addresses (mapPublicIpOnLaunch)",
    ),
    (
        "subnet-ipv6",
        SUBNET_POLICY,
        SUBNET,
        {"ipv6CidrBlock": "2001:db8::/64", "assignIpv6AddressOnCreation": True},
        "violation",
        "IPv6 addresses (assignIpv6AddressOnCreation)",
    ),
    (
        "subnet-both",
        SUBNET_POLICY,
        SUBNET,
        {"mapPublicIpOnLaunch": True, "assignIpv6AddressOnCreation": True},
        "violation",
        "public IPv4 addresses (mapPublicIpOnLaunch) and IPv6 addresses",
    ),
    ("default-subnet-closed", SUBNET_POLICY, DEFAULT_SUBNET, {"mapPublicIpOnLaunch": False}, "ok", ""),
    # pulumi-aws's DefaultSubnet maps public IPs unless told not to.
    (
        "default-subnet-unset",
        SUBNET_POLICY,
        DEFAULT_SUBNET,
        {"availabilityZone": "eu-west-1a"},
        "violation",
        "mapPublicIpOnLaunch unset, which is true here",
    ),
]

# Pack-wide in tests/test_policy_pack.py: an unknown the SDK must report as "can't run during preview".
DEFERRALS: list[Deferral] = [
    ("cloudwatch-log-group-retention", LOG_GROUP, {"retentionInDays": UNKNOWN_NUMBER_VALUE}),
    (SG_POLICY, SG, {"ingress": [ingress("tcp", 22.0, 22.0, [UNKNOWN])]}),
    (SG_POLICY, SG, {"ingress": UNKNOWN_ARRAY_VALUE}),
    ("kms-key-policy-no-wildcard-principal", KMS_KEY, {"policy": UNKNOWN}),
    (TOPIC_PUBLIC, TOPIC_POLICY, {"arn": UNKNOWN, "policy": UNKNOWN}),
    (TOPIC_PUBLIC, TOPIC, {"policy": UNKNOWN}),
    ("kms-key-rotation-enabled", KMS_KEY, {"enableKeyRotation": UNKNOWN_BOOLEAN_VALUE}),
    ("subnet-no-public-ip-by-default", SUBNET, {"mapPublicIpOnLaunch": UNKNOWN_BOOLEAN_VALUE}),
    # Whether a rule still unknown in preview will have a description cannot be told.
    (SG_DESC, SG, {"description": "web", "ingress": [UNKNOWN_OBJECT_VALUE]}),
    (SG_DESC, SG, {"description": "web", "egress": UNKNOWN_ARRAY_VALUE}),
]
# A first preview knows only that the key/topic ARN will come from another resource; that is enough for
# "is it encrypted / does it notify", so no advisory "can't run during preview".
PREVIEW_UNKNOWNS: list[PreviewUnknown] = [
    ("cloudwatch-log-group-encrypted", LOG_GROUP, {"kmsKeyId": UNKNOWN}, "ok"),
    ("sns-topic-encrypted", TOPIC, {"kmsMasterKeyId": UNKNOWN}, "ok"),
    ("cloudwatch-alarm-has-actions", ALARM, {"alarmActions": [UNKNOWN]}, "ok"),
    ("cloudwatch-alarm-has-actions", ALARM, {"alarmActions": ["", UNKNOWN]}, "ok"),
    ("cloudwatch-alarm-has-actions", ALARM, {"alarmActions": UNKNOWN_ARRAY_VALUE}, "ok"),
    (
        SG_DESC,
        SG,
        {"description": UNKNOWN, "ingress": [described(ingress("tcp", 22.0, 22.0), UNKNOWN)]},
        "ok",
    ),
    (SG_DESC, SG_INGRESS, {"ipProtocol": "-1", "description": UNKNOWN}, "ok"),
]
OTHER_TYPES: list[OtherType] = [
    ("sns-topic-encrypted", LOG_GROUP),
    ("cloudwatch-log-group-encrypted", TOPIC),
    (SG_DESC, DEFAULT_SG),
    (SUBNET_POLICY, VPC),
    ("kms-key-rotation-enabled", REPLICA_KEY),
    (TOPIC_PUBLIC, "aws:sns/topicSubscription:TopicSubscription"),
]


@pytest.mark.parametrize(
    ("policy", "rtype", "props"),
    [
        ("cloudwatch-log-group-encrypted", LOG_GROUP, {"kmsKeyId": "  "}),
        ("sns-topic-encrypted", TOPIC, {"kmsMasterKeyId": ""}),
        ("cloudwatch-alarm-has-actions", ALARM, {"alarmActions": ["", " "]}),
    ],
)
def test_presence_checks_reject_blank_values(policy: str, rtype: str, props: dict[str, Any]) -> None:
    assert run_resource(policy, rtype, props).status == "violation"


def test_rule_functions_are_pure_and_callable_without_the_sdk() -> None:
    rule = RULES["sns-topic-encrypted"]
    assert isinstance(rule, ResourceRule)
    from paved_policies.rule import ResourceContext

    ctx = ResourceContext(TOPIC, urn_of(TOPIC, "t"), "t")
    assert rule({"kmsMasterKeyId": "alias/aws/sns"}, ctx) == compliant()
    assert rule({}, ctx).message == "SNS topic 't' has no kmsMasterKeyId."


# ---------------------------------------------------------------------------------------------
# Stack policies. A first preview: every id unknown, only the dependency edges known.

FLOW = "vpc-flow-logs-enabled"
EC2_ENDPOINT = "vpc-ec2-interface-endpoint"
ECR_API = "vpc-ecr-api-interface-endpoint"
ECR_DKR = "vpc-ecr-dkr-interface-endpoint"
NACL_ADMIN = "network-acl-no-public-admin-ports"
NACL_USED = "network-acl-in-use"
EXPLICIT_KEY_POLICY = "kms-key-has-explicit-policy"
VPC_PROPS = {"cidrBlock": "10.0.0.0/16", "id": UNKNOWN}
GROUP = {"description": "ALB: web from anywhere", "vpcId": UNKNOWN}
WEB_WORLD = {"ingress": [described(ingress("tcp", 443.0, 443.0, WORLD, ["::/0"]), "HTTPS")]}


def web_rule(name: str, group: str | None, port: float = 443.0, **props: Any) -> Res:
    """A standalone SecurityGroupIngressRule opening `port` to 0.0.0.0/0 on `group`."""
    return Res(
        SG_INGRESS,
        name,
        {
            "securityGroupId": UNKNOWN if group else "sg-0123456789abcdef0",
            "ipProtocol": "tcp",
            "fromPort": port,
            "toPort": port,
            "cidrIpv4": "0.0.0.0/0",
            **props,
        },
        prop_deps={"securityGroupId": [group]} if group else {},
    )


def balancer(name: str, group: str, rtype: str = LB, **props: Any) -> Res:
    return Res(rtype, name, {"securityGroups": [UNKNOWN], **props}, prop_deps={"securityGroups": [group]})


def closed_default_group(vpc: str) -> Res:
    """A DefaultSecurityGroup adopting `vpc`'s default group with no rules, as paved's network declares it."""
    return Res(DEFAULT_SG, f"{vpc}-default", {"vpcId": UNKNOWN}, prop_deps={"vpcId": [vpc]})


def interface_endpoint(service: str, name: str | None = None, vpc: str = "main", **props: Any) -> Res:
    """An interface VpcEndpoint for `service` in `vpc`, as paved's network declares them."""
    base = {
        "vpcId": UNKNOWN,
        "serviceName": f"com.amazonaws.eu-west-1.{service}",
        "vpcEndpointType": "Interface",
        "privateDnsEnabled": True,
        "subnetIds": [UNKNOWN],
    }
    return Res(ENDPOINT, name or service, but(base, **props), prop_deps={"vpcId": [vpc]})


def nacl_entry(protocol: str, from_port: float, to_port: float, **props: Any) -> dict[str, Any]:
    """An inbound network ACL entry allowing `protocol` from 0.0.0.0/0."""
    base = {"action": "allow", "protocol": protocol, "fromPort": from_port, "toPort": to_port}
    return but({**base, "ruleNo": 100.0, "cidrBlock": "0.0.0.0/0"}, **props)


def nacl_rule(name: str, acl: str) -> Res:
    """A NetworkAclRule allowing SSH from anywhere into the network ACL `acl` names."""
    props = {**nacl_entry("tcp", 22.0, 22.0, action=...), "ruleAction": "allow", "networkAclId": UNKNOWN}
    return Res(NACL_RULE, name, props, prop_deps={"networkAclId": [acl]})


BARE_KEY = Res(KMS_KEY, "bare", {"enableKeyRotation": True})
KEYS_WITH_POLICIES = [
    Res(KMS_KEY, "inline", {"policy": policy_document({"Effect": "Allow", "Principal": {"AWS": "x"}})}),
    Res(KMS_KEY, "separate", {"enableKeyRotation": True}),
    # First preview: the KeyPolicy's keyId is unknown, only its dependency on the key is recorded.
    Res(
        "aws:kms/keyPolicy:KeyPolicy",
        "kp",
        {"keyId": UNKNOWN, "policy": UNKNOWN},
        prop_deps={"keyId": ["separate"]},
    ),
]

STACK_CASES: list[StackCase] = [
    # vpc-flow-logs-enabled
    (
        "flow-log-on-vpc-unknown-ids",
        FLOW,
        [
            Res(VPC, "main", VPC_PROPS),
            Res(FLOW_LOG, "fl", {"vpcId": UNKNOWN, "trafficType": "ALL"}, prop_deps={"vpcId": ["main"]}),
        ],
        "ok",
        [],
    ),
    (
        "flow-vpc-without-log",
        FLOW,
        [
            Res(VPC, "covered", VPC_PROPS),
            Res(VPC, "bare", VPC_PROPS),
            Res(
                FLOW_LOG, "fl", {"vpcId": UNKNOWN, "trafficType": "REJECT"}, prop_deps={"vpcId": ["covered"]}
            ),
        ],
        "violation",
        ["bare"],
    ),
    (
        # EC2.6 wants rejected traffic logged: an ACCEPT-only flow log does not.
        "flow-accept-only",
        FLOW,
        [
            Res(VPC, "main", VPC_PROPS),
            Res(FLOW_LOG, "fl", {"vpcId": UNKNOWN, "trafficType": "ACCEPT"}, prop_deps={"vpcId": ["main"]}),
        ],
        "violation",
        ["main"],
    ),
    (
        "flow-default-vpc-adopted-without-log",
        FLOW,
        [Res(DEFAULT_VPC, "default", {"tags": {"Name": "default"}})],
        "violation",
        ["default"],
    ),
    (
        "flow-subnet-log-does-not-cover-the-vpc",
        FLOW,
        [
            Res(VPC, "main", VPC_PROPS),
            Res(SUBNET, "sn", {"vpcId": UNKNOWN}, prop_deps={"vpcId": ["main"]}),
            # Linked to the VPC through depends_on and a tag, but its vpcId is unset: it logs the subnet.
            Res(
                FLOW_LOG,
                "fl",
                {"subnetId": UNKNOWN, "tags": {"vpc": UNKNOWN}},
                prop_deps={"subnetId": ["sn"], "tags": ["main"]},
                deps=["main"],
            ),
        ],
        "violation",
        ["main"],
    ),
    (
        "flow-vpc-id-edge-from-another-type",
        FLOW,
        [
            Res(VPC, "main", VPC_PROPS),
            Res(SUBNET, "sn", {"vpcId": UNKNOWN}, prop_deps={"vpcId": ["main"]}),
        ],
        "violation",
        ["main"],
    ),
    (
        "flow-plain-dependencies-without-property-edges",
        FLOW,
        [
            Res(VPC, "main", VPC_PROPS),
            Res(FLOW_LOG, "fl", {"vpcId": "vpc-123", "trafficType": "ALL"}, deps=["main"]),
        ],
        "ok",
        [],
    ),
    ("flow-no-vpcs", FLOW, [Res(TOPIC, "t", {"kmsMasterKeyId": "k"})], "n/a", []),
    # security-group-public-web-lb-only (more below: test_public_web_*)
    (
        "web-internal-load-balancer",
        SG_WEB,
        [
            Res(SG, "internal-sg", {**GROUP, **WEB_WORLD}),
            balancer("internal-alb", "internal-sg", internal=True),
        ],
        "violation",
        ["internal-sg"],
    ),
    (
        "web-load-balancer-linked-through-another-property",
        SG_WEB,
        [
            Res(SG, "alb-sg", {**GROUP, **WEB_WORLD}),
            Res(
                LB,
                "alb",
                {"securityGroups": ["sg-0123456789abcdef0"], "tags": {"sg": UNKNOWN}},
                prop_deps={"tags": ["alb-sg"], "securityGroups": []},
            ),
        ],
        "violation",
        ["alb-sg"],
    ),
    (
        "web-plain-dependencies-link-a-load-balancer",
        SG_WEB,
        [
            Res(SG, "alb-sg", {**GROUP, **WEB_WORLD}),
            Res(LB, "alb", {"securityGroups": ["sg-1"]}, deps=["alb-sg"]),
        ],
        "ok",
        [],
    ),
    # default-security-group-closed
    ("dsg-closed", DSG_POLICY, [Res(VPC, "main", VPC_PROPS), closed_default_group("main")], "ok", []),
    (
        "dsg-vpc-without-default-group",
        DSG_POLICY,
        [Res(VPC, "main", VPC_PROPS), Res(DEFAULT_VPC, "adopted", {}), closed_default_group("adopted")],
        "violation",
        ["main"],
    ),
    (
        "dsg-rules-inline",
        DSG_POLICY,
        [
            Res(VPC, "main", VPC_PROPS),
            Res(
                DEFAULT_SG,
                "main-default",
                {
                    "vpcId": UNKNOWN,
                    "ingress": [{"protocol": "-1", "fromPort": 0.0, "toPort": 0.0, "self": True}],
                    "egress": [ingress("-1", 0.0, 0.0, WORLD)],
                },
                prop_deps={"vpcId": ["main"]},
            ),
        ],
        "violation",
        ["main-default"],
    ),
    (
        "dsg-standalone-rules-on-the-default-group",
        DSG_POLICY,
        [
            Res(VPC, "main", VPC_PROPS),
            closed_default_group("main"),
            # One rule names the managed default group, the other the VPC's defaultSecurityGroupId output.
            Res(
                SG_INGRESS,
                "into-default",
                {"securityGroupId": UNKNOWN, "ipProtocol": "tcp", "fromPort": 443.0, "toPort": 443.0},
                prop_deps={"securityGroupId": ["main-default"]},
            ),
            Res(
                SG_EGRESS,
                "out-of-default",
                {"securityGroupId": UNKNOWN, "ipProtocol": "-1", "cidrIpv4": "0.0.0.0/0"},
                prop_deps={"securityGroupId": ["main"]},
            ),
            # A rule on the stack's own group has nothing to do with the default one.
            Res(SG, "app", GROUP),
            Res(
                SG_RULE,
                "app-in",
                {
                    "type": "ingress",
                    "securityGroupId": UNKNOWN,
                    **ingress("tcp", 443.0, 443.0, ["10.0.0.0/8"]),
                },
                prop_deps={"securityGroupId": ["app"]},
            ),
        ],
        "violation",
        ["into-default", "out-of-default"],
    ),
    (
        "dsg-literal-default-group-is-closed",
        DSG_POLICY,
        [Res(DEFAULT_SG, "imported", {"vpcId": "vpc-0123456789abcdef0"})],
        "ok",
        [],
    ),
    # vpc-*-interface-endpoint (the three share one check)
    ("ecr-api-endpoint", ECR_API, [Res(VPC, "main", VPC_PROPS), interface_endpoint("ecr.api")], "ok", []),
    (
        "ecr-api-endpoint-missing-or-gateway-or-other-service",
        ECR_API,
        [
            Res(VPC, "main", VPC_PROPS),
            interface_endpoint("ecr.dkr"),
            interface_endpoint("ecr.api", "gateway", vpcEndpointType="Gateway"),
            interface_endpoint("ecr.api", "unset-type", vpcEndpointType=...),
            interface_endpoint("ecr.api", "fips", serviceName="com.amazonaws.eu-west-1.ecr.api-fips"),
        ],
        "violation",
        ["main"],
    ),
    (
        "ecr-api-endpoint-of-another-vpc",
        ECR_API,
        [
            Res(VPC, "main", VPC_PROPS),
            Res(VPC, "other", VPC_PROPS),
            interface_endpoint("ecr.api", vpc="other"),
        ],
        "violation",
        ["main"],
    ),
    ("ec2-endpoint", EC2_ENDPOINT, [Res(VPC, "main", VPC_PROPS), interface_endpoint("ec2")], "ok", []),
    ("ec2-endpoint-missing", EC2_ENDPOINT, [Res(DEFAULT_VPC, "default", {})], "violation", ["default"]),
    ("ecr-dkr-endpoint", ECR_DKR, [Res(VPC, "main", VPC_PROPS), interface_endpoint("ecr.dkr")], "ok", []),
    (
        "ecr-dkr-endpoint-missing",
        ECR_DKR,
        [Res(VPC, "main", VPC_PROPS), interface_endpoint("ecr.api")],
        "violation",
        ["main"],
    ),
    # network-acl-no-public-admin-ports
    (
        "nacl-web-and-private-ssh",
        NACL_ADMIN,
        [
            Res(
                NACL,
                "web",
                {
                    "ingress": [
                        nacl_entry("tcp", 443.0, 443.0),
                        nacl_entry("tcp", 22.0, 22.0, cidrBlock="10.0.0.0/8"),
                        nacl_entry("-1", 0.0, 0.0, action="deny"),
                    ],
                    "egress": [nacl_entry("-1", 0.0, 0.0)],
                },
            )
        ],
        "ok",
        [],
    ),
    (
        "nacl-ssh-rdp-and-all-from-anywhere",
        NACL_ADMIN,
        [
            Res(NACL, "ssh", {"ingress": [nacl_entry("tcp", 0.0, 1024.0)]}),
            Res(
                NACL, "all-v6", {"ingress": [nacl_entry("-1", 0.0, 0.0, cidrBlock=..., ipv6CidrBlock="::/0")]}
            ),
            Res(NACL, "udp", {"ingress": [nacl_entry("udp", 3389.0, 3389.0)]}),
            Res(NACL_RULE, "rdp", {**nacl_entry("6", 3389.0, 3389.0, action=...), "ruleAction": "allow"}),
        ],
        "violation",
        ["ssh", "all-v6", "rdp"],
    ),
    (
        "nacl-rules-on-default-acls-and-outbound-are-not-judged",
        NACL_ADMIN,
        [
            Res(VPC, "main", VPC_PROPS),
            Res(
                DEFAULT_NACL,
                "main-default",
                {"defaultNetworkAclId": UNKNOWN},
                prop_deps={"defaultNetworkAclId": ["main"]},
            ),
            nacl_rule("on-default", "main-default"),
            nacl_rule("on-vpc-default", "main"),
            Res(
                NACL_RULE,
                "outbound",
                {**nacl_entry("tcp", 22.0, 22.0, action=...), "ruleAction": "allow", "egress": True},
            ),
        ],
        "n/a",
        [],
    ),
    # network-acl-in-use
    (
        "nacl-in-use",
        NACL_USED,
        [
            Res(NACL, "inline", {"subnetIds": [UNKNOWN]}),
            Res(NACL, "associated", {}),
            Res(NACL_ASSOCIATION, "a", {"networkAclId": UNKNOWN}, prop_deps={"networkAclId": ["associated"]}),
        ],
        "ok",
        [],
    ),
    (
        "nacl-unused",
        NACL_USED,
        [
            Res(NACL, "empty", {"subnetIds": []}),
            Res(SUBNET, "sn", {"cidrBlock": "10.0.0.0/24"}),
            # Associated with a literal id: nothing links it to 'empty'.
            Res(
                NACL_ASSOCIATION,
                "literal",
                {"networkAclId": "acl-0123456789abcdef0", "subnetId": UNKNOWN},
                prop_deps={"subnetId": ["sn"]},
            ),
        ],
        "violation",
        ["empty"],
    ),
    # kms-key-has-explicit-policy
    ("key-without-a-policy", EXPLICIT_KEY_POLICY, [BARE_KEY, *KEYS_WITH_POLICIES], "violation", ["bare"]),
    ("keys-with-inline-or-attached-policies", EXPLICIT_KEY_POLICY, KEYS_WITH_POLICIES, "ok", []),
]


@pytest.mark.parametrize("rtype", [LB, ALB, CLASSIC_ELB])
@pytest.mark.parametrize("internal", [{}, {"internal": False}])
def test_public_web_on_an_internet_facing_load_balancer_group_is_compliant(
    rtype: str, internal: dict[str, Any]
) -> None:
    outcome = run_stack(
        SG_WEB,
        [
            Res(SG, "alb-sg", {**GROUP, **WEB_WORLD}),
            web_rule("alb-http", "alb-sg", 80.0),
            Res(
                SG_RULE,
                "alb-http6",
                {"type": "ingress", "securityGroupId": UNKNOWN, **ingress("tcp", 80.0, 80.0, ipv6=["::/0"])},
                prop_deps={"securityGroupId": ["alb-sg"]},
            ),
            balancer("alb", "alb-sg", rtype, **internal),
        ],
    )
    assert outcome.status == "ok", outcome


def test_public_web_on_a_group_no_load_balancer_uses_is_reported_against_each_opener() -> None:
    outcome = run_stack(
        SG_WEB,
        [
            Res(SG, "app-sg", {**GROUP, **WEB_WORLD}),
            web_rule("app-http", "app-sg", 80.0),
            Res(
                SG_RULE,
                "app-http6",
                {"type": "ingress", "securityGroupId": UNKNOWN, **ingress("tcp", 80.0, 80.0, ipv6=["::/0"])},
                prop_deps={"securityGroupId": ["app-sg"]},
            ),
            # The ALB in the stack uses another group: it does not make app-sg's 80/443 a load balancer's.
            Res(SG, "alb-sg", {**GROUP, **WEB_WORLD}),
            balancer("alb", "alb-sg"),
        ],
    )
    assert {urn for _, urn in outcome.violations} == {
        urn_of(SG, "app-sg"),
        urn_of(SG_INGRESS, "app-http"),
        urn_of(SG_RULE, "app-http6"),
    }
    assert len(outcome.violations) == 3
    messages = {urn: message for message, urn in outcome.violations}
    assert "ingress[0]: tcp ports 443-443 from 0.0.0.0/0, ::/0" in messages[urn_of(SG, "app-sg")]
    assert "no internet-facing load balancer uses" in messages[urn_of(SG_INGRESS, "app-http")]
    assert "tcp ports 80-80 from ::/0" in messages[urn_of(SG_RULE, "app-http6")]


def test_a_rule_on_a_literal_group_id_cannot_be_linked_to_a_load_balancer() -> None:
    outcome = run_stack(SG_WEB, [web_rule("imported-https", None)])
    [(message, urn)] = outcome.violations
    assert urn == urn_of(SG_INGRESS, "imported-https")
    assert "not built from a security group of this stack" in message


def test_groups_without_public_web_ingress_comply_and_egress_rules_are_not_applicable() -> None:
    outcome = run_stack(
        SG_WEB,
        [
            Res(SG, "office-sg", {**GROUP, "ingress": [ingress("tcp", 443.0, 443.0, ["198.51.100.0/24"])]}),
            # paved's own ALB: HTTPS from the CloudFront origin-facing prefix list, no CIDR.
            Res(
                SG_INGRESS,
                "from-cloudfront",
                {
                    "securityGroupId": UNKNOWN,
                    "ipProtocol": "tcp",
                    "fromPort": 443.0,
                    "toPort": 443.0,
                    "prefixListId": "pl-0123456789abcdef0",
                },
                prop_deps={"securityGroupId": ["office-sg"]},
            ),
            # Ports beyond 80/443 are security-group-no-public-ingress's, not this rule's.
            Res(SG, "ssh-sg", {**GROUP, "ingress": [ingress("tcp", 22.0, 22.0, WORLD)]}),
        ],
    )
    assert outcome.status == "ok", outcome
    egress_only = run_stack(
        SG_WEB,
        [
            Res(SG_RULE, "out", {"type": "egress", **ingress("-1", 0.0, 0.0, WORLD)}),
        ],
    )
    assert egress_only.status == "n/a"


def test_an_unknown_internal_flag_defers_unless_another_balancer_settles_it() -> None:
    group = Res(SG, "alb-sg", {**GROUP, **WEB_WORLD})
    unknown = balancer("alb", "alb-sg", internal=UNKNOWN_BOOLEAN_VALUE)
    with pytest.raises(UnknownValueError):
        run_stack(SG_WEB, [group, unknown])
    public = balancer("nlb", "alb-sg", ALB, internal=False)
    assert run_stack(SG_WEB, [group, unknown, public]).status == "ok"


def test_an_unknown_source_defers_but_the_other_openers_are_still_judged() -> None:
    with pytest.raises(UnknownValueError):
        run_stack(
            SG_WEB,
            [
                Res(SG, "new-sg", GROUP),
                web_rule("new-https", "new-sg", cidrIpv4=UNKNOWN),
            ],
        )


def test_an_interface_endpoint_counts_only_for_its_own_region() -> None:
    vpc = Res(VPC, "main", VPC_PROPS)
    endpoint = interface_endpoint("ecr.api")
    in_region = run_stack(ECR_API, [vpc, endpoint], providers={"ecr.api": {"region": "eu-west-1"}})
    assert in_region.status == "ok", in_region
    # A cross-region endpoint (pulumi-aws 7's per-resource region, or its provider's) reaches eu-west-1's ECR
    # from a VPC in another region, not that region's ECR.
    moved = interface_endpoint("ecr.api", region="us-east-1")
    assert run_stack(ECR_API, [vpc, moved]).status == "violation"
    elsewhere = run_stack(ECR_API, [vpc, endpoint], providers={"ecr.api": {"region": "us-east-1"}})
    assert elsewhere.status == "violation"


def test_an_unknown_endpoint_type_defers_unless_another_endpoint_settles_it() -> None:
    vpc = Res(VPC, "main", VPC_PROPS)
    unknown = interface_endpoint("ecr.api", "new", vpcEndpointType=UNKNOWN)
    with pytest.raises(UnknownValueError):
        run_stack(ECR_API, [vpc, unknown])
    assert run_stack(ECR_API, [vpc, unknown, interface_endpoint("ecr.api")]).status == "ok"


def test_an_unknown_network_acl_entry_defers_to_the_sdk() -> None:
    with pytest.raises(UnknownValueError):
        run_stack(NACL_ADMIN, [Res(NACL, "new", {"ingress": [UNKNOWN_OBJECT_VALUE]})])


# ---------------------------------------------------------------------------------------------
# Robustness of the base stack policies, each with the exact property its shape allows (the pack-wide
# fuzzing is in tests/test_policy_pack.py).


@given(vpc_props=props_strategy, log_props=props_strategy, linked=st.booleans())
def test_stack_policy_never_crashes(
    vpc_props: dict[str, Any], log_props: dict[str, Any], linked: bool
) -> None:
    outcome = run_stack(
        FLOW,
        [
            Res(VPC, "v", vpc_props),
            Res(
                FLOW_LOG,
                "fl",
                {**log_props, "trafficType": "ALL"},
                prop_deps={"vpcId": ["v"]} if linked else {},
            ),
        ],
    )
    assert outcome.status == ("ok" if linked else "violation")


@given(
    group_props=props_strategy,
    rule_props=props_strategy,
    lb_props=props_strategy,
    linked=st.booleans(),
    rule_type=st.sampled_from([SG_RULE, SG_INGRESS]),
)
def test_public_web_stack_policy_never_crashes(
    group_props: dict[str, Any],
    rule_props: dict[str, Any],
    lb_props: dict[str, Any],
    linked: bool,
    rule_type: str,
) -> None:
    edges = {"securityGroupId": ["g"]} if linked else {}
    with contextlib.suppress(UnknownValueError):
        outcome = run_stack(
            SG_WEB,
            [
                Res(SG, "g", group_props),
                Res(rule_type, "r", rule_props, prop_deps=edges),
                Res(LB, "lb", lb_props, prop_deps={"securityGroups": ["g"]} if linked else {}),
            ],
        )
        assert len(outcome.violations) <= 2


FAMILY = Family(
    name="base",
    rules=(*vpc.RULES, *security_groups.RULES, *cloudwatch.RULES, *kms.RULES, *sns.RULES),
    resource_cases=RESOURCE_CASES,
    stack_cases=STACK_CASES,
    deferrals=DEFERRALS,
    preview_unknowns=PREVIEW_UNKNOWNS,
    other_types=OTHER_TYPES,
    fuzz_keys=KEYS,
    fuzz_values=INTERESTING,
)


# ---------------------------------------------------------------------------------------------
# Metadata and pack shape.


def test_pack_has_exactly_the_expected_policies() -> None:
    assert set(POLICIES) == EXPECTED_POLICIES
    assert len(build_policies()) == len(EXPECTED_POLICIES)  # no duplicates hidden by the dict


# Where each policy's `url` points: the provider's docs for what it checks.
DOCS = {
    "k8s-": "https://kubernetes.io/docs/",
    "stateful-resources-protected": "https://www.pulumi.com/docs/",
    EXEMPTIONS_POLICY: "https://www.pulumi.com/docs/",
}


@pytest.mark.parametrize("name", sorted(EXPECTED_POLICIES))
def test_policy_metadata(name: str) -> None:
    policy = POLICIES[name]
    assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", policy.name)
    assert policy.description and policy.description.strip()
    assert policy.severity is not None
    assert policy.remediation_steps and policy.remediation_steps.strip()
    # checkov / cdk-nag ids only where an equivalent check exists; never a near miss.
    assert all(
        t.startswith(("kind:", "checkov:CKV", "cdk-nag:", "fsbp:", "cis:v")) for t in policy.tags or []
    )
    docs = next(
        (url for prefix, url in DOCS.items() if name.startswith(prefix)), "https://docs.aws.amazon.com/"
    )
    assert policy.url and policy.url.startswith(docs)


def test_advisory_policies_are_the_declared_ones_and_the_rest_inherit_mandatory() -> None:
    levels = {name: p.enforcement_level for name, p in POLICIES.items()}
    for advisory in ("secretsmanager-rotation", EXEMPTIONS_POLICY):
        assert levels.pop(advisory) is EnforcementLevel.ADVISORY
    # None: the pack-level MANDATORY set in policies/__main__.py applies.
    assert set(levels.values()) == {None}
    assert {r.name for r in ALL_RULES if r.enforcement is not None} == {"secretsmanager-rotation"}


def test_only_the_cost_driven_and_protection_rules_relax_in_staging() -> None:
    relaxed = {r.name for r in ALL_RULES if r.staging_enforcement is not None}
    assert relaxed == {
        # Data tier: HA, backups and DR copies cost money staging does not spend.
        "rds-deletion-protection",
        "rds-multi-az",
        "rds-cluster-multi-az",
        "rds-backup-retention",
        "rds-cross-region-backup",
        "elasticache-automatic-failover",
        "elasticache-snapshot-retention",
        # Edge: the CDN's failover origin is a second copy of its content, in a DR region.
        "cloudfront-origin-failover",
        # Edge and protection: staging is torn down and rebuilt.
        "elb-deletion-protection",
        "stateful-resources-protected",
        # Network: interface endpoints cost an hourly fee per AZ; staging reaches AWS APIs through NAT.
        EC2_ENDPOINT,
        ECR_API,
        ECR_DKR,
    }
    assert {r.staging_enforcement for r in ALL_RULES if r.name in relaxed} == {"advisory"}


def test_bad_rule_metadata_is_rejected_at_declaration() -> None:
    with pytest.raises(ValueError, match="kebab-case.*remediation is empty"):
        ResourceRule(
            name="Bad_Name",
            description="d",
            severity="high",
            remediation=" ",
            resource_types=(TOPIC,),
            check=lambda props, ctx: compliant(),
        )


def test_every_rule_module_is_registered() -> None:
    declared = set()
    for mod in pkgutil.iter_modules(rules_pkg.__path__):
        declared |= {r.name for r in import_module(f"{rules_pkg.__name__}.{mod.name}").RULES}
    assert declared == {r.name for r in ALL_RULES}


def test_pack_imports_only_itself_pulumi_policy_and_the_stdlib() -> None:
    # Under the Pulumi CLI only requirements.txt (pulumi-policy, pulumi, grpcio) and what they require
    # (protobuf) is installed into the pack's venv.
    allowed = {"paved_policies", "pulumi_policy", "pulumi", "grpc", "google", "__future__"} | set(
        sys.stdlib_module_names
    )
    for path in POLICIES_DIR.rglob("*.py"):
        if "venv" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else ([node.module or ""] if isinstance(node, ast.ImportFrom) and node.level == 0 else [])
            )
            for name in names:
                assert name.split(".")[0] in allowed, f"{path.name} imports {name}"


def test_pack_project_files() -> None:
    manifest = yaml.safe_load((POLICIES_DIR / "PulumiPolicy.yaml").read_text())
    assert manifest["runtime"] == {"name": "python", "options": {"virtualenv": "venv"}}
    assert manifest["version"] == "0.1.0" and manifest["description"]
    requirements = (POLICIES_DIR / "requirements.txt").read_text().split()
    assert sorted(requirements) == ["grpcio==1.85.1", "pulumi-policy==1.21.0", "pulumi==3.272.0"]
    main = (POLICIES_DIR / "__main__.py").read_text()
    assert 'name="paved-aws"' in main and "EnforcementLevel.MANDATORY" in main


# ---------------------------------------------------------------------------------------------
# End to end: the pack's own __main__.py served over the analyzer gRPC protocol the CLI speaks.


@pytest.fixture(scope="module")
def analyzer() -> Iterator[Any]:
    import grpc
    from pulumi.runtime.proto import analyzer_pb2_grpc

    proc = subprocess.Popen([sys.executable, "__main__.py"], cwd=POLICIES_DIR, stdout=subprocess.PIPE)
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline())  # PolicyPack prints its port, then serves
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            yield analyzer_pb2_grpc.AnalyzerStub(channel)
    finally:
        proc.kill()
        proc.wait()


def _struct(props: Mapping[str, Any]) -> Any:
    from google.protobuf import struct_pb2

    message = struct_pb2.Struct()
    message.update(props)
    return message


def test_pack_serves_policies_over_grpc(analyzer: Any) -> None:
    from google.protobuf import empty_pb2

    info = analyzer.GetAnalyzerInfo(empty_pb2.Empty())
    assert info.name == "paved-aws"
    assert {p.name for p in info.policies} == EXPECTED_POLICIES


def test_grpc_analyze_reports_with_sdk_wording(analyzer: Any) -> None:
    from pulumi.runtime.proto import analyzer_pb2

    props = _struct(
        {
            "description": "ssh",
            "ingress": [described(ingress("tcp", 22, 22, WORLD), "ssh")],
            "egress": [],
            "tags": {"environment": "t"},
        }
    )
    request = analyzer_pb2.AnalyzeRequest(type=SG, properties=props, urn=urn_of(SG, "sg"), name="sg")
    response = analyzer.Analyze(request)
    [diag] = list(response.diagnostics)
    assert diag.policyName == SG_POLICY and diag.enforcementLevel == analyzer_pb2.MANDATORY
    assert "tcp ports 22-22 from 0.0.0.0/0" in diag.message


def test_grpc_analyze_stack_correlates_by_urn(analyzer: Any) -> None:
    from pulumi.runtime.proto import analyzer_pb2

    def res(rtype: str, name: str, props: Mapping[str, Any], **deps: list[str]) -> Any:
        return analyzer_pb2.AnalyzerResource(
            type=rtype,
            urn=urn_of(rtype, name),
            name=name,
            properties=_struct(props),
            dependencies=[u for urns in deps.values() for u in urns],
            propertyDependencies={
                prop: analyzer_pb2.AnalyzerPropertyDependencies(urns=urns) for prop, urns in deps.items()
            },
        )

    resources = [
        res(VPC, "covered", {}),
        res(VPC, "bare", {}),
        res(FLOW_LOG, "fl", {"vpcId": UNKNOWN, "trafficType": "ALL"}, vpcId=[urn_of(VPC, "covered")]),
    ]
    response = analyzer.AnalyzeStack(analyzer_pb2.AnalyzeStackRequest(resources=resources))
    flow_logs = [(d.policyName, d.urn) for d in response.diagnostics if d.policyName == FLOW]
    assert flow_logs == [(FLOW, urn_of(VPC, "bare"))]


def readme_policy_table() -> str:
    """README's policy table (`PYTHONPATH=policies uv run python -m tests.test_policy_rules` prints it)."""
    lines = [
        "| Policy | Service | What it checks | Prod | Staging | FSBP | checkov / cdk-nag |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, rule in RULES.items():
        kind = " (stack)" if isinstance(rule, StackRule) else ""
        service = rule.check.__module__.rsplit(".", 1)[-1]
        ids = f"{', '.join(rule.checkov) or '—'} / {', '.join(rule.cdk_nag) or '—'}"
        prod, staging = (enforcement_for(rule, env) or "mandatory" for env in ("prod", "staging"))
        controls = ", ".join(rule.fsbp) or "—"
        lines.append(
            f"| `{name}`{kind} | {service} | {rule.description} | {prod} | {staging} | {controls} | {ids} |"
        )
    report = POLICIES[EXEMPTIONS_POLICY]
    levels = "advisory | advisory"
    lines.append(f"| `{EXEMPTIONS_POLICY}` (stack) | pack | {report.description} | {levels} | — | — / — |")
    return "\n".join(lines) + "\n\n"


def test_readme_lists_every_policy_with_its_levels_and_ids() -> None:
    # README's policy table is the user's map onto checkov / cdk-nag; it must not drift from the code.
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    assert readme_policy_table() in readme, "README policy table should be:\n" + readme_policy_table()
    # The count above the table was hand-edited by each branch that added policies; hold it to the code too.
    assert f"It has {len(RULES)} policies today" in " ".join(readme.split())


if __name__ == "__main__":
    print(readme_policy_table(), end="")
