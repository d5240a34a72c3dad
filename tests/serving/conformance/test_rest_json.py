"""TF Serving's REST JSON rules, end to end: `util/json_tensor.cc` (tests:
`util/json_tensor_test.cc`) and `g3doc/api_rest.md`'s JSON mapping, on the suite's `typed` model
(inputs i: int32, s: string, b: bool, f: float; outputs i_plus_one, s_bytes, s_text, not_b,
f_tenth) and on half_plus_two.
"""

import base64
import json

import pytest

from tests.serving.conformance.tfs import call_rest

ROW = {"i": 1, "s": "a", "b": True, "f": 1.0}


def predict(server, body, model="typed"):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return call_rest(f"{server.rest_url}/v1/models/{model}:predict", raw=raw)


def error(response, status=400) -> str:
    assert response[0] == status, response
    return json.loads(response[1])["error"]


def test_row_format_with_named_inputs_and_json_types(typed_server):
    """api_rest.md: each instance an object naming every input; several outputs give one
    object per instance; `_bytes` outputs are {"b64": ...}; float32 0.1 is written 0.1."""
    status, body = predict(typed_server, {"instances": [ROW, {**ROW, "s": "\u00e9", "i": 7}]})
    assert status == 200
    first, second = json.loads(body)["predictions"]
    assert first == {
        "i_plus_one": 2,
        "s_bytes": {"b64": base64.b64encode(b"a").decode()},
        "s_text": "a",
        "not_b": False,
        "f_tenth": 0.1,
    }
    assert second["s_text"] == "\u00e9" and second["i_plus_one"] == 8
    assert b'"f_tenth": 0.1' in body


def test_columnar_format_ignores_keys_the_signature_does_not_take(typed_server):
    """FillTensorMapFromInputsMap looks up each signature input and ignores other keys."""
    inputs = {"i": [1, 2], "s": ["a", "b"], "b": [True, False], "f": [1.0, 2.0], "extra": 5}
    status, body = predict(typed_server, {"inputs": inputs})
    assert status == 200
    outputs = json.loads(body)["outputs"]
    assert outputs["i_plus_one"] == [2, 3] and outputs["not_b"] == [False, True]


@pytest.mark.parametrize(
    ("field", "value", "fragment"),
    [
        ("i", 1.7, "JSON Value: 1.7 Type: Number is not of expected type: int32"),
        ("i", 2**31, "is not of expected type: int32"),
        ("f", None, "JSON Value: null Type: Null is not of expected type: float"),
        ("f", "1.5", 'JSON Value: "1.5" Type: String is not of expected type: float'),
        ("f", True, "Type: True is not of expected type: float"),
        ("b", 1, "Type: Number is not of expected type: bool"),
        ("s", 5, "Type: Number is not of expected type: string"),
        ("s", {"b64": "not base64!"}, "Unable to base64 decode"),
    ],
)
def test_values_of_the_wrong_json_type_are_rejected(typed_server, field, value, fragment):
    """AddValueToTensor: the value must be of the input's type; the error names it."""
    message = error(predict(typed_server, {"instances": [{**ROW, field: value}]}))
    assert fragment in message
    assert message.startswith("Failed to process element: 0 key: ")


def test_b64_strings_and_numbers_for_floats(typed_server):
    """A {"b64": ...} object feeds a string input; whole numbers feed float inputs. Outputs not
    named `_bytes` are written as the bytes they hold (rapidjson escapes only control
    characters, quotes and backslashes)."""
    row = {**ROW, "s": {"b64": base64.b64encode(b"\x00\xff").decode()}, "f": 2}
    status, body = predict(typed_server, {"instances": [row]})
    assert status == 200
    assert b'"s_bytes": {\n                "b64": "AP8="\n            }' in body
    assert b'"s_text": "\\u0000\xff"' in body


