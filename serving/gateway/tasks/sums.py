"""POST /v1/sum: {"sequences": [[0, 1, 1], ...]} → {"sums": [2.0, ...]} (sum_regressor)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from client.grpc_client import Prediction
from contract.models import MAX_LENGTH, SUM_REGRESSOR, pad_sequences
from serving.gateway import validation
from serving.gateway.errors import InvalidInput
from serving.gateway.tasks import Call, Task

if TYPE_CHECKING:  # settings import auth, which lists the tasks' routes
    from serving.gateway.settings import GatewaySettings


def build(body: dict, options: dict, settings: GatewaySettings) -> Call:
    sequences = validation.items(body, "sequences", settings.max_batch)
    rows = []
    for index, sequence in enumerate(sequences):
        name = f"sequences[{index}]"
        row = validation.numbers(sequence, name, 1, settings.max_sequence_length)
        not_bits = (row != 0) & (row != 1)
        if not_bits.any():
            position = int(not_bits.argmax())
            raise InvalidInput(f"{name}[{position}]: expected 0 or 1, got {row[position]:g}")
        rows.append(row)
    return Call({"sequences": pad_sequences(rows, min_width=MAX_LENGTH)}, output_filter=("sum",))


def render(call: Call, prediction: Prediction) -> dict:
    return {"sums": prediction.outputs["sum"].reshape(-1).astype(float).tolist()}


def request_schema(settings: GatewaySettings) -> dict:
    return {
        "required": ["sequences"],
        "properties": {
            "sequences": {
                "type": "array",
                "minItems": 1,
                "maxItems": settings.max_batch,
                "items": {
                    "type": "array",
                    "minItems": 1,
                    "maxItems": settings.max_sequence_length,
                    "items": {"type": "integer", "enum": [0, 1]},
                },
            },
        },
        "example": {"sequences": [[0, 1, 1, 0, 1], [1, 1]]},
    }


TASK = Task(
    model=SUM_REGRESSOR.name,
    route="sum",
    summary=f"Count the ones in each 0/1 sequence ({SUM_REGRESSOR.name})",
    fields=("sequences",),
    build=build,
    render=render,
    request_schema=request_schema,
    response_schema={
        "required": ["sums"],
        "properties": {"sums": {"type": "array", "items": {"type": "number"}}},
    },
)
