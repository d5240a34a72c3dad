"""The TensorFlow Serving API messages and gRPC stubs, as the `tensorflow-serving-api` wheel has
them, without the tensorflow package (generated into `protocol.generated`, see codegen.py).

Their descriptors are the wheel's own, so a process that also imports TensorFlow (the model
server, training) shares one class per message with it.
"""

from protocol.generated.tensorflow.core.example import example_pb2, feature_pb2
from protocol.generated.tensorflow.core.framework import tensor_pb2, tensor_shape_pb2, types_pb2
from protocol.generated.tensorflow_serving.apis import (
    classification_pb2,
    get_model_metadata_pb2,
    get_model_status_pb2,
    inference_pb2,
    input_pb2,
    model_management_pb2,
    model_pb2,
    model_service_pb2,
    model_service_pb2_grpc,
    predict_pb2,
    prediction_log_pb2,
    prediction_service_pb2,
    prediction_service_pb2_grpc,
    regression_pb2,
    status_pb2,
)
from protocol.generated.tensorflow_serving.config import model_server_config_pb2

__all__ = [
    "classification_pb2",
    "example_pb2",
    "feature_pb2",
    "get_model_metadata_pb2",
    "get_model_status_pb2",
    "inference_pb2",
    "input_pb2",
    "model_management_pb2",
    "model_pb2",
    "model_server_config_pb2",
    "model_service_pb2",
    "model_service_pb2_grpc",
    "predict_pb2",
    "prediction_log_pb2",
    "prediction_service_pb2",
    "prediction_service_pb2_grpc",
    "regression_pb2",
    "status_pb2",
    "tensor_pb2",
    "tensor_shape_pb2",
    "types_pb2",
]
