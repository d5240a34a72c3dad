"""The gateway's Flask app: routes parse and validate, the backend calls the model server, one
task module per model maps JSON to tensors and back, and one handler renders every error."""

from __future__ import annotations

import functools
import json
import time
from urllib.parse import quote

from flask import Flask, Response, current_app, g, jsonify, request
from werkzeug.exceptions import HTTPException

from serving.gateway import access, auth, docs, metrics, passthrough, validation
from serving.gateway.admission import Admission
from serving.gateway.backend import Backend, Pin
from serving.gateway.errors import (
    HTTP_ERRORS,
    ApiError,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    TooManyRequests,
    Unauthenticated,
    UnsupportedMediaType,
)
from serving.gateway.settings import GatewaySettings
from serving.gateway.tasks import Task, digits, forecasts, sums

READY_TIMEOUT_S = 1.0
PIN_FIELDS = ("version", "label")


def create_app(settings: GatewaySettings, backend: Backend | None = None) -> Flask:
    """The app; `backend` defaults to a real one for `settings` (tests pass a fake)."""
    app = Flask(__name__, static_folder="static", static_url_path="/static")
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.json.sort_keys = False
    backend = backend or Backend(settings)
    app.extensions["backend"] = backend
    admission = Admission(settings.max_in_flight, settings.deadline_s)
    spec = docs.openapi(settings)
    docs_page = docs.html(spec)

    def guarded(scope):
        """API key check (when keys are configured), then a slot in this worker. `scope` is a
        name, or a function of the request that gives one."""

        def wrap(view):
            @functools.wraps(view)
            def run(*args, **kwargs):
                if settings.api_keys:
                    needed = scope() if callable(scope) else scope
                    auth.authorize(settings.api_keys, request.headers, needed)
                with admission.slot():
                    return view(*args, **kwargs)

            return run

        return wrap

    def run_task(task: Task, body: dict) -> Response:
        validation.only_fields(body, (*task.fields, *PIN_FIELDS))
        pin = pin_of(body)
        g.model = task.model
        call = task.build(body, {"explain": request.args.get("explain")}, settings)
        prediction = backend.predict(
            task.model, call.inputs, call.signature, pin, call.output_filter
        )
        answer = task.render(call, prediction)
        answer["model"] = {"name": prediction.model, "version": prediction.version}
        if pin.label:
            answer["model"]["label"] = pin.label
        return jsonify(answer)

    @app.post("/v1/sum")
    @guarded("sum")
    def sum_route():
        return run_task(sums, json_body())

    @app.post("/v1/digits")
    @guarded("digits")
    def digits_route():
        if request.args.get("explain") not in (None, "rows"):
            raise InvalidInput(f"explain: expected 'rows', got {request.args['explain']!r}")
        if request.mimetype == "multipart/form-data":
            return run_task(digits, {"images": [uploaded_image()]})
        return run_task(digits, json_body())

    @app.post("/v1/forecast")
    @guarded("forecast")
    def forecast_route():
        return run_task(forecasts, json_body())

    @app.route("/v1/models/<path:target>", methods=["GET", "POST"])
    @guarded(lambda: passthrough.scope(request.method))
    def tf_serving_route(target: str):
        name = passthrough.model_name(target)
        g.model = name if name in settings.models else "other"
        body = raw_body() if request.method == "POST" else b""
        return passthrough.forward(backend, request.method, raw_path(), body, request.content_type)

    @app.get("/v1/models")
    @guarded("models")
    def models_route():
        listed = []
        for name in settings.models:
            try:
                versions = backend.status(name)
            except NotFound as error:
                listed.append({"name": name, "versions": [], "error": error.message})
                continue
            listed.append({"name": name, "versions": [version_json(v) for v in versions]})
        return jsonify({"models": listed})

    @app.get("/")
    def page():
        return app.send_static_file("index.html")

    @app.get("/healthz")
    def healthz():
        return jsonify({"status": "ok"})

    @app.get("/readyz")
    def readyz():
        states = {}
        for name in settings.models:
            try:
                versions = backend.status(name, timeout=READY_TIMEOUT_S)
                available = [v.version for v in versions if v.state == "AVAILABLE"]
                states[name] = "AVAILABLE" if available else "not available"
            except ApiError as error:
                states[name] = error.message
        ready = all(state == "AVAILABLE" for state in states.values())
        return jsonify({"ready": ready, "models": states}), 200 if ready else 503

    @app.get("/metrics")
    def metrics_route():
        body, content_type = metrics.exposition()
        return Response(body, content_type=content_type)

    @app.get("/openapi.json")
    def openapi_route():
        return jsonify(spec)

    @app.get("/docs")
    def docs_route():
        return Response(docs_page, mimetype="text/html")

    @app.before_request
    def start():
        g.tf_serving = request.path.startswith("/v1/models/")
        g.started = time.perf_counter()
        g.request_id = access.request_id(request.headers.get("X-Request-ID"))
        g.model = "-"

    @app.after_request
    def finish(response: Response) -> Response:
        response.headers["X-Request-ID"] = g.request_id
        response.headers["X-Content-Type-Options"] = "nosniff"
        add_cors_headers(settings, response)
        seconds = time.perf_counter() - g.started
        route = request.url_rule.rule if request.url_rule else "unmatched"
        status = str(response.status_code)
        metrics.REQUESTS.labels(route, g.model, status).inc()
        metrics.REQUEST_SECONDS.labels(route, g.model, status).observe(seconds)
        access.log_access(
            request_id=g.request_id,
            method=request.method,
            path=request.path,
            route=route,
            model=g.model,
            status=response.status_code,
            duration_ms=round(seconds * 1000, 2),
            bytes_in=request.content_length or 0,
            remote=request.remote_addr,
        )
        return response

    @app.errorhandler(ApiError)
    def api_error(error: ApiError) -> Response:
        metrics.ERRORS.labels(error.code).inc()
        if g.get("tf_serving"):
            body = passthrough.error_body(error.message)
            response = Response(body, status=error.status, content_type="application/json")
        else:
            response = jsonify(error.body())
            response.status_code = error.status
        if isinstance(error, Unauthenticated):
            response.headers["WWW-Authenticate"] = 'Bearer realm="seqserve"'
        if isinstance(error, TooManyRequests):
            response.headers["Retry-After"] = "1"
        return response

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response:
        error_class = HTTP_ERRORS.get(error.code, InvalidInput)
        response = api_error(error_class(framework_message(error, settings)))
        if error.code == 405:
            response.headers["Allow"] = ", ".join(error.valid_methods or ())
        return response

    @app.errorhandler(Exception)
    def unexpected(error: Exception):
        access.log_error(g.get("request_id", "-"), repr(error))
        metrics.ERRORS.labels("internal").inc()
        message = "internal error; see the gateway log"
        if g.get("tf_serving"):
            return Response(passthrough.error_body(message), 500, content_type="application/json")
        return jsonify({"error": {"code": "internal", "message": message}}), 500

    return app


