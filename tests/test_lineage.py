"""Lineage: each unknown input of a preview is traced to the resource output behind it (paved/lineage.py)."""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pulumi_aws as aws
import pytest
from paved_policies.wiring.placeholders import Origin

from paved.lineage import SHADOW_SIG, snapshot_of, split_shadows
from paved.program import record
from paved.recorder import Recording
from paved.values import SIG_KEY, UNKNOWN, reveal


def _program() -> None:
    vpc = aws.ec2.Vpc("vpc", cidr_block="10.0.0.0/16")
    group = aws.ec2.SecurityGroup("app", vpc_id=vpc.id)
    peer = aws.ec2.SecurityGroup("db", vpc_id=vpc.id)
    aws.vpc.SecurityGroupIngressRule(
        "db-from-app",
        security_group_id=peer.id,
        referenced_security_group_id=group.id,
        ip_protocol="tcp",
        from_port=5432,
        to_port=5432,
    )
    role = aws.iam.Role("reader", assume_role_policy="{}")
    secret = aws.secretsmanager.Secret("token", name="prod/token")
    aws.iam.RolePolicy(
        "reader-read",
        role=role.id,
        policy=pulumi.Output.json_dumps(
            {
                "Statement": [
                    {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": secret.arn}
                ]
            }
        ),
    )
    proxy = aws.rds.Proxy(
        "proxy", engine_family="POSTGRESQL", role_arn=role.arn, vpc_subnet_ids=["subnet-1"], auths=[]
    )
    # A value the program derives from an output: the proxy id is the ARN's last segment.
    aws.ssm.Parameter("proxy-id", type="String", value=proxy.arn.apply(lambda arn: arn.split(":")[-1]))
    cluster = aws.eks.Cluster("cluster", role_arn=role.arn, vpc_config={"subnet_ids": ["subnet-1"]})
    aws.vpc.SecurityGroupIngressRule(
        "cluster-from-app",
        security_group_id=cluster.vpc_config.cluster_security_group_id,
        referenced_security_group_id=group.id,
        ip_protocol="tcp",
        from_port=443,
        to_port=443,
    )
    # A user made before the resource it names: the ARN arrives through a deferred output.
    arn, resolve_arn = pulumi.deferred_output()
    aws.ssm.Parameter("deferred", type="String", value=arn)
    resolve_arn(aws.sns.Topic("topic").arn)
    aws.ssm.Parameter(
        "made-in-apply",
        type="String",
        value=group.id.apply(lambda _: aws.ssm.Parameter("inner", type="String", value="x").name),
    )


@pytest.fixture(scope="module")
def recording() -> Recording:
    return record(_program, config={"aws:region": "eu-west-1"})


def _resource(recording: Recording, name: str) -> Any:
    return next(r for r in recording.resources if r.name == name)


def test_engine_inputs_keep_the_unknown_sentinel_policies_see(recording: Recording) -> None:
    rule = _resource(recording, "db-from-app")
    assert rule.inputs["securityGroupId"] == UNKNOWN
    assert rule.inputs["referencedSecurityGroupId"] == UNKNOWN
    assert _resource(recording, "reader-read").inputs["policy"] == UNKNOWN


def test_a_security_group_reference_resolves_to_that_groups_id(recording: Recording) -> None:
    snapshot = snapshot_of(recording, {"aws:region": "eu-west-1"})
    rule = snapshot.resources[_resource(recording, "db-from-app").urn]
    app, db = (_resource(recording, name) for name in ("app", "db"))
    assert snapshot.origin(rule.inputs["referencedSecurityGroupId"]) == Origin(app.urn, "id")
    assert snapshot.origin(rule.inputs["securityGroupId"]) == Origin(db.urn, "id")
    assert rule.inputs["securityGroupId"].startswith("sg-0")


def test_policy_json_is_known_with_the_secrets_arn_in_place(recording: Recording) -> None:
    snapshot = snapshot_of(recording, {"aws:region": "eu-west-1"})
    policy = json.loads(snapshot.resources[_resource(recording, "reader-read").urn].inputs["policy"])
    arn = policy["Statement"][0]["Resource"]
    assert arn.startswith("arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/token-")
    assert snapshot.origin(arn) == Origin(_resource(recording, "token").urn, "arn")


def test_a_value_cut_from_an_output_is_traced_to_its_resource(recording: Recording) -> None:
    snapshot = snapshot_of(recording, {})
    value = snapshot.resources[_resource(recording, "proxy-id").urn].get("value")
    assert value.startswith("prx-")
    origin = snapshot.origin(value)
    assert origin is not None and origin.urn == _resource(recording, "proxy").urn


def test_a_nested_output_field_resolves_to_its_path(recording: Recording) -> None:
    snapshot = snapshot_of(recording, {})
    rule = snapshot.resources[_resource(recording, "cluster-from-app").urn]
    assert snapshot.origin(rule.inputs["securityGroupId"]) == Origin(
        _resource(recording, "cluster").urn, "vpcConfig.clusterSecurityGroupId"
    )


def test_a_deferred_output_resolves_to_what_it_was_given(recording: Recording) -> None:
    snapshot = snapshot_of(recording, {})
    value = snapshot.resources[_resource(recording, "deferred").urn].get("value")
    assert snapshot.origin(value) == Origin(_resource(recording, "topic").urn, "arn")


def test_callbacks_over_placeholders_never_create_resources(recording: Recording) -> None:
    names = [r.name for r in recording.resources]
    assert "inner" not in names
    assert reveal(_resource(recording, "made-in-apply").resolved_inputs["value"]) == UNKNOWN


def test_the_sdk_is_restored_after_a_recording(recording: Recording) -> None:
    from pulumi.runtime import rpc

    assert rpc.serialize_property.__module__ == "pulumi.runtime.rpc"
    assert pulumi.Output.apply.__module__ == "pulumi.output"


def test_shadow_wrappers_split_into_engine_and_resolved_forms() -> None:
    wrapped = {"a": [{SIG_KEY: SHADOW_SIG, "unknown": UNKNOWN, "shadow": "sg-1"}], "b": 1}
    assert split_shadows(wrapped) == ({"a": [UNKNOWN], "b": 1}, {"a": ["sg-1"], "b": 1})


def test_prod_leaves_only_what_no_output_explains(shipped_recordings: Any) -> None:
    recording = shipped_recordings("prod")
    snapshot = snapshot_of(recording, {})
    engine_unknowns = sum(1 for r in recording.resources for v in json.dumps(r.inputs).split(UNKNOWN)[1:])
    assert engine_unknowns > 300
    assert snapshot.unresolved == []
