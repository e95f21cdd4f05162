"""Just enough of Helm's Go templates to render a chart's RBAC templates with given values, no helm binary.

It implements the template language's whitespace trimming, `if`/`else if`/`else`/`with`/`range`, pipelines and
the handful of Sprig functions the vendored RBAC templates call (tests/fixtures/charts/). Anything else raises
`Unsupported`, so a template that needs more fails its test rather than rendering something else. Named
templates (`include`/`template`) only build names and labels here: they render as "release", or "" for label
blocks, unless `helpers` gives their meaning.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

Helper = Callable[[Any], Any]


class Unsupported(Exception):
    """The template uses a construct this renderer does not implement."""


def render(
    template: str,
    values: Mapping[str, Any],
    *,
    namespace: str,
    helpers: Mapping[str, Helper] | None = None,
    api_versions: frozenset[str] = frozenset(),
) -> list[dict[str, Any]]:
    """The YAML documents `template` renders to with `values` (already merged over the chart's defaults), on
    a cluster that serves `api_versions` (`.Capabilities.APIVersions.Has`)."""
    root = {
        "Values": values,
        "Release": {"Namespace": namespace, "Name": "release"},
        "Capabilities": {"APIVersions": {"Has": api_versions.__contains__}},
    }
    nodes = _parse(_tokens(template))
    text = "".join(_Renderer(root, helpers or {}).run(nodes, root))
    return [doc for doc in yaml.safe_load_all(text) if doc]


def merge_values(defaults: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Helm's coalescing: maps merge key by key, anything else is replaced, and null deletes the default."""
    merged = dict(defaults)
    for key, value in overrides.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = merge_values(merged[key], value)
        else:
            merged[key] = value
    return merged


# --- lexing -------------------------------------------------------------------------------------------------

_ACTION = re.compile(r"\{\{(-\s)?(.*?)(\s-)?\}\}", re.DOTALL)


@dataclass
class _Action:
    text: str


def _tokens(template: str) -> list[str | _Action]:
    """Text and actions, with `{{- ` and ` -}}` already applied to the neighbouring text."""
    tokens: list[str | _Action] = []
    position = 0
    trim_next = False
    for match in _ACTION.finditer(template):
        text = template[position : match.start()]
        if trim_next:
            text = text.lstrip()
        if match.group(1):
            text = text.rstrip()
        tokens.append(text)
        body = match.group(2).strip()
        if not body.startswith("/*"):
            tokens.append(_Action(body))
        trim_next = bool(match.group(3))
        position = match.end()
    tail = template[position:]
    tokens.append(tail.lstrip() if trim_next else tail)
    return tokens


# --- parsing ------------------------------------------------------------------------------------------------


@dataclass
class _Block:
    keyword: str  # if, with, range
    branches: list[tuple[str | None, list[Any]]] = field(
        default_factory=list
    )  # (condition, body); else: None


def _parse(tokens: list[str | _Action]) -> list[Any]:
    stream = iter(tokens)
    nodes, closer = _parse_until(stream)
    if closer is not None:
        raise Unsupported(f"unexpected {{{{ {closer} }}}}")
    return nodes


def _parse_until(stream: Iterator[str | _Action]) -> tuple[list[Any], str | None]:
    nodes: list[Any] = []
    for token in stream:
        if isinstance(token, str):
            nodes.append(token)
            continue
        word, _, rest = token.text.partition(" ")
        if word in ("if", "with", "range"):
            block = _Block(word)
            condition: str | None = rest.strip()
            while True:
                body, closer = _parse_until(stream)
                block.branches.append((condition, body))
                if closer is None:
                    raise Unsupported(f"unclosed {{{{ {word} }}}}")
                if closer == "end":
                    break
                condition = closer.removeprefix("else").strip().removeprefix("if").strip() or None
            nodes.append(block)
        elif word in ("end", "else"):
            return nodes, token.text
        else:
            nodes.append(token)
    return nodes, None


# --- evaluation ---------------------------------------------------------------------------------------------


def _truthy(value: Any) -> bool:
    return (
        value is not None
        and value is not False
        and value != 0
        and value != ""
        and value != []
        and value != {}
    )


def _to_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _indent(width: int, text: Any) -> str:
    return "\n".join(" " * width + line for line in _to_text(text).split("\n"))


def _lookup(value: Any, path: str) -> Any:
    for key in filter(None, path.split(".")):
        value = value.get(key) if isinstance(value, Mapping) else None
    return value


_WORD = re.compile(r'"(?:\\.|[^"\\])*"|\(|\)|\||[^\s()|]+')


class _Renderer:
    def __init__(self, root: Mapping[str, Any], helpers: Mapping[str, Helper]) -> None:
        self._root = root
        self._helpers = helpers
        self._functions: dict[str, Callable[..., Any]] = {
            "eq": lambda a, b: a == b,
            "ne": lambda a, b: a != b,
            "not": lambda a: not _truthy(a),
            "and": lambda *args: next((a for a in args if not _truthy(a)), args[-1]),
            "or": lambda *args: next((a for a in args if _truthy(a)), args[-1]),
            "default": lambda fallback, value=None: value if _truthy(value) else fallback,
            "quote": lambda value: json.dumps(_to_text(value)),
            "index": lambda mapping, key: (mapping or {}).get(key),
            "hasKey": lambda mapping, key: key in (mapping or {}),
            "has": lambda item, items: item in (items or []),
            "list": lambda *items: list(items),
            "int": int,
            "gt": lambda a, b: a > b,
            "splitList": lambda separator, text: _to_text(text).split(separator),
            "printf": lambda fmt, *args: fmt.replace("%s", "{}").format(*map(_to_text, args)),
            "indent": _indent,
            "nindent": lambda width, text: "\n" + _indent(width, text),
            "toYaml": lambda value: yaml.safe_dump(value, default_flow_style=False).rstrip("\n"),
        }

    def run(self, nodes: Sequence[Any], dot: Any) -> Iterator[str]:
        for node in nodes:
            if isinstance(node, str):
                yield node
            elif isinstance(node, _Action):
                yield _to_text(self._pipeline(node.text, dot))
            else:
                yield from self._block(node, dot)

    def _block(self, block: _Block, dot: Any) -> Iterator[str]:
        for condition, body in block.branches:
            if condition is None:
                yield from self.run(body, dot)
                return
            if ":=" in condition:
                raise Unsupported(f"variables: {condition}")
            value = self._pipeline(condition, dot)
            if not _truthy(value):
                continue
            if block.keyword == "range":
                for item in value.values() if isinstance(value, Mapping) else value:
                    yield from self.run(body, item)
            else:
                yield from self.run(body, value if block.keyword == "with" else dot)
            return

    def _pipeline(self, text: str, dot: Any) -> Any:
        words = _WORD.findall(text)
        value, rest = self._parse_pipeline(words, dot)
        if rest:
            raise Unsupported(f"trailing {rest} in {text}")
        return value

    def _parse_pipeline(self, words: list[str], dot: Any) -> tuple[Any, list[str]]:
        value: Any = None
        first = True
        while True:
            command: list[Any] = []
            name: str | None = None
            while words and words[0] not in ("|", ")"):
                word = words.pop(0)
                if word == "(":
                    inner, words = self._parse_pipeline(words, dot)
                    if not words or words.pop(0) != ")":
                        raise Unsupported("unbalanced parentheses")
                    command.append(inner)
                elif (
                    not command
                    and name is None
                    and re.fullmatch(r"[A-Za-z]\w*", word)
                    and word
                    not in (
                        "true",
                        "false",
                    )
                ):
                    name = word
                else:
                    command.append(self._term(word, dot))
            if not first:
                command.append(value)
            value = self._call(name, command)
            first = False
            if not words or words[0] == ")":
                return value, words
            words.pop(0)  # "|"

    def _term(self, word: str, dot: Any) -> Any:
        if word.startswith('"'):
            return json.loads(word)
        if word in ("true", "false"):
            return word == "true"
        if re.fullmatch(r"-?\d+", word):
            return int(word)
        if word == ".":
            return dot
        if word.startswith("$"):
            return (
                _lookup(self._root, word[1:]) if word.startswith("$.") or word == "$" else _unsupported(word)
            )
        if word.startswith("."):
            return _lookup(dot, word)
        raise Unsupported(f"term {word}")

    def _call(self, name: str | None, args: list[Any]) -> Any:
        if name is None:
            if args and callable(args[0]):
                return args[0](*args[1:])  # a method value, such as .Capabilities.APIVersions.Has
            if len(args) != 1:
                raise Unsupported(f"arguments without a function: {args}")
            return args[0]
        if name in ("include", "template"):
            helper = self._helpers.get(args[0])
            if helper:
                return helper(args[1])
            # Label blocks render empty (their keys don't matter here); any other named template is a name.
            return "" if args[0].lower().endswith("labels") else "release"
        function = self._functions.get(name)
        if function is None:
            raise Unsupported(f"function {name}")
        return function(*args)


def _unsupported(word: str) -> Any:
    raise Unsupported(f"variable {word}")
