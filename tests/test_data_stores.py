"""What every data store shares (components/data_stores.py): protection, alerting, and the config rules of the
data tier as a whole.
"""

from __future__ import annotations

from typing import Any

import pytest

from paved.config import load_stack_config
from paved.recorder import Recording
from tests.alerts import notifying_alarms
from tests.data_tier import (
    ALARM,
    BACKUPS_REPLICATION,
    INSTANCE,
    KEY,
    REPLICATION_GROUP,
    STACKS,
    VAULT,
    alarm_names,
    changed,
    problem_paths,
    recording_of,
)

# Resource types whose loss loses data: protected in prod, not in staging.
STATEFUL_TYPES = (INSTANCE, REPLICATION_GROUP, KEY, VAULT, BACKUPS_REPLICATION)


@pytest.mark.parametrize(("stack", "protected"), [("prod", True), ("staging", False)])
def test_stateful_resources_are_protected_in_prod_only(
    stack: str, protected: bool, request: pytest.FixtureRequest
) -> None:
    recording = recording_of(request, stack)
    stateful = [r for r in recording.resources if r.type in STATEFUL_TYPES]
    expected_types = {INSTANCE, REPLICATION_GROUP, KEY} | (
        {VAULT, BACKUPS_REPLICATION} if protected else set()
    )
    assert {r.type for r in stateful} == expected_types
    assert {(r.type, r.name): r.protect for r in stateful} == {(r.type, r.name): protected for r in stateful}


@pytest.mark.parametrize("stack", STACKS)
def test_every_data_tier_alarm_notifies(stack: str, request: pytest.FixtureRequest) -> None:
    alarms = [
        a
        for a in notifying_alarms(recording_of(request, stack))
        if a.name.startswith(("database-", "cache-"))
    ]
    assert alarms
    for alarm in alarms:
        assert alarm.inputs["alarmActions"] and alarm.inputs["okActions"], alarm.name
        assert alarm.property_dependencies["alarmActions"], alarm.name


def test_prod_alarm_set(prod: Recording) -> None:
    assert alarm_names(prod, "database-") == {
        "cpu",
        "free-storage",
        "read-latency",
        "freeable-memory",
        "connections",
        "replica-1-lag",
        "restore-drill",
        "proxy-auth-failures",
        "proxy-connect-failures",
    }
    per_node = {"cpu", "memory", "evictions", "connections", "replication-lag"}
    assert alarm_names(prod, "cache-") == {f"{node}-{kind}" for node in (1, 2) for kind in per_node}
    # ElastiCache reports per node, <group id>-001, -002: https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/CacheMetrics.html
    nodes = {
        a.inputs["dimensions"]["CacheClusterId"] for a in prod.of_type(ALARM) if a.name.startswith("cache-")
    }
    assert nodes == {"paved-prod-cache-001", "paved-prod-cache-002"}


def test_shipped_stacks_are_valid() -> None:
    for stack in STACKS:
        load_stack_config(changed(stack, {}), stack)


@pytest.mark.parametrize(
    ("stack", "changes", "path"),
    [
        # https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_PIOPS.Autoscaling.html (≥ 10% above)
        (
            "prod",
            {"paved:database": {"allocatedStorage": 200, "maxAllocatedStorage": 219}},
            "paved:database.maxAllocatedStorage",
        ),
        # https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_WorkingWithAutomatedBackups.html (≤ 35)
        ("staging", {"paved:database": {"backupRetentionDays": 40}}, "paved:database.backupRetentionDays"),
        ("prod", {"paved:database": {"multiAz": False}}, "paved:database.multiAz"),
        # AWS rejects overlapping backup and maintenance windows.
        (
            "staging",
            {"paved:database": {"backupWindow": "03:00-04:00", "maintenanceWindow": "sun:03:30-sun:04:30"}},
            "paved:database.maintenanceWindow",
        ),
        # https://docs.aws.amazon.com/AmazonElastiCache/latest/APIReference/API_CreateReplicationGroup.html
        # (SnapshotWindow: at least 60 minutes)
        ("staging", {"paved:cache": {"snapshotWindow": "00:30-01:00"}}, "paved:cache.snapshotWindow"),
        # https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBInstance.html
        # (PerformanceInsightsRetentionPeriod: 7, 31 × months, or 731)
        (
            "staging",
            {"paved:database": {"performanceInsightsRetentionDays": 100}},
            "paved:database.performanceInsightsRetentionDays",
        ),
    ],
)
def test_invalid_data_tier_config_is_rejected(stack: str, changes: dict[str, Any], path: str) -> None:
    assert path in problem_paths(changed(stack, changes), stack)


def test_limits_accept_their_boundaries() -> None:
    # The rules above must not reject the edge values AWS accepts.
    raw = changed(
        "staging",
        {
            "paved:database": {
                "allocatedStorage": 200,
                "maxAllocatedStorage": 220,
                "backupRetentionDays": 35,
                "performanceInsightsRetentionDays": 93,
            },
            "paved:cache": {"snapshotWindow": "00:30-01:30"},
        },
    )
    load_stack_config(raw, "staging")
