"""The `ops` blueprint: liveness, readiness, Prometheus metrics and the API's own description.
None of these wait for a slot, so probes answer under overload. With API keys configured, the
routes an operator has left public (GATEWAY_PUBLIC_ROUTES, all of them by default) answer
without a key and the others need one with the `ops` scope; /readyz shows each model and
replica (addresses included) only to an `ops` key, and to everyone when keys are off."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

from flask import Blueprint, Response, jsonify, request, send_from_directory
from swagger_ui_bundle import swagger_ui_path

from serving.gateway import auth, docs, metrics
from serving.gateway.app_state import gateway
from serving.gateway.backend import Backend
from serving.gateway.errors import ApiError, NotFound

READY_BUDGET_S = 1.0
"""/readyz asks every replica for every model at once, and answers within this budget: well
inside a readiness probe's timeout (3 s in deploy/k8s), whatever one slow replica does."""
blueprint = Blueprint("ops", __name__)


@blueprint.before_request
def closed_to_keyless_callers() -> None:
    settings = gateway().settings
    route = docs.DOCS_ROUTE if request.path.startswith(f"{docs.DOCS_ROUTE}/") else request.path
    if settings.api_keys and route not in settings.public_routes:
        auth.authorize(settings.api_keys, request.headers, auth.OPS_SCOPE)


@blueprint.get("/healthz")
def healthz():
    return jsonify({"status": "ok"})


@blueprint.get("/readyz")
def readyz():
    """Ready when some replica has every model AVAILABLE; each replica is reported, and each
    model is AVAILABLE where any replica has it (else the first replica's reason)."""
    state = gateway()
    stop_at = time.monotonic() + READY_BUDGET_S
    pairs = [
        (address, name) for address in state.backend.replicas() for name in state.settings.models
    ]
    with ThreadPoolExecutor(max(1, len(pairs))) as pool:
        answers = pool.map(lambda pair: model_state(state.backend, *pair, stop_at), pairs)
        found = dict(zip(pairs, answers, strict=True))
    replicas = {}
    for (address, name), value in found.items():
        replicas.setdefault(address, {"ready": True, "models": {}})
        replicas[address]["models"][name] = value
        replicas[address]["ready"] &= value == "AVAILABLE"
    models = {}
    for name in state.settings.models:
        seen = [replica["models"][name] for replica in replicas.values()]
        models[name] = "AVAILABLE" if "AVAILABLE" in seen else seen[0]
    ready = any(replica["ready"] for replica in replicas.values())
    body = {"ready": ready}
    keys = state.settings.api_keys
    if not keys or auth.allows(keys, request.headers, auth.OPS_SCOPE):
        body |= {"models": models, "replicas": replicas}
    return jsonify(body), 200 if ready else 503


def model_state(backend: Backend, replica: str, name: str, stop_at: float) -> str:
    try:
        versions = backend.status(name, timeout=stop_at - time.monotonic(), replica=replica)
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


@blueprint.get(docs.DOCS_ROUTE)
def docs_route():
    return Response(gateway().docs_page, mimetype="text/html")


@blueprint.get(f"{docs.DOCS_ROUTE}/<asset>")
def docs_asset(asset: str):
    """Swagger UI's script and style, from the swagger-ui-bundle package."""
    if asset not in docs.SWAGGER_UI_ASSETS:
        raise NotFound(f"no such file: {docs.DOCS_ROUTE}/{asset}")
    return send_from_directory(swagger_ui_path, asset, max_age=86400)