def test_a_scalar_output_cannot_be_written_in_the_row_format(typed_server):
    """MakeRowFormatJsonFromTensors: every output needs a batch dimension (without batching;
    with it, batching_session.cc refuses the batch's output first)."""
    body = {"signature_name": "with_scalar", "instances": [1.0, 2.0]}
    assert "Tensor name: count has no shape information" in error(predict(typed_server, body))
    status, body = predict(typed_server, {"signature_name": "with_scalar", "inputs": [1.0, 2.0]})
    assert status == 200
    assert json.loads(body)["outputs"] == {"count": 2, "rows": [1.0, 2.0]}


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"instances": [[1.0], [1.0, 2.0]]}, "Expecting tensor size"),
        ({"instances": [1.0, [1.0]]}, "Expecting shape"),
        ({"instances": [1.0], "inputs": [1.0]}, "Not formatted correctly"),
        ({"instances": []}, "No values in 'instances' array"),
        ({"instances": {"x": [1.0]}}, "Expecting 'instances' to be an list/array"),
        ({"signature_name": "serving_default"}, "Missing 'inputs' or 'instances' key"),
        ({"instances": [{"x": [1.0]}, [1.0]]}, "Expecting object but got list"),
        ({"instances": [[1.0], {"x": [1.0]}]}, "Expecting value/list but got object"),
        ({"instances": [{"z": 1.0}]}, "JSON object: does not have named input: z"),
        ({"inputs": [[1.0], [2.0, 3.0]]}, "Encountered list at unexpected size"),
        ({"signature_name": "nope", "instances": [1.0]}, 'signature name: "nope" not found'),
        (b"[1, 2]", "Is not object"),
    ],
)
def test_malformed_predict_bodies(config_server, body, fragment):
    """json_tensor_test.cc's SingleUnnamedTensorErrors / MultipleNamedTensorErrors and the
    FillPredictRequestFromJson checks, on half_plus_two (one input, x)."""
    assert fragment in error(predict(config_server, body, model="half_plus_two"))


def test_nan_and_infinity_are_json_numbers_here(config_server):
    """api_rest.md, JSON conformance: NaN, Infinity and -Infinity are accepted and written."""
    status, body = predict(
        config_server, b'{"instances": [NaN, Infinity, -Infinity]}', model="half_plus_two"
    )
    assert status == 200
    assert b"[NaN, Infinity, -Infinity" in body


def test_trailing_text_after_the_document_is_ignored(config_server):
    """ParseJson uses kParseStopWhenDoneFlag: parsing stops after the root object."""
    status, body = predict(config_server, b'{"instances": [1.0]} trailing', model="half_plus_two")
    assert (status, json.loads(body)) == (200, {"predictions": [2.5]})


@pytest.mark.parametrize(
    ("examples", "fragment"),
    [
        ({"examples": [{"x": None}]}, "Feature: x has element with unexpected JSON type: Null"),
        ({"examples": [{"x": [1.0, "a"]}]}, "Unexpected element type in feature: x"),
        ({"examples": [{"x": [[1.0]]}]}, "has element with unexpected JSON type: Array"),
        ({"examples": [1]}, "Example must be JSON object but got JSON Number"),
        ({"examples": []}, "'examples' value is an empty array"),
        ({"signature_name": "regress_x_to_y"}, "key 'examples' is expected and was not found"),
    ],
)
def test_malformed_classify_regress_bodies(config_server, examples, fragment):
    """json_tensor_test.cc ClassifyRegressRequestTest.JsonErrors and AddValueToFeature."""
    body = {"signature_name": "regress_x_to_y", **examples}
    response = call_rest(
        f"{config_server.rest_url}/v1/models/half_plus_two:regress", raw=json.dumps(body).encode()
    )
    assert fragment in error(response)


def test_context_features_join_every_example(config_server):
    """api_rest.md: "context" features are shared by all examples."""
    body = {"signature_name": "regress_x_to_y", "context": {"x": 2.0}, "examples": [{}, {}]}
    status, raw = call_rest(
        f"{config_server.rest_url}/v1/models/half_plus_two:regress", raw=json.dumps(body).encode()
    )
    assert (status, json.loads(raw)) == (200, {"results": [3.0, 3.0]})
