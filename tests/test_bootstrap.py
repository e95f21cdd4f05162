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
from tests.test_aws_names import CREATES, NOTHING_TO_CHECK, name_problems

ROOT = Path(__file__).resolve().parent.parent
BOOTSTRAP = ROOT / "bootstrap"
SHIPPED = yaml.safe_load((BOOTSTRAP / "stacks" / "Pulumi.main.yaml").read_text())["config"]


def test_githubs_oidc_provider_pins_the_sts_audience_without_a_thumbprint(bootstrap: Recording) -> None:
    provider = bootstrap.one("aws:iam/openIdConnectProvider:OpenIdConnectProvider")
    assert provider.inputs["url"] == "https://token.actions.githubusercontent.com"
    assert provider.inputs["clientIdLists"] == ["sts.amazonaws.com"]
    # IAM's model requires only the URL; AWS keeps GitHub's certificate authorities itself.
    assert "thumbprintLists" not in provider.inputs


def test_every_repository_is_scanned_on_push(bootstrap: Recording) -> None:
    scanning = bootstrap.one("aws:ecr/registryScanningConfiguration:RegistryScanningConfiguration")
    assert scanning.inputs["scanType"] == "BASIC"
    assert scanning.inputs["rules"] == [
        {"scanFrequency": "SCAN_ON_PUSH", "repositoryFilters": [{"filter": "*", "filterType": "WILDCARD"}]}
    ]


def test_enhanced_scanning_is_continuous() -> None:
    raw = {**SHIPPED, "paved:registry": {"scanning": "enhanced"}}
    recording = run_project(BOOTSTRAP, "main", config_overrides=raw)
    scanning = recording.one("aws:ecr/registryScanningConfiguration:RegistryScanningConfiguration")
    assert scanning.inputs["scanType"] == "ENHANCED"
    assert scanning.inputs["rules"][0]["scanFrequency"] == "CONTINUOUS_SCAN"
    assert recording.of_type("aws:ecr/replicationConfiguration:ReplicationConfiguration") == []


def test_prod_repositories_replicate_into_a_template_of_the_dr_region(bootstrap: Recording) -> None:
    replication = bootstrap.one("aws:ecr/replicationConfiguration:ReplicationConfiguration")
    [rule] = replication.inputs["replicationConfiguration"]["rules"]
    [destination] = rule["destinations"]
    assert destination == {"region": "eu-central-1", "registryId": bootstrap.place.account}
    assert rule["repositoryFilters"] == [{"filter": "paved-prod/", "filterType": "PREFIX_MATCH"}]
    template = bootstrap.one("aws:ecr/repositoryCreationTemplate:RepositoryCreationTemplate")
    # A template applies only to repositories created after it.
    assert template.urn in replication.dependencies
    assert template.inputs["prefix"] == "paved-prod"
    assert template.inputs["appliedFors"] == ["REPLICATION"]
    assert template.inputs["imageTagMutability"] == "IMMUTABLE"
    assert json.loads(template.inputs["lifecyclePolicy"]) == json.loads(lifecycle_policy(30))
    # The template and its key are in the destination region: a key serves repositories of its own region.
    providers = {p.urn: p for p in bootstrap.of_type("pulumi:providers:aws")}
    assert providers[template.provider_urn].inputs["region"] == "eu-central-1"
    [key] = [k for k in bootstrap.of_type("aws:kms/key:Key") if k.name == template.name]
    assert key.provider_urn == template.provider_urn and key.protect
    [encryption] = template.inputs["encryptionConfigurations"]
    assert encryption["encryptionType"] == "KMS"
    assert template.property_dependencies["encryptionConfigurations"] == [key.urn]


def test_the_templates_role_is_ecrs_and_may_use_only_its_key(bootstrap: Recording) -> None:
    template = bootstrap.one("aws:ecr/repositoryCreationTemplate:RepositoryCreationTemplate")
    [role] = [r for r in bootstrap.of_type("aws:iam/role:Role") if r.name.endswith("-template")]
    assert template.property_dependencies["customRoleArn"] == [role.urn]
    trust = json.loads(role.inputs["assumeRolePolicy"])
    assert [s["Principal"] for s in trust["Statement"]] == [{"Service": "ecr.amazonaws.com"}]
    [policy] = [p for p in bootstrap.of_type("aws:iam/rolePolicy:RolePolicy") if p.name.endswith("-template")]
    # Its policy names the key's ARN, unknown until the key exists; the role policy must exist first.
    assert policy.urn in template.dependencies
    [key] = [k for k in bootstrap.of_type("aws:kms/key:Key") if k.name == template.name]
    assert key.urn in policy.property_dependencies["policy"]


