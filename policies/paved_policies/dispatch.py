"""Serving ~100 policies at the speed of a few, without changing what any policy sees or reports.

pulumi_policy 1.21's servicer (pulumi_policy/policy.py) pays per policy, not per resource:
- `Analyze` decodes the resource's properties and provider again for every resource policy and builds its
  arguments, even for policies that judge other types (which then return at once);
- `AnalyzeStack` decodes every resource of the stack and relinks the whole dependency graph again for every
  stack policy;
- `Remediate`, which the engine sends before every `Analyze`, decodes the resource to find that no policy
  remediates;
- all three re-read the stack's config from the environment into the Pulumi runtime.
With the plain SDK our pack judges 60-70 resources/s (benchmarks/bench_policy_throughput.py).

The changes below leave the SDK's own loop in charge of each policy's name, enforcement level, config,
violations, "not applicable" and preview-unknown diagnostics:
1. `Analyze` offers a resource only to the resource policies that judge its type. The ones skipped would
   only have said "not applicable" (framework.py), so that is added for them, in pack order, unless
   disabled (the SDK skips a disabled policy before calling it); the response is the same.
2. `AnalyzeStack` gives the SDK the real request for the first stack policy only and an empty one for the
   rest; the framework hands those the first one's resources (`shared_stack`).
3. `Remediate`, in a pack where no policy remediates, answers at once with an empty response. The SDK
   would add "Policy does not implement remediate" only for policies configured to the `remediate` level,
   and the engine dropped such entries from its policy events (pulumi/pulumi#20589).
4. The runtime settings are read once per process: they come from the environment the CLI started the
   pack with, which does not change.
`tests/test_policy_dispatch.py` checks that Analyze and AnalyzeStack responses are identical to the plain
SDK's.

The servicer is the SDK's private class, so this is installed only on the pulumi-policy version it was
written and tested against; any other version is served by the plain SDK, correct and slower. Set
PAVED_PLAIN_SDK=1 to serve with the plain SDK anyway (to compare, or to rule this layer out).
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, TypeVar

from pulumi.runtime.proto import analyzer_pb2
from pulumi_policy import EnforcementLevel, Policy, ResourceValidationPolicy, StackValidationPolicy
from pulumi_policy import policy as sdk
from pulumi_policy.version import VERSION as SDK_VERSION

from paved_policies.rule import not_judged

TESTED_SDK_VERSION = "1.21.0"
PLAIN_SDK_VARIABLE = "PAVED_PLAIN_SDK"

T = TypeVar("T")
_local = threading.local()


class PolicyList(list[Policy]):
    """The pack's policies in pack order. While a dispatching call runs on this thread, iterating it
    yields only the policies that call is to run: the SDK iterates its policy list in every handler."""

    def __init__(self, policies: Iterable[Policy], resource_types: Mapping[str, frozenset[str]]):
        super().__init__(policies)
        self._types = resource_types
        self._by_type: dict[str, list[Policy]] = {}
        self._resource_policies: list[Policy] | None = None

    def __iter__(self) -> Iterator[Policy]:
        view: list[Policy] | None = getattr(_local, "view", None)
        return iter(view) if view is not None else super().__iter__()

    def all(self) -> list[Policy]:
        return list(super().__iter__())

    def for_type(self, resource_type: str) -> list[Policy]:
        """The resource policies that judge `resource_type`, plus any whose types are not declared."""
        if resource_type not in self._by_type:
            self._by_type[resource_type] = [
                policy
                for policy in self.all()
                if isinstance(policy, ResourceValidationPolicy)
                and resource_type in self._types.get(policy.name, (resource_type,))
            ]
        return self._by_type[resource_type]

    def resource_policies(self) -> list[Policy]:
        if self._resource_policies is None:
            self._resource_policies = [p for p in self.all() if isinstance(p, ResourceValidationPolicy)]
        return self._resource_policies

    def remediating(self) -> list[Policy]:
        return [
            policy
            for policy in self.all()
            if isinstance(policy, ResourceValidationPolicy) and policy.has_remediation()
        ]

    def stack_policies(self) -> list[Policy]:
        return [policy for policy in self.all() if isinstance(policy, StackValidationPolicy)]


class _Viewing:
    def __init__(self, policies: list[Policy]):
        self._policies = policies

    def __enter__(self) -> None:
        _local.view = self._policies

    def __exit__(self, *_: object) -> None:
        _local.view = None


class _SharedStack:
    """The first stack policy's resources (or anything derived from them), for the ones after it."""

    def __init__(self) -> None:
        self.value: Any = None

    def __enter__(self) -> _SharedStack:
        _local.shared_stack = self
        return self

    def __exit__(self, *_: object) -> None:
        _local.shared_stack = None


