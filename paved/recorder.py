"""A resource monitor that records a Pulumi program the way the engine sees it during a first preview.

It stands in for the engine behind `pulumi.runtime`: the program registers resources over the same
protobuf messages it would send to the real CLI, and the monitor answers with preview semantics: a new
custom resource has an unknown ID, and every output that is not an input stays unknown.

Two engine rules the SDK's stock mock monitor gets wrong are implemented here:
- URNs: a child's type is prefixed with its parent's *full* qualified type, and a Stack parent is skipped.
- Default providers: a custom resource without an explicit provider is bound to the engine's default
  provider `pulumi:providers:<pkg>::default_<version>`, which is itself a resource of the preview.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, unquote, urlparse

from google.protobuf import empty_pb2, json_format, struct_pb2
from paved_policies.wiring.placeholders import (
    AwsPlace,
    Origin,
    managed_prefix_list_id,
    placeholder,
    token_of,
)
from paved_policies.wiring.snapshot import leaves
from pulumi.runtime.mocks import MockMonitor, Mocks
from pulumi.runtime.proto import engine_pb2, resource_pb2

from paved.lineage import engine_form, split_shadows
from paved.values import UNKNOWN, downgrade_resources, make_secret

STACK_TYPE = "pulumi:pulumi:Stack"
PROVIDER_TYPE_PREFIX = "pulumi:providers:"

# Preview answers for the provider functions paved's programs call. Anything else fails loudly: an
# invented answer would hide a program that cannot be previewed honestly offline.
InvokeFake = Callable[[Mapping[str, Any], str], dict[str, Any]]

DEFAULT_ACCOUNT_ID = "123456789012"


def _partition_of(region: str) -> tuple[str, str]:
    if region.startswith("cn-"):
        return "aws-cn", "amazonaws.com.cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov", "amazonaws.com"
    return "aws", "amazonaws.com"


def _fake_availability_zones(_args: Mapping[str, Any], region: str) -> dict[str, Any]:
    letters = "abc"
    return {
        "id": region,
        "names": [f"{region}{letter}" for letter in letters],
        "zoneIds": [f"{region[:3]}{region.split('-')[-1]}-az{i}" for i in range(1, len(letters) + 1)],
        "groupNames": [region],
        "state": "available",
    }


def _fake_caller_identity(_args: Mapping[str, Any], region: str) -> dict[str, Any]:
    partition, _ = _partition_of(region)
    return {
        "id": DEFAULT_ACCOUNT_ID,
        "accountId": DEFAULT_ACCOUNT_ID,
        "arn": f"arn:{partition}:iam::{DEFAULT_ACCOUNT_ID}:user/paved-preview",
        "userId": "AIDAPAVEDPREVIEW",
    }


def _fake_partition(_args: Mapping[str, Any], region: str) -> dict[str, Any]:
    partition, dns_suffix = _partition_of(region)
    return {
        "id": partition,
        "partition": partition,
        "dnsSuffix": dns_suffix,
        "reverseDnsPrefix": "com.amazonaws",
    }


def _fake_region(_args: Mapping[str, Any], region: str) -> dict[str, Any]:
    _, dns_suffix = _partition_of(region)
    return {
        "id": region,
        "name": region,
        "region": region,
        "endpoint": f"ec2.{region}.{dns_suffix}",
        "description": region,
    }


# AWS-managed prefix lists a program may look up by name, with their documented maximum entries (the weight
# they count for against security group rule quotas):
# https://docs.aws.amazon.com/vpc/latest/userguide/working-with-aws-managed-prefix-lists.html
_AWS_MANAGED_PREFIX_LISTS = {"com.amazonaws.global.cloudfront.origin-facing": 55}


def _fake_managed_prefix_list(args: Mapping[str, Any], region: str) -> dict[str, Any]:
    name = args.get("name")
    if name not in _AWS_MANAGED_PREFIX_LISTS:
        raise UnsupportedInvokeError(
            f"aws.ec2.get_managed_prefix_list({name!r}) cannot run offline: only AWS-managed lists "
            f"({', '.join(_AWS_MANAGED_PREFIX_LISTS)}) have a preview answer"
        )
    partition, _ = _partition_of(region)
    list_id = managed_prefix_list_id(region, name)
    return {
        "id": list_id,
        "name": name,
        "arn": f"arn:{partition}:ec2:{region}:aws:prefix-list/{list_id}",
        "addressFamily": "IPv4",
        "maxEntries": _AWS_MANAGED_PREFIX_LISTS[name],
        "ownerId": "AWS",
        "entries": [],
        "tags": {},
        "version": 1,
    }


INVOKE_FAKES: dict[str, InvokeFake] = {
    "aws:index/getAvailabilityZones:getAvailabilityZones": _fake_availability_zones,
    "aws:index/getCallerIdentity:getCallerIdentity": _fake_caller_identity,
    "aws:index/getPartition:getPartition": _fake_partition,
    "aws:index/getRegion:getRegion": _fake_region,
    "aws:ec2/getManagedPrefixList:getManagedPrefixList": _fake_managed_prefix_list,
}


class UnsupportedInvokeError(Exception):
    pass


@dataclass
class RecordedResource:
    """One resource as the engine holds it in a preview: the fields analyzers and preview JSON carry."""

    urn: str
    type: str
    name: str
    custom: bool
    parent: str
    inputs: dict[str, Any]
    provider: str = ""
    dependencies: list[str] = field(default_factory=list)
    property_dependencies: dict[str, list[str]] = field(default_factory=dict)
    protect: bool = False
    ignore_changes: list[str] = field(default_factory=list)
    delete_before_replace: bool | None = None
    additional_secret_outputs: list[str] = field(default_factory=list)
    aliases: list[str] = field(default_factory=list)
    custom_timeouts: dict[str, str] | None = None
    retain_on_delete: bool = False
    outputs: dict[str, Any] = field(default_factory=dict)
    # `inputs` with each unknown that lineage traced replaced by its output's placeholder (paved.lineage).
    resolved_inputs: dict[str, Any] = field(default_factory=dict)
    # Where the program registered it, as the engine keeps it in state: project:///<path>#<line>[,<column>],
    # the path relative to the project directory; "" when the SDK sent none (see source_position).
    source_position: str = ""

    @property
    def provider_urn(self) -> str:
        return self.provider.rsplit("::", 1)[0] if self.provider else ""


@dataclass
class LogEntry:
    severity: str
    message: str
    urn: str


@dataclass
class Recording:
    project: str
    stack: str
    resources: list[RecordedResource] = field(default_factory=list)
    logs: list[LogEntry] = field(default_factory=list)
    # placeholder value -> the resource output it stands for, for every placeholder handed to the program
    placeholders: dict[str, Origin] = field(default_factory=dict)
    place: AwsPlace = field(default_factory=AwsPlace)

    def by_urn(self) -> dict[str, RecordedResource]:
        return {resource.urn: resource for resource in self.resources}

    def of_type(self, type_: str) -> list[RecordedResource]:
        return [resource for resource in self.resources if resource.type == type_]

    def one(self, type_: str, name: str | None = None) -> RecordedResource:
        matches = [r for r in self.of_type(type_) if name is None or r.name == name]
        if len(matches) != 1:
            raise LookupError(f"expected one {type_} named {name!r}, found {[r.name for r in matches]}")
        return matches[0]

    def children_of(self, urn: str) -> list[RecordedResource]:
        return [resource for resource in self.resources if resource.parent == urn]

    @property
    def stack_resource(self) -> RecordedResource:
        return self.one(STACK_TYPE)

    @property
    def stack_outputs(self) -> dict[str, Any]:
        return self.stack_resource.outputs

    @property
    def errors(self) -> list[LogEntry]:
        return [entry for entry in self.logs if entry.severity == "error"]


# Computed fields inside an input object: the provider plans them as unknown, so the object as a whole is not
# known in a preview (a program reading `cluster.vpc_config.cluster_security_group_id` must get an unknown).
_COMPUTED_NESTED = {
    "aws:eks/cluster:Cluster": {"vpcConfig": ("clusterSecurityGroupId", "vpcId")},
    # SES generates the Easy DKIM keys, so their tokens exist only once the identity does.
    "aws:sesv2/emailIdentity:EmailIdentity": {
        "dkimSigningAttributes": ("tokens", "status", "currentSigningKeyLength", "signingAttributesOrigin")
    },
}


def _planned_state(type_: str, inputs: dict[str, Any]) -> dict[str, Any]:
    computed = _COMPUTED_NESTED.get(type_)
    if not computed:
        return inputs
    planned = dict(inputs)
    for key, fields in computed.items():
        if isinstance(planned.get(key), dict):
            planned[key] = {**planned[key], **dict.fromkeys(fields, UNKNOWN)}
    return planned


def _struct_to_value(struct: Any) -> dict[str, Any]:
    return json_format.MessageToDict(struct) if struct is not None else {}


def _value_to_struct(value: Mapping[str, Any]) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    struct.update(value)
    return struct


def _version_suffix(version: str) -> str:
    return (
        "default_" + version.replace(".", "_").replace("-", "_").replace("+", "_") if version else "default"
    )


def source_position(position: Any, project_root: str) -> str:
    """A RegisterResourceRequest's sourcePosition as the engine records it (pkg/resource/deploy,
    sourcePositions.parseSourcePosition): a file URI with an absolute path and a positive line becomes
    project:///<path relative to the project root>#<line>[,<column>]; anything else, "" (the engine logs it
    and records none)."""
    if position is None or position.line <= 0 or position.column < 0:
        return ""
    parsed = urlparse(position.uri)
    if parsed.scheme != "file" or not os.path.isabs(unquote(parsed.path)):
        return ""
    relative = os.path.relpath(unquote(parsed.path), project_root).replace(os.sep, "/")
    column = f",{position.column}" if position.column else ""
    return f"project:///{quote(relative)}#{position.line}{column}"


class RecordingMonitor(MockMonitor):
    """Engine stand-in: answers the SDK like a preview of a new stack and records every registration."""

    def __init__(
        self,
        project: str,
        stack: str,
        config: Mapping[str, str],
        secret_keys: set[str],
        project_root: str,
        on_register: Callable[[RecordedResource], None] | None = None,
    ):
        super().__init__(_NoMocks())
        self._on_register = on_register
        # Source positions are kept relative to it, as the engine keeps them.
        self._project_root = project_root
        self.recording = Recording(project=project, stack=stack)
        partition, _ = _partition_of(self._config_region(config))
        self.recording.place = AwsPlace(
            partition=partition, region=self._config_region(config), account=DEFAULT_ACCOUNT_ID
        )
        self._project = project
        self._stack = stack
        self._config = dict(config)
        self._secret_keys = set(secret_keys)
        self._lock = threading.Lock()
        self._by_urn: dict[str, RecordedResource] = {}

    @staticmethod
    def _config_region(config: Mapping[str, str]) -> str:
        return config.get("aws:region", "us-east-1")

    # -- URNs -----------------------------------------------------------------------------------------

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        qualified_type = type_
        parent_resource = self._by_urn.get(parent)
        if parent_resource is not None and parent_resource.type != STACK_TYPE:
            parent_qualified_type = parent.split("::")[2]
            qualified_type = f"{parent_qualified_type}${type_}"
        return f"urn:pulumi:{self._stack}::{self._project}::{qualified_type}::{name}"

    # -- registrations --------------------------------------------------------------------------------

    def _record(self, resource: RecordedResource) -> None:
        with self._lock:
            if resource.urn in self._by_urn:
                raise ValueError(f"Duplicate resource URN '{resource.urn}'; try giving it a unique name")
            self._by_urn[resource.urn] = resource
            self.recording.resources.append(resource)
            # Under the lock: registrations arrive on the SDK's executor threads, and the listener must
            # see them in the recording's order.
            if self._on_register is not None:
                self._on_register(resource)

    def _default_provider_ref(self, type_: str, version: str) -> str:
        package = type_.split(":")[0]
        name = _version_suffix(version)
        urn = f"urn:pulumi:{self._stack}::{self._project}::{PROVIDER_TYPE_PREFIX}{package}::{name}"
        with self._lock:
            known = urn in self._by_urn
        if not known:
            self._record(
                RecordedResource(
                    urn=urn,
                    type=PROVIDER_TYPE_PREFIX + package,
                    name=name,
                    custom=True,
                    parent="",
                    inputs=self._default_provider_inputs(package, version),
                )
            )
        return f"{urn}::{UNKNOWN}"

    def _default_provider_inputs(self, package: str, version: str) -> dict[str, Any]:
        # The engine configures a default provider from the stack's `<pkg>:*` keys, as plain strings.
        prefix = package + ":"
        inputs: dict[str, Any] = {}
        for key, value in self._config.items():
            if key.startswith(prefix):
                inputs[key[len(prefix) :]] = make_secret(value) if key in self._secret_keys else value
        if version:
            inputs["version"] = version
        return inputs

    def RegisterResource(self, request: Any) -> Any:
        urn = self.make_urn(request.parent, request.type, request.name)
        engine_inputs, resolved_inputs = split_shadows(_struct_to_value(request.object))
        inputs = downgrade_resources(engine_inputs)
        provider = request.provider
        is_provider = request.type.startswith(PROVIDER_TYPE_PREFIX)
        if request.custom and not provider and not is_provider:
            provider = self._default_provider_ref(request.type, request.version)
        timeouts = request.customTimeouts
        self._record(
            RecordedResource(
                urn=urn,
                type=request.type,
                name=request.name,
                custom=request.custom,
                parent=request.parent,
                inputs=inputs,
                provider=provider,
                dependencies=list(request.dependencies),
                property_dependencies={
                    key: list(deps.urns) for key, deps in request.propertyDependencies.items()
                },
                protect=request.protect,
                ignore_changes=list(request.ignoreChanges),
                delete_before_replace=request.deleteBeforeReplace
                if request.deleteBeforeReplaceDefined
                else None,
                additional_secret_outputs=list(request.additionalSecretOutputs),
                aliases=list(request.aliasURNs),
                custom_timeouts=(
                    {"create": timeouts.create, "update": timeouts.update, "delete": timeouts.delete}
                    if request.HasField("customTimeouts")
                    and (timeouts.create or timeouts.update or timeouts.delete)
                    else None
                ),
                retain_on_delete=request.retainOnDelete,
                resolved_inputs=downgrade_resources(resolved_inputs),
                source_position=source_position(
                    request.sourcePosition if request.HasField("sourcePosition") else None, self._project_root
                ),
            )
        )
        if not request.custom:
            return resource_pb2.RegisterResourceResponse(urn=urn)
        # A create in preview: no ID yet, and the planned state is the inputs; every other output is
        # missing, which the SDK resolves as unknown because this is a dry run.
        return resource_pb2.RegisterResourceResponse(
            urn=urn, id="", object=_value_to_struct(_planned_state(request.type, inputs))
        )

    def RegisterResourceOutputs(self, request: Any) -> Any:
        with self._lock:
            resource = self._by_urn.get(request.urn)
        if resource is not None:
            resource.outputs = downgrade_resources(engine_form(_struct_to_value(request.outputs)))
        return empty_pb2.Empty()

    def ReadResource(self, request: Any) -> Any:
        raise UnsupportedInvokeError(
            f"reading existing resource {request.type} '{request.name}' (`.get`) needs the cloud; "
            "paved preview records new resources only"
        )

    # -- lineage --------------------------------------------------------------------------------------

    def placeholder(self, urn: str, output: str) -> Any:
        """The stand-in for an unknown output (paved.lineage asks), registered so it can be traced back."""
        with self._lock:
            resource = self._by_urn.get(urn)
        if resource is None:
            return UNKNOWN
        place = AwsPlace(
            partition=self.recording.place.partition,
            region=self._region_for(resource.provider),
            account=self.recording.place.account,
        )
        value = placeholder(urn, resource.type, output, resource.resolved_inputs, place)
        token = token_of(urn)
        with self._lock:
            # Nested leaves copied from the inputs ("CNAME", a domain name) say nothing about where a value
            # came from; the output itself does, even when it equals an input (a role's id is its name).
            for path, leaf in leaves(value, output):
                if isinstance(leaf, str) and (path == output or token in leaf):
                    self.recording.placeholders.setdefault(leaf, Origin(urn, path))
        return value

    # -- invokes --------------------------------------------------------------------------------------

    def _region_for(self, provider_ref: str) -> str:
        explicit = self._by_urn.get(provider_ref.rsplit("::", 1)[0]) if provider_ref else None
        if explicit is not None and isinstance(explicit.inputs.get("region"), str):
            return explicit.inputs["region"]
        return self._config.get("aws:region", "us-east-1")

    def Invoke(self, request: Any) -> Any:
        fake = INVOKE_FAKES.get(request.tok)
        if fake is None:
            raise UnsupportedInvokeError(
                f"provider function {request.tok} cannot run offline; add a preview answer to "
                "paved.recorder.INVOKE_FAKES or avoid the call"
            )
        answer = fake(engine_form(_struct_to_value(request.args)), self._region_for(request.provider))
        response = resource_pb2.ResourceInvokeResponse()
        # `return` is a Python keyword, so the field is reached by name.
        getattr(response, "return").CopyFrom(_value_to_struct(answer))
        return response

    def GetDeploymentInfo(self, request: Any) -> Any:
        # Alias specs are left out on purpose: without them the SDK computes alias URNs itself, which
        # is the form analyzers receive.
        return resource_pb2.DeploymentInfo(
            supportedFeatures=[
                resource_pb2.RESOURCE_MONITOR_FEATURE_SECRETS,
                resource_pb2.RESOURCE_MONITOR_FEATURE_RESOURCE_REFERENCES,
                resource_pb2.RESOURCE_MONITOR_FEATURE_DELETED_WITH,
                resource_pb2.RESOURCE_MONITOR_FEATURE_TRANSFORMS,
                resource_pb2.RESOURCE_MONITOR_FEATURE_INVOKE_TRANSFORMS,
            ]
        )

    def SupportsFeature(self, request: Any) -> Any:
        supported = request.id in {
            "secrets",
            "resourceReferences",
            "deletedWith",
            "transforms",
            "invokeTransforms",
        }
        return resource_pb2.SupportsFeatureResponse(hasSupport=supported)


class RecordingEngine:
    """Engine log sink: `pulumi.log` and program errors become preview diagnostics."""

    _SEVERITIES = {
        engine_pb2.DEBUG: "debug",
        engine_pb2.INFO: "info",
        engine_pb2.WARNING: "warning",
        engine_pb2.ERROR: "error",
    }

    def __init__(self, recording: Recording):
        self._recording = recording

    def Log(self, request: Any) -> Any:
        severity = self._SEVERITIES.get(request.severity, "info")
        if severity != "debug":
            self._recording.logs.append(LogEntry(severity, request.message, request.urn))
        return empty_pb2.Empty()


class _NoMocks(Mocks):
    """The stock monitor's hooks are unused: RecordingMonitor answers every call itself."""

    def call(self, args: Any) -> tuple[dict, list[tuple[str, str]] | None]:
        raise NotImplementedError

    def new_resource(self, args: Any) -> tuple[str | None, dict]:
        raise NotImplementedError
