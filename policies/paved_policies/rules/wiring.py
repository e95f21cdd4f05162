"""The wiring proof (`paved_policies.wiring`) as a stack policy, so that `pulumi preview --policy-pack
policies` with the real CLI fails on a broken required flow or a present forbidden one, as `paved preview`
does.

The pack sees what the CLI's `pulumi preview --json` carries: inputs with preview unknowns, dependencies and
propertyDependencies. The snapshot is built the same way as for a saved CLI preview, so what cannot be
traced stays unresolved (shown by `paved flows`, never a violation here).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from paved_policies.props import plain
from paved_policies.rule import Finding, LinkedResource, StackContext, compliant, stack_rule, violation
from paved_policies.wiring.flows import prove
from paved_policies.wiring.snapshot import Snapshot

STACK = "pulumi:pulumi:Stack"


def snapshot_of(resources: Iterable[LinkedResource], config: Mapping[str, Any]) -> Snapshot:
    """The stack's resources in the shape of a CLI preview's steps."""
    steps = [
        {
            "urn": resource.urn,
            "newState": {
                "urn": resource.urn,
                "type": resource.resource_type,
                "parent": resource.parent.urn if resource.parent is not None else "",
                "inputs": plain(resource.props),
                "dependencies": [target.urn for target in resource.dependencies],
                "propertyDependencies": {
                    prop: [target.urn for target in targets]
                    for prop, targets in resource.property_dependencies.items()
                },
            },
        }
        for resource in resources
    ]
    return Snapshot.from_preview({"config": dict(config), "steps": steps})


# The proof judges the stack as a whole; its violations stand on the stack's root resource.
@stack_rule(
    name="wiring-proof",
    description="The stack's parts can reach and use each other, nothing else can, and they are created in a "
    "working order.",
    severity="high",
    remediation="Each failing flow names the missing hop (resource and property): add the security group "
    "rule, route, policy statement, key-policy grant, NetworkPolicy egress or dependency it names, or remove "
    "the path a forbidden flow found. `paved flows --stack <stack> --why <flow>` (or `--preview <file.json>` "
    "for a saved `pulumi preview --json`) shows the flow hop by hop.",
    resource_types=(STACK,),
    # What the proof does offline and before deploy, AWS's Reachability Analyzer does on a deployed account.
    url="https://docs.aws.amazon.com/vpc/latest/reachability/how-reachability-analyzer-works.html",
)
def wiring_proof(props: Mapping[str, Any], ctx: StackContext) -> Finding:
    failing = [flow for flow in prove(snapshot_of(ctx.graph.resources, ctx.stack_config)) if flow.fails]
    if not failing:
        return compliant()
    lines = [f"- {flow.kind} {flow.id} ({flow.title}): {flow.reason}" for flow in failing]
    return violation(f"'{ctx.name}': {len(failing)} wiring flow(s) fail:\n" + "\n".join(lines))


RULES = (wiring_proof,)
