"""A Locust user that calls gRPC services, after Locust's own gRPC example: a client
interceptor fires `events.request` for every call; gRPC runs on gevent."""

from __future__ import annotations

import time

import grpc
import grpc.experimental.gevent as grpc_gevent
from locust import User
from locust.env import Environment

grpc_gevent.init_gevent()


class LocustInterceptor(grpc.UnaryUnaryClientInterceptor):
    """Reports each unary call to Locust: name = method, failure = any non-OK status."""

    def __init__(self, environment: Environment):
        self.environment = environment

    def intercept_unary_unary(self, continuation, client_call_details, request):
        started = time.perf_counter()
        call = continuation(client_call_details, request)
        exception, length = None, 0
        try:
            length = call.result().ByteSize()
        except grpc.RpcError as error:
            exception = error
        self.environment.events.request.fire(
            request_type="grpc",
            name=_name(client_call_details.method, request),
            response_time=(time.perf_counter() - started) * 1000,
            response_length=length,
            response=call,
            context=None,
            exception=exception,
        )
        return call


def _name(method: str, request) -> str:
    """`Predict digit_classifier`: the method, and the model when the request names one."""
    short = method.rsplit("/", 1)[-1]
    spec = getattr(request, "model_spec", None)
    return f"{short} {spec.name}" if spec is not None and spec.name else short


class GrpcUser(User):
    """Abstract: subclasses set `stub_class`; `self.stub` calls through the interceptor."""

    abstract = True
    stub_class = None
    address: str = "localhost:8500"

    def __init__(self, environment: Environment):
        super().__init__(environment)
        channel = grpc.insecure_channel(self.address)
        self._channel = grpc.intercept_channel(channel, LocustInterceptor(environment))
        self.stub = self.stub_class(self._channel)

    def on_stop(self) -> None:
        self._channel.close()
