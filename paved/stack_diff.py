"""`paved diff A B`: every setting that differs between two stacks, as each stack's config resolves it
(preset, then stack file), grouped by section, each marked as the presets' doing or a stack's override.

A difference the presets make is intended: staging is built cheaper and easier to tear down. One a stack file
makes is a choice of that stack, and the list of them is what drifts between environments over time.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel

from paved.config import StackConfig, paved_values

Cause = Literal["preset", "override"]
_ABSENT = "—"


@dataclass(frozen=True)
class Difference:
    section: str  # "database", "apps.web", or "" for the top-level keys
    key: str  # dotted, camelCase as in the stack file
    values: tuple[Any, Any]
    cause: Cause
    overridden_by: tuple[str, ...]  # the stacks whose file sets the key


def _flat(value: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Dotted leaf paths of nested maps; lists and scalars are leaves."""
    if isinstance(value, Mapping) and value:
        for key, item in value.items():
            yield from _flat(item, f"{prefix}.{key}" if prefix else str(key))
    else:
        yield prefix, value


def _dump(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(by_alias=True, mode="json")


def _resolved(config: StackConfig) -> dict[str, dict[str, Any]]:
    """Section -> dotted key -> value, as the stack resolves it."""
    sections: dict[str, dict[str, Any]] = {
        # paved:environment itself is left out: it is what picks the presets, and always differs.
        "": {"aws:region": config.region, "drRegion": config.dr_region}
    }
    for name in (
        "domain",
        "alerts",
        "network",
        "database",
        "cache",
        "backup",
        "registry",
        "dr",
        "cluster",
        "edge",
    ):
        sections[name] = dict(_flat(_dump(getattr(config, name))))
    sections["secrets"] = dict(_flat({name: _dump(secret) for name, secret in config.secrets.items()}))
    # Without `environment`, which paved adds from paved:environment and so always differs.
    sections["tags"] = {key: value for key, value in config.tags.items() if key != "environment"}
    for app in config.apps:
        sections[f"apps.{app.name}"] = dict(_flat(_dump(app)))
    return sections


def _set_in_file(raw: Mapping[str, Any]) -> set[tuple[str, str]]:
    """(section, dotted key) of every leaf the stack file itself sets; an app's keys under `apps.<name>`."""
    values = paved_values(raw, [])
    found: set[tuple[str, str]] = {("", "aws:region")} if "aws:region" in raw else set()
    for section, value in values.items():
        if section == "apps" and isinstance(value, list):
            for app in value:
                if isinstance(app, Mapping):
                    found |= {(f"apps.{app.get('name')}", key) for key, _ in _flat(app)}
        elif section in ("drRegion", "allowEnvironmentMismatch"):
            found.add(("", section))
        else:
            found |= {(section, key) for key, _ in _flat(value)}
    return found


def _overridden(key: str, section: str, found: set[tuple[str, str]]) -> bool:
    """Whether the file sets the key, or a list or empty map above it (which replaces the preset's)."""
    return any(s == section and (k == key or key.startswith(f"{k}.")) for s, k in found)


def differences(
    configs: tuple[StackConfig, StackConfig],
    raws: tuple[Mapping[str, Any], Mapping[str, Any]],
    names: tuple[str, str],
) -> list[Difference]:
    """Every resolved setting whose values differ, in section order; an app or secret only one stack has
    shows `—` on the other side."""
    left, right = (_resolved(config) for config in configs)
    files = tuple(_set_in_file(raw) for raw in raws)
    found: list[Difference] = []
    for section in dict.fromkeys([*left, *right]):
        ours, theirs = left.get(section, {}), right.get(section, {})
        for key in dict.fromkeys([*ours, *theirs]):
            pair = (ours.get(key, _ABSENT), theirs.get(key, _ABSENT))
            if pair[0] == pair[1]:
                continue
            if _ABSENT in pair:
                # An app or secret only one stack declares: its file's choice, every key of it.
                by = tuple(name for name, value in zip(names, pair, strict=True) if value != _ABSENT)
            else:
                by = tuple(
                    name for name, file in zip(names, files, strict=True) if _overridden(key, section, file)
                )
            found.append(Difference(section, key, pair, "override" if by else "preset", by))
    return found


def table(found: list[Difference], names: tuple[str, str], markdown: bool) -> Iterator[str]:
    """The differences by section: key, each stack's value, and why they differ."""
    presets = sum(difference.cause == "preset" for difference in found)
    yield (
        f"paved diff {names[0]} {names[1]}: {len(found)} settings differ, {presets} from the presets, "
        f"{len(found) - presets} set by a stack file."
    )
    for section in dict.fromkeys(difference.section for difference in found):
        rows = [difference for difference in found if difference.section == section]
        yield ""
        yield f"### {section or 'top level'}" if markdown else (section or "top level")
        if markdown:
            yield ""
            yield f"| key | {names[0]} | {names[1]} | why |"
            yield "|---|---|---|---|"
        width = max(len(row.key) for row in rows)
        for row in rows:
            why = "preset" if row.cause == "preset" else f"set in {', '.join(row.overridden_by)}"
            values = [_shown(value) for value in row.values]
            if markdown:
                yield f"| `{row.key}` | {values[0]} | {values[1]} | {why} |"
            else:
                yield f"  {row.key:<{width}}  {values[0]:<24}  {values[1]:<24}  {why}"


def _shown(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    return text if len(text) <= 60 else text[:57] + "..."
