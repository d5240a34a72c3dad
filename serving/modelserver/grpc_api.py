"""gRPC adapter: TF Serving's PredictionService and ModelService over the core, on grpc.aio.

The servicers run on the server's event loop. Work that blocks (a model run without batching,
Classify, Regress, MultiInference, a config reload) goes to the `--grpc_max_threads` pool; a
batched Predict does not take a thread at all: it is parsed on the loop, queued for the batch
threads, and answered when its batch is done (see BatchingSession.submit).

Messages, codes and metrics follow TF Serving's `model_servers/prediction_service_impl.cc`,
`model_service_impl.cc`, `get_model_status_impl.cc` and
`servables/tensorflow/get_model_metadata_impl.cc`.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from concurrent.futures import Executor

import grpc
from google.protobuf import any_pb2
from google.protobuf.message import DecodeError
from google.protobuf.message_factory import GetMessageClass

from protocol.examples import serialized_examples
from protocol.messages import (
    classification_pb2,
    get_model_metadata_pb2,
    inference_pb2,
    model_management_pb2,
    model_service_pb2,
    model_service_pb2_grpc,
    predict_pb2,
    prediction_service_pb2,
    prediction_service_pb2_grpc,
    regression_pb2,
    status_pb2,
)
from protocol.tensors import TensorConversionError, to_ndarray, to_tensor_proto
from protocol.v2 import grpc_predict_v2_pb2
from serving.modelserver.core import Answer, ModelServerCore, ModelSpec
from serving.modelserver.errors import InvalidArgument, ServingError, code_name
from serving.modelserver.metrics import Counter
from serving.modelserver.status import status_response

log = logging.getLogger(__name__)

NO_DEADLINE_S = 1e6
"""A stub without a deadline still reports time_remaining(), as a huge number."""


def handlers(prediction: PredictionServicer, model: ModelServicer, inference) -> list:
    """The services' methods (TF Serving's two and the Open Inference Protocol's, v2_grpc.py),
    each taking the raw request and parsing it itself: a corrupt message is then INTERNAL, as
    gRPC C++ answers it (GenericDeserialize in grpcpp/impl/codegen/proto_utils.h) under TF
    Serving; grpc.aio's own parsing says UNKNOWN."""
    return [
        _service_handler(prediction, prediction_service_pb2.DESCRIPTOR, "PredictionService"),
        _service_handler(model, model_service_pb2.DESCRIPTOR, "ModelService"),
        _service_handler(inference, grpc_predict_v2_pb2.DESCRIPTOR, "GRPCInferenceService"),
    ]


def _service_handler(servicer, file_descriptor, name: str) -> grpc.GenericRpcHandler:
    service = file_descriptor.services_by_name[name]
    methods = {
        method.name: grpc.unary_unary_rpc_method_handler(
            _parsing(getattr(servicer, method.name), GetMessageClass(method.input_type)),
            response_serializer=GetMessageClass(method.output_type).SerializeToString,
        )
        for method in service.methods
    }
    return grpc.method_handlers_generic_handler(service.full_name, methods)


def _parsing(handler, request_class):
    async def parse_then_handle(raw: bytes, context):
        try:
            request = request_class.FromString(raw)
        except DecodeError as error:
            await context.abort(grpc.StatusCode.INTERNAL, f"{request_class.__name__}: {error}")
        return await handler(request, context)

    return parse_then_handle


def spec_from_proto(model_spec) -> ModelSpec:
    choice = model_spec.WhichOneof("version_choice")
    return ModelSpec(
        name=model_spec.name,
        version=model_spec.version.value if choice == "version" else None,
        label=model_spec.version_label if choice == "version_label" else None,
        signature_name=model_spec.signature_name,
    )


def deadline_of(context) -> float | None:
    """The caller's gRPC deadline as a time.monotonic() value, or None without one."""
    remaining = context.time_remaining()
    if remaining is None or remaining > NO_DEADLINE_S:
        return None
    return time.monotonic() + remaining


