"""The real gateway under gunicorn in front of the real model server, as `make run` starts them."""

from __future__ import annotations

import base64
import io
import json
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from client.grpc_client import ServingClient
from serving.processes import REPO, http, start_gateway
from training.data.mnist import load_mnist
from training.data.series import RESOLUTION, series

pytestmark = pytest.mark.integration

SEQUENCES = [[1], [0], [1, 1, 0, 1], [1, 0] * 16, [0, 0, 1] * 7] + [
    np.random.default_rng(seed).integers(0, 2, length).tolist()
    for seed, length in ((1, 10), (2, 33), (3, 64))
]
"""Typical 0/1 sequences, for the quick test models (trained briefly on every density, so only
roughly right); the shipped models' test adds all ones, all zeros and alternation."""


@pytest.fixture(scope="module")
def direct(model_server):
    with ServingClient(model_server.grpc_address) as client:
        yield client


@pytest.fixture(scope="module")
def mnist_test():
    return load_mnist(REPO / "data").test


def post(gateway, path: str, body: dict, headers: dict | None = None):
    return http_json("POST", gateway.rest_url + path, body, headers)


def http_json(method, url, body, headers=None):
    import urllib.request

    request = urllib.request.Request(
        url,
        json.dumps(body).encode(),
        {"Content-Type": "application/json", **(headers or {})},
        method=method,
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read()), dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read()), dict(error.headers)


def png_b64(image: np.ndarray, scale: int = 8) -> str:
    """An MNIST digit as a big black-on-white PNG, as a person would upload it."""
    pixels = ((1 - image) * 255).astype(np.uint8)
    big = Image.fromarray(pixels).resize((28 * scale, 28 * scale), Image.Resampling.BILINEAR)
    buffer = io.BytesIO()
    big.save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode()


def test_real_mnist_digits_are_classified(gateway, direct, mnist_test):
    images, labels = mnist_test[0][:20], mnist_test[1][:20]
    status, body, _ = post(gateway, "/v1/digits", {"images": images.tolist()})
    assert status == 200, body
    digits = [p["digit"] for p in body["predictions"]]
    answer = direct.digits(images)
    direct_classes, direct_probabilities = answer.digits, answer.probabilities
    assert digits == direct_classes.tolist()
    np.testing.assert_allclose(
        [p["probabilities"] for p in body["predictions"]], direct_probabilities, atol=1e-6
    )
    assert np.mean(np.array(digits) == labels) >= 0.8
    assert body["model"] == {"name": "digit_classifier", "version": 1}


def test_a_png_digit_through_the_b64_path(gateway, mnist_test):
    images, labels = mnist_test[0][:10], mnist_test[1][:10]
    status, raw, _ = post(gateway, "/v1/digits", {"images": images.tolist()})
    status_png, png, _ = post(
        gateway, "/v1/digits", {"images": [{"b64": png_b64(image)} for image in images]}
    )
    assert (status, status_png) == (200, 200), png
    from_png = np.array([p["digit"] for p in png["predictions"]])
    from_raw = np.array([p["digit"] for p in raw["predictions"]])
    assert np.mean(from_png == from_raw) >= 0.8
    assert np.mean(from_png == labels) >= 0.7


def test_explain_rows_ends_where_the_classifier_ends(gateway, mnist_test):
    image = mnist_test[0][0]
    _, plain, _ = post(gateway, "/v1/digits", {"images": [image.tolist()]})
    status, explained, _ = post(gateway, "/v1/digits?explain=rows", {"images": [image.tolist()]})
    assert status == 200
    rows = explained["predictions"][0]["rows"]
    assert len(rows) == 28
    np.testing.assert_allclose(rows[-1], plain["predictions"][0]["probabilities"], atol=1e-5)


def test_sums_of_known_sequences(gateway, direct):
    status, body, _ = post(gateway, "/v1/sum", {"sequences": SEQUENCES})
    assert status == 200, body
    np.testing.assert_allclose(body["sums"], direct.sums(SEQUENCES).sums, atol=1e-5)
    truth = np.array([sum(s) for s in SEQUENCES])
    assert np.abs(np.array(body["sums"]) - truth).max() < 0.25  # quick model; trained: below


