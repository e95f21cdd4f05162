"""Exact lineage for a preview: which resource output stands behind each unknown input.

In a first preview every ID and ARN is unknown, and `propertyDependencies` only says which resources an
input depends on, not which of their outputs was used or where in a list it went. The program itself knows:
each Output is derived, step by step, from resource outputs. While a recording runs, paved follows those steps
alongside the SDK:

- a resource output that resolves unknown gets a *shadow*: the type-shaped placeholder of that output
  (`paved_policies.wiring.placeholders`), e.g. `sg-0<token>` for a security group's id;
- `apply`, `Output.all`, `concat`, `format`, `json_dumps`, `secret` and attribute lifting compute the shadow
  of their result by running the same callback over the shadows of their inputs (never over real values, and
  never creating resources: a callback that tries is cut short, and its result stays unknown);
- when an unknown Output is serialized as a resource input, its serialized shadow travels beside the unknown
  sentinel to the recorder, which keeps the engine's form for policy packs and the shadow form as
  `RecordedResource.resolved_inputs`.

So a role policy's JSON, unknown as a whole to the engine, is known to the wiring proof with placeholder ARNs
in place, and every placeholder maps back to the output it stands for. The SDK is patched only while a
recording runs (`following_lineage`), and restored after.
"""

from __future__ import annotations

import asyncio
import functools
import json
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from inspect import isawaitable
from typing import TYPE_CHECKING, Any

import pulumi
from paved_policies.wiring.snapshot import Resource as WiredResource
from paved_policies.wiring.snapshot import Snapshot, Unresolved, decode_config, unknown_paths
from pulumi import _types
from pulumi import output as output_module
from pulumi.runtime import known_types, rpc
from pulumi.runtime import resource as resource_module

from paved.values import SECRET_SIG, SIG_KEY, UNKNOWN, is_secret

if TYPE_CHECKING:
    from paved.recorder import Recording

# The signature of the wrapper that carries a shadow beside its unknown form, inside a serialized input.
SHADOW_SIG = "paved.lineage.shadow"

_DERIVE = "_paved_derive"
_SHADOW = "_paved_shadow"

# (urn, engine output name) -> placeholder value, answered by the recorder, which knows each resource's type,
# region and resolved inputs.
PlaceholderSource = Callable[[str, str], Any]


class _ShadowCall(threading.local):
    active = False


_shadow_call = _ShadowCall()


class ShadowResourceError(Exception):
    """A callback run over shadows tried to create a resource: its result stays unknown."""


def _derive(output: pulumi.Output[Any], derive: Callable[[], Any]) -> pulumi.Output[Any]:
    # Output overrides __getattr__ (attribute lifting), so its own dict is used directly.
    output.__dict__[_DERIVE] = derive
    return output


async def shadow_of(output: pulumi.Output[Any]) -> Any:
    """What `output` would be if every unknown output were its placeholder; UNKNOWN when underivable."""
    task = output.__dict__.get(_SHADOW)
    if task is None:
        task = asyncio.ensure_future(_compute_shadow(output))
        output.__dict__[_SHADOW] = task
    return await task


async def _compute_shadow(output: pulumi.Output[Any]) -> Any:
    data = await output._data
    if data.is_known:
        return data.value
    derive = output.__dict__.get(_DERIVE)
    if derive is None:
        return UNKNOWN
    try:
        return await derive()
    except Exception:  # noqa: BLE001 a callback that cannot handle a placeholder leaves the value unknown
        return UNKNOWN


async def shadow_of_input(value: Any) -> Any:
    """Deep shadow of an Input, unwrapped as `Output.from_input` does: Outputs, dicts, lists, awaitables."""
    if isinstance(value, pulumi.Output):
        return await shadow_of_input(await shadow_of(value))
    if isawaitable(value):
        return await shadow_of_input(await value)
    if isinstance(value, dict):
        resolved = {key: await shadow_of_input(item) for key, item in value.items()}
        # Output types are dicts too: one with nothing left to resolve keeps its type, for attribute access.
        unchanged = all(resolved[key] is item for key, item in value.items())
        return value if unchanged else resolved
    if isinstance(value, list | tuple):
        items = [await shadow_of_input(item) for item in value]
        return tuple(items) if isinstance(value, tuple) else items
    if _types.is_input_type(type(value)):
        fields = {key: await shadow_of_input(item) for key, item in value.__dict__.items()}
        return type(value)(**fields)
    return value


def _run_over_shadow(func: Callable[..., Any], *args: Any) -> Any:
    _shadow_call.active = True
    try:
        return func(*args)
    finally:
        _shadow_call.active = False


