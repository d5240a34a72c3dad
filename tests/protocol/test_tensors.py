import numpy as np
import pytest

from protocol.messages import tensor_pb2, types_pb2
from protocol.tensors import TensorConversionError, to_ndarray, to_tensor_proto

ARRAYS = [
    np.arange(6, dtype=np.float32).reshape(2, 3) / 7,
    np.arange(4, dtype=np.float64),
    np.array([[1, -2]], dtype=np.int32),
    np.array([3, 2**40], dtype=np.int64),
    np.array([0, 255], dtype=np.uint8),
    np.array([True, False]),
    np.array([1.5, -2.25], dtype=np.float16),
    np.zeros((0, 20), dtype=np.float32),
    np.array([b"a", b"\xff\x00"], dtype=object),
    np.array([1 + 2j, -3j], dtype=np.complex64),
]


@pytest.mark.parametrize("array", ARRAYS, ids=lambda a: f"{a.dtype}{list(a.shape)}")
@pytest.mark.parametrize("packed", [False, True])
def test_round_trip_keeps_dtype_shape_and_values(array, packed):
    back = to_ndarray(to_tensor_proto(array, use_tensor_content=packed))
    assert back.dtype == array.dtype and back.shape == array.shape
    assert back.tolist() == array.tolist()


def test_typed_fields_by_default_tensor_content_on_request():
    array = np.ones((2, 2), np.float32)
    assert list(to_tensor_proto(array).float_val) == [1.0] * 4
    assert to_tensor_proto(array, use_tensor_content=True).tensor_content == array.tobytes()


@pytest.mark.parametrize(
    ("values", "expected"),
    [([2.5], [2.5, 2.5, 2.5]), ([1, 2], [1, 2, 2]), ([], [0, 0, 0]), ([1, 2, 3, 4], [1, 2, 3])],
    ids=["one-value", "short", "none", "long"],
)
def test_typed_values_fill_the_shape_as_tensorflow_does(values, expected):
    """tensorflow/core/framework/tensor.cc, FromProtoField: the last value repeats to fill the
    shape, no values give zeros, values past the shape are ignored."""
    proto = tensor_pb2.TensorProto(dtype=types_pb2.DT_FLOAT, float_val=values)
    proto.tensor_shape.dim.add(size=3)
    np.testing.assert_array_equal(to_ndarray(proto), expected)


def test_python_strings_become_string_tensors():
    proto = to_tensor_proto(["x", "yz"])
    assert proto.dtype == types_pb2.DT_STRING and list(proto.string_val) == [b"x", b"yz"]


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda p: setattr(p, "tensor_content", b"\x00" * 5), "tensor_content has 5 bytes"),
        (lambda p: setattr(p, "dtype", types_pb2.DT_BFLOAT16), "unsupported dtype DT_BFLOAT16"),
        (lambda p: p.tensor_shape.dim.add(size=-4), "negative dimension"),
    ],
)
def test_malformed_tensors_are_named(mutate, message):
    proto = tensor_pb2.TensorProto(dtype=types_pb2.DT_FLOAT)
    proto.tensor_shape.dim.add(size=3)
    mutate(proto)
    with pytest.raises(TensorConversionError, match=message):
        to_ndarray(proto)


def test_unsupported_numpy_dtype_is_refused():
    with pytest.raises(TensorConversionError, match="datetime64"):
        to_tensor_proto(np.zeros(2, "datetime64[s]"))
