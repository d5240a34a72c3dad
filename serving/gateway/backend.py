"""The one connection from the gateway to the model server: gRPC for predictions and status
(one channel per process over every replica TFS_TARGET names, deadlines, UNAVAILABLE retried
with backoff, on another replica where there is one), a client per replica for readiness, and
HTTP for the TF Serving REST proxy. Model-server failures become typed API errors here."""

from __future__ import annotations

import http.client
import threading
import time
from collections.abc import Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np

from client import targets
from client.grpc_client import Prediction, ServingClient, ServingClientError, TlsSettings
from serving.gateway import errors
from serving.gateway.coalescing import Coalescer, Send
from serving.gateway.metrics import BACKEND_SECONDS, CALL_ROWS
from serving.gateway.settings import GatewaySettings


@dataclass(frozen=True)
class Pin:
    """Which version answers: a number, a label, or (both None) the newest available."""

    version: int | None = None
    label: str | None = None


@dataclass(frozen=True)
class Forwarded:
    """A model server REST response: status, raw body, its Content-Type, and the headers
    a protocol needs passed back (PASSED_HEADERS)."""

    status: int
    body: bytes
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


PASSED_HEADERS = ("Inference-Header-Content-Length",)
"""Headers that travel both ways through the proxy: the Open Inference Protocol's binary data
extension says with it where the JSON ends."""


class Backend:
    """What the routes need from the model server."""

    def __init__(self, settings: GatewaySettings):
        self.settings = settings
        self.client = ServingClient(
            settings.tfs_target,
            timeout=settings.deadline_s,
            tls=_tls(settings),
            max_message_bytes=2 * settings.max_body_bytes + 1024 * 1024,
        )
        self.coalescer = (
            Coalescer(self._sender, settings.coalesce_max_rows) if settings.coalesce else None
        )
        self._connections = threading.local()
        self._replica_clients: dict[str, ServingClient] = {}
        self._replica_lock = threading.Lock()

    def predict(
        self,
        model: str,
        inputs: dict[str, np.ndarray],
        signature: str = "",
        pin: Pin = Pin(),
        output_filter: Sequence[str] = (),
        timeout: float | None = None,
    ) -> Prediction:
        """The model's answer within `timeout` seconds (what the request's deadline leaves),
        retries included; merged with this worker's concurrent calls of the same kind unless
        GATEWAY_COALESCE is off."""
        timeout = self.settings.deadline_s if timeout is None else timeout
        if self.coalescer is None:
            return self._sender((model, signature, pin, tuple(output_filter)))(inputs, timeout)
        rows = tuple(
            sorted((alias, value.dtype.str, value.shape[1:]) for alias, value in inputs.items())
        )
        key = (model, signature, pin, tuple(output_filter), rows)
        return self.coalescer.predict(key, inputs, timeout)

    def _sender(self, key: tuple) -> Send:
        """The call to the model server for a coalescing key (model, signature, pin, output
        filter, ...)."""
        model, signature, pin, output_filter = key[:4]

        def send(inputs: dict[str, np.ndarray], timeout: float) -> Prediction:
            CALL_ROWS.labels(model).observe(len(next(iter(inputs.values()))))
            with _translated(model, "predict"):
                return self.client.predict(
                    model,
                    inputs,
                    signature=signature,
                    version=pin.version,
                    label=pin.label,
                    output_filter=output_filter,
                    tensor_content=True,
                    timeout=timeout,
                )

        return send

    def status(self, model: str, timeout: float | None = None, replica: str | None = None):
        """The model's versions, from whichever replica the channel picks, or from `replica`."""
        client = self.client if replica is None else self._replica_client(replica)
        with _translated(model, "status"):
            return client.status(model, timeout=timeout)

    def replicas(self) -> list[str]:
        """Each model server replica's address, as TFS_TARGET names them now; the clients of
        replicas no longer named (a rolling update replaced them) are closed."""
        addresses = targets.replicas(self.settings.tfs_target)
        with self._replica_lock:
            for gone in self._replica_clients.keys() - set(addresses):
                self._replica_clients.pop(gone).close()
        return addresses

    def _replica_client(self, address: str) -> ServingClient:
        if address == self.settings.tfs_target:
            return self.client
        with self._replica_lock:
            if address not in self._replica_clients:
                self._replica_clients[address] = ServingClient(
                    address, timeout=self.settings.deadline_s, retries=0, tls=self.client.tls
                )
            return self._replica_clients[address]

    def forward(
        self,
        method: str,
        path: str,
        body: bytes,
        content_type: str | None = None,
        timeout: float | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Forwarded:
        """Send a REST request (TF Serving's or the Open Inference Protocol's) to the same path
        on the model server, with `headers` among PASSED_HEADERS; both attempts together take
        at most `timeout` seconds (the deadline's rest)."""
        started = time.perf_counter()
        stop_at = started + (self.settings.deadline_s if timeout is None else timeout)
        outcome = "OK"
        given = headers or {}
        sent = {name: given[name] for name in PASSED_HEADERS if given.get(name) is not None}
        if content_type:
            sent["Content-Type"] = content_type
        try:
            for attempt in (1, 2):  # a kept-alive connection may have been closed meanwhile
                connection = self._connection()
                left = stop_at - time.perf_counter()
                try:
                    if left <= 0:
                        raise TimeoutError
                    connection.timeout = left
                    if connection.sock is not None:
                        connection.sock.settimeout(left)
                    connection.request(method, path, body if method == "POST" else None, sent)
                    response = connection.getresponse()
                    answer_type = response.getheader("Content-Type") or "application/json"
                    passed = {
                        name: value
                        for name in PASSED_HEADERS
                        if (value := response.getheader(name)) is not None
                    }
                    return Forwarded(response.status, response.read(), answer_type, passed)
                except TimeoutError:
                    outcome = "DEADLINE_EXCEEDED"
                    self._drop_connection()
                    raise errors.BackendTimeout("model server: deadline exceeded") from None
                except (OSError, http.client.HTTPException) as error:
                    self._drop_connection()
                    if attempt == 2:
                        outcome = "UNAVAILABLE"
                        raise errors.BackendUnavailable(
                            f"model server unreachable: {error}"
                        ) from None
        finally:
            BACKEND_SECONDS.labels("-", "rest_proxy", outcome).observe(
                time.perf_counter() - started
            )
        raise AssertionError("unreachable")

    def _connection(self) -> http.client.HTTPConnection:
        connection = getattr(self._connections, "value", None)
        if connection is None:
            host, port = self.settings.rest_address
            connection = http.client.HTTPConnection(host, port, timeout=self.settings.deadline_s)
            self._connections.value = connection
        return connection

    def _drop_connection(self) -> None:
        connection = getattr(self._connections, "value", None)
        if connection is not None:
            connection.close()
            self._connections.value = None


@contextmanager
def _translated(model: str, call: str):
    started = time.perf_counter()
    outcome = "OK"
    try:
        yield
    except ServingClientError as error:
        outcome = error.code.name
        raise errors.from_grpc(error.code, error.details) from None
    finally:
        BACKEND_SECONDS.labels(model, call, outcome).observe(time.perf_counter() - started)


def _tls(settings: GatewaySettings) -> TlsSettings | None:
    if settings.tls is None:
        return None
    files = settings.tls
    return TlsSettings(
        root_certificates=files.ca.read_bytes(),
        private_key=files.key.read_bytes() if files.key else None,
        certificate_chain=files.cert.read_bytes() if files.cert else None,
    )
