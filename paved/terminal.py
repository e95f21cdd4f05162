"""Text that fits where it is read: the width to render for, lines wrapped or cut to it in terminal cells
(❌ is two, ⚠ one, as rich measures them), and a spinner only where a person watches a terminal."""

from __future__ import annotations

import io
import os
import sys
from contextlib import AbstractContextManager, nullcontext
from typing import TextIO

from rich.cells import cell_len, get_character_cell_size, set_cell_size
from rich.console import Console
from rich.text import Text

# Pipes, files and CI logs have no width to ask: one wide enough for most URNs on a line, read in any viewer.
NON_TERMINAL_WIDTH = 120
# Narrower, the resource tree and the hanging indents leave nothing to read; the terminal soft-wraps instead.
NARROWEST_WIDTH = 40
ELLIPSIS = "…"

# rich wraps Text for a console; nothing is printed through this one.
_MEASURING = Console(file=io.StringIO())


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except ValueError:  # closed, as at the end of some test runners
        return False


def output_width(stream: TextIO) -> int:
    """The width in cells to render for on `stream`: its terminal's (as rich reads it, COLUMNS included), or
    NON_TERMINAL_WIDTH anywhere else."""
    if not _is_terminal(stream):
        return NON_TERMINAL_WIDTH
    return max(Console(file=stream).width, NARROWEST_WIDTH)


def progress(message: str) -> AbstractContextManager[object]:
    """A spinner with `message` on stderr while a long step runs, gone when it ends; nothing unless both
    stdout and stderr are terminals and CI is unset, so pipes, files, logs and tests never get its control
    codes."""
    if os.environ.get("CI") or not (_is_terminal(sys.stdout) and _is_terminal(sys.stderr)):
        return nullcontext()
    console = Console(stderr=True)
    # Not interactive: a dumb terminal, or TTY_INTERACTIVE=0. rich honours NO_COLOR for the spinner's colour.
    return console.status(message) if console.is_interactive else nullcontext()


def _indentation(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def wrap(text: str, width: int, hanging: int = 0) -> list[str]:
    """`text` in lines of at most `width` cells, words whole where they fit and folded where they do not, so
    nothing is lost. Each line keeps its indentation, and its continuations sit `hanging` cells deeper; the
    text's own further lines (after a newline) sit as deep as its first line's continuations."""
    first, *further = text.expandtabs().split("\n")
    deeper = " " * (_indentation(first) + hanging)
    lines = [first, *(deeper + line if line.strip() else "" for line in further)]
    return [piece for line in lines for piece in _wrap_line(line, width, hanging)]


def _wrap_line(line: str, width: int, hanging: int) -> list[str]:
    line = line.rstrip()
    if cell_len(line) <= width:
        return [line]
    # Indentation beyond half the line would leave too little to read beside it.
    indent = min(_indentation(line), width // 2)
    continuation = min(indent + hanging, width // 2)
    body = line.lstrip(" ")
    first = Text(body).wrap(_MEASURING, width - indent, overflow="fold")[0].plain
    rest = body[len(first) :].lstrip(" ")
    pieces = Text(rest).wrap(_MEASURING, width - continuation, overflow="fold") if rest else []
    return [" " * indent + first.rstrip(), *(" " * continuation + piece.plain.rstrip() for piece in pieces)]


def ellipsize(text: str, width: int) -> str:
    """`text` in at most `width` cells: whole if it fits, else its start and end around "…", so that names
    differing only at the end (network-private-1, -2) stay apart."""
    if cell_len(text) <= width:
        return text
    kept = width - cell_len(ELLIPSIS)
    head = set_cell_size(text, kept - kept // 2).rstrip()
    tail = ""
    for character in reversed(text):
        if cell_len(tail) + get_character_cell_size(character) > kept // 2:
            break
        tail = character + tail
    return head + ELLIPSIS + tail
