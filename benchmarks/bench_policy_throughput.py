"""Policy pack throughput, measured: run with `uv run python benchmarks/bench_policy_throughput.py [N]`.

The synthetic stack is paved's own prod program (AWS networking, data, edge, EKS and Kubernetes resources),
copied until it holds N resources (5,000 by default): every copy gets its own URNs and keeps its
dependency edges, and all copies share the stack and provider resources, as one big program would.

The pack is started and configured exactly as `paved preview` does (paved.analyzer.start_pack), then timed
over the engine's sequence: Remediate and Analyze for every resource, then one AnalyzeStack, over the real
Analyzer gRPC protocol. Every pack is sent the same request messages, built once before any pack is timed
(about 0.06 ms per resource, the same for every pack and part of none). Three ways to read it:
- wall-clock resources/s with this Python client (`python`), sending every message and reading every
  response on the same two cores as the pack; it spends about 0.3 ms of CPU per call, on any pack;
- wall-clock resources/s with a compiled client (`compiled`, benchmarks/replay_client.cc, C++ gRPC from
  Debian's libgrpc++-dev and libprotobuf-dev), which replays the same request bytes one call at a time and
  parses every response, as the CLI's Go client does, for a tenth of the Python client's CPU. It replays
  the requests as they were built, so it runs only when no pack remediates (it counts remediations, and
  the benchmark stops if there are any);
- resources per second of the pack process's own CPU time (all its threads).
The client's own CPU time is printed too: it takes its share of the two cores and of every round trip.
The dispatching servicer (paved_policies/dispatch.py) runs ROUNDS times, each beside a run of the reference
pack, Pulumi's official Node.js AWS pack (benchmarks/awsguard; `npm ci` there first), which goes first in
every other round, and once with the plain SDK (PAVED_PLAIN_SDK=1). Medians are printed with their ratios
and the ratio to the 450 resources/s target. Only ratios measured in one run mean much: this VM's speed
drifts from minute to minute. Nothing is asserted: timings depend on the machine.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from google.protobuf import descriptor, descriptor_pb2, struct_pb2
from pulumi.runtime.proto import analyzer_pb2

from paved.analyzer import ResourceMessages, StackContext, judge, start_pack
from paved.program import run_project
from paved.recorder import RecordedResource, Recording

ROOT = Path(__file__).resolve().parent.parent
TARGET_PER_SECOND = 450
# Pulumi's official Node.js AWS pack, all policies mandatory except the one that calls AWS.
REFERENCE_PACK = ROOT / "benchmarks" / "awsguard"
ROUNDS = 5
REPLAY_SOURCE = ROOT / "benchmarks" / "replay_client.cc"
REPLAY_BUILD = ROOT / "benchmarks" / ".build" / "replay_client"
# The record's method byte, as replay_client.cc numbers them.
REMEDIATE, ANALYZE, ANALYZE_STACK = 0, 1, 2
SHARED_TYPE_PREFIX = "pulumi:"  # the stack and its providers: one of each, whatever the stack's size


def _renamed(urn: str, copy: int) -> str:
    return f"{urn}-copy{copy}" if urn and SHARED_TYPE_PREFIX not in urn.split("::")[2] else urn


def synthetic_stack(template: Recording, size: int) -> Recording:
    shared = [r for r in template.resources if r.type.startswith(SHARED_TYPE_PREFIX)]
    own = [r for r in template.resources if not r.type.startswith(SHARED_TYPE_PREFIX)]
    stack = Recording(project=template.project, stack=template.stack, resources=list(shared))
    copy = 0
    while len(stack.resources) < size:
        for resource in own[: size - len(stack.resources)]:
            stack.resources.append(_copied(resource, copy))
        copy += 1
    return stack


def _copied(resource: RecordedResource, copy: int) -> RecordedResource:
    return dataclasses.replace(
        resource,
        urn=_renamed(resource.urn, copy),
        name=f"{resource.name}-copy{copy}",
        parent=_renamed(resource.parent, copy),
        dependencies=[_renamed(urn, copy) for urn in resource.dependencies],
        property_dependencies={
            key: [_renamed(urn, copy) for urn in urns] for key, urns in resource.property_dependencies.items()
        },
    )


class PrebuiltMessages(ResourceMessages):
    """The recording's Analyze requests and AnalyzeStack request, built once and handed to every pack."""

    def __init__(self, recording: Recording):
        super().__init__(recording)
        build = super().analyze_request
        self._requests = {resource.urn: build(resource, resource.inputs) for resource in self.resources}
        self._stack = super().stack_request({urn: r.properties for urn, r in self._requests.items()})

    def analyze_request(self, resource: RecordedResource, properties: Mapping[str, Any]) -> Any:
        if properties is not resource.inputs:  # a pack remediated it: the engine would send the new inputs
            return super().analyze_request(resource, properties)
        return self._requests[resource.urn]

    def stack_request(self, properties_by_urn: Mapping[str, struct_pb2.Struct | Mapping[str, Any]]) -> Any:
        if any(properties_by_urn[urn] is not r.properties for urn, r in self._requests.items()):
            return super().stack_request(properties_by_urn)
        return self._stack


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _files_in_dependency_order(
    file: descriptor.FileDescriptor, seen: set[str]
) -> Iterator[descriptor_pb2.FileDescriptorProto]:
    if file.name in seen:
        return
    seen.add(file.name)
    for dependency in file.dependencies:
        yield from _files_in_dependency_order(dependency, seen)
    proto = descriptor_pb2.FileDescriptorProto()
    file.CopyToProto(proto)
    yield proto


