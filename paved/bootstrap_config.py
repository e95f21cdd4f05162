"""The bootstrap program's config (bootstrap/stacks/Pulumi.<stack>.yaml): every problem in one error, with
its key path and a hint, before any resource is declared, as for the app stacks (paved/config.py)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import pulumi
from pydantic import BaseModel, TypeAdapter

from components.account import GithubArgs, RegistrySettingsArgs
from components.application_signals import ApplicationSignalsArgs
from components.audit import AuditArgs
from components.runner import RunnerArgs, runner_project_name
from paved.config import REGION, TAGS, paved_values, required_value, running_config
from paved.errors import ConfigError, ConfigProblem, validated

KEYS = ("github", "registry", "runners", "audit", "applicationSignals", "tags")
# Opt-in: each is billed by the account's activity (docs/delivery.md, "Audit and threat detection").
_AUDIT_OFF = {"cloudTrail": False, "guardDuty": False, "securityHub": False, "logRetentionDays": 365}
# Opt-in: only apps with `tracing` write to it (README, "Metrics and tracing").
_APPLICATION_SIGNALS_OFF = {"enabled": False, "logRetentionDays": 30}
# CreateProject's name pattern, [A-Za-z0-9][A-Za-z0-9\-_]{1,149} (botocore codebuild), after `paved-runner-`.
# Its length is the environment's (paved:github.environments: at most 40), far below the 150 allowed.
_PROJECT_SUFFIX = re.compile(r"[A-Za-z0-9_-]+")
_GITHUB: TypeAdapter[GithubArgs] = TypeAdapter(GithubArgs)
M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class BootstrapConfig:
    region: str
    github: GithubArgs
    registry: RegistrySettingsArgs
    runners: Mapping[str, RunnerArgs]  # by GitHub environment
    audit: AuditArgs
    application_signals: ApplicationSignalsArgs
    tags: Mapping[str, str]  # the user's, plus environment: shared and managed-by: paved


def load_bootstrap_config(raw: Mapping[str, Any], stack: str) -> BootstrapConfig:
    problems: list[ConfigProblem] = []
    values = paved_values(raw, problems, KEYS)
    region = required_value(
        REGION, raw, "aws:region", "aws:region", "the region of the registry and the roles", problems
    )
    github = required_value(
        _GITHUB,
        values,
        "github",
        "paved:github",
        "repository (owner/name), stateBucket and stateKeyArn of the workflows that deploy",
        problems,
        GithubArgs,
    )
    registry = validated(
        RegistrySettingsArgs.model_validate,
        values.get("registry", {"scanning": "basic"}),
        "paved:registry",
        problems,
        RegistrySettingsArgs,
    )
    runners = _runners(values.get("runners", {}), github, problems)
    audit = _opt_in(values, "audit", _AUDIT_OFF, AuditArgs, problems)
    application_signals = _opt_in(
        values, "applicationSignals", _APPLICATION_SIGNALS_OFF, ApplicationSignalsArgs, problems
    )
    tags = validated(TAGS.validate_python, values.get("tags", {}), "paved:tags", problems)
    if registry is not None and region is not None:
        for index, replication in enumerate(registry.replicate):
            if replication.region == region:
                problems.append(
                    ConfigProblem(
                        f"paved:registry.replicate[{index}].region",
                        f"is the registry's own region ({region})",
                        "replicate to another region: the stack's paved:drRegion",
                    )
                )
    if (
        problems
        or region is None
        or github is None
        or registry is None
        or audit is None
        or application_signals is None
        or tags is None
    ):
        raise ConfigError(stack, problems)
    return BootstrapConfig(
        region,
        github,
        registry,
        runners,
        audit,
        application_signals,
        {"environment": "shared", "managed-by": "paved", **tags},
    )


def _opt_in(
    values: Mapping[str, Any],
    key: str,
    defaults: Mapping[str, Any],
    model: type[M],
    problems: list[ConfigProblem],
) -> M | None:
    """An opt-in section: what the stack sets, over `defaults` (off)."""
    raw = values.get(key, {})
    return validated(
        model.model_validate,
        {**defaults, **raw} if isinstance(raw, Mapping) else raw,
        f"paved:{key}",
        problems,
        model,
    )


def _runners(raw: Any, github: GithubArgs | None, problems: list[ConfigProblem]) -> dict[str, RunnerArgs]:
    if not isinstance(raw, Mapping):
        problems.append(
            ConfigProblem(
                "paved:runners",
                f"is {type(raw).__name__}, not a mapping",
                "map each GitHub environment whose cluster API is private to its VPC: prod: {vpcId: ..., "
                "subnetIds: [...]}",
            )
        )
        return {}
    runners: dict[str, RunnerArgs] = {}
    for environment, entry in raw.items():
        path = f"paved:runners.{environment}"
        if github is not None and environment not in github.environments:
            problems.append(
                ConfigProblem(
                    path,
                    f"is not one of paved:github.environments ({', '.join(github.environments)})",
                    "a runner's jobs deploy with their environment's role: add the environment there, or "
                    "name the runner after one",
                )
            )
        if not _PROJECT_SUFFIX.fullmatch(str(environment)):
            problems.append(
                ConfigProblem(
                    path,
                    f"would name the CodeBuild project {runner_project_name(str(environment))!r}",
                    "CodeBuild project names take letters, digits, - and _ only: rename the environment",
                )
            )
        runner = validated(RunnerArgs.model_validate, entry, path, problems, RunnerArgs)
        if runner is not None:
            runners[str(environment)] = runner
    return runners


def load_bootstrap_from_pulumi() -> BootstrapConfig:
    return load_bootstrap_config(running_config(), pulumi.get_stack())
