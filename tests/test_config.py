"""The loader (paved/config.py): stack files and Pulumi runtime config into one StackConfig, every problem at
once; the rules of the top-level keys; the README documents every key.
"""

import json
import re
from pathlib import Path
from typing import Any

import pulumi
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pulumi.runtime import config as pulumi_config

from components.backup import BackupArgs
from components.cache import CacheAlarms, CacheArgs
from components.certificates import DomainArgs
from components.cluster import ClusterAlarms, ClusterArgs, DeployerArgs, SpotNodes
from components.database import DatabaseAlarms, DatabaseArgs
from components.edge import EdgeAlarms, EdgeArgs
from components.email import EmailAlarms, EmailArgs
from components.nats import NatsAlarms, NatsArgs
from components.network import NetworkAlarms, NetworkArgs
from components.observability import AlarmRule, AlertsArgs
from components.registry import RegistryArgs
from components.secrets import SecretArgs
from components.uploads import UploadsArgs, UploadsLifecycle
from components.workload import (
    AppAlarms,
    AppArgs,
    AppDatabase,
    AppSlo,
    HealthPaths,
    PodDisruptionBudget,
    Replicas,
    Resources,
)
from paved.config import SECTION_KEYS, load_from_pulumi, load_stack_config, load_stack_file
from paved.errors import ConfigError
from paved.presets import APP_PRESETS
from tests.stack_config import (
    ROOT,
    Mutation,
    assert_rule_reports_path_and_hint,
    case,
    changed,
    paths_of,
    section,
    shipped,
    with_app,
    without,
)

US_EAST_1_CERT = "arn:aws:acm:us-east-1:123456789012:certificate/12345678-1234-1234-1234-123456789012"
EU_WEST_1_CERT = "arn:aws:acm:eu-west-1:123456789012:certificate/12345678-1234-1234-1234-123456789012"


# --- shipped stack files and how they load ---------------------------------------------------------------


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_shipped_stack_files_load(stack: str) -> None:
    config = load_stack_file(ROOT / "stacks" / f"Pulumi.{stack}.yaml", stack)
    assert config.environment == stack
    assert config.region == "eu-west-1"
    assert [app.name for app in config.apps] == ["web", "api", "worker"]
    assert config.is_prod == (stack == "prod")


def test_prod_stack_file_content() -> None:
    config = load_stack_file(ROOT / "stacks" / "Pulumi.prod.yaml", "prod")
    web, api, worker = config.apps
    assert config.dr_region == "eu-central-1"
    assert config.domain.hosted_zone_id == "Z0123456789ABCDEFGHIJ"
    assert config.alerts.emails == ["ops@example.com"]
    assert (web.public_path, web.host) == ("/*", "app.example.com")
    assert (api.public_path, api.websocket) == ("/api/*", True)
    assert not worker.is_public and worker.replicas is not None
    assert worker.replicas.min == APP_PRESETS["prod"]["service"]["replicas"]["min"]
    assert worker.health_paths == HealthPaths(
        startup="/health", readiness="/health/ready", liveness="/health/live"
    )


def test_effective_tags_include_environment_and_user_tags() -> None:
    prod = load_stack_file(ROOT / "stacks" / "Pulumi.prod.yaml", "prod")
    assert prod.tags == {
        "environment": "prod",
        "managed-by": "paved",
        "team": "platform",
        "cost-center": "1234",
    }


def test_other_namespaces_are_ignored() -> None:
    raw = {**shipped("staging"), "aws:profile": "dev", "kubernetes:context": "x", "pulumi:tags": "{}"}
    assert load_stack_config(raw, "staging") == load_stack_config(shipped("staging"), "staging")


def test_json_strings_parse_like_dicts() -> None:
    as_runtime = {
        key: json.dumps(value) if isinstance(value, dict | list) else value
        for key, value in shipped("prod").items()
    }
    assert isinstance(as_runtime["paved:apps"], str)
    assert load_stack_config(as_runtime, "prod") == load_stack_config(shipped("prod"), "prod")


def test_scalar_strings_are_coerced() -> None:
    raw = changed(shipped("prod"), {"paved:database": {"allocatedStorage": "300", "multiAz": "true"}})
    config = load_stack_config(
        {key: json.dumps(v) if isinstance(v, dict | list) else v for key, v in raw.items()}, "prod"
    )
    assert (config.database.allocated_storage, config.database.multi_az) == (300, True)


