"""Exemptions: a resource let off a named policy, for a stated reason, and the pack saying so.

Two ways to exempt a resource, both requiring a reason:

- On the resource. AWS: the tags `paved:exempt` (policy names) and `paved:exempt-reason`. Kubernetes: the
  annotations `paved/exempt` and `paved/exempt-reason`. Names are separated by spaces or `/`: AWS tag
  values allow letters, digits, spaces and `+ - = . _ : / @`, so a comma is refused by many services
  (https://docs.aws.amazon.com/efs/latest/ug/API_Tag.html, pattern `^([\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*)$`).
  Commas are accepted too, for Kubernetes annotations and the services that take them.
- In the policy's config: `{"<policy>": {"exemptions": [{"urn": "<fnmatch pattern>", "reason": "..."}]}}`,
  for resources whose tags you cannot change (third-party components, imported resources).

An exempted resource is still judged. The policy does not report it as a violation; it records what it
would have said in the `LEDGER`, and the advisory `paved-exemptions` policy, which the pack runs after
every other, prints each record: which policy, which resource, why, and whether the exemption is still
needed. The CLI shows advisory violations and nothing else, so that is how an exemption stays visible. An
exemption without a reason is refused, and so reported as the violation it would hide.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from pulumi_policy.proxy import _DictProxy

from paved_policies.props import UNKNOWN, as_map, as_seq, get_map, get_tag, peek

AWS_NAMES_TAG = "paved:exempt"
AWS_REASON_TAG = "paved:exempt-reason"
K8S_NAMES_ANNOTATION = "paved/exempt"
K8S_REASON_ANNOTATION = "paved/exempt-reason"

EXEMPTIONS_CONFIG = "exemptions"
# The JSON schema every policy's config gains, so the CLI rejects a pattern without a reason before
# anything runs.
EXEMPTIONS_SCHEMA: Mapping[str, Any] = {
    "type": "array",
    "description": "Resources this policy does not block: URN fnmatch patterns, each with its reason.",
    "items": {
        "type": "object",
        "properties": {
            "urn": {"type": "string", "minLength": 1},
            "reason": {"type": "string", "minLength": 1},
        },
        "required": ["urn", "reason"],
        "additionalProperties": False,
    },
    "default": [],
}

_SEPARATORS = re.compile(r"[\s,/]+")


@dataclass(frozen=True, slots=True)
class Exemption:
    """Why `policy` does not block a resource, and where that was said (a tag, an annotation, config)."""

    reason: str
    source: str


@dataclass(frozen=True, slots=True)
class Refusal:
    """An exemption asked for but not granted, and why: the violation stands."""

    problem: str


def _is_kubernetes(resource_type: str) -> bool:
    return resource_type.startswith("kubernetes:")


# The labels of the resource last read, per thread: every policy that judges a resource asks for them, one
# after another, with the same decoded properties.
_last_read = threading.local()


def _labelled(props: Mapping[str, Any], resource_type: str) -> tuple[str | None, str | None, str]:
    """(names, reason, where) from the resource's own tags or annotations; unknown values count as absent."""
    last = getattr(_last_read, "entry", None)
    if last is not None and last[0] is props and last[1] == resource_type:
        return last[2]
    labels = _read_labels(props, resource_type)
    # Only the SDK's decoded properties, which nothing changes; a plain mapping may change between calls.
    _last_read.entry = (props, resource_type, labels) if isinstance(props, _DictProxy) else None
    return labels


