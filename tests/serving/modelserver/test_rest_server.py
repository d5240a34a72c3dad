"""The model server's REST port under slow and half-open clients, like the gateway's: a
client that sends half a request head, or a body a byte at a time, costs a socket, not a
thread, and normal requests are answered meanwhile (waitress: one I/O thread for every
connection, a fixed pool for complete requests)."""

from __future__ import annotations

import re
import socket
from pathlib import Path

from serving.processes import http

HALF_OPEN = 300


def threads_of(pid: int) -> int:
    return int(re.search(r"Threads:\s+(\d+)", Path(f"/proc/{pid}/status").read_text())[1])


def test_half_open_heads_and_trickling_bodies_cost_no_threads(model_server):
    host, port = model_server.rest_url.split("//")[1].split(":")
    before = threads_of(model_server.process.pid)
    held = []
    try:
        for index in range(HALF_OPEN):
            connection = socket.create_connection((host, int(port)), timeout=30)
            if index % 2:
                connection.sendall(b"GET /v1/models/sum_regressor HTTP/1.1\r\nHost: x\r\n")
            else:
                connection.sendall(
                    b"POST /v1/models/sum_regressor:predict HTTP/1.1\r\nHost: x\r\n"
                    b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"
                )
            held.append(connection)
        status, text = http("GET", model_server.rest_url + "/v1/models/sum_regressor", timeout=10)
        assert status == 200 and "AVAILABLE" in str(text)
        assert threads_of(model_server.process.pid) < before + 20
    finally:
        for connection in held:
            connection.close()
    status, _ = http("GET", model_server.rest_url + "/v1/models/sum_regressor", timeout=10)
    assert status == 200
