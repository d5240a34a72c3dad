"""gRPC adapter: TF Serving's PredictionService and ModelService over the core."""

from __future__ import annotations

import functools
import logging
import time

import grpc
from google.protobuf import any_pb2

from client.protos import (
    classification_pb2,
    get_model_metadata_pb2,
    inference_pb2,
    model_management_pb2,
    model_service_pb2_grpc,
    predict_pb2,
    prediction_service_pb2_grpc,
    regression_pb2,
    status_pb2,
)
from client.tensors import TensorConversionError, to_ndarray, to_tensor_proto
from serving.modelserver.core import ModelServerCore, ModelSpec
from serving.modelserver.errors import InvalidArgument, ServingError
from serving.modelserver.examples import serialized_examples
from serving.modelserver.status import status_response

log = logging.getLogger(__name__)


def spec_from_proto(model_spec) -> ModelSpec:
    choice = model_spec.WhichOneof("version_choice")
    return ModelSpec(
        name=model_spec.name,
        version=model_spec.version.value if choice == "version" else None,
        label=model_spec.version_label if choice == "version_label" else None,
        signature_name=model_spec.signature_name,
    )


def _deadline(context) -> float | None:
    """The caller's gRPC deadline as a time.monotonic() value, if it set one."""
    remaining = context.time_remaining()
    return None if remaining is None else time.monotonic() + remaining


def _fill_spec(target, prediction) -> None:
    target.name = prediction.servable.name
    target.version.value = prediction.servable.version
    target.signature_name = prediction.signature_name


def _aborting(method):
    """Turn typed errors into gRPC statuses; anything else is INTERNAL, never a dead worker."""

    @functools.wraps(method)
    def wrapper(self, request, context):
        try:
            return method(self, request, context)
        except ServingError as error:
            context.abort(error.grpc_code, str(error))
        except TensorConversionError as error:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(error))
        except Exception:
            log.exception("unexpected error in %s", method.__name__)
            context.abort(grpc.StatusCode.INTERNAL, "Internal error")

    return wrapper


class PredictionServicer(prediction_service_pb2_grpc.PredictionServiceServicer):
    def __init__(self, core: ModelServerCore, use_tensor_content: bool = False):
        self.core = core
        self.use_tensor_content = use_tensor_content

    @_aborting
    def Predict(self, request, context):
        inputs = {alias: to_ndarray(proto) for alias, proto in request.inputs.items()}
        prediction = self.core.predict(
            spec_from_proto(request.model_spec),
            inputs,
            tuple(request.output_filter),
            _deadline(context),
        )
        response = predict_pb2.PredictResponse()
        _fill_spec(response.model_spec, prediction)
        for alias, value in prediction.outputs.items():
            response.outputs[alias].CopyFrom(to_tensor_proto(value, self.use_tensor_content))
        return response

    @_aborting
    def Classify(self, request, context):
        response = classification_pb2.ClassificationResponse()
        self._classify(request.model_spec, request.input, response.model_spec, response.result)
        return response

    @_aborting
    def Regress(self, request, context):
        response = regression_pb2.RegressionResponse()
        self._regress(request.model_spec, request.input, response.model_spec, response.result)
        return response

    @_aborting
    def MultiInference(self, request, context):
        response = inference_pb2.MultiInferenceResponse()
        for task in request.tasks:
            result = response.results.add()
            if task.method_name == "tensorflow/serving/classify":
                self._classify(
                    task.model_spec, request.input, result.model_spec, result.classification_result
                )
            elif task.method_name == "tensorflow/serving/regress":
                self._regress(
                    task.model_spec, request.input, result.model_spec, result.regression_result
                )
            else:
                raise InvalidArgument(f"Unsupported signature method_name: {task.method_name}")
        return response

    @_aborting
    def GetModelMetadata(self, request, context):
        fields = set(request.metadata_field)
        if fields != {"signature_def"}:
            raise InvalidArgument("Metadata field signature_def must be requested (and only it)")
        servable = self.core.metadata(spec_from_proto(request.model_spec))
        response = get_model_metadata_pb2.GetModelMetadataResponse()
        response.model_spec.name = servable.name
        response.model_spec.version.value = servable.version
        signatures = get_model_metadata_pb2.SignatureDefMap()
        for key, signature in servable.signature_defs.items():
            signatures.signature_def[key].CopyFrom(signature)
        packed = any_pb2.Any()
        packed.Pack(signatures)
        response.metadata["signature_def"].CopyFrom(packed)
        return response

    def _classify(self, model_spec, model_input, answered_spec, result) -> None:
        prediction = self.core.classify(
            spec_from_proto(model_spec), serialized_examples(model_input)
        )
        _fill_spec(answered_spec, prediction)
        classes = prediction.outputs.get("classes")
        scores = prediction.outputs.get("scores")
        rows = len(classes if classes is not None else scores)
        for row in range(rows):
            classifications = result.classifications.add()
            width = (classes if classes is not None else scores).shape[1]
            for column in range(width):
                entry = classifications.classes.add()
                if classes is not None:
                    label = classes[row, column]
                    entry.label = label.decode() if isinstance(label, bytes) else str(label)
                if scores is not None:
                    entry.score = float(scores[row, column])

    def _regress(self, model_spec, model_input, answered_spec, result) -> None:
        prediction = self.core.regress(
            spec_from_proto(model_spec), serialized_examples(model_input)
        )
        _fill_spec(answered_spec, prediction)
        for value in prediction.outputs["outputs"].reshape(-1):
            result.regressions.add().value = float(value)


class ModelServicer(model_service_pb2_grpc.ModelServiceServicer):
    def __init__(self, core: ModelServerCore, reload_config):
        self.core = core
        self.reload_config = reload_config

    @_aborting
    def GetModelStatus(self, request, context):
        return status_response(self.core.status(spec_from_proto(request.model_spec)))

    @_aborting
    def HandleReloadConfigRequest(self, request, context):
        if request.config.WhichOneof("config") != "model_config_list":
            raise InvalidArgument("ModelServerConfig must hold a model_config_list")
        self.reload_config(list(request.config.model_config_list.config))
        return model_management_pb2.ReloadConfigResponse(status=status_pb2.StatusProto())
