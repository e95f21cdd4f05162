"""Drive policy packs over the real Analyzer gRPC protocol, the way the Pulumi CLI does.

Policy evaluation is never re-implemented here: each pack runs in its own process, started as the CLI
starts it, and judges the recorded resources through `pulumi.runtime.proto.analyzer_pb2_grpc`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import jsonschema
import yaml
from google.protobuf import empty_pb2, json_format, struct_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc

from paved.errors import ConfigProblem, describe_problems, show_value, unknown_key_hint
from paved.recorder import RecordedResource, Recording

# The address handed to a pack as the engine's; packs use it only for logging, and none runs here.
ENGINE_ADDRESS_PLACEHOLDER = "127.0.0.1:0"
PORT_TIMEOUT_SECONDS = 120
RPC_TIMEOUT_SECONDS = 300

LEVEL_NAMES = {
    analyzer_pb2.ADVISORY: "advisory",
    analyzer_pb2.MANDATORY: "mandatory",
    analyzer_pb2.DISABLED: "disabled",
    analyzer_pb2.REMEDIATE: "remediate",
}
LEVELS_BY_NAME = {name: level for level, name in LEVEL_NAMES.items()}
SEVERITY_NAMES = {
    analyzer_pb2.POLICY_SEVERITY_UNSPECIFIED: "",
    analyzer_pb2.POLICY_SEVERITY_LOW: "low",
    analyzer_pb2.POLICY_SEVERITY_MEDIUM: "medium",
    analyzer_pb2.POLICY_SEVERITY_HIGH: "high",
    analyzer_pb2.POLICY_SEVERITY_CRITICAL: "critical",
}
POLICY_TYPE_NAMES = {
    analyzer_pb2.POLICY_TYPE_UNKNOWN: "",
    analyzer_pb2.POLICY_TYPE_RESOURCE: "resource",
    analyzer_pb2.POLICY_TYPE_STACK: "stack",
}


class PolicyPackError(Exception):
    """A pack could not be started, configured or run; said plainly, without a traceback."""


class PolicyConfigError(PolicyPackError):
    """A `--policy-pack-config` document the pack cannot take: every problem, at its JSON key path."""

    def __init__(self, source: str, problems: list[ConfigProblem]) -> None:
        self.problems = problems
        super().__init__(describe_problems(f"Invalid policy pack config {source}", problems))


@dataclass(frozen=True)
class PolicyViolation:
    pack: str
    pack_version: str
    policy: str
    level: str
    severity: str
    message: str
    urn: str


@dataclass(frozen=True)
class PolicyInfo:
    """A policy as the pack describes it in GetAnalyzerInfo, with the level it was configured to."""

    name: str
    display_name: str
    description: str
    # Effective: the pack's own level overlaid with the pack's initial config and `--policy-pack-config`.
    level: str
    severity: str
    # "resource", "stack", or "" from an SDK that does not say.
    type: str
    tags: tuple[str, ...] = ()
    remediation: str = ""
    url: str = ""
    # PolicyComplianceFramework: name, version, reference, specification (those the pack set).
    framework: Mapping[str, str] = field(default_factory=dict)


@dataclass
class PolicySummary:
    """Which policies passed, failed, did not apply or were disabled for one resource (or, with urn "", for
    the stack), computed from one Analyze (AnalyzeStack) response as the CLI computes it
    (pkg/resource/analyzer: newPolicySummary) for its policy summary events."""

    urn: str
    passed: list[str]
    failed: list[str]
    not_applicable: dict[str, str]
    disabled: list[str]
    violations: list[PolicyViolation]


@dataclass
class PackResult:
    name: str
    version: str
    policy_count: int
    violations: list[PolicyViolation] = field(default_factory=list)
    remediations: list[str] = field(default_factory=list)
    log: str = ""
    policies: list[PolicyInfo] = field(default_factory=list)
    # One per Analyze response in judging order, then the AnalyzeStack one (urn "").
    summaries: list[PolicySummary] = field(default_factory=list)


# -- configuration, merged as the CLI merges it ---------------------------------------------------------


def _level_name(value: Any, where: str) -> str:
    if value not in LEVELS_BY_NAME:
        raise PolicyPackError(f"{where}: enforcement level {value!r} is not one of {sorted(LEVELS_BY_NAME)}")
    return value


_LEVEL_HINT = f"use one of {', '.join(sorted(LEVELS_BY_NAME))}"


def policy_config_problems(document: Any) -> list[ConfigProblem]:
    """What the CLI would refuse in a `--policy-pack-config` document, for any pack: not an object, an entry
    that is neither a level nor an object, an unknown enforcement level. Checked before the program runs;
    the policies' names and config schemas need the pack itself (merge_policy_config)."""
    if not isinstance(document, dict):
        return [
            ConfigProblem("(document)", "must be a JSON object", 'write {"<policy>": "<level>" or {...}}')
        ]
    problems = []
    for name, value in document.items():
        level = value.get("enforcementLevel") if isinstance(value, dict) else value
        if not isinstance(value, (str, dict)):
            problems.append(
                ConfigProblem(name, f"must be a level or an object, got {show_value(value)}", _LEVEL_HINT)
            )
        elif (isinstance(value, str) or "enforcementLevel" in value) and level not in LEVELS_BY_NAME:
            path = name if isinstance(value, str) else f"{name}.enforcementLevel"
            problems.append(
                ConfigProblem(path, f"{show_value(level)} is not an enforcement level", _LEVEL_HINT)
            )
    return problems


