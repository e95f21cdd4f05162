"""ElastiCache (components/cache.py), run per stack under first-preview semantics."""

from __future__ import annotations

import pytest

from paved.program import run_project
from paved.recorder import Recording
from paved.values import is_secret
from tests.data_tier import (
    CACHE_PARAMETER_GROUP,
    LOG_GROUP,
    RANDOM_PASSWORD,
    REPLICATION_GROUP,
    STACKS,
    alarm_names,
    key_urn,
    parameters_of,
    recording_of,
)
from tests.stack_config import (
    ROOT,
    Mutation,
    assert_rule_reports_path_and_hint,
    case,
    changed,
    section,
    shipped,
)


@pytest.mark.parametrize("stack", STACKS)
def test_cache_is_valkey_encrypted_with_a_rotating_token(stack: str, request: pytest.FixtureRequest) -> None:
    recording = recording_of(request, stack)
    group = recording.one(REPLICATION_GROUP, "cache")
    inputs = group.inputs
    assert inputs["engine"] == "valkey"
    # An AUTH token needs in-transit encryption; "required" refuses plain-text clients:
    # https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/in-transit-encryption.html
    assert inputs["transitEncryptionEnabled"] is True
    assert inputs["transitEncryptionMode"] == "required"
    assert inputs["atRestEncryptionEnabled"] is True
    assert group.property_dependencies["kmsKeyId"] == [key_urn(recording, "data")]
    # https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/auth.html (ROTATE keeps the old token valid)
    assert is_secret(inputs["authTokenWo"]) and "authToken" not in inputs
    assert group.property_dependencies["authTokenWo"] == [
        recording.one(RANDOM_PASSWORD, "cache-auth-token").urn
    ]
    assert inputs["authTokenUpdateStrategy"] == "ROTATE"
    assert inputs["finalSnapshotIdentifier"] == f"paved-{stack}-cache-final"
    parameters = recording.one(CACHE_PARAMETER_GROUP, "cache")
    assert parameters.inputs["family"] == "valkey8"
    assert parameters_of(parameters)["maxmemory-policy"]["value"] == "volatile-lru"
    assert group.property_dependencies["parameterGroupName"] == [parameters.urn]


@pytest.mark.parametrize(
    ("stack", "nodes", "failover", "protect"), [("prod", 2, True, True), ("staging", 1, False, False)]
)
def test_cache_topology_per_environment(
    stack: str, nodes: int, failover: bool, protect: bool, request: pytest.FixtureRequest
) -> None:
    # Failover and Multi-AZ need a replica: https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/AutoFailover.html
    group = recording_of(request, stack).one(REPLICATION_GROUP, "cache")
    assert group.inputs["numCacheClusters"] == nodes
    assert group.inputs["automaticFailoverEnabled"] is failover
    assert group.inputs["multiAzEnabled"] is failover
    assert group.protect is protect
    if stack == "prod":
        assert group.inputs["snapshotRetentionLimit"] >= 7


@pytest.mark.parametrize(("stack", "retention"), [("prod", 365), ("staging", 30)])
def test_cache_logs_go_to_encrypted_retained_groups(
    stack: str, retention: int, request: pytest.FixtureRequest
) -> None:
    recording = recording_of(request, stack)
    group = recording.one(REPLICATION_GROUP, "cache")
    deliveries = {d["logType"]: d for d in group.inputs["logDeliveryConfigurations"]}
    assert set(deliveries) == {"slow-log", "engine-log"}
    for log_type, delivery in deliveries.items():
        log_group = recording.one(LOG_GROUP, f"cache-{log_type}")
        assert delivery["destinationType"] == "cloudwatch-logs"
        assert delivery["destination"] == log_group.inputs["name"]
        assert log_group.urn in group.property_dependencies["logDeliveryConfigurations"]
        assert log_group.property_dependencies["kmsKeyId"] == [key_urn(recording, "logs")]
        assert log_group.inputs["retentionInDays"] == retention


