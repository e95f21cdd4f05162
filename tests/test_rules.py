"""Rules across sections (paved/rules.py): the environment agrees with the stack's name."""

import pytest

from paved.config import load_stack_config
from paved.fields import Environment
from paved.rules import environment_of_stack
from tests.stack_config import (
    Mutation,
    apps,
    assert_rule_reports_path_and_hint,
    case,
    changed,
    paths_of,
    problems_of,
    section,
    shipped,
    without,
)


@pytest.mark.parametrize(
    ("stack", "promised"),
    [
        ("prod", "prod"),
        ("prod-eu", "prod"),
        ("Production", "prod"),
        ("prod_2", "prod"),
        ("staging", "staging"),
        ("stage.eu", "staging"),
        ("dev", None),
        ("eu-prod", None),
        ("products", None),
    ],
)
def test_environment_a_stack_name_promises(stack: str, promised: str | None) -> None:
    assert environment_of_stack(stack) == promised


@pytest.mark.parametrize(
    ("stack", "environment"), [("prod", "staging"), ("prod-eu", "staging"), ("staging", "prod")]
)
def test_environment_must_match_the_stack_name(stack: str, environment: str) -> None:
    # `environment: staging` in a prod stack would drop every deletion guard without a word.
    source = "prod" if environment == "prod" else "staging"
    (problem,) = problems_of(changed(shipped(source), {"paved:environment": environment}), stack)
    assert problem.path == "paved:environment"
    assert repr(stack) in problem.message
    assert "paved:allowEnvironmentMismatch: true" in problem.hint


def test_an_explicit_override_allows_the_mismatch() -> None:
    raw = changed(shipped("staging"), {"paved:allowEnvironmentMismatch": "true"})
    assert load_stack_config(raw, "prod-replay").environment == "staging"


@pytest.mark.parametrize("environment", ["staging", "prod"])
def test_stack_names_that_promise_nothing_take_either_environment(environment: Environment) -> None:
    assert load_stack_config(shipped(environment), "demo").environment == environment


def test_override_must_be_a_bool() -> None:
    raw = changed(shipped("staging"), {"paved:allowEnvironmentMismatch": "sometimes"})
    assert paths_of(raw, "prod") == ["paved:allowEnvironmentMismatch", "paved:environment"]


# --- one failing case per rule (tests/stack_config.py checks its path and hint) -----------------------------

RULE_CASES = [
    case("prod", lambda raw: without(raw, "paved:drRegion"), "paved:drRegion", "prod-needs-dr-region"),
    case("prod", section("paved:drRegion", "eu-west-1"), "paved:drRegion", "dr-region-differs"),
    case("prod", apps(1, {"name": "web"}), "paved:apps[1].name", "app-name-unique"),
    case("prod", apps(0, {"host": "app.example.org"}), "paved:apps[0].host", "host-under-domain"),
    case(
        "prod",
        section("paved:secrets", {"redis_url": {"source": "generated"}}),
        "paved:secrets.redis_url",
        "secret-names-unique",
    ),
    case("prod", section("paved:tags", {"environment": "x"}), "paved:tags.environment", "reserved-tag"),
    case("prod", section("paved:tags", {"aws:owner": "x"}), "paved:tags.aws:owner", "aws-tag-prefix"),
]


@pytest.mark.parametrize(("stack", "mutation", "path"), RULE_CASES)
def test_rule_reports_path_and_hint(stack: str, mutation: Mutation, path: str) -> None:
    assert_rule_reports_path_and_hint(stack, mutation, path)


@pytest.mark.parametrize("twin", ["redis_url", "Redis_Url", "REDIS_url"])
def test_secrets_that_name_one_resource_are_one_error_naming_both(twin: str) -> None:
    raw = changed(shipped("prod"), {"paved:secrets": {twin: {"source": "generated"}}})
    [problem] = problems_of(raw, "prod")
    assert problem.path == f"paved:secrets.{twin}"
    assert "paved:secrets.REDIS_URL" in problem.message and "'redis-url'" in problem.message


def test_a_duplicate_app_is_one_error_naming_both_and_no_knock_on() -> None:
    # The worker, renamed api, reads the api's schema: its readSchemas would now name itself.
    raw = apps(2, {"name": "api"})(shipped("prod"))
    [problem] = problems_of(raw, "prod")
    assert problem.path == "paved:apps[2].name" and "paved:apps[1].name" in problem.message
