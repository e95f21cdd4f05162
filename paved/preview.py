"""`paved preview`: run a program offline with preview semantics and judge it with policy packs."""

from __future__ import annotations

import queue
import threading
import time
import traceback
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
from paved_policies.wiring.flows import prove
from paved_policies.wiring.verdicts import FlowResult

from paved.analyzer import (
    Judgement,
    PackResult,
    PolicyConfigError,
    PolicyPackError,
    PolicyPackProcess,
    PolicyViolation,
    ResourceMessages,
    StackContext,
    close_packs,
    read_policy_config,
    start_packs,
)
from paved.errors import ConfigError, ConfigProblem
from paved.exit_codes import ExitCode
from paved.lineage import snapshot_of
from paved.program import ProgramError, ProjectError, load_project, load_stack_config, run_project
from paved.recorder import RecordedResource, Recording


@dataclass
class PreviewResult:
    project: str
    stack: str
    config: Mapping[str, str]
    recording: Recording | None
    secret_keys: frozenset[str] = frozenset()
    packs: list[PackResult] = field(default_factory=list)
    failure: str | None = None
    # The failure is the stack's or project's configuration (exit 2), not the program or a pack (exit 1).
    config_failure: bool = False
    # The failure is a policy pack's, not the program's: the program ran, but nothing judged it.
    pack_failure: bool = False
    duration_seconds: float = 0.0
    # The wiring proof of a program that ran cleanly; empty otherwise.
    flows: list[FlowResult] = field(default_factory=list)

    @property
    def failing_flows(self) -> list[FlowResult]:
        """Broken required flows and present forbidden ones: they fail the preview like a mandatory policy."""
        return [flow for flow in self.flows if flow.fails]

    @property
    def violations(self) -> list[PolicyViolation]:
        return [violation for pack in self.packs for violation in pack.violations]

    @property
    def mandatory_violations(self) -> list[PolicyViolation]:
        return [violation for violation in self.violations if violation.level == "mandatory"]

    @property
    def ran_cleanly(self) -> bool:
        """Neither the program nor a pack failed, and the program logged no error; a program's resources are
        judged and proved only then."""
        return self.failure is None and self.recording is not None and not self.recording.errors

    @property
    def exit_code(self) -> ExitCode:
        if self.config_failure:
            return ExitCode.BAD_CONFIG
        if self.ran_cleanly and not self.mandatory_violations and not self.failing_flows:
            return ExitCode.CLEAN
        return ExitCode.BLOCKED


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
        if len(policy_pack_configs) > len(policy_packs):
            extra = ConfigProblem(
                "--policy-pack-config",
                f"{len(policy_pack_configs)} config files for {len(policy_packs)} packs",
                "the i-th --policy-pack-config configures the i-th --policy-pack: give each pack's after it",
            )
            raise PolicyConfigError("(command line)", [extra])
        for config_file in policy_pack_configs:
            read_policy_config(config_file)  # refused here, before the program runs, if the CLI would
    except (ProjectError, PolicyConfigError) as error:
        return PreviewResult(
            project="",
            stack=stack,
            config={},
            recording=None,
            failure=str(error),
            config_failure=True,
            duration_seconds=time.perf_counter() - started,
        )
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
    # A pack needs the stack's config but not the resources: it starts (a new Python process importing the
    # SDK) on the other core while the program runs, and judges each resource as it is registered, as the
    # engine has it judged.
    judging = PackJudging(policy_packs, context, policy_pack_configs) if policy_packs else None
    try:
        try:
            result.recording = run_project(
                directory, stack, config_overrides, on_register=judging.registered if judging else None
            )
        except ProgramError as error:
            result.recording = error.recording
            result.failure = _describe_failure(error.cause)
            result.config_failure = isinstance(error.cause, ConfigError)
        if result.ran_cleanly and result.recording is not None:
            # Here, while the packs judge on the other core.
            result.flows = prove_wiring(result.recording, result.config)
    except BaseException:
        if judging is not None:
            judging.finish(judge=False)
        raise
    if judging is not None:
        try:
            packs = judging.finish(result.ran_cleanly)
        except PolicyPackError as error:
            result.failure, result.pack_failure = str(error), True
        else:
            result.packs = packs
        if judging.config_error is not None:
            # What the pack refused (a policy it lacks, a value its schema rejects) is the whole story: the
            # program was stopped, or its resources would have been judged against a config the pack refuses.
            result.failure, result.config_failure = str(judging.config_error), True
            result.recording, result.flows, result.packs = None, [], []
    result.duration_seconds = time.perf_counter() - started
    return result


def prove_wiring(recording: Recording, config: Mapping[str, str]) -> list[FlowResult]:
    """The wiring proof of a recording, with the exact lineage of each unknown input."""
    return prove(snapshot_of(recording, config))


PACK_STOP_SECONDS = 10


class PackJudging:
    """Packs started on a thread, judging resources from a queue the program's registrations fill.

    Packs judge a program that ran cleanly; otherwise they are stopped unheard, as if never started.
    """

    def __init__(
        self, policy_packs: Sequence[Path], context: StackContext, policy_pack_configs: Sequence[Path]
    ):
        self._queue: queue.SimpleQueue[RecordedResource | None] = queue.SimpleQueue()
        self._judgements: list[Judgement] = []
        self._started: list[tuple[PolicyPackProcess, PackResult]] = []
        self._error: BaseException | None = None
        # Relative paths are taken from here: the program moves the working directory while it runs.
        arguments = (policy_packs, context, policy_pack_configs, Path.cwd(), self._started)
        self._thread = threading.Thread(target=self._run, args=arguments, name="paved-packs", daemon=True)
        self._thread.start()

    def registered(self, resource: RecordedResource) -> None:
        if self.config_error is not None:
            raise self.config_error  # stops the program: the pack refused its configuration
        self._queue.put(resource)

    @property
    def config_error(self) -> PolicyConfigError | None:
        return self._error if isinstance(self._error, PolicyConfigError) else None

    def _run(self, *start_arguments: Any) -> None:
        try:
            start_packs(*start_arguments)
            messages = ResourceMessages(Recording(project="", stack=""))
            self._judgements = [Judgement(pack, messages, result) for pack, result in self._started]
            while (resource := self._queue.get()) is not None:
                messages.add(resource)
                for judgement in self._judgements:
                    judgement.resource(resource)
        except BaseException as error:  # noqa: BLE001 handed to finish(), on the caller's thread
            self._error = error

    def finish(self, judge: bool) -> list[PackResult]:
        """Wait for the judging of every registered resource, then AnalyzeStack; stops the packs."""
        self._queue.put(None)  # the program has ended
        try:
            # Inside the try: a watch stopped by a signal while waiting here must still stop the packs.
            self._thread.join()
            if not judge:
                return []
            if self._error is not None:
                raise self._error
            return [judgement.stack() for judgement in self._judgements]
        finally:
            close_packs(self._started)
            if self._thread.is_alive():
                # Stopped while a pack was starting: it ends on the queue's end mark once started.
                self._thread.join(timeout=PACK_STOP_SECONDS)
                close_packs(self._started)
