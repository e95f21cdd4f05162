"""Who may do what: IAM evaluation of a snapshot's identity, resource, key and trust policies.

The rules are AWS's, for requests within one account:
- An explicit Deny in any applicable policy wins; otherwise at least one Allow is needed.
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-denyallow.html
- Within one account, an Allow in either the role's identity-based policies or the resource's policy (naming
  the role itself) is enough. A resource policy naming the account (`arn:aws:iam::<account>:root`) grants
  nothing by itself: it lets the account's IAM policies decide.
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-basics.html
- KMS keys are the exception: IAM policies have no effect unless the key policy allows the principal
  directly or delegates to the account.
  https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-overview.html
  https://docs.aws.amazon.com/kms/latest/developerguide/key-policies.html

Every answer is three-valued on top of yes/no: a condition on a key the request context does not carry makes
it CONDITIONAL, and a value that lineage could not trace (the UNKNOWN sentinel inside a policy document) makes
it UNRESOLVED. Neither is ever counted as proven.

Pure Python, no third-party imports: the CrossGuard pack runs this with only pulumi-policy installed.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

from paved_policies.wiring.snapshot import UNKNOWN, Resource, Snapshot, reveal
from paved_policies.wiring.verdicts import Finding, Hop, Verdict, combine

Context = Mapping[str, str | Sequence[str]]
NO_CONTEXT: Context = MappingProxyType({})

MANAGED_POLICIES = Path(__file__).with_name("managed_policies.json")
IRSA_ROLE_ANNOTATION = "eks.amazonaws.com/role-arn"
POD_IDENTITY_SERVICE = "pods.eks.amazonaws.com"
STS_AUDIENCE = "sts.amazonaws.com"
# An account no resource of the stack lives in: the stand-in for "any principal outside the account".
OUTSIDER_ACCOUNT = "999999999999"

_ROLE = "aws:iam/role:Role"
_KMS_KEY = "aws:kms/key:Key"
_POLICY_VARIABLE = re.compile(r"\$\{[^}]*\}")
_MANAGED_ARN = re.compile(r"^arn:[^:]+:iam::aws:policy/(.+)$")
_ACCOUNT_ROOT = re.compile(r"^arn:[^:]+:iam::(\d{12}):root$")


# -- three-valued matching --------------------------------------------------------------------------------


class Match(Enum):
    NO = "no"
    YES = "yes"
    CONDITIONAL = "conditional"
    UNRESOLVED = "unresolved"


# Why a statement did not match, from the least to the most specific: the nearest miss of all Allow
# statements is the one a BROKEN reason names.
_STAGES = ("action", "principal", "resource", "condition")


@dataclass(frozen=True)
class Outcome:
    match: Match
    why: str = ""  # for NO: what did not match; for CONDITIONAL/UNRESOLVED: what is in doubt
    stage: str = ""  # for NO: which element of the statement
    via_account: bool = False  # matched through an account principal, not the caller itself


YES = Outcome(Match.YES)


def _all_of(outcomes: Iterable[Outcome]) -> Outcome:
    """Every part must match: a definite miss anywhere decides, then doubt, then yes."""
    listed = list(outcomes)
    misses = [o for o in listed if o.match is Match.NO]
    if misses:
        return min(misses, key=lambda o: _STAGES.index(o.stage) if o.stage in _STAGES else 0)
    for match in (Match.UNRESOLVED, Match.CONDITIONAL):
        for outcome in listed:
            if outcome.match is match:
                return outcome
    return Outcome(Match.YES, via_account=any(o.via_account for o in listed))


def _any_of(outcomes: Iterable[Outcome], miss: Outcome) -> Outcome:
    """One alternative is enough: a definite yes decides (the caller itself before its account)."""
    listed = list(outcomes)
    hits = [o for o in listed if o.match is Match.YES]
    if hits:
        return min(hits, key=lambda o: o.via_account)
    for match in (Match.UNRESOLVED, Match.CONDITIONAL):
        for outcome in listed:
            if outcome.match is match:
                return outcome
    return miss


def _strings(value: Any) -> list[str]:
    items = value if isinstance(value, list) else [value]
    return [json.dumps(v) if isinstance(v, bool) else str(v) for v in items]


def _glob(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    if "*" not in pattern and "?" not in pattern:
        return pattern.lower() == value.lower() if ignore_case else pattern == value
    return _glob_regex(pattern, ignore_case).fullmatch(value) is not None


@functools.cache
def _glob_regex(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    """A policy's few patterns are matched against every request: each is compiled once."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(regex, re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)


def arn_like(pattern: str, arn: str) -> bool:
    """ARN matching as IAM does it: each of the six colon-separated parts on its own, wildcards in each.
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_ARN
    """
    if pattern == "*":
        return True
    pattern_parts, arn_parts = pattern.split(":", 5), arn.split(":", 5)
    if len(pattern_parts) != 6 or len(arn_parts) != 6:
        return _glob(pattern, arn)
    return all(_glob(p, a) for p, a in zip(pattern_parts, arn_parts, strict=True))


def _doubt(values: Sequence[str], element: str) -> Outcome | None:
    """UNRESOLVED for an untraced value, CONDITIONAL for a policy variable (out of the model's scope)."""
    if any(UNKNOWN in v for v in values):
        return Outcome(Match.UNRESOLVED, f"{element} holds a value unknown in the preview")
    if any(_POLICY_VARIABLE.search(v) for v in values):
        return Outcome(Match.CONDITIONAL, f"{element} uses a policy variable")
    return None


# -- statements -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Caller:
    """Who sends the request, for the Principal element of resource and trust policies."""

    arn: str = ""  # an IAM role
    account: str = ""
    service: str = ""  # a service principal, e.g. pods.eks.amazonaws.com
    federated: str = ""  # an OIDC provider ARN


