"""POST /v1/forecast: {"series": [[≥ 20 values], ...], "horizon": 10} → {"forecasts": [[10]]}.

The forecaster reads the last 20 values of each series and rolls forward `horizon` steps.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from client.grpc_client import Prediction
from contract.models import FORECASTER, WINDOW
from serving.gateway import validation
from serving.gateway.errors import InvalidInput
from serving.gateway.tasks import Call, Task

if TYPE_CHECKING:  # settings import auth, which lists the tasks' routes
    from serving.gateway.settings import GatewaySettings

MAX_ABS_VALUE = 1e6
"""The series stays within about ±12; values beyond this are certainly a mistake."""


def build(body: dict, options: dict, settings: GatewaySettings) -> Call:
    series = validation.items(body, "series", settings.max_batch)
    if "horizon" not in body:
        raise InvalidInput("horizon: required")
    horizon = validation.integer(body["horizon"], "horizon", 1, settings.max_horizon)
    windows = []
    for index, values in enumerate(series):
        name = f"series[{index}]"
        row = validation.numbers(values, name, WINDOW, settings.max_series_length)
        validation.within(row, name, -MAX_ABS_VALUE, MAX_ABS_VALUE)
        windows.append(row[-WINDOW:])
    inputs = {
        "window": np.asarray(windows, np.float32),
        "horizon": np.full(len(windows), horizon, np.int32),
    }
    return Call(inputs, "forecast", ("forecast",), {"horizon": horizon})


def render(call: Call, prediction: Prediction) -> dict:
    forecasts = prediction.outputs["forecast"][:, : call.context["horizon"]]
    return {"forecasts": forecasts.astype(float).tolist()}


def request_schema(settings: GatewaySettings) -> dict:
    return {
        "required": ["series", "horizon"],
        "properties": {
            "series": {
                "type": "array",
                "minItems": 1,
                "maxItems": settings.max_batch,
                "items": {
                    "type": "array",
                    "minItems": WINDOW,
                    "maxItems": settings.max_series_length,
                    "items": {
                        "type": "number",
                        "minimum": -MAX_ABS_VALUE,
                        "maximum": MAX_ABS_VALUE,
                    },
                    "description": f"The last {WINDOW} values are the model's window",
                },
            },
            "horizon": {"type": "integer", "minimum": 1, "maximum": settings.max_horizon},
        },
    }


TASK = Task(
    model=FORECASTER.name,
    route="forecast",
    summary=f"Continue series of t·sin(t)/3 + 2·sin(5t) ({FORECASTER.name})",
    fields=("series", "horizon"),
    build=build,
    render=render,
    request_schema=request_schema,
    response_schema={
        "required": ["forecasts"],
        "properties": {
            "forecasts": {
                "type": "array",
                "items": {"type": "array", "items": {"type": "number"}},
            }
        },
    },
)
