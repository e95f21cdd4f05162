"""Machine-mutated stack files: every one is accepted, or rejected with each problem at a key path and a hint.

The shipped stacks (stacks/Pulumi.{staging,prod}.yaml) are mutated the way people and tools break YAML: keys
removed, renamed or re-cased, values of the wrong type, huge, negative, empty or in other scripts, lists
with repeats, deep nesting, values moved between keys, and the text itself cut, re-indented or tabbed. Keys,
values and the text also get characters that print as nothing, reorder a line or cannot be printed at all
(zero-width, bidi overrides, controls, lone surrogates): what is said about them must print as it is. A
fixed seed makes each run the same. tests/test_config_fuzz.py runs a few hundred cases; a maintainer runs
many more with `uv run python -m tests.config_fuzz --cases 10000` (scripts/fuzz-config).
"""

from __future__ import annotations

import argparse
import copy
import random
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from paved.config import StackConfig, load_stack_config
from paved.errors import ConfigError
from paved.yaml_files import YamlError, read_yaml

ROOT = Path(__file__).resolve().parents[1]
STACKS = ("staging", "prod")

# Values a person, a template or a tool writes where they should not.
ODD_VALUES: tuple[Any, ...] = (
    None,
    "",
    " ",
    0,
    -1,
    10**18,
    1.5,
    float("nan"),
    True,
    "yes",
    "true",
    [],
    {},
    [None],
    {"": ""},
    "١٧",  # Arabic-Indic digits
    "１７",  # full-width digits
    "17\u200b",  # a zero-width space
    "\u202eevil",  # right-to-left override
    "eu-west-1\u2066\u2069",  # bidi isolates
    "\ud800",  # a lone surrogate: YAML's "\ud800" escape, or JSON's in PULUMI_CONFIG
    "prod\udcff",  # the surrogate a byte that is not UTF-8 becomes (surrogateescape)
    "bell\x07\x00",  # control characters, from double-quoted escapes
    "\ufeffx",  # a byte order mark
    "x" * 300,
    "UK",
    "eu-west-1",
    "10.0.0.0/8",
    "db.r7g.large",
    "m7i.large",
    "ops@example.com",
    "${paved:environment}",
    "{not json",
    '{"a": [1, 2]}',
)

Path_ = tuple[str | int, ...]


def _paths(value: Any, prefix: Path_ = ()) -> Iterator[Path_]:
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths(item, (*prefix, index))


def _parent(document: Any, path: Path_) -> Any:
    for step in path[:-1]:
        document = document[step]
    return document


def _nested(value: Any, depth: int) -> Any:
    for _ in range(depth):
        value = [value]
    return value


# Characters that look like nothing, reorder a line or cannot be printed, for keys and the text itself.
INVISIBLE = ("\u200b", "\u202e", "\u2066", "\ufeff", "\x07", "\x00", "\ud800")


def _rekeyed(name: str, rng: random.Random) -> str:
    choice = rng.randrange(5)
    if choice == 0:
        return name.upper()
    if choice == 1:
        return name.lower()
    if choice in (2, 3):
        position = rng.randrange(len(name) + 1)
        return (
            name[:position] + rng.choice(("x", "_", "-", ".") if choice == 2 else INVISIBLE) + name[position:]
        )
    return name[: max(1, len(name) - 1)]


def _repeat(container: Any, key: str | int) -> None:
    """A list's item once more; a map is left alone (it cannot hold a key twice)."""
    if isinstance(container, list):
        container.append(copy.deepcopy(container[int(key)]))


def _mutate_tree(config: dict[str, Any], rng: random.Random) -> None:
    """One change at a random place of the config map (never the map itself)."""
    path = rng.choice([path for path in _paths(config) if path])
    parent, last = _parent(config, path), path[-1]
    kind = rng.randrange(7)
    if kind == 0:
        del parent[last]
    elif kind == 1:
        parent[last] = copy.deepcopy(rng.choice(ODD_VALUES))
    elif kind == 2 and isinstance(last, str):
        parent[_rekeyed(last, rng)] = parent.pop(last)
    elif kind == 3:
        _repeat(parent, last)
    elif kind == 4:
        parent[last] = _nested(parent[last], rng.choice((2, 20, 200)))
    elif kind == 5:
        other = rng.choice([path for path in _paths(config) if path])
        parent[last] = copy.deepcopy(_parent(config, other)[other[-1]])
    else:
        parent[last] = {"unexpected": parent[last]} if rng.random() < 0.5 else [parent[last], parent[last]]


def _mutate_text(text: str, rng: random.Random) -> str:
    lines = text.splitlines()
    index = rng.randrange(1, len(lines))
    kind = rng.randrange(7)
    if kind == 0:
        del lines[index]
    elif kind == 1:
        lines.insert(index, lines[index])  # a duplicate key, or a repeated list item
    elif kind == 2:
        lines[index] = " " * rng.choice((1, 3, 5)) + lines[index]
    elif kind == 3:
        lines[index] = "\t" + lines[index].lstrip(" ")
    elif kind in (4, 5):
        position = rng.randrange(len(lines[index]) + 1)
        symbols = ":#[]{}&*!|>'\"%@`," if kind == 4 else [*INVISIBLE[:-1], '"\\ud800"']
        lines[index] = lines[index][:position] + rng.choice(symbols) + lines[index][position:]
    else:
        lines = lines[:index]
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Case:
    number: int
    stack: str
    text: str | None  # a mutated file's text, or None when `config` is mutated in memory
    config: dict[str, Any] | None