def _role(recording: Recording, name: str) -> Any:
    [role] = [r for r in recording.of_type("aws:iam/role:Role") if r.name == name]
    return role


def _trust_condition(role: Any) -> dict[str, Any]:
    [statement] = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert statement["Principal"]["Federated"].endswith(":oidc-provider/token.actions.githubusercontent.com")
    return statement["Condition"]["StringEquals"]


def _managed(recording: Recording, role: Any) -> set[str]:
    """The AWS managed policies attached to the role (a customer managed one's ARN is unknown in preview)."""
    attachments = recording.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    arns = [a.inputs["policyArn"] for a in attachments if a.name.startswith(role.name + "-")]
    return {arn.rsplit("/", 1)[1] for arn in arns if isinstance(arn, str) and ":iam::aws:policy/" in arn}


def _state_statements(recording: Recording, role: Any) -> dict[str, Any]:
    [policy] = [p for p in recording.of_type("aws:iam/rolePolicy:RolePolicy") if p.name == role.name]
    return {s["Sid"]: s for s in json.loads(policy.inputs["policy"])["Statement"]}


def test_pull_requests_and_main_get_the_read_only_preview_role(bootstrap: Recording) -> None:
    role = _role(bootstrap, "github-preview")
    assert role.inputs["name"] == "paved-github-preview"
    assert _trust_condition(role) == {
        "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
        "token.actions.githubusercontent.com:sub": [
            "repo:acme/infra:pull_request",
            "repo:acme/infra:ref:refs/heads/main",
        ],
    }
    # The trust policy names the provider, which IAM checks exists: the role waits for it.
    provider = bootstrap.one("aws:iam/openIdConnectProvider:OpenIdConnectProvider")
    assert provider.urn in role.dependencies
    assert _managed(bootstrap, role) == {"ReadOnlyAccess"}
    statements = _state_statements(bootstrap, role)
    assert set(statements) == {"StateList", "StateRead", "StateSecrets"}  # reads the state, writes nothing
    # A refresh reads each SecretVersion's value: paved's secrets, through Secrets Manager only.
    [secrets] = [p for p in bootstrap.of_type("aws:iam/policy:Policy") if p.name == "github-preview-secrets"]
    by_sid = {s["Sid"]: s for s in json.loads(secrets.inputs["policy"])["Statement"]}
    assert by_sid["StackSecretValues"]["Condition"] == {
        "StringEquals": {"aws:ResourceTag/managed-by": "paved"}
    }
    assert by_sid["StackSecretKeys"]["Condition"] == {
        "StringLike": {"kms:ViaService": "secretsmanager.*.amazonaws.com"}
    }
    assert secrets.inputs["tags"]["paved:exempt"] == "iam-policy-no-kms-decrypt-all-keys"
    assert statements["StateRead"]["Resource"] == "arn:aws:s3:::acme-pulumi-state/.pulumi/*"
    assert statements["StateSecrets"] == {
        "Sid": "StateSecrets",
        "Effect": "Allow",
        "Action": "kms:Decrypt",
        "Resource": SHIPPED["paved:github"]["stateKeyArn"],
    }


@pytest.mark.parametrize("environment", ["staging", "prod"])
def test_each_environment_gets_a_deploy_role_only_its_jobs_assume(
    bootstrap: Recording, environment: str
) -> None:
    role = _role(bootstrap, f"github-deploy-{environment}")
    assert role.inputs["name"] == f"paved-github-deploy-{environment}"
    assert _trust_condition(role)["token.actions.githubusercontent.com:sub"] == [
        f"repo:acme/infra:environment:{environment}"
    ]
    assert _managed(bootstrap, role) == {"PowerUserAccess", "IAMFullAccess"}
    write = _state_statements(bootstrap, role)["StateWrite"]
    assert write["Action"] == ["s3:PutObject", "s3:DeleteObject"]
    assert {resource.split("/.pulumi/")[1] for resource in write["Resource"]} == {
        "locks/*",
        "stacks/*",
        "history/*",
        "backups/*",
    }


