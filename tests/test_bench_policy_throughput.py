"""The throughput benchmark's inputs for its compiled client (benchmarks/replay_client.cc), which parses
them with no generated code: what it reads must be what the engine would send, in the order it would."""

from __future__ import annotations

import struct
from collections.abc import Callable

from google.protobuf import descriptor_pb2
from pulumi.runtime.proto import analyzer_pb2

from benchmarks.bench_policy_throughput import (
    ANALYZE,
    ANALYZE_STACK,
    REMEDIATE,
    analyzer_descriptors,
    replay_records,
)
from paved.analyzer import ResourceMessages
from paved.recorder import Recording


def test_every_descriptor_comes_after_the_files_it_imports() -> None:
    files = descriptor_pb2.FileDescriptorSet.FromString(analyzer_descriptors()).file
    names = [file.name for file in files]
    assert names[-1] == analyzer_pb2.DESCRIPTOR.name
    assert "google/protobuf/struct.proto" in names
    for position, file in enumerate(files):
        assert set(file.dependency) <= set(names[:position]), file.name


def test_the_records_are_the_engines_calls_in_its_order(
    shipped_recordings: Callable[[str], Recording],
) -> None:
    recording = shipped_recordings("prod")
    messages = ResourceMessages(recording)
    data = replay_records(messages)
    calls: list[tuple[int, bytes]] = []
    at = 0
    while at < len(data):
        method, length = struct.unpack_from("<BI", data, at)
        calls.append((method, data[at + 5 : at + 5 + length]))
        at += 5 + length
    assert at == len(data)
    assert [method for method, _ in calls] == [REMEDIATE, ANALYZE] * len(recording.resources) + [
        ANALYZE_STACK
    ]
    for index, resource in enumerate(recording.resources):
        remediate, analyze = calls[2 * index][1], calls[2 * index + 1][1]
        assert remediate == analyze
        assert analyzer_pb2.AnalyzeRequest.FromString(analyze).urn == resource.urn
    stack = analyzer_pb2.AnalyzeStackRequest.FromString(calls[-1][1])
    assert [r.urn for r in stack.resources] == [r.urn for r in recording.resources]
