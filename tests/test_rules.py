"""Rules across sections (paved/rules.py): the environment agrees with the stack's name."""

from collections.abc import Callable

import pytest

from paved.config import load_stack_config
from paved.errors import ConfigError
from paved.fields import Environment
from paved.recorder import Recording
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
    case("prod", section("paved:tags", {"team": "aws:x"}), "paved:tags.team", "aws-tag-value-prefix"),
    case("prod", section("paved:tags", {"rds:owner": "x"}), "paved:tags.rds:owner", "rds-tag-prefix"),
    case("prod", section("paved:tags", {"team": "rds:x"}), "paved:tags.team", "rds-tag-value-prefix"),
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


@pytest.mark.parametrize(
    ("key", "value", "said"),
    [
        ("team!", "platform", "the key has characters AWS tags refuse: '!'"),
        ("team", "<platform>", "the value has characters AWS tags refuse: '<' '>'"),
        ("cost#center", "1234", "'#'"),
    ],
)
def test_tag_text_outside_awss_character_set_is_refused(key: str, value: str, said: str) -> None:
    [problem] = problems_of(changed(shipped("prod"), {"paved:tags": {key: value}}), "prod")
    assert problem.path == f"paved:tags.{key}" and said in problem.message


def test_tags_in_any_script_with_awss_symbols_are_accepted() -> None:
    tags = {"équipe": "plateforme", "チーム": "基盤", "owner@example.com": "a/b=c+d-e:f_g.h", "space ok": ""}
    load_stack_config(changed(shipped("prod"), {"paved:tags": tags}), "prod")


def test_the_tag_symbols_are_those_of_botocores_tag_pattern() -> None:
    import botocore.session

    from paved.rules import _TAG_SYMBOLS

    model = botocore.session.get_session().get_service_model("elbv2")
    for shape in ("TagKey", "TagValue"):
        pattern = model.shape_for(shape).metadata["pattern"]
        assert pattern.startswith("^([\\p{L}\\p{Z}\\p{N}") and pattern.endswith("]*)$")
        symbols = pattern.removeprefix("^([\\p{L}\\p{Z}\\p{N}").removesuffix("]*)$").replace("\\", "")
        assert set(symbols) == _TAG_SYMBOLS


def test_user_tags_leave_room_for_paveds_own_under_awss_fifty() -> None:
    from paved.rules import MAX_TAGS_PER_RESOURCE, PAVED_TAGS_PER_RESOURCE

    allowed = MAX_TAGS_PER_RESOURCE - PAVED_TAGS_PER_RESOURCE
    many = {f"tag{number}": "x" for number in range(allowed + 1)}
    [problem] = problems_of({**shipped("prod"), "paved:tags": many}, "prod")
    assert problem.path == "paved:tags" and f"at most {allowed}" in problem.message
    many.pop("tag0")
    load_stack_config({**shipped("prod"), "paved:tags": many}, "prod")


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_paved_sets_no_more_tags_than_it_keeps_room_for(
    shipped_recordings: Callable[[str], Recording], stack: str
) -> None:
    from paved.rules import PAVED_TAGS_PER_RESOURCE

    user_tags = set(shipped(stack).get("paved:tags", {}))
    own = [
        len(set(resource.inputs["tags"]) - user_tags)
        for resource in shipped_recordings(stack).resources
        if isinstance(resource.inputs.get("tags"), dict)
    ]
    assert own and max(own) <= PAVED_TAGS_PER_RESOURCE


@pytest.mark.parametrize(
    ("key", "value", "said"),
    [
        ("AWS:Owner", "x", "the key starts with aws:"),
        ("team", "Aws:platform", "the value starts with aws:"),
        ("rds:owner", "x", "the key starts with rds:"),
        ("team", "rds:platform", "the value starts with rds:"),
    ],
)
def test_tags_with_a_prefix_aws_keeps_are_refused(key: str, value: str, said: str) -> None:
    [problem] = problems_of(changed(shipped("prod"), {"paved:tags": {key: value}}), "prod")
    assert problem.path == f"paved:tags.{key}" and problem.message.startswith(said)
    assert "rename it" in problem.hint


def test_tags_with_the_prefix_elsewhere_or_rds_in_capitals_are_accepted() -> None:
    # RDS documents rds: without a case, so only rds: as written is refused.
    tags = {"team": "platform aws:x", "owner": "RDS:x", "note": "xaws:"}
    assert load_stack_config(changed(shipped("prod"), {"paved:tags": tags}), "prod").tags["owner"] == "RDS:x"


def test_the_reserved_tag_prefixes_are_those_botocore_documents() -> None:
    import html
    import re

    import botocore.session

    def documentation(service: str, shape: str, member: str | None = None) -> str:
        model = botocore.session.get_session().get_service_model(service).shape_for(shape)
        text = model.members[member].documentation if member else model.documentation
        return html.unescape(re.sub(r"<[^>]+>", "", text))

    for member in ("Key", "Value"):
        assert "can't be prefixed with aws: or rds:" in documentation("rds", "Tag", member)
    eks = "any upper or lowercase combination of such as a prefix for either keys or values"
    assert f"Do not use aws:, AWS:, or {eks}" in documentation("eks", "TagMap")
    assert "you cannot specify a tag value that begins with aws:" in documentation(
        "acm", "InvalidTagException"
    )


@pytest.mark.parametrize(
    ("stack", "suggestion"),
    [
        ("prod_1", "prod-1"),
        ("prod.eu", "prod-eu"),
        ("prod--a", "prod-a"),
        ("Prod", "prod"),
        ("-prod", "prod"),
        ("prod-", "prod"),
    ],
)
def test_a_stack_name_aws_names_cannot_hold_is_one_problem_with_a_fix(stack: str, suggestion: str) -> None:
    [problem] = problems_of(shipped("prod"), stack)
    assert problem.path == "(stack name)"
    assert f"'paved-{stack}-cache'" in problem.message
    assert problem.hint.endswith(f"e.g. {suggestion!r}")


@pytest.mark.parametrize("stack", ["prod-2-a", "1prod", "eu-prod-9"])
def test_stack_names_of_lowercase_letters_digits_and_single_hyphens_are_accepted(stack: str) -> None:
    assert load_stack_config(shipped("prod"), stack).environment == "prod"


def test_a_project_name_aws_names_cannot_hold_is_a_problem() -> None:
    with pytest.raises(ConfigError) as caught:
        load_stack_config(shipped("prod"), "prod", project="My_App")
    [problem] = caught.value.problems
    assert problem.path == "(project name)" and "'My_App-prod-cache'" in problem.message
    assert "Pulumi.yaml" in problem.hint
