"""A reverse index over a stack's dependency graph, for stack rules.

Stack rules correlate resources through the URN-linked dependencies the engine records, never
through ARN/ID strings: in a first preview every ID is still unknown, but the dependency edges
(a FlowLog's `vpcId` came from that Vpc) are already there.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence

from paved_policies.rule import GraphResource, LinkedResource


class StackGraph:
    """Who points at whom: target URN -> [(input property or None, source resource)]."""

    def __init__(self, resources: Iterable[LinkedResource]) -> None:
        self.resources: tuple[LinkedResource, ...] = tuple(resources)
        self._by_urn = {r.urn: r for r in self.resources}
        self._position = {r.urn: index for index, r in enumerate(self.resources)}
        self._by_type: dict[str, list[LinkedResource]] = defaultdict(list)
        for resource in self.resources:
            self._by_type[resource.resource_type].append(resource)
        self._referrers: dict[str, list[tuple[str | None, GraphResource]]] = defaultdict(list)
        for source in self.resources:
            self._index(source)

    def _index(self, source: LinkedResource) -> None:
        edges = source.property_dependencies
        if edges:
            for prop, targets in edges.items():
                for target in targets:
                    self._referrers[target.urn].append((prop, source))
            return
        # No per-property edges recorded at all (older engines, some SDKs): fall back to the
        # resource's plain dependencies, which then count for any property.
        for target in source.dependencies:
            self._referrers[target.urn].append((None, source))

    def of_types(self, resource_types: Sequence[str]) -> list[LinkedResource]:
        """The stack's resources of these types, in stack order."""
        found = [r for t in set(resource_types) for r in self._by_type.get(t, ())]
        found.sort(key=lambda r: self._position[r.urn])
        return found

    def referrers(self, target_urn: str, prop: str, resource_types: Sequence[str]) -> list[GraphResource]:
        found: dict[str, GraphResource] = {}
        for edge_prop, source in self._referrers.get(target_urn, ()):
            if source.resource_type in resource_types and edge_prop in (prop, None):
                found.setdefault(source.urn, source)
        return list(found.values())

    def dependencies(self, source_urn: str, prop: str, resource_types: Sequence[str]) -> list[GraphResource]:
        """The other direction: resources of `resource_types` that `source_urn`'s input `prop` came from."""
        source = self._by_urn.get(source_urn)
        if source is None:
            return []
        edges = source.property_dependencies
        # The same fallback as _index: without per-property edges, plain dependencies count for any property.
        targets = edges.get(prop, ()) if edges else source.dependencies
        found: dict[str, GraphResource] = {}
        for target in targets:
            if target.resource_type in resource_types:
                found.setdefault(target.urn, target)
        return list(found.values())
