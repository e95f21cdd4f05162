"""Recorded Kubernetes inputs, read back as the manifests the cluster would get."""

from typing import Any

from paved.values import is_unknown, reveal


def manifest(value: Any) -> Any:
    """Recorded inputs as a manifest: whole-number floats back to ints (the wire form has only floats),
    secrets revealed, and preview unknowns (another resource's output) as a placeholder string."""
    value = reveal(value)
    if isinstance(value, dict):
        return {key: manifest(item) for key, item in value.items()}
    if isinstance(value, list):
        return [manifest(item) for item in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if is_unknown(value):
        return "unknown-until-apply"
    return value
