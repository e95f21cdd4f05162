"""`paved flows`: the wiring proof of a saved preview or of a program run offline, as a table, as JSON, or one
flow hop by hop; its exit code; and its one-line refusals.

tests/fixtures/wiring/cli_preview.json is a trimmed `pulumi preview --json` in the real CLI's shape: unknown
ids, links only in dependencies and propertyDependencies, structured config as JSON strings.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import paved_policies.wiring.flows as flows_module
import pytest
from paved_policies.wiring.placeholders import Origin
from typer.testing import CliRunner

import paved.preview as preview_module
from paved.cli import app
from paved.exit_codes import ExitCode
from tests.flow_fakes import BROKEN, CONDITIONAL, PRESENT_FORBIDDEN, PROVEN, RUNNER_RULE, proving

FIXTURES = Path(__file__).parent / "fixtures"
CLI_PREVIEW = FIXTURES / "wiring" / "cli_preview.json"
SAMPLE = FIXTURES / "sample_program"
NETWORK = "urn:pulumi:prod::paved::paved:index:Network$"
SG = NETWORK + "aws:ec2/securityGroup:SecurityGroup::"
RULE = NETWORK + "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule::"


def flows(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["flows", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def test_a_saved_cli_preview_is_proved_through_its_property_dependencies(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen = proving(monkeypatch, flows_module, [PROVEN, CONDITIONAL])
    code, out, _ = flows("--preview", str(CLI_PREVIEW))
    assert code == 0, out
    [snapshot] = seen
    rule = snapshot.resources[RULE + "app-from-alb"]
    assert snapshot.origin(rule.get("securityGroupId")) == Origin(SG + "app", "id")
    assert snapshot.origin(rule.get("referencedSecurityGroupId")) == Origin(SG + "alb", "id")
    assert snapshot.config["paved:apps"] == [{"name": "api", "port": 8080}]
    lines = out.splitlines()
    assert lines[0] == "Wiring: 2 flows, 1 proven, 0 broken, 1 conditional or unresolved"
    assert lines[-1] == "Wiring proof succeeded: 2 flows, 0 failing."


def test_a_failing_flow_fails_the_command_and_the_json_has_every_flow(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    proving(monkeypatch, flows_module, [BROKEN, PROVEN, PRESENT_FORBIDDEN])
    out_file = tmp_path / "flows.json"
    code, out, _ = flows("--preview", str(CLI_PREVIEW), "--json", str(out_file))
    assert code == 1
    assert "    ✘ required  runner->eks-api" in out
    assert out.splitlines()[-1] == "Wiring proof failed: 3 flows, 2 failing."
    written = json.loads(out_file.read_text())["flows"]
    assert [(f["id"], f["verdict"]) for f in written] == [
        ("runner->eks-api", "broken"),
        ("api->database", "proven"),
        ("internet-x->database", "broken"),
    ]


def test_why_explains_one_flow_hop_by_hop(monkeypatch: pytest.MonkeyPatch) -> None:
    proving(monkeypatch, flows_module, [BROKEN, PROVEN])
    code, out, _ = flows("--preview", str(CLI_PREVIEW), "--why", "runner->eks-api")
    assert code == 1
    # Not a terminal: 120 columns, a hop's long resource continued under its text.
    assert out.splitlines()[:6] == [
        "✘ runner->eks-api (required): title of runner->eks-api",
        "  broken: no ingress on 'eks-cluster' from the runner",
        "   1. sg-rule  cluster-from-runner → eks-cluster:443",
        f"               [{RUNNER_RULE}, property",
        "               referencedSecurityGroupId]",
        "   2. route    private-a → nat-a",
    ]
    # The exit code is the explained flow's.
    assert flows("--preview", str(CLI_PREVIEW), "--why", "api->database")[0] == 0


def test_paved_own_preview_json_is_read_too(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    saved = tmp_path / "preview.json"
    written = CliRunner().invoke(app, ["preview", "-s", "dev", "-C", str(SAMPLE), "--json", str(saved)])
    assert written.exit_code == 0, written.output
    seen = proving(monkeypatch, flows_module, [BROKEN])
    assert flows("--preview", str(saved))[0] == 1
    [snapshot] = seen
    [subnet] = snapshot.of_type("aws:ec2/subnet:Subnet")
    [vpc] = snapshot.of_type("aws:ec2/vpc:Vpc")
    assert snapshot.origin(subnet.get("vpcId")) == Origin(vpc.urn, "id")


def test_a_stack_is_run_offline_and_proved(monkeypatch: pytest.MonkeyPatch) -> None:
    seen = proving(monkeypatch, preview_module, [PROVEN, BROKEN])
    code, out, _ = flows("--stack", "dev", "-C", str(SAMPLE))
    assert code == 1
    assert len(seen) == 1 and seen[0].of_type("aws:ec2/vpc:Vpc")
    assert "    ✔ required  api->database" in out and "    ✘ required  runner->eks-api" in out


def test_a_program_that_fails_is_said_plainly(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    seen = proving(monkeypatch, preview_module, [PROVEN])
    project = tmp_path / "project"
    shutil.copytree(SAMPLE, project)
    with (project / "__main__.py").open("a") as main:
        main.write('\nraise RuntimeError("the program broke")\n')
    code, out, err = flows("--stack", "dev", "-C", str(project))
    assert code == ExitCode.BLOCKED and seen == [] and out == ""
    assert "the program broke" in err
    assert err.splitlines()[-1] == "Wiring proof not run: the program failed."


@pytest.mark.parametrize(
    ("args", "said"),
    [
        ([], "give either --stack NAME (run the program) or --preview FILE.json (a saved preview)"),
        (["--stack", "dev", "--preview", "x.json"], "give either --stack NAME"),
        (["--preview", "/nonexistent/preview.json"], "cannot read /nonexistent/preview.json: No such file"),
    ],
)
def test_a_command_line_that_cannot_be_acted_on_is_refused_in_one_line(args: list[str], said: str) -> None:
    code, out, err = flows(*args)
    assert (code, out) == (2, "")
    assert err.startswith(f"paved flows: {said}") and err.count("\n") == 1


@pytest.mark.parametrize(
    ("content", "said"),
    [
        ("{", "is not JSON"),
        ("[]", "is not a preview: it has no `steps`"),
        ('{"steps": {}}', "is not a preview: it has no `steps`"),
        ('{"steps": ["create"]}', "is not a preview paved can read"),
        ('{"steps": [{"newState": {"urn": "urn:x", "inputs": 5}}]}', "is not a preview paved can read"),
    ],
)
def test_a_file_that_is_not_a_preview_is_refused_in_one_line(tmp_path: Path, content: str, said: str) -> None:
    saved = tmp_path / "saved.json"
    saved.write_text(content)
    code, _, err = flows("--preview", str(saved))
    assert code == 2 and said in err and err.count("\n") == 1 and "Traceback" not in err


def test_an_unknown_flow_is_refused_with_the_ids_there_are(monkeypatch: pytest.MonkeyPatch) -> None:
    proving(monkeypatch, flows_module, [BROKEN, PROVEN])
    code, out, err = flows("--preview", str(CLI_PREVIEW), "--why", "api->nowhere")
    assert (code, out) == (2, "")
    assert err == "paved flows: no flow 'api->nowhere'; the flows are: runner->eks-api, api->database\n"
