"""Output that fits where it is read (paved/terminal.py, and the report rendered through it): the prod
preview at 80 and 120 columns and off a terminal, no line wider than asked and nothing lost; the spinner only
on a terminal."""

from __future__ import annotations

import io
import re
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rich.cells import cell_len
from typer.testing import CliRunner

import paved.preview as preview_module
from paved.cli import app
from paved.preview import PreviewResult
from paved.recorder import LogEntry, Recording
from paved.report import (
    display_type,
    flow_explanation,
    render_text,
    stopped_because,
    wiring_lines,
)
from paved.terminal import (
    ELLIPSIS,
    NARROWEST_WIDTH,
    NON_TERMINAL_WIDTH,
    ellipsize,
    output_width,
    progress,
    wrap,
)

WIDTHS = [NARROWEST_WIDTH, 80, NON_TERMINAL_WIDTH]
# Wide enough that the prod tree has room for every type and name in full.
UNCUT_WIDTH = 300
TREE_ROW = re.compile(r"^ \+   (?P<branch>[│├└─ ]*)(?P<type>\S+)\s+(?P<name>\S+)\s+create$")


def squeezed(text: str) -> str:
    """`text` without any whitespace: what is left once wrapping's line breaks and indentation are undone."""
    return "".join(text.split())


def widest(lines: list[str]) -> int:
    return max(cell_len(line) for line in lines)


class TerminalStream(io.StringIO):
    """A stream that says it is a terminal, as a TTY would."""

    def isatty(self) -> bool:
        return True


# -- wrapping and cutting -----------------------------------------------------------------------------------

words = st.text(st.sampled_from("abc-:/.❌⚠🔧→"), min_size=1, max_size=60)
indented_lines = st.tuples(st.integers(0, 12), st.lists(words, min_size=1, max_size=12)).map(
    lambda parts: " " * parts[0] + " ".join(parts[1])
)


@given(
    lines=st.lists(indented_lines, min_size=1, max_size=4),
    width=st.integers(NARROWEST_WIDTH // 2, 160),
    hanging=st.integers(0, 12),
)
def test_wrapped_lines_fit_and_keep_every_character(lines: list[str], width: int, hanging: int) -> None:
    text = "\n".join(lines)
    wrapped = wrap(text, width, hanging)
    assert widest(wrapped) <= width
    assert squeezed("\n".join(wrapped)) == squeezed(text)


def test_a_wrapped_line_keeps_its_indentation_and_continues_deeper() -> None:
    line = "        - [advisory] ⚠ some-policy  (urn:pulumi:prod::paved::aws:s3/bucket:Bucket::logs)"
    assert wrap(line, 64, hanging=2) == [
        "        - [advisory] ⚠ some-policy",
        "          (urn:pulumi:prod::paved::aws:s3/bucket:Bucket::logs)",
    ]
    # The text's own further lines sit as deep as the first line's continuations, plus their own indentation.
    error = "  error: it failed\n  ✗ a problem"
    assert wrap(error, 60, hanging=2) == ["  error: it failed", "      ✗ a problem"]


def test_width_is_counted_in_cells_not_characters() -> None:
    # Ten characters, twenty cells: by len() they would fit in 12.
    assert wrap("❌" * 10, 12) == ["❌" * 6, "❌" * 4]
    assert cell_len(ellipsize("❌" * 10, 7)) <= 7


def test_a_cut_name_keeps_its_start_and_end() -> None:
    assert ellipsize("network-private-1", 17) == "network-private-1"
    cut = ellipsize("network-private-1", 12)
    assert cell_len(cut) == 12 and ELLIPSIS in cut
    head, tail = cut.split(ELLIPSIS)
    assert "network-private-1".startswith(head) and "network-private-1".endswith(tail) and head and tail
    assert ellipsize("network-private-2", 12) != cut


def test_types_are_shown_as_pulumi_preview_shows_them() -> None:
    assert display_type("aws:ec2/vpc:Vpc") == "aws:ec2:Vpc"
    assert display_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule") == (
        "aws:vpc:SecurityGroupIngressRule"
    )
    # Only a module segment that repeats the name goes.
    assert display_type("kubernetes:apps/v1:Deployment") == "kubernetes:apps/v1:Deployment"
    assert display_type("pulumi:providers:aws") == "pulumi:providers:aws"


