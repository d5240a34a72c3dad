"""Every route and every error class, with exact status codes and bodies (fake backend)."""

from __future__ import annotations

import base64
import io
import json

import grpc
import numpy as np
import pytest
from PIL import Image

from serving.gateway import errors
from serving.gateway.app import create_app
from serving.gateway.backend import Forwarded, Pin
from serving.gateway.settings import GatewaySettings
from tests.serving.gateway.fakes import NEWEST


def error(code: str, message: str) -> dict:
    return {"error": {"code": code, "message": message}}


def png_of(pixels: np.ndarray) -> str:
    buffer = io.BytesIO()
    Image.fromarray((pixels * 255).astype(np.uint8)).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode()


# /v1/sum


def test_sum_pads_to_64_with_minus_one_and_returns_the_sums(client, backend):
    response = client.post("/v1/sum", json={"sequences": [[0, 1, 1, 0, 1], [1, 1]]})
    assert response.status_code == 200
    assert response.json == {"sums": [3.0, 2.0], "model": {"name": "sum_regressor", "version": 3}}
    sequences = backend.calls[0]["inputs"]["sequences"]
    assert sequences.shape == (2, 64) and sequences.dtype == np.float32
    assert sequences[1, :2].tolist() == [1, 1] and (sequences[1, 2:] == -1).all()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "sequences: required"),
        ({"sequences": "0110"}, "sequences: expected a list, got a string"),
        ({"sequences": []}, "sequences: expected at least 1 item, got an empty list"),
        ({"sequences": [[1]] * 5}, "sequences: expected at most 4 items, got 5"),
        ({"sequences": [[]]}, "sequences[0]: expected 1 to 64 numbers, got 0"),
        ({"sequences": [[1] * 65]}, "sequences[0]: expected 1 to 64 numbers, got 65"),
        ({"sequences": [[0, "1"]]}, "sequences[0][1]: expected a number, got a string"),
        ({"sequences": [[0, True]]}, "sequences[0][1]: expected a number, got true"),
        ({"sequences": [[0, None]]}, "sequences[0][1]: expected a number, got null"),
        ({"sequences": [[1], [0, 1, 2]]}, "sequences[1][2]: expected 0 or 1, got 2"),
        ({"sequences": [[0.5]]}, "sequences[0][0]: expected 0 or 1, got 0.5"),
        ({"sequences": [[1], 1]}, "sequences[1]: expected a list of numbers, got 1"),
        (
            {"sequences": [[1]], "extra": 1},
            "unknown field 'extra': expected only label, sequences, version",
        ),
    ],
)
def test_sum_rejects_bad_input_naming_the_field(client, backend, body, message):
    response = client.post("/v1/sum", json=body)
    assert (response.status_code, response.json) == (400, error("invalid_argument", message))
    assert backend.calls == []


@pytest.mark.parametrize(
    ("literal", "spelled"),
    [("NaN", "NaN"), ("Infinity", "Infinity"), ("-Infinity", "-Infinity"), ("1e999", "Infinity")],
)
def test_non_finite_numbers_are_rejected(client, literal, spelled):
    body = '{"sequences": [[1, LITERAL]]}'.replace("LITERAL", literal)
    response = client.post("/v1/sum", data=body, content_type="application/json")
    message = f"sequences[0][1]: expected a finite number, got {spelled}"
    assert (response.status_code, response.json) == (400, error("invalid_argument", message))


def test_integers_beyond_float32_are_rejected(client):
    response = client.post("/v1/forecast", json={"series": [[10**40] * 20], "horizon": 1})
    message = "series[0][0]: expected a finite number, got an integer beyond float32"
    assert (response.status_code, response.json) == (400, error("invalid_argument", message))


# /v1/digits


