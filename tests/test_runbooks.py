"""Every alert paved creates has a runbook page (docs/runbooks/), and every alarm and event rule links to it.

An on-call engineer paged at night reads the alarm's description first: it ends with its page, which says
what the alert means, the first three checks, and the paved command that helps.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from paved.program import run_project
from paved.recorder import Recording
from tests.data_tier import recording_of
from tests.stack_config import REPORTS, with_apps
from tests.test_email import email_on
from tests.test_nats import nats_on

ROOT = Path(__file__).resolve().parent.parent
RUNBOOKS = ROOT / "docs" / "runbooks"
LINK = re.compile(r" \(runbook: docs/runbooks/([a-z0-9-]+)\.md\)$")
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
COMPOSITE = "aws:cloudwatch/compositeAlarm:CompositeAlarm"
RULE = "aws:cloudwatch/eventRule:EventRule"
# Alerts that are neither alarms nor rules: RDS's event subscription and ElastiCache's notification topic.
OTHER_ALERTS = {
    "database-events": ("aws:rds/eventSubscription:EventSubscription", "database"),
    "cache-notifications": ("aws:sns/topic:Topic", "alerts-elasticache"),
}


# Pages of alerts that exist only when a stack turns on what the shipped stacks leave off (paved:nats,
# paved:email, a cronjob app).
OPT_IN_ALERTS = {"nats-restarts", "nats-pods", "email-bounce-rate", "email-complaint-rate", "cronjob-failed"}


def _pages() -> set[str]:
    return {path.stem for path in RUNBOOKS.glob("*.md")} - {"README"}


def _linked(recording: Recording) -> dict[str, str]:
    """Alert name -> the page its description links."""
    linked = {}
    for resource, description in [
        *((alarm, alarm.inputs["alarmDescription"]) for alarm in recording.of_type(ALARM)),
        *((alarm, alarm.inputs["alarmDescription"]) for alarm in recording.of_type(COMPOSITE)),
        *((rule, rule.inputs["description"]) for rule in recording.of_type(RULE)),
    ]:
        found = LINK.search(description)
        assert found, f"{resource.name}: its description does not end with its runbook: {description!r}"
        linked[resource.inputs.get("name") or resource.inputs["alarmName"]] = found.group(1)
    return linked


@pytest.mark.parametrize("stack", ["prod", "staging"])
def test_every_alarm_and_event_rule_links_a_runbook_page_that_exists(
    request: pytest.FixtureRequest, stack: str
) -> None:
    linked = _linked(recording_of(request, stack))
    assert linked, "both stacks have alarms"
    assert {name: page for name, page in linked.items() if page not in _pages()} == {}


def test_every_page_is_an_alert_of_a_shipped_stack(prod: Recording, staging: Recording) -> None:
    used = set(_linked(prod).values()) | set(_linked(staging).values()) | set(OTHER_ALERTS)
    assert _pages() == used | OPT_IN_ALERTS
    for type_, name in OTHER_ALERTS.values():
        assert prod.one(type_, name)


def test_opt_in_alerts_link_their_pages(staging: Recording) -> None:
    """Alerts of what the shipped stacks leave off, recorded with it on."""
    raw = email_on(nats_on("staging"))
    recording = run_project(ROOT, "staging", with_apps(raw, REPORTS))
    assert set(_linked(recording).values()) - set(_linked(staging).values()) == OPT_IN_ALERTS


@pytest.mark.parametrize("page", sorted(_pages()))
def test_each_page_says_what_it_means_the_first_three_checks_and_what_helps(page: str) -> None:
    text = (RUNBOOKS / f"{page}.md").read_text()
    headings = re.findall(r"^## (.+)$", text, flags=re.MULTILINE)
    assert headings == ["What it means", "First checks", "What helps"]
    checks = text.split("## First checks", 1)[1].split("## What helps", 1)[0]
    assert re.findall(r"^(\d+)\. ", checks, flags=re.MULTILINE) == ["1", "2", "3"]
    assert text.startswith("# ") and "**Alert:**" in text


def test_the_index_lists_every_page() -> None:
    index = (RUNBOOKS / "README.md").read_text()
    assert set(re.findall(r"\]\(([a-z0-9-]+)\.md\)", index)) == _pages()
