"""Stand-in wiring proof results, for the tests of how flows are shown, counted and enforced (report, CLI,
pack), apart from the proof that computes them."""

from __future__ import annotations

from collections.abc import Sequence
from types import ModuleType

import pytest
from paved_policies.wiring.snapshot import Snapshot
from paved_policies.wiring.verdicts import FlowKind, FlowResult, Hop, Verdict

RUNNER_RULE = "urn:pulumi:prod::paved::aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule::from-runner"
RUNNER_HOPS = (
    Hop("sg-rule", "cluster-from-runner → eks-cluster:443", RUNNER_RULE, "referencedSecurityGroupId"),
    Hop("route", "private-a → nat-a", None, None),
)


def fake_flow(
    id_: str,
    verdict: Verdict,
    kind: FlowKind = "required",
    reason: str = "",
    hops: tuple[Hop, ...] = RUNNER_HOPS,
) -> FlowResult:
    return FlowResult(id_, kind, f"title of {id_}", verdict, hops, reason)


BROKEN = fake_flow("runner->eks-api", Verdict.BROKEN, reason="no ingress on 'eks-cluster' from the runner")
PRESENT_FORBIDDEN = fake_flow("internet-x->database", Verdict.BROKEN, "forbidden", "'db-sg' admits 0.0.0.0/0")
PROVEN = fake_flow("api->database", Verdict.PROVEN)
CONDITIONAL = fake_flow("api->secrets", Verdict.CONDITIONAL, reason="aws:PrincipalTag/team is not known")
UNRESOLVED = fake_flow("api->cache", Verdict.UNRESOLVED, reason="'cache'.securityGroupIds is unknown")


def proving(
    monkeypatch: pytest.MonkeyPatch, user: ModuleType, results: Sequence[FlowResult]
) -> list[Snapshot]:
    """Make `user`'s `prove` answer `results`; returns the snapshots it was asked about."""
    seen: list[Snapshot] = []

    def prove(snapshot: Snapshot) -> list[FlowResult]:
        seen.append(snapshot)
        return list(results)

    monkeypatch.setattr(user, "prove", prove)
    return seen
