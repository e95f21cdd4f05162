"""Defensive readers for resource properties as CrossGuard delivers them.

Properties arrive through pulumi_policy's unknown-checking proxy: mappings are `Mapping` proxies,
lists are `Sequence` proxies (not dict/list), numbers are floats (443.0), and reading a value that
is unknown during preview raises `UnknownValueError`. That error is the only one allowed to escape:
the SDK turns it into an advisory "can't run policy during preview". Everything else here
degrades to "absent" so a rule never crashes on a missing, None or wrongly typed value.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import Any

_EMPTY: Mapping[str, Any] = MappingProxyType({})


def get(props: Any, key: str) -> Any:
    """props[key], or None when props is not a mapping or has no such key."""
    if not isinstance(props, Mapping):
        return None
    # Mapping.get goes through the proxy's __getitem__, so unknowns still raise as intended.
    return props.get(key)


def as_seq(value: Any) -> Sequence[Any]:
    # A str is a Sequence too; never iterate one as a list of items.
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        return value
    return ()


def as_map(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else _EMPTY


def as_int(value: Any) -> int | None:
    """An integral number (443 or 443.0) as int; None for bools, NaN/inf, fractions, non-numbers."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, float) and not (math.isfinite(value) and value.is_integer()):
        return None
    return int(value)


def get_str(props: Any, key: str) -> str | None:
    value = get(props, key)
    return value if isinstance(value, str) else None


def get_text(props: Any, key: str) -> str | None:
    """A string that is not blank, stripped; None otherwise."""
    value = get_str(props, key)
    return value.strip() if value and value.strip() else None


def get_bool(props: Any, key: str) -> bool | None:
    value = get(props, key)
    return value if isinstance(value, bool) else None


def get_int(props: Any, key: str) -> int | None:
    return as_int(get(props, key))


def get_seq(props: Any, key: str) -> Sequence[Any]:
    return as_seq(get(props, key))


def get_map(props: Any, key: str) -> Mapping[str, Any]:
    return as_map(get(props, key))


def strings(values: Sequence[Any]) -> list[str]:
    """The str items of a sequence, skipping None and wrongly typed items."""
    return [v for v in values if isinstance(v, str)]


def has_value(props: Any, key: str) -> bool:
    """Whether props[key] is set, counting a value unknown during preview as set.

    During a first preview an unknown is another resource's output (a key ARN, a topic ARN) that
    the engine fills in on apply, so it answers "is something there?" but nothing about what.
    Only presence checks may use this; checks on the value itself let the unknown raise.
    """
    value = _read(lambda: get(props, key))
    if value is _UNKNOWN:
        return True
    return bool(value.strip()) if isinstance(value, str) else is_set(value)


def has_item(props: Any, key: str) -> bool:
    """Whether the list at props[key] has a non-blank item, counting unknown items (see has_value)."""
    values = _read(lambda: get_seq(props, key))
    if values is _UNKNOWN:
        return True
    for index in range(len(values)):
        item = _read(lambda index=index: values[index])
        if item is _UNKNOWN or (isinstance(item, str) and item.strip()):
            return True
    return False


_UNKNOWN = object()


def _read(read: Callable[[], Any]) -> Any:
    """read(), or _UNKNOWN where it hits a value unknown during preview."""
    try:
        return read()
    except Exception as error:
        # pulumi_policy.proxy.UnknownValueError, recognised by its attribute so rules stay SDK-free.
        if hasattr(error, "unknown_type_sentinel"):
            return _UNKNOWN
        raise


def is_set(value: Any) -> bool:
    """Whether a property holds something: not None, not an empty string/list/mapping."""
    if value is None:
        return False
    if isinstance(value, str | Sequence | Mapping):
        return len(value) > 0
    return True
