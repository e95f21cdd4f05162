"""Reading IAM-style policy documents (key policies, bucket policies, topic policies...).

Documents arrive as JSON strings. The IAM grammar lets `Statement`, `Principal.AWS` and
`Condition` take a single value or a list, so every reader here accepts both shapes:
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from paved_policies.props import as_map, as_seq


def parse_document(text: str) -> Mapping[str, Any] | None:
    """The parsed document, or None when the text is not a JSON object."""
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError):
        return None
    return doc if isinstance(doc, Mapping) else None


def statements(doc: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    raw = doc.get("Statement")
    items = [raw] if isinstance(raw, Mapping) else as_seq(raw)
    return [s for s in items if isinstance(s, Mapping)]


def _values(value: Any) -> list[Any]:
    return [value] if isinstance(value, str) else list(as_seq(value))


def is_allow(statement: Mapping[str, Any]) -> bool:
    return statement.get("Effect") == "Allow"


def grants_everyone(statement: Mapping[str, Any]) -> bool:
    """`Principal: "*"`, `Principal: {"AWS": "*"}` (or a list holding "*"), or `NotPrincipal`.

    An Allow with NotPrincipal grants everyone except the listed principals; AWS advises never to
    combine them: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notprincipal.html
    """
    if "NotPrincipal" in statement:
        return True
    principal = statement.get("Principal")
    if principal == "*":
        return True
    return "*" in _values(as_map(principal).get("AWS"))


def has_condition(statement: Mapping[str, Any]) -> bool:
    return len(as_map(statement.get("Condition"))) > 0
