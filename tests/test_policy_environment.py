"""Environment-aware enforcement: the pack reads which stack it judges and downgrades cost-driven rules."""

from __future__ import annotations

import json

import pytest
from paved_policies.environment import detect
from paved_policies.framework import enforcement_for, to_policy
from paved_policies.rule import ResourceRule, compliant
from pulumi_policy import EnforcementLevel


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"PULUMI_CONFIG": json.dumps({"paved:environment": "staging"}), "PULUMI_STACK": "prod"}, "staging"),
        ({"PULUMI_CONFIG": json.dumps({"paved:environment": "prod"}), "PULUMI_STACK": "dev"}, "prod"),
        ({"PULUMI_STACK": "acme-production"}, "prod"),
        ({"PULUMI_STACK": "Prod-eu"}, "prod"),
        ({"PULUMI_STACK": "staging"}, "staging"),
        ({"PULUMI_STACK": "dev", "PULUMI_CONFIG": "not json"}, "staging"),
        ({"PULUMI_CONFIG": json.dumps({"paved:environment": "qa"}), "PULUMI_STACK": "qa"}, "staging"),
        ({}, "prod"),
    ],
)
def test_environment_comes_from_paved_config_then_the_stack_name(
    environ: dict[str, str], expected: str
) -> None:
    assert detect(environ) == expected


def _rule(**levels: str) -> ResourceRule:
    return ResourceRule(
        name="demo-multi-az",
        description="demo",
        severity="medium",
        remediation="turn it on",
        resource_types=("aws:rds/instance:Instance",),
        check=lambda props, ctx: compliant(),
        checkov=("CKV_AWS_157",),
        **levels,  # type: ignore[arg-type]
    )


def test_staging_downgrades_only_rules_that_say_so() -> None:
    ha = _rule(staging_enforcement="advisory")
    plain = _rule()
    assert enforcement_for(ha, "prod") is None  # the pack default: mandatory
    assert enforcement_for(ha, "staging") == "advisory"
    assert enforcement_for(plain, "staging") is None
    assert to_policy(ha, "staging").enforcement_level == EnforcementLevel.ADVISORY
    assert to_policy(ha, "prod").enforcement_level is None


def test_an_explicit_level_holds_in_prod_and_staging_can_still_override_it() -> None:
    advisory_everywhere = _rule(enforcement="advisory")
    assert enforcement_for(advisory_everywhere, "staging") == "advisory"
    relaxed_in_staging = _rule(enforcement="mandatory", staging_enforcement="advisory")
    assert enforcement_for(relaxed_in_staging, "prod") == "mandatory"
    assert enforcement_for(relaxed_in_staging, "staging") == "advisory"
