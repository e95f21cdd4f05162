"""Render a preview the way `pulumi preview` does: a resource tree, policy violations, outputs, a summary;
and as `pulumi preview --json` (the CLI's PreviewDigest)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from paved_policies.wiring.flows import as_json
from paved_policies.wiring.verdicts import FlowResult, Verdict
from rich.cells import cell_len, set_cell_size

from paved.preview import PreviewResult
from paved.recorder import RecordedResource, Recording
from paved.terminal import ellipsize, wrap
from paved.values import UNKNOWN, for_display, is_secret

NANOSECONDS = 1_000_000_000
_LEVEL_MARKS = {"mandatory": "❌", "advisory": "⚠", "remediate": "🔧", "disabled": "-"}


# -- terminal ---------------------------------------------------------------------------------------------


TREE_ROW_START = " +   "  # the plan's mark, as in `pulumi preview`: every step of a first preview creates
PLAN = "create"
COLUMN_GAP = "  "
# A type or name cut shorter says too little: below this, the other column gives way.
NARROWEST_TREE_COLUMN = 8


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


def display_type(type_token: str) -> str:
    """A type as `pulumi preview` shows it: `aws:ec2/vpc:Vpc` as `aws:ec2:Vpc`, where the module's last
    segment only repeats the type's name."""
    parts = type_token.split(":")
    if len(parts) != 3:
        return type_token
    package, module, name = parts
    outer, slash, last = module.rpartition("/")
    if not slash or last != name[:1].lower() + name[1:]:
        return type_token
    return f"{package}:{outer}:{name}"