def analyzer_descriptors() -> bytes:
    """analyzer.proto and everything it imports, each after its imports, as one FileDescriptorSet: what the
    compiled client needs to parse responses without generated code."""
    files = descriptor_pb2.FileDescriptorSet()
    files.file.extend(_files_in_dependency_order(analyzer_pb2.DESCRIPTOR, set()))
    return files.SerializeToString()


def _record(method: int, message: Any) -> bytes:
    payload = message.SerializeToString()
    return struct.pack("<BI", method, len(payload)) + payload


def replay_records(messages: ResourceMessages) -> bytes:
    """The engine's calls for `messages`, unremediated, in the record format replay_client.cc reads."""
    records = bytearray()
    analyzed: dict[str, struct_pb2.Struct] = {}
    for resource in messages.resources:
        request = messages.analyze_request(resource, resource.inputs)
        analyzed[resource.urn] = request.properties
        records += _record(REMEDIATE, request) + _record(ANALYZE, request)
    records += _record(ANALYZE_STACK, messages.stack_request(analyzed))
    return bytes(records)


def replay_client() -> Path | None:
    """The compiled client, built when its source is newer; None (and why) when it cannot be built here."""
    if REPLAY_BUILD.exists() and REPLAY_BUILD.stat().st_mtime >= REPLAY_SOURCE.stat().st_mtime:
        return REPLAY_BUILD
    compiler, pkg_config = shutil.which("g++"), shutil.which("pkg-config")
    flags = (
        subprocess.run(
            [pkg_config, "--cflags", "--libs", "grpc++", "protobuf"], capture_output=True, text=True
        )
        if pkg_config
        else None
    )
    if compiler is None or flags is None or flags.returncode != 0:
        print(
            "compiled client skipped: it needs g++, pkg-config and Debian's libgrpc++-dev and "
            "libprotobuf-dev (`apt-get install g++ pkg-config libgrpc++-dev libprotobuf-dev`)"
        )
        return None
    REPLAY_BUILD.parent.mkdir(exist_ok=True)
    subprocess.run(
        [compiler, "-O2", "-std=c++17", "-o", str(REPLAY_BUILD), str(REPLAY_SOURCE), *flags.stdout.split()],
        check=True,
    )
    return REPLAY_BUILD


@dataclasses.dataclass(frozen=True)
class Replay:
    """The compiled client and its inputs on disk."""

    client: Path
    descriptors: Path
    records: Path


@dataclasses.dataclass(frozen=True)
class Run:
    wall: float
    pack_cpu: float
    client_cpu: float
    violations: int
    policies: int


def measure(messages: ResourceMessages, context: StackContext, label: str, replay: Replay | None) -> Run:
    """One judged pass over `messages` by the pack `label`: with this process's Python client, or with the
    compiled client when `replay` is given."""
    variable = "PAVED_PLAIN_SDK"
    saved = os.environ.pop(variable, None)
    if label == "plain SDK":
        os.environ[variable] = "1"
    try:
        pack, result = start_pack(REFERENCE_PACK if label == "awsguard" else ROOT / "policies", context)
    finally:
        os.environ.pop(variable, None)
        if saved is not None:
            os.environ[variable] = saved
    try:
        pid = pack.pid
        cpu_before, client_before, started = _cpu_seconds(pid), time.process_time(), time.perf_counter()
        if replay is None:
            judge(pack, messages, result)
            wall, cpu = time.perf_counter() - started, _cpu_seconds(pid) - cpu_before
            return Run(
                wall, cpu, time.process_time() - client_before, len(result.violations), result.policy_count
            )
        replayed = subprocess.run(
            [str(replay.client), f"127.0.0.1:{pack.port}", str(replay.descriptors), str(replay.records)],
            capture_output=True,
            text=True,
            check=False,
        )
        cpu = _cpu_seconds(pid) - cpu_before
        if replayed.returncode != 0:
            raise RuntimeError(f"replay_client failed on {label}: {replayed.stderr.strip()}\n{pack.log}")
        wall_text, client_text, diagnostics, remediations = replayed.stdout.split()
        if int(remediations):
            raise RuntimeError(f"{label} remediated: a replay of unremediated requests would not be its run")
        return Run(float(wall_text), cpu, float(client_text), int(diagnostics), result.policy_count)
    finally:
        pack.close()


