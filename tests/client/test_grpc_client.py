"""The client library against the real embedded model server."""

import time

import grpc
import numpy as np
import pytest

from client.grpc_client import ServingClient, ServingClientError
from loadtest.processes import free_port


@pytest.fixture(scope="module")
def client(model_server):
    with ServingClient(model_server.grpc_address, timeout=30) as client:
        yield client


def test_typed_helpers_for_the_three_models(client):
    sums = client.sums([[1, 0, 1], [1] * 64, [0]])
    assert sums.shape == (3,) and sums.dtype == np.float32
    digits, probabilities = client.digits(np.zeros((2, 784)))
    assert digits.shape == (2,) and probabilities.shape == (2, 10)
    forecast = client.forecast([np.linspace(0, 2, 25), np.linspace(0, 1, 20)], horizon=9)
    assert forecast.shape == (2, 9)


def test_predict_reports_the_version_and_signature_that_answered(client):
    result = client.predict("forecaster", {"window": np.zeros((1, 20), np.float32)}, version=1)
    assert (result.model, result.version, result.signature) == ("forecaster", 1, "serving_default")
    assert set(result.outputs) == {"next"}


def test_status_and_metadata(client):
    assert [(s.version, s.state) for s in client.status("sum_regressor")] == [(1, "AVAILABLE")]
    assert {"serving_default", "per_row"} <= set(client.metadata("digit_classifier").signature_def)


def test_classify_and_regress_on_a_tf1_model(client):
    classes = client.classify("tf1_example", [{"x": 0.0}, {"x": -1.0}], signature="classify")
    assert [label for label, _ in classes[0]] == ["pos", "neg"]
    assert classes[1][0][1] == pytest.approx(0.2689414)
    values = client.regress("tf1_example", [{"x": 2.0}, {"x": 1.0}], signature="regress")
    assert values.tolist() == pytest.approx([5.0, 3.0])


def test_errors_carry_the_grpc_code(client):
    with pytest.raises(ServingClientError) as raised:
        client.predict("nope", {"x": np.zeros(1, np.float32)})
    assert raised.value.code == grpc.StatusCode.NOT_FOUND


def test_futures_fan_out(client):
    pending = [
        client.predict_async("sum_regressor", {"sequences": np.ones((1, i), np.float32)})
        for i in range(1, 9)
    ]
    assert [round(float(f.result(30).outputs["sum"][0])) >= 0 for f in pending] == [True] * 8


def test_a_dead_address_fails_unavailable_after_retries_within_the_deadline():
    with ServingClient(f"127.0.0.1:{free_port()}", timeout=2, retries=2) as dead:
        started = time.monotonic()
        with pytest.raises(ServingClientError) as raised:
            dead.sums([[1, 0]])
    assert raised.value.code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)
    assert time.monotonic() - started < 5
