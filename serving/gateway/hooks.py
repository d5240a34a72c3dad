"""Around every request: a request id, security and CORS headers, metrics and the access log."""

from __future__ import annotations

import time

from flask import Flask, Response, g, request

from serving.gateway import access, metrics, passthrough
from serving.gateway.app_state import gateway
from serving.gateway.settings import GatewaySettings


def init_app(app: Flask) -> None:
    app.before_request(start)
    app.after_request(finish)


def start() -> None:
    g.tf_serving = passthrough.proxied(request.path)
    g.started = time.perf_counter()
    g.arrived = time.monotonic()
    g.request_id = access.request_id(request.headers.get("X-Request-ID"))
    g.model = "-"


def finish(response: Response) -> Response:
    response.headers["X-Request-ID"] = g.request_id
    response.headers["X-Content-Type-Options"] = "nosniff"
    add_cors_headers(gateway().settings, response)
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
