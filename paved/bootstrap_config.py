"""The bootstrap program's config (bootstrap/stacks/Pulumi.<stack>.yaml): every problem in one error, with
its key path and a hint, before any resource is declared, as for the app stacks (paved/config.py)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
from pydantic import TypeAdapter

from components.account import GithubArgs, RegistrySettingsArgs
from paved.config import decode_value
from paved.errors import ConfigError, ConfigProblem, unknown_key_hint, validated
from paved.fields import Region, Tags

KEYS = ("github", "registry", "tags")
_REGION: TypeAdapter[str] = TypeAdapter(Region)
_TAGS: TypeAdapter[dict[str, str]] = TypeAdapter(Tags)


@dataclass(frozen=True)
class BootstrapConfig:
    region: str
    github: GithubArgs
    registry: RegistrySettingsArgs
    tags: Mapping[str, str]  # the user's, plus environment: shared and managed-by: paved


def load_bootstrap_config(raw: Mapping[str, Any], stack: str) -> BootstrapConfig:
    problems: list[ConfigProblem] = []
    values: dict[str, Any] = {}
    for key, value in raw.items():
        namespace, _, name = str(key).partition(":")
        if namespace != "paved":
            continue
        if name in KEYS:
            values[name] = decode_value(value)
        else:
            known = [f"paved:{k}" for k in KEYS]
            problems.append(ConfigProblem(str(key), "unknown key", unknown_key_hint(str(key), known)))
    region = None
    if "aws:region" not in raw:
        problems.append(
            ConfigProblem("aws:region", "is required", "the region of the registry and the roles")
        )
    else:
        region = validated(_REGION.validate_python, raw["aws:region"], "aws:region", problems)
    github = None
    if "github" not in values:
        problems.append(
            ConfigProblem(
                "paved:github",
                "is required",
                "repository (owner/name), stateBucket and stateKeyArn of the workflows that deploy",
            )
        )
    else:
        github = validated(GithubArgs.model_validate, values["github"], "paved:github", problems, GithubArgs)
    registry = validated(
        RegistrySettingsArgs.model_validate,
        values.get("registry", {"scanning": "basic"}),
        "paved:registry",
        problems,
        RegistrySettingsArgs,
    )
    tags = validated(_TAGS.validate_python, values.get("tags", {}), "paved:tags", problems)
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
    raw = {**pulumi.runtime.config.get_config_env(), **pulumi.runtime.config.CONFIG.get()}
    return load_bootstrap_config(raw, pulumi.get_stack())
