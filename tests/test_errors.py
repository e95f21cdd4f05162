"""Config problems and their rendering (paved/errors.py): hints, the report's format, unknown keys."""

import io

import pytest

from paved.config import load_stack_config
from paved.errors import ConfigError, ConfigProblem, printable
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


# --- user text shown in a problem: printable, unambiguous ------------------------------------------------


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("a\u202eb", "a\\u202eb"),  # right-to-left override: would reverse the rest of the line
        ("x\u200by", "x\\u200by"),  # zero-width space
        ("\u2066x\u2069", "\\u2066x\\u2069"),  # bidi isolate
        ("bell\x07", "bell\\x07"),
        ("tab\there\n", "tab\\there\\n"),
        ("\ud800", "\\ud800"),  # lone surrogate, as YAML's "\ud800" escape reads
        ("\U000e0041", "\\U000e0041"),  # an invisible tag character
        ("no\xa0break", "no\\xa0break"),
        ("a\\u202eb", "a\\\\u202eb"),  # the user's own backslash, so it is not read as an escape
        ("équipe チーム 17", "équipe チーム 17"),
    ],
)
def test_printable_escapes_what_a_terminal_would_not_show_as_itself(text: str, shown: str) -> None:
    assert printable(text) == shown
    assert shown.isprintable() and shown.encode("utf-8")


def _printed(error: Exception) -> str:
    stream = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    print(error, file=stream)
    stream.seek(0)
    return stream.read()


def test_a_key_with_a_lone_surrogate_or_bidi_override_is_shown_escaped_and_prints() -> None:
    raw = {**shipped("prod"), "paved:\ud800x": 1, "paved:\u202eevil": 2}
    with pytest.raises(ConfigError) as caught:
        load_stack_config(raw, "prod")
    printed = _printed(caught.value)  # str(error) with a lone surrogate raised UnicodeEncodeError here
    assert "  ✗ paved:\\ud800x: unknown key" in printed
    assert "  ✗ paved:\\u202eevil: unknown key" in printed
    assert all(line.isprintable() for line in printed.splitlines())


def test_the_stack_name_in_the_title_is_shown_escaped() -> None:
    with pytest.raises(ConfigError) as caught:
        load_stack_config({**shipped("prod"), "paved:x": 1}, "prod\u202e")
    assert _printed(caught.value).startswith("Invalid configuration for stack 'prod\\u202e': ")


def test_duplicate_entries_are_shown_escaped() -> None:
    url = "https://hooks.example.com/\u202eevil"
    [problem] = problems_of(
        changed(shipped("prod"), {"paved:alerts": {"httpsEndpoints": [url, url]}}), "prod"
    )
    assert problem.message == "duplicate entries: https://hooks.example.com/\\u202eevil"


def test_secret_names_that_collide_are_shown_escaped() -> None:
    raw = changed(shipped("prod"), {"paved:secrets": {"A\u200b": {}, "a\u200b": {}}})
    collision = [problem for problem in problems_of(raw, "prod") if "both name" in problem.message]
    assert [problem.message.split(" both")[0] for problem in collision] == [
        "a\\u200b and paved:secrets.A\\u200b"
    ]
