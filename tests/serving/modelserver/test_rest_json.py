"""The REST JSON module against cases ported from TF Serving's `util/json_tensor_test.cc`."""

import json

import numpy as np
import pytest
from google.protobuf import text_format
from tensorflow.core.protobuf import meta_graph_pb2

from protocol.messages import example_pb2
from protocol.rest_errors import error_body
from serving.modelserver import rest_json
from serving.modelserver.errors import InvalidArgument


def infomap(**dtypes):
    return {
        name: text_format.Parse(f"dtype: {dtype}", meta_graph_pb2.TensorInfo())
        for name, dtype in dtypes.items()
    }


def fill(body: str, **dtypes):
    document = rest_json.parse_object(body.encode())
    return rest_json.predict_inputs(document, rest_json.signature_name(document), infomap(**dtypes))


def test_single_unnamed_tensor():
    tensors, request_format = fill('{"instances": [[1,2],[3,4],[5,6]]}', default="DT_INT32")
    assert request_format == rest_json.ROW
    assert tensors["default"].dtype == np.int32
    np.testing.assert_array_equal(tensors["default"], [[1, 2], [3, 4], [5, 6]])


def test_mixed_input_for_float_and_double_tensors():
    floats, _ = fill('{"instances": [1, 2.0, 3, 4, 5.003, 0.007, 0.0]}', default="DT_FLOAT")
    assert floats["default"].dtype == np.float32
    np.testing.assert_allclose(floats["default"], [1, 2, 3, 4, 5.003, 0.007, 0])
    doubles, _ = fill('{"instances": [1.0, 2, 3, 4, 0.662, 0, 0.0]}', default="DT_DOUBLE")
    assert doubles["default"].dtype == np.float64


def test_float_tensor_with_precision_loss_and_overflow():
    """FloatTensorWithPrecisionLoss, FloatTensorThatExceedsMaxReturnsInf."""
    tensors, _ = fill('{"instances": [1435774380, 1435774380.0]}', default="DT_FLOAT")
    assert tensors["default"][0] == tensors["default"][1] == np.float32(1435774380)
    tensors, _ = fill(f'{{"instances": [{float(np.finfo(np.float64).max)!r}]}}', default="DT_FLOAT")
    assert np.isinf(tensors["default"][0])


def test_single_unnamed_tensor_with_signature():
    document = rest_json.parse_object(b'{"signature_name": "predict_images", "instances": [[1,2]]}')
    assert rest_json.signature_name(document) == "predict_images"


def test_base64_scalars_lists_and_named_tensors():
    tensors, _ = fill(
        '{"instances": [{"b64": "aGVsbG8="}, {"b64": "d29ybGQ="}]}', default="DT_STRING"
    )
    assert list(tensors["default"]) == [b"hello", b"world"]
    tensors, _ = fill(
        '{"instances": [[{"b64": "aGVsbG8="}], [{"b64": "d29ybGQ="}]]}', default="DT_STRING"
    )
    assert tensors["default"].shape == (2, 1)
    tensors, _ = fill(
        '{"instances": [{"in": {"b64": "aGVsbG8="}}, {"in": {"b64": "d29ybGQ="}}]}',
        **{"in": "DT_STRING"},
    )
    assert list(tensors["in"]) == [b"hello", b"world"]


