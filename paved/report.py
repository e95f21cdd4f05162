"""Render a preview the way `pulumi preview` does: a resource tree, policy violations, outputs, a summary;
and as `pulumi preview --json` (the CLI's PreviewDigest)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from paved_policies.wiring.flows import as_json
from paved_policies.wiring.verdicts import FlowResult, Verdict

from paved.preview import PreviewResult
from paved.recorder import RecordedResource, Recording
from paved.values import UNKNOWN, for_display, is_secret

NANOSECONDS = 1_000_000_000
_LEVEL_MARKS = {"mandatory": "❌", "advisory": "⚠", "remediate": "🔧", "disabled": "-"}


# -- terminal ---------------------------------------------------------------------------------------------


def _tree_rows(recording: Recording) -> Iterator[tuple[str, RecordedResource]]:
    children: dict[str, list[RecordedResource]] = {}
    for resource in recording.resources:
        children.setdefault(resource.parent, []).append(resource)

    def walk(resource: RecordedResource, prefix: str, branch: str) -> Iterator[tuple[str, RecordedResource]]:
        yield prefix + branch, resource
        kids = children.get(resource.urn, [])
        child_prefix = prefix + ("" if not branch else ("│  " if branch == "├─ " else "   "))
        for index, kid in enumerate(kids):
            yield from walk(kid, child_prefix, "└─ " if index == len(kids) - 1 else "├─ ")

    for root in children.get("", []):
        yield from walk(root, "", "")


def _readable(value: Any) -> Any:
    """An output as `pulumi preview` shows it: secrets masked, unknowns (even nested) as output<string>."""
    if is_secret(value):
        return "[secret]"
    if value == UNKNOWN:
        return "output<string>"
    if isinstance(value, Mapping):
        return {key: _readable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_readable(item) for item in value]
    return _integral(value)


def _display_output(value: Any) -> str:
    shown = _readable(value)
    return shown if isinstance(shown, str) else json.dumps(shown, ensure_ascii=False)


def render_text(result: PreviewResult) -> str:
    lines = [f"Previewing update ({result.stack}) offline: paved preview", ""]
    recording = result.recording
    if recording is not None and recording.resources:
        rows = list(_tree_rows(recording))
        type_width = max(len(branch + resource.type) for branch, resource in rows) + 2
        lines.append(f"     {'Type':<{type_width}}{'Name':<40}Plan")
        for branch, resource in rows:
            lines.append(f" +   {branch + resource.type:<{type_width}}{resource.name:<40}create")
        lines.append("")
    lines += diagnostic_lines(result)
    lines += _policy_lines(result)
    lines += wiring_lines(result.flows)
    if recording is not None and recording.resources and result.failure is None:
        outputs = recording.stack_outputs
        if outputs:
            lines.append("Outputs:")
            lines += [f"    {key}: {_display_output(value)}" for key, value in sorted(outputs.items())]
            lines.append("")
        lines += _summary_lines(recording)
    lines.append(f"Duration: {result.duration_seconds:.1f}s")
    lines.append(_verdict(result))
    return "\n".join(lines) + "\n"


def stopped_because(result: PreviewResult) -> str:
    """Why a preview that did not run cleanly judged nothing."""
    if result.config_failure:
        return "the configuration is invalid"
    if result.pack_failure:
        return "a policy pack failed"
    if result.failure:
        return "the program failed"
    return "the program logged errors"


def _verdict(result: PreviewResult) -> str:
    if not result.ran_cleanly:
        # Counts of zero here would read as a stack that passed every policy.
        return f"Preview failed: {stopped_because(result)} (see above), so no policy judged the resources."
    counts = [
        f"{len(result.mandatory_violations)} mandatory",
        f"{len(result.violations) - len(result.mandatory_violations)} other policy violations",
    ]
    if result.flows:
        counts.append(f"{len(result.failing_flows)} failing wiring flows")
    verdict = "failed" if result.exit_code else "succeeded"
    return f"Preview {verdict}: {', '.join(counts)}."


def diagnostic_lines(result: PreviewResult) -> list[str]:
    """Why the program did not run cleanly: its failure and its messages."""
    lines: list[str] = []
    if result.failure:
        lines += ["Diagnostics:", "  error: " + result.failure.replace("\n", "\n    "), ""]
    recording = result.recording
    if recording is not None and recording.logs:
        lines.append("Program messages:")
        lines += [
            f"  {entry.severity}: {entry.urn or result.stack}: {entry.message.strip()}"
            for entry in recording.logs
        ]
        lines.append("")
    return lines


def _policy_lines(result: PreviewResult) -> list[str]:
    if not result.packs:
        return []
    lines = ["Policies:"]
    for pack in result.packs:
        mandatory = any(v.level == "mandatory" for v in pack.violations)
        mark = "❌" if mandatory else ("⚠" if pack.violations else "✅")
        lines.append(f"    {mark} {pack.name}@v{pack.version} ({pack.policy_count} policies)")
        for violation in pack.violations:
            lines.append(
                f"        - [{violation.level}] {_LEVEL_MARKS.get(violation.level, '')} "
                f"{violation.policy}  ({violation.urn or 'stack'})"
            )
            lines += [f"          {line}" for line in violation.message.splitlines()]
        lines += [f"        remediated: {item}" for item in pack.remediations]
    lines.append("")
    return lines


WIRING_LEGEND = (
    "✔ proven (a forbidden flow: absent)  ✘ broken: fails the preview  ? conditional or unresolved: "
    "not counted as proven"
)


WIRING_ID_COLUMN = 40


# A real flow has 10-30 hops (thousands of characters): the table shows the chain's start, `--why` all of it.
WIRING_CHAIN_WIDTH = 200


def evidence_chain(flow: FlowResult) -> str:
    """The flow's hops on one line, joined with " · ", cut at a hop once longer than WIRING_CHAIN_WIDTH."""
    shown: list[str] = []
    for hop in map(str, flow.evidence):
        if shown and len(" · ".join([*shown, hop])) > WIRING_CHAIN_WIDTH:
            break
        shown.append(hop)
    rest = len(flow.evidence) - len(shown)
    return " · ".join(shown) + (f" · … {rest} more (--why '{flow.id}')" if rest else "")