def _read_labels(props: Mapping[str, Any], resource_type: str) -> tuple[str | None, str | None, str]:
    if _is_kubernetes(resource_type):
        annotations = peek(lambda: as_map(get_map(props, "metadata").get("annotations")))
        annotations = {} if annotations is UNKNOWN else annotations

        def annotation(key: str) -> str | None:
            value = peek(lambda: annotations.get(key))
            return value.strip() if isinstance(value, str) and value.strip() else None

        return (
            annotation(K8S_NAMES_ANNOTATION),
            annotation(K8S_REASON_ANNOTATION),
            f"annotation {K8S_NAMES_ANNOTATION}",
        )
    names = peek(lambda: get_tag(props, AWS_NAMES_TAG))
    reason = peek(lambda: get_tag(props, AWS_REASON_TAG))
    return (
        None if names is UNKNOWN else names,
        None if reason is UNKNOWN else reason,
        f"tag {AWS_NAMES_TAG}",
    )


def named_policies(names: str) -> frozenset[str]:
    return frozenset(name for name in _SEPARATORS.split(names) if name)


def labelled_policies(props: Mapping[str, Any], resource_type: str) -> frozenset[str]:
    """Every policy name the resource's exemption tag or annotation lists, granted or not."""
    names, _, _ = _labelled(props, resource_type)
    return named_policies(names) if names else frozenset()


def _configured(configured: Any, urn: str) -> Exemption | Refusal | None:
    for entry in as_seq(configured):
        entry = as_map(entry)
        pattern, reason = entry.get("urn"), entry.get("reason")
        if not isinstance(pattern, str) or not fnmatchcase(urn, pattern):
            continue
        if isinstance(reason, str) and reason.strip():
            return Exemption(reason.strip(), f"config pattern {pattern!r}")
        return Refusal(f"the config exemption {pattern!r} has no reason")
    return None


def exemption_for(
    policy: str, resource_type: str, urn: str, props: Mapping[str, Any], configured: Any
) -> Exemption | Refusal | None:
    """Whether `policy` is to let this resource off: config first, then the resource's own labels."""
    found = _configured(configured, urn)
    if found is not None:
        return found
    names, reason, where = _labelled(props, resource_type)
    if not names or policy not in named_policies(names):
        return None
    if reason is None:
        reason_key = K8S_REASON_ANNOTATION if _is_kubernetes(resource_type) else AWS_REASON_TAG
        return Refusal(f"its {where} names this policy but it has no {reason_key}")
    return Exemption(reason, where)


@dataclass(frozen=True, slots=True)
class Record:
    policy: str
    urn: str
    exemption: Exemption
    would_have_said: str | None  # None: the resource complies, so the exemption is no longer needed


class Ledger:
    """The exemptions granted in this pack process, in order, for `paved-exemptions` to report.

    A pack process serves one stack operation (the CLI starts it per preview or update), and the engine
    sends every Analyze before the one AnalyzeStack, so when the report runs the ledger is complete.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: dict[tuple[str, str], Record] = {}

    def record(self, record: Record) -> None:
        with self._lock:
            # Keyed, so the engine analysing a resource twice (preview, then update) reports it once.
            self._records[(record.policy, record.urn)] = record

    def records(self) -> list[Record]:
        with self._lock:
            return list(self._records.values())

    def clear(self) -> None:
        with self._lock:
            self._records.clear()


LEDGER = Ledger()


def describe(record: Record) -> str:
    granted = f"exempt from '{record.policy}' by {record.exemption.source}: {record.exemption.reason}."
    if record.would_have_said is None:
        return f"{granted} It complies now: remove the exemption."
    return f"{granted} Without it: {record.would_have_said}"


def label_problems(
    props: Mapping[str, Any], resource_type: str, policy_types: Mapping[str, frozenset[str]]
) -> list[str]:
    """What is wrong with the names in the resource's exemption labels: a policy this pack does not have
    (a typo, a renamed policy), or one that never judges this type, so the exemption does nothing."""
    problems = []
    for name in sorted(labelled_policies(props, resource_type)):
        types = policy_types.get(name)
        if types is None:
            problems.append(f"'{name}', which is not a policy of this pack: a typo or a renamed policy.")
        elif resource_type not in types:
            problems.append(f"'{name}', which does not judge {resource_type}: the exemption has no effect.")
    return problems