def _fill_spec(target, name: str, answer: Answer) -> None:
    """MakeModelSpec: the requested name, the version that answered, the signature used."""
    target.name = name
    target.version.value = answer.version
    target.signature_name = answer.signature_name


def _record(metrics, model: str, api: str, error, started: float) -> None:
    """TF Serving's request count, and the latency of an answered request."""
    if error is None:
        micros = (time.perf_counter() - started) * 1e6
        metrics.request_latency.add(micros, model, api, "GRPC")
    metrics.request_count.increment(model, code_name(error))


def handled(api: str | None = None):
    """Typed errors become gRPC statuses (anything else INTERNAL, never a dead worker); for
    the inference calls (on a servicer with `core` and `model_of`), TF Serving's request count
    and latency are recorded."""

    def wrap(method):
        @functools.wraps(method)
        async def handler(self, request, context):
            started = time.perf_counter()
            error = None
            try:
                return await method(self, request, context)
            except ServingError as failure:
                error = failure
            except TensorConversionError as failure:
                error = InvalidArgument(f"tensor parsing error: {failure}")
            except Exception as failure:
                log.exception("unexpected error in %s", method.__name__)
                error = ServingError(f"Internal error: {type(failure).__name__}")
                error.code = grpc.StatusCode.INTERNAL
            finally:
                if api is not None:
                    _record(self.core.metrics, self.model_of(request), api, error, started)
            await context.abort(error.code, str(error))

        return handler

    return wrap


class PredictionServicer(prediction_service_pb2_grpc.PredictionServiceServicer):
    def __init__(self, core: ModelServerCore, executor: Executor, tensor_content: bool = False):
        self.core = core
        self.executor = executor
        self.tensor_content = tensor_content

    @staticmethod
    def model_of(request) -> str:
        return request.model_spec.name

    @handled("Predict")
    async def Predict(self, request, context):
        inputs = {}
        for alias, proto in request.inputs.items():
            try:
                inputs[alias] = to_ndarray(proto)
            except TensorConversionError as error:
                raise InvalidArgument(f"tensor parsing error: {alias} ({error})") from None
        answer = await self.core.predict_async(
            spec_from_proto(request.model_spec),
            inputs,
            tuple(request.output_filter),
            deadline_of(context),
            self.executor,
        )
        response = predict_pb2.PredictResponse()
        _fill_spec(response.model_spec, request.model_spec.name, answer)
        for alias, value in answer.result.items():
            to_tensor_proto(value, self.tensor_content, into=response.outputs[alias])
        return response

    @handled("Classify")
    async def Classify(self, request, context):
        return await _off_loop(self.executor, self._classify, request, deadline_of(context))

    @handled("Regress")
    async def Regress(self, request, context):
        return await _off_loop(self.executor, self._regress, request, deadline_of(context))

    @handled()
    async def MultiInference(self, request, context):
        return await _off_loop(self.executor, self._multi_inference, request, deadline_of(context))

    @handled()
    async def GetModelMetadata(self, request, context):
        if not request.HasField("model_spec"):
            raise InvalidArgument("Missing ModelSpec")
        fields = list(request.metadata_field)
        if not fields:
            raise InvalidArgument(
                "GetModelMetadataRequest must specify at least one metadata_field"
            )
        for field in fields:
            if field != "signature_def":
                raise InvalidArgument(f"Metadata field {field} is not supported")
        return metadata_response(self.core.metadata(spec_from_proto(request.model_spec)))

    def _classify(self, request, deadline):
        answer = self.core.classify(
            spec_from_proto(request.model_spec), serialized_examples(request.input), deadline
        )
        response = classification_pb2.ClassificationResponse()
        _fill_spec(response.model_spec, request.model_spec.name, answer)
        _classification_result(answer.result, response.result)
        return response

    def _regress(self, request, deadline):
        answer = self.core.regress(
            spec_from_proto(request.model_spec), serialized_examples(request.input), deadline
        )
        response = regression_pb2.RegressionResponse()
        _fill_spec(response.model_spec, request.model_spec.name, answer)
        for value in answer.result:
            response.result.regressions.add().value = value
        return response

    def _multi_inference(self, request, deadline):
        tasks = [(spec_from_proto(task.model_spec), task.method_name) for task in request.tasks]
        answer = self.core.multi_inference(tasks, serialized_examples(request.input), deadline)
        response = inference_pb2.MultiInferenceResponse()
        for task, result in zip(request.tasks, answer.result, strict=True):
            added = response.results.add()
            added.model_spec.name = task.model_spec.name
            added.model_spec.version.value = answer.version
            added.model_spec.signature_name = result.signature_name
            if result.classifications is not None:
                _classification_result(result.classifications, added.classification_result)
            else:
                for value in result.regressions:
                    added.regression_result.regressions.add().value = value
        return response


