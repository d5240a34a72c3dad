"""POST /v1/forecast: {"series": [[≥ 20 values], ...], "horizon": 10} → {"forecasts": [[10]]}.

The forecaster reads the last 20 values of each series and rolls forward `horizon` steps.
"""

from __future__ import annotations

import numpy as np

from client.grpc_client import Prediction
from contract.models import FORECASTER, WINDOW
from serving.gateway import validation
from serving.gateway.errors import InvalidInput
from serving.gateway.settings import GatewaySettings
from serving.gateway.tasks import Call

model = FORECASTER.name
fields = ("series", "horizon")
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
