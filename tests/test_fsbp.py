"""The FSBP catalogue and the rules that claim its controls: every id a rule names is a real control the
preview can judge, and the policy carries it where the Analyzer protocol puts compliance frameworks."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from paved_policies import fsbp
from paved_policies.coverage import Coverage, claims, coverage_of, coverage_page
from paved_policies.pack import RULES, build_policies
from pulumi_policy import EnforcementLevel
from pulumi_policy import policy as sdk

CONTROL_ID = re.compile(r"^[A-Za-z0-9]+\.[0-9]+$")
AWS_SEVERITIES = {"Critical", "High", "Medium", "Low"}


def test_the_catalogue_is_read_off_aws_pages_with_every_field() -> None:
    document = fsbp.controls()
    assert document, "no controls"
    for control in document.values():
        assert CONTROL_ID.match(control.id), control.id
        assert control.title.strip() and control.severity in AWS_SEVERITIES, control
        assert control.preview_cannot_decide is None or control.preview_cannot_decide.strip(), control
        assert all(re.match(r"^v\d+\.\d+\.\d+/\d+(\.\d+)*$", requirement) for requirement in control.cis)
    assert fsbp.controls()["RDS.2"].url.endswith("/rds-controls.html#rds-2")


def test_every_claimed_control_exists_and_a_preview_can_decide_it() -> None:
    catalogue = fsbp.controls()
    for rule in RULES.values():
        for control_id in rule.fsbp:
            assert control_id in catalogue, f"{rule.name}: {control_id} is not an FSBP control"
            reason = catalogue[control_id].preview_cannot_decide
            assert reason is None, f"{rule.name} claims {control_id}, which the catalogue says: {reason}"


def test_the_analyzer_reports_the_fsbp_framework_and_cis_tags() -> None:
    servicer = sdk._PolicyAnalyzerServicer(
        "paved-aws", "0.0.1", build_policies("prod"), EnforcementLevel.MANDATORY
    )
    info = {policy.name: policy for policy in servicer.GetAnalyzerInfo(None, None).policies}
    claimed = [rule for rule in RULES.values() if rule.fsbp]
    assert claimed
    for rule in claimed:
        framework = info[rule.name].framework
        assert (framework.name, framework.version) == (fsbp.FRAMEWORK_NAME, fsbp.FRAMEWORK_VERSION)
        assert framework.reference == ", ".join(rule.fsbp)
        cis = {f"cis:{r}" for control_id in rule.fsbp for r in fsbp.controls()[control_id].cis}
        assert cis <= set(info[rule.name].tags)
        assert {f"fsbp:{control_id}" for control_id in rule.fsbp} <= set(info[rule.name].tags)
    unclaimed = next(rule for rule in RULES.values() if not rule.fsbp)
    assert not info[unclaimed.name].HasField("framework")


ROOT = Path(__file__).resolve().parent.parent


def test_the_coverage_page_is_generated_from_the_metadata() -> None:
    page = coverage_page(RULES.values())
    committed = (ROOT / "docs" / "fsbp-coverage.md").read_text()
    assert committed == page, "regenerate: PYTHONPATH=policies uv run python -m paved_policies.coverage"
    for control_id in fsbp.controls():
        assert f"[{control_id}](" in page


def _control(**fields: str) -> fsbp.Control:
    base: dict[str, object] = {
        "id": "RDS.2",
        "title": "t",
        "severity": "High",
        "cis": (),
        "preview_cannot_decide": None,
        "preview_decides_when": None,
        "paved_differs": None,
        "note": None,
    }
    merged: dict[str, Any] = base | fields
    return fsbp.Control(**merged)


@pytest.mark.parametrize(
    ("fields", "policies", "status"),
    [
        ({}, ["rds-not-public"], Coverage.JUDGED),
        ({}, [], Coverage.NOT_JUDGED),
        ({"preview_decides_when": "the stack declares it"}, ["p"], Coverage.JUDGED_WHEN_DECLARED),
        ({"preview_cannot_decide": "runtime state"}, [], Coverage.CANNOT_DECIDE),
        ({"paved_differs": "redirects are safe"}, [], Coverage.PAVED_DIFFERS),
    ],
)
def test_a_controls_status_follows_its_policies_and_reasons(
    fields: dict[str, str], policies: list[str], status: Coverage
) -> None:
    found, detail = coverage_of(_control(**fields), policies)
    assert found is status
    assert all(f"`{name}`" in detail for name in policies)
    assert all(text in detail for text in fields.values())


def test_every_control_is_judged_or_says_why_not() -> None:
    by_control = claims(RULES.values())
    for control_id, control in fsbp.controls().items():
        status, detail = coverage_of(control, by_control.get(control_id, []))
        assert status is not Coverage.NOT_JUDGED, f"{control_id}: no policy claims it and no reason is given"
        assert detail.strip(), control_id
        # A control paved decides differently or can't decide is not also claimed: the page would say both.
        if status in (Coverage.PAVED_DIFFERS, Coverage.CANNOT_DECIDE):
            assert control_id not in by_control, f"{control_id} is claimed by {by_control[control_id]}"
