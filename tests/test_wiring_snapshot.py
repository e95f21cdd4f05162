"""The wiring proof's snapshot: from a recording (exact lineage), from paved's preview JSON, and from the
real CLI's `pulumi preview --json`, which has only propertyDependencies to go on."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from paved_policies.wiring.placeholders import Origin
from paved_policies.wiring.snapshot import UNKNOWN, Snapshot, leaves, unknown_paths

from paved.recorder import Recording
from tests.previews import cli_json, paved_json

INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"


@pytest.fixture(scope="module")
def prod_digest(shipped_recordings: Callable[[str], Recording]) -> dict[str, Any]:
    return paved_json(shipped_recordings("prod"), {"aws:region": "eu-west-1"})


def _rule(snapshot: Snapshot, name: str) -> Any:
    return next(r for r in snapshot.of_type(INGRESS_RULE) if r.name == name)


def test_paveds_own_json_carries_exact_lineage(prod_digest: dict[str, Any], shipped_snapshots: Any) -> None:
    from_json = Snapshot.from_preview(prod_digest)
    from_recording = shipped_snapshots("prod")
    rule = _rule(from_json, "database-sg-from-workloads")
    assert from_json.origin(rule.inputs["securityGroupId"]) == from_recording.origin(
        _rule(from_recording, "database-sg-from-workloads").inputs["securityGroupId"]
    )
    origin = from_json.origin(rule.inputs["referencedSecurityGroupId"])
    assert origin is not None and origin.output == "id"
    assert from_json.resources[origin.urn].type == "aws:ec2/securityGroup:SecurityGroup"
    assert from_json.unresolved == []


def test_the_clis_json_resolves_a_single_dependency_property(prod_digest: dict[str, Any]) -> None:
    snapshot = Snapshot.from_preview(cli_json(prod_digest))
    rule = _rule(snapshot, "database-sg-from-workloads")
    group = snapshot.resources[rule.property_dependencies["securityGroupId"][0]]
    assert snapshot.origin(rule.inputs["securityGroupId"]) == Origin(group.urn, "id")


def test_the_clis_json_reports_what_it_cannot_resolve_instead_of_guessing(
    prod_digest: dict[str, Any],
) -> None:
    snapshot = Snapshot.from_preview(cli_json(prod_digest))
    unresolved = {(snapshot.resources[u.urn].type, u.path): u.reason for u in snapshot.unresolved}
    # A policy document is unknown as a whole to the CLI: nothing can be read into it.
    assert ("aws:iam/rolePolicy:RolePolicy", "policy") in unresolved
    ambiguous = [reason for reason in unresolved.values() if reason.startswith("ambiguous")]
    assert ambiguous
    # Three subnets feed the node group's subnet list: which went where is not the CLI's to say.
    node_group = snapshot.of_type("aws:eks/nodeGroup:NodeGroup")[0]
    assert node_group.inputs["subnetIds"] == UNKNOWN
    assert unresolved[("aws:eks/nodeGroup:NodeGroup", "subnetIds")].startswith("ambiguous")


def test_resources_by_type_follow_every_change_to_the_snapshot(shipped_snapshots: Any) -> None:
    snapshot = shipped_snapshots("prod")
    group, rule = "aws:ec2/securityGroup:SecurityGroup", INGRESS_RULE
    groups = snapshot.of_type(group)

    def assert_indexed() -> None:
        for types in [(group,), (rule,), (group, rule), (rule, group, group), ("acme:none:None",)]:
            assert snapshot.of_type(*types) == [r for r in snapshot.resources.values() if r.type in types]

    assert_indexed()
    edits: list[Callable[[Any], Any]] = [
        lambda resources: resources.pop(groups[0].urn),
        lambda resources: resources.__setitem__(groups[0].urn, groups[0]),
        lambda resources: resources.__delitem__(groups[1].urn),
        lambda resources: resources.update({groups[1].urn: groups[1]}),
        lambda resources: resources.setdefault("extra", groups[2]),
        lambda resources: resources.__ior__({"more": groups[3]}),
        lambda resources: resources.popitem(),
    ]
    for edit in edits:
        edit(snapshot.resources)
        assert_indexed()
    snapshot.resources.clear()
    assert snapshot.of_type(group) == []
    # A plain dict put in its place after construction is indexed too.
    snapshot.resources = {r.urn: r for r in groups}
    assert snapshot.of_type(group) == groups


def test_leaves_name_every_scalar_by_its_dotted_path_with_secrets_unwrapped() -> None:
    secret = {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", "value": "hunter2"}
    value = {"a": [1.0, {"b": secret}], "c": None, "d": {"e": UNKNOWN}}
    assert leaves(value, "root") == [
        ("root.a.0", 1.0),
        ("root.a.1.b", "hunter2"),
        ("root.c", None),
        ("root.d.e", UNKNOWN),
    ]
    assert list(unknown_paths(value)) == ["d.e"]


def test_an_outputs_placeholder_is_found_after_placeholders_are_added(shipped_snapshots: Any) -> None:
    """The index from (urn, output) to placeholder follows `placeholders` even though it leaves out those
    that name no output."""
    snapshot = shipped_snapshots("prod")
    resource = next(iter(snapshot))
    snapshot.placeholders["derived-value"] = Origin(resource.urn, None)
    before = snapshot.output(resource, "arn")
    snapshot.placeholders["arn:aws:fresh"] = Origin(resource.urn, "arn")
    assert snapshot.output(resource, "arn") == "arn:aws:fresh" != before
