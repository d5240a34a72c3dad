"""A fake model server backend for route tests: deterministic outputs computed from the inputs,
every call recorded, failures injectable. The real backend is covered by the end-to-end tests."""

from __future__ import annotations

import numpy as np

from client.grpc_client import Prediction, VersionState
from serving.gateway.backend import Forwarded, Pin

NEWEST = 3


class FakeBackend:
    def __init__(self):
        self.calls: list[dict] = []
        self.forwarded: list[tuple[str, bytes]] = []
        self.failure: Exception | None = None
        self.replica_addresses = ["127.0.0.1:8500"]
        self.replica_failures: dict[str, Exception] = {}
        self.states = {
            "sum_regressor": [VersionState(3, "AVAILABLE"), VersionState(2, "END")],
            "digit_classifier": [VersionState(3, "AVAILABLE")],
            "forecaster": [VersionState(3, "AVAILABLE")],
        }
        self.forward_answer = Forwarded(200, b'{"predictions": [[1.0]]}')

    def predict(self, model, inputs, signature="", pin=None, output_filter=(), timeout=None):
        pin = pin or Pin()
        self.calls.append(
            {
                "model": model,
                "inputs": inputs,
                "signature": signature,
                "pin": pin,
                "output_filter": tuple(output_filter),
                "timeout": timeout,
            }
        )
        if self.failure:
            raise self.failure
        outputs = {
            "sum_regressor": _sums,
            "digit_classifier": _digits,
            "forecaster": _forecasts,
        }[model](inputs, signature)
        return Prediction(outputs, model, pin.version or NEWEST, signature or "serving_default")

    def status(self, model, timeout=None, replica=None):
        failure = self.replica_failures.get(replica, self.failure)
        if failure:
            raise failure
        return self.states[model]

    def replicas(self):
        return list(self.replica_addresses)

    def forward(self, method, path, body, content_type=None, timeout=None, headers=None):
        self.forwarded.append((method, path, body))
        if self.failure:
            raise self.failure
        return self.forward_answer


def _sums(inputs, signature):
    sequences = inputs["sequences"]
    return {"sum": np.where(sequences == -1, 0, sequences).sum(axis=1).astype(np.float32)}


def one_hot_probabilities(images: np.ndarray) -> np.ndarray:
    """Class = round(10 × mean pixel) mod 10, with probability 0.91."""
    classes = np.round(images.reshape(len(images), -1).mean(axis=1) * 10).astype(int) % 10
    probabilities = np.full((len(images), 10), 0.01, np.float32)
    probabilities[np.arange(len(images)), classes] = 0.91
    return probabilities


def _digits(inputs, signature):
    probabilities = one_hot_probabilities(inputs["images"])
    if signature == "per_row":
        return {"row_probabilities": np.repeat(probabilities[:, None], 28, axis=1)}
    return {"probabilities": probabilities}


def _forecasts(inputs, signature):
    window, horizon = inputs["window"], inputs["horizon"]
    steps = np.arange(1, int(horizon.max()) + 1, dtype=np.float32)
    return {"forecast": window[:, -1:] + steps[None]}
