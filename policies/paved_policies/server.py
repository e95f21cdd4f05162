"""The pack's gRPC server: each call answered on the thread that receives it.

`PolicyPack` serves with `grpc.server(ThreadPoolExecutor(max_workers=4))`. For every call, grpc's Python
server hands the call from its polling thread to a pool thread, which asks for the request and waits until
the polling thread has it, then answers; with the pack's CPU-bound handlers, which hold the GIL anyway,
those handoffs are all the pool buys. They cost as much as the work itself: on the development VM, a
servicer answering the engine's Remediate and Analyze with empty responses took 0.4-0.5 ms of CPU per
resource behind grpc.server and 0.2 ms behind this one.

`InlineServer` drives grpc's core the way grpc.server does (`grpc._cython.cygrpc`: the same completion
queue, the same operations), on one thread: it receives a call, starts reading its request, and when the
request is there runs the handler and, in one batch, sends the response and status and receives the close.
Calls are answered one at a time, as the pool answered them one GIL-holder at a time. It serves unary calls
(every Analyzer method is one) and says what grpc.server says: a handler's `set_code`/`set_details`,
"Exception calling application: ..." with UNKNOWN when a handler raises, UNIMPLEMENTED "Method not found!"
for a method no handler serves.

grpc's core API is private to grpcio, so `dispatch.install` uses this only on the grpcio version it was tested
with (pinned in policies/requirements.txt); any other version gets grpc.server.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

import grpc
from grpc._cython import cygrpc

_NO_FLAGS = 0
_REQUEST_CALL = "request_call"
_SHUTDOWN = "shutdown"
_LOGGER = logging.getLogger(__name__)


class _HandlerCallDetails(NamedTuple):
    method: str
    invocation_metadata: Any


class _Context:
    """What a handler may say about its call's status; the generated servicer base class uses it to answer
    UNIMPLEMENTED."""

    def __init__(self) -> None:
        self.code: grpc.StatusCode | None = None
        self.details: bytes | None = None

    def set_code(self, code: grpc.StatusCode) -> None:
        self.code = code

    def set_details(self, details: str) -> None:
        self.details = details.encode()


def _cygrpc_code(code: grpc.StatusCode) -> Any:
    return code.value[0]


class InlineServer:
    """The part of `grpc.Server` that `PolicyPack` uses: add_generic_rpc_handlers, add_insecure_port,
    start and stop."""

    def __init__(self, options: Sequence[tuple[str, Any]] = ()) -> None:
        self._queue = cygrpc.CompletionQueue()
        self._server = cygrpc.Server(tuple(options), False)
        self._server.register_completion_queue(self._queue)
        self._generic_handlers: list[grpc.GenericRpcHandler] = []
        self._handlers: dict[bytes, grpc.RpcMethodHandler | None] = {}
        self._stopped = threading.Event()
        # Held while the core server is being shut down, so that it is not destroyed in the middle.
        self._lock = threading.Lock()
        self._stopping = False

    def add_generic_rpc_handlers(self, generic_rpc_handlers: Iterable[grpc.GenericRpcHandler]) -> None:
        self._generic_handlers.extend(generic_rpc_handlers)

    def add_insecure_port(self, address: str) -> int:
        return self._server.add_http2_port(address.encode())

    def start(self) -> None:
        self._server.start()
        self._request_call()
        threading.Thread(target=self._serve, name="paved-grpc", daemon=True).start()

    def stop(self, grace: float | None) -> threading.Event:
        """Stop at once, cancelling calls in flight: the pack is stopped only when the engine is done."""
        del grace
        with self._lock:
            if not self._stopping:
                self._stopping = True
                self._server.shutdown(self._queue, _SHUTDOWN)
                self._server.cancel_all_calls()
        return self._stopped

    def _request_call(self) -> None:
        self._server.request_call(self._queue, self._queue, _REQUEST_CALL)

    def _serve(self) -> None:
        while True:
            event = self._queue.poll()
            tag = event.tag
            try:
                if tag is _REQUEST_CALL:
                    self._request_call()
                    if event.success:
                        self._accept(event)
                elif tag is _SHUTDOWN:
                    with self._lock:
                        self._server.destroy()
                    self._stopped.set()
                    return
                elif callable(tag):
                    tag(event)
                # Anything else is a queue timeout: poll again.
            except Exception:
                # As grpc.server: one call's failure is logged, and the server goes on.
                _LOGGER.exception("Exception serving a call")

    def _handler(self, method: bytes, invocation_metadata: Any) -> Any:
        if method not in self._handlers:
            details = _HandlerCallDetails(method.decode(), invocation_metadata)
            found = None
            for generic_handler in self._generic_handlers:
                found = generic_handler.service(details)  # type: ignore[arg-type]
                if found is not None:
                    break
            self._handlers[method] = found
        return self._handlers[method]

    def _accept(self, event: Any) -> None:
        call, method = event.call, event.call_details.method
        handler = self._handler(method, event.invocation_metadata)
        if handler is None or handler.request_streaming or handler.response_streaming:
            _finish(call, cygrpc.StatusCode.unimplemented, b"Method not found!")
            return
        call.start_server_batch(
            (cygrpc.ReceiveMessageOperation(_NO_FLAGS),),
            lambda received: _answer(call, method, handler, received),
        )


def _ignore(_event: Any) -> None:
    """Completions that need nothing done: a sent answer and the call's close."""


