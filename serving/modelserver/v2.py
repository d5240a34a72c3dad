"""The Open Inference Protocol ("KServe V2") over the core, whatever the transport: datatypes,
tensors in and out, metadata, readiness. The REST and gRPC adapters (v2_rest.py, v2_grpc.py)
only move these between their wire formats and the core's `predict`, the same one TF Serving's
API calls: one model manager, version policy, batching queue, warmup and metrics.

Facts from the protocol's document (kserve/kserve docs/predict-api/v2/required_api.md): the
datatypes and their sizes; tensor data row-major, flat or nested; `id` echoed; requested
`outputs` (all when none are named); errors as `{"error": message}`. V2 has no version labels:
a version is a number or, absent, this server's policy (the newest available). Which signature
answers: `serving_default` unless the request's `parameters` name another as
`signature_name` (this server's parameter).
"""

from __future__ import annotations

import importlib.metadata
import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from protocol.generated.tensorflow.core.framework import types_pb2
from serving.modelserver import inference
from serving.modelserver.core import ModelServerCore, ModelSpec
from serving.modelserver.errors import InvalidArgument, NotFound
from serving.modelserver.manager import State

SERVER_NAME = "seqserve"
EXTENSIONS = ("binary_tensor_data",)
"""Triton's binary tensor data extension (docs/protocol/extension_binary_data.md), on REST."""
PLATFORM = "tensorflow_savedmodel"
SIGNATURE_PARAMETER = "signature_name"

DATATYPES: dict[str, np.dtype] = {
    "BOOL": np.dtype(np.bool_),
    "UINT8": np.dtype(np.uint8),
    "UINT16": np.dtype(np.uint16),
    "UINT32": np.dtype(np.uint32),
    "UINT64": np.dtype(np.uint64),
    "INT8": np.dtype(np.int8),
    "INT16": np.dtype(np.int16),
    "INT32": np.dtype(np.int32),
    "INT64": np.dtype(np.int64),
    "FP16": np.dtype(np.float16),
    "FP32": np.dtype(np.float32),
    "FP64": np.dtype(np.float64),
    "BYTES": np.dtype(object),
}
"""The protocol's datatypes (required_api.md, "Tensor Data Types") as NumPy dtypes."""
TF_DATATYPES = {
    types_pb2.DT_BOOL: "BOOL",
    types_pb2.DT_UINT8: "UINT8",
    types_pb2.DT_UINT16: "UINT16",
    types_pb2.DT_UINT32: "UINT32",
    types_pb2.DT_UINT64: "UINT64",
    types_pb2.DT_INT8: "INT8",
    types_pb2.DT_INT16: "INT16",
    types_pb2.DT_INT32: "INT32",
    types_pb2.DT_INT64: "INT64",
    types_pb2.DT_HALF: "FP16",
    types_pb2.DT_FLOAT: "FP32",
    types_pb2.DT_DOUBLE: "FP64",
    types_pb2.DT_STRING: "BYTES",
}


NAMES = {dtype: name for name, dtype in DATATYPES.items() if name != "BYTES"}


def datatype_of(array: np.ndarray) -> str:
    name = NAMES.get(array.dtype) or NAMES.get(array.dtype.newbyteorder("="))
    if name is not None:
        return name
    if array.dtype == object or array.dtype.kind in "SU":
        return "BYTES"
    raise InvalidArgument(f"output of dtype {array.dtype} has no V2 datatype")


@dataclass(frozen=True)
class TensorInfo:
    name: str
    datatype: str
    shape: list[int]


@dataclass(frozen=True)
class Metadata:
    """A model's metadata: the signature that answers and its tensors."""

    name: str
    versions: list[str]
    signature_name: str
    inputs: list[TensorInfo]
    outputs: list[TensorInfo]
    platform: str = PLATFORM


@dataclass
class InferRequest:
    """A ModelInfer / infer request once read off its wire format."""

    model: str
    version: str
    inputs: dict[str, np.ndarray]
    outputs: list[str] = field(default_factory=list)
    id: str = ""
    parameters: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class InferResponse:
    model: str
    version: str
    id: str
    outputs: dict[str, np.ndarray]


def server_version() -> str:
    return importlib.metadata.version("seqserve")


def spec_of(model: str, version: str, signature: str = "") -> ModelSpec:
    """The core's spec for a V2 (name, version string): a number, or empty for the newest."""
    if version == "":
        return ModelSpec(model, None, None, signature)
    if not version.isascii() or not version.isdigit() or len(version) > 18:
        raise InvalidArgument(f"model version: expected a number, got {version!r}")
    return ModelSpec(model, int(version), None, signature)


def signature_of(parameters: Mapping[str, object]) -> str:
    signature = parameters.get(SIGNATURE_PARAMETER, "")
    if not isinstance(signature, str):
        raise InvalidArgument(f"parameter {SIGNATURE_PARAMETER}: expected a string")
    return signature


def model_ready(core: ModelServerCore, model: str, version: str) -> bool:
    """Whether that version (or, none given, any version) is AVAILABLE; an unknown model is
    NotFound."""
    spec = spec_of(model, version)
    statuses = core.status(ModelSpec(spec.name, spec.version))
    return any(status.state == State.AVAILABLE for status in statuses)


def server_ready(core: ModelServerCore) -> bool:
    """Every configured model has a version AVAILABLE."""
    return all(
        any(s.state == State.AVAILABLE for s in core.status(ModelSpec(name)))
        for name in core.manager.names()
    )