def wiring_lines(flows: Sequence[FlowResult]) -> list[str]:
    """The wiring table: one row per flow, its evidence chain below it, and why when it is not proven."""
    if not flows:
        return []
    by_verdict = Counter(flow.verdict for flow in flows)
    doubtful = by_verdict[Verdict.CONDITIONAL] + by_verdict[Verdict.UNRESOLVED]
    lines = [
        f"Wiring: {len(flows)} flows, {by_verdict[Verdict.PROVEN]} proven, {by_verdict[Verdict.BROKEN]} "
        f"broken, {doubtful} conditional or unresolved"
    ]
    longest = max(len(flow.id) for flow in flows)
    # Titles line up in a column, unless one long id would push every title off the screen.
    id_column = longest if longest <= WIRING_ID_COLUMN else 0
    for flow in flows:
        lines.append(f"    {flow.verdict.symbol} {flow.kind:<9} {flow.id:<{id_column}}  {flow.title}")
        if flow.evidence:
            lines.append(f"        {evidence_chain(flow)}")
        if flow.verdict is not Verdict.PROVEN:
            lines.append(f"        {flow.verdict.value}: {flow.reason}")
    lines += [f"    {WIRING_LEGEND}", ""]
    return lines


def flow_explanation(flow: FlowResult) -> list[str]:
    """One flow hop by hop: each hop's kind, what it says, and the resource and property it stands on."""
    lines = [f"{flow.verdict.symbol} {flow.id} ({flow.kind}): {flow.title}"]
    lines.append(f"  {flow.verdict.value}" + (f": {flow.reason}" if flow.reason else ""))
    kind_width = max((len(hop.kind) for hop in flow.evidence), default=0) + 2
    for number, hop in enumerate(flow.evidence, 1):
        where = [part for part in (hop.urn, f"property {hop.property}" if hop.property else None) if part]
        lines.append(
            f"  {number:>2}. {hop.kind:<{kind_width}}{hop.text}"
            + (f"  [{', '.join(where)}]" if where else "")
        )
    return lines


