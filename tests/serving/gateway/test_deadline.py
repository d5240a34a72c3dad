"""One deadline per request, under gunicorn as deployed: whatever stage the time goes to —
a body that trickles in, a wait for a slot, a model server that never answers — the answer
leaves within the deadline plus a small constant, and a client's shorter `grpc-timeout`
(gRPC's doc/PROTOCOL-HTTP2.md format) shortens it. And a client that trickles its body holds a
connection, not a slot: requests behind it are answered at once."""

from __future__ import annotations

import json
import queue
import select
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http import client as http_client

import grpc
import pytest

from serving.processes import start_gateway

pytestmark = pytest.mark.integration

DEADLINE_S = 1.0
LATE_S = 1.0
"""How much later than the deadline an answer may leave: scheduling on a busy machine, not
a stage of the request."""
SUM = b'{"sequences": [[1, 0, 1]]}'


class HungModelServer:
    """A gRPC server whose Predict never answers: every call waits for its deadline."""

    def __init__(self):
        self.server = grpc.server(ThreadPoolExecutor(8))
        self.server.add_generic_rpc_handlers(
            [
                grpc.method_handlers_generic_handler(
                    "tensorflow.serving.PredictionService",
                    {"Predict": grpc.unary_unary_rpc_method_handler(self._hang)},
                )
            ]
        )
        self.address = f"127.0.0.1:{self.server.add_insecure_port('127.0.0.1:0')}"
        self.calls: queue.Queue[float] = queue.Queue()
        """The time each call had left when it arrived."""
        self.server.start()

    def _hang(self, request: bytes, context: grpc.ServicerContext) -> bytes:
        self.calls.put(context.time_remaining())
        ended = threading.Event()
        context.add_callback(ended.set)  # the call's deadline passed or the client left
        ended.wait(30)
        return b""

    def close(self):
        self.server.stop(None)


class BlackHole:
    """A TCP address that accepts connections and never says a word: an HTTP request to it
    waits for its deadline."""

    def __init__(self):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.address = f"127.0.0.1:{self.listener.getsockname()[1]}"
        self.held: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                self.held.append(self.listener.accept()[0])
            except OSError:
                return

    def close(self):
        self.listener.close()
        for connection in self.held:
            connection.close()


@pytest.fixture(scope="module")
def hung_backend_gateway(tmp_path_factory):
    """The gateway (1 worker, 1 slot, 1 s deadline) in front of a model server that hangs."""
    hole, hung = BlackHole(), HungModelServer()
    gateway = start_gateway(
        hung.address,
        f"http://{hole.address}",
        tmp_path_factory.mktemp("deadline"),
        env={
            "GATEWAY_WORKERS": "1",
            "GATEWAY_MAX_IN_FLIGHT": "1",
            "GATEWAY_DEADLINE_S": str(DEADLINE_S),
            "GATEWAY_BODY_TIMEOUT_S": "30",
        },
        ready=False,
    )
    gateway.hung = hung
    yield gateway
    gateway.stop()
    hole.close()
    hung.close()


def connect(url: str) -> http_client.HTTPConnection:
    host, port = url.split("//")[1].split(":")
    return http_client.HTTPConnection(host, int(port), timeout=30)


def timed_post(url: str, path: str = "/v1/sum", headers: dict | None = None):
    connection = connect(url)
    started = time.monotonic()
    connection.request("POST", path, SUM, {"Content-Type": "application/json", **(headers or {})})
    response = connection.getresponse()
    body = json.loads(response.read())
    return response.status, body, time.monotonic() - started


def test_a_model_server_that_never_answers_is_504_within_the_deadline(hung_backend_gateway):
    status, body, took = timed_post(hung_backend_gateway.rest_url)
    assert (status, body["error"]["code"]) == (504, "deadline_exceeded")
    assert took < DEADLINE_S + LATE_S, took


