"""The example stacks (examples/<name>/Pulumi.<stack>.yaml), one per checklist that paved's shipped stacks
don't already answer: each is a stack file a user copies into stacks/, so its config must validate as
paved validates a stack's, and it must use what its checklist asks for. `scripts/preview-examples` previews
each with the policy pack and the wiring proof (a preview each, too slow for this suite)."""

from __future__ import annotations

from pathlib import Path

import pytest

from paved.config import StackConfig, load_stack_file
from tests.stack_config import ROOT

EXAMPLES = sorted((ROOT / "examples").glob("*/Pulumi.*.yaml"))


def _load(path: Path) -> StackConfig:
    # Read as strictly as a stack file in stacks/ is (duplicate keys, dates and non-text keys refused).
    return load_stack_file(path, path.name.removeprefix("Pulumi.").removesuffix(".yaml"))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda path: path.parent.name)
def test_an_example_is_a_valid_stack_of_its_environment(path: Path) -> None:
    config = _load(path)
    assert path.name == f"Pulumi.{config.environment}.yaml"
    assert config.apps


def _example(checklist: str) -> StackConfig:
    [path] = [path for path in EXAMPLES if path.parent.name.startswith(f"{checklist}-")]
    return _load(path)


def test_checklist_000_has_uploads_websockets_and_prisma_migrations() -> None:
    config = _example("000")
    assert config.uploads.enabled and [app.name for app in config.apps if app.uploads] == ["web"]
    assert [app.name for app in config.apps if app.websocket] == ["realtime"]
    assert all(app.database.migration_command for app in config.apps if app.database)


def test_checklist_001_has_nats_metrics_and_tracing() -> None:
    config = _example("001")
    assert config.nats.enabled and all(app.nats for app in config.apps)
    assert all(app.metrics_path for app in config.apps)
    assert any(app.tracing for app in config.apps)


def test_checklist_002_keeps_bullmq_jobs_in_a_cache_that_never_evicts() -> None:
    config = _example("002")
    assert config.cache.use == "both" and config.cache.maxmemory_policy == "noeviction"
    assert config.database.read_replicas >= 1


def test_checklist_004_sends_email_limits_auth_paths_and_runs_a_nightly_job() -> None:
    config = _example("004")
    assert config.email.enabled and {app.name for app in config.apps if app.email} == {"api", "digest"}
    assert [limit.path for limit in config.edge.path_rate_limits][0] == "/api/auth/"
    [job] = [app for app in config.apps if app.kind == "cronjob"]
    assert job.cronjob is not None and job.cronjob.time_zone == "Europe/London"
