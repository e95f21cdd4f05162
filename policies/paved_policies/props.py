"""Defensive readers for resource properties as CrossGuard delivers them.

Properties arrive through pulumi_policy's unknown-checking proxy: mappings are `Mapping` proxies,
lists are `Sequence` proxies (not dict/list), numbers are floats (443.0), and reading a value that
is unknown during preview raises `UnknownValueError`. That error is the only one allowed to escape:
the SDK turns it into an advisory "can't run policy during preview". Everything else here
degrades to "absent" so a rule never crashes on a missing, None or wrongly typed value.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from types import MappingProxyType
from typing import Any, TypeVar

from pulumi_policy.proxy import _DictProxy, _ListProxy

T = TypeVar("T")

_EMPTY: Mapping[str, Any] = MappingProxyType({})
_PROXY_TARGET = "__target"


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


def get_flag(props: Any, key: str) -> bool | None:
    """A boolean input given as a bool or, as some resources take theirs (launch templates, ElastiCache
    clusters), as the string "true"/"false" in any case; None for anything else."""
    value = get(props, key)
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return None


def get_int(props: Any, key: str) -> int | None:
    return as_int(get(props, key))


def get_seq(props: Any, key: str) -> Sequence[Any]:
    return as_seq(get(props, key))


def get_map(props: Any, key: str) -> Mapping[str, Any]:
    return as_map(get(props, key))


# Most resources take `tags` as a map; Auto Scaling groups take a list of {key, value, propagateAtLaunch}.


def get_tag(props: Any, tag: str) -> str | None:
    """The non-blank value of a tag, from `tags`, else `tagsAll` (provider default tags merged in).

    `tags` first: `tagsAll` may still be unknown in preview. A value unknown in preview raises.
    """
    for key in ("tags", "tagsAll"):
        value = _tag_value(get(props, key), tag)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def _tag_value(tags: Any, tag: str) -> Any:
    if isinstance(tags, Mapping):
        return tags.get(tag)
    for item in as_seq(tags):
        if get_str(item, "key") == tag:
            return get(item, "value")
    return None


def tag_pairs(tags: Any) -> list[tuple[str | None, Any]]:
    """(key, value) of each tag in either shape; UNKNOWN for a value unknown in preview."""
    if isinstance(tags, Mapping):
        return [(key, peek(lambda key=key: tags[key])) for key in keys_of(tags)]
    return [(get_text(item, "key"), peek(lambda item=item: get(item, "value"))) for item in as_seq(tags)]


def strings(values: Sequence[Any]) -> list[str]:
    """The str items of a sequence, skipping None and wrongly typed items."""
    return [v for v in values if isinstance(v, str)]


def has_value(props: Any, key: str) -> bool:
    """Whether props[key] is set, counting a value unknown during preview as set.

    During a first preview an unknown is another resource's output (a key ARN, a topic ARN) that
    the engine fills in on apply, so it answers "is something there?" but nothing about what.
    Only presence checks may use this; checks on the value itself let the unknown raise.
    """
    value = peek(lambda: get(props, key))
    if value is UNKNOWN:
        return True
    return bool(value.strip()) if isinstance(value, str) else is_set(value)


def has_item(props: Any, key: str) -> bool:
    """Whether the list at props[key] has a non-blank item, counting unknown items (see has_value)."""
    values = peek(lambda: get_seq(props, key))
    if values is UNKNOWN:
        return True
    return any(item is UNKNOWN or (isinstance(item, str) and item.strip()) for item in peek_items(values))


# What `peek` returns for a value that is unknown during preview.
UNKNOWN = object()


def is_unknown_error(error: BaseException) -> bool:
    """Whether `error` is pulumi_policy.proxy.UnknownValueError, recognised by its attribute so rules stay
    SDK-free."""
    return hasattr(error, "unknown_type_sentinel")


def peek(read: Callable[[], Any]) -> Any:
    """read(), or UNKNOWN where it hits a value unknown during preview (for presence checks)."""
    try:
        return read()
    except Exception as error:
        if is_unknown_error(error):
            return UNKNOWN
        raise


def peek_items(values: Sequence[Any]) -> list[Any]:
    """The items of a list, UNKNOWN where one is unknown during preview."""
    return [peek(lambda index=index: values[index]) for index in range(len(values))]


def raise_first_unknown(values: Sequence[Any], items: Sequence[Any]) -> None:
    """Read again the first item of `values` that `peek_items` found unknown, so the SDK's own
    UnknownValueError escapes (it reports "can't run policy during preview")."""
    for index, item in enumerate(items):
        if item is UNKNOWN:
            _ = values[index]


def is_set(value: Any) -> bool:
    """Whether a property holds something: not None, not an empty string/list/mapping."""
    if value is None:
        return False
    if isinstance(value, str | Sequence | Mapping):
        return len(value) > 0
    return True


def keys_of(value: Any) -> frozenset[str]:
    """The str keys of a mapping, read without touching its values (`key in proxy` reads the value)."""
    return frozenset(k for k in value if isinstance(k, str)) if isinstance(value, Mapping) else frozenset()


def find_values(value: Any, key: str, depth: int = 8) -> Iterator[Any]:
    """Every value held under `key` at any depth of nested mappings and lists, UNKNOWN for unknown ones.

    For properties whose shape changed between resource versions (a single `rule` object on one, a
    `rules` list on the other): the rule looks for the field, not for the path. Any unknown on the way may
    be a mapping holding the key (the engine sends one sentinel for every type), so it yields UNKNOWN too:
    start the search at the property that should hold the key, not at the whole resource.
    """
    if depth < 0:
        return
    if isinstance(value, Mapping):
        children = [(name, peek(lambda name=name: value[name])) for name in list(value)]
    elif isinstance(value, Sequence) and not isinstance(value, str | bytes):
        children = [(None, item) for item in peek_items(value)]
    else:
        return
    for name, item in children:
        if name == key or item is UNKNOWN:
            yield item
        else:
            yield from find_values(item, key, depth - 1)


def any_of(items: Iterable[T], test: Callable[[T], bool]) -> bool:
    """Whether test(item) holds for some item.

    An item whose test meets a value unknown during preview does not end the search: another item may
    settle it. Only when none does is the first unknown re-raised, for the SDK to report "can't run
    policy during preview".
    """
    deferred: Exception | None = None
    for item in items:
        try:
            if test(item):
                return True
        except Exception as error:
            if not is_unknown_error(error):
                raise
            deferred = deferred or error
    if deferred is not None:
        raise deferred
    return False


def any_item(values: Sequence[Any], test: Callable[[Any], bool]) -> bool:
    """any_of over a list's items, each read inside its test: an item unknown in preview is deferred like any
    other unknown the test meets, where iterating the list would raise before another item could settle it."""
    return any_of(range(len(values)), lambda index: test(values[index]))


def problems_found(checks: Iterable[Callable[[], str | None]]) -> list[str]:
    """The problems the checks find; the mirror of any_of for "every item must pass".

    A check meeting a value unknown during preview does not stop the others: a definite problem elsewhere is
    still reported. Only when no check finds one is the first unknown re-raised, for the SDK to report
    "can't run policy during preview".
    """
    found: list[str] = []
    deferred: Exception | None = None
    for check in checks:
        try:
            problem = check()
        except Exception as error:
            if not is_unknown_error(error):
                raise
            deferred = deferred or error
            continue
        if problem:
            found.append(problem)
    if not found and deferred is not None:
        raise deferred
    return found


def all_of(items: Iterable[T], test: Callable[[T], bool]) -> bool:
    """Whether test(item) holds for every item; a definite failure wins over an unknown (see any_of)."""
    return not problems_found([lambda item=item: None if test(item) else "no" for item in items])


_SCALARS = frozenset({str, bool, int, float, type(None)})


def plain(value: Any) -> Any:
    """A property as plain dicts and lists, with each value unknown during preview as the engine's sentinel
    string, for code that reads a whole resource rather than asking for one value at a time."""
    kind = type(value)
    if kind in _SCALARS:
        # Most values: spared the proxies' abstract-class checks below, which cost several times more.
        return value
    if kind is _DictProxy or kind is _ListProxy or isinstance(value, _DictProxy | _ListProxy):
        # The SDK's proxies hand out what they wrap under this key (pulumi_policy/proxy.py): the decoded
        # values, with each unknown still its sentinel, which is what reading item by item ends with.
        value = value[_PROXY_TARGET]
        if isinstance(value, dict):
            return {key: plain(item) for key, item in value.items() if isinstance(key, str)}
        return [plain(item) for item in value]
    if isinstance(value, Mapping):
        return {key: _plain_item(lambda key=key: value[key]) for key in list(value) if isinstance(key, str)}
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        return [_plain_item(lambda index=index: value[index]) for index in range(len(value))]
    return value


def _plain_item(read: Callable[[], Any]) -> Any:
    try:
        return plain(read())
    except Exception as error:
        if is_unknown_error(error):
            # The SDK's UnknownValueError, recognised by its attribute (see is_unknown_error).
            return getattr(error, "unknown_type_sentinel")  # noqa: B009
        raise