def test_the_tf_serving_passthrough_spends_the_same_deadline(hung_backend_gateway):
    status, _, took = timed_post(hung_backend_gateway.rest_url, "/v1/models/sum_regressor:predict")
    assert status == 504
    assert took < DEADLINE_S + LATE_S, took


def arrivals(gateway) -> list[float]:
    """What each model server call since the last look had left when it arrived."""
    found = []
    while not gateway.hung.calls.empty():
        found.append(gateway.hung.calls.get())
    return found


def test_a_shorter_grpc_timeout_from_the_client_is_honoured(hung_backend_gateway):
    arrivals(hung_backend_gateway)
    status, _, took = timed_post(hung_backend_gateway.rest_url, headers={"grpc-timeout": "200m"})
    assert status == 504
    assert took < 0.2 + LATE_S, took
    lefts = arrivals(hung_backend_gateway)
    assert all(left <= 0.25 for left in lefts), lefts  # gRPC rounds a timeout up a little


def test_time_spent_waiting_for_a_slot_comes_out_of_the_deadline(hung_backend_gateway):
    """One slot: the first request (a 300 ms deadline) holds it until its deadline. The
    second, sent once the first waits on the model server, queues for the slot, then reaches
    the model server with only what its own deadline has left — never a fresh deadline."""
    arrivals(hung_backend_gateway)
    first = threading.Thread(
        target=timed_post,
        args=(hung_backend_gateway.rest_url,),
        kwargs={"headers": {"grpc-timeout": "300m"}},
    )
    first.start()
    hung_backend_gateway.hung.calls.put(hung_backend_gateway.hung.calls.get(timeout=30))
    status, _, took = timed_post(hung_backend_gateway.rest_url)
    first.join()
    assert status == 504
    assert took < DEADLINE_S + LATE_S, took
    lefts = arrivals(hung_backend_gateway)
    assert len(lefts) == 2 and lefts[1] < DEADLINE_S - 0.25, lefts


def test_a_body_that_trickles_in_is_cut_at_the_deadline(hung_backend_gateway):
    """One byte every 0.2 s, so the per-read wait (30 s here) never runs out: the deadline
    does, and the client gets 408 while it is still sending."""
    connection = connect(hung_backend_gateway.rest_url)
    started = time.monotonic()
    connection.putrequest("POST", "/v1/sum")
    connection.putheader("Content-Type", "application/json")
    connection.putheader("Content-Length", str(len(SUM)))
    connection.endheaders()
    for byte in SUM[:-1]:
        connection.sock.sendall(bytes([byte]))
        if select.select([connection.sock], [], [], 0.2)[0]:  # an answer has come
            break
    took = time.monotonic() - started
    response = http_client.HTTPResponse(connection.sock)
    response.begin()
    assert response.status == 408
    assert json.loads(response.read())["error"]["message"].endswith(
        "not received within the deadline"
    )
    assert took < DEADLINE_S + LATE_S, took


def test_clients_trickling_bodies_hold_no_slot(model_server, tmp_path):
    """Two slots, ten clients sending a body a byte at a time: a normal request is answered
    while all ten are still sending."""
    gateway = start_gateway(
        model_server.grpc_address,
        model_server.rest_url,
        tmp_path,
        env={"GATEWAY_WORKERS": "1", "GATEWAY_MAX_IN_FLIGHT": "2", "GATEWAY_DEADLINE_S": "60"},
        ready=False,
    )
    trickling = []
    try:
        for _ in range(10):
            connection = connect(gateway.rest_url)
            connection.putrequest("POST", "/v1/sum")
            connection.putheader("Content-Type", "application/json")
            connection.putheader("Content-Length", str(len(SUM)))
            connection.endheaders()
            connection.sock.sendall(SUM[:1])
            trickling.append(connection)
        status, body, _ = timed_post(gateway.rest_url)
        assert status == 200, body
        for connection in trickling:  # none of them has been answered: all still sending
            connection.sock.setblocking(False)
            with pytest.raises(BlockingIOError):
                connection.sock.recv(1)
    finally:
        for connection in trickling:
            connection.close()
        gateway.stop()
