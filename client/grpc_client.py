"""A TensorFlow Serving gRPC client: one channel per target, NumPy in and out, no TF runtime.

Works against the real `tensorflow_model_server` and the embedded one alike. The target may
name several replicas (client.targets); the channel balances over them with gRPC's
`round_robin`. Each call has a deadline. Retries are gRPC's own (gRFC A6, in the channel's
service config): only UNAVAILABLE, with exponential backoff, within that deadline — each
attempt picked anew, so a call that fails on a replica that died is retried on another — and
retry throttling, which stops retrying while most recent calls fail, so an overloaded server
is not sent each request four times. Every failure raises a member of one exception family
(client.errors: `ServingClientError` and its subclasses, each carrying the gRPC status code);
the task helpers check their input against the models' contract before anything is sent
(client.checks) and say which model version answered (client.answers). The messages are built
and read in client.calls and client.tasks, which the asyncio client (client.aio_client)
shares.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent import futures
from dataclasses import dataclass, field

import grpc
import numpy as np
from numpy.typing import ArrayLike

from client import calls, tasks
from client.answers import Digits, Forecasts, Sums
from client.calls import Prediction, VersionState
from client.errors import ClientClosed, ServingClientError, from_grpc
from client.targets import channel_target
from protocol.messages import (
    get_model_metadata_pb2,
    model_service_pb2_grpc,
    prediction_service_pb2_grpc,
)

PREDICTION_SERVICE = "tensorflow.serving.PredictionService"
MODEL_SERVICE = "tensorflow.serving.ModelService"

__all__ = ["Prediction", "ServingClient", "ServingClientError", "TlsSettings", "VersionState"]


@dataclass(frozen=True)
class TlsSettings:
    """Root certificates to trust, and optionally a client key and certificate (mutual TLS)."""

    root_certificates: bytes | None = None
    private_key: bytes | None = None
    certificate_chain: bytes | None = None


@dataclass
class ServingClient:
    """A client for one model server address or a set of replicas (client.targets).
    Thread-safe; share one per process."""

    address: str
    timeout: float = 10.0
    retries: int = 3
    backoff: float = 0.05
    tls: TlsSettings | None = None
    max_message_bytes: int = 64 * 1024 * 1024
    max_concurrency: int = 32
    _channel: grpc.Channel = field(init=False, repr=False)
    _closed: threading.Event = field(init=False, repr=False, default_factory=threading.Event)

    def __post_init__(self):
        target = channel_target(self.address)
        options = channel_options(self.retries, self.backoff, self.max_message_bytes)
        if self.tls is None:
            self._channel = grpc.insecure_channel(target, options=options)
        else:
            self._channel = grpc.secure_channel(target, credentials(self.tls), options=options)
        self._predictions = prediction_service_pb2_grpc.PredictionServiceStub(self._channel)
        self._models = model_service_pb2_grpc.ModelServiceStub(self._channel)
        self._executor = futures.ThreadPoolExecutor(
            max_workers=self.max_concurrency, thread_name_prefix="serving-client"
        )

    def close(self) -> None:
        """Let the calls already submitted (`predict_async`) finish, each within its deadline,
        then close the channel; any call after this raises `ClientClosed`."""
        self._executor.shutdown(wait=True)
        self._closed.set()
        self._channel.close()

    def __enter__(self) -> ServingClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def predict(
        self,
        model: str,
        inputs: Mapping[str, ArrayLike],
        *,
        signature: str = "",
        version: int | None = None,
        label: str | None = None,
        output_filter: Sequence[str] = (),
        timeout: float | None = None,
        tensor_content: bool = True,
    ) -> Prediction:
        """One Predict call. An input that is not a NumPy array (a list, say) is sent as
        float32 when it holds floats, else as NumPy reads it. `tensor_content` sends raw bytes
        (TF Serving's fast path) rather than typed value lists."""
        request = calls.predict_request(
            model, inputs, signature, version, label, output_filter, tensor_content
        )
        return calls.prediction(self._call(self._predictions.Predict, request, timeout))

    def predict_async(
        self,
        model: str,
        inputs: Mapping[str, ArrayLike],
        *,
        signature: str = "",
        version: int | None = None,
        label: str | None = None,
        output_filter: Sequence[str] = (),
        timeout: float | None = None,
    ) -> futures.Future[Prediction]:
        """`predict` on this client's thread pool, for callers that fan out many requests."""
        self._open()
        try:
            return self._executor.submit(
                self.predict,
                model,
                inputs,
                signature=signature,
                version=version,
                label=label,
                output_filter=output_filter,
                timeout=timeout,
            )
        except RuntimeError:  # the pool shut down: close() has begun
            raise ClientClosed(f"the client for {self.address} is closing") from None

    def classify(
        self,
        model: str,
        examples: Sequence[dict],
        *,
        signature: str = "",
        version: int | None = None,
        label: str | None = None,
        timeout: float | None = None,
    ) -> list[list[tuple[str, float]]]:
        """Classify API: for each example (feature name → value(s)), its (label, score) pairs."""
        request = calls.classify_request(model, examples, signature, version, label)
        return calls.classes(self._call(self._predictions.Classify, request, timeout))

    def regress(
        self,
        model: str,
        examples: Sequence[dict],
        *,
        signature: str = "",
        version: int | None = None,
        label: str | None = None,
        timeout: float | None = None,
    ) -> np.ndarray:
        """Regress API: one value per example (feature name → value(s))."""
        request = calls.regress_request(model, examples, signature, version, label)
        return calls.values(self._call(self._predictions.Regress, request, timeout))

    def metadata(
        self, model: str, version: int | None = None, timeout: float | None = None
    ) -> get_model_metadata_pb2.SignatureDefMap:
        """The model's SignatureDefMap (signature name → SignatureDef)."""
        request = calls.metadata_request(model, version)
        return calls.signatures(self._call(self._predictions.GetModelMetadata, request, timeout))

    def status(
        self, model: str, version: int | None = None, timeout: float | None = None
    ) -> list[VersionState]:
        request = calls.status_request(model, version)
        return calls.versions(self._call(self._models.GetModelStatus, request, timeout))

    def sums(
        self,
        sequences: Sequence[Sequence[float]],
        *,
        version: int | None = None,
        label: str | None = None,
        timeout: float | None = None,
    ) -> Sums:
        """sum_regressor: the number of ones in each 0/1 sequence (1 to 64 long)."""
        return self._run(tasks.sums_job(sequences), version, label, timeout)

    def digits(
        self,
        images: ArrayLike,
        *,
        version: int | None = None,
        label: str | None = None,
        timeout: float | None = None,
    ) -> Digits:
        """digit_classifier: the digit and the class probabilities of each 28×28 grayscale
        image in [0, 1] (one image or a stack; client.images.prepare_digit makes one from a
        picture)."""
        return self._run(tasks.digits_job(images), version, label, timeout)

    def forecast(
        self,
        series: Sequence[Sequence[float]],
        horizon: int,
        *,
        version: int | None = None,
        label: str | None = None,
        timeout: float | None = None,
    ) -> Forecasts:
        """forecaster: the next `horizon` values (1 to 200) after the last 20 of each series."""
        return self._run(tasks.forecast_job(series, horizon), version, label, timeout)

    def _run(self, job: tasks.Job, version: int | None, label: str | None, timeout):
        """The job's parts, one call each: the first as pinned (predict checks the pin), the
        rest to its version."""
        answers: list[Prediction] = []
        for rows in job.parts():
            part = tasks.predict_part(job, rows)
            answers.append(
                self.predict(
                    part.model,
                    part.inputs,
                    signature=part.signature,
                    version=answers[0].version if answers else version,
                    label=None if answers else label,
                    output_filter=part.output_filter,
                    timeout=timeout,
                )
            )
        outputs = [answer.outputs for answer in answers]
        return tasks.joined_outputs(job, outputs, answers[0].model, answers[0].version)

    def _open(self) -> None:
        if self._closed.is_set():
            raise ClientClosed(f"the client for {self.address} is closed")

    def _call(self, method: Callable, request, timeout: float | None):
        """One call; sent once more, within what is left of its deadline, when its connection
        was cut after the request left (CUT_MID_CALL): every TF Serving call is idempotent."""
        self._open()
        seconds = self.timeout if timeout is None else timeout
        started = time.monotonic()
        try:
            return method(request, timeout=seconds)
        except grpc.RpcError as error:
            failure = error
        left = seconds - (time.monotonic() - started)
        if self.retries > 0 and left > 0 and cut_mid_call(failure):
            try:
                return method(request, timeout=left)
            except grpc.RpcError as error:
                failure = error
        if self._closed.is_set() and failure.code() == grpc.StatusCode.CANCELLED:
            raise ClientClosed(f"the client for {self.address} was closed during the call")
        raise from_grpc(failure.code(), failure.details() or "") from None


CUT_MID_CALL = ("Stream removed", "Socket closed", "Connection reset")
"""The details of UNAVAILABLE when a call's connection broke after the call was sent, as when
its replica is SIGKILLed. Measured: gRPC's retry policy retries calls refused or not yet
sent, but some of these it leaves to the caller (the chaos test saw 1–3 of them per replica
kill); a queue-full refusal never matches, so overload is not amplified."""


def cut_mid_call(error: grpc.RpcError) -> bool:
    details = error.details() or ""
    return error.code() == grpc.StatusCode.UNAVAILABLE and any(
        cut in details for cut in CUT_MID_CALL
    )


def channel_options(retries: int, backoff: float, max_message_bytes: int) -> list[tuple]:
    """The channel's options. A lost connection is retried after 100 ms, then at most every
    second (gRPC's defaults are 1 s and 120 s), so a restarted server is reached again within
    about a second. The connect timeout stays gRPC's (20 s, `grpc.min_reconnect_backoff_ms`,
    which is also the shortest time a connection attempt is given): lowering it fails every
    first call on a link slower than it."""
    return [
        ("grpc.enable_retries", 1),
        ("grpc.service_config", service_config(retries, backoff)),
        ("grpc.max_receive_message_length", max_message_bytes),
        ("grpc.max_send_message_length", max_message_bytes),
        ("grpc.initial_reconnect_backoff_ms", 100),
        ("grpc.max_reconnect_backoff_ms", 1000),
    ]


def service_config(retries: int, backoff: float) -> str:
    """The channel's service config: round-robin over the target's addresses; for both TF
    Serving services, up to `retries` more attempts on UNAVAILABLE (gRPC allows at most 4),
    backoff from `backoff` seconds doubling to 1 s; throttling as gRFC A6 describes it (20
    tokens, a failure costs 1, a success earns 0.1, retries only while more than 10 are left:
    room for the calls in flight on a replica that dies, while a server refusing everything
    sees about 1.05 calls per request)."""
    method: dict[str, object] = {
        "name": [{"service": PREDICTION_SERVICE}, {"service": MODEL_SERVICE}]
    }
    if retries > 0:
        method["retryPolicy"] = {
            "maxAttempts": min(retries, 4) + 1,
            "initialBackoff": f"{backoff}s",
            "maxBackoff": "1s",
            "backoffMultiplier": 2,
            "retryableStatusCodes": ["UNAVAILABLE"],
        }
    return json.dumps(
        {
            "loadBalancingConfig": [{"round_robin": {}}],
            "methodConfig": [method],
            "retryThrottling": {"maxTokens": 20, "tokenRatio": 0.1},
        }
    )


def credentials(tls: TlsSettings) -> grpc.ChannelCredentials:
    return grpc.ssl_channel_credentials(
        tls.root_certificates, tls.private_key, tls.certificate_chain
    )