def _tree_columns(type_cells: Sequence[int], name_cells: Sequence[int], room: int) -> tuple[int, int]:
    """The type and name columns' widths: as wide as their widest cell when both fit in `room`, else the split
    of `room` that cuts the fewest rows, with more of the names on a tie (they tell rows of a type apart)."""
    widest_type, widest_name = max(type_cells), max(name_cells)
    if widest_type + widest_name <= room:
        return widest_type, widest_name
    narrowest = min(NARROWEST_TREE_COLUMN, room // 2)

    def rows_cut(name_width: int) -> int:
        return sum(
            type_cell > room - name_width or name_cell > name_width
            for type_cell, name_cell in zip(type_cells, name_cells, strict=True)
        )

    name_width = min(range(narrowest, room - narrowest + 1), key=lambda width: (rows_cut(width), -width))
    return room - name_width, name_width


def _type_cell(branch: str, type_: str, width: int) -> str:
    """The tree's branch kept whole, the type cut to what is left of `width`."""
    room = width - cell_len(branch)
    if room < NARROWEST_TREE_COLUMN // 2:
        return ellipsize(branch + type_, width)
    return branch + ellipsize(type_, room)


def _tree_lines(recording: Recording, width: int) -> list[str]:
    """The resource tree in `width` cells: each type after its branch and each name cut in the middle if the
    row would not fit, never the tree's shape or the plan."""
    rows = [(branch, display_type(item.type), item.name) for branch, item in _tree_rows(recording)]
    fixed = cell_len(TREE_ROW_START + COLUMN_GAP + COLUMN_GAP + PLAN)
    type_width, name_width = _tree_columns(
        [cell_len("Type"), *(cell_len(branch + type_) for branch, type_, _ in rows)],
        [cell_len("Name"), *(cell_len(name) for *_, name in rows)],
        max(width - fixed, 2),
    )

    def row(start: str, type_cell: str, name: str, plan: str) -> str:
        cells = (set_cell_size(type_cell, type_width), set_cell_size(ellipsize(name, name_width), name_width))
        return start + COLUMN_GAP.join([*cells, plan])

    lines = [row(" " * len(TREE_ROW_START), "Type", "Name", "Plan")]
    for branch, type_, name in rows:
        lines.append(row(TREE_ROW_START, _type_cell(branch, type_, type_width), name, PLAN))
    return lines


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


def render_text(result: PreviewResult, width: int) -> str:
    """The preview for a reader, no line wider than `width` cells."""
    lines = [*wrap(f"Previewing update ({result.stack}) offline: paved preview", width), ""]
    recording = result.recording
    if recording is not None and recording.resources:
        lines += [*_tree_lines(recording, width), ""]
    lines += diagnostic_lines(result, width)
    lines += _policy_lines(result, width)
    lines += wiring_lines(result.flows, width)
    if recording is not None and recording.resources and result.failure is None:
        outputs = recording.stack_outputs
        if outputs:
            lines.append("Outputs:")
            for key, value in sorted(outputs.items()):
                lines += wrap(f"    {key}: {_display_output(value)}", width, hanging=4)
            lines.append("")
        lines += _summary_lines(recording, width)
    lines.append(f"Duration: {result.duration_seconds:.1f}s")
    lines += wrap(verdict(result), width)
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


def verdict(result: PreviewResult) -> str:
    """The closing line: failed or succeeded, and the counts that decided it."""
    if not result.ran_cleanly:
        # Counts of zero here would read as a stack that passed every policy.
        return f"Preview failed: {stopped_because(result)} (see above), so no policy judged the resources."
    counts = [
        f"{len(result.mandatory_violations)} mandatory",
        f"{len(result.violations) - len(result.mandatory_violations)} other policy violations",
    ]
    if result.flows:
        counts.append(f"{len(result.failing_flows)} failing wiring flows")
    outcome = "failed" if result.exit_code else "succeeded"
    return f"Preview {outcome}: {', '.join(counts)}."


def diagnostic_lines(result: PreviewResult, width: int) -> list[str]:
    """Why the program did not run cleanly: its failure and its messages."""
    lines: list[str] = []
    if result.failure:
        lines += ["Diagnostics:", *wrap("  error: " + result.failure, width, hanging=2), ""]
    recording = result.recording
    if recording is not None and recording.logs:
        lines.append("Program messages:")
        for entry in recording.logs:
            message = f"  {entry.severity}: {entry.urn or result.stack}: {entry.message.strip()}"
            lines += wrap(message, width, hanging=2)
        lines.append("")
    return lines


def _policy_lines(result: PreviewResult, width: int) -> list[str]:
    if not result.packs:
        return []
    lines = ["Policies:"]
    for pack in result.packs:
        mandatory = any(v.level == "mandatory" for v in pack.violations)
        mark = "❌" if mandatory else ("⚠" if pack.violations else "✅")
        lines += wrap(f"    {mark} {pack.name}@v{pack.version} ({pack.policy_count} policies)", width, 2)
        for violation in pack.violations:
            # Continued under the message, so the URN reads as part of its entry.
            lines += wrap(
                f"        - [{violation.level}] {_LEVEL_MARKS.get(violation.level, '')} "
                f"{violation.policy}  ({violation.urn or 'stack'})",
                width,
                hanging=2,
            )
            lines += wrap(f"          {violation.message.strip()}", width)
        for item in pack.remediations:
            lines += wrap(f"        remediated: {item}", width, hanging=2)
    lines.append("")
    return lines


WIRING_LEGEND = (
    "✔ proven (a forbidden flow: absent)  ✘ broken: fails the preview  ? conditional or unresolved: "
    "not counted as proven"
)


WIRING_ID_COLUMN = 40
WIRING_ROW_INDENT = 4
WIRING_DETAIL_INDENT = 8


# A real flow has 10-30 hops (thousands of characters): the table shows the chain's start, `--why` all of it.
WIRING_CHAIN_WIDTH = 200


def evidence_chain(flow: FlowResult) -> str:
    """The flow's hops joined with " · ", cut at a hop once longer than WIRING_CHAIN_WIDTH cells: the same
    hops at any width, wrapped to the terminal's."""
    shown: list[str] = []
    for hop in map(str, flow.evidence):
        if shown and cell_len(" · ".join([*shown, hop])) > WIRING_CHAIN_WIDTH:
            break
        shown.append(hop)
    rest = len(flow.evidence) - len(shown)
    return " · ".join(shown) + (f" · … {rest} more (--why '{flow.id}')" if rest else "")


def wiring_lines(flows: Sequence[FlowResult], width: int) -> list[str]:
    """The wiring table: one row per flow, its evidence chain below it, and why when it is not proven."""
    if not flows:
        return []
    by_verdict = Counter(flow.verdict for flow in flows)
    doubtful = by_verdict[Verdict.CONDITIONAL] + by_verdict[Verdict.UNRESOLVED]
    lines = wrap(
        f"Wiring: {len(flows)} flows, {by_verdict[Verdict.PROVEN]} proven, {by_verdict[Verdict.BROKEN]} "
        f"broken, {doubtful} conditional or unresolved",
        width,
        hanging=WIRING_ROW_INDENT,
    )
    longest = max(len(flow.id) for flow in flows)
    # Titles line up in a column, unless one long id would push every title off the screen.
    id_column = longest if longest <= WIRING_ID_COLUMN else 0
    row_indent, detail_indent = " " * WIRING_ROW_INDENT, " " * WIRING_DETAIL_INDENT
    for flow in flows:
        kind = f"{flow.verdict.symbol} {flow.kind:<9} "
        # A long title continues under the id, clear of the evidence below it.
        row = f"{row_indent}{kind}{flow.id:<{id_column}}  {flow.title}"
        lines += wrap(row, width, hanging=cell_len(kind))
        if flow.evidence:
            lines += wrap(detail_indent + evidence_chain(flow), width, hanging=2)
        if flow.verdict is not Verdict.PROVEN:
            lines += wrap(f"{detail_indent}{flow.verdict.value}: {flow.reason}", width, hanging=2)
    lines += [*wrap(row_indent + WIRING_LEGEND, width, hanging=2), ""]
    return lines


def flow_explanation(flow: FlowResult, width: int) -> list[str]:
    """One flow hop by hop: each hop's kind, what it says, and the resource and property it stands on."""
    lines = wrap(f"{flow.verdict.symbol} {flow.id} ({flow.kind}): {flow.title}", width, hanging=2)
    lines += wrap(f"  {flow.verdict.value}" + (f": {flow.reason}" if flow.reason else ""), width, hanging=2)
    kind_width = max((len(hop.kind) for hop in flow.evidence), default=0) + 2
    for number, hop in enumerate(flow.evidence, 1):
        where = [part for part in (hop.urn, f"property {hop.property}" if hop.property else None) if part]
        number_and_kind = f"{number:>2}. {hop.kind:<{kind_width}}"
        # Continued under the hop's text, so the numbers and kinds stay a clear column; a one-digit number's
        # padding already counts as the line's indentation.
        lines += wrap(
            f"  {number_and_kind}{hop.text}" + (f"  [{', '.join(where)}]" if where else ""),
            width,
            hanging=len(number_and_kind.lstrip(" ")),
        )
    return lines


def _summary_lines(recording: Recording, width: int) -> list[str]:
    by_type = Counter(resource.type for resource in recording.resources)
    lines = ["Resources:", f"    + {len(recording.resources)} to create", "    by type:"]
    for type_, count in sorted(by_type.items(), key=lambda kv: (-kv[1], kv[0])):
        lines += wrap(f"      {count:>4}  {type_}", width, hanging=6)
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