def _schema_path(name: str, error: jsonschema.ValidationError) -> str:
    return name + "".join(
        f"[{step}]" if isinstance(step, int) else f".{step}" for step in error.absolute_path
    )


def merge_policy_config(
    info: analyzer_pb2.AnalyzerInfo, overrides: Sequence[Mapping[str, Any]]
) -> dict[str, dict[str, Any]]:
    """Per policy `{"enforcementLevel": name, "properties": {...}}`.

    Order, as the CLI: each policy's schema defaults and own level, then the pack's initial config, then
    each `--policy-pack-config` document. Properties merge one level deep; the key "all" sets every
    policy's level and is passed on as an entry of its own. The result is validated against each
    policy's config schema.
    """
    merged: dict[str, dict[str, Any]] = {}
    schemas: dict[str, dict[str, Any]] = {}
    for policy in info.policies:
        schema = json_format.MessageToDict(policy.configSchema) if policy.HasField("configSchema") else {}
        schemas[policy.name] = {"type": "object", **schema}
        defaults = {
            key: spec["default"]
            for key, spec in schema.get("properties", {}).items()
            if isinstance(spec, dict) and "default" in spec
        }
        merged[policy.name] = {
            "enforcementLevel": LEVEL_NAMES[policy.enforcementLevel],
            "properties": defaults,
        }
    # A name the pack does not have is refused, not ignored: a typo would leave the policy untuned.
    unknown = [
        ConfigProblem(name, f"is not a policy of pack {info.name}", unknown_key_hint(name, schemas))
        for layer in overrides
        for name in layer
        if name != "all" and name not in schemas
    ]
    if unknown:
        raise PolicyConfigError(f"for {info.name}", unknown)
    initial = {name: json_format.MessageToDict(config) for name, config in info.initialConfig.items()}
    for layer in [_initial_config_layer(initial), *overrides]:
        _apply_config_layer(merged, layer)
    invalid = [
        ConfigProblem(_schema_path(name, error), error.message, "see the policy's config schema in its pack")
        for name, entry in merged.items()
        if name in schemas
        for error in jsonschema.Draft7Validator(schemas[name]).iter_errors(entry["properties"])
    ]
    if invalid:
        raise PolicyConfigError(f"for {info.name}", invalid)
    return merged


