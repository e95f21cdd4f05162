"""All rules, one module per service family. Add a family by importing its RULES here."""

from __future__ import annotations

from typing import Any

from paved_policies.rule import Rule
from paved_policies.rules import (
    acm,
    backup,
    cloudfront,
    cloudwatch,
    codebuild,
    ec2,
    ecr,
    eks,
    elasticache,
    elb_classic,
    elbv2,
    iam_policies,
    kms,
    kubernetes,
    protection,
    rds,
    s3,
    secretsmanager,
    security_groups,
    sns,
    tags,
    vpc,
    waf_classic,
    wafv2,
    wiring,
)

ALL_RULES: tuple[Rule[Any], ...] = (
    *vpc.RULES,
    *security_groups.RULES,
    *ec2.RULES,
    *cloudwatch.RULES,
    *iam_policies.RULES,
    *kms.RULES,
    *sns.RULES,
    *rds.RULES,
    *elasticache.RULES,
    *secretsmanager.RULES,
    *backup.RULES,
    *s3.RULES,
    *elbv2.RULES,
    *elb_classic.RULES,
    *acm.RULES,
    *wafv2.RULES,
    *waf_classic.RULES,
    *cloudfront.RULES,
    *ecr.RULES,
    *codebuild.RULES,
    *eks.RULES,
    *kubernetes.RULES,
    *tags.RULES,
    *protection.RULES,
    *wiring.RULES,
)
