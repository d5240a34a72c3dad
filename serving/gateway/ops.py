"""The `ops` blueprint: liveness, readiness, Prometheus metrics and the API's own description.
None of these wait for a slot or need an API key, so probes answer under overload."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from serving.gateway import metrics
from serving.gateway.errors import ApiError
from serving.gateway.extension import gateway

READY_TIMEOUT_S = 1.0
blueprint = Blueprint("ops", __name__)


@blueprint.get("/healthz")
def healthz():
    return jsonify({"status": "ok"})


@blueprint.get("/readyz")
def readyz():
    state = gateway()
    states = {}
    for name in state.settings.models:
        try:
            versions = state.backend.status(name, timeout=READY_TIMEOUT_S)
            available = [v.version for v in versions if v.state == "AVAILABLE"]
            states[name] = "AVAILABLE" if available else "not available"
        except ApiError as error:
            states[name] = error.message
    ready = all(value == "AVAILABLE" for value in states.values())
    return jsonify({"ready": ready, "models": states}), 200 if ready else 503


@blueprint.get("/metrics")
def metrics_route():
    body, content_type = metrics.exposition()
    return Response(body, content_type=content_type)


@blueprint.get("/openapi.json")
def openapi_route():
    return jsonify(gateway().openapi)


@blueprint.get("/docs")
def docs_route():
    return Response(gateway().docs_page, mimetype="text/html")