def test_load_from_pulumi_reads_runtime_config(monkeypatch: pytest.MonkeyPatch) -> None:
    runtime = {
        key: json.dumps(value) if isinstance(value, dict | list) else value
        for key, value in shipped("prod").items()
    }
    monkeypatch.setenv("PULUMI_CONFIG", json.dumps({"aws:region": "us-west-2"}))
    monkeypatch.setattr(pulumi, "get_stack", lambda: "prod")
    token = pulumi_config.CONFIG.set(runtime)
    try:
        config = load_from_pulumi()
    finally:
        pulumi_config.CONFIG.reset(token)
    assert config.region == "eu-west-1"  # explicitly set config wins over the PULUMI_CONFIG fallback
    assert config.environment == "prod"


def test_load_from_pulumi_reads_language_host_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PULUMI_CONFIG", json.dumps(shipped("staging")))
    monkeypatch.setattr(pulumi, "get_stack", lambda: "staging")
    assert load_from_pulumi().environment == "staging"


def test_stack_file_without_config_map(tmp_path: Path) -> None:
    path = tmp_path / "Pulumi.x.yaml"
    path.write_text("config: [1]\n")
    with pytest.raises(ConfigError, match="must be a map"):
        load_stack_file(path, "x")


# --- one failing case per rule of the top-level keys; each section's cases sit in its component's tests ---

RULE_CASES = [
    case("prod", lambda raw: without(raw, "aws:region"), "aws:region", "region-required"),
    case("prod", section("aws:region", "eu-west"), "aws:region", "region-pattern"),
    case("prod", lambda raw: without(raw, "paved:environment"), "paved:environment", "environment-required"),
    case("prod", section("paved:environment", "dev"), "paved:environment", "environment-values"),
    case("staging", section("paved:drRegion", "central"), "paved:drRegion", "dr-region-pattern"),
    case("prod", section("paved:apps", {"web": {}}), "paved:apps", "apps-list"),
]


@pytest.mark.parametrize(("stack", "mutation", "path"), RULE_CASES)
def test_rule_reports_path_and_hint(stack: str, mutation: Mutation, path: str) -> None:
    assert_rule_reports_path_and_hint(stack, mutation, path)


# --- reporting ---------------------------------------------------------------------------------------------


def test_every_problem_is_reported_in_one_error() -> None:
    raw = changed(
        shipped("prod"),
        {
            "aws:region": "nowhere",
            "paved:network": {"azCount": 2, "cidr": "10.0.0.0/8"},
            "paved:database": {"backupRetentionDays": 40},
            "paved:cache": {"multiAz": False},
            "paved:cluster": {"nodeDesired": 100},
            "paved:edge": {"rateLimitPerIp": 1},
            "paved:tags": {"managed-by": "me"},
            "paved:foo": 1,
        },
    )
    raw = with_app(with_app(raw, 0, {"image": "web"}), 2, {"websocket": True})
    assert set(paths_of(raw, "prod")) == {
        "aws:region",
        "paved:network.cidr",
        "paved:network.azCount",  # a prod rule, judged although cidr failed in the same section
        "paved:database.backupRetentionDays",
        "paved:cache.multiAz",
        "paved:cluster.nodeDesired",
        "paved:edge.rateLimitPerIp",
        "paved:tags.managed-by",
        "paved:foo",
        "paved:apps[0].image",
        "paved:apps[2].websocket",
    }


def test_rules_run_even_when_other_sections_fail() -> None:
    raw = changed(
        shipped("prod"),
        {
            "paved:network": {"cidr": "bad"},
            "paved:database": {"allocatedStorage": 500, "maxAllocatedStorage": 100},
        },
    )
    raw = with_app(with_app(raw, 0, {"port": "http"}), 1, {"name": "worker"})
    paths = paths_of(raw, "prod")
    assert "paved:network.cidr" in paths
    assert "paved:database.maxAllocatedStorage" in paths  # a section rule
    assert "paved:apps[0].port" in paths
    assert "paved:apps[2].name" in paths  # a stack-level rule across apps, though app 0 failed


def test_rules_run_with_an_invalid_environment() -> None:
    raw = changed(shipped("prod"), {"paved:environment": "production", "paved:cluster": {"nodeDesired": 100}})
    assert paths_of(raw, "prod") == ["paved:environment", "paved:cluster.nodeDesired"]