# -- the SDK hooks ------------------------------------------------------------------------------------------


class _Hooks:
    def __init__(self, placeholders: PlaceholderSource):
        self.placeholders = placeholders
        self.saved: list[tuple[Any, str, Any]] = []

    def patch(self, owner: Any, name: str, replacement: Any) -> None:
        self.saved.append((owner, name, owner.__dict__[name]))
        setattr(owner, name, replacement)

    def restore(self) -> None:
        for owner, name, original in reversed(self.saved):
            setattr(owner, name, original)
        self.saved.clear()

    def install(self) -> None:
        output_cls = pulumi.Output
        original_apply = output_cls.apply
        original_all = output_cls.all
        original_json_dumps = output_cls.json_dumps
        original_format = output_cls.format
        original_secret = output_cls.secret
        original_unsecret = output_cls.unsecret

        def apply(self: pulumi.Output[Any], func: Callable[[Any], Any], run_with_unknowns: bool = False):
            async def derive() -> Any:
                shadow = await shadow_of(self)
                if shadow == UNKNOWN:
                    return UNKNOWN
                return await shadow_of_input(_run_over_shadow(func, shadow))

            return _derive(original_apply(self, func, run_with_unknowns), derive)

        def all_(*args: Any, **kwargs: Any) -> pulumi.Output[Any]:
            async def derive() -> Any:
                if kwargs:
                    return {key: await shadow_of_input(value) for key, value in kwargs.items()}
                return [await shadow_of_input(value) for value in args]

            return _derive(original_all(*args, **kwargs), derive)

        def json_dumps(obj: Any, **options: Any) -> pulumi.Output[str]:
            async def derive() -> Any:
                return json.dumps(await shadow_of_input(obj), **options)

            return _derive(original_json_dumps(obj, **options), derive)

        def format_(format_string: Any, *args: Any, **kwargs: Any) -> pulumi.Output[str]:
            async def derive() -> Any:
                text = await shadow_of_input(format_string)
                values = [await shadow_of_input(value) for value in args]
                named = {key: await shadow_of_input(value) for key, value in kwargs.items()}
                return text.format(*values, **named)

            return _derive(original_format(format_string, *args, **kwargs), derive)

        def wrap_secrecy(
            original: Callable[[Any], pulumi.Output[Any]],
        ) -> Callable[[Any], pulumi.Output[Any]]:
            def wrapped(value: Any) -> pulumi.Output[Any]:
                return _derive(original(value), functools.partial(shadow_of_input, value))

            return wrapped

        self.patch(output_cls, "apply", apply)
        self.patch(output_cls, "all", staticmethod(all_))
        self.patch(output_cls, "json_dumps", staticmethod(json_dumps))
        self.patch(output_cls, "format", staticmethod(format_))
        self.patch(output_cls, "secret", staticmethod(wrap_secrecy(original_secret)))
        self.patch(output_cls, "unsecret", staticmethod(wrap_secrecy(original_unsecret)))
        self._patch_deferred_outputs()
        self._patch_resource_outputs()
        self._patch_serialization()
        self._patch_resource_creation()

    def _patch_deferred_outputs(self) -> None:
        """`pulumi.deferred_output()`: an Output resolved later by another (made after its users)."""
        original = pulumi.deferred_output

        def deferred_output() -> tuple[pulumi.Output[Any], Callable[[pulumi.Output[Any]], None]]:
            output, resolve = original()
            source: list[pulumi.Output[Any]] = []

            def resolve_with_source(value: pulumi.Output[Any]) -> None:
                source.append(value)
                resolve(value)

            async def derive() -> Any:
                return await shadow_of(source[0]) if source else UNKNOWN

            return _derive(output, derive), resolve_with_source

        self.patch(pulumi, "deferred_output", deferred_output)
        self.patch(output_module, "deferred_output", deferred_output)

    def _patch_resource_outputs(self) -> None:
        placeholders = self.placeholders
        original_transfer = rpc.transfer_properties
        original_resource_output = resource_module.resource_output

        def origin(res: pulumi.Resource, python_name: str | None) -> Callable[[], Any]:
            async def derive() -> Any:
                urn = await res.urn.future()
                if urn is None:
                    return UNKNOWN
                if python_name is None:
                    # The `id` output: resource_output also makes `urn`, which is always known.
                    return placeholders(urn, "id")
                engine_name = _types.resource_py_to_pulumi_names(type(res)).get(python_name, python_name)
                value = placeholders(urn, engine_name)
                typ = _types.resource_types(type(res)).get(engine_name)
                return rpc.translate_output_properties(value, lambda name: name, typ, typ is not None)

            return derive

        def transfer_properties(res: pulumi.Resource, props: Mapping[str, Any], custom: bool) -> Any:
            resolvers = original_transfer(res, props, custom)
            for name in resolvers:
                _derive(res.__dict__[name], origin(res, name))
            return resolvers

        def resource_output(res: pulumi.Resource) -> Any:
            resolve, output = original_resource_output(res)
            return resolve, _derive(output, origin(res, None))

        self.patch(rpc, "transfer_properties", transfer_properties)
        self.patch(resource_module, "resource_output", resource_output)

    def _patch_serialization(self) -> None:
        original = rpc.serialize_property

        async def serialize_property(
            value: Any,
            deps: Any,
            property_key: Any,
            resource_obj: Any = None,
            input_transformer: Any = None,
            typ: Any = None,
            keep_output_values: bool = False,
            exclude_resource_refs_from_deps: bool = False,
            return_protobuf_value: bool = False,
        ) -> Any:
            result = await original(
                value,
                deps,
                property_key,
                resource_obj,
                input_transformer,
                typ,
                keep_output_values,
                exclude_resource_refs_from_deps,
                return_protobuf_value,
            )
            if return_protobuf_value or not known_types.is_output(value):
                return result
            unknown = result == UNKNOWN or (is_secret(result) and result.get("value") == UNKNOWN)
            if not unknown:
                return result
            shadow = await shadow_of(value)
            if shadow == UNKNOWN:
                return result
            try:
                shadow_form = await original(shadow, None, property_key, resource_obj, input_transformer, typ)
            except Exception:  # noqa: BLE001 a shadow the SDK cannot serialize stays unknown
                return result
            if is_secret(result):
                shadow_form = {SIG_KEY: SECRET_SIG, "value": shadow_form}
            return {SIG_KEY: SHADOW_SIG, "unknown": result, "shadow": shadow_form}

        self.patch(rpc, "serialize_property", serialize_property)

    def _patch_resource_creation(self) -> None:
        original_init = pulumi.Resource.__init__

        def init(resource: pulumi.Resource, *args: Any, **kwargs: Any) -> None:
            if _shadow_call.active:
                raise ShadowResourceError("resources are not created while following lineage")
            original_init(resource, *args, **kwargs)

        self.patch(pulumi.Resource, "__init__", init)