def json_body() -> dict:
    if not request.is_json:
        raise UnsupportedMediaType(
            f"expected Content-Type: application/json, got {request.mimetype or 'none'}"
        )
    try:
        body = json.loads(raw_body())
    except (ValueError, RecursionError) as error:
        raise InvalidInput(f"body: not valid JSON ({error})") from None
    if not isinstance(body, dict):
        raise InvalidInput(f"body: expected a JSON object, got {validation.describe(body)}")
    return body


def raw_body() -> bytes:
    """The request body, read once; a chunked body (no Content-Length) over the limit is 413
    too (Werkzeug enforces the limit itself when the length is declared)."""
    if "raw_body" not in g:
        limit = current_app.config["MAX_CONTENT_LENGTH"]
        if request.content_length is None:
            data = request.environ["wsgi.input"].read(limit + 1)
            if len(data) > limit:
                raise PayloadTooLarge(f"body: larger than the limit of {limit} bytes")
            g.raw_body = data
        else:
            g.raw_body = request.get_data()
    return g.raw_body


def raw_path() -> str:
    """The path as the client sent it (percent-escapes intact), for the model server to parse."""
    raw = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI")
    if raw:
        return raw.split("?", 1)[0]
    return quote(request.path, safe="/:@!$&'()*+,;=", errors="surrogateescape")


def uploaded_image() -> bytes:
    files = list(request.files.values())
    if len(files) != 1:
        raise InvalidInput(f"multipart body: expected exactly 1 image file, got {len(files)}")
    return files[0].read()


def pin_of(body: dict) -> Pin:
    """Version or label from the body or the query string; never both. In the body a version
    is a JSON integer, as the OpenAPI document says; in the query string, digits."""
    version = body.get("version")
    if version is None and (query := request.args.get("version")) is not None:
        version = int(query) if query.isdigit() else query
    label = body.get("label", request.args.get("label"))
    if version is not None and label is not None:
        raise InvalidInput("version, label: give one or the other, not both")
    if version is not None:
        return Pin(version=validation.integer(version, "version", 1, 2**63 - 1))
    if label is not None:
        return Pin(label=validation.label(label, "label"))
    return Pin()


def version_json(state) -> dict:
    item = {"version": state.version, "state": state.state}
    if state.error:
        item["error"] = state.error
    return item


def framework_message(error: HTTPException, settings: GatewaySettings) -> str:
    if error.code == 404:
        return f"no route {request.method} {request.path}; see /openapi.json"
    if error.code == 405:
        allowed = ", ".join(sorted(set(error.valid_methods or ()) - {"HEAD", "OPTIONS"}))
        return f"method {request.method} not allowed on {request.path}; allowed: {allowed}"
    if error.code == 413:
        return f"body: larger than the limit of {settings.max_body_bytes} bytes"
    return f"{error.name}: {error.description}"


def add_cors_headers(settings: GatewaySettings, response: Response) -> None:
    origin = request.headers.get("Origin")
    if not origin or not settings.cors_origins:
        return
    if "*" in settings.cors_origins:
        response.headers["Access-Control-Allow-Origin"] = "*"
    elif origin in settings.cors_origins:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Vary"] = "Origin"
    else:
        return
    response.headers["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
    response.headers["Access-Control-Allow-Headers"] = (
        "Content-Type, X-Request-ID, Authorization, X-API-Key"
    )
    response.headers["Access-Control-Expose-Headers"] = "X-Request-ID"
