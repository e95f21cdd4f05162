"""The real program, run per stack under first-preview semantics: assertions on recorded inputs."""

from __future__ import annotations

import json
from collections.abc import Callable
from ipaddress import ip_network
from pathlib import Path

import pytest

from components.subnets import plan_subnets
from paved.config import load_stack_file
from paved.errors import ConfigError
from paved.program import ProgramError, run_project
from paved.recorder import RecordedResource, Recording
from paved.values import UNKNOWN
from tests.alerts import notifying_alarms, window_alarms

ROOT = Path(__file__).resolve().parent.parent
SUBNET = "aws:ec2/subnet:Subnet"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
KEY = "aws:kms/key:Key"


def _subnets(recording: Recording, tier: str) -> list[dict]:
    return [r.inputs for r in recording.of_type(SUBNET) if r.name.startswith(f"network-{tier}-")]


@pytest.mark.parametrize(("stack", "zones", "nats", "endpoints"), [("prod", 3, 3, 6), ("staging", 2, 1, 0)])
def test_network_shape_per_environment(stack: str, zones: int, nats: int, endpoints: int, request) -> None:
    recording: Recording = request.getfixturevalue(stack)
    for tier in ("public", "private", "isolated"):
        assert len(_subnets(recording, tier)) == zones
    assert len(recording.of_type("aws:ec2/natGateway:NatGateway")) == nats
    interface = [
        r
        for r in recording.of_type("aws:ec2/vpcEndpoint:VpcEndpoint")
        if r.inputs["vpcEndpointType"] == "Interface"
    ]
    assert len(interface) == endpoints
    assert all(r.inputs["privateDnsEnabled"] is True for r in interface)
    [s3] = [
        r
        for r in recording.of_type("aws:ec2/vpcEndpoint:VpcEndpoint")
        if r.inputs["vpcEndpointType"] == "Gateway"
    ]
    assert s3.inputs["serviceName"] == "com.amazonaws.eu-west-1.s3"


def test_subnets_follow_the_plan_and_spread_over_zones(prod: Recording) -> None:
    plan = plan_subnets("10.0.0.0/16", 3)
    for tier, cidrs in (("public", plan.public), ("private", plan.private), ("isolated", plan.isolated)):
        subnets = _subnets(prod, tier)
        assert [s["cidrBlock"] for s in subnets] == list(cidrs)
        assert sorted(s["availabilityZone"] for s in subnets) == ["eu-west-1a", "eu-west-1b", "eu-west-1c"]
    networks = [ip_network(r.inputs["cidrBlock"]) for r in prod.of_type(SUBNET)]
    assert not any(a.overlaps(b) for i, a in enumerate(networks) for b in networks[i + 1 :])


@pytest.mark.parametrize("stack", ["prod", "staging"])
def test_no_subnet_assigns_public_ips(stack: str, shipped_recordings: Callable[[str], Recording]) -> None:
    # CKV_AWS_130: what must be reachable gets its address another way (the ALB from AWS, NAT from an EIP).
    subnets = shipped_recordings(stack).of_type(SUBNET)
    assert subnets and all(subnet.inputs["mapPublicIpOnLaunch"] is False for subnet in subnets)


@pytest.mark.parametrize("stack", ["prod", "staging"])
def test_only_the_alb_and_nat_gateways_live_in_public_subnets(
    stack: str, shipped_recordings: Callable[[str], Recording]
) -> None:
    # Anything else placed there would have no public address, so it must not be placed there at all.
    recording = shipped_recordings(stack)
    public = {subnet.urn for subnet in recording.of_type(SUBNET) if subnet.name.startswith("network-public-")}
    placed = {
        resource.type
        for resource in recording.resources
        if any(public & set(urns) for urns in resource.property_dependencies.values())
    }
    assert placed == {
        "aws:lb/loadBalancer:LoadBalancer",
        "aws:ec2/natGateway:NatGateway",
        "aws:ec2/routeTableAssociation:RouteTableAssociation",
    }