# -- the width asked for ------------------------------------------------------------------------------------


def test_off_a_terminal_the_width_is_fixed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "300")
    assert output_width(io.StringIO()) == NON_TERMINAL_WIDTH


def test_on_a_terminal_the_width_is_the_terminals(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "93")
    assert output_width(TerminalStream()) == 93
    monkeypatch.setenv("COLUMNS", "12")
    assert output_width(TerminalStream()) == NARROWEST_WIDTH


# -- the prod preview ---------------------------------------------------------------------------------------


def tree_rows(text: str) -> list[re.Match[str]]:
    return [match for line in text.splitlines() if (match := TREE_ROW.match(line))]


def is_cut_from(shown: str, full: str) -> bool:
    if shown == full:
        return True
    head, _, tail = shown.partition(ELLIPSIS)
    return bool(head) and bool(tail) and full.startswith(head) and full.endswith(tail)


@pytest.mark.parametrize("width", WIDTHS)
def test_the_prod_preview_fits_and_loses_nothing(prod_preview: PreviewResult, width: int) -> None:
    text = render_text(prod_preview, width)
    lines = text.splitlines()
    assert widest(lines) <= width
    assert prod_preview.recording is not None and prod_preview.violations and prod_preview.flows
    # Every resource keeps its row and its place in the tree; its type and name may be cut, never lost.
    uncut = tree_rows(render_text(prod_preview, UNCUT_WIDTH))
    resources = prod_preview.recording.resources
    assert sorted(row["name"] for row in uncut) == sorted(item.name for item in resources)
    assert sorted(row["type"] for row in uncut) == sorted(display_type(item.type) for item in resources)
    rows = tree_rows(text)
    assert [row["branch"] for row in rows] == [row["branch"] for row in uncut]
    for row, full in zip(rows, uncut, strict=True):
        assert is_cut_from(row["type"], full["type"]) and is_cut_from(row["name"], full["name"]), row[0]
    # Everything else is wrapped, whole.
    everything = squeezed(text)
    for violation in prod_preview.violations:
        entry = f"{violation.policy}  ({violation.urn or 'stack'}) {violation.message}"
        assert squeezed(entry) in everything
    for flow in prod_preview.flows:
        assert squeezed(f"{flow.verdict.symbol} {flow.kind} {flow.id} {flow.title}") in everything
    for key in prod_preview.recording.stack_outputs:
        assert f"{key}:" in everything
    counts = f"0 mandatory, {len(prod_preview.violations)} other policy violations, 0 failing wiring flows."
    assert everything.endswith(squeezed(f"Preview succeeded: {counts}"))


def test_the_prod_tree_is_cut_only_where_it_must_be(prod_preview: PreviewResult) -> None:
    def cut(width: int) -> int:
        return sum(ELLIPSIS in row[0] for row in tree_rows(render_text(prod_preview, width)))

    assert cut(UNCUT_WIDTH) == 0
    # Of the split between types and names, the one that cuts the fewest rows.
    assert cut(NON_TERMINAL_WIDTH) <= 2
    assert 0 < cut(80) < len(tree_rows(render_text(prod_preview, 80))) / 3


@pytest.mark.parametrize("width", WIDTHS)
def test_the_prod_flows_fit_and_lose_nothing(prod_preview: PreviewResult, width: int) -> None:
    assert widest(wiring_lines(prod_preview.flows, width)) <= width
    for flow in prod_preview.flows:
        explained = flow_explanation(flow, width)
        assert widest(explained) <= width
        everything = squeezed("\n".join(explained))
        for hop in flow.evidence:
            assert squeezed(hop.text) in everything and squeezed(hop.urn or "") in everything