def _initial_config_layer(initial: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    layer: dict[str, Any] = {}
    for name, config in initial.items():
        entry: dict[str, Any] = dict(config.get("properties", {}))
        if "enforcementLevel" in config:
            entry["enforcementLevel"] = config["enforcementLevel"].lower()
        layer[name] = entry
    return layer


def _apply_config_layer(merged: dict[str, dict[str, Any]], layer: Mapping[str, Any]) -> None:
    if "all" in layer:
        # A pack's initial config carries "all" as a PolicyConfig, {"enforcementLevel": ...} (awsguard does).
        value = layer["all"]
        level = value.get("enforcementLevel") if isinstance(value, Mapping) else value
        all_level = _level_name(level, "policy config 'all'")
        for entry in merged.values():
            entry["enforcementLevel"] = all_level
        merged.setdefault("all", {"properties": {}})["enforcementLevel"] = all_level
    for name, value in layer.items():
        if name == "all":
            continue
        entry = merged.setdefault(name, {"enforcementLevel": "advisory", "properties": {}})
        if isinstance(value, str):
            entry["enforcementLevel"] = _level_name(value, f"policy config '{name}'")
            continue
        if not isinstance(value, Mapping):
            raise PolicyPackError(f"policy config '{name}' must be a level or an object, got {value!r}")
        for key, item in value.items():
            if key == "enforcementLevel":
                entry["enforcementLevel"] = _level_name(item, f"policy config '{name}'")
            else:
                entry["properties"][key] = item


def _configure_request(merged: Mapping[str, Mapping[str, Any]]) -> analyzer_pb2.ConfigureAnalyzerRequest:
    request = analyzer_pb2.ConfigureAnalyzerRequest()
    for name, entry in merged.items():
        config = request.policyConfig[name]
        config.enforcementLevel = LEVELS_BY_NAME[entry.get("enforcementLevel", "advisory")]
        # Always send properties, even empty: the Python SDK reads them unconditionally.
        config.properties.CopyFrom(_struct(entry.get("properties", {})))
    return request


# -- resources as the engine hands them to analyzers ----------------------------------------------------


def _struct(value: Mapping[str, Any]) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    struct.update(value)
    return struct


_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(h|m|s|ms)", re.ASCII)
_DURATION_SECONDS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}


def duration_seconds(text: str) -> float:
    """Go duration text ("1h30m", "10m") in seconds, as the engine converts custom timeouts."""
    return sum(float(number) * _DURATION_SECONDS[unit] for number, unit in _DURATION_PART.findall(text or ""))


def _options(resource: RecordedResource) -> analyzer_pb2.AnalyzerResourceOptions:
    options = analyzer_pb2.AnalyzerResourceOptions(
        protect=resource.protect,
        ignoreChanges=resource.ignore_changes,
        deleteBeforeReplace=bool(resource.delete_before_replace),
        deleteBeforeReplaceDefined=resource.delete_before_replace is not None,
        additionalSecretOutputs=resource.additional_secret_outputs,
        aliases=resource.aliases,
        parent=resource.parent,
    )
    if resource.custom_timeouts:
        options.customTimeouts.CopyFrom(
            analyzer_pb2.AnalyzerResourceOptions.CustomTimeouts(
                create=duration_seconds(resource.custom_timeouts.get("create", "")),
                update=duration_seconds(resource.custom_timeouts.get("update", "")),
                delete=duration_seconds(resource.custom_timeouts.get("delete", "")),
            )
        )
    return options


class ResourceMessages:
    """Builds the Analyze/AnalyzeStack messages of a recording, shared by every pack.

    Struct messages are slow to build from Python values, so each provider's is built once, and
    AnalyzeStack reuses the properties each resource was analyzed with.
    """

    def __init__(self, recording: Recording):
        self._by_urn = recording.by_urn()
        self.resources = list(recording.resources)
        self._providers: dict[str, analyzer_pb2.AnalyzerProviderResource | None] = {}

    def add(self, resource: RecordedResource) -> None:
        """A resource registered after this was built; its provider was registered before it."""
        self._by_urn[resource.urn] = resource
        self.resources.append(resource)

    def _provider(self, resource: RecordedResource) -> analyzer_pb2.AnalyzerProviderResource | None:
        urn = resource.provider_urn
        if urn not in self._providers:
            provider = self._by_urn.get(urn)
            self._providers[urn] = (
                None
                if provider is None
                else analyzer_pb2.AnalyzerProviderResource(
                    type=provider.type,
                    properties=_struct(provider.inputs),
                    urn=provider.urn,
                    name=provider.name,
                )
            )
        return self._providers[urn]

    def analyze_request(self, resource: RecordedResource, properties: Mapping[str, Any]) -> Any:
        return analyzer_pb2.AnalyzeRequest(
            type=resource.type,
            properties=_struct(properties),
            urn=resource.urn,
            name=resource.name,
            options=_options(resource),
            provider=self._provider(resource),
        )

    def stack_request(self, properties_by_urn: Mapping[str, struct_pb2.Struct | Mapping[str, Any]]) -> Any:
        """Every resource with its final properties: a Struct already built for Analyze, or plain values."""
        return analyzer_pb2.AnalyzeStackRequest(
            resources=[
                analyzer_pb2.AnalyzerResource(
                    type=resource.type,
                    properties=_as_struct(properties_by_urn[resource.urn]),
                    urn=resource.urn,
                    name=resource.name,
                    options=_options(resource),
                    provider=self._provider(resource),
                    parent=resource.parent,
                    dependencies=resource.dependencies,
                    propertyDependencies={
                        key: analyzer_pb2.AnalyzerPropertyDependencies(urns=urns)
                        for key, urns in resource.property_dependencies.items()
                    },
                )
                for resource in self.resources
            ]
        )


