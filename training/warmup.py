"""TensorFlow Serving warmup records: PredictionLogs replayed before a version goes live."""

from __future__ import annotations

from pathlib import Path

import tensorflow as tf

from protocol.messages import predict_pb2, prediction_log_pb2
from training.trained import WarmupRequest


def write_warmup_records(path: Path, model_name: str, requests: list[WarmupRequest]) -> None:
    """Write one PredictionLog per request as a TFRecord file, the format TF Serving replays."""
    with tf.io.TFRecordWriter(str(path)) as writer:
        for signature_name, inputs in requests:
            request = predict_pb2.PredictRequest()
            request.model_spec.name = model_name
            request.model_spec.signature_name = signature_name
            for key, value in inputs.items():
                request.inputs[key].CopyFrom(tf.make_tensor_proto(value))
            log = prediction_log_pb2.PredictionLog(
                predict_log=prediction_log_pb2.PredictLog(request=request)
            )
            writer.write(log.SerializeToString())


def read_warmup_records(path: Path) -> list[prediction_log_pb2.PredictionLog]:
    """Parse a warmup file back into PredictionLogs."""
    return [
        prediction_log_pb2.PredictionLog.FromString(record.numpy())
        for record in tf.data.TFRecordDataset(str(path))
    ]
