"""Hypothesis profiles: a quick default for every check run, a thorough one on demand.

`HYPOTHESIS_PROFILE=thorough bash scripts/check` (or pytest) explores ten times as many examples;
the default keeps the whole suite inside CI's time budget as the policy pack grows.
"""

import copy
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from paved_policies.wiring.snapshot import Snapshot

from paved.lineage import snapshot_of
from paved.program import load_project, load_stack_config, run_project
from paved.recorder import Recording

ROOT = Path(__file__).resolve().parent.parent

_COMMON = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow]}
settings.register_profile("default", max_examples=40, **_COMMON)
settings.register_profile("thorough", max_examples=400, **_COMMON)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


@pytest.fixture(scope="session")
def shipped_recordings() -> Callable[[str], Recording]:
    """The real program recorded once per stack for the whole session; tests only read recordings."""
    cache: dict[str, Recording] = {}

    def get(stack: str) -> Recording:
        if stack not in cache:
            cache[stack] = run_project(ROOT, stack)
        return cache[stack]

    return get


@pytest.fixture(scope="session")
def shipped_snapshots(shipped_recordings: Callable[[str], Recording]) -> Callable[[str], Snapshot]:
    """The wiring proof's view of each shipped stack (a fresh Snapshot per call: tests may mutate it)."""

    def get(stack: str) -> Snapshot:
        config = load_stack_config(load_project(ROOT), stack).values
        # The snapshot shares its inputs with the session's recording: a copy keeps mutations local.
        return copy.deepcopy(snapshot_of(shipped_recordings(stack), config))

    return get


@pytest.fixture(scope="module")
def prod(shipped_recordings: Callable[[str], Recording]) -> Recording:
    return shipped_recordings("prod")


@pytest.fixture(scope="module")
def staging(shipped_recordings: Callable[[str], Recording]) -> Recording:
    return shipped_recordings("staging")
