"""The per-environment defaults (paved/presets.py) and how a stack file overrides them."""

import pytest

from components.cache import CacheArgs
from components.cluster import ClusterArgs
from components.database import DatabaseArgs
from components.edge import EdgeArgs
from components.network import NetworkArgs
from components.observability import AlertsArgs
from components.workload import AppArgs
from paved.config import load_stack_config, load_stack_file
from paved.fields import ConfigModel, Environment
from paved.presets import APP_PRESETS, PRESETS, deep_merge
from tests.stack_config import (
    ROOT,
    changed,
    shipped,
    with_app,
)


def test_presets_differ_between_staging_and_prod() -> None:
    prod = load_stack_file(ROOT / "stacks" / "Pulumi.prod.yaml", "prod")
    staging = load_stack_file(ROOT / "stacks" / "Pulumi.staging.yaml", "staging")
    assert (prod.network.az_count, prod.network.nat_gateways) == (3, "perAz")
    assert (staging.network.az_count, staging.network.nat_gateways) == (2, "single")
    assert prod.network.interface_endpoints == ["secretsmanager", "ecr.api", "ecr.dkr", "sts", "logs", "ec2"]
    assert staging.network.interface_endpoints == []
    assert (prod.network.flow_log_retention_days, staging.network.flow_log_retention_days) == (365, 30)
    assert (prod.database.multi_az, prod.database.deletion_protection) == (True, True)
    assert (staging.database.multi_az, staging.database.deletion_protection) == (False, False)
    assert (prod.database.backup_retention_days, staging.database.backup_retention_days) == (35, 7)
    assert (prod.database.read_replicas, staging.database.read_replicas) == (1, 0)
    assert (prod.cache.multi_az, prod.cache.replicas_per_shard, prod.cache.snapshot_retention_days) == (
        True,
        1,
        7,
    )
    assert (staging.cache.multi_az, staging.cache.replicas_per_shard) == (False, 0)
    assert prod.cluster.public_endpoint is False
    assert (prod.edge.rate_limit_per_ip, prod.edge.rate_limit_window_seconds) == (600, 60)
    prod_replicas, staging_replicas = prod.apps[2].replicas, staging.apps[2].replicas
    assert prod_replicas and staging_replicas and prod_replicas.min > staging_replicas.min


@pytest.mark.parametrize("environment", ["staging", "prod"])
def test_every_preset_section_is_valid_on_its_own(environment: Environment) -> None:
    preset = PRESETS[environment]
    sections: dict[str, type[ConfigModel]] = {
        "network": NetworkArgs,
        "database": DatabaseArgs,
        "cache": CacheArgs,
        "cluster": ClusterArgs,
        "edge": EdgeArgs,
        "alerts": AlertsArgs,
    }
    # Keys only the stack can know have no preset value.
    stack_only = {"cluster": {"adminRoleArns": ["arn:aws:iam::123456789012:role/deploy"]}}
    for key, model in sections.items():
        section = {**preset[key], **stack_only.get(key, {})}
        assert model.model_validate(section).model_dump(by_alias=True) == section
    app = AppArgs.model_validate(
        {**APP_PRESETS[environment]["service"], "name": "a", "image": "a:1", "port": 80}
    )
    assert app.pdb is not None and app.pdb.max_unavailable == 1


def test_stack_file_override_beats_preset() -> None:
    prod = load_stack_file(ROOT / "stacks" / "Pulumi.prod.yaml", "prod")
    assert PRESETS["prod"]["database"]["allocatedStorage"] == 100
    assert prod.database.allocated_storage == 200
    # keys the stack file does not set keep their preset value
    assert prod.database.instance_class == PRESETS["prod"]["database"]["instanceClass"]


def test_nested_override_keeps_sibling_preset_values() -> None:
    config = load_stack_config(changed(shipped("prod"), {"paved:network": {"cidr": "10.42.0.0/16"}}), "prod")
    assert config.network.cidr == "10.42.0.0/16"
    assert config.network.az_count == 3


def test_app_override_merges_over_app_preset() -> None:
    config = load_stack_config(with_app(shipped("prod"), 2, {"replicas": {"max": 4}}), "prod")
    replicas = config.apps[2].replicas
    assert replicas is not None and (replicas.min, replicas.max) == (2, 4)
    assert config.apps[2].resources.cpu_request == APP_PRESETS["prod"]["service"]["resources"]["cpuRequest"]


def test_deep_merge_merges_dicts_and_replaces_lists() -> None:
    base = {"a": {"b": 1, "c": [1, 2]}, "d": 1}
    assert deep_merge(base, {"a": {"c": [3]}}) == {"a": {"b": 1, "c": [3]}, "d": 1}
    assert base == {"a": {"b": 1, "c": [1, 2]}, "d": 1}  # the preset itself is untouched