def test_bootstrap_names_are_ones_aws_takes_and_the_pack_passes_it(bootstrap: Recording) -> None:
    assert name_problems(bootstrap) == []
    # Every AWS type it declares is either checked against its create operation or says why not.
    declared = {r.type for r in bootstrap.resources if r.type.startswith("aws:")}
    assert declared - set(CREATES) - set(NOTHING_TO_CHECK) == set()
    context = StackContext(
        project="paved-bootstrap", stack="main", organization="o", config={}, secret_keys=frozenset()
    )
    result = analyze_with_pack(ROOT / "policies", bootstrap, context)
    assert [v for v in result.violations if v.level == "mandatory"] == []
    # The roles' trust policies are known in preview (the provider's ARN built from the account), so the
    # pack judges them rather than deferring: no GitHub trust finding of any kind.
    assert [v for v in result.violations if v.policy == "iam-github-oidc-trust-pinned"] == []
    # The runners, judged by the CodeBuild family: nothing to report, at any level.
    assert [v for v in result.violations if v.policy.startswith("codebuild-")] == []


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
        (
            {"paved:github": {"repository": "acme", "stateBucket": "s", "stateKeyArn": "alias/state"}},
            ["paved:github.repository", "paved:github.stateBucket", "paved:github.stateKeyArn"],
        ),
    ],
)
def test_bad_bootstrap_config_is_one_error_listing_every_problem(
    changes: dict[str, Any], paths: list[str]
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_bootstrap_config({**SHIPPED, **changes}, "main")
    assert [problem.path for problem in caught.value.problems] == paths
    assert all(problem.hint for problem in caught.value.problems)


# --- Application Signals (paved:applicationSignals): the account's data log group, its key, discovery ---


def test_application_signals_data_group_is_kept_and_encrypted_with_a_key_for_it_alone(
    bootstrap: Recording,
) -> None:
    [group] = [
        g
        for g in bootstrap.of_type("aws:cloudwatch/logGroup:LogGroup")
        if g.inputs["name"] == "/aws/application-signals/data"
    ]
    assert group.inputs["retentionInDays"] == SHIPPED["paved:applicationSignals"]["logRetentionDays"]
    [key] = [k for k in bootstrap.of_type("aws:kms/key:Key") if k.name == "application-signals-logs"]
    assert group.property_dependencies["kmsKeyId"] == [key.urn]
    assert key.inputs["enableKeyRotation"] is True
    assert group.protect and key.protect and group.inputs["deletionProtectionEnabled"] is True
    statements = {s["Sid"]: s for s in json.loads(key.inputs["policy"])["Statement"]}
    service = statements["ServiceUse"]
    assert service["Principal"] == {"Service": [f"logs.{bootstrap.place.region}.amazonaws.com"]}
    assert service["Action"] == [
        "kms:Encrypt*",
        "kms:Decrypt*",
        "kms:ReEncrypt*",
        "kms:GenerateDataKey*",
        "kms:Describe*",
    ]
    assert service["Condition"] == {
        "ArnLike": {
            "kms:EncryptionContext:aws:logs:arn": (
                f"arn:aws:logs:{bootstrap.place.region}:{bootstrap.place.account}"
                ":log-group:/aws/application-signals/data"
            )
        }
    }


def test_application_signals_discovery_is_the_cloudformation_type_with_no_properties(
    bootstrap: Recording,
) -> None:
    discovery = bootstrap.one("aws:cloudcontrol/resource:Resource")
    assert discovery.inputs["typeName"] == "AWS::ApplicationSignals::Discovery"
    assert json.loads(discovery.inputs["desiredState"]) == {}


def test_application_signals_is_off_unless_asked_for() -> None:
    raw = {key: value for key, value in SHIPPED.items() if key != "paved:applicationSignals"}
    assert load_bootstrap_config(raw, "main").application_signals.enabled is False
    # Overrides merge into the shipped file: an empty section takes every default.
    recording = run_project(BOOTSTRAP, "main", config_overrides={**SHIPPED, "paved:applicationSignals": {}})
    assert recording.of_type("aws:cloudcontrol/resource:Resource") == []
    assert [
        g
        for g in recording.of_type("aws:cloudwatch/logGroup:LogGroup")
        if g.inputs["name"] == "/aws/application-signals/data"
    ] == []
