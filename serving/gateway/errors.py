"""Typed API errors: each carries its HTTP status and a stable code; one handler renders them as
`{"error": {"code": ..., "message": ...}}`."""

from __future__ import annotations

import grpc


class ApiError(Exception):
    """An error the gateway answers; the class's docstring is its description in the OpenAPI
    document and the documentation's error table."""

    status = 500
    code = "internal"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def body(self) -> dict:
        return {"error": {"code": self.code, "message": self.message}}


class InvalidInput(ApiError):
    """Invalid input: wrong type, length or shape, NaN/Infinity, an out-of-range value, an empty
    or oversized batch, an unknown field or query parameter, bad JSON, a key repeated in one
    object, an undecodable image, a request head gunicorn cannot parse; the message names the
    field and what was expected."""

    status, code = 400, "invalid_argument"


class MalformedBody(InvalidInput):
    """The body's framing is broken (a bad chunk size or terminator, a chunk extension or
    trailers past gunicorn's limits): answered, then the connection is closed, since where the
    next request would start is unknown."""


class Unauthenticated(ApiError):
    """API keys are configured and none, or an unknown one, was sent."""

    status, code = 401, "unauthenticated"


class Forbidden(ApiError):
    """The API key may not call this route (its scopes do not include it)."""

    status, code = 403, "permission_denied"


class NotFound(ApiError):
    """Unknown model, version or label, or no such route."""

    status, code = 404, "not_found"


class MethodNotAllowed(ApiError):
    """The route does not answer this method (`Allow` lists those it does)."""

    status, code = 405, "method_not_allowed"


class RequestTimeout(ApiError):
    """The body stopped arriving (no bytes for GATEWAY_BODY_TIMEOUT_S) or was not whole within
    the request's deadline."""

    status, code = 408, "request_timeout"


class PayloadTooLarge(ApiError):
    """The body is over GATEWAY_MAX_BODY_BYTES."""

    status, code = 413, "payload_too_large"


class UriTooLong(ApiError):
    """The request line is over 4,094 bytes (gunicorn's limit)."""

    status, code = 414, "uri_too_long"


class UnsupportedMediaType(ApiError):
    """The body is not `application/json` (or, for an image upload, `multipart/form-data`)."""

    status, code = 415, "unsupported_media_type"


class ExpectationFailed(ApiError):
    """An `Expect` header gunicorn does not meet."""

    status, code = 417, "expectation_failed"


class TooManyRequests(ApiError):
    """This gateway worker has GATEWAY_MAX_IN_FLIGHT requests in flight and no slot frees
    within what is left of the deadline (with `Retry-After`): the gateway's own limit."""

    status, code = 429, "resource_exhausted"


class HeadersTooLarge(ApiError):
    """Over 100 header fields, or one over 8,190 bytes (gunicorn's limits)."""

    status, code = 431, "request_header_fields_too_large"


class NotImplementedCoding(ApiError):
    """A Transfer-Encoding other than chunked (RFC 9112 section 6.1)."""

    status, code = 501, "unimplemented"


class BackendError(ApiError):
    """The model server failed in a way no client input explains."""

    status, code = 502, "backend_error"


class BackendUnavailable(ApiError):
    """The model server is unreachable or its batch queue is full: a busy backend, answered
    within the deadline, with `Retry-After`."""

    status, code = 503, "unavailable"


class BackendTimeout(ApiError):
    """The request's deadline (GATEWAY_DEADLINE_S, or a shorter `grpc-timeout` header) passed
    before the model server answered."""

    status, code = 504, "deadline_exceeded"


HTTP_ERRORS: dict[int, type[ApiError]] = {
    error.status: error
    for error in (
        InvalidInput,
        Unauthenticated,
        Forbidden,
        NotFound,
        MethodNotAllowed,
        RequestTimeout,
        PayloadTooLarge,
        UriTooLong,
        UnsupportedMediaType,
        ExpectationFailed,
        TooManyRequests,
        HeadersTooLarge,
        NotImplementedCoding,
        BackendError,
        BackendUnavailable,
        BackendTimeout,
    )
}
"""HTTP status → error class, for statuses raised by the framework or returned by TF Serving."""

GRPC_ERRORS: dict[grpc.StatusCode, type[ApiError]] = {
    grpc.StatusCode.INVALID_ARGUMENT: InvalidInput,
    grpc.StatusCode.OUT_OF_RANGE: InvalidInput,
    grpc.StatusCode.FAILED_PRECONDITION: InvalidInput,
    grpc.StatusCode.NOT_FOUND: NotFound,
    grpc.StatusCode.RESOURCE_EXHAUSTED: TooManyRequests,
    grpc.StatusCode.UNAVAILABLE: BackendUnavailable,
    grpc.StatusCode.DEADLINE_EXCEEDED: BackendTimeout,
}
"""The one table from the model server's gRPC codes to ours; anything else is a BackendError."""


UNKNOWN_LABEL = "Unrecognized servable version label"
"""How TF Serving words an unknown label, as INVALID_ARGUMENT (server_core.cc,
GetModelVersionForLabel; http_rest_api_handler_test.cc matches it)."""


def from_grpc(code: grpc.StatusCode, details: str) -> ApiError:
    """Our error for the model server's; an unknown label names a version that is not there,
    so the gateway's routes call it not found, as they do an unknown version."""
    error_class = GRPC_ERRORS.get(code, BackendError)
    if code == grpc.StatusCode.INVALID_ARGUMENT and details.startswith(UNKNOWN_LABEL):
        error_class = NotFound
    return error_class(f"model server: {details or code.name}")


def from_http(status: int, message: str) -> ApiError:
    if status >= 500 and status not in HTTP_ERRORS:
        return BackendError(message)
    return HTTP_ERRORS.get(status, InvalidInput)(message)


def described(error: type[ApiError]) -> str:
    """The error class's docstring as one line."""
    return " ".join((error.__doc__ or "").split())
