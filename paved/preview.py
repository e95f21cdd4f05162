"""`paved preview`: run a program offline with preview semantics and judge it with policy packs."""

from __future__ import annotations

import contextlib
import time
import traceback
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi

from paved.analyzer import (
    PackResult,
    PolicyPackError,
    PolicyPackProcess,
    PolicyViolation,
    StackContext,
    close_packs,
    judge_packs,
    start_packs,
)
from paved.program import ProgramError, ProjectError, load_project, load_stack_config, run_project
from paved.recorder import Recording


@dataclass
class PreviewResult:
    project: str
    stack: str
    config: Mapping[str, str]
    recording: Recording | None
    secret_keys: frozenset[str] = frozenset()
    packs: list[PackResult] = field(default_factory=list)
    failure: str | None = None
    duration_seconds: float = 0.0

    @property
    def violations(self) -> list[PolicyViolation]:
        return [violation for pack in self.packs for violation in pack.violations]

    @property
    def mandatory_violations(self) -> list[PolicyViolation]:
        return [violation for violation in self.violations if violation.level == "mandatory"]

    @property
    def exit_code(self) -> int:
        program_errors = self.recording.errors if self.recording else []
        return 1 if self.failure or program_errors or self.mandatory_violations else 0


def _describe_failure(error: BaseException) -> str:
    # RunError (ConfigError among them) is the SDK's "say this, no traceback" exception, as in the CLI.
    if isinstance(error, pulumi.RunError):
        return str(error)
    return "".join(traceback.format_exception(error)).rstrip()


def run_preview(
    directory: Path,
    stack: str,
    policy_packs: Sequence[Path] = (),
    policy_pack_configs: Sequence[Path] = (),
    config_overrides: Mapping[str, Any] | None = None,
) -> PreviewResult:
    started = time.perf_counter()
    try:
        project = load_project(directory.resolve())
        stack_config = load_stack_config(project, stack, config_overrides)
    except ProjectError as error:
        return PreviewResult(project="", stack=stack, config={}, recording=None, failure=str(error))
    result = PreviewResult(
        project=project.name,
        stack=stack,
        config=stack_config.values,
        recording=None,
        secret_keys=stack_config.secret_keys,
    )
    context = StackContext(
        project=project.name,
        stack=stack,
        organization="organization",
        config=stack_config.values,
        secret_keys=stack_config.secret_keys,
    )
    # A pack needs the stack's config but not its resources: it starts (a new Python process importing
    # the SDK) on the other core while the program runs.
    packs_starting = (
        _start_in_background(policy_packs, context, policy_pack_configs) if policy_packs else None
    )
    try:
        result.recording = run_project(directory, stack, config_overrides)
    except ProgramError as error:
        result.recording = error.recording
        result.failure = _describe_failure(error.cause)
    except BaseException:
        if packs_starting is not None:
            _stop_unheard(packs_starting)
        raise
    if packs_starting is not None:
        _judge(result, packs_starting)
    result.duration_seconds = time.perf_counter() - started
    return result


StartedPacks = list[tuple[PolicyPackProcess, PackResult]]


def _start_in_background(
    policy_packs: Sequence[Path], context: StackContext, policy_pack_configs: Sequence[Path]
) -> Future[StartedPacks]:
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="paved-packs")
    try:
        return executor.submit(start_packs, policy_packs, context, policy_pack_configs, Path.cwd())
    finally:
        executor.shutdown(wait=False)


def _stop_unheard(packs_starting: Future[StartedPacks]) -> None:
    with contextlib.suppress(PolicyPackError):
        close_packs(packs_starting.result())


def _judge(result: PreviewResult, packs_starting: Future[StartedPacks]) -> None:
    """Packs judge a program that ran cleanly; otherwise they are stopped unheard, as if never started."""
    recording = result.recording
    if result.failure is not None or recording is None or recording.errors:
        _stop_unheard(packs_starting)
        return
    try:
        result.packs = judge_packs(packs_starting.result(), recording)
    except PolicyPackError as error:
        result.failure = str(error)