def shared_stack(build: Callable[[], T]) -> T:
    """`build()`, computed once per AnalyzeStack call and shared by every stack policy in it.

    Outside a dispatching AnalyzeStack (the plain SDK, unit tests) it is simply `build()`.
    """
    shared: _SharedStack | None = getattr(_local, "shared_stack", None)
    if shared is None:
        return build()
    if shared.value is None:
        shared.value = build()
    return shared.value


class DispatchingServicer(sdk._PolicyAnalyzerServicer):  # noqa: SLF001 - see the module docstring
    def __init__(self, name: str, version: str, policies: list[Policy], *args: Any, **kwargs: Any):
        super().__init__(name, version, policies, *args, **kwargs)
        self._dispatch = policies if isinstance(policies, PolicyList) else None
        self._remediates = self._dispatch is None or bool(self._dispatch.remediating())
        self._runtime_configured = False

    def _configure_runtime_settings(self) -> None:
        if self._dispatch is None or not self._runtime_configured:
            super()._configure_runtime_settings()
            self._runtime_configured = True

    def Remediate(self, request: Any, context: Any) -> Any:  # noqa: N802 - the gRPC method name
        if not self._remediates:
            # The SDK would decode the resource only to find that no policy remediates it.
            return analyzer_pb2.RemediateResponse()
        return super().Remediate(request, context)

    def Analyze(self, request: Any, context: Any) -> Any:  # noqa: N802 - the gRPC method name
        if self._dispatch is None:
            return super().Analyze(request, context)
        offered = self._dispatch.for_type(request.type)
        with _Viewing(offered):
            response = super().Analyze(request, context)
        said = {entry.policy_name: entry for entry in response.not_applicable}
        offered_names = {policy.name for policy in offered}
        entries = [
            said[policy.name]
            if policy.name in said
            else analyzer_pb2.PolicyNotApplicable(policy_name=policy.name, reason=not_judged(request.type))
            for policy in self._dispatch.resource_policies()
            if policy.name in said
            or (
                policy.name not in offered_names
                and self._get_enforcement_level(policy) != EnforcementLevel.DISABLED
            )
        ]
        del response.not_applicable[:]
        response.not_applicable.extend(entries)
        return response

    def AnalyzeStack(self, request: Any, context: Any) -> Any:  # noqa: N802 - the gRPC method name
        if self._dispatch is None:
            return super().AnalyzeStack(request, context)
        empty = type(request)()
        response = None
        with _SharedStack() as shared:
            for policy in self._dispatch.stack_policies():
                # A disabled policy is skipped by the SDK before it reads the request, so the real
                # request goes to each policy until one has actually read it.
                with _Viewing([policy]):
                    part = super().AnalyzeStack(request if shared.value is None else empty, context)
                if response is None:
                    response = part
                else:
                    response.diagnostics.extend(part.diagnostics)
                    response.not_applicable.extend(part.not_applicable)
        return response if response is not None else super().AnalyzeStack(request, context)


def install(environ: Mapping[str, str] = os.environ) -> bool:
    """Make PolicyPack serve with DispatchingServicer; False (and a note on stderr) when it does not."""
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
    return True
