"""`paved preview` end to end: a real policy pack process, driven over the Analyzer gRPC protocol."""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest
from paved_policies.wiring.placeholders import Origin
from paved_policies.wiring.verdicts import FlowResult, Hop, Verdict
from pulumi.runtime.proto import analyzer_pb2
from typer.testing import CliRunner, Result

import paved.preview as preview_module
from paved.analyzer import PolicyPackError, merge_policy_config
from paved.cli import app
from paved.exit_codes import ExitCode
from paved.preview import PreviewResult, run_preview
from paved.recorder import Recording
from paved.report import WIRING_CHAIN_WIDTH, WIRING_LEGEND, preview_digest, render_text
from paved.terminal import NON_TERMINAL_WIDTH
from tests.flow_fakes import (
    BROKEN,
    CONDITIONAL,
    PRESENT_FORBIDDEN,
    PROVEN,
    RUNNER_RULE,
    UNRESOLVED,
    fake_flow,
    proving,
)
from tests.report_schemas import junit_xsd, sarif_schema

FIXTURES = Path(__file__).parent / "fixtures"
SAMPLE = FIXTURES / "sample_program"
PACK = FIXTURES / "sample_pack"
UNTAGGED = "urn:pulumi:dev::demo::aws:s3/bucket:Bucket::untagged"


@pytest.fixture(scope="module")
def judged() -> PreviewResult:
    return run_preview(SAMPLE, "dev", [PACK])


def test_a_mandatory_violation_fails_the_preview(judged: PreviewResult) -> None:
    [violation] = [v for v in judged.violations if v.policy == "bucket-has-tags"]
    assert (violation.pack, violation.level, violation.urn) == ("fixture-pack", "mandatory", UNTAGGED)
    assert "bucket has no tags" in violation.message
    assert judged.exit_code == 1
    text = render_text(judged, NON_TERMINAL_WIDTH)
    assert "[mandatory]" in text and "bucket-has-tags" in text and UNTAGGED in text


def test_schema_defaults_reach_the_pack(judged: PreviewResult) -> None:
    prefix = [v for v in judged.violations if v.policy == "bucket-name-prefix"]
    assert [(v.urn, v.level) for v in prefix] == [(UNTAGGED, "advisory")]
    assert "'demo-'" in prefix[0].message


def test_a_stack_policy_sees_parents_and_dependencies(judged: PreviewResult) -> None:
    seen = {v.urn: v.message for v in judged.violations if v.policy == "stack-view"}
    subnet = "urn:pulumi:dev::demo::demo:index:Outer$demo:index:Inner$aws:ec2/subnet:Subnet::inner-subnet"
    assert "parent=urn:pulumi:dev::demo::demo:index:Outer$demo:index:Inner::inner" in seen[subnet]
    assert "demo:index:Outer$demo:index:Inner$aws:ec2/vpc:Vpc::inner-vpc" in seen[subnet]
    assert "inner-vpc" in seen[UNTAGGED]


def test_policy_pack_config_changes_levels_and_properties(tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"bucket-has-tags": "advisory", "bucket-name-prefix": {"prefix": "other-"}}))
    result = run_preview(SAMPLE, "dev", [PACK], [config])
    assert result.exit_code == 0
    levels = {(v.policy, v.urn): v.level for v in result.violations}
    assert levels[("bucket-has-tags", UNTAGGED)] == "advisory"
    prefix_urns = {v.urn for v in result.violations if v.policy == "bucket-name-prefix"}
    assert prefix_urns == {"urn:pulumi:dev::demo::aws:s3/bucket:Bucket::tagged"}


def test_the_all_key_sets_every_level(tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"all": "disabled"}))
    result = run_preview(SAMPLE, "dev", [PACK], [config])
    assert result.violations == [] and result.exit_code == 0
    # Disabled as configured, though GetAnalyzerInfo still gives the pack's own levels.
    [pack] = result.packs
    assert {policy.level for policy in pack.policies} == {"disabled"}
    assert all(not summary.passed and not summary.failed for summary in pack.summaries)
    assert pack.summaries[0].disabled == ["bucket-has-tags", "bucket-name-prefix"]
    assert pack.summaries[-1].disabled == ["stack-view"]