def test_digits_take_28x28_784_and_png_in_one_batch(client, backend):
    image = np.zeros((28, 28))
    image[4:24, 12:16] = 1.0
    body = {"images": [image.tolist(), image.reshape(-1).tolist(), {"b64": png_of(image)}]}
    response = client.post("/v1/digits", json=body)
    assert response.status_code == 200, response.json
    batch = backend.calls[0]["inputs"]["images"]
    assert batch.shape == (3, 28, 28) and batch.dtype == np.float32
    assert np.array_equal(batch[0], batch[1])
    assert abs(batch[2].mean() - batch[0].mean()) < 0.05
    predictions = response.json["predictions"]
    assert [p["digit"] for p in predictions[:2]] == [1, 1]
    assert predictions[0]["probabilities"] == pytest.approx([0.01] + [0.91] + [0.01] * 8)
    assert "rows" not in predictions[0]
    assert response.json["model"] == {"name": "digit_classifier", "version": NEWEST}
    assert backend.calls[0]["signature"] == ""


def test_explain_rows_uses_the_per_row_signature(client, backend):
    response = client.post("/v1/digits?explain=rows", json={"images": [[0.0] * 784]})
    assert response.status_code == 200
    (prediction,) = response.json["predictions"]
    assert len(prediction["rows"]) == 28 and len(prediction["rows"][0]) == 10
    assert prediction["digit"] == 0
    assert backend.calls[0]["signature"] == "per_row"


def a_drawn_digit() -> bytes:
    image = np.zeros((100, 80))
    image[10:90, 30:50] = 1.0
    return base64.b64decode(png_of(image))


def test_multipart_upload_of_one_image(client, backend):
    raw = a_drawn_digit()
    response = client.post(
        "/v1/digits",
        data={"images": (io.BytesIO(raw), "digit.png")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 200, response.json
    assert backend.calls[0]["inputs"]["images"].shape == (1, 28, 28)


@pytest.mark.parametrize(
    ("fields", "pin"),
    [({"version": "2"}, Pin(version=2)), ({"label": "canary"}, Pin(label="canary")), ({}, Pin())],
)
def test_multipart_form_fields_pin_the_call(client, backend, fields, pin):
    raw = a_drawn_digit()
    response = client.post(
        "/v1/digits",
        data={"images": (io.BytesIO(raw), "digit.png"), **fields},
        content_type="multipart/form-data",
    )
    assert response.status_code == 200, response.json
    assert backend.calls[0]["pin"] == pin


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        # str.isdigit() takes both; int() refuses the first and reads the second as 1
        ({"version": "\u00b2"}, "version: expected an integer, got a string"),
        ({"version": "\uff11"}, "version: expected an integer, got a string"),
        ({"version": "99999999999999999999"}, "version: expected an integer, got a string"),
        ({"version": "1", "label": "a"}, "version, label: give one or the other, not both"),
        ({"colour": "red"}, "unknown field 'colour': expected only images, label, version"),
        ({"version": ["1", "2"]}, "multipart body: the field 'version' appears twice"),
    ],
)
def test_bad_multipart_form_fields_are_rejected(client, fields, message):
    raw = a_drawn_digit()
    response = client.post(
        "/v1/digits",
        data={"images": (io.BytesIO(raw), "digit.png"), **fields},
        content_type="multipart/form-data",
    )
    assert (response.status_code, response.json) == (400, error("invalid_argument", message))


@pytest.mark.parametrize(
    ("files", "got"),
    [
        ({}, "none"),
        ({"file": [b"a"]}, "'file'"),
        ({"images": [b"a", b"b"]}, "'images', 'images'"),
    ],
)
def test_multipart_without_exactly_one_file_in_its_field(client, files, got):
    data = {name: [(io.BytesIO(raw), "digit.png") for raw in raws] for name, raws in files.items()}
    response = client.post("/v1/digits", data=data, content_type="multipart/form-data")
    message = (
        f"multipart body: expected exactly 1 image file, in the field 'images'; got files in {got}"
    )
    assert (response.status_code, response.json) == (400, error("invalid_argument", message))


