"""STUB on branch wt-cli only, so the CLI, the report and the pack's `wiring-proof` policy can be built and
tested before the lead's flow catalogue lands; the lead's flows.py replaces this file at merge."""

from __future__ import annotations

from paved_policies.wiring.snapshot import Snapshot
from paved_policies.wiring.verdicts import FlowResult


def prove(snapshot: Snapshot) -> list[FlowResult]:
    """The stack's required, forbidden and ordering flows with their verdicts."""
    return []