def test_the_pack_describes_its_policies_and_each_judgement_is_summed_up_as_the_cli_does(
    judged: PreviewResult,
) -> None:
    [pack] = judged.packs
    assert [(p.name, p.description, p.level, p.type) for p in pack.policies] == [
        ("bucket-has-tags", "Buckets carry tags.", "mandatory", "resource"),
        ("bucket-name-prefix", "Bucket names carry the team prefix.", "advisory", "resource"),
        (
            "stack-view",
            "Reports parents and dependencies as the stack policy sees them.",
            "advisory",
            "stack",
        ),
    ]
    recording = judged.recording
    assert recording is not None
    # One summary per resource judged, in the order judged, then the stack's.
    assert [s.urn for s in pack.summaries] == [r.urn for r in recording.resources] + [""]
    by_urn = {s.urn: s for s in pack.summaries}
    untagged, tagged = by_urn[UNTAGGED], by_urn["urn:pulumi:dev::demo::aws:s3/bucket:Bucket::tagged"]
    assert (untagged.failed, untagged.passed) == (["bucket-has-tags", "bucket-name-prefix"], [])
    assert [v.policy for v in untagged.violations] == ["bucket-has-tags", "bucket-name-prefix"]
    assert (tagged.failed, tagged.passed, tagged.violations) == (
        [],
        ["bucket-has-tags", "bucket-name-prefix"],
        [],
    )
    stack = by_urn[""]
    assert (stack.failed, stack.passed, stack.not_applicable) == (["stack-view"], [], {})
    assert len(stack.violations) == 2 and {v.policy for v in stack.violations} == {"stack-view"}


def _info_with_schema() -> analyzer_pb2.AnalyzerInfo:
    info = analyzer_pb2.AnalyzerInfo(name="p", version="1")
    policy = info.policies.add(name="limit", enforcementLevel=analyzer_pb2.MANDATORY)
    policy.configSchema.properties.update({"max": {"type": "number", "default": 3}})
    info.initialConfig["limit"].properties.update({"max": 5})
    return info


def test_config_merge_order_is_defaults_then_initial_then_files() -> None:
    info = _info_with_schema()
    assert merge_policy_config(info, [])["limit"] == {
        "enforcementLevel": "mandatory",
        "properties": {"max": 5},
    }
    merged = merge_policy_config(info, [{"limit": {"enforcementLevel": "advisory", "max": 9}}])
    assert merged["limit"] == {"enforcementLevel": "advisory", "properties": {"max": 9}}


def test_a_pack_initial_config_may_set_all_levels_as_a_policy_config() -> None:
    # How a pack such as awsguard (`new AwsGuard({all: "mandatory"})`) sends its initial config.
    info = _info_with_schema()
    info.policies.add(name="other", enforcementLevel=analyzer_pb2.ADVISORY)
    info.initialConfig["all"].enforcementLevel = analyzer_pb2.DISABLED
    merged = merge_policy_config(info, [])
    assert {name: entry["enforcementLevel"] for name, entry in merged.items()} == {
        "limit": "disabled",
        "other": "disabled",
        "all": "disabled",
    }


def test_config_is_validated_against_the_policy_schema() -> None:
    with pytest.raises(PolicyPackError, match="limit"):
        merge_policy_config(_info_with_schema(), [{"limit": {"max": "many"}}])
    with pytest.raises(PolicyPackError, match="enforcement level"):
        merge_policy_config(_info_with_schema(), [{"limit": "sometimes"}])