@pytest.mark.parametrize(
    ("images", "message"),
    [
        (
            [[[0.0] * 28] * 27],
            "images[0]: expected 28x28 or 784 numbers in [0, 1], "
            'or {"b64": PNG or JPEG}, got 27x28',
        ),
        (
            [[0.0] * 783],
            "images[0]: expected 28x28 or 784 numbers in [0, 1], "
            'or {"b64": PNG or JPEG}, got 783 values',
        ),
        ([[[0.0] * 28] * 27 + [[0.0] * 27]], "images[0][27]: expected 28 numbers, got 27"),
        ([[0.0] * 783 + [1.5]], "images[0][783]: expected a value in [0, 1], got 1.5"),
        (
            [[[0.0] * 28] * 3 + [[-0.5] * 28] + [[0.0] * 28] * 24],
            "images[0][3][0]: expected a value in [0, 1], got -0.5",
        ),
        (
            ["abc"],
            "images[0]: expected 28x28 or 784 numbers in [0, 1], "
            'or {"b64": PNG or JPEG}, got a string',
        ),
        ([{"b64": "***"}], "images[0].b64: not valid base64"),
        ([{"b64": 5}], "images[0].b64: expected a base64 string, got 5"),
        ([{"png": "x"}], "images[0]: expected an object with only \"b64\", got keys ['png']"),
        (
            [{"b64": base64.b64encode(b"not an image").decode()}],
            "images[0]: not a readable PNG or JPEG image",
        ),
        ([{"b64": png_of(np.zeros((30, 30)))}], "images[0]: no digit found (the image is blank)"),
    ],
)
def test_digits_reject_bad_images_naming_the_field(client, images, message):
    response = client.post("/v1/digits", json={"images": images})
    assert (response.status_code, response.json) == (400, error("invalid_argument", message))


def test_explain_accepts_only_rows(client):
    response = client.post("/v1/digits?explain=cols", json={"images": [[0.0] * 784]})
    message = "explain: expected 'rows', got 'cols'"
    assert (response.status_code, response.json) == (400, error("invalid_argument", message))


# /v1/forecast


def test_forecast_sends_the_last_20_values_and_cuts_to_the_horizon(client, backend):
    series = [float(i) for i in range(30)]
    response = client.post("/v1/forecast", json={"series": [series], "horizon": 3})
    assert response.status_code == 200
    assert response.json == {
        "forecasts": [[30.0, 31.0, 32.0]],
        "model": {"name": "forecaster", "version": NEWEST},
    }
    call = backend.calls[0]
    assert call["signature"] == "forecast"
    assert call["inputs"]["window"].tolist() == [series[-20:]]
    assert call["inputs"]["horizon"].tolist() == [3]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"series": [[0.0] * 20]}, "horizon: required"),
        ({"series": [[0.0] * 20], "horizon": 0}, "horizon: expected an integer in [1, 200], got 0"),
        (
            {"series": [[0.0] * 20], "horizon": 201},
            "horizon: expected an integer in [1, 200], got 201",
        ),
        ({"series": [[0.0] * 20], "horizon": 2.5}, "horizon: expected an integer, got 2.5"),
        ({"series": [[0.0] * 20], "horizon": "5"}, "horizon: expected an integer, got a string"),
        ({"series": [[0.0] * 19], "horizon": 5}, "series[0]: expected 20 to 100 numbers, got 19"),
        ({"series": [[0.0] * 101], "horizon": 5}, "series[0]: expected 20 to 100 numbers, got 101"),
        (
            {"series": [[0.0] * 19 + [1e7]], "horizon": 5},
            "series[0][19]: expected a value in [-1e+06, 1e+06], got 1e+07",
        ),
        ({"series": [], "horizon": 5}, "series: expected at least 1 item, got an empty list"),
    ],
)
def test_forecast_rejects_bad_input_naming_the_field(client, body, message):
    response = client.post("/v1/forecast", json=body)
    assert (response.status_code, response.json) == (400, error("invalid_argument", message))


def test_horizon_given_as_a_whole_float_is_accepted(client, backend):
    response = client.post("/v1/forecast", json={"series": [[0.0] * 20], "horizon": 2.0})
    assert response.status_code == 200
    assert len(response.json["forecasts"][0]) == 2


# Version and label pinning