def _action_outcome(statement: Mapping[str, Any], action: str) -> Outcome:
    negated = "NotAction" in statement
    patterns = _strings(statement.get("NotAction" if negated else "Action", []))
    doubt = _doubt(patterns, "Action")
    if doubt:
        return doubt
    listed = any(_glob(p, action, ignore_case=True) for p in patterns)
    if listed != negated:
        return YES
    return Outcome(Match.NO, f"does not allow {action}", "action")


def _resource_outcome(statement: Mapping[str, Any], resource: str) -> Outcome:
    negated = "NotResource" in statement
    if not negated and "Resource" not in statement:
        return YES  # trust policies have none: the role itself is the resource
    patterns = _strings(statement.get("NotResource" if negated else "Resource"))
    listed = any(arn_like(p, resource) for p in patterns if UNKNOWN not in p)
    if listed and not negated:
        return YES
    doubt = None if listed else _doubt(patterns, "Resource")
    if doubt:
        return doubt
    if negated and not listed:
        return YES
    return Outcome(Match.NO, f"not on {resource} (only {', '.join(patterns)})", "resource")


def _principal_outcome(statement: Mapping[str, Any], caller: Caller) -> Outcome:
    negated = "NotPrincipal" in statement
    principal = statement.get("NotPrincipal" if negated else "Principal")
    if principal is None:
        return Outcome(Match.NO, "names no principal", "principal")
    if principal == "*":
        return Outcome(Match.NO, "excludes everyone", "principal") if negated else YES
    entries = [(kind, v) for kind, values in principal.items() for v in _strings(values)]
    outcomes = [_principal_entry(kind, value, caller) for kind, value in entries]
    found = _any_of(outcomes, Outcome(Match.NO, "", "principal"))
    if negated and found.match in (Match.YES, Match.NO):
        found = YES if found.match is Match.NO else Outcome(Match.NO, "", "principal")
    if found.match is Match.NO:
        who = caller.arn or caller.service or caller.federated
        listed = ", ".join(f"{kind} {value}" for kind, value in entries)
        return Outcome(Match.NO, f"names {listed}, not {who}", "principal")
    return found


def _principal_entry(kind: str, value: str, caller: Caller) -> Outcome:
    if UNKNOWN in value:
        return Outcome(Match.UNRESOLVED, f"Principal {kind} is unknown in the preview")
    if kind == "AWS" and value == "*":
        # Everyone, services included, as `"Principal": "*"`: the form ElastiCache's docs prescribe for
        # its notifications (https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/ECEvents.SNS.html).
        return YES
    if kind == "AWS" and caller.arn:
        if value in ("*", caller.arn):
            return YES
        root = _ACCOUNT_ROOT.match(value)
        if value == caller.account or (root and root.group(1) == caller.account):
            return Outcome(Match.YES, via_account=True)
    if kind == "Service" and caller.service and value == caller.service:
        return YES
    if kind == "Federated" and caller.federated and value == caller.federated:
        return YES
    return Outcome(Match.NO, stage="principal")


def _condition_outcome(statement: Mapping[str, Any], context: Context) -> Outcome:
    block = statement.get("Condition") or {}
    lowered = {key.lower(): value for key, value in context.items()}
    return _all_of(
        _condition(operator, key, values, lowered)
        for operator, entries in block.items()
        for key, values in entries.items()
    )


_NEGATED = {
    "StringNotEquals": "StringEquals",
    "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
    "StringNotLike": "StringLike",
    "ArnNotEquals": "ArnEquals",
    "ArnNotLike": "ArnLike",
}
_COMPARE = {
    "StringEquals": lambda policy, request: policy == request,
    "StringEqualsIgnoreCase": lambda policy, request: policy.lower() == request.lower(),
    "StringLike": lambda policy, request: _glob(policy, request),
    "ArnEquals": arn_like,
    "ArnLike": arn_like,
    "Bool": lambda policy, request: policy.lower() == request.lower(),
}


def _condition(operator: str, key: str, values: Any, context: Mapping[str, Any]) -> Outcome:
    """One key of one operator: its values are OR-ed, the caller AND-s the keys.
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-logic-multiple-context-keys-or-values.html
    """
    text = f"{operator} {key} = {', '.join(_strings(values))}"
    expected = _strings(values)
    doubt = _doubt(expected, f"condition {text}")
    if doubt:
        return doubt
    qualifier, _, base = operator.rpartition(":")
    if_exists = base.endswith("IfExists")
    base = base.removesuffix("IfExists")
    present = key.lower() in context
    if base == "Null":
        holds = (expected[0].lower() == "true") != present
        return YES if holds else Outcome(Match.NO, f"condition {text} does not hold", "condition")
    if not present:
        if if_exists:
            return YES
        return Outcome(Match.CONDITIONAL, f"condition {text}: the request context has no {key}")
    positive = _NEGATED.get(base, base)
    compare = _COMPARE.get(positive)
    if compare is None:
        return Outcome(Match.CONDITIONAL, f"condition {text}: operator {base} is not modelled")
    raw = context[key.lower()]
    requested = _strings(raw)
    matches = [any(compare(p, r) for p in expected) for r in requested]
    negated = positive != base
    if qualifier == "ForAllValues":
        holds = all(not m for m in matches) if negated else all(matches)
    elif qualifier == "ForAnyValue":
        holds = any(not m for m in matches) if negated else any(matches)
    else:
        holds = not any(matches) if negated else any(matches)
    if holds:
        return YES
    return Outcome(Match.NO, f"only when {text} (the request has {', '.join(requested)})", "condition")


def statement_outcome(
    statement: Mapping[str, Any], action: str, resource: str, context: Context, caller: Caller | None
) -> Outcome:
    """Does this statement apply to the request? (Its Effect is the caller's business.)

    The parts are judged in `_STAGES` order and the first definite miss decides, as `_all_of` would (the
    earliest stage's miss): most statements of a large stack miss on their action, and are read no further."""
    judges: list[Callable[[], Outcome]] = [lambda: _action_outcome(statement, action)]
    if caller is not None:
        judges.append(lambda: _principal_outcome(statement, caller))
    judges += [lambda: _resource_outcome(statement, resource), lambda: _condition_outcome(statement, context)]
    parts = []
    for judge in judges:
        outcome = judge()
        if outcome.match is Match.NO:
            return outcome
        parts.append(outcome)
    return _all_of(parts)


