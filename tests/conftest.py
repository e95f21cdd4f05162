"""Hypothesis profiles: a quick default for every check run, a thorough one on demand.

`HYPOTHESIS_PROFILE=thorough bash scripts/check` (or pytest) explores ten times as many examples;
the default keeps the whole suite inside CI's time budget as the policy pack grows.
"""

import os

from hypothesis import HealthCheck, settings

_COMMON = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow]}
settings.register_profile("default", max_examples=40, **_COMMON)
settings.register_profile("thorough", max_examples=400, **_COMMON)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