def test_multiple_named_tensors_row_and_columnar():
    body = """{"instances": [
        {"int_tensor": [[1,2],[3,4],[5,6]], "str_tensor": ["foo", "bar"],
         "float_tensor": [1.0], "double_tensor": [1.0], "int64_tensor": [1], "bool_tensor": [true]},
        {"int_tensor": [[7,8],[9,0],[1,2]], "str_tensor": ["baz", "bat"],
         "float_tensor": [2.0], "double_tensor": [2.0], "int64_tensor": [2], "bool_tensor": [false]}
    ]}"""
    types = dict(
        int_tensor="DT_INT32",
        str_tensor="DT_STRING",
        float_tensor="DT_FLOAT",
        double_tensor="DT_DOUBLE",
        int64_tensor="DT_INT64",
        bool_tensor="DT_BOOL",
    )
    tensors, _ = fill(body, **types)
    assert tensors["int_tensor"].shape == (2, 3, 2)
    assert tensors["str_tensor"].tolist() == [[b"foo", b"bar"], [b"baz", b"bat"]]
    assert tensors["bool_tensor"].tolist() == [[True], [False]]
    columnar = '{"inputs": {"int_tensor": [[1,2]], "str_tensor": ["foo"], "float_tensor": 1.0,'
    columnar += ' "double_tensor": [1.0], "int64_tensor": [1], "bool_tensor": [true]}}'
    tensors, request_format = fill(columnar, **types)
    assert request_format == rest_json.COLUMNAR and tensors["float_tensor"].shape == ()


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ("", "document is empty"),
        ('{"signature_name": 5, "instances": [[1,2]]}', "must be a string value"),
        ('{"instances": [[1,2]], "inputs": [[1,2]]}', "Not formatted correctly"),
        ('{"instances": [[1,2],[3,4],[5,6,7]]}', "Expecting tensor size"),
        ('{"instances": [[1,2],[3,4],[[5,6]]]}', "Expecting shape"),
        ('{"instances": [1, [1]]}', "Expecting shape"),
        ('{"instances": [[1,2],["a", "b"]]}', "not of expected type"),
    ],
)
def test_single_unnamed_tensor_errors(body, fragment):
    with pytest.raises(InvalidArgument, match=fragment):
        fill(body, default="DT_INT32")


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (
            '{"instances": [{"int_tensor": [[1,2],[3,4],[5,6]], "str_tensor": ["foo", "bar"]},'
            ' {"int_tensor": [[[7,8],[9,0],[1,2]]], "str_tensor": ["baz", "bat"]}]}',
            "Expecting shape",
        ),
        (
            '{"instances": [{"int_tensor": [[1,2],[3,4],[5,6],[7,8]], "str_tensor": ["a"]},'
            ' {"int_tensor": [[7,8],[9,0],[1,2]], "str_tensor": ["b"]}]}',
            "Expecting tensor size",
        ),
        (
            '{"instances": [{"int_tensor": [[1,2]], "str_tensor": ["a"]}, [1, 20, 30]]}',
            "Expecting object but got list",
        ),
    ],
)
def test_multiple_named_tensor_errors(body, fragment):
    with pytest.raises(InvalidArgument, match=fragment):
        fill(body, int_tensor="DT_INT32", str_tensor="DT_STRING")


def test_a_list_first_then_an_object_is_an_error():
    with pytest.raises(InvalidArgument, match="Expecting value/list but got object"):
        fill(
            '{"instances": [["baz", "bar"], {"str_tensor": ["baz", "bat"]}]}',
            str_tensor="DT_STRING",
        )


def row(**tensors) -> bytes:
    return rest_json.predict_response(tensors, rest_json.ROW)


def test_from_json_single_tensor_row_and_columnar():
    tensor = np.array([[[1, 2], [3, 4], [5, 6]], [[7, 8], [9, 0], [1, 2]]], np.int32)
    assert json.loads(row(int_tensor=tensor)) == {"predictions": tensor.tolist()}
    columnar = rest_json.predict_response({"int_tensor": tensor}, rest_json.COLUMNAR)
    assert json.loads(columnar) == {"outputs": tensor.tolist()}


def test_from_json_single_bytes_tensor():
    tensor = np.array([[b"hello", b"world"], [b"tf", b"serving"]], dtype=object)
    assert json.loads(row(str_tensor_bytes=tensor)) == {
        "predictions": [
            [{"b64": "aGVsbG8="}, {"b64": "d29ybGQ="}],
            [{"b64": "dGY="}, {"b64": "c2VydmluZw=="}],
        ]
    }


def test_from_json_single_float_tensor_six_digit_precision():
    """The values are compared as strings in json_tensor_test.cc."""
    tensor = np.array([[9000000, 999999, 0.5], [0.0003, 0.00003, 555557.5]], np.float32)
    text = row(float_tensor=tensor).decode()
    assert "[9e+06, 999999.0, 0.5], [0.0003, 3e-05, 555557.5]" in text


def test_from_json_single_float_tensor_non_finite():
    tensor = np.array([[np.nan, np.inf], [3, -np.inf]], np.float32)
    assert "[NaN, Infinity], [3.0, -Infinity]" in row(float_tensor=tensor).decode()


def test_float32_values_keep_their_short_form():
    assert b"[0.1, 0.2, 0.3" in row(x=np.array([0.1, 0.2, 0.3], np.float32))


def test_from_json_errors():
    with pytest.raises(InvalidArgument, match="empty tensor map"):
        row()
    with pytest.raises(InvalidArgument, match="tensor type: complex64"):
        row(tensor=np.array([1 + 2j], np.complex64))
    with pytest.raises(InvalidArgument, match="no shape information"):
        row(tensor=np.int32(1))


