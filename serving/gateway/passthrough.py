"""`/v1/models/...`: TF Serving's REST API through the gateway, so a TF Serving REST client can
point at the gateway unchanged.

Status, metadata, `:predict`, `:classify` and `:regress` (with `/versions/N` or `/labels/L`)
go to the model server's REST port as they came (path, body, Content-Type), and its answer
comes back as it went (status, body, Content-Type): TF Serving decides what is valid and
words its own `{"error": "..."}`. The gateway still applies API keys, the body limit, the
in-flight bound and request IDs; its own refusals on these routes use TF Serving's error
shape too, so the same client code parses every answer.
"""

from __future__ import annotations

import json
import re

from flask import Response

from serving.gateway.backend import Backend
from serving.gateway.deadline import Deadline


def model_name(target: str) -> str:
    """The model a `/v1/models/<target>` path names."""
    return re.split(r"[/:]", target, maxsplit=1)[0]


def methods(target: str) -> tuple[str, ...]:
    """The methods TF Serving's REST API serves on `/v1/models/<target>`: POST for
    `:predict`, `:classify` and `:regress`, GET for status and metadata."""
    return ("POST",) if re.search(r":(predict|classify|regress)$", target) else ("GET",)


def allowed(target: str) -> list[str]:
    """What Allow lists for `/v1/models/<target>`: its method, HEAD with GET, and OPTIONS."""
    served = methods(target)
    return sorted({*served, "OPTIONS", *(("HEAD",) if "GET" in served else ())})


def scope(method: str) -> str:
    """API-key scope: running a model is `predict`, reading status or metadata is `models`."""
    return "predict" if method == "POST" else "models"


def forward(
    backend: Backend,
    method: str,
    path: str,
    body: bytes,
    content_type: str | None,
    deadline: Deadline,
):
    """The model server's answer to the same request, unchanged, within the deadline."""
    answer = backend.forward(method, path, body, content_type, deadline.remaining())
    return Response(answer.body, status=answer.status, content_type=answer.content_type)


def error_body(message: str) -> bytes:
    """TF Serving's error shape (its writer's layout: json_tensor.cc, MakeJsonFromStatus)."""
    return b'{\n    "error": ' + json.dumps(message, ensure_ascii=False).encode() + b"\n}"