def _summary_lines(recording: Recording) -> list[str]:
    by_type = Counter(resource.type for resource in recording.resources)
    lines = ["Resources:", f"    + {len(recording.resources)} to create", "    by type:"]
    lines += [
        f"      {count:>4}  {type_}"
        for type_, count in sorted(by_type.items(), key=lambda kv: (-kv[1], kv[0]))
    ]
    lines.append("")
    return lines


# -- JSON (PreviewDigest) ---------------------------------------------------------------------------------


def _integral(value: Any) -> Any:
    """Protobuf Structs carry numbers as doubles; print 443.0 as 443, as Go's encoder does."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, Mapping):
        return {key: _integral(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_integral(item) for item in value]
    return value


def _new_state(resource: RecordedResource) -> dict[str, Any]:
    state: dict[str, Any] = {
        "urn": resource.urn,
        "custom": resource.custom,
        "type": resource.type,
        "inputs": _integral(for_display(resource.inputs)),
    }
    if resource.resolved_inputs != resource.inputs:
        # paved's lineage: the inputs with each traced unknown replaced by its output's placeholder. Readers
        # of the CLI's format ignore it; `paved flows --preview` proves the wiring from it.
        state["resolvedInputs"] = _integral(for_display(resource.resolved_inputs))
    optional = {
        "outputs": _integral(for_display(resource.outputs)),
        "parent": resource.parent,
        "protect": resource.protect,
        "provider": resource.provider,
        "dependencies": resource.dependencies,
        "propertyDependencies": resource.property_dependencies,
        "additionalSecretOutputs": resource.additional_secret_outputs,
        "aliases": resource.aliases,
        "customTimeouts": resource.custom_timeouts,
        "retainOnDelete": resource.retain_on_delete,
        "deleteBeforeReplace": resource.delete_before_replace,
        "ignoreChanges": resource.ignore_changes,
    }
    # Go's `omitempty`: zero values are left out.
    state.update({key: value for key, value in optional.items() if value})
    return state


def _diagnostics(result: PreviewResult) -> list[dict[str, Any]]:
    diagnostics: list[dict[str, Any]] = []
    if result.failure:
        diagnostics.append({"message": result.failure, "severity": "error"})
    if result.recording is not None:
        diagnostics += [
            {"urn": entry.urn, "message": entry.message, "severity": entry.severity}
            for entry in result.recording.logs
        ]
    # The CLI leaves policy violations out of this document; paved carries them, with fields a reader of
    # the CLI's format can ignore, so one file answers "what would block this deploy".
    diagnostics += [
        {
            "urn": violation.urn,
            "prefix": f"{violation.level}: ",
            "message": f"[{violation.level}]  {violation.pack}@v{violation.pack_version} - "
            f"{violation.policy}: {violation.message}",
            "severity": "error" if violation.level == "mandatory" else "warning",
            "policyPack": violation.pack,
            "policyPackVersion": violation.pack_version,
            "policyName": violation.policy,
            "enforcementLevel": violation.level,
            "policySeverity": violation.severity,
        }
        for violation in result.violations
    ]
    return diagnostics


def preview_digest(result: PreviewResult) -> dict[str, Any]:
    resources = result.recording.resources if result.recording else []
    steps = [
        {"op": "create", "urn": resource.urn, "newState": _new_state(resource)}
        | ({"provider": resource.provider} if resource.provider else {})
        for resource in resources
    ]
    digest: dict[str, Any] = {
        "config": {
            key: "[secret]" if key in result.secret_keys else value for key, value in result.config.items()
        },
        "steps": steps,
        "diagnostics": _diagnostics(result),
        "duration": int(result.duration_seconds * NANOSECONDS),
        "changeSummary": {"create": len(steps)} if steps else {},
        # paved's own: the wiring proof, which the CLI's document does not have.
        "flows": as_json(result.flows),
    }
    if result.recording is not None:
        recording = result.recording
        digest["placeholders"] = {
            value: {"urn": origin.urn, "output": origin.output}
            for value, origin in recording.placeholders.items()
        }
        digest["pavedAccount"] = recording.place.account
    return digest
