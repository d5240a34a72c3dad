"""Request IDs and the per-request log line (written by serving.logs' formatter: JSON by
default, so each field below is a JSON field)."""

from __future__ import annotations

import logging
import re
import uuid

ACCESS_LOG = logging.getLogger("seqserve.gateway.access")
ERROR_LOG = logging.getLogger("seqserve.gateway.error")
REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def request_id(offered: str | None) -> str:
    """The caller's X-Request-ID when it is a sane token, else a fresh one."""
    if offered and REQUEST_ID.match(offered):
        return offered
    return uuid.uuid4().hex


def log_access(method: str, path: str, status: int, **fields) -> None:
    ACCESS_LOG.info(
        "%s %s %d",
        method,
        path,
        status,
        extra={"method": method, "path": path, "status": status, **fields},
    )


def log_error(request_id_value: str, message: str) -> None:
    """An unexpected error while answering a request, with its traceback as a field."""
    ERROR_LOG.error(message, exc_info=True, extra={"request_id": request_id_value})
