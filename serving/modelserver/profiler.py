"""TensorFlow's profiler service on the model server's gRPC port, as TF Serving registers it
there with --enable_profiler (`model_servers/server.cc`): TensorBoard's "capture profile" and
`tf.profiler.experimental.client.trace("grpc://host:8500", logdir, ms)` work against the same
address as predictions.

TensorFlow's Python API offers the service only as a gRPC server of its own
(`tf.profiler.experimental.server.start(port)`), so that server is started on a spare port at
the first profiler call, and every `/tensorflow.ProfilerService/<method>` call on the model
server's port is relayed to it as it came (bytes in, bytes out, the caller's deadline). Its
answers, its errors and the trace files it writes into the caller's logdir are TensorFlow's
own. (TensorFlow binds that spare port on every interface; the Kubernetes NetworkPolicies admit
only the model server's two ports.)
"""

from __future__ import annotations

import asyncio
import socket

import grpc

SERVICE = "tensorflow.ProfilerService"


class ProfilerRelay(grpc.GenericRpcHandler):
    def __init__(self):
        self._channel: grpc.aio.Channel | None = None
        self._starting = asyncio.Lock()

    def service(self, handler_call_details):
        method = handler_call_details.method
        if not method.startswith(f"/{SERVICE}/"):
            return None

        async def relay(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
            channel = await self._profiler_channel()
            call = channel.unary_unary(method)
            try:
                return await call(request, timeout=context.time_remaining())
            except grpc.aio.AioRpcError as error:
                await context.abort(error.code(), error.details() or "")

        return grpc.unary_unary_rpc_method_handler(relay)

    async def _profiler_channel(self) -> grpc.aio.Channel:
        async with self._starting:
            if self._channel is None:
                port = await asyncio.to_thread(_start_profiler_server)
                self._channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
            return self._channel


def _start_profiler_server() -> int:
    """TensorFlow's profiler server on a free port (imported here: TensorFlow's profiler only
    loads when someone profiles)."""
    from tensorflow.python.profiler import profiler_v2

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    profiler_v2.start_server(port)
    return port
