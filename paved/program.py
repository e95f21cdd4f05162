"""Run a Pulumi Python program offline under the recording monitor, as a first `pulumi preview` would."""

from __future__ import annotations

import asyncio
import gc
import json
import os
import runpy
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import pulumi.runtime
from pulumi.runtime import settings as runtime_settings
from pulumi.runtime.stack import run_in_stack

from paved.lineage import following_lineage
from paved.recorder import RecordedResource, Recording, RecordingEngine, RecordingMonitor
from paved.yaml_files import YamlError, read_yaml


class ProjectError(Exception):
    """The project or stack files cannot be read; said plainly, without a traceback."""


class ProgramError(Exception):
    """The program failed; carries what it had registered by then, so callers can show or test it."""

    def __init__(self, recording: Recording, cause: BaseException):
        super().__init__(str(cause))
        self.recording = recording
        self.cause = cause


@dataclass(frozen=True)
class Project:
    directory: Path
    name: str
    main: Path
    stack_config_dir: Path

    def stack_file(self, stack: str) -> Path:
        return self.stack_config_dir / f"Pulumi.{stack}.yaml"


@dataclass(frozen=True)
class StackConfig:
    """A stack's config the way the language host passes it to a program: namespaced keys, string values."""

    values: dict[str, str]
    secret_keys: frozenset[str]


def _read(path: Path) -> dict[str, Any]:
    try:
        return read_yaml(path)
    except YamlError as error:
        raise ProjectError(str(error)) from None


def load_project(directory: Path) -> Project:
    project_file = next(
        (directory / n for n in ("Pulumi.yaml", "Pulumi.yml") if (directory / n).exists()), None
    )
    if project_file is None:
        raise ProjectError(f"no Pulumi.yaml in {directory}")
    document = _read(project_file)
    runtime = document.get("runtime")
    runtime_name = runtime.get("name") if isinstance(runtime, dict) else runtime
    if runtime_name != "python":
        raise ProjectError(
            f"{project_file}: runtime is {runtime_name!r}; paved preview runs Python programs only"
        )
    main = directory / str(document.get("main", "."))
    if main.is_dir():
        main = main / "__main__.py"
    if not main.exists():
        raise ProjectError(f"{project_file}: program entry point {main} does not exist")
    config_dir = directory / str(document.get("stackConfigDir", "."))
    return Project(directory=directory, name=str(document["name"]), main=main, stack_config_dir=config_dir)


def _as_config_string(value: Any) -> str:
    # Pulumi hands structured config to programs as JSON and scalars as their YAML text.
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)


def load_stack_config(
    project: Project, stack: str, overrides: Mapping[str, Any] | None = None
) -> StackConfig:
    path = project.stack_file(stack)
    if not path.exists():
        raise ProjectError(
            f"stack '{stack}' has no config file {path}\n"
            "  hint: check --stack and -C (the project directory), or start from stacks/Pulumi.prod.yaml"
        )
    config = _read(path).get("config") or {}
    if not isinstance(config, dict):
        raise ProjectError(
            f"{path}: `config:` must be a map of config keys, not a {type(config).__name__}\n"
            "  hint: write each key as `  paved:environment: prod` under `config:`, without a leading '- '"
        )
    raw: dict[str, Any] = dict(config)
    raw.update(overrides or {})
    values: dict[str, str] = {}
    secret_keys: set[str] = set()
    for key, value in raw.items():
        full_key = key if ":" in key else f"{project.name}:{key}"
        if isinstance(value, dict) and set(value) == {"secure"}:
            # Ciphertext cannot be decrypted offline; the program still sees a secret, as it would.
            secret_keys.add(full_key)
            value = value["secure"]
        values[full_key] = _as_config_string(value)
    return StackConfig(values=values, secret_keys=frozenset(secret_keys))


@contextmanager
def _program_environment(project: Project) -> Iterator[None]:
    """The process state the Python language host gives a program: cwd and import path at the project."""
    old_cwd, old_path = os.getcwd(), list(sys.path)
    os.chdir(project.directory)
    sys.path.insert(0, str(project.main.parent))
    try:
        yield
    finally:
        os.chdir(old_cwd)
        sys.path[:] = old_path


