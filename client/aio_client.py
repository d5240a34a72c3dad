"""The gRPC client for asyncio applications: `ServingClient`'s API with `await`, on a
`grpc.aio` channel with the same options (service config, retries, throttling, connect
timeout), the same checked helpers and the same exceptions (client.errors).

    async with AsyncServingClient("localhost:8500") as serving:
        counted = await serving.sums([[0, 1, 1]])
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence

import grpc
import grpc.aio
import numpy as np
from numpy.typing import ArrayLike

from client import calls, tasks
from client.answers import Digits, Forecasts, Sums
from client.calls import Prediction, VersionState
from client.errors import ClientClosed, from_grpc
from client.grpc_client import TlsSettings, channel_options, credentials, cut_mid_call
from client.targets import channel_target
from protocol.messages import (
    get_model_metadata_pb2,
    model_service_pb2_grpc,
    prediction_service_pb2_grpc,
)


class AsyncServingClient:
    """One `grpc.aio` channel to a model server or a set of replicas. Make it, use it and
    close it on one event loop; calls may run concurrently (`asyncio.gather`)."""

    def __init__(
        self,
        address: str,
        timeout: float = 10.0,
        retries: int = 3,
        backoff: float = 0.05,
        tls: TlsSettings | None = None,
        max_message_bytes: int = 64 * 1024 * 1024,
    ):
        self.address = address
        self.timeout = timeout
        self.retries = retries
        target = channel_target(address)
        options = channel_options(retries, backoff, max_message_bytes)
        if tls is None:
            self._channel = grpc.aio.insecure_channel(target, options=options)
        else:
            self._channel = grpc.aio.secure_channel(target, credentials(tls), options=options)
        self._predictions = prediction_service_pb2_grpc.PredictionServiceStub(self._channel)
        self._models = model_service_pb2_grpc.ModelServiceStub(self._channel)
        self._pending: set[asyncio.Task] = set()
        self._closed = False

    async def close(self) -> None:
        """Let the calls in flight finish, each within its deadline, then close the channel;
        any call after this raises `ClientClosed`."""
        self._closed = True
        if self._pending:
            await asyncio.wait(self._pending)
        await self._channel.close()

    async def __aenter__(self) -> AsyncServingClient:
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()

    async def predict(
        self,
        model: str,
        inputs: Mapping[str, ArrayLike],
        *,
        signature: str = "",
        version: int | None = None,
        label: str | None = None,
        output_filter: Sequence[str] = (),
        timeout: float | None = None,
        tensor_content: bool = True,
    ) -> Prediction:
        """One Predict call (as `ServingClient.predict`)."""
        request = calls.predict_request(
            model, inputs, signature, version, label, output_filter, tensor_content
        )
        return calls.prediction(await self._call(self._predictions.Predict, request, timeout))

    async def classify(
        self,
        model: str,
        examples: Sequence[dict],
        *,
        signature: str = "",
        version: int | None = None,
        label: str | None = None,
        timeout: float | None = None,
    ) -> list[list[tuple[str, float]]]:
        request = calls.classify_request(model, examples, signature, version, label)
        return calls.classes(await self._call(self._predictions.Classify, request, timeout))

    async def regress(
        self,
        model: str,
        examples: Sequence[dict],
        *,
        signature: str = "",
        version: int | None = None,
        label: str | None = None,
        timeout: float | None = None,
    ) -> np.ndarray:
        request = calls.regress_request(model, examples, signature, version, label)
        return calls.values(await self._call(self._predictions.Regress, request, timeout))

    async def metadata(
        self, model: str, version: int | None = None, timeout: float | None = None
    ) -> get_model_metadata_pb2.SignatureDefMap:
        request = calls.metadata_request(model, version)
        response = await self._call(self._predictions.GetModelMetadata, request, timeout)
        return calls.signatures(response)

    async def status(
        self, model: str, version: int | None = None, timeout: float | None = None
    ) -> list[VersionState]:
        request = calls.status_request(model, version)
        return calls.versions(await self._call(self._models.GetModelStatus, request, timeout))

    async def sums(
        self,
        sequences: Sequence[Sequence[float]],
        *,
        version: int | None = None,
        label: str | None = None,
        timeout: float | None = None,
    ) -> Sums:
        """sum_regressor: the number of ones in each 0/1 sequence (1 to 64 long)."""
        return await self._run(tasks.sums_job(sequences), version, label, timeout)

    async def digits(
        self,
        images: ArrayLike,
        *,
        version: int | None = None,
        label: str | None = None,
        timeout: float | None = None,
    ) -> Digits:
        """digit_classifier: digits and class probabilities of 28×28 images in [0, 1]."""
        return await self._run(tasks.digits_job(images), version, label, timeout)

    async def forecast(
        self,
        series: Sequence[Sequence[float]],
        horizon: int,
        *,
        version: int | None = None,
        label: str | None = None,
        timeout: float | None = None,
    ) -> Forecasts:
        """forecaster: the next `horizon` values (1 to 200) after the last 20 of each series."""
        return await self._run(tasks.forecast_job(series, horizon), version, label, timeout)

    async def _run(self, job: tasks.Job, version: int | None, label: str | None, timeout):
        """The job's parts, one call each: the first as pinned (predict checks the pin), the
        rest to its version."""
        answers: list[Prediction] = []
        for rows in job.parts():
            part = tasks.predict_part(job, rows)
            answers.append(
                await self.predict(
                    part.model,
                    part.inputs,
                    signature=part.signature,
                    version=answers[0].version if answers else version,
                    label=None if answers else label,
                    output_filter=part.output_filter,
                    timeout=timeout,
                )
            )
        outputs = [answer.outputs for answer in answers]
        return tasks.joined_outputs(job, outputs, answers[0].model, answers[0].version)

    async def _call(self, method, request, timeout: float | None):
        """One call, tracked so that `close` waits for it; retried once when its connection
        was cut after it left, as the synchronous client does."""
        if self._closed:
            raise ClientClosed(f"the client for {self.address} is closed")
        task = asyncio.ensure_future(self._attempts(method, request, timeout))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)
        return await task

    async def _attempts(self, method, request, timeout: float | None):
        seconds = self.timeout if timeout is None else timeout
        started = time.monotonic()
        try:
            return await method(request, timeout=seconds)
        except grpc.aio.AioRpcError as error:
            failure = error
        left = seconds - (time.monotonic() - started)
        if self.retries > 0 and left > 0 and cut_mid_call(failure):
            try:
                return await method(request, timeout=left)
            except grpc.aio.AioRpcError as error:
                failure = error
        raise from_grpc(failure.code(), failure.details() or "") from None