def _answer(call: Any, method: bytes, handler: Any, received: Any) -> None:
    message = received.batch_operations[0].message() if received.success else None
    if message is None:
        # The client closed without a request, or cancelled (then nothing is sent).
        details = f'"{method.decode()}" requires exactly one request message.'
        _finish(call, cygrpc.StatusCode.unimplemented, details.encode())
        return
    try:
        request = handler.request_deserializer(message)
    except Exception:
        _LOGGER.exception("Exception deserializing message!")
        _finish(call, cygrpc.StatusCode.internal, b"Exception deserializing request!")
        return
    context = _Context()
    try:
        response = handler.unary_unary(request, context)
    except Exception as error:
        details = f"Exception calling application: {error}"
        _LOGGER.exception(details)
        code = _cygrpc_code(context.code) if context.code is not None else cygrpc.StatusCode.unknown
        _finish(call, code, context.details if context.details is not None else details.encode())
        return
    try:
        payload = handler.response_serializer(response)
    except Exception:
        _LOGGER.exception("Exception serializing message!")
        _finish(call, cygrpc.StatusCode.internal, b"Failed to serialize response!")
        return
    code = _cygrpc_code(context.code) if context.code is not None else cygrpc.StatusCode.ok
    _finish(call, code, context.details or b"", payload)


def _finish(call: Any, code: Any, details: bytes, payload: bytes | None = None) -> None:
    # The close is received in the answer's own batch, not in one started with the call as grpc.server
    # does (to tell handlers of a cancellation, which these handlers never ask about): one batch and one
    # completion fewer per call.
    operations = [
        cygrpc.SendInitialMetadataOperation(None, _NO_FLAGS),
        cygrpc.ReceiveCloseOnServerOperation(_NO_FLAGS),
    ]
    if payload is not None:
        operations.append(cygrpc.SendMessageOperation(payload, _NO_FLAGS))
    operations.append(cygrpc.SendStatusFromServerOperation(None, code, details, _NO_FLAGS))
    call.start_server_batch(operations, _ignore)


class InlineGrpc:
    """Stands in for the grpc module inside pulumi_policy.policy, whose one use of it is `PolicyPack`'s
    `grpc.server(ThreadPoolExecutor(max_workers=4), options=...)`."""

    @staticmethod
    def server(thread_pool: Any, options: Sequence[tuple[str, Any]] = ()) -> InlineServer:
        del thread_pool  # never started: InlineServer has no use for it
        return InlineServer(options)
