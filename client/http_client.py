"""A client for the HTTP gateway: the task helpers of `ServingClient` (`sums`, `digits`,
`forecast`, with the same checks, answers and exceptions) over the gateway's JSON routes, for
applications that reach the gateway and not the model servers (in the Kubernetes layout only
the gateway and Locust may reach them).

One keep-alive connection pool (httpx). An API key goes as `Authorization: Bearer`. Each call
has a deadline, sent to the gateway as `grpc-timeout` so that it gives up when the caller does;
a 503 or 429 is retried after the gateway's `Retry-After` (at most `retries` times, only while
the deadline leaves room), and so is a connection that could not be made. Every other answer
that is not 2xx raises the exception that its status means (client.errors.from_http), with
the gateway's message.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import httpx
from numpy.typing import ArrayLike

from client import checks, tasks
from client.answers import Digits, Forecasts, Sums
from client.errors import (
    ClientClosed,
    DeadlineExceeded,
    ServingClientError,
    Unavailable,
    from_http,
)

RETRIED_STATUSES = (429, 503)


class GatewayClient:
    """The gateway at `url` (e.g. http://gateway:8000). Thread-safe; share one per process."""

    def __init__(
        self,
        url: str = "http://localhost:8000",
        api_key: str | None = None,
        timeout: float = 10.0,
        retries: int = 3,
        transport: httpx.BaseTransport | None = None,
    ):
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.retries = retries
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._http = httpx.Client(base_url=self.url, headers=headers, transport=transport)
        self._closed = False

    def close(self) -> None:
        self._closed = True
        self._http.close()

    def __enter__(self) -> GatewayClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def sums(
        self,
        sequences: Sequence[Sequence[float]],
        *,
        version: int | None = None,
        label: str | None = None,
        timeout: float | None = None,
    ) -> Sums:
        """sum_regressor through POST /v1/sum."""
        return self._run(tasks.sums_job(sequences), version, label, timeout)

    def digits(
        self,
        images: ArrayLike,
        *,
        version: int | None = None,
        label: str | None = None,
        timeout: float | None = None,
    ) -> Digits:
        """digit_classifier through POST /v1/digits."""
        return self._run(tasks.digits_job(images), version, label, timeout)

    def forecast(
        self,
        series: Sequence[Sequence[float]],
        horizon: int,
        *,
        version: int | None = None,
        label: str | None = None,
        timeout: float | None = None,
    ) -> Forecasts:
        """forecaster through POST /v1/forecast."""
        return self._run(tasks.forecast_job(series, horizon), version, label, timeout)

    def models(self, timeout: float | None = None) -> list[dict]:
        """GET /v1/models: each model's versions, as the gateway lists them."""
        return self._send("GET", "/v1/models", None, self._deadline(timeout))["models"]

    def _run(self, job: tasks.Job, version: int | None, label: str | None, timeout):
        """The job's parts, one request each: the first as pinned, the rest to its version."""
        checks.pin(version, label)
        deadline = self._deadline(timeout)
        answers: list[dict] = []
        for rows in job.parts():
            body = tasks.gateway_body(job, rows)
            if answers:
                body["version"] = answers[0]["model"]["version"]
            elif version is not None:
                body["version"] = int(version)
            elif label is not None:
                body["label"] = label
            answers.append(self._send("POST", tasks.ROUTES[job.kind], body, deadline))
        return tasks.joined_bodies(job, answers)

    def _deadline(self, timeout: float | None) -> float:
        return time.monotonic() + (self.timeout if timeout is None else timeout)

    def _send(self, method: str, path: str, body: dict | None, deadline: float) -> dict:
        """One request, retried after a 503/429's Retry-After or a refused connection while
        the deadline leaves room; the answer's JSON, or the exception its status means."""
        if self._closed:
            raise ClientClosed(f"the client for {self.url} is closed")
        attempt = 0
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise DeadlineExceeded(f"{method} {path}: no answer within the deadline")
            try:
                response = self._http.request(
                    method,
                    path,
                    json=body,
                    timeout=left,
                    headers={"grpc-timeout": f"{max(1, int(left * 1000))}m"},
                )
            except httpx.TimeoutException:
                raise DeadlineExceeded(f"{method} {path}: no answer within the deadline") from None
            except httpx.TransportError as error:
                failure: ServingClientError = Unavailable(f"{self.url}: {error}")
                wait = 0.05 * 2**attempt
            else:
                if response.status_code < 300:
                    return response.json()
                failure = from_http(response.status_code, _message(response))
                if response.status_code not in RETRIED_STATUSES:
                    raise failure
                wait = _retry_after(response)
            if attempt >= self.retries or time.monotonic() + wait >= deadline:
                raise failure
            attempt += 1
            time.sleep(wait)


def _message(response: httpx.Response) -> str:
    """The gateway's error message ({"error": {"code", "message"}}), else the body's start."""
    try:
        error = response.json()["error"]
        return error["message"] if isinstance(error, dict) else str(error)
    except (ValueError, KeyError, TypeError):
        return f"HTTP {response.status_code}: {response.text[:200]}"


def _retry_after(response: httpx.Response) -> float:
    try:
        return max(0.0, float(response.headers.get("Retry-After", "1")))
    except ValueError:
        return 1.0
