"""One preview's resources as the wiring proof reads them.

`Snapshot.from_preview(document)` reads paved's preview JSON (which carries each step's `resolvedInputs` and
the `placeholders` it used) or the real CLI's `pulumi preview --json` (which does not). For the CLI's JSON,
an unknown top-level input is resolved through `propertyDependencies` when exactly one resource stands behind
it and the property names the output (`...Arn` -> `arn`, `...Id` -> `id`); anything else stays unknown and is
listed in `unresolved`, never guessed.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from paved_policies.wiring.placeholders import AwsPlace, Origin, origin_of, placeholder, token_of

UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
SIG_KEY = "4dabf18193072939515e22adb298388d"
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"


@dataclass(frozen=True)
class Unresolved:
    urn: str
    path: str
    reason: str


@dataclass
class Resource:
    urn: str
    type: str
    name: str
    parent: str = ""
    # Engine form (camelCase), with every unknown that lineage resolved replaced by its placeholder.
    inputs: dict[str, Any] = field(default_factory=dict)
    dependencies: list[str] = field(default_factory=list)
    property_dependencies: dict[str, list[str]] = field(default_factory=dict)
    provider: str = ""  # the provider resource's URN

    def get(self, path: str, default: Any = None) -> Any:
        """`inputs` at a dotted path (`vpcConfig.subnetIds.0`), secrets unwrapped; `default` when absent."""
        value: Any = self.inputs
        for part in path.split("."):
            value = reveal(value)
            if isinstance(value, Mapping) and part in value:
                value = value[part]
            elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
                value = value[int(part)]
            else:
                return default
        return reveal(value)


# Scalars are most of what the proof reads: telling them apart by exact type first spares the abstract
# Mapping check, which costs several times more, on every one.
_SCALARS = frozenset({str, bool, int, float, type(None)})


def reveal(value: Any) -> Any:
    kind = type(value)
    if kind in _SCALARS:
        return value
    if (kind is dict or isinstance(value, Mapping)) and value.get(SIG_KEY) == SECRET_SIG:
        return value.get("value")
    return value


def is_unknown(value: Any) -> bool:
    return value == UNKNOWN


class Resources(dict[str, Resource]):
    """A snapshot's resources by URN, indexed by type: the proof asks for resources by type thousands of
    times in a large stack. Any change to the mapping drops the index (tests and callers edit snapshots)."""

    def __init__(self, resources: Mapping[str, Resource]) -> None:
        super().__init__(resources)
        self._by_type: dict[str, list[tuple[int, Resource]]] | None = None

    def of_type(self, types: Iterable[str]) -> list[Resource]:
        """The resources of `types`, in the mapping's order."""
        if self._by_type is None:
            index: dict[str, list[tuple[int, Resource]]] = {}
            for position, resource in enumerate(self.values()):
                index.setdefault(resource.type, []).append((position, resource))
            self._by_type = index
        wanted = set(types)
        found = [entry for type_ in wanted for entry in self._by_type.get(type_, ())]
        if len(wanted) > 1:
            found.sort(key=lambda entry: entry[0])
        return [resource for _, resource in found]

    def _changed(self) -> None:
        self._by_type = None

    def __setitem__(self, key: str, value: Resource) -> None:
        super().__setitem__(key, value)
        self._changed()

    def __delitem__(self, key: str) -> None:
        super().__delitem__(key)
        self._changed()

    def __ior__(self, other: Any) -> Resources:
        super().__ior__(other)
        self._changed()
        return self

    def pop(self, *args: Any) -> Any:
        self._changed()
        return super().pop(*args)

    def popitem(self) -> tuple[str, Resource]:
        self._changed()
        return super().popitem()

    def clear(self) -> None:
        self._changed()
        super().clear()

    def update(self, *args: Any, **kwargs: Any) -> None:
        self._changed()
        super().update(*args, **kwargs)

    def setdefault(self, key: str, default: Any = None) -> Any:
        self._changed()
        return super().setdefault(key, default)


