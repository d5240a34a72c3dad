"""The gateway client: the same tasks through a real gateway with an API key, answers equal to
the gRPC client's; retries after a 503's Retry-After; misuse refused before sending."""

from __future__ import annotations

import httpx
import numpy as np
import pytest

from client import http_client
from client.errors import InvalidInput, NotFound, Unauthenticated, Unavailable
from client.grpc_client import ServingClient
from client.http_client import GatewayClient
from serving.gateway.auth import digest_of
from serving.processes import start_gateway

KEY = "client-test-key"
SEQUENCES = [[0, 1, 1], [1] * 40, [0]]
SERIES = [list(np.sin(np.arange(30) * 0.3)), list(np.linspace(0, 1, 20))]


@pytest.fixture(scope="module")
def keyed_gateway(model_server, tmp_path_factory):
    gateway = start_gateway(
        model_server.grpc_address,
        model_server.rest_url,
        tmp_path_factory.mktemp("keyed-gateway"),
        {"GATEWAY_API_KEYS": digest_of(KEY)},
        ready=False,
    )
    yield gateway.rest_url
    gateway.stop()


def test_the_gateway_gives_the_grpc_clients_answers(keyed_gateway, model_server):
    images = np.stack([np.linspace(0, 1, 784).reshape(28, 28), np.eye(28)])
    with ServingClient(model_server.grpc_address, timeout=30) as direct:
        expected = (direct.sums(SEQUENCES), direct.digits(images), direct.forecast(SERIES, 7))
    with GatewayClient(keyed_gateway, api_key=KEY, timeout=30) as gateway:
        sums = gateway.sums(SEQUENCES)
        digits = gateway.digits(images)
        forecast = gateway.forecast(SERIES, 7, version=1)
        listed = [model["name"] for model in gateway.models()]
    np.testing.assert_allclose(sums.sums, expected[0].sums, atol=1e-5)
    np.testing.assert_array_equal(digits.digits, expected[1].digits)
    np.testing.assert_allclose(digits.probabilities, expected[1].probabilities, atol=1e-6)
    np.testing.assert_allclose(forecast.forecasts, expected[2].forecasts, atol=1e-5)
    assert (sums.model, sums.version, forecast.version) == ("sum_regressor", 1, 1)
    assert "digit_classifier" in listed


def test_batches_beyond_the_gateways_limit_are_split(keyed_gateway):
    sequences = [[1] * (index % 5 + 1) for index in range(150)]
    with GatewayClient(keyed_gateway, api_key=KEY, timeout=30) as gateway:
        split = gateway.sums(sequences).sums
        alone = [gateway.sums(sequences[i : i + 50]).sums for i in range(0, 150, 50)]
    np.testing.assert_allclose(split, np.concatenate(alone), atol=1e-5)


def test_errors_are_the_family_with_the_gateways_message(keyed_gateway):
    anonymous = GatewayClient(keyed_gateway, timeout=30)
    with anonymous, pytest.raises(Unauthenticated, match="missing API key") as raised:
        anonymous.sums(SEQUENCES)
    assert raised.value.http_status == 401
    gateway = GatewayClient(keyed_gateway, api_key=KEY, timeout=30)
    with gateway, pytest.raises(NotFound) as raised:
        gateway.sums(SEQUENCES, version=99)
    assert raised.value.http_status == 404


def recording(answers: list[httpx.Response]):
    """A transport that gives `answers` in turn and keeps the requests it was sent."""
    sent: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return answers[len(sent) - 1]

    return httpx.MockTransport(handle), sent


UNAVAILABLE = httpx.Response(
    503,
    headers={"Retry-After": "0.25"},
    json={"error": {"code": "unavailable", "message": "model server unavailable"}},
)
SUMS = httpx.Response(200, json={"sums": [2.0], "model": {"name": "sum_regressor", "version": 3}})


def test_a_503_is_retried_after_its_retry_after(monkeypatch):
    waits: list[float] = []
    monkeypatch.setattr(http_client.time, "sleep", waits.append)
    transport, sent = recording([UNAVAILABLE, UNAVAILABLE, SUMS])
    with GatewayClient("http://gateway", transport=transport, timeout=10) as gateway:
        answer = gateway.sums([[0, 1, 1]])
    assert (answer.sums.tolist(), answer.version) == ([2.0], 3)
    assert waits == [0.25, 0.25] and len(sent) == 3
    assert sent[0].headers["grpc-timeout"].endswith("m")


def test_retries_stop_at_the_limit_with_the_last_error(monkeypatch):
    monkeypatch.setattr(http_client.time, "sleep", lambda seconds: None)
    transport, sent = recording([UNAVAILABLE] * 3)
    gateway = GatewayClient("http://gateway", transport=transport, retries=2)
    with gateway, pytest.raises(Unavailable, match="model server unavailable"):
        gateway.sums([[0, 1]])
    assert len(sent) == 3


def test_misuse_is_refused_before_sending():
    transport, sent = recording([])
    with GatewayClient("http://gateway", transport=transport) as gateway:
        with pytest.raises(InvalidInput, match=r"sequences\[0\]\[0\]: expected 0 or 1"):
            gateway.sums([[2, 1]])
        with pytest.raises(InvalidInput, match="give one, not both"):
            gateway.digits(np.zeros((28, 28)), version=1, label="stable")
    assert sent == []
