"""Serving well over a hundred policies at the speed of a few, without changing what any policy sees or
reports.

pulumi_policy 1.21's servicer (pulumi_policy/policy.py) pays per policy, not per resource:
- `Analyze` decodes the resource's properties and provider again for every resource policy and builds its
  arguments, even for policies that judge other types (which then only say they do not apply);
- `AnalyzeStack` decodes every resource of the stack and relinks the whole dependency graph again for every
  stack policy;
- `Remediate`, which the engine sends before every `Analyze`, decodes the resource to find that no policy
  remediates;
- all three re-read the stack's config from the environment into the Pulumi runtime.
Its decoding is slow besides: protobuf's generic `MessageToDict`, then `deserialize_properties`, then
`unknown_checking_proxy`, three passes over every value, each allocating a new tree.
With the plain SDK our pack of 177 policies judged 73 resources/s (benchmarks/bench_policy_throughput.py).

`DispatchingServicer` answers the same calls with the same responses, doing the per-resource work once:
1. `Analyze` runs only the resource policies that judge the request's type. Each other one that is enabled
   would only say it does not apply ("does not judge <type>", framework.py): that answer is prepared once
   per type and added in its place in pack order. It decodes the properties once, in one pass
   (`decode_properties`), into the SDK's own
   proxies, and each distinct provider message once per process; every policy gets these in its own
   arguments. The loop over policies follows the SDK's step for step: enforcement levels and
   `--policy-pack-config`, the `report_violation` it builds, "not applicable" and preview-unknown
   diagnostics.
2. `AnalyzeStack` decodes and links the stack once, the same way, and gives every stack policy the same
   resources (`framework.py` builds its dependency index once from them), with the cyclic garbage
   collector paused.
3. `Remediate`, in a pack where no policy remediates, answers at once with an empty response. The SDK
   would add "Policy does not implement remediate" only for policies configured to the `remediate` level,
   and the engine dropped such entries from its policy events (pulumi/pulumi#20589).
4. The runtime settings are read once per process: they come from the environment the CLI started the
   pack with, which does not change.
5. The pack serves on `server.InlineServer` rather than grpc.server: the same protocol, without handing
   every call between threads (see server.py).
Sharing decoded values between policies relies on policies not changing them; ours never do (a test
checks). `tests/test_policy_dispatch.py` checks that every response is identical to the plain SDK's and
that `decode_properties` gives exactly what the SDK's three passes give.

The servicer is the SDK's private class, and the decoder builds the SDK's private proxies, so this is
installed only on the pulumi-policy version it was written and tested against, and the server only on the
grpcio version it was tested against (both pinned in policies/requirements.txt); any other version is
served by the plain SDK or grpc.server, correct and slower. Set PAVED_PLAIN_SDK=1 to serve with the plain
SDK and grpc.server anyway (to compare, or to rule this layer out).
"""

from __future__ import annotations

import asyncio
import gc
import math
import os
import sys
from collections.abc import Iterable, Mapping
from inspect import isawaitable
from typing import Any

import grpc
from google.protobuf import json_format, struct_pb2
from pulumi.runtime.proto import analyzer_pb2
from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyResource,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy import policy as sdk
from pulumi_policy.deserialize import SPECIAL_SECRET_SIG, SPECIAL_SIG_KEY, deserialize_properties
from pulumi_policy.proxy import UnknownValueError, _DictProxy, _ListProxy, unknown_checking_proxy
from pulumi_policy.version import VERSION as SDK_VERSION

from paved_policies.rule import not_judged
from paved_policies.server import InlineGrpc

TESTED_SDK_VERSION = "1.21.0"
TESTED_GRPC_VERSION = "1.85.1"
GRPC_VERSION = grpc.__version__
PLAIN_SDK_VARIABLE = "PAVED_PLAIN_SDK"
# A stack has a handful of providers, each sent with every resource; more distinct ones than this and the
# cache starts over rather than grow.
_PROVIDER_CACHE_SIZE = 64


