"""One place that renders every error: typed `ApiError`s, Werkzeug's HTTP errors and anything
unexpected, as `{"error": {"code", "message"}}` (or TF Serving's `{"error": "..."}` under
/v1/models/...)."""

from __future__ import annotations

from flask import Flask, Response, g, jsonify, request
from werkzeug.exceptions import HTTPException

from protocol.rest_errors import error_body
from serving.gateway import access, metrics
from serving.gateway.app_state import gateway
from serving.gateway.errors import (
    HTTP_ERRORS,
    ApiError,
    BackendUnavailable,
    InvalidInput,
    MalformedBody,
    PayloadTooLarge,
    RequestTimeout,
    TooManyRequests,
    Unauthenticated,
)
from serving.gateway.lingering import drain


def lingering(response: Response) -> Response:
    """`response`, sent at once, then a lingering close (serving/gateway/lingering.py) under
    gunicorn; a client that waits for an early answer (curl, requests) gets it at once
    either way."""
    body = response.get_data()
    client_socket = request.environ.get("gunicorn.socket")

    def send_then_drain():
        yield body
        if client_socket is not None:
            drain(client_socket)

    lingered = Response(send_then_drain(), status=response.status, headers=response.headers)
    lingered.headers["Content-Length"] = str(len(body))
    lingered.headers["Connection"] = "close"
    return lingered


def init_app(app: Flask) -> None:
    app.register_error_handler(ApiError, api_error)
    app.register_error_handler(HTTPException, http_error)
    app.register_error_handler(Exception, unexpected)


def api_error(error: ApiError) -> Response:
    metrics.ERRORS.labels(error.code).inc()
    if g.get("tf_serving"):
        body = error_body(error.message)
        response = Response(body, status=error.status, content_type="application/json")
    else:
        response = jsonify(error.body())
        response.status_code = error.status
    if isinstance(error, Unauthenticated):
        response.headers["WWW-Authenticate"] = 'Bearer realm="seqserve"'
    if isinstance(error, (TooManyRequests, BackendUnavailable)):
        response.headers["Retry-After"] = "1"
    if isinstance(error, (PayloadTooLarge, RequestTimeout, MalformedBody)):
        return lingering(response)  # the rest of the body may still come
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
        return Response(error_body(message), 500, content_type="application/json")
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
