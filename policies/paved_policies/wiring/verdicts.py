"""What a proof says: a verdict with the chain of evidence behind it.

- PROVEN: a required flow has a path and a permission, or a forbidden flow has neither.
- BROKEN: a required flow lacks a hop (named in `reason`), or a forbidden flow exists.
- CONDITIONAL: the answer hangs on a condition key the model cannot know; shown, never counted as proven.
- UNRESOLVED: a value on the way could not be traced to the resource output it came from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Literal


class Verdict(Enum):
    PROVEN = "proven"
    BROKEN = "broken"
    CONDITIONAL = "conditional"
    UNRESOLVED = "unresolved"

    @property
    def symbol(self) -> str:
        return {"proven": "✔", "broken": "✘"}.get(self.value, "?")


@dataclass(frozen=True)
class Hop:
    """One link of an evidence chain, e.g. kind="sg-rule", text="cluster-from-runner → eks-cluster:443"."""

    kind: str
    text: str
    urn: str | None = None
    property: str | None = None

    def __str__(self) -> str:
        return f"{self.kind} {self.text}"


@dataclass(frozen=True)
class Finding:
    """The answer to one question (can A reach B on port P; may role R call action X on resource Y)."""

    verdict: Verdict
    hops: tuple[Hop, ...] = ()
    # For BROKEN/CONDITIONAL/UNRESOLVED: the missing or doubtful hop, naming the resource and property.
    reason: str = ""

    @property
    def proven(self) -> bool:
        return self.verdict is Verdict.PROVEN


FlowKind = Literal["required", "forbidden", "order"]


@dataclass(frozen=True)
class FlowResult:
    """One flow of the stack. For a forbidden flow, PROVEN means proven absent and BROKEN means it exists."""

    id: str  # stable and CLI-friendly, e.g. "api->database", "internet-x->database"
    kind: FlowKind
    title: str  # e.g. "app api pods → proxy :5432 → database :5432"
    verdict: Verdict
    evidence: tuple[Hop, ...] = ()
    reason: str = ""
    steps: tuple[Finding, ...] = field(default=(), compare=False)

    @property
    def fails(self) -> bool:
        """A broken required flow or a present forbidden flow fails the preview, like a mandatory policy."""
        return self.verdict is Verdict.BROKEN


def combine(*findings: Finding) -> Finding:
    """All of `findings` must hold: the first broken one wins, then the first doubtful one. A hop that two
    findings share (the pods' placement, seen by each path from them) is shown once."""
    hops = tuple(dict.fromkeys(hop for finding in findings for hop in finding.hops))
    for verdict in (Verdict.BROKEN, Verdict.UNRESOLVED, Verdict.CONDITIONAL):
        for finding in findings:
            if finding.verdict is verdict:
                return Finding(verdict, hops, finding.reason)
    return Finding(Verdict.PROVEN, hops)