class PolicyList(list[Policy]):
    """The pack's policies in pack order, with the resource policies of each type looked up once."""

    def __init__(self, policies: Iterable[Policy], resource_types: Mapping[str, frozenset[str]]):
        super().__init__(policies)
        self._types = resource_types
        self._by_type: dict[str, list[ResourceValidationPolicy]] = {}
        self._resource_policies = [policy for policy in self if isinstance(policy, ResourceValidationPolicy)]

    def for_type(self, resource_type: str) -> list[ResourceValidationPolicy]:
        """The resource policies that judge `resource_type`, plus any whose types are not declared."""
        if resource_type not in self._by_type:
            self._by_type[resource_type] = [
                policy
                for policy in self
                if isinstance(policy, ResourceValidationPolicy)
                and resource_type in self._types.get(policy.name, (resource_type,))
            ]
        return self._by_type[resource_type]

    def resource_policies(self) -> list[ResourceValidationPolicy]:
        return self._resource_policies

    def remediating(self) -> list[ResourceValidationPolicy]:
        return [
            policy
            for policy in self
            if isinstance(policy, ResourceValidationPolicy) and policy.has_remediation()
        ]

    def stack_policies(self) -> list[StackValidationPolicy]:
        return [policy for policy in self if isinstance(policy, StackValidationPolicy)]


# A policy to run and the level it reports at, or the ready answers of consecutive policies that are not run,
# serialized as an AnalyzeResponse: merging its bytes appends them to a response's `not_applicable` several
# times faster than copying the messages in (over a hundred such answers go with every resource).
_Step = tuple[ResourceValidationPolicy, EnforcementLevel] | bytes


class _Unusual(Exception):
    """A value the one-pass decoder leaves to the SDK: an asset, an archive, a malformed secret, a number
    JSON cannot hold (the SDK raises for those, and must say it its own way)."""


def decode_properties(struct: struct_pb2.Struct) -> Mapping[str, Any]:
    """`unknown_checking_proxy(deserialize_properties(json_format.MessageToDict(struct)))`, in one pass."""
    try:
        fields = struct.fields
        return _DictProxy({key: _decoded(fields[key], [], key) for key in fields}, [])
    except _Unusual:
        return unknown_checking_proxy(deserialize_properties(json_format.MessageToDict(struct)))


def _decoded(value: struct_pb2.Value, parent: list[str], key: str) -> Any:
    kind = value.WhichOneof("kind")
    if kind == "string_value":
        return value.string_value
    if kind == "struct_value":
        fields = value.struct_value.fields
        if SPECIAL_SIG_KEY in fields:
            signature = fields[SPECIAL_SIG_KEY]
            if signature.WhichOneof("kind") != "string_value" or signature.string_value != SPECIAL_SECRET_SIG:
                raise _Unusual
            if "value" not in fields:
                raise _Unusual
            # Without secret proxies the SDK hands policies a secret's plain value, at the secret's path.
            return _decoded(fields["value"], parent, key)
        path = [*parent, key]
        return _DictProxy({name: _decoded(fields[name], path, name) for name in fields}, path)
    if kind == "bool_value":
        return value.bool_value
    if kind == "number_value":
        number = value.number_value
        if math.isinf(number) or math.isnan(number):
            raise _Unusual
        return number
    if kind == "list_value":
        path = [*parent, key]
        return _ListProxy(
            [_decoded(item, path, str(index)) for index, item in enumerate(value.list_value.values)], path
        )
    return None


