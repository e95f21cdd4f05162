"""A deliberately bad program (tests/fixtures/bad_program), end to end through `paved preview` with the
shipped policy pack: the CLI exits 1 and reports the violations each resource was built to commit.

The program is plain pulumi_aws and pulumi_kubernetes, not paved's components: the pack must judge any
program. Every fault sits on its own resource, so each expected violation names the resource that has it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from paved.cli import app

ROOT = Path(__file__).resolve().parent.parent
PROGRAM = ROOT / "tests" / "fixtures" / "bad_program"
PACK = ROOT / "policies"
STACK_URN = "urn:pulumi:prod::badprogram::"

# (policy, resource name) -> a fragment of the message that shows the policy fired for the designed fault.
EXPECTED: dict[tuple[str, str], str] = {
    ("rds-not-public", "public-db"): "publiclyAccessible",
    ("rds-not-public", "public-aurora"): "Aurora DB instance 'public-aurora' has publiclyAccessible",
    ("rds-storage-encrypted-cmk", "public-db"): "storageEncrypted",
    ("rds-no-plaintext-password", "public-db"): "password",
    ("rds-final-snapshot", "public-db"): "skipFinalSnapshot",
    ("security-group-no-public-ingress", "open-ssh"): "22-22 from 0.0.0.0/0",
    ("cloudfront-viewer-https", "http-cdn"): "allow-all",
    ("cloudfront-viewer-tls", "http-cdn"): "default *.cloudfront.net certificate",
    ("eks-endpoint-not-public", "public-eks"): "0.0.0.0/0",
    ("eks-control-plane-logging", "public-eks"): "api, audit, authenticator, controllerManager, scheduler",
    ("k8s-container-resources", "unbounded-app"): "requests.cpu, requests.memory, limits.memory",
    ("k8s-image-tag-pinned", "unbounded-app"): "nginx:latest",
    ("k8s-not-default-namespace", "unbounded-app"): "'default'",
    ("k8s-no-load-balancer-service", "public-lb"): "LoadBalancer",
    ("k8s-not-default-namespace", "public-lb"): "'default'",
    ("s3-public-access-block", "open-bucket"): "bucketPublicAccessBlock",
    ("cloudwatch-log-group-retention", "forever-logs"): "retentionInDays",
}
# The resources the program declares, all of them bad; a fixture edit that adds a good one shows here.
BAD_RESOURCES = {
    "public-db",
    "public-aurora",
    "open-ssh",
    "http-cdn",
    "public-eks",
    "unbounded-app",
    "public-lb",
    "open-bucket",
    "forever-logs",
}


@dataclass(frozen=True)
class Violation:
    policy: str
    resource: str
    urn: str
    level: str
    message: str


@dataclass(frozen=True)
class Run:
    exit_code: int
    text: str
    digest: dict[str, Any]

    @property
    def violations(self) -> list[Violation]:
        return [
            Violation(
                d["policyName"],
                (d.get("urn") or "").rsplit("::", 1)[-1],
                d.get("urn") or "",
                d["enforcementLevel"],
                d["message"],
            )
            for d in self.digest["diagnostics"]
            if "policyName" in d
        ]

    @property
    def mandatory(self) -> dict[tuple[str, str], Violation]:
        return {(v.policy, v.resource): v for v in self.violations if v.level == "mandatory"}


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    """One `paved preview` through the CLI for the module: each run starts a policy pack process."""
    out = tmp_path_factory.mktemp("bad_program") / "preview.json"
    args = ["preview", "--stack", "prod", "-C", str(PROGRAM), "--policy-pack", str(PACK), "--json", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return Run(result.exit_code, result.output, json.loads(out.read_text()))


def test_the_preview_fails(run: Run) -> None:
    assert run.exit_code == 1, run.text
    # It fails on policy, not because the program or the pack broke.
    assert [d for d in run.digest["diagnostics"] if "policyName" not in d] == []


def test_the_program_declares_only_the_bad_resources(run: Run) -> None:
    custom = {
        step["urn"].rsplit("::", 1)[-1]
        for step in run.digest["steps"]
        if step["newState"]["custom"] and not step["newState"]["type"].startswith("pulumi:providers:")
    }
    assert custom == BAD_RESOURCES


def test_each_designed_fault_is_a_mandatory_violation(run: Run) -> None:
    mandatory = run.mandatory
    missing = sorted(set(EXPECTED) - set(mandatory))
    assert missing == [], f"not reported as mandatory: {missing}"
    wrong_reason = {
        key: mandatory[key].message
        for key, fragment in EXPECTED.items()
        if fragment not in mandatory[key].message
    }
    assert wrong_reason == {}


def test_every_violation_is_on_a_bad_resource(run: Run) -> None:
    # Stack-level violations (no URN) and violations on providers or the stack would land outside the set.
    elsewhere = [(v.policy, v.urn) for v in run.violations if v.resource not in BAD_RESOURCES]
    assert elsewhere == []
    assert all(v.urn.startswith(STACK_URN) for v in run.violations)


def test_a_prod_stack_gets_every_violation_at_mandatory(run: Run) -> None:
    # `prod` in the stack name selects prod enforcement; staging would make the HA rules advisory.
    assert {v.level for v in run.violations} == {"mandatory"}
    assert ("rds-multi-az", "public-db") in run.mandatory


def test_the_text_report_names_the_violations_and_the_failure(run: Run) -> None:
    urns = {step["urn"].rsplit("::", 1)[-1]: step["urn"] for step in run.digest["steps"]}
    lines = run.text.splitlines()
    # Wrapped to 120 columns (the CLI's width off a terminal), a URN may be folded onto the next lines.
    unwrapped = "".join(run.text.split())
    for policy, resource in EXPECTED:
        entry = f"-[mandatory]❌{policy}({urns[resource]})"
        assert entry in unwrapped, (policy, resource)
    mandatory = sum(v.level == "mandatory" for v in run.violations)
    other = len(run.violations) - mandatory
    counts = f"{mandatory} mandatory, {other} other policy violations"
    if run.digest["flows"]:  # the wiring proof's failing flows are counted last
        counts += f", {sum(flow['verdict'] == 'broken' for flow in run.digest['flows'])} failing wiring flows"
    assert f"Preview failed: {counts}." in lines
