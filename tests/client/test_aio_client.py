"""The asyncio client against the real model server: the same answers as the synchronous
client and its futures, the same checks and exceptions."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from client.aio_client import AsyncServingClient
from client.errors import ClientClosed, InvalidInput, NotFound
from client.grpc_client import ServingClient

SEQUENCES = [[0, 1, 1], [1] * 40, [0]]
SERIES = [list(np.sin(np.arange(30) * 0.3)), list(np.linspace(0, 1, 20))]


def images() -> np.ndarray:
    return np.stack([np.linspace(0, 1, 784).reshape(28, 28), np.eye(28)])


def test_sync_futures_and_asyncio_give_identical_answers(model_server):
    with ServingClient(model_server.grpc_address, timeout=30) as sync:
        expected = (sync.sums(SEQUENCES), sync.digits(images()), sync.forecast(SERIES, 7))
        batch = sync.predict_async("forecaster", {"window": np.zeros((1, 20), np.float32)})
        from_future = batch.result(30).outputs["next"]

    async def run():
        async with AsyncServingClient(model_server.grpc_address, timeout=30) as serving:
            return await asyncio.gather(
                serving.sums(SEQUENCES),
                serving.digits(images()),
                serving.forecast(SERIES, 7),
                serving.predict("forecaster", {"window": np.zeros((1, 20), np.float32)}),
            )

    sums, digits, forecast, prediction = asyncio.run(run())
    np.testing.assert_array_equal(sums.sums, expected[0].sums)
    np.testing.assert_array_equal(digits.digits, expected[1].digits)
    np.testing.assert_array_equal(digits.probabilities, expected[1].probabilities)
    np.testing.assert_array_equal(forecast.forecasts, expected[2].forecasts)
    np.testing.assert_array_equal(prediction.outputs["next"], from_future)
    assert (sums.model, sums.version) == ("sum_regressor", 1)


def test_status_and_the_same_exceptions(model_server):
    async def run():
        async with AsyncServingClient(model_server.grpc_address, timeout=30) as serving:
            states = await serving.status("forecaster")
            with pytest.raises(NotFound):
                await serving.predict("nope", {"x": np.zeros(1, np.float32)})
            with pytest.raises(InvalidInput, match="horizon: expected an integer"):
                await serving.forecast(SERIES, 2.5)
            return states

    assert [(s.version, s.state) for s in asyncio.run(run())] == [(1, "AVAILABLE")]


def test_close_waits_for_calls_in_flight_and_refuses_new_ones(model_server):
    async def run():
        serving = AsyncServingClient(model_server.grpc_address, timeout=30)
        pending = [asyncio.ensure_future(serving.sums(SEQUENCES)) for _ in range(10)]
        await asyncio.sleep(0)  # each call starts before close
        await serving.close()
        with pytest.raises(ClientClosed):
            await serving.sums(SEQUENCES)
        return [future.result() for future in pending]

    answers = asyncio.run(run())
    assert all(np.array_equal(answer.sums, answers[0].sums) for answer in answers)
