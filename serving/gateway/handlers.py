"""One place that renders every error: typed `ApiError`s, Werkzeug's HTTP errors and anything
unexpected, as `{"error": {"code", "message"}}` (or TF Serving's `{"error": "..."}` under
/v1/models/...)."""

from __future__ import annotations

from flask import Flask, Response, g, jsonify, request
from werkzeug.exceptions import HTTPException

from serving.gateway import access, metrics, passthrough
from serving.gateway.errors import (
    HTTP_ERRORS,
    ApiError,
    BackendUnavailable,
    InvalidInput,
    TooManyRequests,
    Unauthenticated,
)
from serving.gateway.extension import gateway


def init_app(app: Flask) -> None:
    app.register_error_handler(ApiError, api_error)
    app.register_error_handler(HTTPException, http_error)
    app.register_error_handler(Exception, unexpected)


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
    if isinstance(error, (TooManyRequests, BackendUnavailable)):
        response.headers["Retry-After"] = "1"
    return response


def http_error(error: HTTPException) -> Response:
    error_class = HTTP_ERRORS.get(error.code, InvalidInput)
    response = api_error(error_class(framework_message(error)))
    if error.code == 405:
        response.headers["Allow"] = ", ".join(error.valid_methods or ())
    return response


def unexpected(error: Exception):
    access.log_error(g.get("request_id", "-"), repr(error))
    metrics.ERRORS.labels("internal").inc()
    message = "internal error; see the gateway log"
    if g.get("tf_serving"):
        return Response(passthrough.error_body(message), 500, content_type="application/json")
    return jsonify({"error": {"code": "internal", "message": message}}), 500


def framework_message(error: HTTPException) -> str:
    if error.code == 404:
        return f"no route {request.method} {request.path}; see /openapi.json"
    if error.code == 405:
        allowed = ", ".join(sorted(set(error.valid_methods or ()) - {"HEAD", "OPTIONS"}))
        return f"method {request.method} not allowed on {request.path}; allowed: {allowed}"
    if error.code == 413:
        return f"body: larger than the limit of {gateway().settings.max_body_bytes} bytes"
    return f"{error.name}: {error.description}"
