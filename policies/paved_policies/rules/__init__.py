"""All rules, one module per service family. Add a family by importing its RULES here."""

from __future__ import annotations

from typing import Any

from paved_policies.rule import Rule
from paved_policies.rules import (
    backup,
    cloudwatch,
    elasticache,
    kms,
    rds,
    secretsmanager,
    security_groups,
    sns,
    vpc,
)

ALL_RULES: tuple[Rule[Any], ...] = (
    *vpc.RULES,
    *security_groups.RULES,
    *cloudwatch.RULES,
    *kms.RULES,
    *sns.RULES,
    *rds.RULES,
    *elasticache.RULES,
    *secretsmanager.RULES,
    *backup.RULES,
)
