"""Property values in the engine's wire form.

The engine hands analyzers JSON-like values in which an unknown is a sentinel string, a secret is a
signature-keyed wrapper and resource references have been downgraded to their ID or URN. Recorded
inputs keep exactly that form, so what tests assert on is what a policy pack receives.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi.runtime import rpc

UNKNOWN: str = rpc.UNKNOWN
SIG_KEY: str = rpc._special_sig_key
SECRET_SIG: str = rpc._special_secret_sig
RESOURCE_SIG: str = rpc._special_resource_sig

SECRET_PLACEHOLDER = "[secret]"
UNKNOWN_PLACEHOLDER = "[unknown]"


def is_unknown(value: Any) -> bool:
    return value == UNKNOWN


def is_secret(value: Any) -> bool:
    return isinstance(value, Mapping) and value.get(SIG_KEY) == SECRET_SIG


def make_secret(value: Any) -> dict[str, Any]:
    return {SIG_KEY: SECRET_SIG, "value": value}


def downgrade_resources(value: Any) -> Any:
    """Replace resource references the way the engine marshals for analyzers (KeepResources=false).

    A custom resource becomes its ID (the unknown sentinel while it is not created yet), a component
    its URN.
    """
    if isinstance(value, Mapping):
        if value.get(SIG_KEY) == RESOURCE_SIG:
            return value["id"] if "id" in value else value["urn"]
        return {key: downgrade_resources(item) for key, item in value.items()}
    if isinstance(value, list):
        return [downgrade_resources(item) for item in value]
    return value


def reveal(value: Any) -> Any:
    """Strip secret wrappers, for assertions on what a value holds."""
    if is_secret(value):
        return reveal(value.get("value"))
    if isinstance(value, Mapping):
        return {key: reveal(item) for key, item in value.items()}
    if isinstance(value, list):
        return [reveal(item) for item in value]
    return value


def contains_unknown(value: Any) -> bool:
    if is_unknown(value):
        return True
    if isinstance(value, Mapping):
        return any(contains_unknown(item) for item in value.values())
    if isinstance(value, list):
        return any(contains_unknown(item) for item in value)
    return False


def for_display(value: Any) -> Any:
    """The form `pulumi preview --json` prints: secrets masked, unknowns as the sentinel."""
    if is_secret(value):
        return SECRET_PLACEHOLDER
    if isinstance(value, Mapping):
        return {key: for_display(item) for key, item in value.items()}
    if isinstance(value, list):
        return [for_display(item) for item in value]
    return value