def test_private_route_tables_use_their_own_zones_nat_in_prod(prod: Recording) -> None:
    routes = [r for r in prod.of_type("aws:ec2/route:Route") if r.name.startswith("network-private-")]
    nat_targets = [r.property_dependencies["natGatewayId"] for r in routes]
    assert len(routes) == 3 and len({tuple(t) for t in nat_targets}) == 3


def test_isolated_subnets_have_no_internet_route(prod: Recording) -> None:
    assert not [r for r in prod.of_type("aws:ec2/route:Route") if r.name.startswith("network-isolated-")]


def test_every_vpcs_default_security_group_is_emptied(prod: Recording) -> None:
    vpcs = prod.of_type("aws:ec2/vpc:Vpc")
    assert [vpc.name for vpc in vpcs] == ["network", "dr"]  # the DR region's pilot light has its own
    groups = prod.of_type("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup")
    assert sorted(g.property_dependencies["vpcId"][0] for g in groups) == sorted(v.urn for v in vpcs)
    assert all(not g.inputs.get("ingress") and not g.inputs.get("egress") for g in groups)


@pytest.mark.parametrize(("stack", "retention"), [("prod", 365), ("staging", 30)])
def test_flow_logs_go_to_an_encrypted_retained_log_group(stack: str, retention: int, request) -> None:
    recording: Recording = request.getfixturevalue(stack)
    # The DR region's network logs with the DR key its copies use (components/disaster_recovery.py).
    keys = {"network": "logs", "dr": "data-dr"}
    vpcs = recording.of_type("aws:ec2/vpc:Vpc")
    assert [vpc.name for vpc in vpcs] == (["network", "dr"] if stack == "prod" else ["network"])
    for vpc in vpcs:
        [flow_log] = [
            f
            for f in recording.of_type("aws:ec2/flowLog:FlowLog")
            if f.property_dependencies["vpcId"] == [vpc.urn]
        ]
        log_group = recording.one("aws:cloudwatch/logGroup:LogGroup", f"{vpc.name}-flow-logs")
        assert flow_log.inputs["trafficType"] == "ALL"
        assert flow_log.property_dependencies["logDestination"] == [log_group.urn]
        assert log_group.inputs["retentionInDays"] == retention
        assert log_group.property_dependencies["kmsKeyId"] == [recording.one(KEY, keys[vpc.name]).urn]


def test_endpoint_security_group_admits_https_from_the_vpc_only(prod: Recording) -> None:
    [ingress] = [
        rule
        for rule in prod.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
        if rule.name.startswith("network-endpoints")
    ]
    assert (ingress.inputs["fromPort"], ingress.inputs["toPort"]) == (443, 443)
    assert ingress.inputs["cidrIpv4"] == "10.0.0.0/16"


def test_kms_keys_rotate_and_have_no_wildcard_principal(prod: Recording) -> None:
    for key in prod.of_type(KEY):
        assert key.inputs["enableKeyRotation"] is True
        if key.name in ("cdn-assets", "cdn-assets-dr"):
            continue  # their policies are separate KeyPolicies naming the distribution (tests/test_cdn.py)
        policy = json.loads(key.inputs["policy"])
        principals = [statement["Principal"] for statement in policy["Statement"]]
        assert "*" not in principals and {"AWS": "*"} not in principals


def test_aliases_carry_the_stack_name(prod: Recording) -> None:
    names = sorted(alias.inputs["name"] for alias in prod.of_type("aws:kms/alias:Alias"))
    purposes = [
        "alerts",
        "alerts-global",
        "cdn-assets",
        "cdn-assets-dr",
        "cluster-volumes",
        "data",
        "data-dr",
        "logs",
        "logs-global",
        "secrets",
        "secrets-dr",
    ]
    assert names == [f"alias/paved-prod-{purpose}" for purpose in purposes]


@pytest.mark.parametrize(("stack", "protected", "count"), [("prod", True, 11), ("staging", False, 8)])
def test_keys_are_protected_in_prod_only(stack: str, protected: bool, count: int, request) -> None:
    # Staging has no DR region, so no DR-region keys; both have us-east-1 keys for CloudFront's side.
    recording: Recording = request.getfixturevalue(stack)
    assert [key.protect for key in recording.of_type(KEY)] == [protected] * count


