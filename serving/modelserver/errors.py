"""Typed errors that carry their status, and the one table from status to gRPC code."""

from __future__ import annotations

import grpc


class ServingError(Exception):
    """Base class: `http_status` for REST, `grpc_code` for gRPC, the message for both."""

    http_status = 500
    grpc_code = grpc.StatusCode.INTERNAL


class InvalidArgument(ServingError):
    http_status = 400
    grpc_code = grpc.StatusCode.INVALID_ARGUMENT


class NotFound(ServingError):
    http_status = 404
    grpc_code = grpc.StatusCode.NOT_FOUND


class FailedPrecondition(ServingError):
    http_status = 400
    grpc_code = grpc.StatusCode.FAILED_PRECONDITION


class Unavailable(ServingError):
    http_status = 503
    grpc_code = grpc.StatusCode.UNAVAILABLE


class DeadlineExceeded(ServingError):
    http_status = 504
    grpc_code = grpc.StatusCode.DEADLINE_EXCEEDED


class ResourceExhausted(ServingError):
    http_status = 429
    grpc_code = grpc.StatusCode.RESOURCE_EXHAUSTED