class DispatchingServicer(sdk._PolicyAnalyzerServicer):  # noqa: SLF001 - see the module docstring
    def __init__(self, name: str, version: str, policies: list[Policy], *args: Any, **kwargs: Any):
        super().__init__(name, version, policies, *args, **kwargs)
        self._pack_name = name
        self._pack_version = version
        self._dispatch = policies if isinstance(policies, PolicyList) else None
        self._remediates = self._dispatch is None or bool(self._dispatch.remediating())
        self._runtime_configured = False
        self._providers: dict[bytes, sdk.PolicyProviderResource] = {}
        self._plans: dict[str, list[_Step]] = {}

    def _configure_runtime_settings(self) -> None:
        if self._dispatch is None or not self._runtime_configured:
            super()._configure_runtime_settings()
            self._runtime_configured = True

    def _stack_tags(self) -> Mapping[str, str]:
        return getattr(self, "_PolicyAnalyzerServicer__stack_tags")  # noqa: B009 - the SDK's private field

    def _get_provider_resource(self, request: Any) -> sdk.PolicyProviderResource | None:
        if not request.HasField("provider"):
            return None
        provider = request.provider
        key = provider.SerializeToString(deterministic=True)
        found = self._providers.get(key)
        if found is None:
            if len(self._providers) >= _PROVIDER_CACHE_SIZE:
                self._providers.clear()
            found = sdk.PolicyProviderResource(
                provider.type, decode_properties(provider.properties), provider.urn, provider.name
            )
            self._providers[key] = found
        return found

    def Configure(self, request: Any, context: Any) -> Any:  # noqa: N802 - the gRPC method name
        self._plans.clear()  # they hold enforcement levels, which config may change
        return super().Configure(request, context)

    def _plan(self, policies: PolicyList, resource_type: str) -> list[_Step]:
        """What Analyze does for a resource of `resource_type`, policy by policy in pack order, as the SDK's
        loop would: each enabled policy that judges the type is run at its level; each other enabled one
        gets its answer ready-made."""
        plan = self._plans.get(resource_type)
        if plan is None:
            judging = {id(policy) for policy in policies.for_type(resource_type)}
            plan = []
            answers = analyzer_pb2.AnalyzeResponse()
            for policy in policies.resource_policies():
                level = self._get_enforcement_level(policy)
                if level == EnforcementLevel.DISABLED:
                    continue
                if policy.has_validation() and id(policy) in judging:
                    if answers.not_applicable:
                        plan.append(answers.SerializeToString())
                        answers = analyzer_pb2.AnalyzeResponse()
                    # The SDK reports a violation at the remediate level as mandatory.
                    plan.append(
                        (policy, EnforcementLevel.MANDATORY if level == EnforcementLevel.REMEDIATE else level)
                    )
                    continue
                reason = (
                    not_judged(resource_type)
                    if policy.has_validation()
                    else "Policy does not implement validate"
                )
                answers.not_applicable.add(policy_name=policy.name, reason=reason)
            if answers.not_applicable:
                plan.append(answers.SerializeToString())
            self._plans[resource_type] = plan
        return plan

    def Remediate(self, request: Any, context: Any) -> Any:  # noqa: N802 - the gRPC method name
        if not self._remediates:
            # The SDK would decode the resource only to find that no policy remediates it.
            return analyzer_pb2.RemediateResponse()
        return super().Remediate(request, context)

    def Analyze(self, request: Any, context: Any) -> Any:  # noqa: N802 - the gRPC method name
        if self._dispatch is None:
            return super().Analyze(request, context)
        self._configure_runtime_settings()
        response = analyzer_pb2.AnalyzeResponse()
        resource: tuple[Mapping[str, Any], Any, Any] | None = None
        for step in self._plan(self._dispatch, request.type):
            if isinstance(step, bytes):
                response.MergeFromString(step)
                continue
            policy, enforcement_level = step
            report_violation = self._create_report_violation(
                response, policy.name, policy.description, enforcement_level, policy.severity
            )
            if resource is None:
                resource = (
                    decode_properties(request.properties),
                    self._get_resource_options(request),
                    self._get_provider_resource(request),
                )
            props, opts, provider = resource
            args = ResourceValidationArgs(
                request.type,
                props,
                request.urn,
                request.name,
                opts,
                provider,
                self._get_policy_config(policy.name),
                self._stack_tags(),
            )
            self._run(policy, response, args, report_violation)
        return response

    def AnalyzeStack(self, request: Any, context: Any) -> Any:  # noqa: N802 - the gRPC method name
        if self._dispatch is None:
            return super().AnalyzeStack(request, context)
        # Judging the stack builds hundreds of thousands of objects that all live until the response is
        # sent: the cyclic collector would scan them each time the heap grew by a quarter, and find nothing
        # (a sixth of this call's time on 5,000 resources). It is paused for the whole process, but only
        # for this call, the engine's last.
        collecting = gc.isenabled()
        gc.disable()
        try:
            return self._analyze_stack(self._dispatch, request)
        finally:
            if collecting:
                gc.enable()

    def _analyze_stack(self, policies: PolicyList, request: Any) -> Any:
        self._configure_runtime_settings()
        response = analyzer_pb2.AnalyzeResponse()
        resources: list[PolicyResource] | None = None
        for policy in policies.stack_policies():
            enforcement_level = self._get_enforcement_level(policy)
            if enforcement_level == EnforcementLevel.DISABLED:
                continue
            if enforcement_level == EnforcementLevel.REMEDIATE:
                enforcement_level = EnforcementLevel.MANDATORY
            report_violation = self._create_report_violation(
                response, policy.name, policy.description, enforcement_level, policy.severity
            )
            if resources is None:
                resources = self._stack_resources(request)
            args = StackValidationArgs(resources, self._get_policy_config(policy.name), self._stack_tags())
            self._run(policy, response, args, report_violation)
        return response

    def _stack_resources(self, request: Any) -> list[PolicyResource]:
        """The stack's resources linked to each other, as the SDK builds them for each stack policy."""
        resources: list[PolicyResource] = []
        links: list[tuple[PolicyResource, Any]] = []
        for r in request.resources:
            resource = PolicyResource(
                r.type,
                decode_properties(r.properties),
                r.urn,
                r.name,
                self._get_resource_options(r),
                self._get_provider_resource(r),
                None,
                [],
                {},
            )
            resources.append(resource)
            links.append((resource, r))
        by_urn = {resource.urn: resource for resource in resources}
        for resource, r in links:
            if r.parent in by_urn:
                resource.parent = by_urn[r.parent]
            resource.dependencies.extend(by_urn[urn] for urn in r.dependencies if urn in by_urn)
            for prop, dependencies in r.propertyDependencies.items():
                resource.property_dependencies[prop] = [
                    by_urn[urn] for urn in dependencies.urns if urn in by_urn
                ]
        return resources

    def _run(
        self,
        policy: ResourceValidationPolicy | StackValidationPolicy,
        response: Any,
        args: Any,
        report_violation: Any,
    ) -> None:
        """One policy's validation, its outcome in `response` as the SDK records it."""
        try:
            result = policy.validate(args, report_violation)
            if isawaitable(result):
                loop = asyncio.new_event_loop()
                loop.run_until_complete(asyncio.Task(result, loop=loop))  # type: ignore[arg-type]
                loop.close()
        except UnknownValueError as error:
            response.diagnostics.append(
                analyzer_pb2.AnalyzeDiagnostic(
                    policyName=policy.name,
                    policyPackName=self._pack_name,
                    policyPackVersion=self._pack_version,
                    message=(
                        f"can't run policy '{policy.name}' from policy pack "
                        f"'{self._pack_name}@v{self._pack_version}' during preview: {error.message}"
                    ),
                    urn="",
                    description=policy.description,
                    enforcementLevel=self._map_enforcement_level(EnforcementLevel.ADVISORY),
                )
            )
        except sdk._NotApplicableError as error:  # noqa: SLF001 - the SDK's own signal
            response.not_applicable.append(
                analyzer_pb2.PolicyNotApplicable(policy_name=policy.name, reason=error.reason or "")
            )


def install(environ: Mapping[str, str] = os.environ) -> bool:
    """Make PolicyPack serve with DispatchingServicer, on InlineServer; False (and a note on stderr) when it
    serves with neither."""
    if environ.get(PLAIN_SDK_VARIABLE):
        return False
    if SDK_VERSION != TESTED_SDK_VERSION:
        print(
            f"paved-aws: pulumi-policy {SDK_VERSION} is not {TESTED_SDK_VERSION}; serving with the plain SDK "
            "(correct, slower)",
            file=sys.stderr,
        )
        return False
    sdk._PolicyAnalyzerServicer = DispatchingServicer  # noqa: SLF001 - PolicyPack builds it by this name
    if GRPC_VERSION == TESTED_GRPC_VERSION:
        sdk.grpc = InlineGrpc  # type: ignore[assignment] - PolicyPack calls grpc.server(...) by this name
    else:
        print(
            f"paved-aws: grpcio {GRPC_VERSION} is not {TESTED_GRPC_VERSION}; serving with grpc.server "
            "(correct, slower)",
            file=sys.stderr,
        )
    return True