def _as_struct(properties: struct_pb2.Struct | Mapping[str, Any]) -> struct_pb2.Struct:
    return properties if isinstance(properties, struct_pb2.Struct) else _struct(properties)


# -- pack processes -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StackContext:
    project: str
    stack: str
    organization: str
    config: Mapping[str, str]
    secret_keys: frozenset[str]
    tags: Mapping[str, str] = field(default_factory=dict)


def _pack_manifest(pack_dir: Path) -> dict[str, Any]:
    manifest = pack_dir / "PulumiPolicy.yaml"
    if not manifest.exists():
        raise PolicyPackError(f"{pack_dir} is not a policy pack: it has no PulumiPolicy.yaml")
    document = yaml.safe_load(manifest.read_text()) or {}
    if not isinstance(document, dict):
        raise PolicyPackError(f"{manifest}: expected a mapping")
    return document


def _pack_command(pack_dir: Path, document: Mapping[str, Any]) -> list[str]:
    manifest = pack_dir / "PulumiPolicy.yaml"
    runtime = document.get("runtime")
    runtime_name = runtime.get("name") if isinstance(runtime, dict) else runtime
    if runtime_name == "python":
        return [_pack_python(pack_dir, runtime), "-u", "-m", "pulumi.policy", ENGINE_ADDRESS_PLACEHOLDER, "."]
    if runtime_name == "nodejs":
        entry = pack_dir / "node_modules" / "@pulumi" / "pulumi" / "cmd" / "run-policy-pack"
        node = shutil.which("node")
        if node is None or not entry.exists():
            raise PolicyPackError(
                f"{pack_dir}: a Node.js pack needs `node` and its dependencies installed "
                "(`npm ci` in the pack)"
            )
        return [node, str(entry), ENGINE_ADDRESS_PLACEHOLDER, "."]
    raise PolicyPackError(f"{manifest}: runtime {runtime_name!r} is not supported (python or nodejs)")


def _pack_python(pack_dir: Path, runtime: Any) -> str:
    """The pack's own virtualenv when it has one, as the CLI uses; else this interpreter."""
    options = runtime.get("options", {}) if isinstance(runtime, dict) else {}
    virtualenv = options.get("virtualenv") if isinstance(options, dict) else None
    if virtualenv:
        candidate = pack_dir / virtualenv / "bin" / "python"
        if candidate.exists():
            return str(candidate)
    return sys.executable


def _pack_environment(context: StackContext) -> dict[str, str]:
    # The CLI passes the stack to packs through the environment as well as ConfigureStack.
    env = dict(os.environ)
    stack_env = {
        "PULUMI_CONFIG": json.dumps(dict(context.config)),
        "PULUMI_PROJECT": context.project,
        "PULUMI_STACK": context.stack,
        "PULUMI_DRY_RUN": "true",
        "PULUMI_ORGANIZATION": context.organization,
    }
    env.update(stack_env)
    env.update({key.replace("PULUMI_", "PULUMI_NODEJS_", 1): value for key, value in stack_env.items()})
    return env


