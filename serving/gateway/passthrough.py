"""POST /v1/models/{name}[/versions/{v}|/labels/{l}]:predict: a TF Serving REST predict body,
checked for shape, forwarded unchanged to the model server's REST API, its answer returned."""

from __future__ import annotations

import json

from serving.gateway import validation
from serving.gateway.backend import Backend, Pin
from serving.gateway.errors import ApiError, InvalidInput, from_http

BODY_FIELDS = ("signature_name", "instances", "inputs", "output_filter")


def check(body: dict) -> None:
    validation.only_fields(body, BODY_FIELDS)
    if ("instances" in body) == ("inputs" in body):
        raise InvalidInput(
            'body: expected exactly one of "instances" (row format) or "inputs" (columnar format)'
        )
    if "signature_name" in body and not isinstance(body["signature_name"], str):
        raise InvalidInput(
            f"signature_name: expected a string, got {validation.describe(body['signature_name'])}"
        )


def model_path(name: str, pin: Pin) -> str:
    if pin.version is not None:
        return f"/v1/models/{name}/versions/{pin.version}:predict"
    if pin.label is not None:
        return f"/v1/models/{name}/labels/{pin.label}:predict"
    return f"/v1/models/{name}:predict"


def forward(backend: Backend, name: str, pin: Pin, raw: bytes) -> bytes:
    """The model server's JSON response body; its errors raised as typed API errors."""
    answer = backend.forward_predict(model_path(name, pin), raw)
    if answer.status == 200:
        return answer.body
    raise _error(answer.status, answer.body)


def _error(status: int, body: bytes) -> ApiError:
    try:
        message = json.loads(body)["error"]
    except (ValueError, KeyError, TypeError):
        message = body.decode(errors="replace")[:500] or f"HTTP {status}"
    return from_http(status, f"model server: {message}")