@pytest.fixture
def previewing_prod(monkeypatch: pytest.MonkeyPatch, prod_preview: PreviewResult) -> list[str]:
    """The CLI's preview answers the session's prod preview; returns the stacks it was asked for."""
    asked: list[str] = []

    def run_preview(_directory: Path, stack: str, *_args: object) -> PreviewResult:
        asked.append(stack)
        return prod_preview

    monkeypatch.setattr(preview_module, "run_preview", run_preview)
    return asked


@pytest.mark.parametrize(
    "command",
    [
        ["preview", "--stack", "prod"],
        ["preview", "--stack", "prod", "--json", "-"],
        ["flows", "--stack", "prod"],
        ["flows", "--stack", "prod", "--why", "edge->web"],
    ],
)
def test_off_a_terminal_no_line_is_over_120_and_no_spinner_shows(
    previewing_prod: list[str], monkeypatch: pytest.MonkeyPatch, command: list[str]
) -> None:
    # rich alone would take FORCE_COLOR for a terminal and animate into the pipe.
    monkeypatch.setenv("FORCE_COLOR", "1")
    monkeypatch.delenv("CI", raising=False)
    result = CliRunner().invoke(app, command)
    assert result.exit_code == 0, result.output
    assert previewing_prod == ["prod"]
    text = result.stderr if "--json" in command else result.stdout
    assert len(text.splitlines()) > 3 and widest(text.splitlines()) <= NON_TERMINAL_WIDTH
    assert "\x1b" not in result.output and "offline…" not in result.output


# -- the spinner --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stdout_is_terminal", "stderr_is_terminal", "ci", "shown"),
    [
        (True, True, None, True),
        (True, True, "true", False),
        (False, True, None, False),
        (True, False, None, False),
    ],
)
def test_the_spinner_shows_only_on_a_terminal_outside_ci(
    monkeypatch: pytest.MonkeyPatch,
    stdout_is_terminal: bool,
    stderr_is_terminal: bool,
    ci: str | None,
    shown: bool,
) -> None:
    stderr = TerminalStream() if stderr_is_terminal else io.StringIO()
    monkeypatch.setattr(sys, "stdout", TerminalStream() if stdout_is_terminal else io.StringIO())
    monkeypatch.setattr(sys, "stderr", stderr)
    monkeypatch.setenv("TERM", "xterm-256color")
    for variable in ("TTY_INTERACTIVE", "TTY_COMPATIBLE", "FORCE_COLOR"):
        monkeypatch.delenv(variable, raising=False)
    if ci is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", ci)
    with progress("Previewing prod offline…"):
        pass
    assert ("Previewing prod offline…" in stderr.getvalue()) is shown


def test_no_spinner_on_a_dumb_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    stderr = TerminalStream()
    monkeypatch.setattr(sys, "stdout", TerminalStream())
    monkeypatch.setattr(sys, "stderr", stderr)
    monkeypatch.setenv("TERM", "dumb")
    monkeypatch.delenv("CI", raising=False)
    with progress("Previewing prod offline…"):
        pass
    assert stderr.getvalue() == ""


# -- a preview that judged nothing says so ------------------------------------------------------------------


def test_a_program_that_logged_errors_is_not_summed_up_as_judged() -> None:
    recording = Recording(project="demo", stack="dev", logs=[LogEntry("error", "it went wrong", "")])
    result = PreviewResult(project="demo", stack="dev", config={}, recording=recording)
    assert stopped_because(result) == "the program logged errors"
    text = render_text(result, 80)
    assert "mandatory" not in text
    assert text.splitlines()[-2:] == [
        "Preview failed: the program logged errors (see above), so no policy judged the",
        "resources.",
    ]
