"""`paved drill cleanup` against a moto server over HTTP, through real boto3 clients: boto3 isn't patched."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from typer.testing import CliRunner

from paved.cli import app
from paved.drill import DRILL_TAG, STACK_TAG, DrillInstance, clean_up
from tests.moto_resources import postgres_instance

REGION = "eu-west-1"


def _rds(endpoint: str) -> Any:
    return boto3.client("rds", region_name=REGION, endpoint_url=endpoint)


def _create(rds: Any, identifier: str, tags: dict[str, str], *, protected: bool = False) -> None:
    postgres_instance(
        rds,
        identifier,
        DeletionProtection=protected,
        Tags=[{"Key": key, "Value": value} for key, value in tags.items()],
    )


def _identifiers(rds: Any) -> set[str]:
    return {instance["DBInstanceIdentifier"] for instance in rds.describe_db_instances()["DBInstances"]}


@pytest.fixture
def fleet(aws: str) -> Any:
    """Prod's database, two prod drills (one protected), a staging drill, and an instance tagged with the
    drill tag but no stack."""
    rds = _rds(aws)
    _create(rds, "paved-prod-db", {"environment": "prod", "managed-by": "paved"}, protected=True)
    _create(rds, "paved-prod-drill-a1", {DRILL_TAG: "a1", STACK_TAG: "prod"}, protected=True)
    _create(rds, "paved-prod-drill-b2", {DRILL_TAG: "b2", STACK_TAG: "prod"})
    _create(rds, "paved-staging-drill-c3", {DRILL_TAG: "c3", STACK_TAG: "staging"})
    _create(rds, "stray-drill", {DRILL_TAG: "d4", "environment": "prod"})
    # Not a drill: only the stack tag.
    _create(rds, "paved-prod-replica", {STACK_TAG: "prod"})
    return rds


def _cleanup(endpoint: str, *extra: str, input: str | None = None) -> Any:
    args = ["drill", "cleanup", "--stack", "prod", "--region", REGION, "--endpoint-url", endpoint, *extra]
    return CliRunner().invoke(app, args, input=input)


UNTOUCHED = {"paved-prod-db", "paved-staging-drill-c3", "stray-drill", "paved-prod-replica"}


def test_cleanup_deletes_only_the_stacks_drills_and_prints_the_plan_first(aws: str, fleet: Any) -> None:
    result = _cleanup(aws, "--yes")
    assert result.exit_code == 0, result.output
    assert _identifiers(fleet) == UNTOUCHED
    lines = result.stdout.splitlines()
    assert lines[0] == f"Drill cleanup of stack prod in {REGION}: 2 drill instances"
    assert lines[1].split() == ["paved-prod-drill-a1", "drill", "a1", "deletion", "protection", "on"]
    assert lines[2].split() == ["paved-prod-drill-b2", "drill", "b2", "deletion", "protection", "off"]
    # The plan comes before any change.
    assert lines.index("  paved-prod-drill-a1: deletion protection turned off; deleting") > 2
    assert "  paved-prod-drill-b2: deleting" in lines
    assert lines[-1] == "Drill cleanup done: 2 resource(s)."
    # The stack's own database keeps its deletion protection.
    [db] = fleet.describe_db_instances(DBInstanceIdentifier="paved-prod-db")["DBInstances"]
    assert db["DeletionProtection"] is True


def test_a_second_run_finds_nothing(aws: str, fleet: Any) -> None:
    assert _cleanup(aws, "--yes").exit_code == 0
    again = _cleanup(aws, "--yes")
    assert again.exit_code == 0
    assert again.stdout == f"No drill instances of stack prod in {REGION}: nothing to clean up.\n"
    assert _identifiers(fleet) == UNTOUCHED


def test_answering_no_changes_nothing(aws: str, fleet: Any) -> None:
    before = fleet.describe_db_instances()["DBInstances"]
    result = _cleanup(aws, input="n\n")
    assert result.exit_code == 0
    assert "paved-prod-drill-a1" in result.stdout and "Delete 2 drill resource(s)? [y/N]:" in result.stdout
    assert result.stdout.endswith("Nothing deleted.\n")
    after = fleet.describe_db_instances()["DBInstances"]
    assert [(i["DBInstanceIdentifier"], i["DeletionProtection"]) for i in after] == [
        (i["DBInstanceIdentifier"], i["DeletionProtection"]) for i in before
    ]


def test_answering_yes_deletes(aws: str, fleet: Any) -> None:
    result = _cleanup(aws, input="y\n")
    assert result.exit_code == 0, result.output
    assert _identifiers(fleet) == UNTOUCHED


def test_no_answer_without_yes_is_a_usage_error_and_changes_nothing(aws: str, fleet: Any) -> None:
    result = _cleanup(aws, input="")
    assert result.exit_code == 2
    assert "pass --yes to run unattended" in result.stderr
    assert len(_identifiers(fleet)) == 6


def test_an_instance_already_gone_is_reported_not_failed(aws: str) -> None:
    rds = _rds(aws)
    gone = DrillInstance("paved-prod-drill-gone", "x", deletion_protection=False, status="available")
    assert clean_up(rds, gone).message == "already gone"
    assert not clean_up(rds, gone).failed
    # Listed while deleting: no call is made for it (moto has no such instance, so one would fail).
    deleting = DrillInstance("paved-prod-drill-z", "z", deletion_protection=True, status="deleting")
    outcome = clean_up(rds, deleting)
    assert outcome.message == "already deleting" and not outcome.failed


def test_an_endpoint_that_cannot_be_reached_exits_1(aws: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    result = _cleanup(f"http://127.0.0.1:{port}", "--yes")
    assert result.exit_code == 1
    assert "paved drill cleanup: cannot list the drill resources:" in result.stderr


def test_protection_that_stays_on_is_a_failed_outcome_and_nothing_is_deleted(aws: str) -> None:
    rds = _rds(aws)
    _create(rds, "paved-prod-drill-p", {DRILL_TAG: "p", STACK_TAG: "prod"}, protected=True)
    # Deletion protection that never reads as off: the poll gives up after its attempts, without sleeping.
    stale = DrillInstance("paved-prod-drill-p", "p", deletion_protection=True, status="available")
    calls: list[float] = []

    class Stuck:
        def __init__(self, client: Any) -> None:
            self._client = client

        def modify_db_instance(self, **_: Any) -> None:
            pass  # protection stays on

        def describe_db_instances(self, **kwargs: Any) -> Any:
            return self._client.describe_db_instances(**kwargs)

    outcome = clean_up(Stuck(rds), stale, sleep=calls.append, attempts=3, delay=0.5)
    assert outcome.failed and outcome.message == "deletion protection is still on; not deleted"
    assert calls == [0.5, 0.5]
    assert "paved-prod-drill-p" in _identifiers(rds)
    # Deleting anyway would fail: moto, like RDS, refuses to delete a protected instance.
    with pytest.raises(ClientError):
        rds.delete_db_instance(DBInstanceIdentifier="paved-prod-drill-p", SkipFinalSnapshot=True)


def test_no_region_is_a_usage_error(aws: str) -> None:
    result = CliRunner().invoke(app, ["drill", "cleanup", "--stack", "prod", "--endpoint-url", aws])
    assert result.exit_code == 2
    assert "no AWS region" in result.stderr
