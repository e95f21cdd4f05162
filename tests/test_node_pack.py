"""`paved preview` driving a Node.js CrossGuard pack, started as the CLI starts it, over the Analyzer gRPC
protocol. The pack (tests/fixtures/node_pack) mirrors the Python sample pack; its dependencies come from
its committed package-lock.json via scripts/node-fixtures."""

from __future__ import annotations

import functools
import json
import shutil
from pathlib import Path

import pytest

from paved.preview import PreviewResult, run_preview

FIXTURES = Path(__file__).parent / "fixtures"
SAMPLE = FIXTURES / "sample_program"
NODE_PACK = FIXTURES / "node_pack"
PACK_NAME = "fixture-node-pack"
UNTAGGED = "urn:pulumi:dev::demo::aws:s3/bucket:Bucket::untagged"
SUBNET = "urn:pulumi:dev::demo::demo:index:Outer$demo:index:Inner$aws:ec2/subnet:Subnet::inner-subnet"
INNER = "urn:pulumi:dev::demo::demo:index:Outer$demo:index:Inner::inner"
VPC = "urn:pulumi:dev::demo::demo:index:Outer$demo:index:Inner$aws:ec2/vpc:Vpc::inner-vpc"
# What the pack needs installed: the CLI's entry point for Node.js packs, and the policy SDK.
REQUIRED = [
    NODE_PACK / "node_modules" / "@pulumi" / "pulumi" / "cmd" / "run-policy-pack",
    NODE_PACK / "node_modules" / "@pulumi" / "policy" / "package.json",
]


def _require_node_pack() -> None:
    """Skip only when Node.js is absent; a pack whose dependencies were never installed is a failure."""
    if shutil.which("node") is None:
        pytest.skip("Node.js (`node`) is not installed, so the Node.js policy pack cannot run")
    missing = [str(path.relative_to(NODE_PACK)) for path in REQUIRED if not path.exists()]
    if missing:
        pytest.fail(
            f"{NODE_PACK} has no dependencies installed (missing {', '.join(missing)}): "
            "run scripts/node-fixtures first",
            pytrace=False,
        )


@functools.cache
def _preview() -> PreviewResult:
    return run_preview(SAMPLE, "dev", [NODE_PACK])


def _judged() -> PreviewResult:
    """One preview shared by the tests; called in each test, not a fixture, so that a missing install
    is reported as a test failure rather than a setup error."""
    _require_node_pack()
    result = _preview()
    assert result.failure is None, result.failure
    return result


def test_a_mandatory_violation_fails_the_preview() -> None:
    result = _judged()
    [violation] = [v for v in result.violations if v.policy == "bucket-has-tags"]
    assert (violation.pack, violation.level, violation.urn) == (PACK_NAME, "mandatory", UNTAGGED)
    assert "bucket has no tags" in violation.message
    assert result.exit_code == 1
    [pack] = result.packs
    assert (pack.name, pack.version, pack.policy_count) == (PACK_NAME, "0.0.1", 3)


def test_schema_defaults_reach_the_pack() -> None:
    result = _judged()
    prefix = [v for v in result.violations if v.policy == "bucket-name-prefix"]
    assert [(v.urn, v.level) for v in prefix] == [(UNTAGGED, "advisory")]
    assert "'demo-'" in prefix[0].message


def test_a_stack_policy_sees_parents_and_dependencies() -> None:
    result = _judged()
    seen = {v.urn: v.message for v in result.violations if v.policy == "stack-view"}
    assert f"parent={INNER}" in seen[SUBNET]
    assert f"vpcId-deps={json.dumps([VPC])}" in seen[SUBNET]
    assert "inner-vpc" in seen[UNTAGGED]


def test_policy_pack_config_changes_levels_and_properties(tmp_path: Path) -> None:
    _require_node_pack()
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"bucket-has-tags": "advisory", "bucket-name-prefix": {"prefix": "other-"}}))
    result = run_preview(SAMPLE, "dev", [NODE_PACK], [config])
    assert result.failure is None, result.failure
    assert result.exit_code == 0
    levels = {(v.policy, v.urn): v.level for v in result.violations}
    assert levels[("bucket-has-tags", UNTAGGED)] == "advisory"
    prefix_urns = {v.urn for v in result.violations if v.policy == "bucket-name-prefix"}
    assert prefix_urns == {"urn:pulumi:dev::demo::aws:s3/bucket:Bucket::tagged"}
