"""Faults and abuse against the real gateway (gunicorn) and model server processes: SIGTERM
under load, 100 MB bodies, slow clients, TLS to the model server. (Backend loss and restart:
tests/loadtest/test_soak.py, on make run's own processes.)"""

from __future__ import annotations

import contextlib
import json
import signal
import socket
import subprocess
import threading
import time
from collections import Counter
from http import client as http_client
from pathlib import Path

import pytest

from serving.processes import (
    free_port,
    http,
    start_gateway,
    start_model_server,
    write_models_config,
)
from tests.support.waiting import wait_until

SUM_BODY = json.dumps({"sequences": [[1, 0, 1, 1]]}).encode()
JSON = {"Content-Type": "application/json"}


@pytest.fixture
def sum_stack(models_dir, tmp_path):
    """A model server with sum_regressor on fixed ports, and a gateway (2 s deadline)."""
    config = write_models_config(
        tmp_path / "models.config", {"sum_regressor": models_dir / "sum_regressor"}
    )
    ports = (free_port(), free_port())
    server = start_model_server(config, ["sum_regressor"], tmp_path, ports=ports)
    gateway = start_gateway(
        server.grpc_address,
        server.rest_url,
        tmp_path,
        {"GATEWAY_MODELS": "sum_regressor", "GATEWAY_DEADLINE_S": "2"},
    )
    stack = {
        "config": config,
        "ports": ports,
        "server": server,
        "gateway": gateway,
        "workdir": tmp_path,
    }
    yield stack
    gateway.stop()
    stack["server"].stop()


class Load:
    """Closed-loop POSTs to one URL from a few threads; records (start, status, seconds)."""

    def __init__(self, url: str, body: bytes, threads: int = 4, new_connections: bool = False):
        self.url, self.body, self.new_connections = url, body, new_connections
        self.records: list[tuple[float, object, float]] = []
        self.running = True
        self.threads = [threading.Thread(target=self._loop) for _ in range(threads)]
        for thread in self.threads:
            thread.start()

    def _loop(self):
        host, port = self.url.split("/")[2].split(":")
        path = "/" + self.url.split("/", 3)[3]
        connection = None
        while self.running:
            started = time.monotonic()
            try:
                if connection is None or self.new_connections:
                    connection = http_client.HTTPConnection(host, int(port), timeout=30)
                connection.request("POST", path, self.body, JSON)
                response = connection.getresponse()
                response.read()
                outcome = response.status
            except ConnectionRefusedError:
                outcome, connection = "refused", None
            except (OSError, http_client.HTTPException) as error:
                outcome, connection = type(error).__name__, None
            self.records.append((started, outcome, time.monotonic() - started))
            if outcome == "refused":
                time.sleep(0.05)

    def stop(self) -> Counter:
        self.running = False
        for thread in self.threads:
            thread.join()
        return Counter(outcome for _, outcome, _ in self.records)


def test_sigterm_to_the_gateway_finishes_in_flight_and_refuses_new(sum_stack):
    gateway = sum_stack["gateway"]
    load = Load(gateway.rest_url + "/v1/sum", SUM_BODY, threads=6, new_connections=True)
    wait_until(lambda: sum(r[1] == 200 for r in load.records) > 10, what="11 answers")
    gateway.process.send_signal(signal.SIGTERM)
    assert gateway.process.wait(30) == 0
    after = len(load.records)
    wait_until(lambda: len(load.records) >= after + 6, what="each client tried once more")
    outcomes = load.stop()
    print(f"gateway SIGTERM under load: {dict(outcomes)}")
    assert outcomes[200] > 10
    # Connections still in the listen backlog are reset unanswered (never processed, safe to
    # retry); a response cut short (IncompleteRead) or any other status would fail here.
    assert set(outcomes) <= {200, "refused", "ConnectionResetError", "RemoteDisconnected"}, outcomes


def test_a_100_mb_body_is_refused_at_once(gateway):
    host, port = gateway.rest_url.split("//")[1].split(":")
    connection = http_client.HTTPConnection(host, int(port), timeout=10)
    started = time.monotonic()
    connection.putrequest("POST", "/v1/sum")
    connection.putheader("Content-Type", "application/json")
    connection.putheader("Content-Length", str(100 * 1024 * 1024))
    connection.endheaders()
    with contextlib.suppress(OSError):
        connection.send(b"[" * 65536)
    response = connection.getresponse()
    assert response.status == 413
    assert json.loads(response.read())["error"]["code"] == "payload_too_large"
    assert time.monotonic() - started < 2


def test_a_chunked_body_without_length_is_cut_at_the_limit(gateway):
    host, port = gateway.rest_url.split("//")[1].split(":")
    connection = http_client.HTTPConnection(host, int(port), timeout=20)

    def chunks():
        for _ in range(100):
            yield b"[" * (1024 * 1024)

    with contextlib.suppress(OSError):
        connection.request("POST", "/v1/sum", body=chunks(), headers=JSON, encode_chunked=True)
    response = connection.getresponse()
    assert response.status == 413


def test_slow_clients_do_not_starve_others(gateway):
    host, port = gateway.rest_url.split("//")[1].split(":")
    slow = []
    for _ in range(80):
        sock = socket.create_connection((host, int(port)))
        sock.sendall(b"POST /v1/sum HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n")
        slow.append(sock)
    try:
        started = time.monotonic()
        status, body = http(
            "POST", gateway.rest_url + "/v1/sum", SUM_BODY, headers=JSON, timeout=10
        )
        assert status == 200, body
        assert time.monotonic() - started < 3
    finally:
        for sock in slow:
            sock.close()


def make_certificates(folder: Path) -> tuple[Path, Path]:
    key, cert = folder / "server.key", folder / "server.crt"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost,IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return key, cert


def test_tls_between_gateway_and_model_server(models_dir, tmp_path):
    key, cert = make_certificates(tmp_path)
    ssl_config = tmp_path / "ssl.config"
    ssl_config.write_text(
        f"server_key: {json.dumps(key.read_text())}\nserver_cert: {json.dumps(cert.read_text())}\n"
    )
    config = write_models_config(
        tmp_path / "models.config", {"sum_regressor": models_dir / "sum_regressor"}
    )
    server = start_model_server(
        config, ["sum_regressor"], tmp_path, [f"--ssl_config_file={ssl_config}"]
    )
    env = {"GATEWAY_MODELS": "sum_regressor", "GATEWAY_DEADLINE_S": "2"}
    secure = start_gateway(
        server.grpc_address, server.rest_url, tmp_path, {**env, "TFS_TLS_CA": str(cert)}
    )
    plain = start_gateway(server.grpc_address, server.rest_url, tmp_path, env, ready=False)
    try:
        status, body = http("POST", secure.rest_url + "/v1/sum", SUM_BODY, headers=JSON)
        assert status == 200, body
        status, body = http("POST", plain.rest_url + "/v1/sum", SUM_BODY, headers=JSON)
        assert status == 503, body
    finally:
        secure.stop()
        plain.stop()
        server.stop()
