"""Pulumi's YAML files read strictly, with errors a person can act on.

A stack file is edited by hand. PyYAML alone turns a typo into a traceback, lets a duplicate key silently
overwrite the first, and hands back bytes, dates or sets where config can only be text, numbers, booleans,
lists and maps (the Pulumi CLI keeps config as strings and JSON). Each of those becomes one `YamlError`
naming the file, line and column.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import yaml

from paved.errors import printable


class YamlError(Exception):
    """A YAML file paved cannot use, said as `file:line:column: what` with the offending line, and a hint."""

    def __init__(self, where: str, hint: str) -> None:
        super().__init__(f"{where}\n  hint: {hint}")


_SYNTAX_HINT = (
    "check the indentation (spaces only) and quote text that holds ': ', ' #' or starts with a symbol"
)


def _syntax_hint(problem: str | None) -> str:
    if problem is not None and "'\\t'" in problem:
        return "indent with spaces: YAML does not allow tabs in indentation"
    return _SYNTAX_HINT


def _where(path: Path, mark: Any, text: str) -> str:
    """`file:line:column`, the line shown through `printable` and a caret under the column."""
    if mark is None:
        return printable(str(path))
    lines = text.splitlines()
    line = lines[mark.line] if mark.line < len(lines) else ""
    caret = " " * len(printable(line[: mark.column]))
    return f"{printable(str(path))}:{mark.line + 1}:{mark.column + 1}\n    {printable(line)}\n    {caret}^"


class _StrictLoader(yaml.SafeLoader):
    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, yaml.Node] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)  # type: ignore[arg-type]
            if not isinstance(key, str):
                raise yaml.MarkedYAMLError(
                    problem=f"a key must be text, got {type(key).__name__} {key!r}",
                    problem_mark=key_node.start_mark,
                )
            if key in seen:
                raise yaml.MarkedYAMLError(
                    problem=f"duplicate key {key!r} (first on line {seen[key].start_mark.line + 1}); "
                    "YAML keeps only the last, so remove one",
                    problem_mark=key_node.start_mark,
                )
            seen[key] = key_node
        return super().construct_mapping(node, deep=deep)


_PLAIN = (str, bool, int, float, type(None))


def _text_problem(text: str, path: str) -> str | None:
    """A key or text value with a lone surrogate (a YAML "\\ud800" escape), described; None otherwise."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return f"{path.lstrip('.')}: text with a lone surrogate (\\ud800-\\udfff) is not valid Unicode"
    return None


def _check_values(value: Any, path: str) -> str | None:
    """The first value config cannot hold, described; None when all can."""
    if isinstance(value, dict):
        for key, item in value.items():  # every key is text: the loader refuses others
            where = f"{path}.{printable(key)}"
            if found := _text_problem(key, where) or _check_values(item, where):
                return found
        return None
    if isinstance(value, list):
        return next(
            (found for index, item in enumerate(value) if (found := _check_values(item, f"{path}[{index}]"))),
            None,
        )
    if isinstance(value, str):
        return _text_problem(value, path)
    if isinstance(value, _PLAIN):
        return None
    hint = "quote it to keep it as text" if isinstance(value, date) else "use text, a number, a list or a map"
    return f"{path.lstrip('.')}: a {type(value).__name__} value ({hint})"


def read_yaml(path: Path) -> dict[str, Any]:
    """A YAML document that must be a map (empty: {}), or YamlError."""
    text = path.read_text(encoding="utf-8", errors="surrogateescape")
    try:
        document = yaml.load(text, Loader=_StrictLoader)  # noqa: S506 a SafeLoader subclass
    except yaml.MarkedYAMLError as error:
        where = _where(path, error.problem_mark, text)
        context = error.context_mark
        mark = error.problem_mark
        if error.context and context is not None and mark is not None and context.line != mark.line:
            where = f"{where}\n  {error.context} that starts at {_where(path, context, text)}"
        raise YamlError(f"{where}\n  {error.problem}", _syntax_hint(error.problem)) from None
    except yaml.YAMLError as error:
        raise YamlError(f"{path}: {error}", _SYNTAX_HINT) from None
    except RecursionError:
        raise YamlError(
            f"{path}: nested too deeply to be a Pulumi config file", "config nests a few levels at most"
        ) from None
    if document is None:
        return {}
    if not isinstance(document, dict):
        raise YamlError(
            f"{path}: must be a map of keys, not a {type(document).__name__}",
            "start the file with `config:` and indent the keys under it",
        )
    problem = _check_values(document, "")
    if problem is not None:
        raise YamlError(f"{path}: {problem}", "config holds text, numbers, booleans, lists and maps only")
    return document


def config_key_lines(path: Path) -> dict[str, int]:
    """The 1-based line of every key under a stack file's `config:`, by its key path as config problems name
    it (`paved:apps[1].replicas.min`; a list item at the line of its first key or value); {} when the file
    cannot be read or has no `config:` map."""
    lines: dict[str, int] = {}
    try:
        text = path.read_text(encoding="utf-8", errors="surrogateescape")
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        config = _mapping_value(root, "config")
        if isinstance(config, yaml.MappingNode):
            _node_lines(config, "", lines)
    except (OSError, yaml.YAMLError, RecursionError):  # RecursionError: an anchor that contains itself
        return {}
    return lines


def _mapping_value(node: yaml.Node | None, key: str) -> yaml.Node | None:
    if not isinstance(node, yaml.MappingNode):
        return None
    return next((value for name, value in node.value if name.value == key), None)


def _node_lines(node: yaml.Node, path: str, lines: dict[str, int]) -> None:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            child = f"{path}.{key.value}" if path else str(key.value)
            lines[child] = key.start_mark.line + 1
            _node_lines(value, child, lines)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            child = f"{path}[{index}]"
            lines[child] = item.start_mark.line + 1
            _node_lines(item, child, lines)
