"""The wiring proof's snapshot: from a recording (exact lineage), from paved's preview JSON, and from the
real CLI's `pulumi preview --json`, which has only propertyDependencies to go on."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest
from paved_policies.wiring.placeholders import Origin
from paved_policies.wiring.snapshot import UNKNOWN, Snapshot

from paved.preview import PreviewResult
from paved.recorder import Recording
from paved.report import preview_digest

INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"


@pytest.fixture(scope="module")
def prod_digest(shipped_recordings: Callable[[str], Recording]) -> dict[str, Any]:
    recording = shipped_recordings("prod")
    result = PreviewResult(
        project="paved", stack="prod", config={"aws:region": "eu-west-1"}, recording=recording
    )
    return json.loads(json.dumps(preview_digest(result)))


def _cli_form(digest: dict[str, Any]) -> dict[str, Any]:
    """What `pulumi preview --json` writes: no resolvedInputs, no placeholder registry."""
    document = copy.deepcopy(digest)
    document.pop("placeholders")
    for step in document["steps"]:
        step["newState"].pop("resolvedInputs", None)
    return document


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
    snapshot = Snapshot.from_preview(_cli_form(prod_digest))
    rule = _rule(snapshot, "database-sg-from-workloads")
    group = snapshot.resources[rule.property_dependencies["securityGroupId"][0]]
    assert snapshot.origin(rule.inputs["securityGroupId"]) == Origin(group.urn, "id")


def test_the_clis_json_reports_what_it_cannot_resolve_instead_of_guessing(
    prod_digest: dict[str, Any],
) -> None:
    snapshot = Snapshot.from_preview(_cli_form(prod_digest))
    unresolved = {(snapshot.resources[u.urn].type, u.path): u.reason for u in snapshot.unresolved}
    # A policy document is unknown as a whole to the CLI: nothing can be read into it.
    assert ("aws:iam/rolePolicy:RolePolicy", "policy") in unresolved
    ambiguous = [reason for reason in unresolved.values() if reason.startswith("ambiguous")]
    assert ambiguous
    # Three subnets feed the node group's subnet list: which went where is not the CLI's to say.
    node_group = snapshot.of_type("aws:eks/nodeGroup:NodeGroup")[0]
    assert node_group.inputs["subnetIds"] == UNKNOWN
    assert unresolved[("aws:eks/nodeGroup:NodeGroup", "subnetIds")].startswith("ambiguous")
