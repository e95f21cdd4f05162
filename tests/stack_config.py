"""Builders of a stack's raw config for the config tests: a shipped stack file changed one key at a time."""

import copy
import shutil
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from paved.config import load_stack_config
from paved.errors import ConfigError, ConfigProblem
from paved.presets import deep_merge

ROOT = Path(__file__).resolve().parents[1]
Raw = dict[str, Any]
Mutation = Callable[[Raw], Raw]


@cache
def _shipped(stack: str) -> Raw:
    return yaml.safe_load((ROOT / "stacks" / f"Pulumi.{stack}.yaml").read_text())["config"]


def shipped(stack: str) -> Raw:
    """A fresh copy of the `config:` map of a shipped stack file."""
    return copy.deepcopy(_shipped(stack))


def changed(raw: Raw, changes: Raw) -> Raw:
    return deep_merge(raw, changes)


def without(raw: Raw, key: str) -> Raw:
    return {name: value for name, value in raw.items() if name != key}


def with_apps(raw: Raw, *apps: Raw) -> Raw:
    """`raw` with `apps` added after its own."""
    return {**raw, "paved:apps": [*raw["paved:apps"], *apps]}


# A cronjob that reads the api's schema, and a worker without a port: the app kinds a shipped stack lacks.
REPORTS: Raw = {
    "name": "reports",
    "kind": "cronjob",
    "image": "api:2.7.0",
    "cronjob": {
        "schedule": "30 2 * * MON-FRI",
        "timeZone": "Europe/Berlin",
        "command": ["node", "report.js"],
    },
    "database": {"readSchemas": ["api"]},
    "secrets": ["REDIS_URL"],
}
MAILER: Raw = {
    "name": "mailer",
    "kind": "worker",
    "image": "worker:2.7.0",
    "healthCommands": {"readiness": ["node", "ready.js"], "liveness": ["node", "live.js"]},
    "secrets": ["REDIS_URL"],
}


def with_app(raw: Raw, index: int, changes: Raw) -> Raw:
    apps = [
        deep_merge(app, changes) if position == index else app
        for position, app in enumerate(raw["paved:apps"])
    ]
    return {**raw, "paved:apps": apps}


def problems_of(raw: Raw, stack: str) -> list[ConfigProblem]:
    with pytest.raises(ConfigError) as caught:
        load_stack_config(raw, stack)
    assert caught.value.problems, "a ConfigError must carry its problems"
    return caught.value.problems


def paths_of(raw: Raw, stack: str) -> list[str]:
    return [problem.path for problem in problems_of(raw, stack)]


def apps(index: int, changes: Raw) -> Mutation:
    return lambda raw: with_app(raw, index, changes)


def section(key: str, changes: Any) -> Mutation:
    return lambda raw: changed(raw, {key: changes})


def case(stack: str, mutation: Mutation, path: str, rule: str) -> Any:
    """One failing case of a rule: the shipped `stack` changed by `mutation` must fail at `path`."""
    return pytest.param(stack, mutation, path, id=rule)


def assert_rule_reports_path_and_hint(stack: str, mutation: Mutation, path: str) -> None:
    raw = mutation(shipped(stack))
    with pytest.raises(ConfigError) as caught:
        load_stack_config(raw, stack)
    matching = [problem for problem in caught.value.problems if problem.path == path]
    assert matching, f"{path} not in {[problem.path for problem in caught.value.problems]}"
    assert all(problem.message and problem.hint for problem in matching)
    assert f"✗ {path}: " in str(caught.value)


def project_copy(directory: Path, prod_stack: str) -> Path:
    """The project's Pulumi.yaml and entry point beside a prod stack file of the given text, in
    `directory`: what the commands that read a stack file find (nothing runs the program)."""
    for name in ("Pulumi.yaml", "__main__.py"):
        shutil.copy(ROOT / name, directory / name)
    (directory / "stacks").mkdir()
    (directory / "stacks" / "Pulumi.prod.yaml").write_text(prod_stack)
    return directory