async def _off_loop(executor: Executor, call, *args):
    """`call(*args)` on the blocking-work pool, so the event loop keeps serving."""
    return await asyncio.get_running_loop().run_in_executor(executor, call, *args)


def metadata_response(servable) -> get_model_metadata_pb2.GetModelMetadataResponse:
    """SavedModelGetSignatureDef: every SignatureDef, packed as a SignatureDefMap."""
    response = get_model_metadata_pb2.GetModelMetadataResponse()
    response.model_spec.name = servable.name
    response.model_spec.version.value = servable.version
    signatures = get_model_metadata_pb2.SignatureDefMap()
    for key, signature in servable.signatures.items():
        signatures.signature_def[key].CopyFrom(signature)
    packed = any_pb2.Any()
    packed.Pack(signatures)
    response.metadata["signature_def"].CopyFrom(packed)
    return response


def _classification_result(classifications, result) -> None:
    for row in classifications:
        added = result.classifications.add()
        for label, score in row:
            entry = added.classes.add()
            entry.label = label.decode("utf-8", "replace") if isinstance(label, bytes) else label
            entry.score = score


class ModelServicer(model_service_pb2_grpc.ModelServiceServicer):
    def __init__(self, core: ModelServerCore, reload_config, executor: Executor):
        self.core = core
        self.reload_config = reload_config
        self.executor = executor

    @handled()
    async def GetModelStatus(self, request, context):
        if not request.HasField("model_spec"):
            raise InvalidArgument("Missing ModelSpec")
        spec = spec_from_proto(request.model_spec)
        return status_response(self.core.status(ModelSpec(spec.name, spec.version)))

    @handled()
    async def HandleReloadConfigRequest(self, request, context):
        return await _off_loop(self.executor, self._reload_config, request)

    def _reload_config(self, request):
        if request.config.WhichOneof("config") != "model_config_list":
            raise InvalidArgument(
                "ServerModelConfig type not supported by HandleReloadConfigRequest. Only "
                "ModelConfigList is currently supported"
            )
        before = self._metric_values(request.metric_names)
        try:
            self.reload_config(list(request.config.model_config_list.config))
        except ServingError as error:
            log.error("ReloadConfig failed: %s", error)
            raise
        after = self._metric_values(request.metric_names)
        response = model_management_pb2.ReloadConfigResponse(status=status_pb2.StatusProto())
        for name, value in after.items():
            response.metric.add(name=name, int64_value_increase=value - before.get(name, 0))
        return response

    def _metric_values(self, names) -> dict[str, int]:
        """ModelServiceImpl::GetMetrics: a counter's first cell, by TF metric name."""
        counters = {
            metric.name: metric for metric in self.core.metrics.all() if isinstance(metric, Counter)
        }
        values = {}
        for name in names:
            metric = counters.get(name.replace("/", ":"))
            values[name] = metric.first_value() if metric else 0
        return values