def _cancel_outstanding(loop: asyncio.AbstractEventLoop) -> None:
    """Cancel what the program left running and let it unwind, as asyncio.run does before closing its loop.

    The SDK raises the first failed registration and leaves the rest of the graph waiting (other RPCs,
    inputs still being computed); closed over, those tasks are reported "destroyed but it is pending" on
    stderr once collected. Their own outcomes are dropped: the program's failure has been raised already.
    """
    outstanding = asyncio.all_tasks(loop)
    for task in outstanding:
        task.cancel()
    loop.run_until_complete(asyncio.gather(*outstanding, return_exceptions=True))


def _spare_unobserved_failures(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """The program's loop reports what asyncio reports, except a failure no one awaited.

    A failed registration fails every output of its resource on purpose (the SDK's
    rpc.resolve_outputs_due_to_exception), and a stopped program never reads most of them: asyncio would
    report each "exception was never retrieved" when collected, after the failure was shown (`--watch`
    collects between runs). Pulumi's language host silences asyncio's logger for this reason
    (sdk/python/cmd/pulumi-language-python-exec); here only the program's own futures are spared.
    """
    if str(context.get("message", "")).endswith("exception was never retrieved"):
        return
    loop.default_exception_handler(context)


@contextmanager
def collector_paused() -> Iterator[None]:
    """The block runs without the cyclic garbage collector. A program run allocates hundreds of thousands
    of objects that live through it, and each collection pass would scan them for nothing: about two
    thirds of a prod run's CPU (measured with and without). What the block left as cyclic garbage is freed
    as it ends, by a young-generation pass (everything it allocated is still young)."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.collect(0)
        if collecting:
            gc.enable()


def record(
    program: Callable[[], Any],
    *,
    project: str = "paved",
    stack: str = "test",
    config: Mapping[str, str] | None = None,
    secret_keys: frozenset[str] = frozenset(),
    on_register: Callable[[RecordedResource], None] | None = None,
) -> Recording:
    """Run `program` inside a fresh Stack under the recording monitor and return what it registered.

    A program exception is raised as ProgramError after every outstanding registration has finished.
    `on_register` sees each resource as it is registered, in the recording's order.
    """
    values = dict(config or {})
    # The language host runs the program in the project directory (_program_environment).
    monitor = RecordingMonitor(project, stack, values, set(secret_keys), os.getcwd(), on_register)
    runtime_settings.reset_options(project=project, stack=stack, preview=True, organization="organization")
    runtime_settings.configure(
        runtime_settings.Settings(
            project=project,
            stack=stack,
            monitor=monitor,
            engine=RecordingEngine(monitor.recording),
            dry_run=True,
            organization="organization",
            root_directory=os.getcwd(),
        )
    )
    pulumi.runtime.set_all_config(values, sorted(secret_keys))
    loop = asyncio.new_event_loop()
    loop.set_exception_handler(_spare_unobserved_failures)
    asyncio.set_event_loop(loop)
    try:
        with following_lineage(monitor.placeholder), collector_paused():
            try:
                loop.run_until_complete(run_in_stack(program))
            finally:
                _cancel_outstanding(loop)
    except Exception as error:
        raise ProgramError(monitor.recording, error) from error
    finally:
        loop.close()
        asyncio.set_event_loop(None)
        # The stack's config must not leak into whatever runs next in this process.
        pulumi.runtime.set_all_config({}, [])
    return monitor.recording


def run_project(
    directory: Path,
    stack: str,
    config_overrides: Mapping[str, Any] | None = None,
    on_register: Callable[[RecordedResource], None] | None = None,
) -> Recording:
    """Run a project's real entry point with one stack's config, as `pulumi preview -s STACK` does."""
    project = load_project(directory.resolve())
    stack_config = load_stack_config(project, stack, config_overrides)
    with _program_environment(project):
        return record(
            lambda: runpy.run_path(str(project.main), run_name="__main__"),
            project=project.name,
            stack=stack,
            config=stack_config.values,
            secret_keys=stack_config.secret_keys,
            on_register=on_register,
        )