def test_json_is_a_preview_digest(judged: PreviewResult) -> None:
    digest = json.loads(json.dumps(preview_digest(judged)))
    assert set(digest) >= {"config", "steps", "diagnostics", "duration", "changeSummary"}
    assert digest["changeSummary"] == {"create": len(digest["steps"])}
    assert isinstance(digest["duration"], int) and digest["duration"] > 0
    assert digest["config"]["demo:password"] == "[secret]"
    steps = {step["urn"]: step for step in digest["steps"]}
    assert all(step["op"] == "create" for step in steps.values())
    subnet = next(s for s in digest["steps"] if s["newState"]["type"] == "aws:ec2/subnet:Subnet")
    state = subnet["newState"]
    assert state["custom"] is True and state["protect"] is True
    assert state["parent"].endswith("demo:index:Inner::inner")
    assert list(state["propertyDependencies"]["vpcId"]) == state["dependencies"]
    assert subnet["provider"].startswith("urn:pulumi:dev::demo::pulumi:providers:aws::default_7_51_1::")
    secret = next(s for s in digest["steps"] if s["newState"]["type"].endswith("SecretVersion"))
    assert secret["newState"]["inputs"]["secretString"] == "[secret]"
    [policy_diag] = [d for d in digest["diagnostics"] if d.get("policyName") == "bucket-has-tags"]
    assert policy_diag["severity"] == "error" and policy_diag["enforcementLevel"] == "mandatory"
    assert policy_diag["policyPack"] == "fixture-pack" and policy_diag["urn"] == UNTAGGED


def test_the_pack_version_comes_from_its_manifest(judged: PreviewResult) -> None:
    # The Python SDK reports 0.0.1 and defers to PulumiPolicy.yaml (version: 0.3.0), as the CLI does.
    [pack] = judged.packs
    assert pack.version == "0.3.0"
    assert {v.pack_version for v in pack.violations} == {"0.3.0"}
    assert "fixture-pack@v0.3.0" in render_text(judged, NON_TERMINAL_WIDTH)


@pytest.fixture(scope="module")
def cli_outputs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Result, dict[str, Path]]:
    """One blocked `paved preview` (a mandatory violation) writing every report it can."""
    directory = tmp_path_factory.mktemp("outputs")
    outputs = {flag: directory / f"preview.{flag}" for flag in ("json", "sarif", "junit")}
    args = ["preview", "--stack", "dev", "-C", str(SAMPLE), "--policy-pack", str(PACK)]
    args += [part for flag, path in outputs.items() for part in (f"--{flag}", str(path))]
    return CliRunner().invoke(app, args), outputs


def test_cli_exit_code_and_json_file(cli_outputs: tuple[Result, dict[str, Path]]) -> None:
    result, outputs = cli_outputs
    assert result.exit_code == 1, result.output
    assert "bucket-has-tags" in result.output
    assert json.loads(outputs["json"].read_text())["steps"]


def _sample_line(text: str) -> int:
    lines = (SAMPLE / "__main__.py").read_text().splitlines()
    [number] = [index for index, line in enumerate(lines, 1) if text in line]
    return number


def test_a_blocked_preview_writes_its_violations_as_sarif(
    cli_outputs: tuple[Result, dict[str, Path]], judged: PreviewResult
) -> None:
    document = json.loads(cli_outputs[1]["sarif"].read_text())
    jsonschema.Draft4Validator(sarif_schema()).validate(document)
    [run] = document["runs"]
    assert [rule["id"] for rule in run["tool"]["driver"]["rules"]] == [
        "bucket-has-tags",
        "bucket-name-prefix",
        "stack-view",
    ]
    assert run["invocations"][0]["exitCode"] == 1
    found = sorted(
        (
            r["ruleId"],
            r["level"],
            r["properties"]["urn"],
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            r["locations"][0]["physicalLocation"]["region"]["startLine"],
        )
        for r in run["results"]
    )
    # Not paved's program: no config key is known, so each is where the program registered the resource.
    main = "tests/fixtures/sample_program/__main__.py"
    bucket, subnet = _sample_line("untagged = aws.s3.Bucket("), _sample_line("self.subnet = aws.ec2.Subnet(")
    subnet_urn = next(v.urn for v in judged.violations if v.urn.endswith("inner-subnet"))
    assert found == [
        ("bucket-has-tags", "error", UNTAGGED, main, bucket),
        ("bucket-name-prefix", "warning", UNTAGGED, main, bucket),
        ("stack-view", "warning", UNTAGGED, main, bucket),
        ("stack-view", "warning", subnet_urn, main, subnet),
    ]
    assert len(run["results"]) == len(judged.violations)