@pytest.mark.parametrize(
    ("extra", "pin"),
    [
        ({"version": 2}, Pin(version=2)),
        ({"label": "canary"}, Pin(label="canary")),
        ({"version": None, "label": "canary"}, Pin(label="canary")),
    ],
)
def test_a_version_or_label_pins_the_call(client, backend, extra, pin):
    response = client.post("/v1/sum", json={"sequences": [[1]], **extra})
    assert response.status_code == 200
    assert backend.calls[0]["pin"] == pin
    expected = {"name": "sum_regressor", "version": pin.version or NEWEST}
    if pin.label:
        expected["label"] = pin.label
    assert response.json["model"] == expected


@pytest.mark.parametrize(
    ("url", "extra", "message"),
    [
        ("/v1/sum?version=1", {}, "unknown query parameter 'version': none is taken"),
        ("/v1/digits?label=a", {}, "unknown query parameter 'label': expected only explain"),
        (
            "/v1/sum",
            {"version": 0},
            "version: expected an integer in [1, 9223372036854775807], got 0",
        ),
        (
            "/v1/sum",
            {"version": 1, "label": "a"},
            "version, label: give one or the other, not both",
        ),
        ("/v1/sum", {"version": "1"}, "version: expected an integer, got a string"),
        (
            "/v1/sum",
            {"label": "a b"},
            "label: expected 1-64 letters, digits, '_', '.' or '-', got a string",
        ),
    ],
)
def test_bad_pins_are_rejected(client, url, extra, message):
    images = {"images": [[0.0] * 784]} if url.startswith("/v1/digits") else {"sequences": [[1]]}
    response = client.post(url, json={**images, **extra})
    assert (response.status_code, response.json) == (400, error("invalid_argument", message))


# Backend failures map to their statuses


@pytest.mark.parametrize(
    ("failure", "status", "code"),
    [
        (errors.NotFound("model server: Servable not found"), 404, "not_found"),
        (
            errors.from_grpc(
                grpc.StatusCode.INVALID_ARGUMENT, "Unrecognized servable version label: nope"
            ),
            404,
            "not_found",
        ),
        (
            errors.from_grpc(grpc.StatusCode.INVALID_ARGUMENT, "Expects arg[0] to be float"),
            400,
            "invalid_argument",
        ),
        (errors.InvalidInput("model server: bad"), 400, "invalid_argument"),
        (errors.TooManyRequests("model server: queue full"), 429, "resource_exhausted"),
        (errors.BackendError("model server: boom"), 502, "backend_error"),
        (errors.BackendUnavailable("model server: down"), 503, "unavailable"),
        (errors.BackendTimeout("model server: deadline exceeded"), 504, "deadline_exceeded"),
    ],
)
def test_backend_errors_keep_their_status(client, backend, failure, status, code):
    backend.failure = failure
    response = client.post("/v1/sum", json={"sequences": [[1]]})
    assert (response.status_code, response.json) == (status, error(code, failure.message))


def test_a_model_server_that_is_away_gets_a_503_that_says_when_to_retry(client, backend):
    """RFC 9110 §10.2.3: Retry-After on 503 tells clients when the service may be back."""
    backend.failure = errors.BackendUnavailable("model server: down")
    response = client.post("/v1/sum", json={"sequences": [[1]]})
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"


def test_grpc_codes_map_through_one_table():
    import grpc

    assert isinstance(errors.from_grpc(grpc.StatusCode.NOT_FOUND, "x"), errors.NotFound)
    assert isinstance(errors.from_grpc(grpc.StatusCode.UNAVAILABLE, "x"), errors.BackendUnavailable)
    assert isinstance(
        errors.from_grpc(grpc.StatusCode.DEADLINE_EXCEEDED, ""), errors.BackendTimeout
    )
    assert isinstance(errors.from_grpc(grpc.StatusCode.INTERNAL, "x"), errors.BackendError)
    assert errors.from_grpc(grpc.StatusCode.INTERNAL, "x").message == "model server: x"