# -- policies ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Policy:
    """One policy document and where it sits (`urn`, `property`) for the evidence chain."""

    label: str  # e.g. "RolePolicy app-api", "key policy of secrets"
    statements: tuple[Mapping[str, Any], ...]
    urn: str | None = None
    property: str | None = None
    # Why the whole document cannot be read (unknown in the preview), or "" when it can.
    unresolved: str = ""
    # Attached to a role lineage could not trace: it may or may not apply, so it never proves anything.
    maybe: bool = False

    @classmethod
    def parse(cls, document: Any, label: str, urn: str | None = None, property: str | None = None) -> Policy:
        document = reveal(document)
        if isinstance(document, str):
            if document == UNKNOWN:
                return cls(label, (), urn, property, f"{label} ({property}) is unknown in the preview")
            try:
                document = json.loads(document)
            except ValueError:
                return cls(label, (), urn, property, f"{label} ({property}) is not JSON")
        if not isinstance(document, Mapping):
            return cls(label, (), urn, property, f"{label} ({property}) is not a policy document")
        statements = document.get("Statement", [])
        listed = statements if isinstance(statements, list) else [statements]
        return cls(label, tuple(s for s in listed if isinstance(s, Mapping)), urn, property)

    def hop(self, kind: str, text: str) -> Hop:
        return Hop(kind, text, self.urn, self.property)


def _source(policy: Policy) -> str:
    """The resource and property holding a document, e.g. `app-api.policy`."""
    return f"{(policy.urn or '').rsplit('::', 1)[-1]}.{policy.property}"


def _sid(statement: Mapping[str, Any], index: int) -> str:
    return f"statement {statement['Sid']}" if statement.get("Sid") else f"statement {index + 1}"


@dataclass(frozen=True)
class Hit:
    policy: Policy
    statement: str
    outcome: Outcome

    @property
    def where(self) -> str:
        where = f"{self.policy.label} {self.statement}"
        return f"{where} ({_source(self.policy)})" if self.policy.urn else where


@dataclass(frozen=True)
class Decision:
    """What a set of policies says about one request, before the rules that combine policy types."""

    denied: Hit | None = None  # an explicit Deny that applies
    deny_doubt: Hit | None = None  # a Deny that may apply
    allowed: Hit | None = None  # an Allow naming the caller (or with no principal: identity policies)
    via_account: Hit | None = None  # an Allow naming the caller's account only
    allow_doubt: Hit | None = None  # an Allow that may apply
    nearest_miss: Hit | None = None  # the Allow that came closest, for the BROKEN reason
    unreadable: tuple[Policy, ...] = ()


def decide(
    policies: Sequence[Policy], action: str, resource: str, context: Context, caller: Caller | None = None
) -> Decision:
    found: dict[str, Hit] = {}
    for policy in policies:
        for index, statement in enumerate(policy.statements):
            outcome = statement_outcome(statement, action, resource, context, caller)
            if policy.maybe and outcome.match is Match.YES:
                outcome = Outcome(
                    Match.UNRESOLVED, f"{policy.label} is attached to a role lineage cannot trace"
                )
            hit = Hit(policy, _sid(statement, index), outcome)
            deny = str(statement.get("Effect", "")).lower() == "deny"
            if outcome.match is Match.YES:
                slot = "denied" if deny else "via_account" if outcome.via_account else "allowed"
            elif outcome.match is Match.NO:
                if deny:
                    continue
                slot = "nearest_miss"
                earlier = found.get(slot)
                if earlier and _STAGES.index(earlier.outcome.stage) >= _STAGES.index(outcome.stage):
                    continue
                found[slot] = hit
                continue
            else:
                slot = "deny_doubt" if deny else "allow_doubt"
            found.setdefault(slot, hit)
    unreadable = tuple(p for p in policies if p.unresolved)
    return Decision(**found, unreadable=unreadable)


def _doubtful(hit: Hit) -> Finding:
    verdict = Verdict.UNRESOLVED if hit.outcome.match is Match.UNRESOLVED else Verdict.CONDITIONAL
    return Finding(verdict, (), f"{hit.where}: {hit.outcome.why}")


def _no_deny(decision: Decision, action: str, resource: str) -> Finding:
    if decision.denied:
        return Finding(
            Verdict.BROKEN, (), f"{decision.denied.where} explicitly denies {action} on {resource}"
        )
    if decision.deny_doubt:
        return _doubtful(decision.deny_doubt)
    if decision.unreadable:  # a document nobody can read may hold a Deny
        return Finding(Verdict.UNRESOLVED, (), decision.unreadable[0].unresolved)
    return Finding(Verdict.PROVEN)


def _granted(decision: Decision, hit: Hit | None, kind: str, text: str, missing: str) -> Finding:
    """PROVEN when `hit` (an Allow) applies; else doubt from a doubtful Allow or an unreadable policy; else
    BROKEN: `missing`, and the Allow that came nearest."""
    if hit is not None:
        return Finding(Verdict.PROVEN, (hit.policy.hop(kind, f"{text} ({hit.where})"),))
    if decision.allow_doubt is not None:
        return _doubtful(decision.allow_doubt)
    if decision.unreadable:
        return Finding(Verdict.UNRESOLVED, (), decision.unreadable[0].unresolved)
    near = decision.nearest_miss
    detail = f": nearest is {near.where}, which {near.outcome.why}" if near else ""
    return Finding(Verdict.BROKEN, (), missing + detail)


def evaluate(
    statements: Sequence[Mapping[str, Any]],
    action: str,
    resource: str,
    context: Context,
    *,
    caller: Caller | None = None,
    label: str = "policy",
) -> Finding:
    """One policy's answer: is `action` on `resource` allowed, with no explicit Deny?"""
    policy = Policy(label, tuple(statements))
    decision = decide([policy], action, resource, context, caller)
    allow = decision.allowed or (decision.via_account if caller else None)
    granted = _granted(
        decision,
        allow,
        "iam",
        f"{action} on {resource}",
        f"no statement of {label} allows {action} on {resource}",
    )
    return combine(_no_deny(decision, action, resource), granted)