# --- one failing case per rule (tests/stack_config.py checks its path and hint) -----------------------------

RULE_CASES = [
    case("staging", section("paved:cache", {"nodeType": "r7g.large"}), "paved:cache.nodeType", "cache-node"),
    case(
        "prod",
        section("paved:cache", {"replicasPerShard": 6}),
        "paved:cache.replicasPerShard",
        "cache-replicas-max",
    ),
    case(
        "staging",
        section("paved:cache", {"multiAz": True}),
        "paved:cache.replicasPerShard",
        "cache-multi-az-needs-replica",
    ),
    case("prod", section("paved:cache", {"multiAz": False}), "paved:cache.multiAz", "prod-cache-multi-az"),
    case(
        "prod",
        section("paved:cache", {"snapshotRetentionDays": 36}),
        "paved:cache.snapshotRetentionDays",
        "cache-snapshots",
    ),
    *(
        case(
            "prod",
            section("paved:cache", {"use": use}),
            "paved:cache.maxmemoryPolicy",
            f"{use}-needs-noeviction",
        )
        for use in ("queue", "both")
    ),
    case(
        "prod",
        section("paved:cache", {"alarms": {"memoryPercent": {"threshold": 120}}}),
        "paved:cache.alarms.memoryPercent",
        "cache-alarm-percent",
    ),
    case(
        "prod",
        section("paved:cache", {"alarms": {"connections": {"threshold": 70000}}}),
        "paved:cache.alarms.connections",
        "cache-alarm-maxclients",
    ),
    case(
        "prod",
        section("paved:cache", {"alarms": {"evictions": {"periods": 200, "periodSeconds": 3600}}}),
        "paved:cache.alarms.evictions",
        "cache-alarm-window",
    ),
]


@pytest.mark.parametrize(("stack", "mutation", "path"), RULE_CASES)
def test_rule_reports_path_and_hint(stack: str, mutation: Mutation, path: str) -> None:
    assert_rule_reports_path_and_hint(stack, mutation, path)


@pytest.mark.parametrize("stack", STACKS)
def test_cache_notifications_go_to_a_topic_elasticache_can_publish_to(
    request: pytest.FixtureRequest, stack: str
) -> None:
    recording = recording_of(request, stack)
    group = recording.one(REPLICATION_GROUP, "cache")
    topic = recording.one("aws:sns/topic:Topic", "alerts-elasticache")
    policy = recording.one("aws:sns/topicPolicy:TopicPolicy", "alerts-elasticache")
    assert group.property_dependencies["notificationTopicArn"] == [topic.urn]
    assert policy.urn in group.dependencies
    # Unencrypted, as ElastiCache requires; that its policy admits ElastiCache (AWS:SourceOwner, not
    # aws:SourceAccount) is proven in tests/test_wiring_flows.py (cache-notifications->alerts-elasticache).
    # https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/ElastiCacheSNS.html
    assert "kmsMasterKeyId" not in topic.inputs


def test_a_queue_is_never_evicted_and_its_memory_is_the_alarm() -> None:
    raw = changed(shipped("staging"), {"paved:cache": {"use": "queue", "maxmemoryPolicy": "noeviction"}})
    recording = run_project(ROOT, "staging", raw)
    parameters = parameters_of(recording.one(CACHE_PARAMETER_GROUP, "cache"))
    assert parameters["maxmemory-policy"]["value"] == "noeviction"
    kinds = alarm_names(recording, "cache-")
    # Nothing is ever evicted under noeviction, so writes fail when memory is full: memory warns first.
    assert "1-memory" in kinds and not [kind for kind in kinds if kind.endswith("evictions")]
    [dashboard] = recording.of_type("paved:dashboard:Dashboard")
    assert "Cache: evictions" not in {graph["title"] for graph in dashboard.outputs["graphs"]}


def test_an_evicting_cache_keeps_its_evictions_alarm(staging: Recording) -> None:
    assert "1-evictions" in alarm_names(staging, "cache-")
