"""A TensorFlow Serving gRPC client: one channel per target, NumPy in and out, no TF runtime.

Works against the real `tensorflow_model_server` and the embedded one alike. The target may
name several replicas (client.targets); the channel balances over them with gRPC's
`round_robin`. Each call has a deadline. Retries are gRPC's own (gRFC A6, in the channel's
service config): only UNAVAILABLE, with exponential backoff, within that deadline — each
attempt picked anew, so a call that fails on a replica that died is retried on another — and
retry throttling, which stops retrying while most recent calls fail, so an overloaded server
is not sent each request four times. Errors raise `ServingClientError` carrying the gRPC
status code.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from concurrent import futures
from dataclasses import dataclass, field

import grpc
import numpy as np

from client.targets import channel_target
from contract.models import (
    DIGIT_CLASSIFIER,
    FORECASTER,
    MAX_LENGTH,
    SUM_REGRESSOR,
    as_images,
    last_windows,
    pad_sequences,
)
from protocol.examples import fill_example_list
from protocol.messages import (
    classification_pb2,
    get_model_metadata_pb2,
    get_model_status_pb2,
    model_management_pb2,
    model_server_config_pb2,
    model_service_pb2_grpc,
    predict_pb2,
    prediction_service_pb2_grpc,
    regression_pb2,
)
from protocol.tensors import to_ndarray, to_tensor_proto

PREDICTION_SERVICE = "tensorflow.serving.PredictionService"
MODEL_SERVICE = "tensorflow.serving.ModelService"


class ServingClientError(Exception):
    """A failed call; `code` is the gRPC status code (e.g. NOT_FOUND, UNAVAILABLE)."""

    def __init__(self, code: grpc.StatusCode, details: str):
        super().__init__(f"{code.name}: {details}")
        self.code = code
        self.details = details


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

    def __post_init__(self):
        options = [
            ("grpc.enable_retries", 1),
            ("grpc.service_config", service_config(self.retries, self.backoff)),
            ("grpc.max_receive_message_length", self.max_message_bytes),
            ("grpc.max_send_message_length", self.max_message_bytes),
            # reconnect within about a second of a restarted server, not minutes
            ("grpc.initial_reconnect_backoff_ms", 100),
            ("grpc.min_reconnect_backoff_ms", 100),
            ("grpc.max_reconnect_backoff_ms", 1000),
        ]
        target = channel_target(self.address)
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
        self._executor.shutdown(wait=False, cancel_futures=True)
        self._channel.close()

    def __enter__(self) -> ServingClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def predict(
        self,
        model: str,
        inputs: dict[str, np.ndarray],
        signature: str = "",
        version: int | None = None,
        label: str | None = None,
        output_filter: Sequence[str] = (),
        timeout: float | None = None,
        tensor_content: bool = False,
    ) -> Prediction:
        request = predict_pb2.PredictRequest(output_filter=list(output_filter))
        _fill_spec(request.model_spec, model, signature, version, label)
        for alias, value in inputs.items():
            to_tensor_proto(value, tensor_content, into=request.inputs[alias])
        response = self._call(self._predictions.Predict, request, timeout)
        return Prediction(
            outputs={alias: to_ndarray(proto) for alias, proto in response.outputs.items()},
            model=response.model_spec.name,
            version=response.model_spec.version.value,
            signature=response.model_spec.signature_name,
        )

    def classify(
        self, model: str, examples: Sequence[dict], **spec
    ) -> list[list[tuple[str, float]]]:
        """Classify API: for each example (feature name → value(s)), its (label, score) pairs.
        `spec`: signature, version, label, timeout."""
        result = self._on_examples(
            classification_pb2.ClassificationRequest(),
            self._predictions.Classify,
            model,
            examples,
            **spec,
        )
        return [[(c.label, c.score) for c in item.classes] for item in result.classifications]

    def regress(self, model: str, examples: Sequence[dict], **spec) -> np.ndarray:
        """Regress API: one value per example (feature name → value(s)). `spec` as classify."""
        result = self._on_examples(
            regression_pb2.RegressionRequest(), self._predictions.Regress, model, examples, **spec
        )
        return np.array([r.value for r in result.regressions], np.float32)

    def _on_examples(
        self,
        request,
        method: Callable,
        model: str,
        examples: Sequence[dict],
        signature: str = "",
        version: int | None = None,
        label: str | None = None,
        timeout: float | None = None,
    ):
        _fill_spec(request.model_spec, model, signature, version, label)
        fill_example_list(request.input, examples)
        return self._call(method, request, timeout).result

    def predict_async(self, model: str, inputs: dict[str, np.ndarray], **spec) -> futures.Future:
        """`predict` on this client's thread pool, for callers that fan out many requests."""
        return self._executor.submit(self.predict, model, inputs, **spec)

    def metadata(self, model: str, version: int | None = None, timeout=None):
        """The model's SignatureDefMap (signature name → SignatureDef)."""
        request = get_model_metadata_pb2.GetModelMetadataRequest(metadata_field=["signature_def"])
        _fill_spec(request.model_spec, model, "", version, None)
        response = self._call(self._predictions.GetModelMetadata, request, timeout)
        signatures = get_model_metadata_pb2.SignatureDefMap()
        response.metadata["signature_def"].Unpack(signatures)
        return signatures

    def status(self, model: str, version: int | None = None, timeout=None) -> list[VersionState]:
        request = get_model_status_pb2.GetModelStatusRequest()
        _fill_spec(request.model_spec, model, "", version, None)
        response = self._call(self._models.GetModelStatus, request, timeout)
        names = get_model_status_pb2.ModelVersionStatus.State
        return [
            VersionState(s.version, names.Name(s.state), s.status.error_message)
            for s in response.model_version_status
        ]

    def reload_config(self, models: dict[str, str], timeout=None) -> None:
        """Serve exactly `models` (name → base path) from now on."""
        config = model_server_config_pb2.ModelServerConfig()
        for name, base_path in models.items():
            config.model_config_list.config.add(
                name=name, base_path=base_path, model_platform="tensorflow"
            )
        request = model_management_pb2.ReloadConfigRequest(config=config)
        response = self._call(self._models.HandleReloadConfigRequest, request, timeout)
        if response.status.error_code:
            raise ServingClientError(
                grpc.StatusCode(response.status.error_code), response.status.error_message
            )

    def sums(self, sequences: Sequence[Sequence[float]], **spec) -> np.ndarray:
        """sum_regressor: the number of ones in each 0/1 sequence (lengths 1–64)."""
        batch = pad_sequences(sequences, min_width=MAX_LENGTH)
        return self.predict(SUM_REGRESSOR.name, {"sequences": batch}, **spec).outputs["sum"]

    def digits(self, images: np.ndarray, **spec) -> tuple[np.ndarray, np.ndarray]:
        """digit_classifier: (predicted digits, class probabilities) for 28×28 images in [0, 1]."""
        outputs = self.predict(DIGIT_CLASSIFIER.name, {"images": as_images(images)}, **spec).outputs
        return outputs["classes"], outputs["probabilities"]

    def forecast(self, series: Sequence[Sequence[float]], horizon: int, **spec) -> np.ndarray:
        """forecaster: the next `horizon` values after the last 20 of each series."""
        windows = last_windows(series)
        inputs = {"window": windows, "horizon": np.full(len(windows), horizon, np.int32)}
        spec.setdefault("signature", "forecast")
        return self.predict(FORECASTER.name, inputs, **spec).outputs["forecast"][:, :horizon]

    def _call(self, method: Callable, request, timeout: float | None):
        """One call; sent once more, within what is left of its deadline, when its connection
        was cut after the request left (CUT_MID_CALL): every TF Serving call is idempotent."""
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
        raise ServingClientError(failure.code(), failure.details() or "") from None


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


def _fill_spec(spec, model: str, signature: str, version: int | None, label: str | None) -> None:
    spec.name = model
    if signature:
        spec.signature_name = signature
    if version is not None:
        spec.version.value = version
    elif label:
        spec.version_label = label