def test_a_forecast_close_to_the_true_series(gateway, direct):
    t = np.arange(100, 130) * RESOLUTION
    window, future = series(t[:20]), series(t[20:])
    status, body, _ = post(gateway, "/v1/forecast", {"series": [window.tolist()], "horizon": 10})
    assert status == 200, body
    (forecast,) = body["forecasts"]
    np.testing.assert_allclose(forecast, direct.forecast([window], 10).forecasts[0], atol=1e-5)
    assert np.mean((np.array(forecast) - future) ** 2) < 0.1 * np.var(series(t))


def test_versions_labels_and_unknown_models(gateway):
    status, body, _ = post(gateway, "/v1/sum", {"sequences": [[1]], "version": 1})
    assert (status, body["model"]["version"]) == (200, 1)
    status, body, _ = post(gateway, "/v1/sum", {"sequences": [[1]], "version": 7})
    assert (status, body["error"]["code"]) == (404, "not_found")
    # TF Serving's INVALID_ARGUMENT "Unrecognized servable version label" (server_core.cc)
    status, body, _ = post(gateway, "/v1/sum", {"sequences": [[1]], "label": "nope"})
    assert (status, body["error"]["code"]) == (404, "not_found"), body
    assert "Unrecognized servable version label: nope" in body["error"]["message"]


def call_rows(gateway) -> tuple[float, float]:
    """(model-server prediction calls, rows they carried) so far, every model and worker."""
    _, text = http("GET", gateway.rest_url + "/metrics")
    found = re.findall(r"^gateway_backend_call_rows_(count|sum)\{[^}]*\} (\S+)$", text, re.M)
    totals = {"count": 0.0, "sum": 0.0}
    for kind, value in found:
        totals[kind] += float(value)
    return totals["count"], totals["sum"]


def test_concurrent_requests_are_merged_and_each_gets_the_answer_it_gets_alone(gateway, mnist_test):
    rng = np.random.default_rng(7)
    bodies = []
    for index in range(12):
        count = int(rng.integers(1, 4))
        lengths = rng.integers(1, 65, count)
        bodies.append(("/v1/sum", {"sequences": [rng.integers(0, 2, n).tolist() for n in lengths]}))
        start = rng.uniform(0, 20)
        window = series(start + np.arange(20) * RESOLUTION).tolist()
        bodies.append(("/v1/forecast", {"series": [window], "horizon": int(rng.integers(1, 60))}))
        bodies.append(("/v1/digits", {"images": [mnist_test[0][index].tolist()]}))
    alone = [post(gateway, path, body)[:2] for path, body in bodies]  # one at a time
    calls, rows = call_rows(gateway)
    with ThreadPoolExecutor(32) as pool:
        together = list(pool.map(lambda pair: post(gateway, *pair)[:2], bodies * 4))
    more_calls, more_rows = call_rows(gateway)
    assert more_rows - rows == 4 * sum(
        len(body.get("sequences") or body.get("series") or body["images"]) for _, body in bodies
    )
    assert more_calls - calls < len(together), "no call carried more than one request"
    for index, (status, answer) in enumerate(together):
        expected_status, expected = alone[index % len(bodies)]
        assert status == expected_status == 200, answer
        assert answer["model"] == expected["model"]
        key = next(k for k in answer if k != "model")
        np.testing.assert_allclose(
            flatten(answer[key]), flatten(expected[key]), rtol=1e-5, atol=1e-5
        )


def flatten(value) -> list[float]:
    """The numbers of an answer's predictions, in order (digit predictions are objects)."""
    if isinstance(value, dict):
        return [number for item in value.values() for number in flatten(item)]
    if isinstance(value, list):
        return [number for item in value for number in flatten(item)]
    return [float(value)]


TF_SERVING_REQUESTS = [
    ("GET", "/v1/models/sum_regressor", None),
    ("GET", "/v1/models/forecaster/versions/1/metadata", None),
    ("POST", "/v1/models/sum_regressor/versions/1:predict", b'{"instances": [[1, 0, 1]]}'),
    ("POST", "/v1/models/sum_regressor/labels/nope:predict", b'{"instances": [[1]]}'),
    (
        "POST",
        "/v1/models/tf1_example:regress",
        b'{"signature_name": "regress", "examples": [{"x": 2.0}]}',
    ),
    (
        "POST",
        "/v1/models/tf1_example:classify",
        b'{"signature_name": "classify", "examples": [{"x": 1.0}]}',
    ),
    ("POST", "/v1/models/nope:predict", b'{"instances": [[1.0]]}'),
    ("POST", "/v1/models/sum_regressor:predict", b'{"instances": [[1, "x"]]}'),
    ("POST", "/v1/models/sum_regressor:predict", b"instances = [1]"),
]