def test_alert_topics_are_encrypted_and_subscribed(prod: Recording) -> None:
    # One topic in the stack's region, one in us-east-1 where CloudFront and its WAF publish metrics.
    for name in ("alerts", "alerts-global"):
        topic = prod.one("aws:sns/topic:Topic", name)
        assert topic.property_dependencies["kmsMasterKeyId"] == [prod.one(KEY, name).urn]
    # ElastiCache's topic is the exception the ElastiCache docs require, and says so to the policy pack.
    cache_topic = prod.one("aws:sns/topic:Topic", "alerts-elasticache")
    assert "kmsMasterKeyId" not in cache_topic.inputs
    assert cache_topic.inputs["tags"]["paved:exempt"] == "sns-topic-encrypted"
    subscriptions = prod.of_type("aws:sns/topicSubscription:TopicSubscription")
    by_urn = prod.by_urn()
    subscribed = {
        (by_urn[s.property_dependencies["topic"][0]].name, s.inputs["protocol"], s.inputs["endpoint"])
        for s in subscriptions
    }
    assert subscribed == {
        (topic, "email", "ops@example.com") for topic in ("alerts", "alerts-global", "alerts-elasticache")
    }
    assert len(subscriptions) == 3


@pytest.mark.parametrize("stack", ["prod", "staging"])
def test_every_alarm_notifies_the_topic_on_alarm_and_ok(stack: str, request) -> None:
    recording: Recording = request.getfixturevalue(stack)
    topics = {recording.one("aws:sns/topic:Topic", name).urn for name in ("alerts", "alerts-global")}
    alarms = notifying_alarms(recording)
    assert alarms, "each NAT gateway has an alarm"
    for alarm in alarms:
        [topic] = alarm.property_dependencies["alarmActions"]
        assert topic in topics
        assert alarm.property_dependencies["okActions"] == [topic]
        # An alarm notifies the topic of its own region: us-east-1 for CloudFront and its WAF.
        in_us_east_1 = alarm.name.startswith(("cdn-", "cdn-waf"))
        assert topic.endswith("alerts-global") == in_us_east_1, alarm.name
        # ...and lives in that region, since CloudWatch only notifies topics of its own region.
        assert ("::us-east-1::" in alarm.provider) == in_us_east_1, alarm.name
        if alarm.type == ALARM:
            assert alarm.inputs["treatMissingData"] in {"missing", "ignore", "breaching", "notBreaching"}
        assert (alarm.inputs.get("name") or alarm.inputs["alarmName"]).startswith(f"{stack}-")
    # A burn-rate alert's windows stay silent: their composite notifies.
    for window in window_alarms(recording):
        inputs = window.inputs
        assert inputs["actionsEnabled"] is False and "alarmActions" not in inputs, window.name
        assert inputs["tags"]["paved:exempt"] == "cloudwatch-alarm-has-actions"


def test_ids_are_unknown_in_a_first_preview(prod: Recording) -> None:
    assert prod.stack_outputs["network_vpc_id"] == UNKNOWN
    assert prod.stack_outputs["network_availability_zones"] == ["eu-west-1a", "eu-west-1b", "eu-west-1c"]


def test_every_child_of_a_component_is_parented(prod: Recording) -> None:
    components = {r.urn for r in prod.resources if r.type.startswith("paved:")}
    custom = [r for r in prod.resources if r.custom and not r.type.startswith("pulumi:providers:")]
    assert all(r.parent in components for r in custom)


def test_invalid_config_stops_before_any_resource() -> None:
    overrides = {
        "paved:database": {"multiAz": False},
        "paved:cache": {"snapshotRetentionDays": 40},
        "paved:network": {"azCount": 5},
    }
    with pytest.raises(ProgramError) as caught:
        run_project(ROOT, "prod", overrides)
    error = caught.value.cause
    assert isinstance(error, ConfigError)
    paths = {problem.path for problem in error.problems}
    assert {"paved:cache.snapshotRetentionDays", "paved:database.multiAz", "paved:network.azCount"} <= paths
    assert [r.type for r in caught.value.recording.resources] == ["pulumi:pulumi:Stack"]


