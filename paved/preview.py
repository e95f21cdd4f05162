"""`paved preview`: run a program offline with preview semantics and judge it with policy packs."""

from __future__ import annotations

import time
import traceback
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi

from paved.analyzer import PackResult, PolicyPackError, PolicyViolation, StackContext, analyze
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
    try:
        result.recording = run_project(directory, stack, config_overrides)
    except ProgramError as error:
        result.recording = error.recording
        result.failure = _describe_failure(error.cause)
    if (
        result.failure is None
        and result.recording is not None
        and not result.recording.errors
        and policy_packs
    ):
        context = StackContext(
            project=project.name,
            stack=stack,
            organization="organization",
            config=stack_config.values,
            secret_keys=stack_config.secret_keys,
        )
        try:
            result.packs = analyze(policy_packs, result.recording, context, policy_pack_configs)
        except PolicyPackError as error:
            result.failure = str(error)
    result.duration_seconds = time.perf_counter() - started
    return result