def test_a_blocked_preview_writes_its_policy_checks_as_junit(
    cli_outputs: tuple[Result, dict[str, Path]], judged: PreviewResult
) -> None:
    path = cli_outputs[1]["junit"]
    junit_xsd().validate(str(path))
    [suite] = ET.parse(path).getroot().findall("testsuite")
    cases = [(case.get("classname"), case.get("name"), case.find("failure") is not None) for case in suite]
    cases = [case for case in cases if case[0] is not None]
    # The fixture pack says nothing of what its policies apply to: each resource policy applies to every
    # resource judged, as the CLI counts them.
    resources = [s.urn for s in judged.packs[0].summaries if s.urn]
    resource_cases = [(policy, urn) for policy, urn, _ in cases if policy != "stack-view"]
    assert sorted(resource_cases) == sorted(
        (policy, urn) for policy in ("bucket-has-tags", "bucket-name-prefix") for urn in resources
    )
    assert sorted((policy, urn) for policy, urn, failed in cases if failed) == sorted(
        {(v.policy, v.urn) for v in judged.violations}
    )
    assert int(suite.get("failures", "")) == 4 and int(suite.get("tests", "")) == len(cases)


def test_a_missing_stack_is_reported_plainly() -> None:
    result = run_preview(SAMPLE, "nope", [PACK])
    assert result.exit_code == 2
    assert result.failure is not None and "Pulumi.nope.yaml" in result.failure


def test_config_errors_are_shown_without_a_traceback() -> None:
    root = Path(__file__).resolve().parent.parent
    result = run_preview(
        root, "prod", config_overrides={"paved:network": {"azCount": 2, "cidrr": "10.0.0.0/16"}}
    )
    assert result.exit_code == 2
    text = render_text(result, NON_TERMINAL_WIDTH)
    assert "paved:network.azCount" in text and "paved:network.cidrr" in text and "did you mean" in text
    assert "Traceback" not in text
    assert text.splitlines()[-1] == (
        "Preview failed: the configuration is invalid (see above), so no policy judged the resources."
    )
    assert result.recording is not None and len(result.recording.resources) == 1


def test_a_directory_that_is_not_a_pack_fails_the_preview_plainly(tmp_path: Path) -> None:
    result = run_preview(SAMPLE, "dev", [tmp_path])
    assert result.exit_code == ExitCode.BLOCKED and result.packs == [] and result.pack_failure
    assert result.failure is not None and "has no PulumiPolicy.yaml" in result.failure
    final = render_text(result, NON_TERMINAL_WIDTH).splitlines()[-1]
    assert final == "Preview failed: a policy pack failed (see above), so no policy judged the resources."


def test_a_failed_program_is_not_judged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    proofs = proving(monkeypatch, preview_module, [BROKEN])
    project = tmp_path / "project"
    shutil.copytree(SAMPLE, project)
    with (project / "__main__.py").open("a") as main:
        main.write('\nraise RuntimeError("the program broke")\n')
    result = run_preview(project, "dev", [PACK])
    assert result.packs == [] and result.exit_code == 1
    assert proofs == [] and result.flows == []  # nor its wiring proved
    assert result.failure is not None and "the program broke" in result.failure
    assert result.recording is not None and result.recording.resources
    final = render_text(result, NON_TERMINAL_WIDTH).splitlines()[-1]
    assert final == "Preview failed: the program failed (see above), so no policy judged the resources."
    # The program's failure is the one said, even when a pack could not start either.
    broken_pack = run_preview(project, "dev", [tmp_path / "no-pack"])
    assert broken_pack.failure is not None and "the program broke" in broken_pack.failure
    assert "PulumiPolicy.yaml" not in broken_pack.failure


# ---------------------------------------------------------------------------------------------
# The wiring proof in the preview: shown after the policies, in the JSON, and enforced.


def proved(*flows: FlowResult) -> PreviewResult:
    recording = Recording(project="demo", stack="dev")
    return PreviewResult(project="demo", stack="dev", config={}, recording=recording, flows=list(flows))


