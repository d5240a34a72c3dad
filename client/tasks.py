"""The task helpers' core, whatever the transport: a checked request (`Job`), cut into parts of
at most MAX_BATCH_ROWS rows, each part as a model-server Predict (gRPC clients) or a gateway
JSON body (the HTTP client), and the parts' answers joined into one `Sums`, `Digits` or
`Forecasts`. Every part after the first is pinned to the version that answered the first, so
one answer never mixes versions (a rollout may land between parts)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

from client import checks
from client.answers import Digits, Forecasts, Sums
from contract.models import (
    DIGIT_CLASSIFIER,
    FORECASTER,
    MAX_BATCH_ROWS,
    MAX_LENGTH,
    SUM_REGRESSOR,
    WINDOW,
    pad_sequences,
)

Kind = Literal["sums", "digits", "forecast"]
Answer = Sums | Digits | Forecasts


@dataclass(frozen=True)
class Job:
    """One helper call's rows, checked, and the horizon of a forecast."""

    kind: Kind
    rows: list[np.ndarray]
    horizon: int = 0

    def parts(self) -> list[list[np.ndarray]]:
        return [
            self.rows[start : start + MAX_BATCH_ROWS]
            for start in range(0, len(self.rows), MAX_BATCH_ROWS)
        ]


@dataclass(frozen=True)
class PredictPart:
    """What one part sends as a Predict call."""

    model: str
    inputs: dict[str, np.ndarray]
    signature: str
    output_filter: tuple[str, ...]


def sums_job(sequences: Sequence[Sequence[float]]) -> Job:
    return Job("sums", checks.sequences(sequences))


def digits_job(images: ArrayLike) -> Job:
    return Job("digits", list(checks.images(images)))


def forecast_job(series: Sequence[Sequence[float]], horizon: int) -> Job:
    return Job("forecast", checks.series(series), checks.horizon(horizon))


def predict_part(job: Job, rows: list[np.ndarray]) -> PredictPart:
    if job.kind == "sums":
        batch = pad_sequences(rows, min_width=MAX_LENGTH)
        return PredictPart(SUM_REGRESSOR.name, {"sequences": batch}, "", ("sum",))
    if job.kind == "digits":
        images = np.stack(rows).astype(np.float32)
        return PredictPart(
            DIGIT_CLASSIFIER.name, {"images": images}, "", ("classes", "probabilities")
        )
    windows = np.stack([row[-WINDOW:] for row in rows]).astype(np.float32)
    horizons = np.full(len(rows), job.horizon, np.int32)
    return PredictPart(
        FORECASTER.name, {"window": windows, "horizon": horizons}, "forecast", ("forecast",)
    )


def joined_outputs(job: Job, outputs: list[dict[str, np.ndarray]], model: str, version: int):
    """The answer from each part's Predict outputs, rows in order."""

    def output(name: str) -> np.ndarray:
        return np.concatenate([part[name] for part in outputs])

    if job.kind == "sums":
        return Sums(output("sum").reshape(-1), model, version)
    if job.kind == "digits":
        return Digits(output("classes"), output("probabilities"), model, version)
    return Forecasts(output("forecast")[:, : job.horizon], model, version)


ROUTES: dict[Kind, str] = {"sums": "/v1/sum", "digits": "/v1/digits", "forecast": "/v1/forecast"}


def gateway_body(job: Job, rows: list[np.ndarray]) -> dict:
    """One part as the gateway route's JSON body."""
    if job.kind == "sums":
        return {"sequences": [[int(bit) for bit in row] for row in rows]}
    if job.kind == "digits":
        return {"images": [row.tolist() for row in rows]}
    return {"series": [row[-WINDOW:].tolist() for row in rows], "horizon": job.horizon}


def joined_bodies(job: Job, bodies: list[dict]):
    """The answer from each part's gateway JSON answer, rows in order."""
    model = bodies[0]["model"]
    name, version = model["name"], model["version"]
    if job.kind == "sums":
        sums = np.array([value for body in bodies for value in body["sums"]], np.float32)
        return Sums(sums, name, version)
    if job.kind == "digits":
        items = [item for body in bodies for item in body["predictions"]]
        digits = np.array([item["digit"] for item in items], np.int64)
        probabilities = np.array([item["probabilities"] for item in items], np.float32)
        return Digits(digits, probabilities, name, version)
    forecasts = np.array([row for body in bodies for row in body["forecasts"]], np.float32)
    return Forecasts(forecasts, name, version)