# TF Serving REST API, proxied


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("POST", "/v1/models/forecaster:predict"),
        ("POST", "/v1/models/forecaster/versions/2:predict"),
        ("POST", "/v1/models/forecaster/labels/stable:classify"),
        ("POST", "/v1/models/forecaster:regress"),
        ("GET", "/v1/models/forecaster"),
        ("GET", "/v1/models/forecaster/versions/2/metadata"),
    ],
)
def test_tf_serving_requests_are_forwarded_unchanged(client, backend, method, url):
    raw = (
        b'{"instances": [[1.0, 2.0]], "anything": "TF Serving judges"}' if method == "POST" else b""
    )
    response = client.open(url, method=method, data=raw, content_type="application/json")
    assert response.status_code == 200
    assert response.json == {"predictions": [[1.0]]}
    assert backend.forwarded == [(method, url, raw)]


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (404, b'{\n    "error": "Servable not found for request: Latest(nope)"\n}'),
        (400, b'{"error": "JSON Parse error: Invalid value. at offset: 0"}'),
        (500, b"oops"),
    ],
)
def test_tf_serving_answers_come_back_unchanged(client, backend, status, body):
    backend.forward_answer = Forwarded(status, body)
    response = client.post("/v1/models/nope:predict", data=b"x", content_type="application/json")
    assert (response.status_code, response.data) == (status, body)


@pytest.mark.parametrize(
    ("method", "url", "allow"),
    [
        ("GET", "/v1/models/forecaster:predict", "OPTIONS, POST"),
        ("GET", "/v1/models/forecaster/versions/2:regress", "OPTIONS, POST"),
        ("POST", "/v1/models/forecaster", "GET, HEAD, OPTIONS"),
        ("POST", "/v1/models/forecaster/metadata", "GET, HEAD, OPTIONS"),
    ],
)
def test_a_method_the_tf_serving_route_does_not_serve_is_405_with_allow(
    client, backend, method, url, allow
):
    """The OpenAPI document gives each TF Serving route one method; the other is refused here,
    with Allow, instead of being forwarded (TF Serving would call it a malformed request), and
    OPTIONS lists the same methods."""
    response = client.open(url, method=method)
    assert (response.status_code, response.headers["Allow"]) == (405, allow)
    assert isinstance(response.json["error"], str)
    options = client.options(url)
    assert (options.status_code, options.headers["Allow"]) == (200, allow)
    assert backend.forwarded == []


def test_gateway_errors_on_tf_serving_routes_take_tf_servings_shape(client, backend):
    backend.failure = errors.BackendUnavailable("model server unreachable: refused")
    response = client.get("/v1/models/forecaster")
    assert response.status_code == 503
    assert response.json == {"error": "model server unreachable: refused"}
    response = client.put("/v1/models/forecaster")
    assert response.status_code == 405 and isinstance(response.json["error"], str)


# Models, health, readiness, metrics, docs


def test_models_lists_versions_and_states(client, backend):
    response = client.get("/v1/models")
    assert response.status_code == 200
    versions = [{"version": 3, "state": "AVAILABLE"}, {"version": 2, "state": "END"}]
    assert response.json["models"][0] == {
        "name": "sum_regressor",
        "versions": versions,
        "replicas": {"127.0.0.1:8500": {"versions": versions}},
    }
    assert [m["name"] for m in response.json["models"]] == [
        "sum_regressor",
        "digit_classifier",
        "forecaster",
    ]


def test_models_answer_503_when_the_backend_is_down(client, backend):
    backend.failure = errors.BackendUnavailable("model server: down")
    response = client.get("/v1/models")
    assert (response.status_code, response.json) == (
        503,
        error("unavailable", "model server: down"),
    )


def test_healthz_needs_no_backend(client, backend):
    backend.failure = errors.BackendUnavailable("down")
    assert (client.get("/healthz").status_code, client.get("/healthz").json) == (
        200,
        {"status": "ok"},
    )


def test_readyz_needs_every_model_available(client, backend):
    response = client.get("/readyz")
    assert response.status_code == 200
    available = dict.fromkeys(("sum_regressor", "digit_classifier", "forecaster"), "AVAILABLE")
    assert response.json == {
        "ready": True,
        "models": available,
        "replicas": {"127.0.0.1:8500": {"ready": True, "models": available}},
    }
    backend.states["forecaster"] = [backend.states["forecaster"][0].__class__(4, "LOADING")]
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json["models"]["forecaster"] == "not available"
    backend.failure = errors.BackendUnavailable("model server: down")
    response = client.get("/readyz")
    assert (response.status_code, response.json["ready"]) == (503, False)


