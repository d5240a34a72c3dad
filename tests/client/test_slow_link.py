"""The client over a slow network: every byte each way arrives 0.7 s late (a delaying TCP
proxy in front of the real model server). gRPC's connect timeout must outlast the link's
handshake, so the first call succeeds within its deadline."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from client.grpc_client import ServingClient

DELAY_S = 0.7


class DelayingProxy:
    """Forwards each connection to `target`, every chunk delivered DELAY_S after it came."""

    def __init__(self, target: tuple[str, int]):
        self.target = target
        self.stopped = threading.Event()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.address = f"127.0.0.1:{self.listener.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.stopped.is_set():
            try:
                near, _ = self.listener.accept()
            except OSError:
                return
            far = socket.create_connection(self.target)
            for source, sink in ((near, far), (far, near)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        with source, sink:
            for chunk, due in self._chunks(source):
                if self.stopped.wait(max(0.0, due - time.monotonic())):
                    return
                try:
                    sink.sendall(chunk)
                except OSError:
                    return

    def _chunks(self, source: socket.socket) -> Iterator[tuple[bytes, float]]:
        """Each chunk read, with when it is due on the other side, read ahead by a thread so
        that the delay is per chunk, not added up."""
        ready: list[tuple[bytes, float]] = []
        arrived = threading.Condition()

        def read() -> None:
            while True:
                try:
                    chunk = source.recv(65536)
                except OSError:
                    chunk = b""
                with arrived:
                    ready.append((chunk, time.monotonic() + DELAY_S))
                    arrived.notify()
                if not chunk:
                    return

        threading.Thread(target=read, daemon=True).start()
        while True:
            with arrived:
                arrived.wait_for(lambda: ready or self.stopped.is_set())
                if self.stopped.is_set():
                    return
                chunk, due = ready.pop(0)
            if not chunk:
                return
            yield chunk, due

    def close(self) -> None:
        self.stopped.set()
        self.listener.close()


@pytest.fixture
def slow_link(model_server):
    host, port = model_server.grpc_address.rsplit(":", 1)
    proxy = DelayingProxy((host, int(port)))
    yield proxy.address
    proxy.close()


def test_the_first_call_over_a_slow_link_succeeds_within_its_deadline(slow_link):
    with ServingClient(slow_link, timeout=15) as client:
        started = time.monotonic()
        states = client.status("forecaster")
    assert [(s.version, s.state) for s in states] == [(1, "AVAILABLE")]
    assert time.monotonic() - started >= DELAY_S  # the link really was slow
