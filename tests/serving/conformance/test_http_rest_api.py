"""TF Serving's REST API: `model_servers/http_rest_api_handler_test.cc`, the examples of
`g3doc/api_rest.md` and TF Serving's README, sent with urllib as TF Serving's tests send them.

The handler test serves saved_model_half_plus_two_2_versions at version 123 with a label; here
that model is `two_versions` (both versions, labels stable → 123 and canary → 124).
"""

import json

import pytest

from tests.serving.conformance.tfs import call_rest, rest_json

MODEL = "two_versions"


def error_of(response) -> str:
    _, body = response
    document = json.loads(body)
    assert list(document) == ["error"], document
    return document["error"]


@pytest.mark.parametrize(
    ("method", "path", "fragment"),
    [
        ("GET", "/v1/foo", "Malformed request"),
        ("POST", "/v1/foo", "Malformed request"),
        ("GET", "/v1/models", "Missing model name"),
        ("GET", "/v1/models/debug/model_name", "Malformed request"),
        ("POST", "/v1/models", "Malformed request"),
        ("GET", "/v1/models/foo:predict", "Malformed request"),
        ("GET", "/v1/models/foo/version/50:predict", "Malformed request"),
        ("POST", "/v1/models/foo/version/50:regress", "Malformed request"),
        ("POST", "/v1/models/foo/versions/HELLO:regress", "Malformed request"),
        ("POST", f"/v1/models/foo/versions/{2**64 - 1}:regress", "Failed to convert version"),
        ("POST", "/v1/models/foo/metadata", "Malformed request"),
        ("POST", "/v1/models/foo/label/some_label:regress", "Malformed request"),
        ("POST", "/v1/models/foo/versions/50/labels/some_label:regress", "Malformed request"),
        ("POST", "/v1/models/foo/versions/some_label:regress", "Malformed request"),
    ],
)
def test_unsupported_api_calls(config_server, method, path, fragment):
    """UnsupportedApiCalls: 400 (INVALID_ARGUMENT) naming the problem."""
    response = call_rest(config_server.rest_url + path, method=method, raw=b"")
    assert response[0] == 400
    assert fragment in error_of(response)


@pytest.mark.parametrize("path", ["/statuspage", "/index", "/"])
def test_paths_outside_v1_are_not_the_api(config_server, path):
    """kPathRegex: only /v1/... reaches the API; other paths get the HTTP server's 404."""
    status, body = call_rest(config_server.rest_url + path)
    assert status == 404
    assert b"Not Found" in body


@pytest.mark.parametrize(
    "path",
    [
        "/v1/models/foo:predict",
        "/v1/models/foo/versions/50:predict",
        f"/v1/models/{MODEL}/versions/99:predict",
    ],
)
def test_predict_model_name_version_errors(config_server, path):
    """PredictModelNameVersionErrors: 404."""
    response = call_rest(config_server.rest_url + path, {"instances": [1]})
    assert response[0] == 404
    assert "Servable not found for request" in error_of(response)


@pytest.mark.parametrize(
    ("path", "body", "fragment"),
    [
        (f"/v1/models/{MODEL}:predict", b"", "JSON Parse error: The document is empty"),
        (f"/v1/models/{MODEL}:predict", b"instances = [1, 2]", "JSON Parse error: Invalid value"),
        (
            f"/v1/models/{MODEL}:predict",
            b'{ "instances": ["x", "y"] }',
            "not of expected type: float",
        ),
        (
            f"/v1/models/{MODEL}/labels/nonexistent:predict",
            b'{ "instances": ["x", "y"] }',
            "Unrecognized servable version label",
        ),
        (
            f"/v1/models/{MODEL}:predict",
            b'{ "signature_name": 100 }',
            "'signature_name' key must be a string value.",
        ),
    ],
)
def test_predict_request_errors(config_server, path, body, fragment):
    """PredictRequestErrors: 400 with the error text clients match on."""
    response = call_rest(config_server.rest_url + path, raw=body)
    assert response[0] == 400
    assert fragment in error_of(response)


@pytest.mark.parametrize(
    ("path", "body", "expected"),
    [
        (
            ":predict",
            {"instances": [[1.0, 2.0], [3.0, 4.0]]},
            {"predictions": [[2.5, 3.0], [3.5, 4.0]]},
        ),
        ("/versions/123:predict", {"instances": [1.0, 2.0]}, {"predictions": [2.5, 3.0]}),
        ("/labels/stable:predict", {"instances": [1.0, 2.0]}, {"predictions": [2.5, 3.0]}),
        (
            "/versions/123:predict",
            {"signature_name": "serving_default", "instances": [3.0, 4.0]},
            {"predictions": [3.5, 4.0]},
        ),
        (
            "/versions/123:predict",
            {"signature_name": "serving_default", "inputs": [3.0, 4.0]},
            {"outputs": [3.5, 4.0]},
        ),
    ],
)
def test_predict(config_server, path, body, expected):
    """Predict: latest, a version, a label, an explicit signature, columnar inputs; the only
    header is Content-Type: application/json."""
    status, raw = call_rest(f"{config_server.rest_url}/v1/models/{MODEL}{path}", body)
    assert (status, json.loads(raw)) == (200, expected)


def test_predict_answers_json_content_type(config_server):
    import urllib.request

    request = urllib.request.Request(
        f"{config_server.rest_url}/v1/models/{MODEL}:predict",
        data=json.dumps({"instances": [1.0]}).encode(),
    )
    with urllib.request.urlopen(request, timeout=20) as response:
        assert response.headers["Content-Type"] == "application/json"
        assert "Access-Control-Allow-Origin" not in response.headers