class PolicyPackProcess:
    """One running pack and its Analyzer stub."""

    def __init__(self, pack_dir: Path, context: StackContext):
        self.pack_dir = pack_dir
        manifest = _pack_manifest(pack_dir)
        # The Python SDK always reports 0.0.1 and leaves the version to PulumiPolicy.yaml, which the
        # CLI prefers when set (pulumi_policy/policy.py, GetAnalyzerInfo).
        version = manifest.get("version")
        self.manifest_version = str(version) if version is not None else None
        self._output: list[str] = []
        self._process = subprocess.Popen(
            _pack_command(pack_dir, manifest),
            cwd=pack_dir,
            env=_pack_environment(context),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.port = self._read_port()
        self._channel = grpc.insecure_channel(f"127.0.0.1:{self.port}")
        self.stub = analyzer_pb2_grpc.AnalyzerStub(self._channel)

    def _read_port(self) -> int:
        stdout, stderr = self._process.stdout, self._process.stderr
        assert stdout is not None and stderr is not None
        threading.Thread(target=self._drain, args=(stderr,), daemon=True).start()
        line_holder: list[str] = []
        reader = threading.Thread(target=lambda: line_holder.append(stdout.readline()), daemon=True)
        reader.start()
        reader.join(PORT_TIMEOUT_SECONDS)
        line = line_holder[0].strip() if line_holder else ""
        if not line.isdigit() or not 0 < int(line) < 65536:
            self.close()
            raise PolicyPackError(
                f"policy pack {self.pack_dir} did not print its port "
                f"(first stdout line {line!r}):\n{self.log}"
            )
        threading.Thread(target=self._drain, args=(self._process.stdout,), daemon=True).start()
        return int(line)

    def _drain(self, stream: Any) -> None:
        """Keeps the pack from blocking on a full pipe; what it printed is shown if it fails."""
        for line in stream:
            self._output.append(line)

    @property
    def pid(self) -> int:
        return self._process.pid

    @property
    def log(self) -> str:
        return "".join(self._output)

    def close(self) -> None:
        if getattr(self, "_channel", None) is not None:
            self._channel.close()
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()


def _call_optional(method: Any, request: Any) -> Any:
    """Calls the CLI makes but older packs do not implement."""
    try:
        return method(request, timeout=RPC_TIMEOUT_SECONDS)
    except grpc.RpcError as error:
        if error.code() == grpc.StatusCode.UNIMPLEMENTED:  # type: ignore[attr-defined]
            return None
        raise


def _summary(
    urn: str, stage: str, response: Any, violations: list[PolicyViolation], policies: Sequence[PolicyInfo]
) -> PolicySummary:
    """The CLI's newPolicySummary: of the policies of this stage (or of no declared type), passed = all minus
    disabled minus not applicable minus failed.

    One difference: the CLI reads the levels from GetAnalyzerInfo, where the Python SDK reports the pack's
    own levels, so a policy disabled by `--policy-pack-config` would count as passed everywhere; here it
    counts as disabled, as the pack was configured.
    """
    failed = sorted({diagnostic.policyName for diagnostic in response.diagnostics})
    not_applicable = {entry.policy_name: entry.reason for entry in response.not_applicable}
    in_stage = [policy for policy in policies if policy.type in (stage, "")]
    disabled = sorted(policy.name for policy in in_stage if policy.level == "disabled")
    passed = sorted(
        policy.name
        for policy in in_stage
        if policy.level != "disabled" and policy.name not in failed and policy.name not in not_applicable
    )
    return PolicySummary(urn, passed, failed, dict(sorted(not_applicable.items())), disabled, violations)


def _policy_infos(info: Any, merged: Mapping[str, Mapping[str, Any]]) -> list[PolicyInfo]:
    infos = []
    for policy in info.policies:
        framework = policy.framework
        infos.append(
            PolicyInfo(
                name=policy.name,
                display_name=policy.displayName,
                description=policy.description,
                level=merged.get(policy.name, {}).get("enforcementLevel")
                or LEVEL_NAMES.get(policy.enforcementLevel, "advisory"),
                severity=SEVERITY_NAMES.get(policy.severity, ""),
                type=POLICY_TYPE_NAMES.get(policy.policy_type, ""),
                tags=tuple(policy.tags),
                remediation=policy.remediation_steps,
                url=policy.url,
                framework={
                    key: value
                    for key in ("name", "version", "reference", "specification")
                    if (value := getattr(framework, key))
                },
            )
        )
    return infos


def _violations(response: Any, result: PackResult, default_urn: str) -> Iterable[PolicyViolation]:
    for diagnostic in response.diagnostics:
        yield PolicyViolation(
            pack=diagnostic.policyPackName or result.name,
            pack_version=result.version,
            policy=diagnostic.policyName,
            level=LEVEL_NAMES.get(diagnostic.enforcementLevel, "advisory"),
            severity=SEVERITY_NAMES.get(diagnostic.severity, ""),
            message=diagnostic.message,
            urn=diagnostic.urn or default_urn,
        )


def start_pack(
    pack_dir: Path,
    context: StackContext,
    config_overrides: Sequence[Mapping[str, Any]] = (),
    base: Path | None = None,
) -> tuple[PolicyPackProcess, PackResult]:
    """Start a pack and configure it as the CLI does before the first resource: Handshake to Configure.

    A relative `pack_dir` is taken from `base` when given, else from the working directory; messages name
    it as given.
    """
    pack = PolicyPackProcess(((base or Path()) / pack_dir).resolve(), context)
    try:
        stub = pack.stub
        _call_optional(
            stub.Handshake,
            analyzer_pb2.AnalyzerHandshakeRequest(
                engine_address=ENGINE_ADDRESS_PLACEHOLDER,
                root_directory=str(pack.pack_dir),
                program_directory=str(pack.pack_dir),
            ),
        )
        _call_optional(
            stub.ConfigureStack,
            analyzer_pb2.AnalyzerStackConfigureRequest(
                stack=context.stack,
                project=context.project,
                organization=context.organization,
                dry_run=True,
                config=dict(context.config),
                config_secret_keys=sorted(context.secret_keys),
                tags=dict(context.tags),
            ),
        )
        _call_optional(stub.GetPluginInfo, empty_pb2.Empty())
        info: analyzer_pb2.AnalyzerInfo = stub.GetAnalyzerInfo(empty_pb2.Empty(), timeout=RPC_TIMEOUT_SECONDS)
        merged: dict[str, dict[str, Any]] = {}
        if info.supportsConfig:
            merged = merge_policy_config(info, config_overrides)
            stub.Configure(_configure_request(merged), timeout=RPC_TIMEOUT_SECONDS)
    except grpc.RpcError as error:
        pack.close()
        raise PolicyPackError(
            f"policy pack {pack_dir} failed: {error.details()}\n{pack.log}"  # type: ignore[attr-defined]
        ) from None
    except BaseException:
        pack.close()
        raise
    result = PackResult(
        name=info.name,
        version=pack.manifest_version or info.version,
        policy_count=len(info.policies),
        policies=_policy_infos(info, merged),
    )
    return pack, result


class Judgement:
    """One pack judging a stack resource by resource, as the engine drives it: each resource's Remediate
    then Analyze as it is registered, and one AnalyzeStack at the end, into `result`."""

    def __init__(self, pack: PolicyPackProcess, messages: ResourceMessages, result: PackResult):
        self.pack = pack
        self.result = result
        self._messages = messages
        self._analyzed: dict[str, struct_pb2.Struct] = {}

    def resource(self, resource: RecordedResource) -> None:
        with self._failures_said_plainly():
            request = self._messages.analyze_request(resource, resource.inputs)
            properties = _remediate(self.pack.stub, request, resource, self.result)
            if properties is not resource.inputs:
                request = self._messages.analyze_request(resource, properties)
            self._analyzed[resource.urn] = request.properties
            response = self.pack.stub.Analyze(request, timeout=RPC_TIMEOUT_SECONDS)
            self._record(resource.urn, "resource", response)

    def stack(self) -> PackResult:
        with self._failures_said_plainly():
            request = self._messages.stack_request(self._analyzed)
            response = self.pack.stub.AnalyzeStack(request, timeout=RPC_TIMEOUT_SECONDS)
            self._record("", "stack", response)
        self.result.log = self.pack.log
        return self.result

    def _record(self, urn: str, stage: str, response: Any) -> None:
        violations = list(_violations(response, self.result, urn))
        self.result.violations.extend(violations)
        self.result.summaries.append(_summary(urn, stage, response, violations, self.result.policies))

    @contextmanager
    def _failures_said_plainly(self) -> Iterator[None]:
        try:
            yield
        except grpc.RpcError as error:
            raise PolicyPackError(
                f"policy pack {self.pack.pack_dir} failed: {error.details()}\n{self.pack.log}"  # type: ignore[attr-defined]
            ) from None


def judge(pack: PolicyPackProcess, messages: ResourceMessages, result: PackResult) -> PackResult:
    """The engine's per-resource Remediate then Analyze, and the one AnalyzeStack, into `result`."""
    judgement = Judgement(pack, messages, result)
    for resource in messages.resources:
        judgement.resource(resource)
    return judgement.stack()


def analyze_with_pack(
    pack_dir: Path,
    recording: Recording,
    context: StackContext,
    config_overrides: Sequence[Mapping[str, Any]] = (),
    messages: ResourceMessages | None = None,
) -> PackResult:
    """Run one pack over a recording: the CLI's RPC sequence, from ConfigureStack to AnalyzeStack."""
    pack, result = start_pack(pack_dir, context, config_overrides)
    try:
        return judge(pack, messages or ResourceMessages(recording), result)
    finally:
        pack.close()


def _remediate(stub: Any, request: Any, resource: RecordedResource, result: PackResult) -> Mapping[str, Any]:
    """Remediations rewrite a resource's inputs before it is analyzed, as in the CLI."""
    properties: Mapping[str, Any] = resource.inputs
    response = stub.Remediate(request, timeout=RPC_TIMEOUT_SECONDS)
    for remediation in response.remediations:
        if remediation.HasField("properties"):
            properties = json_format.MessageToDict(remediation.properties)
            result.remediations.append(f"{remediation.policyName}: {resource.urn}")
    return properties


def start_packs(
    pack_dirs: Sequence[Path],
    context: StackContext,
    config_files: Sequence[Path] = (),
    base: Path | None = None,
    started: list[tuple[PolicyPackProcess, PackResult]] | None = None,
) -> list[tuple[PolicyPackProcess, PackResult]]:
    """Start and configure every pack; the i-th config file configures the i-th pack, as with the CLI's flags.

    Needs only the stack's config, not its resources, so `paved preview` runs it on a thread while the
    program runs; relative paths are then taken from `base`, as the program moves the working directory.
    Each started pack is appended to `started` as it comes up, so that another thread can stop it.
    """
    if len(config_files) > len(pack_dirs):
        raise PolicyPackError("more --policy-pack-config files than --policy-pack directories")
    started = [] if started is None else started
    try:
        for index, pack_dir in enumerate(pack_dirs):
            overrides = [read_policy_config(config_files[index], base)] if index < len(config_files) else []
            started.append(start_pack(pack_dir, context, overrides, base))
    except BaseException:
        close_packs(started)
        raise
    return started


def close_packs(started: Sequence[tuple[PolicyPackProcess, PackResult]]) -> None:
    for pack, _ in started:
        pack.close()


def judge_packs(
    started: Sequence[tuple[PolicyPackProcess, PackResult]], recording: Recording
) -> list[PackResult]:
    """Every started pack judges the recording in turn; each is closed afterwards, whatever happens."""
    try:
        messages = ResourceMessages(recording)
        return [judge(pack, messages, result) for pack, result in started]
    finally:
        close_packs(started)


def analyze(
    pack_dirs: Sequence[Path],
    recording: Recording,
    context: StackContext,
    config_files: Sequence[Path] = (),
) -> list[PackResult]:
    """Every pack in turn. The i-th config file configures the i-th pack, as with the CLI's flags."""
    return judge_packs(start_packs(pack_dirs, context, config_files), recording)


def read_policy_config(path: Path, base: Path | None = None) -> Mapping[str, Any]:
    """A `--policy-pack-config` document, or PolicyConfigError with every problem the CLI would refuse."""
    try:
        text = ((base or Path()) / path).read_text(encoding="utf-8")
        # A blank file is no config, not bad JSON, because the CLI takes it so: pulumi/pulumi
        # pkg/resource/analyzer/config.go, parsePolicyPackConfig, "Gracefully allow empty content".
        document = json.loads(text) if text.strip() else {}
    except OSError as error:
        problem = ConfigProblem("(file)", f"cannot be read: {error.strerror}", "check the path")
        raise PolicyConfigError(str(path), [problem]) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        problem = ConfigProblem("(file)", f"is not JSON: {error}", "write one JSON object")
        raise PolicyConfigError(str(path), [problem]) from None
    problems = policy_config_problems(document)
    if problems:
        raise PolicyConfigError(str(path), problems)
    return document
