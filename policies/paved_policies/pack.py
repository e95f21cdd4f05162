"""The pack's table of contents: policy name -> rule, and the built policies."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from paved_policies.dispatch import PolicyList
from paved_policies.environment import Environment
from paved_policies.framework import exemptions_policy, to_policy
from paved_policies.rule import Rule
from paved_policies.rules import ALL_RULES


def _by_name(rules: Iterable[Rule[Any]]) -> dict[str, Rule[Any]]:
    index: dict[str, Rule[Any]] = {}
    for rule in rules:
        # Policy names must be unique within a pack; catch a clash at import, not in the CLI.
        if rule.name in index:
            raise ValueError(f"duplicate policy name {rule.name!r}")
        index[rule.name] = rule
    return index


RULES: Mapping[str, Rule[Any]] = _by_name(ALL_RULES)


def build_policies(environment: Environment = "prod") -> PolicyList:
    """Every rule as a policy, then the exemptions report, which must run after all of them."""
    policies = [to_policy(rule, environment) for rule in RULES.values()]
    judged_types = {name: frozenset(rule.resource_types) for name, rule in RULES.items()}
    return PolicyList([*policies, exemptions_policy(judged_types)], judged_types)
