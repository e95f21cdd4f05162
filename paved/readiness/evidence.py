"""What a readiness rule may look at, and what it answers.

A rule sees the previewed stack (its recorded resources with the inputs the engine sends), the policy pack's
policies with their levels and violations, the wiring proof's flows, the runbooks in docs/runbooks, and the
files paved ships beside the program (workflows). It answers with a Finding built by `judge` from checks,
each of which holds or not on that evidence: never from the item's words.
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml
from paved_policies.wiring.verdicts import FlowResult, Verdict

from paved.config import StackConfig
from paved.recorder import RecordedResource


class Status(StrEnum):
    DONE = "DONE"
    PARTIAL = "PARTIAL"
    MISSING = "MISSING"
    NOT_APPLICABLE = "N/A"


@dataclass(frozen=True)
class Finding:
    status: Status
    evidence: tuple[str, ...] = ()
    # What is not there, and the config key (or command) that would bring it; empty when DONE.
    missing: tuple[str, ...] = ()
    config_keys: tuple[str, ...] = ()


@dataclass(frozen=True)
class Check:
    """One fact a family needs. `evidence` names what satisfies it when it holds; `missing` says what is
    absent and `config_key` what turns it on when it does not. A check that does not apply to this stack
    (no CDN, no public app) is left out by the rule, not passed as failing."""

    holds: bool
    evidence: str
    missing: str
    config_key: str = ""


def not_applicable(reason: str) -> Finding:
    return Finding(Status.NOT_APPLICABLE, missing=(reason,))


@dataclass(frozen=True)
class Stack:
    name: str
    config: StackConfig
    resources: tuple[RecordedResource, ...]
    # Every policy the pack reported, with its effective level, and the names with a violation in this stack.
    policy_levels: Mapping[str, str]
    violated: frozenset[str]
    flows: tuple[FlowResult, ...]
    runbooks: frozenset[str]  # file names in docs/runbooks
    project_dir: Path

    @cached_property
    def _by_type(self) -> dict[str, list[RecordedResource]]:
        # Derived from `resources`, so a copy made with dataclasses.replace indexes its own.
        index: dict[str, list[RecordedResource]] = {}
        for resource in self.resources:
            index.setdefault(resource.type, []).append(resource)
        return index

    def of(self, *types: str) -> list[RecordedResource]:
        """The custom resources of these types (e.g. `aws:rds/proxy:Proxy`), in registration order."""
        return [resource for kind in types for resource in self._by_type.get(kind, [])]

    def enforced(self, *policies: str) -> list[str]:
        """Of these policies, those the pack runs (not disabled) and this stack passes."""
        return [
            f"policy {name}"
            for name in policies
            if self.policy_levels.get(name, "disabled") != "disabled" and name not in self.violated
        ]

    def proven(self, kind: str) -> list[FlowResult]:
        """Flows of a kind (required, forbidden, order) the wiring proof proved: held, or proven absent."""
        return [flow for flow in self.flows if flow.kind == kind and flow.verdict is Verdict.PROVEN]

    def shipped(self, relative: str) -> bool:
        return (self.project_dir / relative).is_file()

    def workflows_running(self, command: str) -> list[str]:
        """The shipped GitHub workflows (.github/workflows) with a step that runs `command`."""
        return [
            path.name
            for path in sorted((self.project_dir / ".github" / "workflows").glob("*.yml"))
            if any(
                command in str(step.get("run", ""))
                # safe_load, not read_yaml: YAML 1.1 reads the workflows' `on:` key as True.
                for job in (yaml.safe_load(path.read_text(encoding="utf-8")).get("jobs") or {}).values()
                for step in job.get("steps") or []
            )
        ]


def named(resources: Iterable[RecordedResource]) -> str:
    """`rds/proxy database-proxy, …`: the resources' short types and logical names."""
    return ", ".join(f"{_short_type(resource.type)} {resource.name}" for resource in resources)


def _short_type(token: str) -> str:
    package, _, rest = token.partition(":")
    module = rest.partition(":")[0]
    return module if package == "aws" else f"{package}:{module}"


def dig(value: Any, *path: str | int) -> Any:
    """value[path[0]][path[1]]…, or None where a step is missing."""
    for step in path:
        if isinstance(step, int):
            value = value[step] if isinstance(value, list) and len(value) > step else None
        else:
            value = value.get(step) if isinstance(value, dict) else None
    return value


def containers(deployment: RecordedResource) -> list[dict[str, Any]]:
    return dig(deployment.inputs, "spec", "template", "spec", "containers") or []


def every(resources: Sequence[RecordedResource], test: Any) -> bool:
    """`test` holds for each resource, and there is at least one."""
    return bool(resources) and all(test(resource) for resource in resources)


def judge(checks: Sequence[Check], *policies: str, stack: Stack) -> Finding:
    """DONE when every check holds, MISSING when none does, PARTIAL between; the enforced policies count as
    evidence beside the checks that hold."""
    if not checks:
        raise ValueError("a rule judges at least one check")
    held = [check for check in checks if check.holds]
    failed = [check for check in checks if not check.holds]
    status = Status.DONE if not failed else Status.PARTIAL if held else Status.MISSING
    evidence = [check.evidence for check in held]
    if held:
        evidence.extend(stack.enforced(*policies))
    return Finding(
        status,
        tuple(evidence),
        tuple(check.missing for check in failed),
        tuple(dict.fromkeys(check.config_key for check in failed if check.config_key)),
    )
