"""Which environment the pack is judging: prod gets every rule at its level, other stacks get the
cost-driven HA rules (`staging_enforcement`) downgraded.

The CLI starts a policy pack with the stack's identity and config in its environment (PULUMI_STACK,
PULUMI_CONFIG: the same variables pulumi_policy reads to set up its runtime), and `paved preview` does the
same. The pack reads them once at start, because enforcement levels are declared in GetAnalyzerInfo, before
any resource is seen; `--policy-pack-config` still overrides any level afterwards.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, Literal

Environment = Literal["prod", "staging"]

_PROD_STACK = re.compile(r"prod", re.IGNORECASE)


def stack_config(environ: Mapping[str, str]) -> dict[str, Any]:
    """The stack's config (`{"paved:apps": "<json>", ...}`), empty when the pack was started without one."""
    try:
        config = json.loads(environ.get("PULUMI_CONFIG") or "{}")
    except ValueError:
        return {}
    return config if isinstance(config, dict) else {}


def detect(environ: Mapping[str, str]) -> Environment:
    """paved's own `paved:environment` config if the program has it, else the stack name; prod if unsure."""
    declared = stack_config(environ).get("paved:environment")
    if declared in ("prod", "staging"):
        return declared
    stack = environ.get("PULUMI_STACK")
    if stack is None:
        return "prod"  # the strictest reading when nothing says otherwise
    return "prod" if _PROD_STACK.search(stack) else "staging"
