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
(client.checks) and say which model version answered (client.answers).
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

from client import checks
from client.answers import Digits, Forecasts, Sums, joined
from client.errors import ClientClosed, ServingClientError, from_grpc
from client.targets import channel_target
from contract.models import (
    DIGIT_CLASSIFIER,
    FORECASTER,
    MAX_BATCH_ROWS,
    MAX_LENGTH,
    SUM_REGRESSOR,
    WINDOW,
    pad_sequences,
)
from protocol.examples import fill_example_list
from protocol.messages import (
    classification_pb2,
    get_model_metadata_pb2,
    get_model_status_pb2,
    model_service_pb2_grpc,
    predict_pb2,
    prediction_service_pb2_grpc,
    regression_pb2,
)
from protocol.tensors import to_ndarray, to_tensor_proto

PREDICTION_SERVICE = "tensorflow.serving.PredictionService"
MODEL_SERVICE = "tensorflow.serving.ModelService"


__all__ = ["Prediction", "ServingClient", "ServingClientError", "TlsSettings", "VersionState"]


@dataclass(frozen=True)
class Prediction:
    outputs: dict[str, np.ndarray]
    model: str
    version: int
    signature: str


@dataclass(frozen=True)
class VersionState:
    version: int
    state: str
    error: str = ""


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
            credentials = grpc.ssl_channel_credentials(
                self.tls.root_certificates, self.tls.private_key, self.tls.certificate_chain
            )
            self._channel = grpc.secure_channel(target, credentials, options=options)
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
        float32 when it holds floats (the models' dtype; NumPy would make it float64) and as
        NumPy reads it otherwise. `tensor_content` sends raw bytes (TF Serving's fast path)
        rather than typed value lists."""
        checks.pin(version, label)
        request = predict_pb2.PredictRequest(output_filter=list(output_filter))
        _fill_spec(request.model_spec, model, signature, version, label)
        for alias, value in inputs.items():
            to_tensor_proto(_array(value, alias), tensor_content, into=request.inputs[alias])
        response = self._call(self._predictions.Predict, request, timeout)
        return Prediction(
            outputs={alias: to_ndarray(proto) for alias, proto in response.outputs.items()},
            model=response.model_spec.name,
            version=response.model_spec.version.value,
            signature=response.model_spec.signature_name,
        )

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
        result = self._on_examples(
            classification_pb2.ClassificationRequest(),
            self._predictions.Classify,
            model,
            examples,
            signature,
            version,
            label,
            timeout,
        )
        return [[(c.label, c.score) for c in item.classes] for item in result.classifications]

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
        result = self._on_examples(
            regression_pb2.RegressionRequest(),
            self._predictions.Regress,
            model,
            examples,
            signature,
            version,
            label,
            timeout,
        )
        return np.array([r.value for r in result.regressions], np.float32)

    def _on_examples(
        self,
        request,
        method: Callable,
        model: str,
        examples: Sequence[dict],
        signature: str,
        version: int | None,
        label: str | None,
        timeout: float | None,
    ):
        checks.pin(version, label)
        _fill_spec(request.model_spec, model, signature, version, label)
        fill_example_list(request.input, examples)
        return self._call(method, request, timeout).result

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

    def metadata(self, model: str, version: int | None = None, timeout: float | None = None):
        """The model's SignatureDefMap (signature name → SignatureDef)."""
        request = get_model_metadata_pb2.GetModelMetadataRequest(metadata_field=["signature_def"])
        _fill_spec(request.model_spec, model, "", version, None)
        response = self._call(self._predictions.GetModelMetadata, request, timeout)
        signatures = get_model_metadata_pb2.SignatureDefMap()
        response.metadata["signature_def"].Unpack(signatures)
        return signatures

    def status(
        self, model: str, version: int | None = None, timeout: float | None = None
    ) -> list[VersionState]:
        request = get_model_status_pb2.GetModelStatusRequest()
        _fill_spec(request.model_spec, model, "", version, None)
        response = self._call(self._models.GetModelStatus, request, timeout)
        names = get_model_status_pb2.ModelVersionStatus.State
        return [
            VersionState(s.version, names.Name(s.state), s.status.error_message)
            for s in response.model_version_status
        ]

    def sums(
        self,
        sequences: Sequence[Sequence[float]],
        *,
        version: int | None = None,
        label: str | None = None,
        timeout: float | None = None,
    ) -> Sums:
        """sum_regressor: the number of ones in each 0/1 sequence (1 to 64 long)."""
        rows = checks.sequences(sequences)

        def send(part: list, pinned: int | None, label: str | None) -> Prediction:
            batch = pad_sequences(part, min_width=MAX_LENGTH)
            return self.predict(
                SUM_REGRESSOR.name,
                {"sequences": batch},
                version=pinned,
                label=label,
                output_filter=("sum",),
                timeout=timeout,
            )

        parts = self._in_batches(rows, send, version, label)
        return Sums(joined(parts, "sum"), *_served(parts))

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
        stack = checks.images(images)

        def send(part, pinned: int | None, label: str | None) -> Prediction:
            return self.predict(
                DIGIT_CLASSIFIER.name,
                {"images": np.stack(part)},
                version=pinned,
                label=label,
                output_filter=("classes", "probabilities"),
                timeout=timeout,
            )

        parts = self._in_batches(list(stack), send, version, label)
        return Digits(joined(parts, "classes"), joined(parts, "probabilities"), *_served(parts))

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
        rows = checks.series(series)
        steps = checks.horizon(horizon)

        def send(part: list, pinned: int | None, label: str | None) -> Prediction:
            windows = np.stack([row[-WINDOW:] for row in part]).astype(np.float32)
            inputs = {"window": windows, "horizon": np.full(len(part), steps, np.int32)}
            return self.predict(
                FORECASTER.name,
                inputs,
                signature="forecast",
                version=pinned,
                label=label,
                timeout=timeout,
            )

        parts = self._in_batches(rows, send, version, label)
        return Forecasts(joined(parts, "forecast")[:, :steps], *_served(parts))

    @staticmethod
    def _in_batches(
        rows: list, send: Callable, version: int | None, label: str | None
    ) -> list[Prediction]:
        """`rows` sent MAX_BATCH_ROWS at a time (the model server's largest batch); every part
        after the first is pinned to the version that answered the first, so one answer never
        mixes versions (a rollout may land between parts)."""
        first = send(rows[:MAX_BATCH_ROWS], version, label)
        rest = [
            send(rows[start : start + MAX_BATCH_ROWS], first.version, None)
            for start in range(MAX_BATCH_ROWS, len(rows), MAX_BATCH_ROWS)
        ]
        return [first, *rest]

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
        if self.retries > 0 and left > 0 and _cut_mid_call(failure):
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


def _cut_mid_call(error: grpc.RpcError) -> bool:
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
    method = {"name": [{"service": PREDICTION_SERVICE}, {"service": MODEL_SERVICE}]}
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


def _array(value: ArrayLike, alias: str) -> np.ndarray:
    if isinstance(value, np.ndarray):
        return value
    try:
        array = np.asarray(value)
    except ValueError as error:
        raise checks.InvalidInput(f"{alias}: not an array ({error})") from None
    return array.astype(np.float32) if array.dtype == np.float64 else array


def _served(parts: list[Prediction]) -> tuple[str, int]:
    """(model, version) that answered every part."""
    return parts[0].model, parts[0].version


def _fill_spec(spec, model: str, signature: str, version: int | None, label: str | None) -> None:
    spec.name = model
    if signature:
        spec.signature_name = signature
    if version is not None:
        spec.version.value = version
    if label:
        spec.version_label = label