@dataclass
class Snapshot:
    resources: dict[str, Resource]
    # placeholder value -> the output it stands for
    placeholders: dict[str, Origin] = field(default_factory=dict)
    # plain stack config, `paved:apps` etc. already decoded from JSON strings
    config: dict[str, Any] = field(default_factory=dict)
    unresolved: list[Unresolved] = field(default_factory=list)
    place: AwsPlace = field(default_factory=AwsPlace)
    _tokens: dict[str, str] = field(default_factory=dict, repr=False)
    _by_output: dict[tuple[str, str], str] = field(default_factory=dict, repr=False)
    # Which `placeholders` (identity and size) `_by_output` was built from: it holds only placeholders that
    # name an output, so its own size says nothing about being current.
    _by_output_source: tuple[int, int] = field(default=(0, -1), repr=False)

    def __post_init__(self) -> None:
        self.resources = Resources(self.resources)
        self._tokens = {token_of(urn): urn for urn in self.resources}

    # -- lookups ----------------------------------------------------------------------------------------

    def of_type(self, *types: str) -> list[Resource]:
        if not isinstance(self.resources, Resources):  # a plain dict assigned after construction
            self.resources = Resources(self.resources)
        return self.resources.of_type(types)

    def __iter__(self) -> Iterator[Resource]:
        return iter(self.resources.values())

    def origin(self, value: Any) -> Origin | None:
        """The resource output behind a resolved value (exact), or the resource it was derived from."""
        return origin_of(value, self.placeholders, self._tokens)

    def referenced(self, value: Any) -> Resource | None:
        origin = self.origin(value)
        return self.resources.get(origin.urn) if origin else None

    def output(self, resource: Resource, output: str) -> Any:
        """The placeholder `resource.output` has in this snapshot (the same one its consumers were given)."""
        handed_out = self._handed_out().get((resource.urn, output))
        if handed_out is not None:
            # The recorder made it, with what only it knew (the region of the resource's own provider).
            return handed_out
        return placeholder(resource.urn, resource.type, output, resource.inputs, self.place_of(resource))

    def place_of(self, resource: Resource) -> AwsPlace:
        """Where a resource lives: its provider's region (a DR or us-east-1 provider), else the stack's."""
        provider = self.resources.get(resource.provider)
        region = provider.inputs.get("region") if provider else None
        return replace(self.place, region=region) if isinstance(region, str) and region else self.place

    def hand_out(self, resource: Resource, output: str) -> Any:
        """`output(resource, output)`, registered in `placeholders` as given to a consumer."""
        value = self.output(resource, output)
        key = str(value)
        if key not in self.placeholders:
            current = self._by_output_source == (id(self.placeholders), len(self.placeholders))
            self.placeholders[key] = Origin(resource.urn, output)
            if current:
                # Kept current rather than rebuilt: resolving a large stack hands out thousands, one by one.
                self._by_output[(resource.urn, output)] = key
                self._by_output_source = (id(self.placeholders), len(self.placeholders))
        return value

    def _handed_out(self) -> dict[tuple[str, str], str]:
        source = (id(self.placeholders), len(self.placeholders))
        if self._by_output_source != source:
            self._by_output_source = source
            self._by_output = {
                (origin.urn, origin.output): value
                for value, origin in self.placeholders.items()
                if origin.output is not None
            }
        return self._by_output

    def children(self, urn: str) -> list[Resource]:
        return [r for r in self.resources.values() if r.parent == urn]

    def ancestors(self, resource: Resource) -> Iterator[Resource]:
        parent = self.resources.get(resource.parent)
        while parent is not None:
            yield parent
            parent = self.resources.get(parent.parent)

    # -- construction -----------------------------------------------------------------------------------

    @classmethod
    def build(
        cls,
        resources: Iterable[Resource],
        config: Mapping[str, Any] | None = None,
        place: AwsPlace | None = None,
    ) -> Snapshot:
        """A snapshot from resources whose inputs already hold placeholders (tests, the recorder)."""
        snapshot = cls({r.urn: r for r in resources}, config=dict(config or {}), place=place or AwsPlace())
        for resource in snapshot.resources.values():
            for output in ("id", "arn", "name"):
                snapshot.hand_out(resource, output)
        return snapshot

    @classmethod
    def from_preview(cls, document: Mapping[str, Any]) -> Snapshot:
        """paved's preview JSON or `pulumi preview --json`."""
        config = decode_config(document.get("config") or {})
        place = AwsPlace(
            partition=_partition(str(config.get("aws:region", "us-east-1"))),
            region=str(config.get("aws:region", "us-east-1")),
            account=str(document.get("pavedAccount") or AwsPlace.account),
        )
        resources: dict[str, Resource] = {}
        unresolved: list[Unresolved] = []
        exact = "placeholders" in document
        for step in document.get("steps") or []:
            state = step.get("newState") or {}
            urn = state.get("urn") or step.get("urn")
            if not urn:
                continue
            resources[urn] = Resource(
                urn=urn,
                type=state.get("type", ""),
                name=urn.rsplit("::", 1)[-1],
                parent=state.get("parent", ""),
                inputs=dict(state.get("resolvedInputs", state.get("inputs")) or {}),
                dependencies=list(state.get("dependencies") or []),
                property_dependencies={
                    k: list(v) for k, v in (state.get("propertyDependencies") or {}).items()
                },
                # `<provider urn>::<provider id>`
                provider=str(state.get("provider") or step.get("provider") or "").rsplit("::", 1)[0],
            )
        snapshot = cls(resources, config=config, place=place)
        if exact:
            snapshot.placeholders = {
                value: Origin(entry["urn"], entry.get("output"))
                for value, entry in document["placeholders"].items()
            }
        else:
            for resource in resources.values():
                _resolve_through_dependencies(snapshot, resource, unresolved)
        traced = {(u.urn, u.path) for u in unresolved}
        snapshot.unresolved = unresolved + [
            Unresolved(urn, path, "unknown in the preview and not traced to an output")
            for urn, resource in resources.items()
            for path in unknown_paths(resource.inputs)
            if (urn, path) not in traced
        ]
        return snapshot