def metadata(core: ModelServerCore, model: str, version: str, signature: str = "") -> Metadata:
    servable = core.metadata(spec_of(model, version))
    key = inference.signature_key(signature)
    if key not in servable.signatures:
        raise NotFound(f"model {model}: no signature {key!r}")
    found = servable.signatures[key]
    versions = sorted(
        status.version
        for status in core.status(ModelSpec(model))
        if status.state == State.AVAILABLE
    )
    return Metadata(
        name=model,
        versions=[str(number) for number in versions],
        signature_name=key,
        inputs=[_info(alias, found.inputs[alias]) for alias in sorted(found.inputs)],
        outputs=[_info(alias, found.outputs[alias]) for alias in sorted(found.outputs)],
    )


def infer(core: ModelServerCore, request: InferRequest, deadline: float) -> InferResponse:
    spec = spec_of(request.model, request.version, signature_of(request.parameters))
    check = _datatype_check(request.inputs)
    answer = core.predict(spec, request.inputs, request.outputs, deadline, check)
    return _response(request, answer)


async def infer_async(core: ModelServerCore, request: InferRequest, deadline: float, executor):
    spec = spec_of(request.model, request.version, signature_of(request.parameters))
    check = _datatype_check(request.inputs)
    answer = await core.predict_async(
        spec, request.inputs, request.outputs, deadline, executor, check
    )
    return _response(request, answer)


def array_of(name: str, datatype: str, shape: list[int], values) -> np.ndarray:
    """A tensor from its V2 description and its elements (flat or nested, or an array)."""
    dtype = dtype_of(name, datatype)
    shape = shape_of(name, shape)
    try:
        array = np.asarray(values, dtype=dtype)
    except (ValueError, TypeError, OverflowError) as error:
        raise InvalidArgument(
            f"input {name!r}: data not of datatype {datatype} ({error})"
        ) from None
    if array.size != math.prod(shape):
        raise InvalidArgument(
            f"input {name!r}: shape {shape} needs {math.prod(shape)} elements, got {array.size}"
        )
    return array.reshape(shape)


def from_raw(name: str, datatype: str, shape: list[int], raw: bytes) -> np.ndarray:
    """A tensor from raw little-endian bytes (binary data, raw_input_contents); BYTES elements
    each a 4-byte little-endian length and the bytes."""
    dtype = dtype_of(name, datatype)
    shape = shape_of(name, shape)
    count = math.prod(shape)
    if datatype == "BYTES":
        return np.array(_length_prefixed(name, raw, count), dtype=object).reshape(shape)
    expected = count * dtype.itemsize
    if len(raw) != expected:
        raise InvalidArgument(
            f"input {name!r}: shape {shape} of {datatype} needs {expected} bytes, got {len(raw)}"
        )
    return np.frombuffer(raw, dtype=dtype.newbyteorder("<")).astype(dtype).reshape(shape)


def to_raw(array: np.ndarray) -> bytes:
    """Raw little-endian bytes of a tensor (BYTES: each length-prefixed)."""
    if datatype_of(array) == "BYTES":
        return b"".join(
            len(item).to_bytes(4, "little") + item
            for item in (_as_bytes(value) for value in array.reshape(-1))
        )
    return np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<")).tobytes()


def dtype_of(name: str, datatype: str) -> np.dtype:
    if not isinstance(datatype, str) or datatype not in DATATYPES:
        raise InvalidArgument(
            f"input {name!r}: unknown datatype {datatype!r}; expected one of {', '.join(DATATYPES)}"
        )
    return DATATYPES[datatype]


def shape_of(name: str, shape) -> list[int]:
    if not isinstance(shape, (list, tuple)) or not all(
        isinstance(size, (int, np.integer)) and not isinstance(size, bool) and size >= 0
        for size in shape
    ):
        raise InvalidArgument(f"input {name!r}: shape must be a list of non-negative integers")
    return [int(size) for size in shape]


def _info(alias: str, tensor) -> TensorInfo:
    datatype = TF_DATATYPES.get(tensor.dtype, "BYTES")
    if tensor.tensor_shape.unknown_rank:
        return TensorInfo(alias, datatype, [-1])
    return TensorInfo(alias, datatype, [int(dim.size) for dim in tensor.tensor_shape.dim])


def _datatype_check(inputs: dict[str, np.ndarray]):
    """The check, on the answering version's signature, that each input's datatype is the
    signature's: a model is not fed a tensor it would have to cast (TF Serving's session refuses a
    mismatched dtype too)."""

    def check(expected) -> None:
        for alias, array in inputs.items():
            if alias in expected:
                wanted = TF_DATATYPES.get(expected[alias].dtype)
                given = datatype_of(array)
                if wanted and given != wanted:
                    raise InvalidArgument(
                        f"input {alias!r}: expected datatype {wanted}, got {given}"
                    )

    return check


def _response(request: InferRequest, answer) -> InferResponse:
    outputs = answer.result
    return InferResponse(request.model, str(answer.version), request.id, dict(outputs))


def _length_prefixed(name: str, raw: bytes, count: int) -> list[bytes]:
    items, offset = [], 0
    for _ in range(count):
        if offset + 4 > len(raw):
            raise InvalidArgument(f"input {name!r}: BYTES data ends inside an element's length")
        size = int.from_bytes(raw[offset : offset + 4], "little")
        offset += 4
        if offset + size > len(raw):
            raise InvalidArgument(f"input {name!r}: BYTES data ends inside an element")
        items.append(raw[offset : offset + size])
        offset += size
    if offset != len(raw):
        raise InvalidArgument(f"input {name!r}: {len(raw) - offset} bytes beyond its elements")
    return items


def _as_bytes(value) -> bytes:
    return value if isinstance(value, bytes) else str(value).encode()
