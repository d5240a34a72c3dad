"""Locust load test: an HTTP user for the gateway and a gRPC user for the model server.

    locust -f loadtest/locustfile.py --host http://localhost:8000 --grpc-target localhost:8500

Payloads are realistic (real MNIST test digits, 0/1 sequences of lengths 1–64, windows of the
true series) and answers are checked, not just statuses: sums within --sum-tolerance of the
truth, forecasts within --forecast-mse, digit responses well-formed (the digit accuracy under
load is printed at the end). When the run ends, the service-level objectives are checked: the
process exits 1 if the failure ratio exceeds --max-fail-ratio (default 0: any failure) or the
95th percentile exceeds --p95-ms. Every option has a LOCUST_* environment variable.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import grpc
import numpy as np
from locust import FastHttpUser, between, events, tag, task
from locust.runners import WorkerRunner

from contract.models import (
    DIGIT_CLASSIFIER,
    FORECASTER,
    MAX_LENGTH,
    SUM_REGRESSOR,
    pad_sequences,
)
from loadtest.locust_grpc import GrpcUser
from loadtest.payloads import mnist_sample, random_sequence, series_window
from protocol.messages import predict_pb2, prediction_service_pb2_grpc
from protocol.tensors import to_ndarray, to_tensor_proto

HORIZONS = (5, 10, 20)
DIGIT_ANSWERS: Counter = Counter()
_state: dict = {}


@events.init_command_line_parser.add_listener
def add_options(parser):
    options = parser.add_argument_group("seqserve")
    options.add_argument(
        "--grpc-target",
        env_var="TFS_TARGET",
        default="localhost:8500",
        help="model server gRPC address for ModelServerUser",
    )
    options.add_argument(
        "--data-dir",
        env_var="LOCUST_DATA_DIR",
        default="data",
        help="where MNIST is (or is fetched to)",
    )
    options.add_argument(
        "--sum-tolerance",
        env_var="LOCUST_SUM_TOLERANCE",
        type=float,
        default=0.25,
        help="largest accepted |sum - truth|",
    )
    options.add_argument(
        "--forecast-mse",
        env_var="LOCUST_FORECAST_MSE",
        type=float,
        default=0.5,
        help="largest accepted forecast MSE against the truth",
    )
    options.add_argument(
        "--max-fail-ratio",
        env_var="LOCUST_MAX_FAIL_RATIO",
        type=float,
        default=0.0,
        help="SLO: largest accepted share of failed requests",
    )
    options.add_argument(
        "--p95-ms",
        env_var="LOCUST_P95_MS",
        type=float,
        default=1000.0,
        help="SLO: largest accepted 95th-percentile response time",
    )


@events.init.add_listener
def load_payloads(environment, **_):
    options = environment.parsed_options
    _state["digits"] = mnist_sample(Path(options.data_dir))
    _state["options"] = options
    ModelServerUser.address = options.grpc_target


def sum_error(sums, sequences) -> str | None:
    truth = np.array([sum(s) for s in sequences])
    worst = float(np.max(np.abs(np.asarray(sums, float) - truth)))
    limit = _state["options"].sum_tolerance
    return f"sum off by {worst:.3f} (> {limit})" if worst > limit else None


def forecast_error(forecast, truth: np.ndarray) -> str | None:
    if len(forecast) != len(truth):
        return f"forecast has {len(forecast)} values, expected {len(truth)}"
    mse = float(np.mean((np.asarray(forecast) - truth) ** 2))
    limit = _state["options"].forecast_mse
    return f"forecast MSE {mse:.4f} (> {limit})" if mse > limit else None


def digit_error(digit: int, probabilities, label: int) -> str | None:
    if len(probabilities) != 10 or abs(sum(probabilities) - 1) > 1e-3:
        return "probabilities are not a distribution over 10 digits"
    if digit != int(np.argmax(probabilities)):
        return "digit is not the most probable class"
    DIGIT_ANSWERS["right" if digit == label else "wrong"] += 1
    return None


class GatewayUser(FastHttpUser):
    """The gateway's three routes, weighted like a typical mix."""

    wait_time = between(0.0, 0.05)

    def on_start(self):
        self.rng = np.random.default_rng()

    def _post(self, path: str, body: dict, check):
        with self.client.post(path, json=body, catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"{response.status_code}: {response.text[:200]}")
                return
            try:
                problem = check(json.loads(response.text))
            except (ValueError, KeyError, TypeError) as error:
                problem = f"malformed answer: {error!r}"
            if problem:
                response.failure(problem)

    @tag("http")
    @task(3)
    def sums(self):
        sequences = [random_sequence(self.rng) for _ in range(int(self.rng.integers(1, 5)))]
        self._post("/v1/sum", {"sequences": sequences}, lambda b: sum_error(b["sums"], sequences))

    @tag("http")
    @task(2)
    def digits(self):
        digits = _state["digits"]
        index = int(self.rng.integers(len(digits.labels)))
        label = int(digits.labels[index])

        def check(body):
            (prediction,) = body["predictions"]
            return digit_error(prediction["digit"], prediction["probabilities"], label)

        self._post("/v1/digits", {"images": [digits.images[index].tolist()]}, check)

    @tag("http")
    @task(1)
    def forecast(self):
        horizon = int(self.rng.choice(HORIZONS))
        window, truth = series_window(self.rng, horizon)
        body = {"series": [window], "horizon": horizon}
        self._post("/v1/forecast", body, lambda b: forecast_error(b["forecasts"][0], truth))

    @tag("http", "v2")
    @task(1)
    def digits_v2(self):
        """The Open Inference Protocol's infer, proxied by the gateway to the model server."""
        digits = _state["digits"]
        index = int(self.rng.integers(len(digits.labels)))
        label = int(digits.labels[index])
        image = digits.images[index]
        body = {
            "inputs": [
                {
                    "name": "images",
                    "shape": [1, *image.shape],
                    "datatype": "FP32",
                    "data": image.reshape(-1).tolist(),
                }
            ]
        }

        def check(answer):
            outputs = {output["name"]: output["data"] for output in answer["outputs"]}
            return digit_error(outputs["classes"][0], outputs["probabilities"], label)

        self._post(f"/v2/models/{DIGIT_CLASSIFIER.name}/infer", body, check)


