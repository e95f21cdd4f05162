"""The `paved` command itself: what it says about itself."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from importlib.metadata import version
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from paved.cli import app
from paved.exit_codes import ExitCode

POLICY_MANIFEST = Path(__file__).parent.parent / "policies" / "PulumiPolicy.yaml"


def test_version_is_the_packages_and_the_policy_packs() -> None:
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output == f"paved {version('paved')}\n"
    # The pack ships beside paved and reports the manifest's version over the Analyzer protocol.
    assert str(yaml.safe_load(POLICY_MANIFEST.read_text())["version"]) == version("paved")


FIXTURES = Path(__file__).parent / "fixtures"


def test_json_to_stdout_keeps_the_text_on_stderr() -> None:
    result = CliRunner().invoke(
        app, ["flows", "--preview", str(FIXTURES / "previews" / "c78210d-prod.json"), "--json", "-"]
    )
    assert json.loads(result.stdout)["flows"]
    assert "Wiring proof" in result.stderr


@pytest.mark.parametrize("command", [["preview", "--stack", "dev"], ["flows", "--stack", "dev"]])
def test_an_unwritable_json_path_is_refused_before_any_work(command: list[str], tmp_path: Path) -> None:
    missing = tmp_path / "missing" / "x.json"
    # -C points nowhere: had the command started working, it would fail on the project instead.
    result = CliRunner().invoke(app, [*command, "-C", str(tmp_path / "nowhere"), "--json", str(missing)])
    assert result.exit_code == 2
    assert (
        result.stderr == f"paved {command[0]}: --json {missing}: directory {missing.parent} does not exist\n"
    )
    directory = CliRunner().invoke(app, [*command, "--json", str(tmp_path)])
    assert directory.exit_code == 2 and "is a directory" in directory.stderr


@pytest.mark.parametrize("flag", ["--sarif", "--junit", "--markdown"])
def test_an_unwritable_report_path_is_refused_before_any_work(flag: str, tmp_path: Path) -> None:
    missing = tmp_path / "missing" / "report"
    command = ["preview", "--stack", "dev", "-C", str(tmp_path / "nowhere")]
    result = CliRunner().invoke(app, [*command, flag, str(missing)])
    assert result.exit_code == 2
    assert result.stderr == f"paved preview: {flag} {missing}: directory {missing.parent} does not exist\n"
    directory = CliRunner().invoke(app, [*command, flag, str(tmp_path)])
    assert directory.exit_code == 2 and f"{flag} {tmp_path} is a directory" in directory.stderr
    stdout = CliRunner().invoke(app, [*command, flag, "-"])
    assert stdout.exit_code == 2
    assert stdout.stderr == f"paved preview: {flag} takes a file path; only --json writes to stdout\n"


def test_a_preview_that_stops_at_its_config_still_writes_every_report(tmp_path: Path) -> None:
    sarif, junit, markdown = tmp_path / "out.sarif", tmp_path / "out.xml", tmp_path / "out.md"
    sample = FIXTURES / "sample_program"
    args = ["preview", "--stack", "nope", "-C", str(sample), "--sarif", str(sarif), "--junit", str(junit)]
    result = CliRunner().invoke(app, [*args, "--markdown", str(markdown)])
    assert result.exit_code == 2
    assert "Nothing was judged: the configuration is invalid." in markdown.read_text()
    [invocation] = json.loads(sarif.read_text())["runs"][0]["invocations"]
    assert invocation["executionSuccessful"] is False and invocation["exitCode"] == 2
    [note] = invocation["toolExecutionNotifications"]
    assert note["level"] == "error" and "Pulumi.nope.yaml" in note["message"]["text"]
    error = ET.parse(junit).getroot().find("testsuite/testcase/error")
    assert (
        error is not None
        and error.get("type") == "configuration"
        and "Pulumi.nope.yaml" in (error.text or "")
    )


ROOT = Path(__file__).parent.parent


CONFIG_FAILURE_VERDICTS = {
    "preview": "Preview failed: the configuration is invalid (see above), so no policy judged the resources.",
    "flows": "Wiring proof not run: the configuration is invalid.",
}


@pytest.mark.parametrize("command", ["preview", "flows"])
def test_bad_config_and_bad_usage_exit_2(command: str, tmp_path: Path) -> None:
    for name in ("Pulumi.yaml", "__main__.py"):
        (tmp_path / name).write_text((ROOT / name).read_text())
    (tmp_path / "stacks").mkdir()
    stack_file = (ROOT / "stacks" / "Pulumi.prod.yaml").read_text()
    (tmp_path / "stacks" / "Pulumi.prod.yaml").write_text(stack_file.replace("min: 3", "min: 0"))
    bad_config = CliRunner().invoke(app, [command, "--stack", "prod", "-C", str(tmp_path)])
    assert bad_config.exit_code == ExitCode.BAD_CONFIG, bad_config.output
    assert "paved:apps[0].replicas.min" in bad_config.output
    missing_stack = CliRunner().invoke(app, [command, "--stack", "nope", "-C", str(tmp_path)])
    assert missing_stack.exit_code == ExitCode.BAD_CONFIG and "Pulumi.nope.yaml" in missing_stack.output
    # The last line says why nothing was judged; counts of zero would read as a stack that passed.
    for result in (bad_config, missing_stack):
        assert result.output.splitlines()[-1] == CONFIG_FAILURE_VERDICTS[command]
        assert "mandatory" not in result.output
    usage = CliRunner().invoke(app, [command, "--stak", "prod"])
    assert usage.exit_code == ExitCode.BAD_USAGE


def _project_with_stack(tmp_path: Path, stack: str, stack_file: str) -> Path:
    for name in ("Pulumi.yaml", "__main__.py"):
        (tmp_path / name).write_text((ROOT / name).read_text())
    (tmp_path / "stacks").mkdir()
    (tmp_path / "stacks" / f"Pulumi.{stack}.yaml").write_text(stack_file, encoding="utf-8")
    return tmp_path


_PROD_FILE = (ROOT / "stacks" / "Pulumi.prod.yaml").read_text()


@pytest.mark.parametrize(
    ("edit", "shown"),
    [
        # A lone surrogate (YAML's "\ud800" escape) in a value, then in a key: refused as the file is read.
        (("paved:drRegion: eu-central-1", 'paved:drRegion: "eu\\ud800"'), "config.paved:drRegion: text with"),
        (("  paved:drRegion:", '  "paved:\\ud800": 1\n  paved:drRegion:'), "config.paved:\\ud800: text with"),
        # Bidi overrides, zero-width and control characters reach the config problems.
        (("    team: platform", "    te\u202eam: platform"), "✗ paved:tags.te\\u202eam: the key has"),
        (("        LOG_LEVEL: info", '        "LOG\\x07": info'), "✗ paved:apps[1].env.LOG\\x07.[key]:"),
        (
            ("  paved:drRegion:", "  paved:dr\u200bRegion: x\n  paved:drRegion:"),
            "✗ paved:dr\\u200bRegion: unknown",
        ),
    ],
)
def test_a_stack_file_with_unprintable_text_is_reported_escaped(
    edit: tuple[str, str], shown: str, tmp_path: Path
) -> None:
    old, new = edit
    assert old in _PROD_FILE
    project = _project_with_stack(tmp_path, "prod", _PROD_FILE.replace(old, new, 1))
    result = CliRunner().invoke(app, ["preview", "--stack", "prod", "-C", str(project)])
    # Printing a lone surrogate to the runner's UTF-8 stream raised UnicodeEncodeError: exit 1, no output.
    assert result.exit_code == 2, result.exception
    # Lines are wrapped to the width: judge the words, not where the lines break.
    assert " ".join(shown.split()) in " ".join(result.output.split())
    assert all(line.isprintable() for line in result.output.splitlines())


def test_a_stack_name_pulumi_would_not_take_is_refused_escaped(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["preview", "--stack", "prod\u202e", "-C", str(tmp_path)])
    assert result.exit_code == 2
    said = " ".join(result.output.replace("│", " ").split())  # unwrapped from typer's error box
    assert "'prod\\u202e' is not a stack name Pulumi takes" in said
    assert all(line.isprintable() for line in result.output.splitlines())


def test_a_stack_name_aws_names_cannot_hold_is_one_config_problem(tmp_path: Path) -> None:
    # Pulumi takes `prod_1`; the RDS and ElastiCache ids built from it could not hold it.
    project = _project_with_stack(tmp_path, "prod_1", _PROD_FILE)
    result = CliRunner().invoke(app, ["preview", "--stack", "prod_1", "-C", str(project)])
    assert result.exit_code == 2
    assert "Invalid configuration for stack 'prod_1': 1 problem" in result.output
    assert "✗ (stack name): stack name 'prod_1' gives AWS names such as 'paved-prod_1-cache'" in result.output
    assert "e.g. 'prod-1'" in result.output


README_WORDS = " ".join((ROOT / "README.md").read_text().split())


def test_the_exit_codes_are_the_documented_ones() -> None:
    assert [(code.name, int(code)) for code in ExitCode] == [("CLEAN", 0), ("BLOCKED", 1), ("BAD_CONFIG", 2)]
    assert ExitCode.BAD_USAGE is ExitCode.BAD_CONFIG
    assert (
        f"**{ExitCode.CLEAN}** clean; **{ExitCode.BLOCKED}** blocked: a mandatory policy violation, a "
        f"failing wiring flow, or the program or a pack failed; **{ExitCode.BAD_CONFIG}** bad configuration "
        "or usage"
    ) in README_WORDS
