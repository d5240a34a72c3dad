"""The client library's one exception family. Every failure a client call can raise is a
`ServingClientError` carrying the gRPC status code and the HTTP status that mean it (the
pairs are gRPC's own mapping, doc/http-grpc-status-mapping.md, and TF Serving's REST server,
tensorflow_serving/model_servers/http_server.cc); the subclass says which kind, so an
application catches `InvalidInput` or `Unavailable` without comparing codes. Input the library
can check itself is refused before anything is sent, with the field named."""

from __future__ import annotations

from typing import ClassVar

import grpc


class ServingClientError(Exception):
    """A call that failed; `code` is its gRPC status code, `http_status` the HTTP status that
    means the same, `details` the server's (or the library's) message."""

    grpc_code: ClassVar[grpc.StatusCode] = grpc.StatusCode.UNKNOWN

    def __init__(self, details: str, code: grpc.StatusCode | None = None):
        self.code = code or self.grpc_code
        self.details = details
        super().__init__(f"{self.code.name}: {details}")

    @property
    def http_status(self) -> int:
        return HTTP_STATUS.get(self.code, 500)


class InvalidInput(ServingClientError, ValueError):
    """The request's input is wrong: refused by the library before sending (the field named),
    or by the server. Also a `ValueError`."""

    grpc_code = grpc.StatusCode.INVALID_ARGUMENT


class NotFound(ServingClientError):
    """No such model, version or label."""

    grpc_code = grpc.StatusCode.NOT_FOUND


class Unavailable(ServingClientError):
    """The server cannot be reached, or is not serving (retried already, within the deadline)."""

    grpc_code = grpc.StatusCode.UNAVAILABLE


class DeadlineExceeded(ServingClientError, TimeoutError):
    """No answer within the call's timeout. Also a `TimeoutError`."""

    grpc_code = grpc.StatusCode.DEADLINE_EXCEEDED


class Overloaded(ServingClientError):
    """The server refused the call for lack of room (its queue is full); try again later."""

    grpc_code = grpc.StatusCode.RESOURCE_EXHAUSTED


class Unauthenticated(ServingClientError):
    """No valid credentials (an API key, for the gateway)."""

    grpc_code = grpc.StatusCode.UNAUTHENTICATED


class PermissionDenied(ServingClientError):
    """Credentials valid, but not for this call."""

    grpc_code = grpc.StatusCode.PERMISSION_DENIED


class Cancelled(ServingClientError):
    """The call was cancelled: its client was closed while it was pending."""

    grpc_code = grpc.StatusCode.CANCELLED


class ClientClosed(ServingClientError, RuntimeError):
    """A call on a client after `close()` (or after its `with` block)."""

    grpc_code = grpc.StatusCode.FAILED_PRECONDITION


class ServerError(ServingClientError):
    """Anything else the server answered (INTERNAL, UNKNOWN, UNIMPLEMENTED, ...)."""

    grpc_code = grpc.StatusCode.INTERNAL


HTTP_STATUS = {
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.FAILED_PRECONDITION: 400,
    grpc.StatusCode.OUT_OF_RANGE: 400,
    grpc.StatusCode.UNAUTHENTICATED: 401,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.ABORTED: 409,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
    grpc.StatusCode.CANCELLED: 499,
    grpc.StatusCode.UNIMPLEMENTED: 501,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DEADLINE_EXCEEDED: 504,
}

BY_CODE: dict[grpc.StatusCode, type[ServingClientError]] = {
    kind.grpc_code: kind
    for kind in (
        InvalidInput,
        NotFound,
        Unavailable,
        DeadlineExceeded,
        Overloaded,
        Unauthenticated,
        PermissionDenied,
        Cancelled,
    )
}
BY_HTTP_STATUS: dict[int, type[ServingClientError]] = {
    400: InvalidInput,
    401: Unauthenticated,
    403: PermissionDenied,
    404: NotFound,
    408: DeadlineExceeded,
    413: InvalidInput,
    415: InvalidInput,
    422: InvalidInput,
    429: Overloaded,
    503: Unavailable,
    504: DeadlineExceeded,
}


def from_grpc(code: grpc.StatusCode, details: str) -> ServingClientError:
    """The family member for a gRPC status."""
    return BY_CODE.get(code, ServerError)(details, code)


def from_http(status: int, details: str) -> ServingClientError:
    """The family member for an HTTP status (the gateway's answers)."""
    kind = BY_HTTP_STATUS.get(status, ServerError)
    code = next((code for code, http in HTTP_STATUS.items() if http == status), None)
    return kind(details, code if code is not None else kind.grpc_code)
