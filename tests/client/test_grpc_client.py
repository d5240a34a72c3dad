"""The client library against the real embedded model server."""

import time

import grpc
import numpy as np
import pytest

from client.errors import ClientClosed, InvalidInput, NotFound
from client.grpc_client import ServingClient, ServingClientError
from serving.processes import free_port


@pytest.fixture(scope="module")
def client(model_server):
    with ServingClient(model_server.grpc_address, timeout=30) as client:
        yield client


def test_typed_helpers_for_the_three_models_say_which_version_answered(client):
    sums = client.sums([[1, 0, 1], [1] * 64, [0]])
    assert sums.sums.shape == (3,) and sums.sums.dtype == np.float32
    assert (sums.model, sums.version) == ("sum_regressor", 1)
    digits = client.digits(np.zeros((2, 784)))
    assert digits.digits.shape == (2,) and digits.probabilities.shape == (2, 10)
    assert digits.version == 1
    forecast = client.forecast([np.linspace(0, 2, 25), np.linspace(0, 1, 20)], horizon=9)
    assert forecast.forecasts.shape == (2, 9) and forecast.version == 1


def test_one_image_and_a_stack_and_784_pixels_are_the_same_answer(client):
    image = np.linspace(0, 1, 784).reshape(28, 28)
    one = client.digits(image).probabilities
    stacked = client.digits(np.stack([image, image])).probabilities
    flat = client.digits(image.reshape(1, 784)).probabilities
    np.testing.assert_allclose(np.concatenate([one, one]), stacked, atol=1e-6)
    np.testing.assert_allclose(one, flat, atol=1e-6)


def test_batches_beyond_the_servers_largest_are_split_in_order(client):
    sequences = [[1] * (index % 5 + 1) for index in range(150)]
    split = client.sums(sequences).sums
    alone = np.concatenate([client.sums(sequences[i : i + 50]).sums for i in range(0, 150, 50)])
    np.testing.assert_allclose(split, alone, atol=1e-5)


def test_python_lists_are_sent_as_float32(client):
    listed = client.predict("forecaster", {"window": [[0.5] * 20]}).outputs["next"]
    typed = client.predict("forecaster", {"window": np.full((1, 20), 0.5, np.float32)})
    np.testing.assert_array_equal(listed, typed.outputs["next"])


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda c: c.digits(np.zeros((1, 28, 28, 3))), "images: expected 28x28"),
        (
            lambda c: c.digits(np.full((28, 28), np.nan)),
            r"images\[0\]\[0\]\[0\]: expected a finite",
        ),
        (lambda c: c.digits(np.full((28, 28), np.inf)), "expected a finite number"),
        (lambda c: c.digits(np.full((28, 28), 255, np.uint8)), r"expected a value in \[0, 1\]"),
        (lambda c: c.digits(np.zeros((0, 784))), "images: expected 28x28"),
        (lambda c: c.digits("image.png"), "images: expected numbers"),
        (lambda c: c.sums(["0101"]), r"sequences\[0\]: expected numbers"),
        (lambda c: c.sums([[2, 5, 1]]), r"sequences\[0\]\[0\]: expected 0 or 1, got 2"),
        (lambda c: c.sums([[1, -1, 0]]), r"sequences\[0\]\[1\]: expected 0 or 1, got -1"),
        (lambda c: c.sums([[1] * 65]), r"sequences\[0\]: expected 1 to 64 values, got 65"),
        (lambda c: c.sums([]), "sequences: expected at least 1 item"),
        (lambda c: c.sums([[]]), r"sequences\[0\]: expected 1 to 64 values, got 0"),
        (lambda c: c.sums([[True, False]]), r"sequences\[0\]: expected numbers"),
        (lambda c: c.forecast([], 5), "series: expected at least 1 item"),
        (lambda c: c.forecast([[0.0] * 19], 5), r"series\[0\]: expected at least 20 values"),
        (lambda c: c.forecast([[0.0] * 20], 2.5), "horizon: expected an integer, got 2.5"),
        (lambda c: c.forecast([[0.0] * 20], 0), r"horizon: expected an integer in \[1, 200\]"),
        (lambda c: c.forecast([[0.0] * 20], True), "horizon: expected an integer"),
        (lambda c: c.sums([[1]], version=1, label="stable"), "give one, not both"),
        (lambda c: c.sums([[1]], version=0), "version: expected a positive integer"),
    ],
)
def test_misuse_is_refused_before_sending_naming_the_field(call, message):
    """Against a server that does not exist: anything sent would fail UNAVAILABLE instead."""
    nowhere = ServingClient(f"127.0.0.1:{free_port()}", timeout=0.5, retries=0)
    with nowhere, pytest.raises(InvalidInput, match=message) as raised:
        call(nowhere)
    assert raised.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert raised.value.http_status == 400


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
    with pytest.raises(NotFound) as raised:
        client.predict("nope", {"x": np.zeros(1, np.float32)})
    assert raised.value.code == grpc.StatusCode.NOT_FOUND
    assert isinstance(raised.value, ServingClientError) and raised.value.http_status == 404


def test_a_server_refusal_is_the_same_family(client):
    with pytest.raises(InvalidInput) as raised:
        client.predict("forecaster", {"window": np.zeros((1, 3), np.float32)})
    assert raised.value.code == grpc.StatusCode.INVALID_ARGUMENT


def test_calls_after_close_raise_client_closed(model_server):
    client = ServingClient(model_server.grpc_address, timeout=30)
    client.close()
    with pytest.raises(ClientClosed):
        client.sums([[1]])
    with pytest.raises(ClientClosed):
        client.predict_async("sum_regressor", {"sequences": np.ones((1, 3), np.float32)})


def test_leaving_with_lets_pending_futures_finish(model_server):
    ones = {"sequences": np.ones((1, 4), np.float32)}
    with ServingClient(model_server.grpc_address, timeout=30, max_concurrency=2) as client:
        expected = client.predict("sum_regressor", ones).outputs["sum"]
        pending = [client.predict_async("sum_regressor", ones) for _ in range(20)]
    for future in pending:
        np.testing.assert_array_equal(future.result(0).outputs["sum"], expected)


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
