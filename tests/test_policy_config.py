"""`--policy-pack-config` documents judged before the program runs, or once the pack says what it has."""

import json
from pathlib import Path

import pytest
from paved_policies.exemptions import EXEMPTIONS_CONFIG, EXEMPTIONS_SCHEMA
from pulumi.runtime.proto import analyzer_pb2

from paved.analyzer import PolicyConfigError, merge_policy_config, policy_config_problems, read_policy_config
from paved.preview import run_preview

FIXTURES = Path(__file__).parent / "fixtures"
SAMPLE = FIXTURES / "sample_program"
PACK = FIXTURES / "sample_pack"


def test_a_document_the_cli_would_refuse_lists_every_problem_at_its_key() -> None:
    document = {
        "a": "block",
        "b": {"enforcementLevel": "warn", "x": 1},
        "c": 3,
        "d": "advisory",
        "all": "off",
    }
    problems = policy_config_problems(document)
    assert [problem.path for problem in problems] == ["a", "b.enforcementLevel", "c", "all"]
    assert all("advisory, disabled, mandatory, remediate" in problem.hint for problem in problems)
    assert policy_config_problems(["a"])[0].message == "must be a JSON object"
    assert policy_config_problems({"a": "mandatory", "b": {"limit": 3}}) == []


@pytest.mark.parametrize(
    ("text", "said"),
    [(None, "cannot be read"), ("{not json", "is not JSON"), ("[1]", "must be a JSON object")],
)
def test_an_unreadable_document_is_said_with_its_file(tmp_path: Path, text: str | None, said: str) -> None:
    path = tmp_path / "config.json"
    if text is not None:
        path.write_text(text)
    with pytest.raises(PolicyConfigError) as caught:
        read_policy_config(path)
    assert f"Invalid policy pack config {path}: 1 problem" in str(caught.value) and said in str(caught.value)


@pytest.mark.parametrize("text", ["", " \n\t\r\n"])
def test_a_blank_document_is_no_config_as_in_the_cli(tmp_path: Path, text: str) -> None:
    # As the CLI: pulumi/pulumi pkg/resource/analyzer/config.go, parsePolicyPackConfig, returns no config
    # when strings.TrimSpace of the file is "" (its config_test.go, case "empty config").
    path = tmp_path / "config.json"
    path.write_text(text)
    assert read_policy_config(path) == {}


def test_a_preview_with_a_blank_document_is_judged_at_the_pack_defaults(tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text("\n")
    result = run_preview(SAMPLE, "dev", [PACK], [config])
    assert not result.config_failure and result.exit_code == 1, result.failure
    assert ("bucket-has-tags", "mandatory") in {(v.policy, v.level) for v in result.violations}


def _pack_info() -> analyzer_pb2.AnalyzerInfo:
    info = analyzer_pb2.AnalyzerInfo(name="paved", version="1")
    policy = info.policies.add(name="rds-encrypted", enforcementLevel=analyzer_pb2.MANDATORY)
    policy.configSchema.properties.update({EXEMPTIONS_CONFIG: dict(EXEMPTIONS_SCHEMA)})
    info.policies.add(name="bucket-versioned", enforcementLevel=analyzer_pb2.MANDATORY)
    return info


def test_a_policy_the_pack_lacks_is_refused_with_a_did_you_mean() -> None:
    with pytest.raises(PolicyConfigError) as caught:
        merge_policy_config(_pack_info(), [{"rds-encrypt": "advisory", "all": "mandatory"}])
    [problem] = caught.value.problems
    assert problem.path == "rds-encrypt" and "not a policy of pack paved" in problem.message
    assert "did you mean 'rds-encrypted'?" in problem.hint


def test_a_waiver_without_a_reason_is_refused_at_its_path() -> None:
    waivers = [{"urn": "*::db"}, {"urn": "*::cache", "reason": "migrating", "until": "2027"}]
    with pytest.raises(PolicyConfigError) as caught:
        merge_policy_config(_pack_info(), [{"rds-encrypted": {EXEMPTIONS_CONFIG: waivers}}])
    paths = sorted(problem.path for problem in caught.value.problems)
    assert paths == ["rds-encrypted.exemptions[0]", "rds-encrypted.exemptions[1]"]


def test_a_bad_document_stops_the_preview_before_the_program(tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"bucket-has-tags": "blocking"}))
    result = run_preview(SAMPLE, "dev", [PACK], [config])
    assert result.exit_code == 2 and result.recording is None
    assert (
        result.failure is not None
        and "bucket-has-tags: 'blocking' is not an enforcement level" in result.failure
    )


def test_more_configs_than_packs_is_a_usage_error(tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text("{}")
    result = run_preview(SAMPLE, "dev", [], [config])
    assert result.exit_code == 2 and result.recording is None


def test_a_policy_the_pack_lacks_stops_the_preview_without_a_resource_tree(tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"bucket-has-tag": "advisory"}))
    result = run_preview(SAMPLE, "dev", [PACK], [config])
    assert result.exit_code == 2
    assert result.recording is None and result.packs == [] and result.flows == []
    assert result.failure is not None and "did you mean 'bucket-has-tags'?" in result.failure
