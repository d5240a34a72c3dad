"""Model warmup: replay `assets.extra/tf_serving_warmup_requests` before a version serves.

After TF Serving's `servables/tensorflow/saved_model_warmup.cc` and `..._warmup_util.cc`: the
file is a TFRecord of PredictionLog; every predict, classify, regress and multi-inference
record runs through the version's session (batching included), each as many times as
--num_request_iterations_for_warmup says; at most 1,000 records; a record that fails fails the
load.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import tensorflow as tf
from google.protobuf.message import DecodeError

from protocol.examples import serialized_examples
from protocol.messages import prediction_log_pb2
from protocol.tensors import TensorConversionError, to_ndarray
from serving.modelserver import inference
from serving.modelserver.errors import DataLoss, InvalidArgument, ServingError, Unimplemented
from serving.modelserver.metrics import ServerMetrics

WARMUP_PATH = Path("assets.extra") / "tf_serving_warmup_requests"
MAX_RECORDS = 1000


def run_warmup(
    version_path: Path,
    signatures,
    run: inference.Run,
    iterations: int,
    options: inference.Options,
    metrics: ServerMetrics,
) -> int:
    """Replay the version's warmup records; the number read (0 without a warmup file)."""
    path = version_path / WARMUP_PATH
    if not path.exists():
        return 0
    started = time.perf_counter()
    count, status = 0, "OK"
    try:
        for record in _records(path):
            count += 1
            if count > MAX_RECORDS:
                raise InvalidArgument(
                    f"Number of warmup records exceeds the maximum ({MAX_RECORDS}) at {path}"
                )
            log = prediction_log_pb2.PredictionLog()
            try:
                log.ParseFromString(record)
            except DecodeError:
                raise InvalidArgument(f"Failed to parse warmup record from {path}") from None
            replay = _replayer(log, signatures, run, options)
            for _ in range(max(1, iterations)):
                replay()
    except ServingError as error:
        status = error.status_string()
        raise
    finally:
        micros = (time.perf_counter() - started) * 1e6
        metrics.warmup_latency.add(micros, version_path, status)
        metrics.warmup_records_read.increment(version_path, status, by=count)
    return count


def _records(path: Path):
    try:
        yield from tf.compat.v1.io.tf_record_iterator(str(path))
    except tf.errors.DataLossError as error:
        raise DataLoss(
            f"{error.message}. Please verify your warmup data is in TFRecord format."
        ) from None


def _replayer(log, signatures, run, options) -> Callable[[], object]:
    kind = log.WhichOneof("log_type")
    if kind == "predict_log":
        request = log.predict_log.request
        inputs = _inputs(request.inputs)
        return lambda: inference.predict(
            signatures,
            run,
            request.model_spec.signature_name,
            inputs,
            tuple(request.output_filter),
            options,
        )
    if kind in ("classify_log", "regress_log"):
        request = getattr(log, kind).request
        examples = serialized_examples(request.input)
        call = inference.classify if kind == "classify_log" else inference.regress
        return lambda: call(signatures, run, request.model_spec.signature_name, examples, options)
    if kind == "multi_inference_log":
        request = log.multi_inference_log.request
        tasks = [
            (t.model_spec.name, t.model_spec.signature_name, t.method_name) for t in request.tasks
        ]
        examples = serialized_examples(request.input)
        return lambda: inference.multi_inference(signatures, run, tasks, examples, options)
    if kind is None:
        return lambda: None
    number = log.DESCRIPTOR.fields_by_name[kind].number
    raise Unimplemented(f"Unsupported log_type for warmup: {number}")


def _inputs(protos) -> dict:
    try:
        return {alias: to_ndarray(proto) for alias, proto in protos.items()}
    except TensorConversionError as error:
        raise InvalidArgument(f"tensor parsing error: {error}") from None
