"""The pack's InlineServer says over the wire what grpc.server says, call for call.

The same servicer is served by each, and a real gRPC client compares what comes back: responses, status
codes and details for a handler that answers, one that raises, one that sets its own status, a method the
servicer leaves unimplemented and one no handler serves, many calls at once, and messages past gRPC's
default 4 MB.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent import futures
from typing import Any

import grpc
import pytest
from google.protobuf import empty_pb2
from paved_policies.server import InlineGrpc, InlineServer
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc, plugin_pb2

# What PolicyPack passes: it takes stacks far above gRPC's default 4 MB.
OPTIONS = [("grpc.max_receive_message_length", 400 * 1024 * 1024)]


class Servicer(analyzer_pb2_grpc.AnalyzerServicer):
    def Analyze(self, request: Any, context: Any) -> Any:  # noqa: N802 - the gRPC method name
        return analyzer_pb2.AnalyzeResponse(
            diagnostics=[
                analyzer_pb2.AnalyzeDiagnostic(urn=request.urn, message=str(len(request.properties)))
            ]
        )

    def Remediate(self, request: Any, context: Any) -> Any:  # noqa: N802 - the gRPC method name
        raise ValueError(f"cannot remediate {request.urn}")

    def GetPluginInfo(self, request: Any, context: Any) -> Any:  # noqa: N802 - the gRPC method name
        context.set_code(grpc.StatusCode.FAILED_PRECONDITION)
        context.set_details("not yet")
        return plugin_pb2.PluginInfo(version="1.0.0")

    # Handshake is left to the generated base class: UNIMPLEMENTED, as in the SDK's servicer.


def _grpc_server() -> Any:
    return grpc.server(futures.ThreadPoolExecutor(max_workers=4), options=OPTIONS)


SERVERS: dict[str, Callable[[], Any]] = {
    "grpc.server": _grpc_server,
    "InlineServer": lambda: InlineGrpc.server(futures.ThreadPoolExecutor(max_workers=4), options=OPTIONS),
}


def _serve(make: Callable[[], Any]) -> tuple[Any, grpc.Channel]:
    server = make()
    analyzer_pb2_grpc.add_AnalyzerServicer_to_server(Servicer(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    channel = grpc.insecure_channel(f"127.0.0.1:{port}", options=[("grpc.max_send_message_length", -1)])
    return server, channel


@pytest.fixture(params=list(SERVERS), scope="module")
def channels(request: pytest.FixtureRequest) -> Iterator[dict[str, grpc.Channel]]:
    """A channel to each server, the one under test first."""
    served = {name: _serve(SERVERS[name]) for name in sorted(SERVERS, key=lambda name: name != request.param)}
    yield {name: channel for name, (_, channel) in served.items()}
    for server, channel in served.values():
        channel.close()
        server.stop(0)


def _outcome(call: Callable[[], Any]) -> tuple[str, Any]:
    try:
        return "ok", call()
    except grpc.RpcError as error:
        return error.code().name, error.details()  # type: ignore[attr-defined]


def _both(channels: dict[str, grpc.Channel], call: Callable[[Any], Any]) -> list[tuple[str, Any]]:
    return [
        _outcome(lambda channel=channel: call(analyzer_pb2_grpc.AnalyzerStub(channel)))
        for channel in channels.values()
    ]


def _request(urn: str, size: int = 3) -> Any:
    request = analyzer_pb2.AnalyzeRequest(type="aws:s3/bucket:Bucket", urn=urn, name="b")
    request.properties.update({f"key{index}": "x" * 100 for index in range(size)})
    return request


def test_a_response(channels: dict[str, grpc.Channel]) -> None:
    inline, plain = _both(channels, lambda stub: stub.Analyze(_request("urn:a")))
    assert inline == plain
    assert inline[1].diagnostics[0].urn == "urn:a"


def test_a_handler_that_raises(channels: dict[str, grpc.Channel]) -> None:
    inline, plain = _both(channels, lambda stub: stub.Remediate(_request("urn:b")))
    assert inline == plain == ("UNKNOWN", "Exception calling application: cannot remediate urn:b")


def test_a_handler_that_sets_its_status(channels: dict[str, grpc.Channel]) -> None:
    inline, plain = _both(channels, lambda stub: stub.GetPluginInfo(empty_pb2.Empty()))
    assert inline == plain == ("FAILED_PRECONDITION", "not yet")


def test_a_method_the_servicer_does_not_implement(channels: dict[str, grpc.Channel]) -> None:
    inline, plain = _both(channels, lambda stub: stub.Handshake(analyzer_pb2.AnalyzerHandshakeRequest()))
    assert inline == plain == ("UNIMPLEMENTED", "Method not implemented!")


def test_a_method_no_handler_serves(channels: dict[str, grpc.Channel]) -> None:
    def call(channel: grpc.Channel) -> Any:
        method = channel.unary_unary(
            "/pulumirpc.Analyzer/Judge", request_serializer=None, response_deserializer=None
        )
        return method(b"")

    inline, plain = (_outcome(lambda channel=channel: call(channel)) for channel in channels.values())
    assert inline == plain == ("UNIMPLEMENTED", "Method not found!")


def test_a_message_past_the_default_limit(channels: dict[str, grpc.Channel]) -> None:
    big = _request("urn:big", size=60_000)
    assert big.ByteSize() > 4 * 1024 * 1024
    inline, plain = _both(channels, lambda stub: stub.Analyze(big))
    assert inline == plain
    assert inline[1].diagnostics[0].message == "60000"


def test_many_calls_at_once(channels: dict[str, grpc.Channel]) -> None:
    stub = analyzer_pb2_grpc.AnalyzerStub(next(iter(channels.values())))
    urns = [f"urn:{index}" for index in range(64)]
    with futures.ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda urn: stub.Analyze(_request(urn)).diagnostics[0].urn, urns))
    assert answers == urns


def test_stop_ends_serving() -> None:
    server, channel = _serve(InlineServer)
    stub = analyzer_pb2_grpc.AnalyzerStub(channel)
    assert stub.Analyze(_request("urn:before")).diagnostics
    assert server.stop(0).wait(timeout=10)
    assert server.stop(0).is_set()
    with pytest.raises(grpc.RpcError) as error:
        stub.Analyze(_request("urn:after"), timeout=5)
    assert error.value.code() == grpc.StatusCode.UNAVAILABLE  # type: ignore[attr-defined]
    channel.close()