@pytest.mark.parametrize("path", [":regress", "/versions/123:regress", "/labels/stable:regress"])
def test_regress(config_server, path):
    """Regress: x = 80 → 42."""
    body = {"signature_name": "regress_x_to_y", "examples": [{"x": 80.0}]}
    status, document = rest_json(f"{config_server.rest_url}/v1/models/{MODEL}{path}", body)
    assert (status, document) == (200, {"results": [42]})


@pytest.mark.parametrize(
    ("path", "x", "score"), [(":classify", 20.0, 12), ("/labels/stable:classify", 10.0, 7)]
)
def test_classify(config_server, path, x, score):
    """Classify: x = 20 → 12, x = 10 → 7, with an empty label."""
    body = {"signature_name": "classify_x_to_y", "examples": [{"x": x}]}
    status, document = rest_json(f"{config_server.rest_url}/v1/models/{MODEL}{path}", body)
    assert (status, document) == (200, {"results": [[["", score]]]})


@pytest.mark.parametrize(
    ("path", "versions"),
    [("", ["124", "123"]), ("/versions/123", ["123"]), ("/labels/stable", ["124", "123"])],
)
def test_get_status(config_server, path, versions):
    """GetStatus of every version, of one, and by label. get_model_status_impl.cc consults
    only the version (a label is ignored) and lists versions newest first (the
    ServableStateMonitor's VersionMap is ordered by std::greater)."""
    status, document = rest_json(f"{config_server.rest_url}/v1/models/{MODEL}{path}")
    assert status == 200
    assert document["model_version_status"] == [
        {
            "version": version,
            "state": "AVAILABLE",
            "status": {"error_code": "OK", "error_message": ""},
        }
        for version in versions
    ]


def test_get_model_metadata_of_a_version(config_server):
    """GetModelMetadata (saved_model_half_plus_two_2_versions_metadata.json's model_spec)."""
    url = f"{config_server.rest_url}/v1/models/{MODEL}/versions/123/metadata"
    status, document = rest_json(url)
    assert status == 200
    assert document["model_spec"] == {"name": MODEL, "signature_name": "", "version": "123"}
    assert "regress_x_to_y" in document["metadata"]["signature_def"]["signature_def"]


def test_readme_example_byte_for_byte(config_server):
    """TF Serving's README: curl -d '{"instances": [1.0, 2.0, 5.0]}' -X POST
    .../v1/models/half_plus_two:predict returns { "predictions": [2.5, 3.0, 4.5] } — the
    values as written, laid out by TF Serving's JSON writer (json_tensor.cc)."""
    status, body = call_rest(
        f"{config_server.rest_url}/v1/models/half_plus_two:predict",
        raw=b'{"instances": [1.0, 2.0, 5.0]}',
    )
    assert status == 200
    assert body == b'{\n    "predictions": [2.5, 3.0, 4.5\n    ]\n}'


def test_api_rest_md_half_plus_three_examples(config_server):
    """g3doc/api_rest.md's half_plus_three session: status, predict and regress, and the 404
    for an unknown model."""
    base = f"{config_server.rest_url}/v1/models"
    status, document = rest_json(f"{base}/half_plus_three")
    assert (status, document) == (
        200,
        {
            "model_version_status": [
                {
                    "version": "123",
                    "state": "AVAILABLE",
                    "status": {"error_code": "OK", "error_message": ""},
                }
            ]
        },
    )
    status, body = call_rest(f"{base}/half_plus_three:predict", raw=b'{"instances": [1.0,2.0,5.0]}')
    assert (status, body) == (200, b'{\n    "predictions": [3.5, 4.0, 5.5\n    ]\n}')
    regress = (
        b'{"signature_name": "tensorflow/serving/regress", "examples": [{"x": 1.0}, {"x": 2.0}]}'
    )
    status, body = call_rest(f"{base}/half_plus_three:regress", raw=regress)
    assert (status, body) == (200, b'{\n    "results": [3.5, 4.0]\n}')
    response = call_rest(f"{base}/half:predict", raw=b'{"instances": [1.0,5.0]}')
    assert response[0] == 404
    assert error_of(response) == "Servable not found for request: Latest(half)"


def test_cors_preflight_without_origin_is_refused(config_server):
    """http_server.cc: OPTIONS is a CORS preflight; without an http(s) Origin it is an error."""
    status, _ = call_rest(f"{config_server.rest_url}/v1/models/{MODEL}", method="OPTIONS")
    assert status == 400
    status, _ = call_rest(
        f"{config_server.rest_url}/v1/models/{MODEL}",
        method="OPTIONS",
        headers={"Origin": "https://example.com"},
    )
    assert status == 200


def test_cors_headers_with_rest_api_enable_cors_support(own_server, testdata):
    """--rest_api_enable_cors_support adds AddCORSHeaders' three headers to every answer."""
    import urllib.request

    from tests.serving.conformance import models

    server = own_server(
        "--model_name=default",
        f"--model_base_path={testdata / models.TF1_MODEL}",
        "--rest_api_enable_cors_support",
    )
    request = urllib.request.Request(f"{server.rest_url}/v1/models/default")
    with urllib.request.urlopen(request, timeout=20) as response:
        assert response.headers["Access-Control-Allow-Origin"] == "*"
        assert response.headers["Access-Control-Allow-Methods"] == "POST, GET"
        assert response.headers["Access-Control-Allow-Headers"] == "Content-Type"
