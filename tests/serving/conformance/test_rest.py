"""TF Serving's REST API: routes, row and columnar formats, status codes and error bodies."""

import base64
import json

import pytest

from loadtest.processes import http

WINDOW = [round(0.1 * i, 1) for i in range(20)]


def post(target, path, body):
    return http(
        "POST", f"{target.rest_url}{path}", json.dumps(body) if not isinstance(body, str) else body
    )


def assert_error(response, status, *fragments):
    code, body = response
    assert code == status, body
    assert isinstance(body, dict) and list(body) == ["error"] and isinstance(body["error"], str)
    for fragment in fragments:
        assert fragment in body["error"]


@pytest.mark.parametrize("name", ["sum_regressor", "digit_classifier", "forecaster", "tf1_example"])
def test_model_status(target, name):
    code, body = http("GET", f"{target.rest_url}/v1/models/{name}")
    assert code == 200
    assert body["model_version_status"] == [
        {"version": "1", "state": "AVAILABLE", "status": {"error_code": "OK", "error_message": ""}}
    ]


def test_version_status_and_metadata(target):
    code, body = http("GET", f"{target.rest_url}/v1/models/forecaster/versions/1/metadata")
    assert code == 200
    assert body["model_spec"]["name"] == "forecaster" and body["model_spec"]["version"] == "1"
    signatures = body["metadata"]["signature_def"]["signature_def"]
    assert set(signatures["forecast"]["inputs"]) == {"window", "horizon"}
    assert signatures["serving_default"]["outputs"]["next"]["dtype"] == "DT_FLOAT"


def test_row_format_single_output(target):
    code, body = post(
        target, "/v1/models/sum_regressor:predict", {"instances": [[1, 0, 1, 1], [1, 1, -1, -1]]}
    )
    assert code == 200
    assert len(body["predictions"]) == 2 and all(isinstance(v, float) for v in body["predictions"])


def test_row_format_several_outputs_gives_one_object_per_instance(target):
    image = [[0.0] * 28] * 28
    code, body = post(
        target,
        "/v1/models/digit_classifier/versions/1:predict",
        {"instances": [{"images": image}, {"images": image}]},
    )
    assert code == 200
    assert len(body["predictions"]) == 2
    assert set(body["predictions"][0]) == {"probabilities", "classes"}
    assert len(body["predictions"][0]["probabilities"]) == 10


def test_columnar_format_and_signature_name(target):
    code, body = post(
        target,
        "/v1/models/forecaster:predict",
        {"signature_name": "forecast", "inputs": {"window": [WINDOW], "horizon": [7]}},
    )
    assert code == 200
    assert len(body["outputs"][0]) == 7


def test_malformed_json_is_400(target):
    assert_error(post(target, "/v1/models/sum_regressor:predict", '{"instances": [1,'), 400)


def test_unknown_model_is_404(target):
    assert_error(post(target, "/v1/models/nope:predict", {"instances": [[1]]}), 404, "nope")
    assert_error(http("GET", f"{target.rest_url}/v1/models/nope"), 404)


def test_unknown_version_is_404(target):
    assert_error(
        post(target, "/v1/models/sum_regressor/versions/99:predict", {"instances": [[1]]}),
        404,
        "99",
    )


def test_unknown_signature_is_400(target):
    assert_error(
        post(
            target,
            "/v1/models/sum_regressor:predict",
            {"signature_name": "nope", "instances": [[1]]},
        ),
        400,
        "nope",
    )


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"inputs": {"wrong_name": [[1.0]]}}, "wrong_name"),
        ({"instances": [[1, 0], [1]]}, "sequences"),
        ({"instances": [["a", "b"]]}, "sequences"),
        ({"instances": [[[1.0]]]}, "sequences"),
        ({"instances": [[1]], "inputs": [[1]]}, "instances"),
        ({}, "instances"),
        ([1, 2], "object"),
    ],
    ids=[
        "wrong-input-name",
        "ragged",
        "wrong-dtype",
        "wrong-rank",
        "both-formats",
        "no-inputs",
        "not-an-object",
    ],
)
def test_bad_inputs_are_400_naming_the_problem(target, body, fragment):
    assert_error(post(target, "/v1/models/sum_regressor:predict", body), 400, fragment)


def test_wrong_shape_is_400(target):
    assert_error(
        post(target, "/v1/models/forecaster:predict", {"instances": [[1.0] * 19]}), 400, "window"
    )


def test_wrong_method_is_400(target):
    assert_error(http("GET", f"{target.rest_url}/v1/models/sum_regressor:predict"), 400)


def test_classify_and_regress_on_a_tf1_model(target):
    examples = {"examples": [{"x": 0.0}, {"x": [-1.0]}]}
    code, body = post(
        target, "/v1/models/tf1_example:regress", {"signature_name": "regress", **examples}
    )
    assert code == 200
    assert body["results"] == pytest.approx([1.0, -1.0])
    code, body = post(
        target, "/v1/models/tf1_example:classify", {"signature_name": "classify", **examples}
    )
    assert code == 200
    assert [label for label, _ in body["results"][0]] == ["pos", "neg"]
    assert body["results"][0][0][1] == pytest.approx(0.7310586)


def test_classify_on_a_predict_signature_is_400(target):
    assert_error(
        post(target, "/v1/models/tf1_example:classify", {"examples": [{"x": 1.0}]}), 400, "classify"
    )


def test_prometheus_metrics_count_requests(target):
    post(target, "/v1/models/sum_regressor:predict", {"instances": [[1]]})
    code, text = http("GET", f"{target.rest_url}/monitoring/prometheus/metrics")
    assert code == 200
    assert 'model_name="sum_regressor"' in text and "tfserving_request_latency_seconds" in text


def test_b64_strings_feed_string_inputs(target):
    from client.protos import example_pb2

    example = example_pb2.Example()
    example.features.feature["x"].float_list.value.append(3.0)
    encoded = base64.b64encode(example.SerializeToString()).decode()
    code, body = post(target, "/v1/models/tf1_example:predict", {"instances": [{"b64": encoded}]})
    assert code == 200
    assert body["predictions"] == [[pytest.approx(7.0)]]
    assert_error(
        post(target, "/v1/models/tf1_example:predict", {"instances": [{"b64": "not base64!"}]}),
        400,
        "base64",
    )