def test_readiness_and_models_report_each_replica(client, backend):
    """Ready while any replica has every model; the one that is down is named with why."""
    backend.replica_addresses = ["10.0.0.1:8500", "10.0.0.2:8500"]
    backend.replica_failures["10.0.0.2:8500"] = errors.BackendUnavailable("model server: down")
    response = client.get("/readyz")
    assert (response.status_code, response.json["ready"]) == (200, True)
    assert response.json["replicas"]["10.0.0.1:8500"]["ready"] is True
    assert response.json["replicas"]["10.0.0.2:8500"] == {
        "ready": False,
        "models": dict.fromkeys(
            ("sum_regressor", "digit_classifier", "forecaster"), "model server: down"
        ),
    }
    assert response.json["models"]["forecaster"] == "AVAILABLE"
    listed = client.get("/v1/models").json["models"][0]["replicas"]
    assert listed["10.0.0.2:8500"] == {"versions": [], "error": "model server: down"}
    assert listed["10.0.0.1:8500"]["versions"][0] == {"version": 3, "state": "AVAILABLE"}
    backend.replica_failures["10.0.0.1:8500"] = errors.BackendUnavailable("model server: down")
    assert client.get("/readyz").status_code == 503


def test_metrics_count_requests_by_route_model_and_status(client):
    client.post("/v1/sum", json={"sequences": [[1]]})
    client.post("/v1/sum", json={"sequences": [[2]]})
    text = client.get("/metrics").get_data(as_text=True)
    assert 'gateway_requests_total{model="sum_regressor",route="/v1/sum",status="200"}' in text
    assert 'gateway_requests_total{model="sum_regressor",route="/v1/sum",status="400"}' in text
    assert 'gateway_request_seconds_bucket{le="0.005",model="sum_regressor"' in text
    assert 'gateway_errors_total{code="invalid_argument"}' in text


def test_openapi_documents_every_route(client, settings, backend):
    spec = client.get("/openapi.json").json
    assert spec["openapi"].startswith("3.")
    app = create_app(settings, backend)
    routes = {rule.rule.replace("<", "{").replace(">", "}") for rule in app.url_map.iter_rules()}
    proxied = {path for path in spec["paths"] if path.startswith("/v1/models/{name}")}
    open_inference = {path for path in spec["paths"] if path.startswith("/v2/")}
    assert proxied and open_inference, "TF Serving's and the V2 REST paths are documented"
    documented = set(spec["paths"]) - proxied - open_inference
    documented |= {"/v1/models/{path:target}", "/v2/{path:target}"}
    assert routes == documented | {"/docs", "/docs/{asset}", "/", "/static/{path:filename}"}


def test_the_docs_page_is_swagger_ui_over_the_openapi_document(client):
    page = client.get("/docs")
    assert page.status_code == 200 and page.mimetype == "text/html"
    text = page.get_data(as_text=True)
    assert 'url: "/openapi.json"' in text
    for asset, mimetype in (
        ("swagger-ui-bundle.js", "text/javascript"),
        ("swagger-ui.css", "text/css"),
    ):
        assert f"/docs/{asset}" in text
        response = client.get(f"/docs/{asset}")
        assert (response.status_code, response.mimetype) == (200, mimetype)
        assert len(response.data) > 1000
    assert client.get("/docs/index.html").status_code == 404
    assert client.get("/docs/..%2Fapp.py").status_code == 404


def test_the_web_page_and_its_assets_are_served(client):
    page = client.get("/")
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert b'src="/static/app.js"' in page.data
    for asset, mimetype in (("app.js", "text/javascript"), ("style.css", "text/css")):
        response = client.get(f"/static/{asset}")
        assert (response.status_code, response.mimetype) == (200, mimetype)
    assert client.get("/static/../app.py").status_code == 404


# Protocol-level errors


