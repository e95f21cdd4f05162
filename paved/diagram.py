"""`paved diagram --stack S`: a Mermaid flowchart of the stack, drawn from its proven wiring (#9): each
required data flow's path, hop by hop with its port, the internet flows proven absent, grouped by tier.

No Python package validates Mermaid, and `@mermaid-js/parser` does not parse flowcharts; tests/test_diagram.py
checks the generator's structure instead: node ids, edges, and the escaping of labels.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

# Flows whose title is a path of the data plane; the rest (logs, alarms, identities, keys) are plumbing.
_DATA_FLOW = re.compile(r"^(edge->|[^>]*->(database|cache|secrets|ecr\.api|ecr\.dkr|s3|sts|eks-api)$)")
_PORT = re.compile(r"^(?P<name>.*?)(?: :(?P<port>\d+))?(?: \((?P<note>[^)]*)\))?$")
# Tier, its heading, and the words a node's name starts or ends with; every other node is an app's or the
# cluster's.
_TIERS = (
    ("edge", "Edge", ("internet", "CloudFront", "ALB")),
    ("data", "Data", ("proxy", "database", "Valkey", "cache")),
    ("services", "AWS services", ("ecr.", "s3", "sts", "secrets")),
)
_APPS = ("apps", "Apps and the cluster")


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    label: str
    blocked: bool = False


def _hop(text: str) -> tuple[str, str]:
    """A hop's node name and the port (and note) it is reached on."""
    match = _PORT.match(text.strip())
    assert match is not None  # the pattern matches any text
    port = match["port"] or ""
    note = match["note"] or ""
    return match["name"], " ".join(part for part in (port, f"({note})" if note else "") if part)


def edges(flows: Iterable[tuple[str, str, str]]) -> list[Edge]:
    """From (id, kind, title) of each flow that holds: a required data flow's hops, and the internet's
    forbidden flows as blocked edges."""
    found: dict[tuple[str, str], Edge] = {}
    for flow_id, kind, title in flows:
        if kind == "required" and _DATA_FLOW.match(flow_id):
            hops = [_hop(part) for part in title.split(", and ")[0].split(" → ")]
            for (source, _), (target, port) in zip(hops, hops[1:], strict=False):
                found.setdefault((source, target), Edge(source, target, port))
        elif kind == "forbidden" and flow_id.startswith("internet-x->"):
            source, target = (part.strip() for part in title.split("↛", 1))
            name, port = _hop(target)
            known = found.get((source, name))
            ports = f"{known.label}, {port}" if known and port else port
            found[(source, name)] = Edge(source, name, ports, blocked=True)
    return list(found.values())


def node_id(name: str) -> str:
    """A Mermaid node id: letters, digits and underscores, never a keyword such as `end`."""
    return "n_" + re.sub(r"[^A-Za-z0-9]+", "_", name).strip("_")


def label(text: str) -> str:
    """A quoted Mermaid label: `"` and the characters Mermaid reads as markup become entity codes."""
    escaped = "".join(f"#{ord(char)};" if char in '"#<>' else char for char in text)
    return f'"{escaped}"'


def _tier(name: str) -> str:
    for tier, _, words in _TIERS:
        if name.startswith(words) or name.endswith(words):
            return tier
    return "apps"


def mermaid(found: Sequence[Edge], title: str) -> Iterator[str]:
    nodes = list(dict.fromkeys(name for edge in found for name in (edge.source, edge.target)))
    yield "---"
    yield f"title: {label(title)}"
    yield "---"
    yield "flowchart LR"
    for tier, tier_name in (*((tier, heading) for tier, heading, _ in _TIERS), _APPS):
        members = [name for name in nodes if _tier(name) == tier]
        if not members:
            continue
        yield f"  subgraph {tier}[{label(tier_name)}]"
        for name in members:
            yield f"    {node_id(name)}[{label(name)}]"
        yield "  end"
    for edge in found:
        text = label(("no " if edge.blocked else "") + edge.label) if edge.label else ""
        arrow = "-. " + text + " .->" if edge.blocked else (f"-- {text} -->" if text else "-->")
        yield f"  {node_id(edge.source)} {arrow} {node_id(edge.target)}"