class ModelServerUser(GrpcUser):
    """The same three models straight to TF Serving's gRPC Predict."""

    stub_class = prediction_service_pb2_grpc.PredictionServiceStub
    wait_time = between(0.0, 0.05)

    def on_start(self):
        self.rng = np.random.default_rng()

    def _predict(self, model: str, inputs: dict, signature: str = ""):
        request = predict_pb2.PredictRequest()
        request.model_spec.name = model
        request.model_spec.signature_name = signature
        for alias, value in inputs.items():
            request.inputs[alias].CopyFrom(to_tensor_proto(value, use_tensor_content=True))
        try:
            response = self.stub.Predict(request, timeout=10)
        except grpc.RpcError:  # already reported by the interceptor
            return None
        return {alias: to_ndarray(proto) for alias, proto in response.outputs.items()}

    def _report(self, model: str, problem: str | None):
        if problem:
            self.environment.events.request.fire(
                request_type="grpc",
                name=f"Predict {model} (answer)",
                response_time=0,
                response_length=0,
                response=None,
                context=None,
                exception=AssertionError(problem),
            )

    @tag("grpc")
    @task(3)
    def sums(self):
        sequences = [random_sequence(self.rng) for _ in range(int(self.rng.integers(1, 5)))]
        batch = pad_sequences(sequences, min_width=MAX_LENGTH)
        outputs = self._predict(SUM_REGRESSOR.name, {"sequences": batch})
        if outputs is not None:
            self._report(SUM_REGRESSOR.name, sum_error(outputs["sum"], sequences))

    @tag("grpc")
    @task(2)
    def digits(self):
        digits = _state["digits"]
        index = int(self.rng.integers(len(digits.labels)))
        outputs = self._predict(DIGIT_CLASSIFIER.name, {"images": digits.images[index : index + 1]})
        if outputs is not None:
            probabilities = outputs["probabilities"][0].tolist()
            digit = int(np.argmax(probabilities))
            self._report(
                DIGIT_CLASSIFIER.name, digit_error(digit, probabilities, int(digits.labels[index]))
            )

    @tag("grpc")
    @task(1)
    def forecast(self):
        horizon = int(self.rng.choice(HORIZONS))
        window, truth = series_window(self.rng, horizon)
        inputs = {
            "window": np.asarray([window], np.float32),
            "horizon": np.asarray([horizon], np.int32),
        }
        outputs = self._predict(FORECASTER.name, inputs, "forecast")
        if outputs is not None:
            self._report(FORECASTER.name, forecast_error(outputs["forecast"][0][:horizon], truth))


@events.test_stop.add_listener
def print_digit_accuracy(environment, **_):
    answered = sum(DIGIT_ANSWERS.values())
    if answered:
        share = DIGIT_ANSWERS["right"] / answered
        print(f"digit accuracy under load: {share:.2%} of {answered} answers")


@events.quitting.add_listener
def check_slos(environment, **_):
    if isinstance(environment.runner, WorkerRunner):
        return
    options, total = environment.parsed_options, environment.stats.total
    broken = []
    if total.num_requests == 0:
        broken.append("no requests were made")
    if total.fail_ratio > options.max_fail_ratio:
        broken.append(f"failure ratio {total.fail_ratio:.4f} > {options.max_fail_ratio}")
    p95 = total.get_response_time_percentile(0.95) or 0
    if p95 > options.p95_ms:
        broken.append(f"p95 {p95:.0f} ms > {options.p95_ms:.0f} ms")
    if broken:
        print("SLO FAILED: " + "; ".join(broken))
        environment.process_exit_code = 1
    else:
        print(
            f"SLO met: {total.num_requests} requests, failure ratio {total.fail_ratio:.4f}, "
            f"p95 {p95:.0f} ms"
        )
        environment.process_exit_code = 0
