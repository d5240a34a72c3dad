"""gunicorn's workers, answering a request that gunicorn itself refuses with the gateway's JSON
error instead of its HTML page: a head it cannot parse (a bad request line, header, framing
header such as an invalid or doubled Content-Length, Content-Length with Transfer-Encoding,
bare LF, control bytes) is 400; 431 for too many or too large header fields (limit_request_fields,
100, and limit_request_field_size, 8190 bytes), 414 for a request line over limit_request_line
(4094 bytes), 501 for a transfer coding it does not implement, 417 for an Expect it does not
meet. Each is counted in /metrics and written to the access log like any answer. gunicorn
itself closes at once, so a client still sending its head (urllib, http.client) is reset
before it reads the answer; here the rest is read and discarded first
(serving/gateway/lingering.py), then the connection is closed."""

from __future__ import annotations

import contextlib
import json
from http import HTTPStatus

from gunicorn.http.errors import (
    ConfigurationProblem,
    InvalidResponseHeader,
    InvalidResponseHeaderName,
    LimitRequestHeaders,
    LimitRequestLine,
    ParseException,
    UnsupportedTransferCoding,
)
from gunicorn.http.errors import ExpectationFailed as GunicornExpectationFailed
from gunicorn.workers.ggevent import GeventWorker
from gunicorn.workers.gthread import ThreadWorker

from serving.gateway import access, metrics
from serving.gateway.errors import (
    ApiError,
    ExpectationFailed,
    HeadersTooLarge,
    InvalidInput,
    NotImplementedCoding,
    UriTooLong,
)
from serving.gateway.lingering import drain

NOT_THE_CLIENTS = (InvalidResponseHeader, InvalidResponseHeaderName, ConfigurationProblem)
"""gunicorn's ParseExceptions that are the application's or the setup's fault: its own 500."""


class JsonHeadErrors:
    """Overrides gunicorn's Worker.handle_error for the requests gunicorn refuses itself."""

    def handle_error(self, req, client, addr, exc):
        error = self.client_error(exc)
        if error is None:
            return super().handle_error(req, client, addr, exc)
        remote = (addr or ("",))[0]
        self.log.warning("Invalid request from ip=%s: %s", remote, error.message)
        metrics.REQUESTS.labels("unparsed", "-", str(error.status)).inc()
        metrics.ERRORS.labels(error.code).inc()
        access.log_access(
            getattr(req, "method", None) or "-",
            getattr(req, "path", None) or "-",
            error.status,
            route="unparsed",
            model="-",
            error=error.code,
            remote=remote,
        )
        with contextlib.suppress(OSError):
            client.sendall(answer(error))
            drain(client)
        return None

    def client_error(self, exc) -> ApiError | None:
        if isinstance(exc, LimitRequestHeaders):
            return HeadersTooLarge(
                f"request head: {exc} (at most {self.cfg.limit_request_fields} fields of "
                f"{self.cfg.limit_request_field_size} bytes)"
            )
        if isinstance(exc, LimitRequestLine):
            return UriTooLong(f"request line: {exc} (at most {self.cfg.limit_request_line} bytes)")
        if isinstance(exc, UnsupportedTransferCoding):
            return NotImplementedCoding(f"request head: {exc}")
        if isinstance(exc, GunicornExpectationFailed):
            return ExpectationFailed(f"request head: {exc}")
        if isinstance(exc, ParseException) and not isinstance(exc, NOT_THE_CLIENTS):
            return InvalidInput(f"request head: {type(exc).__name__}: {str(exc)[:200]}")
        return None


def answer(error: ApiError) -> bytes:
    body = json.dumps(error.body()).encode()
    head = (
        f"HTTP/1.1 {error.status} {HTTPStatus(error.status).phrase}\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    )
    return head.encode("latin-1") + body


def honour_connection_close(app):
    """The WSGI app, with its `Connection: close` kept. gunicorn drops hop-by-hop headers from
    an application's response and answers `Connection: keep-alive` whenever the length is
    known, so after an early 413 or 408 (body unread, connection drained, then closed) the
    client would send its next request on a connection about to close, and lose it. Here such
    a response makes gunicorn close the connection itself (`Response.force_close`, reached
    through the `start_response` it passed), so the header it sends says close (RFC 9112
    section 9.6) and clients open a new connection."""

    def closing_app(environ, start_response):
        def start(status, headers, exc_info=None):
            closes = any(
                name.lower() == "connection" and value.lower() == "close" for name, value in headers
            )
            if closes and hasattr(
                owner := getattr(start_response, "__self__", None), "force_close"
            ):
                owner.force_close()
            return start_response(status, headers, exc_info)

        return app(environ, start)

    return closing_app


class Gevent(JsonHeadErrors, GeventWorker):
    """GATEWAY_WORKER_CLASS=gevent (the default)."""


class Gthread(JsonHeadErrors, ThreadWorker):
    """GATEWAY_WORKER_CLASS=gthread."""