def decode_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """Structured config values arrive as JSON strings (as `pulumi config` holds them)."""
    decoded: dict[str, Any] = {}
    for key, value in config.items():
        if isinstance(value, str) and value[:1] in "[{":
            try:
                decoded[key] = json.loads(value)
                continue
            except ValueError:
                pass
        decoded[key] = value
    return decoded


def _partition(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def leaves(value: Any, path: str = "") -> list[tuple[str, Any]]:
    """(dotted path, scalar) for every scalar inside a value, secrets unwrapped, in document order."""
    found: list[tuple[str, Any]] = []
    _collect_leaves(value, path, found)
    return found


def _collect_leaves(value: Any, path: str, found: list[tuple[str, Any]]) -> None:
    # Appending to one list rather than yielding through nested generators: each scalar would otherwise
    # pass up through a generator per level of nesting.
    # A scalar item is appended where it is met, without a call of its own: most leaves are scalars.
    value = reveal(value)
    kind = type(value)
    if kind is dict or (kind not in _SCALARS and isinstance(value, Mapping)):
        items: Iterable[tuple[Any, Any]] = value.items()
    elif kind is list or (kind not in _SCALARS and isinstance(value, list)):
        items = enumerate(value)
    else:
        found.append((path, value))
        return
    for key, item in items:
        child = f"{path}.{key}" if path else str(key)
        if type(item) in _SCALARS:
            found.append((child, item))
        else:
            _collect_leaves(item, child, found)


def unknown_paths(value: Any) -> Iterator[str]:
    """Paths to unknowns, including those inside a string built around one (a policy document's JSON)."""
    return (path for path, leaf in leaves(value) if isinstance(leaf, str) and UNKNOWN in leaf)


def _output_for_property(prop: str) -> str | None:
    lowered = prop.lower()
    if lowered.endswith(("arn", "arns")):
        return "arn"
    if lowered.endswith(("id", "ids")):
        return "id"
    if lowered in {"role", "bucket", "cluster", "clustername", "name"}:
        return "id"
    return None


def _resolve_through_dependencies(
    snapshot: Snapshot, resource: Resource, unresolved: list[Unresolved]
) -> None:
    """The CLI's JSON fallback: a top-level unknown (or list of unknowns) with one dependency behind it."""
    for prop, value in list(resource.inputs.items()):
        plain = reveal(value)
        if not (is_unknown(plain) or (isinstance(plain, list) and any(is_unknown(v) for v in plain))):
            continue
        sources = [
            snapshot.resources[u]
            for u in resource.property_dependencies.get(prop, [])
            if u in snapshot.resources
        ]
        output = _output_for_property(prop)
        if output is None:
            unresolved.append(Unresolved(resource.urn, prop, "no output is known to feed this property"))
            continue
        if len(sources) != 1:
            unresolved.append(
                Unresolved(
                    resource.urn,
                    prop,
                    f"ambiguous: {len(sources)} resources feed it ({', '.join(s.name for s in sources)})"
                    if sources
                    else "no dependency recorded for it",
                )
            )
            continue
        stand_in = snapshot.hand_out(sources[0], output)
        resolved = stand_in if is_unknown(plain) else [stand_in if is_unknown(v) else v for v in plain]
        if isinstance(plain, list) and sum(is_unknown(v) for v in plain) > 1:
            unresolved.append(
                Unresolved(resource.urn, prop, "ambiguous: several unknown elements, one dependency")
            )
            continue
        resource.inputs[prop] = resolved
