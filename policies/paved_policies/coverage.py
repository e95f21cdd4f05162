"""docs/fsbp-coverage.md, written from the FSBP catalogue and the rules' `fsbp` ids.

`PYTHONPATH=policies uv run python -m paved_policies.coverage > docs/fsbp-coverage.md`; a test keeps the
committed page equal to what this prints.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from enum import Enum
from typing import Any

from paved_policies.fsbp import STANDARD_URL, Control, controls
from paved_policies.rule import Rule


class Coverage(Enum):
    JUDGED = "judged"
    JUDGED_WHEN_DECLARED = "judged when declared"
    PAVED_DIFFERS = "paved differs"
    CANNOT_DECIDE = "preview can't decide"
    NOT_JUDGED = "not judged yet"


def claims(rules: Iterable[Rule[Any]]) -> Mapping[str, list[str]]:
    """Control id -> the names of the policies that judge it."""
    by_control: defaultdict[str, list[str]] = defaultdict(list)
    for rule in rules:
        for control_id in rule.fsbp:
            by_control[control_id].append(rule.name)
    return by_control


def coverage_of(control: Control, policies: list[str]) -> tuple[Coverage, str]:
    """The control's status, and the policies or the reason that stand behind it."""
    if control.paved_differs:
        return Coverage.PAVED_DIFFERS, control.paved_differs
    if control.preview_cannot_decide:
        return Coverage.CANNOT_DECIDE, control.preview_cannot_decide
    if not policies:
        return Coverage.NOT_JUDGED, ""
    named = ", ".join(f"`{name}`" for name in policies)
    if control.preview_decides_when:
        return Coverage.JUDGED_WHEN_DECLARED, f"{named}; decided when {control.preview_decides_when}"
    return Coverage.JUDGED, named


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def coverage_page(rules: Iterable[Rule[Any]]) -> str:
    by_control = claims(rules)
    catalogue = controls()
    rows = {cid: coverage_of(control, by_control.get(cid, [])) for cid, control in catalogue.items()}
    counts = Counter(status for status, _ in rows.values())
    lines = [
        "# AWS Foundational Security Best Practices: what the pack judges",
        "",
        "Generated from `policies/paved_policies/fsbp_controls.json` (the controls, read off AWS's",
        "control pages) and each policy's `fsbp` ids by",
        "`PYTHONPATH=policies uv run python -m paved_policies.coverage`; do not edit by hand.",
        f"The standard: {STANDARD_URL}",
        "",
        f"{len(catalogue)} controls of the services paved declares:",
        "",
        *(f"- {status.value}: {counts[status]}" for status in Coverage),
        "",
        "A policy judges a control on every resource of a program, paved's or not. *Judged when",
        "declared*: the control also reads account-wide or out-of-program state, so the preview decides it",
        "only for what the program declares. *Preview can't decide*: only deployed state can, and the",
        "reason says why. *Paved differs*: the pack judges the same risk another way, on purpose.",
        "",
    ]
    by_service: defaultdict[str, list[str]] = defaultdict(list)
    for control_id, control in catalogue.items():
        status, detail = rows[control_id]
        cis = ", ".join(control.cis) or "—"
        by_service[control.service].append(
            f"| [{control_id}]({control.url}) | {_cell(control.title)} | {control.severity} | {status.value} "
            f"| {_cell(detail) or '—'} | {cis} |"
        )
    for service, service_rows in by_service.items():
        lines += [
            f"## {service}",
            "",
            "| Control | Title | Severity | Status | Policy or reason | CIS AWS Foundations |",
            "| --- | --- | --- | --- | --- | --- |",
            *service_rows,
            "",
        ]
    return "\n".join(lines)


if __name__ == "__main__":
    from paved_policies.pack import RULES

    print(coverage_page(RULES.values()), end="")
