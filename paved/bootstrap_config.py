"""The bootstrap program's config (bootstrap/stacks/Pulumi.<stack>.yaml): every problem in one error, with
its key path and a hint, before any resource is declared, as for the app stacks (paved/config.py)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
from pydantic import TypeAdapter

from components.account import GithubArgs, RegistrySettingsArgs
from paved.config import REGION, TAGS, paved_values, required_value, running_config
from paved.errors import ConfigError, ConfigProblem, validated

KEYS = ("github", "registry", "tags")
_GITHUB: TypeAdapter[GithubArgs] = TypeAdapter(GithubArgs)


@dataclass(frozen=True)
class BootstrapConfig:
    region: str
    github: GithubArgs
    registry: RegistrySettingsArgs
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
    if problems or region is None or github is None or registry is None or tags is None:
        raise ConfigError(stack, problems)
    return BootstrapConfig(region, github, registry, {"environment": "shared", "managed-by": "paved", **tags})


def load_bootstrap_from_pulumi() -> BootstrapConfig:
    return load_bootstrap_config(running_config(), pulumi.get_stack())
