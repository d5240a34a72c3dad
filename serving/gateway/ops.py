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
    """Ready when some replica has every model AVAILABLE; each replica is reported, and each
    model is AVAILABLE where any replica has it (else the first replica's reason)."""
    state = gateway()
    replicas = {}
    for address in state.backend.replicas():
        states = {name: model_state(name, address) for name in state.settings.models}
        ready = all(value == "AVAILABLE" for value in states.values())
        replicas[address] = {"ready": ready, "models": states}
    models = {}
    for name in state.settings.models:
        seen = [replica["models"][name] for replica in replicas.values()]
        models[name] = "AVAILABLE" if "AVAILABLE" in seen else seen[0]
    ready = any(replica["ready"] for replica in replicas.values())
    body = {"ready": ready, "models": models, "replicas": replicas}
    return jsonify(body), 200 if ready else 503


def model_state(name: str, replica: str) -> str:
    try:
        versions = gateway().backend.status(name, timeout=READY_TIMEOUT_S, replica=replica)
    except ApiError as error:
        return error.message
    return "AVAILABLE" if any(v.state == "AVAILABLE" for v in versions) else "not available"


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
