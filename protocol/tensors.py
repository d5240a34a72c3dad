"""NumPy ⇄ TensorProto, in one place, without TensorFlow.

Reading follows TensorFlow's `Tensor::FromProto` (tensorflow/core/framework/tensor.cc), which
is what TF Serving applies to request tensors: packed `tensor_content` bytes must fill the shape
exactly; typed value lists (`float_val`, ...) may be short, the last value repeating to fill the
shape (none at all gives zeros), and values past the shape are ignored. Writing uses the typed
lists by default, as TF Serving's responses do, or `tensor_content` (far faster for large
tensors) on request.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from protocol.messages import tensor_pb2, tensor_shape_pb2, types_pb2

MAX_FILLED_ELEMENTS = 2**26
"""TensorFlow fills a shape from one repeated value; a few bytes could ask for gigabytes, so
this module stops at 64 Mi elements (TensorFlow has no such bound)."""


class TensorConversionError(ValueError):
    """A tensor cannot be converted; the message names what is wrong."""


@dataclass(frozen=True)
class _Kind:
    dtype: np.dtype
    field: str


_KINDS = {
    types_pb2.DT_FLOAT: _Kind(np.dtype(np.float32), "float_val"),
    types_pb2.DT_DOUBLE: _Kind(np.dtype(np.float64), "double_val"),
    types_pb2.DT_HALF: _Kind(np.dtype(np.float16), "half_val"),
    types_pb2.DT_INT8: _Kind(np.dtype(np.int8), "int_val"),
    types_pb2.DT_INT16: _Kind(np.dtype(np.int16), "int_val"),
    types_pb2.DT_INT32: _Kind(np.dtype(np.int32), "int_val"),
    types_pb2.DT_INT64: _Kind(np.dtype(np.int64), "int64_val"),
    types_pb2.DT_UINT8: _Kind(np.dtype(np.uint8), "int_val"),
    types_pb2.DT_UINT16: _Kind(np.dtype(np.uint16), "int_val"),
    types_pb2.DT_UINT32: _Kind(np.dtype(np.uint32), "uint32_val"),
    types_pb2.DT_UINT64: _Kind(np.dtype(np.uint64), "uint64_val"),
    types_pb2.DT_BOOL: _Kind(np.dtype(np.bool_), "bool_val"),
    types_pb2.DT_COMPLEX64: _Kind(np.dtype(np.complex64), "scomplex_val"),
    types_pb2.DT_COMPLEX128: _Kind(np.dtype(np.complex128), "dcomplex_val"),
    types_pb2.DT_STRING: _Kind(np.dtype(object), "string_val"),
}
_DTYPE_TO_ENUM = {kind.dtype: enum for enum, kind in _KINDS.items() if enum != types_pb2.DT_STRING}


def dtype_name(enum: int) -> str:
    """'DT_FLOAT' for 1, and so on."""
    return types_pb2.DataType.Name(enum)


def dtype_enum(dtype: np.dtype) -> int:
    """The TensorFlow DataType enum for a NumPy dtype (object arrays hold strings)."""
    if dtype.kind == "O":
        return types_pb2.DT_STRING
    if dtype not in _DTYPE_TO_ENUM:
        raise TensorConversionError(f"unsupported NumPy dtype {dtype}")
    return _DTYPE_TO_ENUM[dtype]


def numpy_dtype(enum: int) -> np.dtype:
    """The NumPy dtype for a TensorFlow DataType enum."""
    if enum not in _KINDS:
        raise TensorConversionError(f"unsupported dtype {dtype_name(enum)}")
    return _KINDS[enum].dtype


def to_ndarray(proto: tensor_pb2.TensorProto) -> np.ndarray:
    """Decode a TensorProto as TensorFlow does; strings come back as an object array of bytes."""
    kind = _KINDS.get(proto.dtype)
    if kind is None:
        raise TensorConversionError(f"unsupported dtype {dtype_name(proto.dtype)}")
    if proto.tensor_shape.unknown_rank:
        raise TensorConversionError("tensor shape has unknown rank")
    shape = tuple(d.size for d in proto.tensor_shape.dim)
    if any(size < 0 for size in shape):
        raise TensorConversionError(f"tensor shape {list(shape)} has a negative dimension")
    count = math.prod(shape)
    if proto.tensor_content and proto.dtype != types_pb2.DT_STRING:
        if len(proto.tensor_content) != count * kind.dtype.itemsize:
            raise TensorConversionError(
                f"tensor_content has {len(proto.tensor_content)} bytes, "
                f"shape {list(shape)} of {dtype_name(proto.dtype)} needs "
                f"{count * kind.dtype.itemsize}"
            )
        return np.frombuffer(proto.tensor_content, dtype=kind.dtype).reshape(shape).copy()
    flat = _typed_values(proto, kind)[:count]
    if len(flat) < count and count > MAX_FILLED_ELEMENTS:
        raise TensorConversionError(
            f"{len(flat)} values would fill shape {list(shape)} ({count} elements), more than "
            f"the {MAX_FILLED_ELEMENTS} a request may expand to"
        )
    if len(flat) == count:
        return flat.reshape(shape)
    if len(flat) == 0:
        return np.full(shape, b"" if kind.dtype == object else 0, dtype=kind.dtype)
    filled = np.empty(count, dtype=kind.dtype)
    filled[: len(flat)] = flat
    filled[len(flat) :] = flat[-1]
    return filled.reshape(shape)


def _typed_values(proto: tensor_pb2.TensorProto, kind: _Kind) -> np.ndarray:
    values = getattr(proto, kind.field)
    if proto.dtype == types_pb2.DT_STRING:
        return np.array(list(values), dtype=object)
    if proto.dtype == types_pb2.DT_HALF:
        return np.asarray(values, dtype=np.uint16).view(np.float16)
    if kind.dtype.kind == "c":
        pairs = np.asarray(values, dtype=kind.dtype.type(0).real.dtype)
        return pairs[: len(pairs) // 2 * 2].view(kind.dtype)
    if kind.field == "int_val":
        return np.asarray(values, dtype=np.int64).astype(kind.dtype)
    return np.asarray(values, dtype=kind.dtype)


def to_tensor_proto(
    value, use_tensor_content: bool = False, into: tensor_pb2.TensorProto | None = None
) -> tensor_pb2.TensorProto:
    """Encode a NumPy array (or anything np.asarray takes) as a TensorProto; `into` fills a
    message already in place (a response's map entry) instead of building one to copy."""
    array = _as_array(value)
    proto = tensor_pb2.TensorProto() if into is None else into
    proto.tensor_shape.dim.extend(
        tensor_shape_pb2.TensorShapeProto.Dim(size=s) for s in array.shape
    )
    if array.dtype == object:
        proto.dtype = types_pb2.DT_STRING
        proto.string_val.extend(_as_bytes(v) for v in array.reshape(-1))
        return proto
    proto.dtype = _DTYPE_TO_ENUM[array.dtype]
    if use_tensor_content:
        proto.tensor_content = np.ascontiguousarray(array).tobytes()
        return proto
    flat = array.reshape(-1)
    if proto.dtype == types_pb2.DT_HALF:
        flat = flat.view(np.uint16)
    elif array.dtype.kind == "c":
        flat = flat.view(flat.real.dtype)
    getattr(proto, _KINDS[proto.dtype].field).extend(flat.tolist())
    return proto


def _as_array(value) -> np.ndarray:
    array = np.asarray(value)
    if array.dtype.kind in "SU":
        return array.astype(object)
    if array.dtype == object or array.dtype in _DTYPE_TO_ENUM:
        return array
    raise TensorConversionError(f"unsupported NumPy dtype {array.dtype}")


def _as_bytes(value) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode()
    raise TensorConversionError(f"string tensor element of type {type(value).__name__}")
