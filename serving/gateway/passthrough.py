"""`/v1/models/...` and `/v2/...`: TF Serving's REST API and the Open Inference Protocol's
through the gateway, so a TF Serving, Triton or KServe REST client can point at the gateway
unchanged.

Status, metadata, `:predict`, `:classify` and `:regress` (with `/versions/N` or `/labels/L`)
go to the model server's REST port as they came (path, body, Content-Type), and its answer
comes back as it went (status, body, Content-Type): TF Serving decides what is valid and
words its own `{"error": "..."}`. The gateway still applies API keys, the body limit, the
in-flight bound and request IDs; its own refusals on these routes use the protocols' error
shape too (`{"error": "..."}`, the same in both), so the same client code parses every answer.
The V2 binary data extension's `Inference-Header-Content-Length` travels both ways.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from flask import Response

from serving.gateway.backend import Backend
from serving.gateway.deadline import Deadline


def proxied(path: str) -> bool:
    """Whether `path` is one of the protocols' own (answered by the model server)."""
    return path.startswith("/v1/models/") or path == "/v2" or path.startswith("/v2/")


def model_name(target: str) -> str:
    """The model a `/v1/models/<target>` path names."""
    return re.split(r"[/:]", target, maxsplit=1)[0]


def v2_model_name(target: str) -> str | None:
    """The model a `/v2/<target>` path names (`models/<name>...`), if any."""
    match = re.match(r"models/([^/]+)", target)
    return match[1] if match else None


def methods(target: str) -> tuple[str, ...]:
    """The methods the protocols serve on a target: POST for TF Serving's `:predict`,
    `:classify` and `:regress` and V2's `/infer`, GET for everything else."""
    posted = re.search(r"(:(predict|classify|regress)|/infer)$", target)
    return ("POST",) if posted else ("GET",)


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
    headers: Mapping[str, str] | None = None,
):
    """The model server's answer to the same request, unchanged, within the deadline."""
    answer = backend.forward(method, path, body, content_type, deadline.remaining(), headers)
    response = Response(answer.body, status=answer.status, content_type=answer.content_type)
    response.headers.update(answer.headers)
    return response
