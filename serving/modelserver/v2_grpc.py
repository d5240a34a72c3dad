"""The Open Inference Protocol over gRPC: `inference.GRPCInferenceService` on the model server's
gRPC port beside TF Serving's services (kserve/kserve docs/predict-api/v2/required_api.md,
"GRPC"; messages from protocol/v2). Tensors come as typed `contents` or as
`raw_input_contents`; answers go as `raw_output_contents` (what tritonclient reads). Errors are
gRPC statuses: NOT_FOUND for an unknown model or version, INVALID_ARGUMENT for a bad request.
"""

from __future__ import annotations

from concurrent.futures import Executor

import numpy as np

from protocol.v2 import grpc_predict_v2_pb2 as pb
from protocol.v2 import grpc_predict_v2_pb2_grpc
from serving.modelserver import v2
from serving.modelserver.core import ModelServerCore
from serving.modelserver.errors import InvalidArgument
from serving.modelserver.grpc_api import deadline_of, handled

CONTENTS = {
    "BOOL": "bool_contents",
    "INT8": "int_contents",
    "INT16": "int_contents",
    "INT32": "int_contents",
    "INT64": "int64_contents",
    "UINT8": "uint_contents",
    "UINT16": "uint_contents",
    "UINT32": "uint_contents",
    "UINT64": "uint64_contents",
    "FP32": "fp32_contents",
    "FP64": "fp64_contents",
    "BYTES": "bytes_contents",
}
"""Which InferTensorContents field holds each datatype (FP16 only travels raw)."""


class InferenceServicer(grpc_predict_v2_pb2_grpc.GRPCInferenceServiceServicer):
    def __init__(self, core: ModelServerCore, executor: Executor):
        self.core = core
        self.executor = executor

    @staticmethod
    def model_of(request) -> str:
        return request.model_name

    @handled()
    async def ServerLive(self, request, context):
        return pb.ServerLiveResponse(live=True)

    @handled()
    async def ServerReady(self, request, context):
        return pb.ServerReadyResponse(ready=v2.server_ready(self.core))

    @handled()
    async def ModelReady(self, request, context):
        return pb.ModelReadyResponse(ready=v2.model_ready(self.core, request.name, request.version))

    @handled()
    async def ServerMetadata(self, request, context):
        return pb.ServerMetadataResponse(
            name=v2.SERVER_NAME, version=v2.server_version(), extensions=list(v2.EXTENSIONS)
        )

    @handled()
    async def ModelMetadata(self, request, context):
        found = v2.metadata(self.core, request.name, request.version)
        response = pb.ModelMetadataResponse(
            name=found.name, versions=found.versions, platform=found.platform
        )
        for infos, target in ((found.inputs, response.inputs), (found.outputs, response.outputs)):
            for info in infos:
                target.add(name=info.name, datatype=info.datatype, shape=info.shape)
        return response

    @handled("ModelInfer")
    async def ModelInfer(self, request, context):
        answer = await v2.infer_async(
            self.core, read_request(request), deadline_of(context), self.executor
        )
        return write_response(answer, [output.name for output in request.outputs])


def read_request(request: pb.ModelInferRequest) -> v2.InferRequest:
    raw = list(request.raw_input_contents)
    if raw and len(raw) != len(request.inputs):
        raise InvalidArgument(
            f"raw_input_contents has {len(raw)} entries for {len(request.inputs)} inputs"
        )
    inputs = {}
    for index, tensor in enumerate(request.inputs):
        shape = list(tensor.shape)
        if raw:
            array = v2.from_raw(tensor.name, tensor.datatype, shape, raw[index])
        else:
            field = CONTENTS.get(tensor.datatype)
            if field is None:
                v2.dtype_of(tensor.name, tensor.datatype)  # unknown datatype: named
                raise InvalidArgument(f"input {tensor.name!r}: {tensor.datatype} travels raw only")
            values = getattr(tensor.contents, field)
            array = v2.array_of(tensor.name, tensor.datatype, shape, list(values))
        if tensor.name in inputs:
            raise InvalidArgument(f"input {tensor.name!r} given twice")
        inputs[tensor.name] = array
    parameters = {name: _parameter(value) for name, value in request.parameters.items()}
    return v2.InferRequest(
        request.model_name,
        request.model_version,
        inputs,
        [output.name for output in request.outputs],
        request.id,
        parameters,
    )


def write_response(answer: v2.InferResponse, requested: list[str]) -> pb.ModelInferResponse:
    response = pb.ModelInferResponse(
        model_name=answer.model, model_version=answer.version, id=answer.id
    )
    for name in requested or sorted(answer.outputs):
        array = np.asarray(answer.outputs[name])
        response.outputs.add(name=name, datatype=v2.datatype_of(array), shape=list(array.shape))
        response.raw_output_contents.append(v2.to_raw(array))
    return response


def _parameter(value: pb.InferParameter):
    choice = value.WhichOneof("parameter_choice")
    return getattr(value, choice) if choice else None
