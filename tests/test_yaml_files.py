"""Stack and project YAML read strictly: every defect is one error naming file, line and column."""

from __future__ import annotations

from pathlib import Path

import pytest

from paved.preview import run_preview
from paved.yaml_files import YamlError, config_key_lines, read_yaml

ROOT = Path(__file__).parent.parent


def _problem(tmp_path: Path, text: str) -> str:
    path = tmp_path / "Pulumi.x.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    with pytest.raises(YamlError) as caught:
        read_yaml(path)
    return str(caught.value)


def test_a_syntax_error_names_file_line_column_and_the_line(tmp_path: Path) -> None:
    problem = _problem(tmp_path, "config:\n  aws:region: eu-west-1\n  paved:tags: {team: a\n")
    assert problem.startswith(f"{tmp_path / 'Pulumi.x.yaml'}:4:1")
    assert "while parsing a flow mapping that starts at" in problem and ":3:15" in problem
    assert "  paved:tags: {team: a" in problem


def test_a_duplicate_key_is_an_error_not_an_overwrite(tmp_path: Path) -> None:
    problem = _problem(tmp_path, "config:\n  paved:environment: prod\n  paved:environment: staging\n")
    assert ":3:3" in problem and "duplicate key 'paved:environment' (first on line 2)" in problem


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("config:\n\tpaved:environment: prod\n", "hint: indent with spaces"),
        ("config:\n  paved:tags: {team: a\n", "hint: check the indentation"),
        ("- config\n", "hint: start the file with `config:`"),
        ("config:\n  key: 2026-12-04\n", "hint: config holds text, numbers"),
    ],
)
def test_every_error_ends_with_a_hint(tmp_path: Path, text: str, hint: str) -> None:
    assert _problem(tmp_path, text).splitlines()[-1].strip().startswith(hint)


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("config:\n  key: !!binary aGVsbG8=\n", "config.key: a bytes value"),
        ("config:\n  key: 2026-12-04\n", "config.key: a date value (quote it to keep it as text)"),
        ("config:\n  key: !!set {a, b}\n", "config.key: a set value"),
        ("config:\n  list:\n    - '\\ud800'\n", "config.list[0]: text with a lone surrogate"),
        ("- config\n", "must be a map of keys"),
        ("config:\n  1: one\n", "a key must be text, got int 1"),
        ("a: " + "[" * 2000 + "]" * 2000 + "\n", "nested too deeply"),
    ],
)
def test_values_config_cannot_hold_are_named(tmp_path: Path, text: str, said: str) -> None:
    assert said in _problem(tmp_path, text.replace("'\\ud800'", '"\\ud800"'))


def test_the_preview_says_it_without_a_traceback(tmp_path: Path) -> None:
    for name in ("Pulumi.yaml", "__main__.py"):
        (tmp_path / name).write_text((ROOT / name).read_text())
    (tmp_path / "stacks").mkdir()
    (tmp_path / "stacks" / "Pulumi.bad.yaml").write_text("config:\n  a: 1\n  a: 2\n")
    result = run_preview(tmp_path, "bad")
    assert result.exit_code == 2 and result.recording is None
    assert result.failure is not None and "duplicate key 'a'" in result.failure
    assert "Traceback" not in result.failure


def test_the_shipped_stacks_read_cleanly() -> None:
    for stack in ("prod", "staging"):
        assert read_yaml(ROOT / "stacks" / f"Pulumi.{stack}.yaml")["config"]["paved:environment"] == stack


def test_the_offending_line_is_shown_escaped_with_the_caret_under_the_column(tmp_path: Path) -> None:
    # A right-to-left override left as it is would reverse the shown line; escaped, the caret moves with it.
    lines = _problem(tmp_path, "config:\n  a: \u202eb: c\n").splitlines()
    assert lines[0].endswith(":2:8")
    assert lines[1] == "      a: \\u202eb: c"
    assert lines[2].index("^") == lines[1].index("b:") + 1
    assert "mapping values are not allowed here" in lines[3]


def test_a_key_with_a_lone_surrogate_is_named_escaped(tmp_path: Path) -> None:
    problem = _problem(tmp_path, 'config:\n  "paved:\\ud800x": 1\n')
    assert "config.paved:\\ud800x: text with a lone surrogate" in problem
    assert all(line.isprintable() for line in problem.splitlines())


def test_config_key_lines_name_every_key_as_config_problems_do(tmp_path: Path) -> None:
    path = tmp_path / "Pulumi.dev.yaml"
    path.write_text(
        "# a comment\n"
        "config:\n"
        "  aws:region: eu-west-1\n"
        "  paved:apps:\n"
        "    - name: web\n"
        "      replicas: {min: 2, max: 4}\n"
        "    -\n"
        "      name: api\n"
        "  paved:tags: {team: core}\n"
    )
    assert config_key_lines(path) == {
        "aws:region": 3,
        "paved:apps": 4,
        "paved:apps[0]": 5,
        "paved:apps[0].name": 5,
        "paved:apps[0].replicas": 6,
        "paved:apps[0].replicas.min": 6,
        "paved:apps[0].replicas.max": 6,
        "paved:apps[1]": 8,
        "paved:apps[1].name": 8,
        "paved:tags": 9,
        "paved:tags.team": 9,
    }


@pytest.mark.parametrize(
    "text", [None, "config: [a]\n", "config:\n  a: [\n", "config:\n  a: &loop [*loop]\n", "- config\n"]
)
def test_config_key_lines_of_a_file_without_a_config_map_are_none(tmp_path: Path, text: str | None) -> None:
    path = tmp_path / "Pulumi.dev.yaml"
    if text is not None:
        path.write_text(text)
    assert config_key_lines(path) == {}
