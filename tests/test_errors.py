"""Config problems and their rendering (paved/errors.py): hints, the report's format, unknown keys."""

import pytest

from paved.config import load_stack_config
from paved.errors import ConfigError, ConfigProblem
from tests.stack_config import (
    Mutation,
    apps,
    changed,
    problems_of,
    section,
    shipped,
    with_app,
)


def test_field_specific_hint() -> None:
    (problem,) = problems_of(
        changed(shipped("prod"), {"paved:database": {"backupRetentionDays": 40}}), "prod"
    )
    assert problem == ConfigProblem(
        "paved:database.backupRetentionDays",
        "must be ≤ 35, got 40",
        "RDS keeps automated backups for at most 35 days; use AWS Backup for longer retention.",
    )


def test_secret_values_are_not_echoed() -> None:
    raw = with_app(shipped("prod"), 1, {"env": {"API_TOKEN": "super-secret-value"}})
    with pytest.raises(ConfigError) as caught:
        load_stack_config(raw, "prod")
    assert "super-secret-value" not in str(caught.value)
    assert "secrets: [API_TOKEN]" in str(caught.value)


def test_generic_hint_lists_allowed_values() -> None:
    (problem,) = problems_of(changed(shipped("prod"), {"paved:environment": "dev"}), "prod")
    assert "'staging'" in problem.hint and "'prod'" in problem.hint


def test_error_message_format() -> None:
    raw = changed(
        shipped("prod"), {"paved:database": {"backupRetentionDays": 40}, "paved:cache": {"multiAz": False}}
    )
    with pytest.raises(ConfigError) as caught:
        load_stack_config(raw, "prod")
    lines = str(caught.value).splitlines()
    assert lines[0] == "Invalid configuration for stack 'prod': 2 problems"
    assert lines[1] == "  ✗ paved:database.backupRetentionDays: must be ≤ 35, got 40"
    assert lines[2].startswith("      hint: RDS keeps automated backups")
    assert len(lines) == 5


def test_single_problem_is_singular() -> None:
    with pytest.raises(ConfigError, match=r"': 1 problem\n"):
        load_stack_config(changed(shipped("prod"), {"paved:edge": {"rateLimitPerIp": 1}}), "prod")


@pytest.mark.parametrize(
    ("mutation", "path", "suggestion"),
    [
        (section("paved:netwrok", {}), "paved:netwrok", "paved:network"),
        (section("paved:database", {"multiAZ": True}), "paved:database.multiAZ", "multiAz"),
        (apps(0, {"helthPaths": {}}), "paved:apps[0].helthPaths", "healthPaths"),
        (apps(0, {"replicas": {"minimum": 2}}), "paved:apps[0].replicas.minimum", "min"),
    ],
)
def test_unknown_keys_are_rejected_with_did_you_mean(mutation: Mutation, path: str, suggestion: str) -> None:
    problems = [problem for problem in problems_of(mutation(shipped("prod")), "prod") if problem.path == path]
    assert [problem.message for problem in problems] == ["unknown key"]
    assert f"did you mean '{suggestion}'?" in problems[0].hint


def test_unknown_key_without_close_match_lists_allowed_keys() -> None:
    (problem,) = problems_of(changed(shipped("prod"), {"paved:cache": {"zzzzzz": 1}}), "prod")
    assert problem.path == "paved:cache.zzzzzz"
    assert problem.hint.startswith("allowed keys: engine, engineVersion, nodeType, replicasPerShard")
