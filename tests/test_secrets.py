"""Keys, the disaster-recovery region and secrets (components/secrets.py), run per stack under first-preview
semantics.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from paved.recorder import Recording
from paved.values import is_secret, is_unknown
from tests.data_tier import (
    ACCOUNT,
    AWS_PROVIDER,
    BACKUPS_REPLICATION,
    DR_PROVIDER,
    DR_REGION,
    KEY,
    RANDOM_PASSWORD,
    SECRET,
    SECRET_VERSION,
    STACKS,
    VAULT,
    VAULT_LOCK,
    key_urn,
    primary_instance,
    recording_of,
)
from tests.stack_config import problems_of, shipped


def _walk(value: Any) -> Iterator[Any]:
    yield value
    if is_secret(value):
        return
    if isinstance(value, dict):
        for item in value.values():
            yield from _walk(item)
    elif isinstance(value, list):
        for item in value:
            yield from _walk(item)


def test_dr_provider_points_at_the_dr_region(prod: Recording, staging: Recording) -> None:
    dr = prod.one(AWS_PROVIDER, "dr")
    assert dr.inputs["region"] == DR_REGION
    assert not [p for p in staging.of_type(AWS_PROVIDER) if p.name == "dr"]


def test_dr_resources_use_the_dr_provider_and_key(prod: Recording) -> None:
    # KMS keys are regional; copies in the DR region are encrypted with a key of that region:
    # https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_ReplicateBackups.html
    data_dr = prod.one(KEY, "data-dr")
    replication = prod.one(BACKUPS_REPLICATION)
    assert DR_PROVIDER in replication.provider
    assert replication.property_dependencies["kmsKeyId"] == [data_dr.urn]
    assert replication.property_dependencies["sourceDbInstanceArn"] == [primary_instance(prod).urn]
    assert replication.inputs["retentionPeriod"] == 35
    dr_vault = prod.one(VAULT, "backup-dr")
    assert DR_PROVIDER in dr_vault.provider
    assert dr_vault.property_dependencies["kmsKeyArn"] == [data_dr.urn]
    assert DR_PROVIDER in prod.one(VAULT_LOCK, "backup-dr").provider
    for name in ("data-dr", "secrets-dr"):
        assert DR_PROVIDER in prod.one(KEY, name).provider


def test_primary_region_resources_do_not_use_the_dr_provider(prod: Recording) -> None:
    # cdn-assets-dr is the assets replica CloudFront fails over to (tests/test_cdn.py); s3-access-logs-dr
    # takes its S3 server access logs (tests/test_stack.py); the *-job-failed-dr rules forward AWS Backup's
    # failures there to the alerts topic's region (tests/test_backup.py); dr* is the pilot light a DR
    # restore lands in (tests/test_disaster_recovery.py).
    dr_names = {
        "dr",
        "dr-default",
        "dr-isolated-1",
        "dr-isolated-2",
        "dr-isolated-3",
        "dr-flow-logs",
        "dr-database",
        "backup-job-failed-dr",
        "copy-job-failed-dr",
        "restore-job-failed-dr",
        "data-dr",
        "secrets-dr",
        "database-backups-dr",
        "backup-dr",
        "cdn-assets-dr",
        "s3-access-logs-dr",
    }
    on_dr = {r.name for r in prod.resources if DR_PROVIDER in r.provider}
    assert on_dr == dr_names
    for name in ("data", "secrets", "logs", "alerts"):
        assert "::default_" in prod.one(KEY, name).provider
    assert (
        "::default_" in primary_instance(prod).provider and "::default_" in prod.one(VAULT, "backup").provider
    )


@pytest.mark.parametrize(("stack", "recovery_days"), [("prod", 30), ("staging", 7)])
def test_every_secret_is_encrypted_and_kept_in_the_account(
    stack: str, recovery_days: int, request: pytest.FixtureRequest
) -> None:
    recording = recording_of(request, stack)
    secrets = recording.of_type(SECRET)
    assert len(secrets) >= 4
    for secret in secrets:
        assert secret.property_dependencies["kmsKeyId"] == [key_urn(recording, "secrets")], secret.name
        # Secrets Manager keeps a deleted secret recoverable for 7 to 30 days.
        assert secret.inputs["recoveryWindowInDays"] == recovery_days
        assert secret.inputs["name"].startswith(f"{stack}/")
        # https://docs.aws.amazon.com/secretsmanager/latest/userguide/auth-and-access_examples.html
        [deny] = [s for s in json.loads(secret.inputs["policy"])["Statement"] if s["Effect"] == "Deny"]
        assert deny["Principal"] == "*"
        assert deny["Condition"]["StringNotEquals"] == {"aws:PrincipalAccount": ACCOUNT}


def test_prod_secrets_replicate_to_the_dr_region_with_its_key(prod: Recording) -> None:
    secrets_dr = key_urn(prod, "secrets-dr")
    for secret in prod.of_type(SECRET):
        [replica] = secret.inputs["replicas"]
        assert replica["region"] == DR_REGION
        assert "kmsKeyId" in replica
        assert secret.property_dependencies["replicas"] == [secrets_dr]


def test_staging_secrets_have_no_replica(staging: Recording) -> None:
    assert all(not secret.inputs.get("replicas") for secret in staging.of_type(SECRET))


@pytest.mark.parametrize("stack", STACKS)
def test_app_secret_values_by_source(stack: str, request: pytest.FixtureRequest) -> None:
    recording = recording_of(request, stack)
    versions = {v.property_dependencies["secretId"][0]: v for v in recording.of_type(SECRET_VERSION)}
    jwt, redis = (recording.one(SECRET, n) for n in ("jwt-secret", "redis-url"))
    assert jwt.inputs["name"] == f"{stack}/app/JWT_SECRET"
    generator = recording.one(RANDOM_PASSWORD, "jwt-secret")
    assert generator.inputs["length"] == 64
    assert is_secret(versions[jwt.urn].inputs["secretStringWo"])
    assert versions[jwt.urn].property_dependencies["secretStringWo"] == [generator.urn]
    redis_value = versions[redis.urn].inputs["secretString"]
    assert is_secret(redis_value)
    assert (
        recording.one(RANDOM_PASSWORD, "cache-auth-token").urn
        in (versions[redis.urn].property_dependencies["secretString"])
    )


@pytest.mark.parametrize("stack", STACKS)
def test_generated_values_only_reach_secret_inputs(stack: str, request: pytest.FixtureRequest) -> None:
    recording = recording_of(request, stack)
    generators = {r.urn for r in recording.of_type(RANDOM_PASSWORD)}
    assert generators
    flows = [
        (resource, key)
        for resource in recording.resources
        for key, deps in resource.property_dependencies.items()
        if generators & set(deps)
    ]
    assert len(flows) >= 4
    for resource, key in flows:
        # A generated value may sit inside a larger input (a listener rule's header condition): then the
        # engine marks that nested value secret, which is what must hold.
        assert any(is_secret(part) for part in _walk(resource.inputs[key])), (
            f"{resource.name}.{key} carries a generated value in plain"
        )
    for resource in recording.resources:
        for key in ("passwordWo", "authTokenWo", "secretStringWo", "secretString"):
            if key in resource.inputs:
                assert is_secret(resource.inputs[key]) or is_unknown(resource.inputs[key])


@pytest.mark.parametrize("stack", STACKS)
def test_stack_outputs_hold_no_secret(stack: str, request: pytest.FixtureRequest) -> None:
    outputs = recording_of(request, stack).stack_outputs
    assert "database_master_secret_arn" in outputs and "cache_primary_endpoint" in outputs
    assert not [value for value in _walk(outputs) if is_secret(value)]
    assert not [key for key in outputs if re.search(r"password|token|url$", key, re.IGNORECASE)]


def test_undeclared_app_secret_is_rejected_at_its_position() -> None:
    raw = shipped("staging")
    api = next(index for index, app in enumerate(raw["paved:apps"]) if app["name"] == "api")
    raw["paved:apps"][api]["secrets"] = [*raw["paved:apps"][api]["secrets"], "STRIPE_KEY"]
    position = len(raw["paved:apps"][api]["secrets"]) - 1
    problems = [p for p in problems_of(raw, "staging") if "STRIPE_KEY" in p.message]
    assert [p.path for p in problems] == [f"paved:apps[{api}].secrets[{position}]"]


@pytest.mark.parametrize("stack", STACKS)
def test_every_secret_says_how_it_rotates(stack: str, request: pytest.FixtureRequest) -> None:
    # No rotation Lambda applies to paved's secrets; the tag is the documented reason the
    # secretsmanager-rotation policy accepts instead.
    recording = recording_of(request, stack)
    rotations = {r.name: r.inputs["tags"].get("paved:rotation", "") for r in recording.of_type(SECRET)}
    assert rotations and all(reason.strip() for reason in rotations.values()), rotations
    assert rotations["jwt-secret"] == "raise paved:secrets.JWT_SECRET.version"
    assert all(
        reason.startswith("raise paved:apps[name=") and reason.endswith("].database.passwordVersion")
        for name, reason in rotations.items()
        if "-database-user-" in name
    )
