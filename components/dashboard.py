"""One CloudWatch dashboard per stack, generated from what the stack declares: each component lists the
graphs of its own metrics (`widgets`), and the dashboard lays them out by tier.

Every graph names its region: CloudFront and its web ACL report in us-east-1, whatever the stack's region.
tests/test_dashboard.py holds each graph's namespace, metric and dimensions to a committed catalogue of the
metrics AWS publishes (docs/aws-facts/cloudwatch-metrics.json): offline there is no ListMetrics to ask.
https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/CloudWatch-Dashboard-Body-Structure.html
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

# Where CloudFront, its certificates and its web ACL live, and report their metrics.
GLOBAL_REGION = "us-east-1"
# A dashboard is a 24-column grid; two graphs per row.
_COLUMNS = 24
_WIDTH = 12
_HEIGHT = 6


@dataclass(frozen=True)
class Metric:
    namespace: str
    name: str
    dimensions: Mapping[str, pulumi.Input[str]]
    stat: str  # Sum, Average, Maximum, Minimum, or a percentile such as p95
    label: str

    def row(self) -> list[Any]:
        """The metric as a graph lists it: namespace, name, dimension name and value pairs, options."""
        pairs = [part for name, value in sorted(self.dimensions.items()) for part in (name, value)]
        return [self.namespace, self.name, *pairs, {"stat": self.stat, "label": self.label}]


@dataclass(frozen=True)
class Widget:
    """One graph of metrics of one region, every `period` seconds."""

    title: str
    region: pulumi.Input[str]
    metrics: Sequence[Metric]
    period: int = 300
    # Left-axis bounds, e.g. {"min": 0, "max": 100} for percentages.
    y_axis: Mapping[str, float] = field(default_factory=dict)

    def properties(self) -> dict[str, Any]:
        properties: dict[str, Any] = {
            "title": self.title,
            "region": self.region,
            "view": "timeSeries",
            "stacked": False,
            "period": self.period,
            "metrics": [metric.row() for metric in self.metrics],
        }
        if self.y_axis:
            properties["yAxis"] = {"left": dict(self.y_axis)}
        return properties


class Dashboard(pulumi.ComponentResource):
    """`<project>-<stack>`: a text header per tier, then its graphs."""

    dashboard_name: pulumi.Output[str]
    graphs: list[dict[str, Any]]

    def __init__(
        self, name: str, tiers: Mapping[str, Sequence[Widget]], *, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("paved:dashboard:Dashboard", name, None, opts)
        widgets: list[dict[str, Any]] = []
        y = 0
        for tier, graphs in tiers.items():
            if not graphs:
                continue
            widgets.append(
                {
                    "type": "text",
                    "x": 0,
                    "y": y,
                    "width": _COLUMNS,
                    "height": 1,
                    "properties": {"markdown": f"## {tier}"},
                }
            )
            y += 1
            for index, graph in enumerate(graphs):
                widgets.append(
                    {
                        "type": "metric",
                        "x": (index % 2) * _WIDTH,
                        "y": y + (index // 2) * _HEIGHT,
                        "width": _WIDTH,
                        "height": _HEIGHT,
                        "properties": graph.properties(),
                    }
                )
            y += -(-len(graphs) // 2) * _HEIGHT
        dashboard = aws.cloudwatch.Dashboard(
            name,
            dashboard_name=f"{pulumi.get_project()}-{pulumi.get_stack()}",
            dashboard_body=pulumi.Output.json_dumps({"widgets": widgets}),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.dashboard_name = dashboard.dashboard_name
        # What each graph charts, without the dimensions' values (most are other resources' outputs): the
        # body itself is unknown until they exist, and this is what a preview can check.
        self.graphs = [
            {
                "tier": tier,
                "title": graph.title,
                "region": graph.region,
                "metrics": [
                    {
                        "namespace": m.namespace,
                        "name": m.name,
                        "dimensions": sorted(m.dimensions),
                        "stat": m.stat,
                    }
                    for m in graph.metrics
                ],
            }
            for tier, graphs in tiers.items()
            for graph in graphs
        ]
        self.register_outputs({"dashboard_name": self.dashboard_name, "graphs": self.graphs})
