"""`paved diagram` (paved/diagram.py): a Mermaid flowchart from the stack's proven wiring. No Python package
validates Mermaid and `@mermaid-js/parser` does not parse flowcharts, so the generator's structure is checked
(node ids, edges, the subgraphs of tiers, the escaping of labels), and the shipped stack's chart is parsed by
the mermaid package itself, under Node.js with jsdom (tests/fixtures/mermaid; scripts/node-fixtures)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest
from paved_policies.wiring.verdicts import Verdict
from typer.testing import CliRunner

from paved.cli import app
from paved.diagram import Edge, edges, label, mermaid, node_id
from paved.preview import PreviewResult
from tests.stack_config import ROOT

FLOWS = [
    ("edge->web", "required", "internet → CloudFront → ALB :443 → web pods :3000"),
    ("api->database", "required", "api pods → proxy :5432 → database :5432, and its login"),
    ("api->cache", "required", "api pods → Valkey :6379 (TLS)"),
    ("alarms->alerts", "required", "CloudWatch alarms → SNS topic alerts"),
    ("internet-x->cluster-on-demand:22", "forbidden", "internet ↛ cluster-on-demand :22"),
    ("internet-x->cluster-on-demand:443", "forbidden", "internet ↛ cluster-on-demand :443"),
    ("web-x->imds", "forbidden", "web pods ↛ instance metadata 169.254.169.254"),
]


def test_a_data_flows_hops_become_edges_with_their_ports() -> None:
    found = edges(FLOWS)
    assert Edge("ALB", "web pods", "3000") in found and Edge("CloudFront", "ALB", "443") in found
    assert Edge("proxy", "database", "5432") in found  # ", and its login" is not a hop
    assert Edge("api pods", "Valkey", "6379 (TLS)") in found
    # Plumbing (alarms) and forbidden flows other than the internet's are not drawn.
    assert not [e for e in found if "alarms" in e.source or "imds" in e.target or "metadata" in e.target]
    # One dotted edge per target the internet cannot reach, with every port it was proven on.
    assert Edge("internet", "cluster-on-demand", "22, 443", blocked=True) in found


def test_ids_are_mermaid_identifiers_and_labels_are_escaped() -> None:
    assert node_id("secret sync as api's role") == "n_secret_sync_as_api_s_role"
    assert node_id("end") != "end"  # a Mermaid keyword
    assert label('say "hi" <b>#1</b>') == '"say #34;hi#34; #60;b#62;#35;1#60;/b#62;"'


def test_the_chart_groups_nodes_by_tier_and_every_edge_joins_declared_nodes() -> None:
    lines = list(mermaid(edges(FLOWS), 'prod: eu-west-1 "main"'))
    assert lines[:4] == ["---", 'title: "prod: eu-west-1 #34;main#34;"', "---", "flowchart LR"]
    declared = set(re.findall(r"^    (n_\w+)\[", "\n".join(lines), flags=re.MULTILINE))
    joined = re.findall(r"^  (n_\w+) .* (n_\w+)$", "\n".join(lines), flags=re.MULTILINE)
    assert joined and {node for pair in joined for node in pair} <= declared
    # Only tiers with nodes: these flows reach no AWS service.
    assert lines.count("  end") == len([line for line in lines if line.startswith("  subgraph ")]) == 3
    assert '  n_internet -. "no 22, 443" .-> n_cluster_on_demand' in lines
    assert '  n_api_pods -- "6379 (TLS)" --> n_Valkey' in lines


def test_the_command_draws_the_shipped_stack() -> None:
    drawn = CliRunner().invoke(app, ["diagram", "--stack", "prod", "-C", str(ROOT)])
    assert drawn.exit_code == 0, drawn.output
    assert 'title: "prod: eu-west-1, DR eu-central-1, CloudFront in us-east-1"' in drawn.output
    assert "n_ALB -- " in drawn.output and 'n_deploy_runner -- "443" --> n_EKS_API' in drawn.output


MERMAID = ROOT / "tests" / "fixtures" / "mermaid"


def _mermaid_parse(text: str) -> dict[str, object]:
    node = shutil.which("node")
    if node is None:
        pytest.skip("Node.js (`node`) is not installed, so mermaid cannot parse the chart")
    if not (MERMAID / "node_modules" / "mermaid" / "package.json").exists():
        pytest.fail(
            f"{MERMAID} has no dependencies installed: run scripts/node-fixtures first", pytrace=False
        )
    parsed = subprocess.run(
        [node, "parse.mjs"], cwd=MERMAID, input=text, capture_output=True, text=True, timeout=60, check=True
    )
    return json.loads(parsed.stdout)


def test_mermaid_itself_parses_the_prod_chart_and_refuses_a_broken_one(prod_preview: PreviewResult) -> None:
    held = [(flow.id, flow.kind, flow.title) for flow in prod_preview.flows if flow.verdict is Verdict.PROVEN]
    chart = "\n".join(mermaid(edges(held), 'prod: eu-west-1, "DR" eu-central-1'))
    assert _mermaid_parse(chart) == {"ok": True, "diagramType": "flowchart-v2"}
    # The parser is not lenient: an edge with no target is refused.
    broken = _mermaid_parse(chart + '\n  n_dangling -- "443" -->\n')
    assert broken["ok"] is False and "Parse error" in str(broken["error"])