@contextmanager
def following_lineage(placeholders: PlaceholderSource) -> Iterator[None]:
    """Patch the SDK so that serialized inputs carry the shadows of their unknowns (see module docstring)."""
    hooks = _Hooks(placeholders)
    hooks.install()
    try:
        yield
    finally:
        hooks.restore()


# -- the recorder's side ------------------------------------------------------------------------------------


def split_shadows(value: Any) -> tuple[Any, Any]:
    """A serialized value -> (the engine's form, with unknowns; the resolved form, with shadows)."""
    if isinstance(value, Mapping):
        if value.get(SIG_KEY) == SHADOW_SIG:
            unknown, _ = split_shadows(value["unknown"])
            _, shadow = split_shadows(value["shadow"])
            return unknown, shadow
        pairs = {key: split_shadows(item) for key, item in value.items()}
        return {key: pair[0] for key, pair in pairs.items()}, {key: pair[1] for key, pair in pairs.items()}
    if isinstance(value, list):
        pairs_list = [split_shadows(item) for item in value]
        return [pair[0] for pair in pairs_list], [pair[1] for pair in pairs_list]
    return value, value


def engine_form(value: Any) -> Any:
    return split_shadows(value)[0]


def snapshot_of(recording: Recording, config: Mapping[str, str]) -> Snapshot:
    """The wiring proof's view of a recording: resolved inputs, and the placeholders handed out."""
    snapshot = Snapshot(
        {
            resource.urn: WiredResource(
                urn=resource.urn,
                type=resource.type,
                name=resource.name,
                parent=resource.parent,
                inputs=resource.resolved_inputs,
                dependencies=list(resource.dependencies),
                property_dependencies=dict(resource.property_dependencies),
                provider=resource.provider_urn,
            )
            for resource in recording.resources
        },
        placeholders=dict(recording.placeholders),
        config=decode_config(config),
        place=recording.place,
    )
    snapshot.unresolved = [
        Unresolved(resource.urn, path, "unknown in the preview and not traced to an output")
        for resource in snapshot
        for path in unknown_paths(resource.inputs)
    ]
    return snapshot