@dataclass(frozen=True)
class Verdict:
    case: Case
    outcome: str  # "accepted", "rejected" or "crashed"
    detail: str = ""


def cases(count: int, seed: int) -> Iterator[Case]:
    rng = random.Random(seed)
    texts = {stack: (ROOT / "stacks" / f"Pulumi.{stack}.yaml").read_text() for stack in STACKS}
    configs = {stack: yaml.safe_load(text)["config"] for stack, text in texts.items()}
    for number in range(count):
        stack = rng.choice(STACKS)
        if rng.random() < 0.25:
            yield Case(number, stack, _mutate_text(texts[stack], rng), None)
            continue
        config = copy.deepcopy(configs[stack])
        for _ in range(rng.choice((1, 1, 2, 3))):
            _mutate_tree(config, rng)
        yield Case(number, stack, None, config)


_JUNK = ("type=", "pydantic", "For further information", "Traceback", "<class ")


def _unprintable(said: str) -> str:
    """Why `said` cannot be printed as it is (a bidi override, a lone surrogate ...), or "" when it can."""
    odd = [line for line in said.splitlines() if not line.isprintable()]
    return f"unprintable text: {ascii(odd[0])}" if odd else ""


def _problems_are_plain(error: ConfigError) -> str:
    """Why the error is not one a person can act on, or "" when it is."""
    for problem in error.problems:
        if not problem.path or not problem.message or not problem.hint:
            return f"a problem without path, message or hint: {problem}"
        if not problem.path.startswith(("paved:", "aws:", "config")):
            return f"a path that names no key: {problem.path!r}"
        if any(junk in f"{problem.message} {problem.hint}" for junk in _JUNK):
            return f"raw library text: {problem}"
    return _unprintable(str(error))


def judge(case: Case, scratch: Path) -> Verdict:
    try:
        if case.text is not None:
            path = scratch / f"Pulumi.{case.stack}.yaml"
            path.write_text(case.text, encoding="utf-8")
            try:
                document = read_yaml(path)
            except YamlError as error:
                said = str(error)
                reason = _unprintable(said) or ("" if f"{path}" in said and "hint: " in said else ascii(said))
                return Verdict(case, "crashed" if reason else "rejected", reason)
            config = document.get("config", {})
            if not isinstance(config, dict):
                return Verdict(case, "rejected")  # the preview refuses it as a ProjectError, with a hint
        else:
            config = case.config or {}
        result = load_stack_config(config, case.stack)
    except ConfigError as error:
        reason = _problems_are_plain(error)
        return Verdict(case, "crashed" if reason else "rejected", reason)
    except Exception:  # noqa: BLE001 the point: anything else is a crash to report
        return Verdict(case, "crashed", traceback.format_exc())
    if not isinstance(result, StackConfig):
        return Verdict(case, "crashed", f"returned {result!r}")
    return Verdict(case, "accepted")


def run(count: int, seed: int, on_verdict: Callable[[Verdict], None] = lambda _: None) -> list[Verdict]:
    with tempfile.TemporaryDirectory(prefix="paved-fuzz-") as scratch:
        verdicts = []
        for case in cases(count, seed):
            verdict = judge(case, Path(scratch))
            on_verdict(verdict)
            verdicts.append(verdict)
        return verdicts


def _reproducer(case: Case) -> str:
    if case.text is not None:
        return case.text
    return yaml.safe_dump({"config": case.config}, allow_unicode=True, sort_keys=False)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Fuzz the stack config loader with mutated stack files.")
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--show", type=int, default=3, help="crash reproducers to print")
    arguments = parser.parse_args(argv)
    started = time.perf_counter()
    verdicts = run(arguments.cases, arguments.seed)
    seconds = time.perf_counter() - started
    counts = {
        outcome: sum(v.outcome == outcome for v in verdicts)
        for outcome in ("accepted", "rejected", "crashed")
    }
    print(
        f"{arguments.cases} cases (seed {arguments.seed}) in {seconds:.1f}s: {counts['accepted']} accepted, "
        f"{counts['rejected']} rejected with key paths, {counts['crashed']} crashed"
    )
    for verdict in [v for v in verdicts if v.outcome == "crashed"][: arguments.show]:
        print(f"\n--- case {verdict.case.number} ({verdict.case.stack}) ---\n{_reproducer(verdict.case)}")
        # A crash's traceback may quote a lone surrogate, which a UTF-8 stream refuses.
        print(verdict.detail.encode("utf-8", "backslashreplace").decode("utf-8"))
    return 1 if counts["crashed"] else 0


if __name__ == "__main__":
    sys.exit(main())