def test_failing_flows_fail_the_preview_and_are_shown_with_their_evidence() -> None:
    result = proved(BROKEN, PROVEN, PRESENT_FORBIDDEN, CONDITIONAL, UNRESOLVED)
    assert result.exit_code == 1
    assert result.failing_flows == [BROKEN, PRESENT_FORBIDDEN]
    text = render_text(result, NON_TERMINAL_WIDTH)
    wiring = text[text.index("Wiring:") :].splitlines()
    assert wiring[0] == "Wiring: 5 flows, 1 proven, 2 broken, 2 conditional or unresolved"
    chain = "sg-rule cluster-from-runner → eks-cluster:443 · route private-a → nat-a"
    assert wiring[1:4] == [
        "    ✘ required  runner->eks-api       title of runner->eks-api",
        f"        {chain}",
        "        broken: no ingress on 'eks-cluster' from the runner",
    ]
    assert wiring[4:6] == ["    ✔ required  api->database         title of api->database", f"        {chain}"]
    assert "    ✘ forbidden internet-x->database  title of internet-x->database" in wiring
    assert "    ? required  api->secrets          title of api->secrets" in wiring
    assert "        conditional: aws:PrincipalTag/team is not known" in wiring
    assert "        unresolved: 'cache'.securityGroupIds is unknown" in wiring
    assert f"    {WIRING_LEGEND}" in wiring
    assert text.endswith("Preview failed: 0 mandatory, 0 other policy violations, 2 failing wiring flows.\n")


def test_doubtful_flows_are_shown_but_do_not_fail_the_preview() -> None:
    result = proved(PROVEN, CONDITIONAL, UNRESOLVED)
    assert result.exit_code == 0
    final = render_text(result, NON_TERMINAL_WIDTH).splitlines()[-1]
    assert final == "Preview succeeded: 0 mandatory, 0 other policy violations, 0 failing wiring flows."


def test_the_json_carries_the_flows() -> None:
    [entry] = preview_digest(proved(BROKEN))["flows"]
    assert entry == {
        "id": "runner->eks-api",
        "kind": "required",
        "title": "title of runner->eks-api",
        "verdict": "broken",
        "evidence": [
            {
                "kind": "sg-rule",
                "text": "cluster-from-runner → eks-cluster:443",
                "urn": RUNNER_RULE,
                "property": "referencedSecurityGroupId",
            },
            {"kind": "route", "text": "private-a → nat-a", "urn": None, "property": None},
        ],
        "reason": "no ingress on 'eks-cluster' from the runner",
    }


def test_a_clean_program_is_proved_with_its_lineage(monkeypatch: pytest.MonkeyPatch) -> None:
    seen = proving(monkeypatch, preview_module, [BROKEN])
    result = run_preview(SAMPLE, "dev")
    assert result.flows == [BROKEN] and result.exit_code == 1
    [snapshot] = seen
    assert result.recording is not None
    assert list(snapshot.resources) == [r.urn for r in result.recording.resources]
    # The subnet's unknown vpcId is the placeholder of the VPC's id, from the recorded lineage.
    [subnet] = snapshot.of_type("aws:ec2/subnet:Subnet")
    [vpc] = snapshot.of_type("aws:ec2/vpc:Vpc")
    assert snapshot.origin(subnet.get("vpcId")) == Origin(vpc.urn, "id")
    assert snapshot.config["demo:thing"] == {"a": 1}


# Wide enough that no row here wraps: these tests are about columns and cuts, test_terminal.py about wrapping.
UNWRAPPED_WIDTH = 300


def test_a_long_flow_id_does_not_push_every_title_off_the_screen() -> None:
    long_id = "order:database-replica-1-after-database-monitoring-managed-0"
    text = render_text(proved(PROVEN, fake_flow(long_id, Verdict.PROVEN, "order")), UNWRAPPED_WIDTH)
    assert "    ✔ required  api->database  title of api->database" in text
    assert f"    ✔ order     {long_id}  title of {long_id}" in text


def test_a_long_evidence_chain_is_cut_at_a_hop_and_points_to_why() -> None:
    hops = tuple(Hop("sg-rule", f"rule-{index:02} → target:443") for index in range(30))
    text = render_text(proved(fake_flow("api->database", Verdict.PROVEN, hops=hops)), UNWRAPPED_WIDTH)
    [chain] = [line.strip() for line in text.splitlines() if "rule-00" in line]
    assert len(chain) <= WIRING_CHAIN_WIDTH + len(" · … 30 more (--why 'api->database')")
    shown = chain.split(" · … ")[0].split(" · ")
    assert shown == [str(hop) for hop in hops[: len(shown)]]
    assert chain.endswith(f" · … {len(hops) - len(shown)} more (--why 'api->database')")