def test_unknown_route_is_404(client):
    response = client.get("/v1/nothing")
    message = "no route GET /v1/nothing; see /openapi.json"
    assert (response.status_code, response.json) == (404, error("not_found", message))


def test_wrong_method_is_405_with_allow(client):
    response = client.delete("/v1/digits")
    message = "method DELETE not allowed on /v1/digits; allowed: POST"
    assert (response.status_code, response.json) == (405, error("method_not_allowed", message))
    assert "POST" in response.headers["Allow"]


def test_wrong_content_type_is_415(client):
    response = client.post("/v1/sum", data="sequences=1", content_type="text/plain")
    message = "expected Content-Type: application/json, got text/plain"
    assert (response.status_code, response.json) == (415, error("unsupported_media_type", message))


def test_body_over_the_limit_is_413(client):
    body = json.dumps({"sequences": [[1] * 64] * 2000})
    response = client.post("/v1/sum", data=body, content_type="application/json")
    message = "body: larger than the limit of 65536 bytes"
    assert (response.status_code, response.json) == (413, error("payload_too_large", message))


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (
            "{",
            "body: not valid JSON (Expecting property name enclosed in double quotes: "
            "line 1 column 2 (char 1))",
        ),
        ("[1]", "body: expected a JSON object, got a list of 1"),
        ("", "body: not valid JSON (Expecting value: line 1 column 1 (char 0))"),
        (
            "\xff",
            "body: not valid JSON ('utf-8' codec can't decode byte 0xff in position 0: "
            "invalid start byte)",
        ),
        # parsers disagree on which value a repeated key keeps (Python: the last; TF
        # Serving's rapidjson: the first), so such a body has no one meaning
        (
            '{"sequences": [[1]], "sequences": [[0]]}',
            "body: the key 'sequences' appears twice in one object",
        ),
    ],
)
def test_unparseable_bodies_are_400(client, raw, message):
    response = client.post("/v1/sum", data=raw.encode("latin-1"), content_type="application/json")
    assert (response.status_code, response.json) == (400, error("invalid_argument", message))


def test_deeply_nested_json_is_400_not_a_crash(client):
    raw = "[" * 30_000 + "]" * 30_000
    response = client.post("/v1/sum", data=raw, content_type="application/json")
    assert response.status_code == 400
    assert response.json["error"]["message"].startswith("body: not valid JSON")


def test_an_unexpected_failure_is_a_json_500(client, backend):
    backend.failure = RuntimeError("bug")
    response = client.post("/v1/sum", json={"sequences": [[1]]})
    assert (response.status_code, response.json) == (
        500,
        error("internal", "internal error; see the gateway log"),
    )


# Request IDs and CORS


def test_request_id_is_echoed_or_generated(client):
    given = client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert given.headers["X-Request-ID"] == "abc-123"
    fresh = client.get("/healthz")
    assert len(fresh.headers["X-Request-ID"]) == 32
    hostile = client.get("/healthz", headers={"X-Request-ID": "a\tb" * 100})
    assert hostile.headers["X-Request-ID"] != "a\tb" * 100


def test_access_log_is_one_record_with_the_request_id_as_a_field(client, caplog):
    caplog.set_level("INFO", logger="seqserve.gateway.access")
    client.post("/v1/sum", json={"sequences": [[1]]}, headers={"X-Request-ID": "r-1"})
    (record,) = caplog.records
    assert record.getMessage() == "POST /v1/sum 200"
    assert record.request_id == "r-1"
    assert (record.route, record.model, record.status) == ("/v1/sum", "sum_regressor", 200)


def test_cors_is_off_by_default(client):
    response = client.get("/healthz", headers={"Origin": "https://example.com"})
    assert "Access-Control-Allow-Origin" not in response.headers


def test_cors_allows_configured_origins(backend):
    settings = GatewaySettings(cors_origins=("https://ui.example",))
    client = create_app(settings, backend).test_client()
    allowed = client.options("/v1/sum", headers={"Origin": "https://ui.example"})
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://ui.example"
    assert "POST" in allowed.headers["Access-Control-Allow-Methods"]
    other = client.get("/healthz", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in other.headers
