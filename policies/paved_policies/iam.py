"""Reading IAM-style policy documents (identity policies, key policies, bucket policies, topic policies...).

Documents arrive as JSON strings, or as objects where pulumi-aws takes a PolicyDocument input. The IAM
grammar lets `Statement`, `Action`, `Resource`, `Principal.AWS` and each condition value take a single
value or a list, so every reader here accepts both shapes:
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from functools import cache
from typing import Any

from paved_policies.props import as_map, as_seq


def parse_document(text: str) -> Mapping[str, Any] | None:
    """The parsed document, or None when the text is not a JSON object."""
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError):
        return None
    return doc if isinstance(doc, Mapping) else None


def document(value: Any) -> Mapping[str, Any] | None:
    """A `policy` input as a document: JSON text parsed, an object as it is; None for anything else."""
    if isinstance(value, str):
        return parse_document(value)
    return value if isinstance(value, Mapping) else None


def statements(doc: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    raw = doc.get("Statement")
    items = [raw] if isinstance(raw, Mapping) else as_seq(raw)
    return [s for s in items if isinstance(s, Mapping)]


def listed(value: Any) -> list[Any]:
    """A single value or a list of them, as a list."""
    return [value] if isinstance(value, str | bool) else list(as_seq(value))


def strings(value: Any) -> list[str]:
    return [item for item in listed(value) if isinstance(item, str)]


def label(statement: Mapping[str, Any], index: int) -> str:
    """How a message names a statement: its Sid, else its position."""
    sid = statement.get("Sid")
    return sid if isinstance(sid, str) and sid.strip() else f"#{index}"


def is_allow(statement: Mapping[str, Any]) -> bool:
    return statement.get("Effect") == "Allow"


@cache
def _wildcard(pattern: str) -> re.Pattern[str]:
    # IAM patterns have two wildcards, `*` (any run) and `?` (one character), and compare actions
    # case-insensitively: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(body, re.IGNORECASE | re.DOTALL)


def matches(pattern: str, name: str) -> bool:
    """Whether an IAM wildcard pattern (`kms:Decrypt*`, `s3:*`, `*`) covers the concrete `name`."""
    return _wildcard(pattern).fullmatch(name) is not None


def allows_action(statement: Mapping[str, Any], action: str) -> bool:
    """Whether an Allow statement covers `action`: listed in Action, or left out of NotAction (which allows
    everything it does not name)."""
    if not is_allow(statement):
        return False
    if "NotAction" in statement:
        return not any(matches(pattern, action) for pattern in strings(statement.get("NotAction")))
    return any(matches(pattern, action) for pattern in strings(statement.get("Action")))


def _principal_values(statement: Mapping[str, Any]) -> list[str]:
    principal = statement.get("Principal")
    if isinstance(principal, str):
        return [principal]
    return [value for kind in as_map(principal).values() for value in strings(kind)]


def names_anyone(statement: Mapping[str, Any]) -> bool:
    """`Principal: "*"`, `{"AWS": "*"}`, a principal with a wildcard (`arn:aws:iam::*:root`), or NotPrincipal.

    An Allow with NotPrincipal grants everyone except the listed principals; AWS advises never to
    combine them: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notprincipal.html
    """
    if "NotPrincipal" in statement:
        return True
    return any("*" in value or "?" in value for value in _principal_values(statement))


# Condition keys that, compared with fixed values, confine a statement to known principals, accounts,
# organizations, networks or calling resources: what AWS counts as "not public" for resource policies.
# https://docs.aws.amazon.com/AmazonS3/latest/userguide/access-control-block-public-access.html#access-control-block-public-access-policy-status
# (KMS: https://docs.aws.amazon.com/config/latest/developerguide/kms-key-policy-no-public-access.html). An IP
# range is not on the list: a range anyone on it may use does not confine a grant to an owner.
_CONFINING_KEYS = frozenset(
    {
        "aws:principalaccount",
        "aws:principalarn",
        "aws:principalorgid",
        "aws:sourceaccount",
        "aws:sourcearn",
        "aws:sourceowner",
        "aws:sourceorgid",
        "aws:sourcevpc",
        "aws:sourcevpce",
        "aws:userid",
        "kms:calleraccount",
    }
)
# Only operators that require the key to equal (or match) the listed values confine; a negated operator
# grants everyone else, an ...IfExists one passes a request without the key, ForAllValues passes an empty set.
_CONFINING_OPERATORS = frozenset(
    {"stringequals", "stringequalsignorecase", "stringlike", "arnequals", "arnlike"}
)


def fixed_value(value: Any) -> bool:
    """A value without wildcards or policy variables (`${aws:username}`): AWS treats either as public."""
    return isinstance(value, str) and bool(value) and not any(mark in value for mark in ("*", "?", "${"))


def confined_by_condition(statement: Mapping[str, Any]) -> bool:
    """Whether a condition pins the statement to fixed accounts, organizations, networks or sources."""
    for operator, conditions in as_map(statement.get("Condition")).items():
        name = str(operator).lower().removeprefix("foranyvalue:")
        if name not in _CONFINING_OPERATORS:
            continue
        for key, value in as_map(conditions).items():
            values = listed(value)
            if str(key).lower() in _CONFINING_KEYS and values and all(fixed_value(v) for v in values):
                return True
    return False


def public_statements(doc: Mapping[str, Any]) -> list[str]:
    """The labels of the Allow statements that grant anyone access: a resource policy is public when any
    statement names any principal and no condition confines it (see `confined_by_condition`)."""
    return [
        label(statement, index)
        for index, statement in enumerate(statements(doc))
        if is_allow(statement) and names_anyone(statement) and not confined_by_condition(statement)
    ]


def public_grant(doc: Mapping[str, Any]) -> str | None:
    """What makes a resource policy public, worded to follow its subject ("<the policy> allows any
    principal ..."); None when no statement does. KMS key and SNS topic policies say it alike."""
    public = public_statements(doc)
    if not public:
        return None
    return (
        "allows any principal without a condition confining it to fixed accounts, organizations or sources, "
        "in statement(s) " + ", ".join(public)
    )