def _first_proven(*findings: Finding) -> Finding:
    """One of the alternatives must hold: the first proven one, else the first doubtful one, else all
    reasons (the caller phrases a better one where it can)."""
    for verdict in (Verdict.PROVEN, Verdict.UNRESOLVED, Verdict.CONDITIONAL):
        for finding in findings:
            if finding.verdict is verdict:
                return finding
    return Finding(Verdict.BROKEN, (), "; ".join(f.reason for f in findings))


# -- managed policies -------------------------------------------------------------------------------------


@cache
def managed_policies() -> Mapping[str, Any]:
    """The vendored snapshot: policy path/name (`service-role/AmazonRDSEnhancedMonitoringRole`) -> entry."""
    return json.loads(MANAGED_POLICIES.read_text())["policies"]


def managed_policy(arn: str, urn: str | None, property: str) -> Policy:
    name = _MANAGED_ARN.match(arn)
    label = f"managed policy {arn.rsplit('/', 1)[-1]}"
    entry = managed_policies().get(name.group(1)) if name else None
    if entry is None:
        return Policy(label, (), urn, property, f"{arn} is not in the vendored managed_policies.json")
    found = Policy.parse(
        entry["document"], f"{label} ({entry['version']}, {entry['updated']})", urn, property
    )
    return found


# -- the model --------------------------------------------------------------------------------------------


# Resource-based policies: type -> (property holding the document, property naming the governed resource, or
# "" when the document sits on the resource itself).
_RESOURCE_POLICIES = {
    _KMS_KEY: ("policy", ""),
    "aws:kms/keyPolicy:KeyPolicy": ("policy", "keyId"),
    "aws:secretsmanager/secret:Secret": ("policy", ""),
    "aws:secretsmanager/secretPolicy:SecretPolicy": ("policy", "secretArn"),
    "aws:s3/bucketPolicy:BucketPolicy": ("policy", "bucket"),
    "aws:sns/topicPolicy:TopicPolicy": ("policy", "arn"),
    "aws:backup/vaultPolicy:VaultPolicy": ("policy", "backupVaultName"),
}
# CloudWatch Logs resource policies are account- and region-wide: their statements' Resource says which log
# groups they cover. https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutResourcePolicy.html
_LOG_RESOURCE_POLICY = "aws:cloudwatch/logResourcePolicy:LogResourcePolicy"
# Every type that holds a policy document: type -> the property holding it.
_DOCUMENT_PROPERTY = {
    _ROLE: "assumeRolePolicy",
    "aws:iam/rolePolicy:RolePolicy": "policy",
    "aws:iam/policy:Policy": "policy",
    _LOG_RESOURCE_POLICY: "policyDocument",
    **{type_: document for type_, (document, _) in _RESOURCE_POLICIES.items()},
}


def policy_documents(resource: Resource) -> Iterator[tuple[str, Any]]:
    """Every IAM policy document a resource's inputs hold, as (property path, document as given)."""
    property = _DOCUMENT_PROPERTY.get(resource.type)
    if property is not None and resource.get(property) is not None:
        yield property, resource.get(property)
    if resource.type == _ROLE:
        for index, inline in enumerate(resource.get("inlinePolicies") or []):
            yield f"inlinePolicies.{index}.policy", reveal(inline).get("policy")


_GOVERNED_TYPES = (
    _KMS_KEY,
    "aws:secretsmanager/secret:Secret",
    "aws:s3/bucket:Bucket",
    "aws:s3/bucketV2:BucketV2",
    "aws:sns/topic:Topic",
    "aws:backup/vault:Vault",
    "aws:cloudwatch/logGroup:LogGroup",
)


def _default_key_policy(key: Resource, account_root: str) -> Policy:
    """A key created without a policy gets AWS's default: the account statement alone, which lets IAM decide.
    https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html"""
    statement = {"Sid": "Enable IAM User Permissions", "Effect": "Allow", "Principal": {"AWS": account_root}}
    return Policy(
        f"default key policy of {key.name}",
        ({**statement, "Action": "kms:*", "Resource": "*"},),
        key.urn,
        "policy",
    )


@dataclass(frozen=True)
class Association:
    """A Pod Identity association: service account (in `namespace`; None: the add-on's own) → role."""

    resource: Resource
    property: str  # where the role ARN sits
    cluster: Any
    namespace: str | None
    service_account: Any
    role_arn: Any


