"""EKS versions: config accepts only versions in standard support on the day it runs, by EKS's calendar.

Every test here fixes the day: the calendar moves, the tests must not.
"""

import re
from datetime import date
from pathlib import Path

import pytest
import yaml

import components.cluster
from components.cluster import EKS_CALENDAR, eks_version_problem, eks_versions_in_standard_support
from paved.config import load_stack_config
from paved.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent
ISSUE_DAY = date(2026, 12, 4)


def test_calendar_rows_are_fourteen_then_twelve_months() -> None:
    # The rule the AWS page states; a mistyped date breaks it.
    for version, dates in EKS_CALENDAR.items():
        released = dates.eks_release
        assert dates.end_of_standard_support == released.replace(
            year=released.year + (released.month + 14 - 1) // 12, month=(released.month + 14 - 1) % 12 + 1
        ), version
        assert dates.end_of_extended_support == dates.end_of_standard_support.replace(
            year=dates.end_of_standard_support.year + 1
        ), version


@pytest.mark.parametrize(
    ("day", "versions"),
    [
        (date(2026, 7, 28), ("1.33", "1.34", "1.35", "1.36")),
        (date(2026, 7, 29), ("1.34", "1.35", "1.36")),
        # Extended billing starts at the beginning of the end date: 1.34 is out on 2 Dec 2026 itself.
        (date(2026, 12, 1), ("1.34", "1.35", "1.36")),
        (date(2026, 12, 2), ("1.35", "1.36")),
        (ISSUE_DAY, ("1.35", "1.36")),
        (date(2027, 3, 27), ("1.36",)),
        (date(2026, 6, 1), ("1.33", "1.34", "1.35")),
    ],
)
def test_versions_in_standard_support_follow_the_calendar(day: date, versions: tuple[str, ...]) -> None:
    assert eks_versions_in_standard_support(day) == versions


def test_a_version_past_standard_support_says_when_it_ended_and_why_the_config_must_follow_the_cluster() -> (
    None
):
    problem = eks_version_problem("1.34", ISSUE_DAY)
    assert problem is not None
    message, hint = problem
    assert "left standard support on 2026-12-02" in message
    assert "ends 2027-12-02" in message
    assert "1.35 (standard support until 2027-03-27)" in hint
    assert "1.36 (standard support until 2027-08-02)" in hint
    # With upgradePolicy STANDARD, EKS has already moved the cluster on; it can't go back.
    assert "STANDARD" in hint and "can't downgrade" in hint


def test_unknown_and_unreleased_versions_are_rejected() -> None:
    unknown = eks_version_problem("1.29", ISSUE_DAY)
    assert unknown is not None and "not in paved's EKS calendar" in unknown[0]
    assert eks_version_problem("1.37", ISSUE_DAY) is not None
    unreleased = eks_version_problem("1.36", date(2026, 5, 1))
    assert unreleased is not None and "not released on EKS until 2026-06-02" in unreleased[0]
    assert eks_version_problem("1.36", ISSUE_DAY) is None


def _staging_with(version: str) -> dict:
    raw = yaml.safe_load((ROOT / "stacks" / "Pulumi.staging.yaml").read_text())["config"]
    raw["paved:cluster"]["version"] = version
    return raw


@pytest.mark.parametrize(("day", "accepted"), [(date(2026, 12, 1), True), (ISSUE_DAY, False)])
def test_config_checks_the_version_against_the_day_it_runs(
    monkeypatch: pytest.MonkeyPatch, day: date, accepted: bool
) -> None:
    monkeypatch.setattr(components.cluster, "today", lambda: day)
    raw = _staging_with("1.34")
    if accepted:
        assert load_stack_config(raw, "staging").cluster.version == "1.34"
        return
    with pytest.raises(ConfigError) as error:
        load_stack_config(raw, "staging")
    [problem] = [p for p in error.value.problems if p.path == "paved:cluster.version"]
    assert "2026-12-02" in problem.message


def test_readme_lists_the_versions_in_standard_support_on_the_day_it_names() -> None:
    readme = (ROOT / "README.md").read_text()
    [row] = [line for line in readme.splitlines() if line.startswith("| `version` | a version in EKS")]
    found = re.fullmatch(
        r".*?standard support on the day config is loaded: (.*?) on (\d{4}-\d\d-\d\d) .*", row
    )
    assert found, row
    listed, day = found.groups()
    named = tuple(re.findall(r'"(\d+\.\d+)"', listed))
    assert named == eks_versions_in_standard_support(date.fromisoformat(day))