def main() -> None:
    size = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    template = run_project(ROOT, "prod")
    stack = synthetic_stack(template, size)
    context = StackContext(
        project=template.project,
        stack="prod",
        organization="organization",
        config={},
        secret_keys=frozenset(),
    )
    messages = PrebuiltMessages(stack)
    types = {r.type for r in stack.resources}
    print(f"synthetic stack: {len(stack.resources)} resources of {len(types)} types")
    # This machine's speed drifts from minute to minute (a shared VM): the dispatching servicer runs
    # ROUNDS times, each beside a run of the reference pack when it is installed, and medians count; the
    # slow plain SDK runs once, in the middle, for the ratio.
    reference = ["awsguard"] if (REFERENCE_PACK / "node_modules").is_dir() else []
    if not reference:
        print(f"reference pack not installed: `npm ci` in {REFERENCE_PACK} to compare with awsguard")
    # Alternating which pack goes first keeps a slow start or end of a round from favouring either.
    rounds = [["dispatching", *reference][:: 1 if index % 2 == 0 else -1] for index in range(ROUNDS)]
    rounds.insert(ROUNDS // 2, ["plain SDK"])
    with tempfile.TemporaryDirectory() as scratch:
        client = replay_client()
        replay = None
        if client is not None:
            replay = Replay(client, Path(scratch) / "analyzer.desc", Path(scratch) / "requests.bin")
            replay.descriptors.write_bytes(analyzer_descriptors())
            replay.records.write_bytes(replay_records(messages))
        clients = {"python": None, **({"compiled": replay} if replay is not None else {})}
        print(
            "pack         client     wall_s  res/s  x_target  pack_cpu_s  res/cpu_s  x_target  client_cpu_s"
            "  violations  policies"
        )
        runs: dict[tuple[str, str], list[tuple[float, float]]] = {}
        for label in (label for round_labels in rounds for label in round_labels):
            for client_name, client_replay in clients.items():
                if label == "plain SDK" and client_replay is not None:
                    continue  # slow, and its ratio needs only one reading
                run = measure(messages, context, label, client_replay)
                per_wall, per_cpu = len(stack.resources) / run.wall, len(stack.resources) / run.pack_cpu
                runs.setdefault((label, client_name), []).append((per_wall, per_cpu))
                print(
                    f"{label:12s} {client_name:8s} {run.wall:7.2f} {per_wall:6.0f}"
                    f" {per_wall / TARGET_PER_SECOND:9.2f}"
                    f" {run.pack_cpu:11.2f} {per_cpu:10.0f} {per_cpu / TARGET_PER_SECOND:9.2f}"
                    f" {run.client_cpu:13.2f} {run.violations:11d} {run.policies:9d}"
                )
    medians = {
        key: tuple(statistics.median(rates) for rates in zip(*pairs, strict=True))
        for key, pairs in runs.items()
    }
    for client_name in clients:
        fast_wall, fast_cpu = medians[("dispatching", client_name)]
        print(
            f"dispatching, {client_name} client, median of {ROUNDS}: {fast_wall:.0f} res/s wall-clock "
            f"({fast_wall / TARGET_PER_SECOND:.2f}x the target), {fast_cpu:.0f} res per pack CPU second "
            f"({fast_cpu / TARGET_PER_SECOND:.2f}x)"
        )
        for other in ("plain SDK", *reference):
            if (other, client_name) not in medians:
                continue
            other_wall, other_cpu = medians[(other, client_name)]
            print(
                f"dispatching / {other}, {client_name} client: {fast_wall / other_wall:.2f}x wall-clock, "
                f"{fast_cpu / other_cpu:.2f}x pack CPU"
            )


if __name__ == "__main__":
    main()