def test_multiple_named_tensors_are_objects_per_instance():
    output = row(
        int_tensor=np.array([[1, 2], [3, 4]], np.int32), str_tensor=np.array([b"a", b"b"], object)
    )
    assert json.loads(output) == {
        "predictions": [
            {"int_tensor": [1, 2], "str_tensor": "a"},
            {"int_tensor": [3, 4], "str_tensor": "b"},
        ]
    }
    with pytest.raises(InvalidArgument, match="inconsistent batch size: 1 expecting: 2"):
        row(a=np.ones((2, 1)), b=np.ones((1, 1)))


def test_classify_regress_requests_with_context_and_signature():
    """RequestWithContextAndSignature: context features are prepended to each example."""
    document = rest_json.parse_object(
        b'{"signature_name": "name", "context": {"from": "context", "ints": [1, 2]},'
        b' "examples": [{"str": "s", "float": 1.5, "int": 3, "bytes": {"b64": "aGVsbG8="}}]}'
    )
    (serialized,) = rest_json.examples(document)
    example = example_pb2.Example.FromString(serialized)
    features = example.features.feature
    assert features["from"].bytes_list.value == [b"context"]
    assert features["ints"].int64_list.value == [1, 2]
    assert features["float"].float_list.value == [1.5] and features["int"].int64_list.value == [3]
    assert features["bytes"].bytes_list.value == [b"hello"]


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (
            '{"examples": [{"x": [1, "a"]}]}',
            "Unexpected element type in feature: x expecting type: int64",
        ),
        ('{"examples": [{"x": null}]}', "has element with unexpected JSON type: Null"),
        ('{"examples": [{"x": 18446744073709551615}]}', "has uint64_t element"),
        ('{"examples": {}}', "Expecting 'examples' value to be an list/array"),
        ('{"context": [], "examples": [{}]}', "Example must be JSON object but got JSON Array"),
    ],
)
def test_classify_regress_json_errors(body, fragment):
    with pytest.raises(InvalidArgument, match=fragment):
        rest_json.examples(rest_json.parse_object(body.encode()))


def test_json_from_classification_and_regression_results():
    classification = [[(b"car", 0.5), (b"bike", 0.25)], [(b"", 1.0)]]
    assert json.loads(rest_json.classify_response(classification)) == {
        "results": [[["car", 0.5], ["bike", 0.25]], [["", 1.0]]]
    }
    assert json.loads(rest_json.regress_response([1.0, 2.0])) == {"results": [1.0, 2.0]}
    assert b"[NaN, Infinity]" in rest_json.regress_response([float("nan"), float("inf")])
    with pytest.raises(InvalidArgument, match="empty RegressionResults"):
        rest_json.regress_response([])


def test_json_from_status():
    assert json.loads(error_body("Some error")) == {"error": "Some error"}


def test_debug_strings_are_cut_after_256_bytes():
    text = rest_json.debug_string({"key": list(range(1000))})
    assert 256 <= len(text) < 300


@pytest.mark.parametrize(
    ("body", "message"),
    [
        # Python's int() refuses more than 4,300 digits with a ValueError of its own; to
        # rapidjson such an integer is a double, and too big for one
        (b'{"instances": [' + b"7" * 5000 + b"]}", "Number too big to be stored in double"),
        # half a surrogate pair is no UTF-8 text: rapidjson refuses it while parsing
        (b'{"signature_name": "\\ud800", "instances": [1]}', "surrogate pair in string is invalid"),
        (b'{"instances": ["\\udc00"]}', "surrogate pair in string is invalid"),
    ],
)
def test_numbers_and_strings_python_would_choke_on_are_parse_errors(body, message):
    with pytest.raises(InvalidArgument, match=message):
        rest_json.parse_object(body)


def test_a_whole_surrogate_pair_and_an_escaped_backslash_are_text():
    assert rest_json.parse_object(b'{"a": "\\ud83d\\ude00", "b": "\\\\ud800"}') == {
        "a": "\U0001f600",
        "b": "\\ud800",
    }


def test_a_repeated_key_keeps_its_first_value_as_tf_serving_reads_it():
    """rapidjson keeps every member of an object and json_tensor.cc looks keys up with
    FindMember, which returns the first; Python's parser would keep the last."""
    document = rest_json.parse_object(
        b'{"instances": [1], "signature_name": "a", "instances": [2], "signature_name": "b"}'
    )
    assert document == {"instances": [1], "signature_name": "a"}
