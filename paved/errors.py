"""Config problems, the error that reports them all at once, and pydantic errors turned into problems.

A failing check raises `invalid(...)`: its hint travels with the pydantic error. A field's `Hint` annotation
is the hint for any other error on that field. Every problem names its camelCase key path
(`paved:apps[1].replicas.min`).
"""

import difflib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, TypeVar, get_args

import pulumi
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails, PydanticCustomError

T = TypeVar("T")

REFERENCE = "README.md, Configuration reference"


class ConfigProblem(NamedTuple):
    path: str
    message: str
    hint: str


class ConfigError(pulumi.RunError):
    """Every problem of a stack's configuration; a RunError so Pulumi prints it without a traceback."""

    def __init__(self, stack: str, problems: list[ConfigProblem]) -> None:
        self.stack = stack
        self.problems = problems
        super().__init__(describe_problems(f"Invalid configuration for stack '{stack}'", problems))


def describe_problems(title: str, problems: Sequence[ConfigProblem]) -> str:
    """`title: N problems`, then each problem's path, message and hint.

    A path is made of the file's own keys, so it is shown through `printable`, like the title (which names
    the stack); messages and hints show user values with repr or `printable` where they are built."""
    count = f"{len(problems)} problem{'' if len(problems) == 1 else 's'}"
    lines = [f"{printable(title)}: {count}"]
    for problem in problems:
        lines += [f"  ✗ {printable(problem.path)}: {problem.message}", f"      hint: {problem.hint}"]
    return "\n".join(lines)


_NAMED_ESCAPES = {"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escaped(char: str) -> str:
    if char in _NAMED_ESCAPES:
        return _NAMED_ESCAPES[char]
    if char.isprintable():
        return char
    code = ord(char)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def printable(text: str) -> str:
    """`text` as a problem shows it: each character a terminal would not show as itself written as its
    Python escape, as repr writes it (controls, zero-width and other format characters, bidi overrides,
    separators but the space, lone surrogates, unassigned code points), and `\\` doubled, so an escape shown
    is never the user's own text.

    A bidi override (U+202E) reverses the rest of the line it is printed on, a zero-width space hides a
    difference between two keys, and a lone surrogate (YAML's "\\ud800") cannot be encoded at all: printing
    it to a UTF-8 stream raises UnicodeEncodeError, so the problem would never be seen."""
    return "".join(map(_escaped, text))


_CUSTOM_ERROR = "paved"


@dataclass(frozen=True)
class Hint:
    """Annotated metadata: the hint shown for any error on this field."""

    text: str


def invalid(message: str, hint: str) -> PydanticCustomError:
    # The message goes through the context so that braces in user input are never read as a template.
    return PydanticCustomError(_CUSTOM_ERROR, "{message}", {"message": message, "hint": hint})


_MESSAGES = {
    _CUSTOM_ERROR: "{msg}",
    "missing": "is required",
    "extra_forbidden": "unknown key",
    "model_type": "must be a map of keys, got {input}",
    "dict_type": "must be a map of keys, got {input}",
    "less_than_equal": "must be ≤ {le}, got {input}",
    "greater_than_equal": "must be ≥ {ge}, got {input}",
    "too_short": "must have at least {min_length} item(s), got {actual_length}",
    "too_long": "must have at most {max_length} item(s), got {actual_length}",
    "string_too_short": "must have at least {min_length} character(s), got {input}",
    "string_too_long": "must have at most {max_length} characters",
}
_GENERIC_HINTS = {
    "missing": f"add this key to the stack file (see {REFERENCE})",
    "literal_error": "use one of {expected}",
    "bool_type": "use true or false",
    "bool_parsing": "use true or false",
    "int_type": "use a whole number",
    "int_parsing": "use a whole number",
    "int_from_float": "use a whole number",
    "string_type": 'use a string; quote it in YAML (e.g. "17")',
    "list_type": "use a YAML list",
    "dict_type": "use a YAML map of key: value",
    "model_type": "use a YAML map of key: value",
    "less_than_equal": "use a value ≤ {le}",
    "greater_than_equal": "use a value ≥ {ge}",
}
_DEFAULT_HINT = f"see {REFERENCE} for this key's type and allowed values"


def show_value(value: Any) -> str:
    shown = repr(value)
    return shown if len(shown) <= 60 else f"{shown[:57]}..."


def _join(path: str, loc: Iterable[str | int]) -> str:
    return path + "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc)


def _fields_by_key(model: type[BaseModel]) -> dict[str, FieldInfo]:
    return {field.alias or name: field for name, field in model.model_fields.items()}


def _nested_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return next(filter(None, map(_nested_model, get_args(annotation))), None)


def _walk(
    model: type[BaseModel] | None, loc: Sequence[str | int]
) -> tuple[FieldInfo | None, type[BaseModel] | None]:
    """The deepest field `loc` reaches from `model`, and the model found there (ints are list indexes)."""
    field = None
    for part in loc:
        if isinstance(part, int):
            continue
        found = _fields_by_key(model).get(part) if model else None
        if found is None:
            return field, None
        field, model = found, _nested_model(found.annotation)
    return field, model


def _field_hint(field: FieldInfo | None) -> str | None:
    hints = (item.text for item in (field.metadata if field else []) if isinstance(item, Hint))
    return next(hints, None)


def unknown_key_hint(key: str, known: Iterable[str]) -> str:
    by_lowercase = {name.lower(): name for name in known}
    close = difflib.get_close_matches(key.lower(), by_lowercase, n=1)
    if close:
        return (
            f"did you mean '{by_lowercase[close[0]]}'? Unknown keys are rejected so typos cannot go unnoticed"
        )
    return f"allowed keys: {', '.join(by_lowercase.values()) or 'none'}"


def problem_from(details: ErrorDetails, path: str, root: type[BaseModel] | None) -> ConfigProblem:
    loc, kind = details["loc"], details["type"]
    ctx = {**details.get("ctx", {}), "msg": details["msg"], "input": show_value(details["input"])}
    if kind == "extra_forbidden":
        container = _walk(root, loc[:-1])[1]
        hint = unknown_key_hint(str(loc[-1]), _fields_by_key(container) if container else ())
    else:
        field = _walk(root, loc)[0]
        hint = ctx.get("hint") or _field_hint(field) or _GENERIC_HINTS.get(kind, _DEFAULT_HINT).format(**ctx)
    message = _MESSAGES.get(kind, "{msg}, got {input}").format(**ctx)
    return ConfigProblem(_join(path, loc), message, str(hint))


def validated(
    validate: Callable[[Any], T],
    data: Any,
    path: str,
    problems: list[ConfigProblem],
    root: type[BaseModel] | None = None,
) -> T | None:
    """`validate(data)`, or None with its errors appended to `problems` (`root` is the model, for hints)."""
    try:
        return validate(data)
    except ValidationError as error:
        problems.extend(problem_from(details, path, root) for details in error.errors())
        return None
