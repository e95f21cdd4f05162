"""A preview as GitHub-flavoured Markdown, for the pull request comment and the job summary: the verdict,
the policy violations and the wiring table, within a comment's size limit."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from paved_policies.wiring.verdicts import FlowResult, Verdict

from paved.analyzer import PolicyViolation
from paved.preview import PreviewResult
from paved.report import stopped_because, verdict

# GitHub refuses a comment body over 65,536 characters; the headings and notes fit in the rest.
COMMENT_BUDGET = 60_000
_LEVEL_ORDER = {"mandatory": 0, "advisory": 1}


def _cell(text: str) -> str:
    """Text that stays inside one table cell: a `|` would end it, a newline the row, `<` open HTML."""
    return " ".join(text.split()).replace("|", "\\|").replace("<", "&lt;")


def _code(text: str) -> str:
    """An id as code in a table cell: only `|` needs escaping there (an entity would show as typed)."""
    return "`" + " ".join(text.split()).replace("|", "\\|").replace("`", "'") + "`"


def _row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], budget: int, what: str) -> tuple[str, int]:
    """The rows that fit in `budget` characters, in the order given, and a note of the rows left out.

    Cells are not padded to their column's width (GitHub doesn't need it): padded, one long message
    would widen every row of the table, and a comment has a size limit."""
    lines = [_row(headers), _row(["---"] * len(headers))]
    used = sum(len(line) + 1 for line in lines)
    for row in rows:
        line = _row(row)
        if used + len(line) + 1 > budget:
            break
        lines.append(line)
        used += len(line) + 1
    left_out = len(rows) - (len(lines) - 2)
    if left_out:
        lines += ["", f"… and {left_out} more {what}: the job log has them all."]
    text = "\n".join(lines)
    return text, len(text)


def _violation_rows(violations: Sequence[PolicyViolation]) -> list[list[str]]:
    ordered = sorted(violations, key=lambda v: _LEVEL_ORDER.get(v.level, 2))
    return [
        [v.level, _code(v.policy), _cell(v.urn.rsplit("::", 1)[-1] if v.urn else "stack"), _cell(v.message)]
        for v in ordered
    ]


def _flow_rows(flows: Sequence[FlowResult]) -> list[list[str]]:
    # Broken flows first, then the doubtful ones: they are what a reviewer has to read.
    rank = {Verdict.BROKEN: 0, Verdict.UNRESOLVED: 1, Verdict.CONDITIONAL: 2, Verdict.PROVEN: 3}
    ordered = sorted(flows, key=lambda flow: rank[flow.verdict])
    return [
        [
            f"{flow.verdict.symbol} {flow.verdict.value}",
            flow.kind,
            _code(flow.id),
            _cell(flow.title),
            _cell(flow.reason),
        ]
        for flow in ordered
    ]


def render_markdown(result: PreviewResult) -> str:
    """The preview for a pull request: what fails it first, within COMMENT_BUDGET characters."""
    lines = [f"### paved preview: `{_cell(result.stack)}`", "", f"**{verdict(result)}**", ""]
    if not result.ran_cleanly:
        lines += [f"Nothing was judged: {stopped_because(result)}.", ""]
        if result.failure:
            lines += ["```text", result.failure.replace("```", "'''"), "```", ""]
        return "\n".join(lines)
    budget = COMMENT_BUDGET
    recording = result.recording
    if recording is not None:
        lines += [
            f"{len(recording.resources)} resources, declared as a first preview declares them (every one "
            "created); `pulumi preview` against the deployed stack shows what this change would change.",
            "",
        ]
    if result.violations:
        levels = Counter(violation.level for violation in result.violations)
        counts = ", ".join(f"{count} {level}" for level, count in sorted(levels.items()))
        # With flows to show, violations take at most half: a long list of them must not crowd out the
        # wiring table.
        share = budget // 2 if result.flows else budget
        table, used = _table(
            ["level", "policy", "resource", "message"],
            _violation_rows(result.violations),
            share,
            "violations",
        )
        budget -= used
        lines += [f"<details><summary>Policy violations: {counts}</summary>", "", table, "", "</details>", ""]
    if result.flows:
        by_verdict = Counter(flow.verdict for flow in result.flows)
        table, used = _table(
            ["verdict", "kind", "flow", "path", "why not proven"], _flow_rows(result.flows), budget, "flows"
        )
        lines += [
            f"**Wiring: {len(result.flows)} flows, {by_verdict[Verdict.PROVEN]} proven, "
            f"{by_verdict[Verdict.BROKEN]} broken**",
            "",
            table,
            "",
        ]
    return "\n".join(lines)


def write_markdown(path: Path, result: PreviewResult) -> None:
    path.write_text(render_markdown(result), encoding="utf-8")