# --- S3 server access logging ------------------------------------------------------------------------------

BUCKET = "aws:s3/bucket:Bucket"
BUCKET_LOGGING = "aws:s3/bucketLogging:BucketLogging"
BUCKET_ENCRYPTION = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
BUCKET_LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"


def _region(recording: Recording, urn: str) -> str:
    provider = recording.by_urn()[recording.by_urn()[urn].provider_urn]
    return provider.inputs["region"]


def _of_bucket(recording: Recording, type_: str, bucket_urn: str) -> RecordedResource:
    (found,) = [r for r in recording.of_type(type_) if r.property_dependencies.get("bucket") == [bucket_urn]]
    return found


@pytest.mark.parametrize("stack", ["prod", "staging"])
def test_every_bucket_logs_to_an_sse_s3_bucket_of_its_region(
    stack: str, shipped_recordings: Callable[[str], Recording]
) -> None:
    # CKV_AWS_18 / s3-bucket-logging-enabled; the target must be in the source's region and use SSE-S3:
    # https://docs.aws.amazon.com/AmazonS3/latest/userguide/enable-server-access-logging.html
    recording = shipped_recordings(stack)
    buckets = {bucket.urn: bucket for bucket in recording.of_type(BUCKET)}
    targets = {
        bucket.urn
        for bucket in buckets.values()
        if bucket.inputs["tags"]["purpose"] == "S3 server access logs"
    }
    logged = {}
    for logging in recording.of_type(BUCKET_LOGGING):
        [source] = logging.property_dependencies["bucket"]
        [target] = logging.property_dependencies["targetBucket"]
        logged[source] = target
    assert set(logged) == set(buckets) - targets, "every bucket but the log targets logs, and only once"
    assert set(logged.values()) == targets, "log targets receive logs and send none"
    for source, target in logged.items():
        assert _region(recording, source) == _region(recording, target)
        encryption = _of_bucket(recording, BUCKET_ENCRYPTION, target)
        assert encryption.inputs["rules"] == [
            {"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}
        ]
        # The target's one policy names the source (tests/test_buckets.py checks the statement itself).
        assert source in _of_bucket(recording, BUCKET_POLICY, target).property_dependencies["policy"]
    regions = {_region(recording, urn) for urn in buckets}
    assert len(targets) == len(regions), "one log bucket per region that has buckets"
    config = load_stack_file(ROOT / "stacks" / f"Pulumi.{stack}.yaml", stack)
    retention = config.edge.access_log_retention_days
    for target in targets:
        [rule] = _of_bucket(recording, BUCKET_LIFECYCLE, target).inputs["rules"]
        assert rule["expiration"] == {"days": retention}


def test_the_alerts_key_admits_eventbridge_for_the_accounts_topics_without_source_conditions(
    prod: Recording,
) -> None:
    """aws:SourceAccount, aws:SourceArn and aws:SourceOrgID in a key policy are "not supported for
    EventBridge-to-encrypted topics"; SNS's encryption context (the topic ARN) keeps the key to our topics.
    https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services"""
    for name in ("alerts", "alerts-global"):
        statements = json.loads(prod.one(KEY, name).inputs["policy"])["Statement"]
        [events] = [s for s in statements if s.get("Principal") == {"Service": "events.amazonaws.com"}]
        assert "aws:source" not in json.dumps(events.get("Condition", {})).lower()
        [(operator, keys)] = events["Condition"].items()
        assert (operator, list(keys)) == ("ArnLike", ["kms:EncryptionContext:aws:sns:topicArn"])
        assert keys["kms:EncryptionContext:aws:sns:topicArn"].endswith(":123456789012:*")
        [others] = [s for s in statements if s.get("Sid") == "ServiceUse"]
        assert others["Principal"] == {"Service": ["cloudwatch.amazonaws.com", "events.rds.amazonaws.com"]}
        assert others["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"}}
