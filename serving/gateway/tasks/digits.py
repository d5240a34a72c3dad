"""POST /v1/digits: {"images": [28×28 | 784 numbers in [0, 1] | {"b64": PNG/JPEG}]} →
{"predictions": [{"digit": 7, "probabilities": [10]}]}; `?explain=rows` adds "rows", the
class probabilities after each of the 28 rows the LSTM reads (the `per_row` signature)."""

from __future__ import annotations

import base64
import binascii
import time
from typing import TYPE_CHECKING

import numpy as np

from client.grpc_client import Prediction
from client.images import ImageError, decode_digit
from contract.models import CLASSES, DIGIT_CLASSIFIER, SIDE
from serving.gateway import validation
from serving.gateway.errors import InvalidInput
from serving.gateway.tasks import Call, Task

if TYPE_CHECKING:  # settings import auth, which lists the tasks' routes
    from serving.gateway.settings import GatewaySettings

EXPECTED = '28x28 or 784 numbers in [0, 1], or {"b64": PNG or JPEG}'


def options(query) -> dict:
    explain = query.get("explain")
    if explain not in (None, "rows"):
        raise InvalidInput(f"explain: expected 'rows', got {explain!r}")
    return {"explain": explain}


def build(body: dict, options: dict, settings: GatewaySettings) -> Call:
    images = validation.items(body, "images", settings.max_batch)
    batch = np.stack(
        [_image(image, f"images[{index}]", settings) for index, image in enumerate(images)]
    ).astype(np.float32)
    if options.get("explain") == "rows":
        return Call({"images": batch}, "per_row", ("row_probabilities",), {"rows": True})
    return Call({"images": batch}, "", ("probabilities",), {"rows": False})


def render(call: Call, prediction: Prediction) -> dict:
    if call.context["rows"]:
        rows = prediction.outputs["row_probabilities"].astype(float)
        final = rows[:, -1]
    else:
        rows, final = None, prediction.outputs["probabilities"].astype(float)
    predictions = []
    for index, probabilities in enumerate(final):
        item = {"digit": int(np.argmax(probabilities)), "probabilities": probabilities.tolist()}
        if rows is not None:
            item["rows"] = rows[index].tolist()
        predictions.append(item)
    return {"predictions": predictions}


def _image(image, name: str, settings: GatewaySettings) -> np.ndarray:
    if isinstance(image, (bytes, dict)):
        data = image if isinstance(image, bytes) else _b64(image, name)
        time.sleep(0)  # between decodes, let this worker's other requests run (gevent yields)
        try:
            return decode_digit(data, name, settings.max_image_pixels)
        except ImageError as error:
            raise InvalidInput(error.details) from None
    if not isinstance(image, list):
        raise InvalidInput(f"{name}: expected {EXPECTED}, got {validation.describe(image)}")
    if len(image) == SIDE and all(isinstance(row, list) for row in image):
        return validation.within(validation.grid(image, name, SIDE), name, 0.0, 1.0)
    if len(image) == SIDE * SIDE:
        pixels = validation.numbers(image, name, SIDE * SIDE, SIDE * SIDE)
        return validation.within(pixels, name, 0.0, 1.0).reshape(SIDE, SIDE)
    raise InvalidInput(f"{name}: expected {EXPECTED}, got {_shape(image)}")


def _b64(image: dict, name: str) -> bytes:
    if set(image) != {"b64"}:
        raise InvalidInput(f'{name}: expected an object with only "b64", got keys {sorted(image)}')
    encoded = image["b64"]
    if not isinstance(encoded, str):
        raise InvalidInput(
            f"{name}.b64: expected a base64 string, got {validation.describe(encoded)}"
        )
    if encoded.startswith("data:") and "," in encoded:
        encoded = encoded.split(",", 1)[1]
    try:
        return base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput(f"{name}.b64: not valid base64") from None


def _shape(image: list) -> str:
    if image and all(isinstance(row, list) for row in image):
        widths = sorted({len(row) for row in image})
        width = str(widths[0]) if len(widths) == 1 else f"{widths[0]}-{widths[-1]}"
        return f"{len(image)}x{width}"
    return f"{len(image)} values"


PIXEL = {"type": "number", "minimum": 0, "maximum": 1}
PROBABILITIES = {
    "type": "array",
    "items": {"type": "number"},
    "minItems": CLASSES,
    "maxItems": CLASSES,
}
IMAGE = {
    "oneOf": [
        {
            "type": "array",
            "description": f"{SIDE} rows of {SIDE} pixels in [0, 1], ink bright",
            "minItems": SIDE,
            "maxItems": SIDE,
            "items": {"type": "array", "items": PIXEL, "minItems": SIDE, "maxItems": SIDE},
        },
        {
            "type": "array",
            "description": f"{SIDE * SIDE} pixels in [0, 1], row by row",
            "items": PIXEL,
            "minItems": SIDE * SIDE,
            "maxItems": SIDE * SIDE,
        },
        {
            "type": "object",
            "description": "A PNG or JPEG of any size, prepared the way MNIST was",
            "required": ["b64"],
            "additionalProperties": False,
            "properties": {"b64": {"type": "string", "format": "byte"}},
        },
    ]
}


def request_schema(settings: GatewaySettings) -> dict:
    return {
        "required": ["images"],
        "properties": {
            "images": {
                "type": "array",
                "minItems": 1,
                "maxItems": settings.max_batch,
                "items": IMAGE,
            }
        },
    }


TASK = Task(
    model=DIGIT_CLASSIFIER.name,
    route="digits",
    summary=f"Classify handwritten digits ({DIGIT_CLASSIFIER.name})",
    fields=("images",),
    build=build,
    render=render,
    request_schema=request_schema,
    response_schema={
        "required": ["predictions"],
        "properties": {
            "predictions": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["digit", "probabilities"],
                    "properties": {
                        "digit": {"type": "integer", "minimum": 0, "maximum": CLASSES - 1},
                        "probabilities": PROBABILITIES,
                        "rows": {
                            "type": "array",
                            "description": "With ?explain=rows: probabilities after each row",
                            "items": PROBABILITIES,
                            "minItems": SIDE,
                            "maxItems": SIDE,
                        },
                    },
                },
            }
        },
    },
    options=options,
    parameters=(
        {
            "name": "explain",
            "in": "query",
            "required": False,
            "schema": {"type": "string", "enum": ["rows"]},
            "description": "rows: add the probabilities after each image row",
        },
    ),
    upload_field="images",
)
