"""POST /v1/means: {"rows": [[8 numbers], ...]} → {"means": [...]} (mean_regressor)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from client.grpc_client import Prediction
from contract.models import MEAN_REGRESSOR, MEAN_WIDTH
from serving.gateway import validation
from serving.gateway.tasks import Call, Task

if TYPE_CHECKING:  # settings import auth, which lists the tasks' routes
    from serving.gateway.settings import GatewaySettings


def build(body: dict, options: dict, settings: GatewaySettings) -> Call:
    rows = validation.items(body, "rows", settings.max_batch)
    values = [
        validation.numbers(row, f"rows[{index}]", MEAN_WIDTH, MEAN_WIDTH)
        for index, row in enumerate(rows)
    ]
    return Call({"values": np.asarray(values, np.float32)}, output_filter=("mean",))


def render(call: Call, prediction: Prediction) -> dict:
    return {"means": prediction.outputs["mean"].astype(float).tolist()}


def request_schema(settings: GatewaySettings) -> dict:
    row = {"type": "array", "items": {"type": "number"}, "minItems": 8, "maxItems": 8}
    return {
        "required": ["rows"],
        "properties": {
            "rows": {"type": "array", "minItems": 1, "maxItems": settings.max_batch, "items": row}
        },
    }


TASK = Task(
    model=MEAN_REGRESSOR.name,
    route="means",
    summary=f"The mean of each row of {MEAN_WIDTH} values ({MEAN_REGRESSOR.name})",
    fields=("rows",),
    build=build,
    render=render,
    request_schema=request_schema,
    response_schema={
        "required": ["means"],
        "properties": {"means": {"type": "array", "items": {"type": "number"}}},
    },
)