@pytest.mark.parametrize(("method", "path", "body"), TF_SERVING_REQUESTS)
def test_a_tf_serving_rest_client_gets_the_model_servers_answer(
    gateway, model_server, method, path, body
):
    """Pointed at the gateway, a TF Serving REST client sees exactly what TF Serving says:
    the same status and the same bytes, errors included."""
    through = raw_http(method, gateway.rest_url + path, body)
    direct = raw_http(method, model_server.rest_url + path, body)
    assert through == direct
    assert json.loads(through[1])


def raw_http(method: str, url: str, body: bytes | None) -> tuple[int, bytes]:
    import urllib.request

    request = urllib.request.Request(url, body, {"Content-Type": "application/json"}, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_models_readiness_metrics_and_request_ids(gateway):
    status, models = http("GET", gateway.rest_url + "/v1/models")
    assert status == 200
    assert {m["name"]: m["versions"][0]["state"] for m in models["models"]} == dict.fromkeys(
        ("sum_regressor", "digit_classifier", "forecaster"), "AVAILABLE"
    )
    assert http("GET", gateway.rest_url + "/readyz")[0] == 200
    _, _, headers = post(gateway, "/v1/sum", {"sequences": [[1]]}, {"X-Request-ID": "e2e-42"})
    assert headers["X-Request-ID"] == "e2e-42"
    for _ in range(4):
        post(gateway, "/v1/sum", {"sequences": [[1]]})
    _, metrics = http("GET", gateway.rest_url + "/metrics")
    served = re.search(
        r'gateway_requests_total\{model="sum_regressor",route="/v1/sum",status="200"\} (\S+)',
        metrics,
    )
    assert served and float(served[1]) >= 5  # summed over both workers
    # every line of the gateway's log (gunicorn's master and workers) is a JSON object
    lines = [json.loads(line) for line in Path(gateway.log_path).read_text().splitlines()]
    assert any(line.get("request_id") == "e2e-42" and line.get("status") == 200 for line in lines)


def test_bad_input_is_a_clear_400_end_to_end(gateway):
    status, body, _ = post(gateway, "/v1/digits", {"images": [[[0.5] * 28] * 27]})
    assert status == 400
    assert body["error"]["message"].endswith("got 27x28")


def test_workers_stay_light(gateway):
    master = gateway.process.pid
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    assert len(children) == 2
    for pid in children:
        status = Path(f"/proc/{pid}/status").read_text()
        rss_mb = int(re.search(r"VmRSS:\s+(\d+)", status)[1]) / 1024
        assert rss_mb < 150, f"worker {pid} holds {rss_mb:.0f} MB"
        maps = Path(f"/proc/{pid}/maps").read_text()
        assert "_pywrap_tensorflow_internal" not in maps


TRAINED = REPO / "models"


def test_shipped_models_meet_their_tolerances_through_the_gateway(tmp_path):
    """The versions in models/ behind the real server and gateway: 64 ones count 64.00 ± 0.05."""
    from serving.processes import start_model_server, write_models_config

    names = ["sum_regressor", "forecaster"]
    config = write_models_config(tmp_path / "models.config", {n: TRAINED / n for n in names})
    server = start_model_server(config, names, tmp_path)
    try:
        gateway = start_gateway(
            server.grpc_address, server.rest_url, tmp_path, {"GATEWAY_MODELS": ",".join(names)}
        )
        try:
            sequences = [*SEQUENCES, [1] * 64, [0] * 64, [1, 0] * 32]
            status, body, _ = post(gateway, "/v1/sum", {"sequences": sequences})
            assert status == 200
            truth = [sum(s) for s in sequences]
            assert np.abs(np.array(body["sums"]) - truth).max() <= 0.05
            t = np.arange(100, 130) * RESOLUTION
            status, body, _ = post(
                gateway, "/v1/forecast", {"series": [series(t[:20]).tolist()], "horizon": 10}
            )
            assert np.mean((np.array(body["forecasts"][0]) - series(t[20:])) ** 2) < 0.01
        finally:
            gateway.stop()
    finally:
        server.stop()
