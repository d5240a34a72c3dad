"""Retries come from gRPC's own machinery (gRFC A6: a retry policy and retry throttling in the
channel's service config), not from a loop around the call: only UNAVAILABLE is retried, with
backoff, within the caller's deadline, and a server that keeps refusing stops getting retries.
The servers here are real gRPC servers that count what reaches them."""

from __future__ import annotations

import threading
from concurrent import futures

import grpc
import numpy as np
import pytest

from client.grpc_client import ServingClient, ServingClientError
from protocol.messages import predict_pb2, prediction_service_pb2_grpc
from serving.processes import free_port


class CountingPredictions(prediction_service_pb2_grpc.PredictionServiceServicer):
    """Answers Predict with `code` for the calls `refuse(n)` picks (n counts from 1)."""

    def __init__(self, refuse, code=grpc.StatusCode.UNAVAILABLE):
        self.refuse, self.code = refuse, code
        self.calls = 0
        self.lock = threading.Lock()

    def Predict(self, request, context):
        with self.lock:
            self.calls += 1
            number = self.calls
        if self.refuse(number):
            context.abort(self.code, "the batch scheduling queue is full")
        return predict_pb2.PredictResponse()


@pytest.fixture
def serve():
    servers = {}

    def start(servicer) -> str:
        server = grpc.server(futures.ThreadPoolExecutor(8))
        prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(servicer, server)
        port = free_port()
        server.add_insecure_port(f"127.0.0.1:{port}")
        server.start()
        servers[f"127.0.0.1:{port}"] = server
        return f"127.0.0.1:{port}"

    start.servers = servers
    yield start
    for server in servers.values():
        server.stop(0)


def predict(client: ServingClient) -> None:
    client.predict("m", {"x": np.zeros(1, np.float32)})


def test_an_unavailable_answer_is_retried_by_the_channel(serve):
    servicer = CountingPredictions(refuse=lambda n: n == 1)
    with ServingClient(serve(servicer), timeout=5, retries=3) as client:
        predict(client)
    assert servicer.calls == 2


@pytest.mark.parametrize("code", [grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.INTERNAL])
def test_other_errors_are_not_retried(serve, code):
    servicer = CountingPredictions(refuse=lambda n: True, code=code)
    client = ServingClient(serve(servicer), timeout=5, retries=3)
    with client, pytest.raises(ServingClientError) as raised:
        predict(client)
    assert raised.value.code == code and servicer.calls == 1


def test_an_overloaded_server_sees_about_the_offered_load_not_four_times_it(serve):
    """Retry throttling: once most recent calls failed, the channel stops retrying, so a server
    refusing everything gets ~1× the requests, not (1 + retries)×."""
    servicer = CountingPredictions(refuse=lambda n: True)
    offered = 200
    with ServingClient(serve(servicer), timeout=5, retries=3) as client:
        for _ in range(offered):
            with pytest.raises(ServingClientError):
                predict(client)
    amplification = servicer.calls / offered
    print(f"retry amplification under overload: {servicer.calls} calls / {offered} requests")
    assert amplification <= 1.1


def test_replicas_share_the_calls_round_robin(serve):
    """A target listing two replicas: gRPC's round_robin sends each about half."""
    first, second = CountingPredictions(lambda n: False), CountingPredictions(lambda n: False)
    target = f"{serve(first)},{serve(second)}"
    with ServingClient(target, timeout=5, retries=3) as client:
        for _ in range(100):
            predict(client)
    assert first.calls + second.calls == 100
    assert min(first.calls, second.calls) >= 30, (first.calls, second.calls)


def test_no_call_fails_when_a_replica_goes_away(serve):
    """One of two replicas stops (its connections reset, as when it is killed): every call
    still succeeds; the channel stops picking it and retries what it refused elsewhere."""
    leaving, staying = CountingPredictions(lambda n: False), CountingPredictions(lambda n: False)
    leaving_address = serve(leaving)
    with ServingClient(f"{leaving_address},{serve(staying)}", timeout=5, retries=3) as client:
        for _ in range(20):
            predict(client)
        serve.servers[leaving_address].stop(0)
        for _ in range(100):
            predict(client)
    assert leaving.calls + staying.calls >= 120
    assert staying.calls >= 100