# --- documentation -----------------------------------------------------------------------------------------


def test_reference_documents_every_key() -> None:
    reference = (ROOT / "README.md").read_text()
    models = [
        DomainArgs,
        AlertsArgs,
        NetworkArgs,
        DatabaseArgs,
        DatabaseAlarms,
        CacheArgs,
        CacheAlarms,
        BackupArgs,
        RegistryArgs,
        SecretArgs,
        ClusterArgs,
        DeployerArgs,
        SpotNodes,
        EdgeArgs,
        AppArgs,
        AppDatabase,
        HealthPaths,
        Replicas,
        Resources,
        PodDisruptionBudget,
        AlarmRule,
        EdgeAlarms,
        ClusterAlarms,
        NetworkAlarms,
        AppAlarms,
        AppSlo,
        NatsArgs,
        NatsAlarms,
        UploadsArgs,
        UploadsLifecycle,
        EmailArgs,
        EmailAlarms,
    ]
    keys = {field.alias for model in models for field in model.model_fields.values()}
    keys |= {f"paved:{key}" for key in SECTION_KEYS} | {"aws:region"}
    missing = sorted(
        key for key in keys if not re.search(rf"`[^`]*\b{re.escape(str(key))}\b[^`]*`", reference)
    )
    assert missing == []


# --- property: any mutation either loads or raises ConfigError ---------------------------------------------

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**40), max_value=2**40),
    st.floats(allow_nan=True),
    st.text(max_size=12),
    st.sampled_from(
        ["", "latest", "0.0.0.0/0", "true", "17", "{", "[1,", "{}", "prod", "perAz", "/x", "1Gi"]
    ),
)
values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children, max_size=3)
    ),
    max_leaves=6,
)


def _mutate(node: Any, data: st.DataObject, top_level: bool) -> None:
    """Descend to a random dict or list inside `node`, then set, add or delete one entry there."""
    children = [key for key, child in _entries(node) if isinstance(child, dict | list) and child]
    if children and data.draw(st.booleans()):
        _mutate(node[data.draw(st.sampled_from(children))], data, top_level=False)
        return
    existing = [key for key, _ in _entries(node)]
    new_key = st.text(max_size=10).map(lambda text: f"paved:{text}" if top_level else text)
    key = data.draw(
        st.sampled_from(existing) | new_key if isinstance(node, dict) else st.sampled_from(existing)
    )
    if existing and data.draw(st.integers(0, 4)) == 0:
        del node[key if key in existing else existing[0]]
    else:
        node[key] = data.draw(values)


def _entries(node: Any) -> list[tuple[Any, Any]]:
    return list(node.items()) if isinstance(node, dict) else list(enumerate(node))


@given(stack=st.sampled_from(["staging", "prod"]), data=st.data())
def test_random_mutations_load_or_raise_config_error(stack: str, data: st.DataObject) -> None:
    raw = shipped(stack)
    for _ in range(data.draw(st.integers(1, 3))):
        _mutate(raw, data, top_level=True)
    try:
        config = load_stack_config(raw, stack)
    except ConfigError as error:
        assert error.problems
        for problem in error.problems:
            assert problem.path.startswith(("paved:", "aws:")), problem
            assert problem.message and problem.hint, problem
    else:
        assert config.environment in ("staging", "prod")


def test_an_app_with_four_errors_shows_four() -> None:
    raw = with_app(
        shipped("prod"),
        0,
        {"port": 70000, "image": "web:latest", "replicas": {"min": 0}, "resources": {"cpuRequest": "lots"}},
    )
    assert sorted(paths_of(raw, "prod")) == [
        "paved:apps[0].image",
        "paved:apps[0].port",
        "paved:apps[0].replicas.min",
        "paved:apps[0].resources.cpuRequest",
    ]


def test_a_bad_secret_is_not_reported_again_as_missing_from_the_apps_using_it() -> None:
    raw = changed(shipped("prod"), {"paved:secrets": {"REDIS_URL": {"source": "vault"}}})
    assert paths_of(raw, "prod") == ["paved:secrets.REDIS_URL.source"]


def test_a_bad_app_is_not_reported_again_through_the_apps_reading_its_schema() -> None:
    # The worker reads the api's schema; the api fails on its own port only.
    assert paths_of(with_app(shipped("prod"), 1, {"port": "http"}), "prod") == ["paved:apps[1].port"]
