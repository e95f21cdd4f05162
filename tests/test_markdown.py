"""`paved preview --markdown` (paved/markdown.py): the pull request comment, read back by a CommonMark + GFM
table parser (markdown-it-py, which rich ships), not by string matching alone."""

from __future__ import annotations

import re
from typing import Any

import pytest
from markdown_it import MarkdownIt
from paved_policies.wiring.verdicts import FlowResult, Verdict

from paved.analyzer import PackResult, PolicyViolation
from paved.markdown import COMMENT_BUDGET, render_markdown
from paved.preview import PreviewResult
from paved.recorder import Recording

PARSER = MarkdownIt("commonmark").enable("table")


def _tables(text: str) -> list[list[list[str]]]:
    """Each table's rows (header first), each row's cells as the parser reads them."""
    tables: list[list[list[str]]] = []
    row: list[str] | None = None
    tokens = PARSER.parse(text)
    for index, token in enumerate(tokens):
        if token.type == "table_open":
            tables.append([])
        elif token.type == "tr_open":
            row = []
        elif token.type in {"th_open", "td_open"} and row is not None:
            inline = tokens[index + 1]
            row.append("".join(child.content for child in inline.children or []) if inline.children else "")
        elif token.type == "tr_close" and row is not None:
            tables[-1].append(row)
    return tables


def _flow(id_: str, verdict: Verdict, title: str = "a → b", reason: str = "") -> FlowResult:
    return FlowResult(id_, "required", title, verdict, reason=reason)


def _violation(policy: str, level: str, message: str) -> PolicyViolation:
    return PolicyViolation(
        "paved-aws", "0.1.0", policy, level, "high", message, "urn:pulumi:p::p::aws:s3:Bucket::b"
    )


def _left_out(text: str, what: str) -> int:
    match = re.search(rf"… and (\d+) more {what}: the job log has them all\.", text)
    return int(match.group(1)) if match else 0


def _result(violations: list[PolicyViolation], flows: list[FlowResult], **fields: Any) -> PreviewResult:
    pack = PackResult("paved-aws", "0.1.0", 3, violations=violations)
    recording = Recording("paved", "prod")
    return PreviewResult(
        project="paved", stack="prod", config={}, recording=recording, packs=[pack], flows=flows, **fields
    )


def test_violations_and_flows_render_as_tables_what_fails_first() -> None:
    violations = [
        _violation("rds-multi-az", "advisory", "single AZ"),
        _violation("aws-required-tags", "mandatory", "lacks the tag owner"),
        _violation("s3-versioning", "advisory", "not versioned"),
    ]
    flows = [_flow("api->database", Verdict.PROVEN), _flow("edge->web", Verdict.BROKEN, reason="no route")]
    result = _result(violations, flows)
    text = render_markdown(result)
    table, wiring = _tables(text)
    assert table == [
        ["level", "policy", "resource", "message"],
        ["mandatory", "aws-required-tags", "b", "lacks the tag owner"],
        ["advisory", "rds-multi-az", "b", "single AZ"],
        ["advisory", "s3-versioning", "b", "not versioned"],
    ]
    assert wiring == [
        ["verdict", "kind", "flow", "path", "why not proven"],
        ["✘ broken", "required", "edge->web", "a → b", "no route"],
        ["✔ proven", "required", "api->database", "a → b", ""],
    ]
    assert "**Preview failed: 1 mandatory, 2 other policy violations, 1 failing wiring flows.**" in text
    assert "<summary>Policy violations: 2 advisory, 1 mandatory</summary>" in text


def test_pipes_newlines_and_angle_brackets_stay_inside_their_cell() -> None:
    message = "expected <none> | got\nsomething"
    text = render_markdown(_result([_violation("odd|name", "advisory", message)], []))
    [table] = _tables(text)
    assert table[1] == ["advisory", "odd|name", "b", "expected <none> | got something"]
    assert "<none>" not in text, "raw HTML would reach the comment"


def test_the_comment_stays_under_githubs_limit_and_says_what_it_left_out() -> None:
    long = "x" * 400
    violations = [_violation(f"p{n}", "advisory", long) for n in range(400)]
    violations.append(_violation("blocker", "mandatory", "must hold"))
    flows = [_flow(f"flow-{n}", Verdict.PROVEN, long) for n in range(200)]
    flows.append(_flow("broken-one", Verdict.BROKEN, reason="no path"))
    text = render_markdown(_result(violations, flows))
    assert COMMENT_BUDGET - 2_000 < len(text) <= COMMENT_BUDGET + 2_000 < 65_536
    violation_table = _tables(text)[0]
    # What fails the preview is kept: the mandatory violation comes first.
    assert violation_table[1][:2] == ["mandatory", "blocker"]
    assert len(violation_table) - 1 + _left_out(text, "violations") == len(violations)
    assert _left_out(text, "flows") > 0


@pytest.mark.parametrize(
    ("fields", "said"),
    [
        ({"failure": "boom ``` fence", "config_failure": True}, "the configuration is invalid"),
        ({"failure": "Traceback", "pack_failure": True}, "a policy pack failed"),
    ],
)
def test_a_preview_that_judged_nothing_says_why_and_shows_no_tables(
    fields: dict[str, Any], said: str
) -> None:
    text = render_markdown(_result([], [], **fields))
    assert f"Nothing was judged: {said}." in text
    assert "so no policy judged the resources" in text
    assert _tables(text) == []
    # The failure is shown verbatim in one fenced block that its own backticks cannot close.
    [fence] = [token for token in PARSER.parse(text) if token.type == "fence"]
    assert fields["failure"].replace("```", "'''") in fence.content
