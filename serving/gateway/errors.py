"""Typed API errors: each carries its HTTP status and a stable code; one handler renders them as
`{"error": {"code": ..., "message": ...}}`."""

from __future__ import annotations

import grpc


class ApiError(Exception):
    status = 500
    code = "internal"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def body(self) -> dict:
        return {"error": {"code": self.code, "message": self.message}}


class InvalidInput(ApiError):
    status, code = 400, "invalid_argument"


class MalformedBody(InvalidInput):
    """The body's framing is broken (a bad chunk size or terminator, a chunk extension or
    trailers past gunicorn's limits): answered, then the connection is closed, since where the
    next request would start is unknown."""


class Unauthenticated(ApiError):
    status, code = 401, "unauthenticated"


class Forbidden(ApiError):
    status, code = 403, "permission_denied"


class NotFound(ApiError):
    status, code = 404, "not_found"


class MethodNotAllowed(ApiError):
    status, code = 405, "method_not_allowed"


class RequestTimeout(ApiError):
    status, code = 408, "request_timeout"


class PayloadTooLarge(ApiError):
    status, code = 413, "payload_too_large"


class UriTooLong(ApiError):
    status, code = 414, "uri_too_long"


class UnsupportedMediaType(ApiError):
    status, code = 415, "unsupported_media_type"


class ExpectationFailed(ApiError):
    status, code = 417, "expectation_failed"


class TooManyRequests(ApiError):
    status, code = 429, "resource_exhausted"


class HeadersTooLarge(ApiError):
    status, code = 431, "request_header_fields_too_large"


class NotImplementedCoding(ApiError):
    """A Transfer-Encoding other than chunked: 501, as RFC 9112 section 6.1 says."""

    status, code = 501, "unimplemented"


class BackendError(ApiError):
    """The model server failed in a way no client input explains."""

    status, code = 502, "backend_error"


class BackendUnavailable(ApiError):
    status, code = 503, "unavailable"


class BackendTimeout(ApiError):
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