@dataclass
class IdentityModel:
    snapshot: Snapshot
    # role URN -> its identity-based policies
    identity: dict[str, list[Policy]] = field(default_factory=dict)
    # policies attached to a role lineage could not trace (each may belong to any role)
    untraced: list[Policy] = field(default_factory=list)
    # governed resource URN -> its resource-based policies
    resource_policies: dict[str, list[Policy]] = field(default_factory=dict)
    log_policies: list[Policy] = field(default_factory=list)

    @property
    def account(self) -> str:
        return self.snapshot.place.account

    @property
    def account_root(self) -> str:
        return f"arn:{self.snapshot.place.partition}:iam::{self.account}:root"

    @classmethod
    def from_snapshot(cls, snapshot: Snapshot) -> IdentityModel:
        model = cls(snapshot, {r.urn: [] for r in snapshot.of_type(_ROLE)})
        for role in snapshot.of_type(_ROLE):
            model._read_role(role)
        for resource in snapshot:
            if resource.type == "aws:iam/rolePolicy:RolePolicy":
                model._attach(
                    resource,
                    Policy.parse(
                        resource.get("policy"), f"RolePolicy {resource.name}", resource.urn, "policy"
                    ),
                )
            elif resource.type == "aws:iam/rolePolicyAttachment:RolePolicyAttachment":
                model._attach(resource, model._attached_policy(resource.get("policyArn"), resource))
            elif resource.type in _RESOURCE_POLICIES:
                model._read_resource_policy(resource)
            elif resource.type == _LOG_RESOURCE_POLICY:
                model.log_policies.append(
                    Policy.parse(
                        resource.get("policyDocument"),
                        f"log resource policy {resource.name}",
                        resource.urn,
                        "policyDocument",
                    )
                )
        for key in snapshot.of_type(_KMS_KEY):
            model.resource_policies.setdefault(key.urn, [_default_key_policy(key, model.account_root)])
        return model

    # -- reading the snapshot -----------------------------------------------------------------------------

    def _read_role(self, role: Resource) -> None:
        policies = self.identity[role.urn]
        for index, inline in enumerate(role.get("inlinePolicies") or []):
            name = inline.get("name") or index
            policies.append(
                Policy.parse(
                    inline.get("policy"),
                    f"inline policy {name} of role {role.name}",
                    role.urn,
                    f"inlinePolicies.{index}.policy",
                )
            )
        for index, arn in enumerate(role.get("managedPolicyArns") or []):
            policies.append(self._attached_policy(arn, role, f"managedPolicyArns.{index}"))

    def _attached_policy(self, arn: Any, holder: Resource, property: str = "policyArn") -> Policy:
        arn = reveal(arn)
        if not isinstance(arn, str) or UNKNOWN in arn:
            return Policy(
                f"policy of {holder.name}",
                (),
                holder.urn,
                property,
                f"{holder.name}.{property} is unknown in the preview",
            )
        customer = self.snapshot.referenced(arn)
        if customer is not None and customer.type == "aws:iam/policy:Policy":
            return Policy.parse(customer.get("policy"), f"Policy {customer.name}", customer.urn, "policy")
        return managed_policy(arn, holder.urn, property)

    def _attach(self, holder: Resource, policy: Policy) -> None:
        role = self.role_of(holder.get("role"))
        if role is None:
            self.untraced.append(
                Policy(
                    policy.label,
                    policy.statements,
                    policy.urn,
                    policy.property,
                    policy.unresolved,
                    maybe=True,
                )
            )
        else:
            self.identity[role.urn].append(policy)

    def role_of(self, value: Any) -> Resource | None:
        """The role a `role`/`roleArn` input names: by lineage, or by its literal name or ARN."""
        value = reveal(value)
        if not isinstance(value, str) or UNKNOWN in value:
            return None
        referenced = self.snapshot.referenced(value)
        if referenced is not None and referenced.type == _ROLE:
            return referenced
        for role in self.snapshot.of_type(_ROLE):
            if value in (
                role.get("name"),
                self.snapshot.output(role, "name"),
                self.snapshot.output(role, "arn"),
            ):
                return role
        return None

    def _read_resource_policy(self, resource: Resource) -> None:
        document_property, target_property = _RESOURCE_POLICIES[resource.type]
        document = resource.get(document_property)
        if target_property == "":
            if document is None:
                return
            target: Resource | None = resource
        else:
            target = self._governed(resource.get(target_property))
        kind = "key policy" if resource.type.startswith("aws:kms/") else "resource policy"
        label = f"{kind} of {target.name if target else resource.name}"
        policy = Policy.parse(document, label, resource.urn, document_property)
        if target is None:
            policy = Policy(
                label,
                (),
                resource.urn,
                target_property,
                f"{resource.name}.{target_property} is not traced to a resource",
            )
            self.untraced.append(policy)
            return
        if target.type == _KMS_KEY and target_property:
            # A separate KeyPolicy replaces the key's own (or default) policy.
            self.resource_policies[target.urn] = [policy]
        else:
            self.resource_policies.setdefault(target.urn, []).append(policy)

    def _governed(self, value: Any) -> Resource | None:
        value = reveal(value)
        if not isinstance(value, str) or UNKNOWN in value:
            return None
        referenced = self.snapshot.referenced(value)
        if referenced is not None and referenced.type in _GOVERNED_TYPES:
            return referenced
        for resource in self.snapshot.of_type(*_GOVERNED_TYPES):
            if value in (
                self.snapshot.output(resource, "id"),
                self.snapshot.output(resource, "arn"),
                resource.get("name"),
                resource.get("bucket"),
            ):
                return resource
        return None

    def target_of(self, resource_arn: str) -> Resource | None:
        """The snapshot resource an ARN (or an object/stream ARN under it) belongs to."""
        resource = self.snapshot.resources.get(resource_arn)
        if resource is not None:
            return resource
        for candidate in self.snapshot.of_type(*_GOVERNED_TYPES):
            arn = str(self.snapshot.output(candidate, "arn"))
            if resource_arn == arn or resource_arn.startswith((arn + "/", arn + ":")):
                return candidate
        referenced = self.snapshot.referenced(resource_arn)
        return referenced if referenced is not None and referenced.type in _GOVERNED_TYPES else None

    def role_arn(self, role: Resource) -> str:
        return str(self.snapshot.output(role, "arn"))

    # -- questions ----------------------------------------------------------------------------------------

    def allowed(
        self, role_urn: str, action: str, resource_arn: str, context: Context = NO_CONTEXT
    ) -> Finding:
        """May the role call `action` on `resource_arn`, in this account, with this request context?"""
        role = self.snapshot.resources[role_urn]
        role_arn = self.role_arn(role)
        # What AWS puts in every request by this role; the flow's context adds or overrides keys.
        # https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html
        request = {
            "aws:PrincipalArn": role_arn,
            "aws:PrincipalAccount": self.account,
            "aws:PrincipalIsAWSService": "false",
            **context,
        }
        caller = Caller(arn=role_arn, account=self.account)
        identity = decide([*self.identity.get(role_urn, []), *self.untraced], action, resource_arn, request)
        target, governing = self._governing(resource_arn)
        resource = decide(governing, action, resource_arn, request, caller)
        no_deny = combine(_no_deny(identity, action, resource_arn), _no_deny(resource, action, resource_arn))
        what = f"{action} on {resource_arn}"
        by_identity = _granted(
            identity,
            identity.allowed,
            "iam",
            f"{role.name} may {what}",
            f"role {role.name}: no identity policy allows {what}",
        )
        if target is not None and target.type == _KMS_KEY:
            return combine(no_deny, self._through_key_policy(role, target, resource, by_identity, what))
        by_resource = _granted(
            resource,
            resource.allowed,
            "resource-policy",
            f"{target.name if target else ''} grants {role.name} {what}",
            "",
        )
        if by_resource.verdict is Verdict.BROKEN:
            return combine(no_deny, by_identity)
        return combine(no_deny, _first_proven(by_identity, by_resource))

    def service_allowed(
        self, service: str, action: str, resource_arn: str, context: Context = NO_CONTEXT
    ) -> Finding:
        """May an AWS service principal (CloudWatch alarms, log delivery, CloudFront) call `action` on
        `resource_arn`? A service holds no identity policy of the account: only the resource's own policy
        can grant it, naming the service itself (a key policy's account statement does not).
        `context` is what the service sends for the flow: aws:SourceAccount, aws:SourceArn, the
        encryption context."""
        target, governing = self._governing(resource_arn)
        request = {"aws:PrincipalIsAWSService": "true", **context}
        decision = decide(governing, action, resource_arn, request, Caller(service=service))
        what = f"{action} on {resource_arn}"
        policies = ", ".join(f"{p.label} ({_source(p)})" for p in governing)
        missing = (
            f"{policies}: nothing grants {service} {what}"
            if governing
            else f"no resource policy governs {resource_arn}: nothing grants {service} {action}"
        )
        kind = "key-policy" if target is not None and target.type == _KMS_KEY else "resource-policy"
        granted = _granted(
            decision,
            decision.allowed,
            kind,
            f"{target.name if target else resource_arn} grants {service} {action}",
            missing,
        )
        return combine(_no_deny(decision, action, resource_arn), granted)

    def _governing(self, resource_arn: str) -> tuple[Resource | None, list[Policy]]:
        """The snapshot resource an ARN belongs to, and the resource policies that govern it."""
        target = self.target_of(resource_arn)
        governing = list(self.resource_policies.get(target.urn, [])) if target else []
        if resource_arn.split(":")[2:3] == ["logs"]:
            governing += self.log_policies
        return target, governing

    def _through_key_policy(
        self, role: Resource, key: Resource, decision: Decision, by_identity: Finding, what: str
    ) -> Finding:
        """The key policy grants the role itself, or delegates to the account and IAM allows too."""
        if decision.allowed is not None:
            granted = decision.allowed
            return Finding(
                Verdict.PROVEN,
                (
                    granted.policy.hop(
                        "key-policy", f"{key.name} grants {role.name} {what} ({granted.where})"
                    ),
                ),
            )
        delegated = None
        if decision.via_account is not None:
            hop = decision.via_account.policy.hop(
                "key-policy",
                f"{key.name} lets IAM policies of the account decide ({decision.via_account.where})",
            )
            delegated = combine(Finding(Verdict.PROVEN, (hop,)), by_identity)
            if delegated.proven:
                return delegated
        if decision.allow_doubt is not None:
            return _doubtful(decision.allow_doubt)
        if decision.unreadable:
            return Finding(Verdict.UNRESOLVED, (), decision.unreadable[0].unresolved)
        if delegated is not None:
            return delegated
        near = decision.nearest_miss
        detail = f" (nearest: {near.where}, which {near.outcome.why})" if near else ""
        return Finding(
            Verdict.BROKEN,
            (),
            f"key policy of {key.name} ({', '.join(_source(p) for p in self.resource_policies[key.urn])}) "
            f"neither grants role {role.name} {what} nor delegates it to the account ({self.account_root})"
            f"{detail}",
        )

    # -- trust --------------------------------------------------------------------------------------------

    def assumable(
        self,
        role_urn: str,
        *,
        web_identity: tuple[str, str, str] | None = None,
        service: str | None = None,
        pod_identity: tuple[str, str, str] | None = None,
        context: Context = NO_CONTEXT,
    ) -> Finding:
        """May the role be assumed this way? `web_identity` = (OIDC issuer without https://, namespace,
        service account); `pod_identity` = (cluster name, namespace, service account); `service` = a service
        principal. `context` adds what the flow knows (aws:SourceArn, aws:SourceAccount)."""
        role = self.snapshot.resources[role_urn]
        trust = Policy.parse(
            role.get("assumeRolePolicy"), f"trust policy of role {role.name}", role.urn, "assumeRolePolicy"
        )
        if trust.unresolved:
            return Finding(Verdict.UNRESOLVED, (), trust.unresolved)
        if web_identity is not None:
            return self._web_identity(role, trust, *web_identity, context)
        if pod_identity is not None:
            return self._pod_identity(role, trust, *pod_identity, context)
        if service is None:
            raise ValueError("assumable: give web_identity, service or pod_identity")
        return self._trusts(role, trust, "sts:AssumeRole", Caller(service=service), context, service)

    def _trusts(
        self, role: Resource, trust: Policy, action: str, caller: Caller, context: Context, who: str
    ) -> Finding:
        decision = decide([trust], action, self.role_arn(role), context, caller)
        granted = _granted(
            decision,
            decision.allowed,
            "trust",
            f"{who} may {action} into {role.name}",
            f"trust policy of role {role.name} does not let {who} {action}",
        )
        return combine(_no_deny(decision, action, self.role_arn(role)), granted)

    def _web_identity(
        self,
        role: Resource,
        trust: Policy,
        issuer: str,
        namespace: str,
        service_account: str,
        context: Context,
    ) -> Finding:
        """IRSA: the cluster's OIDC provider, the service account as `sub`, STS as `aud`.
        https://docs.aws.amazon.com/eks/latest/userguide/associate-service-account-role.html"""
        issuer = issuer.removeprefix("https://")
        provider = next(
            (
                p
                for p in self.snapshot.of_type("aws:iam/openIdConnectProvider:OpenIdConnectProvider")
                if str(reveal(p.get("url")) or "").removeprefix("https://") == issuer
            ),
            None,
        )
        if provider is None:
            return Finding(Verdict.BROKEN, (), f"no OpenIdConnectProvider has url https://{issuer}")
        audiences = _strings(provider.get("clientIdLists") or [])
        provider_hop = Hop("oidc", f"{provider.name} accepts tokens of {issuer}", provider.urn, "url")
        if STS_AUDIENCE not in audiences:
            return Finding(
                Verdict.BROKEN,
                (provider_hop,),
                f"OpenIdConnectProvider {provider.name}.clientIdLists lacks {STS_AUDIENCE}",
            )
        request = {
            f"{issuer}:sub": f"system:serviceaccount:{namespace}:{service_account}",
            f"{issuer}:aud": STS_AUDIENCE,
            **context,
        }
        caller = Caller(federated=str(self.snapshot.output(provider, "arn")))
        who = f"service account {namespace}/{service_account}"
        return combine(
            Finding(Verdict.PROVEN, (provider_hop,)),
            self._trusts(role, trust, "sts:AssumeRoleWithWebIdentity", caller, request, who),
        )

    def _pod_identity(
        self,
        role: Resource,
        trust: Policy,
        cluster: str,
        namespace: str,
        service_account: str,
        context: Context,
    ) -> Finding:
        """EKS Pod Identity: an association for the service account, and a trust policy that lets
        pods.eks.amazonaws.com AssumeRole and TagSession with the session tags it sets.
        https://docs.aws.amazon.com/eks/latest/userguide/pod-id-role.html"""
        association = self._association(role, cluster, namespace, service_account)
        # The session tags Pod Identity sets (https://docs.aws.amazon.com/eks/latest/userguide/pod-id-abac.html),
        # and aws:SourceAccount, which a service principal calling on the account's behalf carries:
        # https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-sourceaccount
        request: dict[str, Any] = {
            "aws:SourceAccount": self.account,
            "aws:RequestTag/eks-cluster-name": cluster,
            "aws:RequestTag/kubernetes-namespace": namespace,
            "aws:RequestTag/kubernetes-service-account": service_account,
            **context,
        }
        caller = Caller(service=POD_IDENTITY_SERVICE)
        who = f"Pod Identity for {namespace}/{service_account}"
        return combine(
            association,
            *(
                self._trusts(role, trust, action, caller, request, who)
                for action in ("sts:AssumeRole", "sts:TagSession")
            ),
        )

    def _association(self, role: Resource, cluster: str, namespace: str, service_account: str) -> Finding:
        for association in self.pod_identity_associations():
            if (
                association.namespace in (None, namespace)
                and association.service_account == service_account
                and self._names_cluster(association.cluster, cluster)
                and self.role_of(association.role_arn) is role
            ):
                where = association.namespace or f"{association.resource.name}'s namespace"
                text = f"{association.resource.name}: {where}/{service_account} → {role.name}"
                return Finding(
                    Verdict.PROVEN,
                    (Hop("pod-identity", text, association.resource.urn, association.property),),
                )
        return Finding(
            Verdict.BROKEN,
            (),
            f"no Pod Identity association maps {cluster} {namespace}/{service_account} to role {role.name}",
        )

    def pod_identity_associations(self) -> Iterator[Association]:
        """PodIdentityAssociation resources, and the associations an EKS add-on declares for its own service
        accounts (`podIdentityAssociations`), which live in the add-on's namespace: `namespaceConfig` when
        given, else the add-on's default, which the snapshot does not hold (None).
        https://docs.aws.amazon.com/eks/latest/userguide/add-ons-iam.html"""
        for association in self.snapshot.of_type("aws:eks/podIdentityAssociation:PodIdentityAssociation"):
            yield Association(
                association,
                "roleArn",
                association.get("clusterName"),
                association.get("namespace"),
                association.get("serviceAccount"),
                association.get("roleArn"),
            )
        for addon in self.snapshot.of_type("aws:eks/addon:Addon"):
            for index, entry in enumerate(addon.get("podIdentityAssociations") or []):
                yield Association(
                    addon,
                    f"podIdentityAssociations.{index}.roleArn",
                    addon.get("clusterName"),
                    addon.get("namespaceConfig.namespace"),
                    reveal(entry).get("serviceAccount"),
                    reveal(entry).get("roleArn"),
                )

    def _names_cluster(self, value: Any, cluster: str) -> bool:
        value = reveal(value)
        if value == cluster:
            return True
        referenced = self.snapshot.referenced(value)
        return referenced is not None and cluster in (
            referenced.get("name"),
            self.snapshot.output(referenced, "name"),
        )

    # -- who is who ---------------------------------------------------------------------------------------

    def roles_for_service_account(self, namespace: str, service_account: str) -> list[str]:
        """The roles a service account's pods get: its IRSA annotation and its Pod Identity associations."""
        roles: list[str] = []
        for account in self.snapshot.of_type("kubernetes:core/v1:ServiceAccount"):
            if (account.get("metadata.name"), self._namespace(account.get("metadata.namespace"))) != (
                service_account,
                namespace,
            ):
                continue
            annotations = account.get("metadata.annotations") or {}
            role = self.role_of(annotations.get(IRSA_ROLE_ANNOTATION))
            if role is not None:
                roles.append(role.urn)
        for association in self.pod_identity_associations():
            if association.namespace in (None, namespace) and association.service_account == service_account:
                role = self.role_of(association.role_arn)
                if role is not None and role.urn not in roles:
                    roles.append(role.urn)
        return roles

    def _namespace(self, value: Any) -> Any:
        """A namespace given as another resource's output is that Namespace's name."""
        referenced = self.snapshot.referenced(value)
        if referenced is not None and referenced.type == "kubernetes:core/v1:Namespace":
            return referenced.get("metadata.name")
        return reveal(value) or "default"

    # -- forbidden: outside the account -------------------------------------------------------------------

    def outside_account_access(self, resource_arn_or_urn: str) -> Finding:
        """PROVEN when no principal outside the account may use the resource through its resource policy;
        BROKEN naming the statement that lets one in."""
        target = self.snapshot.resources.get(resource_arn_or_urn) or self.target_of(resource_arn_or_urn)
        if target is None:
            return Finding(Verdict.UNRESOLVED, (), f"{resource_arn_or_urn} is not a resource of the snapshot")
        policies = self.resource_policies.get(target.urn, [])
        if not policies:
            return Finding(
                Verdict.PROVEN, (Hop("resource-policy", f"{target.name} has no resource policy", target.urn),)
            )
        return combine(*(self._outsiders(policy) for policy in policies))

    def _outsiders(self, policy: Policy) -> Finding:
        if policy.unresolved:
            return Finding(Verdict.UNRESOLVED, (), policy.unresolved)
        denies = [s for s in policy.statements if str(s.get("Effect", "")).lower() == "deny"]
        for index, statement in enumerate(policy.statements):
            if str(statement.get("Effect", "")).lower() != "allow" or self._pinned_by_resource(statement):
                continue
            for who, caller, context in self._outsiders_named(statement):
                opened = _all_of(
                    self._outsider_condition(operator, key, values, context)
                    for operator, entries in (statement.get("Condition") or {}).items()
                    for key, values in entries.items()
                )
                if opened.match is Match.NO or _denied_outright(denies, statement, caller, context):
                    continue
                text = f"{policy.label} {_sid(statement, index)} lets {who} in"
                if opened.match is Match.YES:
                    return Finding(
                        Verdict.BROKEN,
                        (policy.hop("resource-policy", text),),
                        f"{text}: no condition keeps it to account {self.account}",
                    )
                verdict = Verdict.UNRESOLVED if opened.match is Match.UNRESOLVED else Verdict.CONDITIONAL
                return Finding(verdict, (), f"{text} unless {opened.why}")
        return Finding(
            Verdict.PROVEN,
            (policy.hop("resource-policy", f"{policy.label} admits no principal outside {self.account}"),),
        )

    def _outsiders_named(self, statement: Mapping[str, Any]) -> list[tuple[str, Caller, dict[str, str]]]:
        """The principals outside the account that the statement names, each with the request context it
        would send: its own account wherever the request carries the caller's account."""
        principal = statement.get("Principal")
        entries = (
            [("AWS", "*")]
            if principal == "*"
            else [(kind, v) for kind, values in (principal or {}).items() for v in _strings(values)]
        )
        found: list[tuple[str, Caller, dict[str, str]]] = []
        for kind, value in entries:
            if kind == "AWS":
                account = self._account_of(value)
                if account == self.account:
                    continue
                outsider = account or OUTSIDER_ACCOUNT
                arn = f"arn:{self.snapshot.place.partition}:iam::{outsider}:role/outsider"
                context = {
                    "aws:PrincipalAccount": outsider,
                    "aws:PrincipalArn": arn,
                    "aws:PrincipalIsAWSService": "false",
                    "kms:CallerAccount": outsider,
                }
                found.append((value, Caller(arn=arn, account=outsider), context))
            elif kind == "Service":
                # A service acting for another account: the source it names is that account's.
                context = {
                    "aws:SourceAccount": OUTSIDER_ACCOUNT,
                    "aws:SourceOwner": OUTSIDER_ACCOUNT,
                    "aws:PrincipalIsAWSService": "true",
                }
                found.append((f"{value} acting for another account", Caller(service=value), context))
        return found

    def _account_of(self, principal: str) -> str:
        """The account of an AWS principal value ("" for `*`): an account ID, a root ARN or any IAM ARN."""
        if re.fullmatch(r"\d{12}", principal):
            return principal
        parts = principal.split(":", 5)
        return parts[4] if len(parts) == 6 else ""

    def _outsider_condition(
        self, operator: str, key: str, values: Any, context: Mapping[str, str]
    ) -> Outcome:
        """A condition as an outsider meets it: keys carrying its account are evaluated; any other key it
        controls holds, unless a positive operator pins every value to our account (`aws:SourceArn` of one
        of our resources, an encryption context naming our log groups)."""
        lowered = {k.lower(): v for k, v in context.items()}
        if key.lower() in lowered:
            return _condition(operator, key, values, lowered)
        expected = _strings(values)
        doubt = _doubt(expected, f"condition {operator} {key}")
        if doubt:
            return doubt
        base = operator.rpartition(":")[2]
        if base in _PINNING and all(self._pins_account(v) for v in expected):
            return Outcome(Match.NO, f"{operator} {key} keeps it to account {self.account}", "condition")
        return YES

    def _pins_account(self, value: str) -> bool:
        parts = value.split(":", 5)
        return value == self.account or (len(parts) == 6 and parts[4] == self.account)

    def _pinned_by_resource(self, statement: Mapping[str, Any]) -> bool:
        """Every Resource lies under a path segment that is the account, such as `AWSLogs/<account>/`: ELB
        log delivery writes each account's logs under that account's own ID only.
        https://docs.aws.amazon.com/elasticloadbalancing/latest/application/enable-access-logging.html"""
        resources = _strings(statement.get("Resource", []))
        return bool(resources) and all(f"/{self.account}/" in r for r in resources)


# Operators that only hold for the values listed (no IfExists: a missing key would pass it).
_PINNING = ("StringEquals", "StringEqualsIgnoreCase", "StringLike", "ArnEquals", "ArnLike")


def _denied_outright(
    denies: Sequence[Mapping[str, Any]], allow: Mapping[str, Any], caller: Caller, context: Context
) -> bool:
    """A Deny of the same policy that certainly covers every action and resource of `allow` for `caller`
    (the Allow's wildcards are matched literally, so only a broader Deny covers them)."""
    actions = _strings(allow.get("Action", []))
    resources = _strings(allow.get("Resource", ["*"]))
    return bool(actions) and all(
        any(statement_outcome(deny, action, resource, context, caller).match is Match.YES for deny in denies)
        for action in actions
        for resource in resources
    )
