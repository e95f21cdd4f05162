"""The bootstrap program (bootstrap/, components/account.py): the account's GitHub OIDC provider and its ECR
registry settings, run offline like the app stacks, their inputs read as the engine records them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.registry import lifecycle_policy
from paved.analyzer import StackContext, analyze_with_pack
from paved.bootstrap_config import load_bootstrap_config
from paved.errors import ConfigError
from paved.program import run_project
from paved.recorder import Recording
from tests.test_aws_names import name_problems

ROOT = Path(__file__).resolve().parent.parent
BOOTSTRAP = ROOT / "bootstrap"
SHIPPED = yaml.safe_load((BOOTSTRAP / "stacks" / "Pulumi.main.yaml").read_text())["config"]


@pytest.fixture(scope="module")
def bootstrap() -> Recording:
    return run_project(BOOTSTRAP, "main")


def _one(recording: Recording, type_: str) -> Any:
    [resource] = recording.of_type(type_)
    return resource


def test_githubs_oidc_provider_pins_the_sts_audience_without_a_thumbprint(bootstrap: Recording) -> None:
    provider = _one(bootstrap, "aws:iam/openIdConnectProvider:OpenIdConnectProvider")
    assert provider.inputs["url"] == "https://token.actions.githubusercontent.com"
    assert provider.inputs["clientIdLists"] == ["sts.amazonaws.com"]
    # IAM's model requires only the URL; AWS keeps GitHub's certificate authorities itself.
    assert "thumbprintLists" not in provider.inputs


def test_every_repository_is_scanned_on_push(bootstrap: Recording) -> None:
    scanning = _one(bootstrap, "aws:ecr/registryScanningConfiguration:RegistryScanningConfiguration")
    assert scanning.inputs["scanType"] == "BASIC"
    assert scanning.inputs["rules"] == [
        {"scanFrequency": "SCAN_ON_PUSH", "repositoryFilters": [{"filter": "*", "filterType": "WILDCARD"}]}
    ]


def test_enhanced_scanning_is_continuous() -> None:
    raw = {**SHIPPED, "paved:registry": {"scanning": "enhanced"}}
    recording = run_project(BOOTSTRAP, "main", config_overrides=raw)
    scanning = _one(recording, "aws:ecr/registryScanningConfiguration:RegistryScanningConfiguration")
    assert scanning.inputs["scanType"] == "ENHANCED"
    assert scanning.inputs["rules"][0]["scanFrequency"] == "CONTINUOUS_SCAN"
    assert recording.of_type("aws:ecr/replicationConfiguration:ReplicationConfiguration") == []


def test_prod_repositories_replicate_into_a_template_of_the_dr_region(bootstrap: Recording) -> None:
    replication = _one(bootstrap, "aws:ecr/replicationConfiguration:ReplicationConfiguration")
    [rule] = replication.inputs["replicationConfiguration"]["rules"]
    [destination] = rule["destinations"]
    assert destination == {"region": "eu-central-1", "registryId": bootstrap.place.account}
    assert rule["repositoryFilters"] == [{"filter": "paved-prod/", "filterType": "PREFIX_MATCH"}]
    template = _one(bootstrap, "aws:ecr/repositoryCreationTemplate:RepositoryCreationTemplate")
    # A template applies only to repositories created after it.
    assert template.urn in replication.dependencies
    assert template.inputs["prefix"] == "paved-prod"
    assert template.inputs["appliedFors"] == ["REPLICATION"]
    assert template.inputs["imageTagMutability"] == "IMMUTABLE"
    assert json.loads(template.inputs["lifecyclePolicy"]) == json.loads(lifecycle_policy(30))
    # The template and its key are in the destination region: a key serves repositories of its own region.
    providers = {p.urn: p for p in bootstrap.of_type("pulumi:providers:aws")}
    assert providers[template.provider_urn].inputs["region"] == "eu-central-1"
    [key] = [k for k in bootstrap.of_type("aws:kms/key:Key")]
    assert key.provider_urn == template.provider_urn and key.protect
    [encryption] = template.inputs["encryptionConfigurations"]
    assert encryption["encryptionType"] == "KMS"
    assert template.property_dependencies["encryptionConfigurations"] == [key.urn]


def test_the_templates_role_is_ecrs_and_may_use_only_its_key(bootstrap: Recording) -> None:
    template = _one(bootstrap, "aws:ecr/repositoryCreationTemplate:RepositoryCreationTemplate")
    role = _one(bootstrap, "aws:iam/role:Role")
    assert template.property_dependencies["customRoleArn"] == [role.urn]
    trust = json.loads(role.inputs["assumeRolePolicy"])
    assert [s["Principal"] for s in trust["Statement"]] == [{"Service": "ecr.amazonaws.com"}]
    policy = _one(bootstrap, "aws:iam/rolePolicy:RolePolicy")
    # Its policy names the key's ARN, unknown until the key exists; the role policy must exist first.
    assert policy.urn in template.dependencies
    key = _one(bootstrap, "aws:kms/key:Key")
    assert key.urn in policy.property_dependencies["policy"]


def test_bootstrap_names_are_ones_aws_takes_and_the_pack_passes_it(bootstrap: Recording) -> None:
    assert name_problems(bootstrap) == []
    context = StackContext(
        project="paved-bootstrap", stack="main", organization="o", config={}, secret_keys=frozenset()
    )
    result = analyze_with_pack(ROOT / "policies", bootstrap, context)
    assert [v for v in result.violations if v.level == "mandatory"] == []


@pytest.mark.parametrize(
    ("changes", "paths"),
    [
        (
            {
                "paved:registry": {
                    "scanning": "basic",
                    "replicate": [{"prefix": "paved-prod", "region": "eu-west-1"}],
                }
            },
            ["paved:registry.replicate[0].region"],
        ),
        (
            {
                "paved:registry": {
                    "scanning": "full",
                    "replicate": [{"prefix": "Paved_Prod", "region": "eu-central-1"}],
                }
            },
            ["paved:registry.scanning", "paved:registry.replicate[0].prefix"],
        ),
        ({"paved:registy": {}}, ["paved:registy"]),
    ],
)
def test_bad_bootstrap_config_is_one_error_listing_every_problem(
    changes: dict[str, Any], paths: list[str]
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_bootstrap_config({**SHIPPED, **changes}, "main")
    assert [problem.path for problem in caught.value.problems] == paths
    assert all(problem.hint for problem in caught.value.problems)
