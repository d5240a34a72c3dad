"""Request IDs and structured JSON logs, one line per request."""

from __future__ import annotations

import json
import logging
import re
import time
import uuid

ACCESS_LOG = logging.getLogger("seqserve.gateway.access")
ERROR_LOG = logging.getLogger("seqserve.gateway.error")
REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def request_id(offered: str | None) -> str:
    """The caller's X-Request-ID when it is a sane token, else a fresh one."""
    if offered and REQUEST_ID.match(offered):
        return offered
    return uuid.uuid4().hex


def log_access(**fields) -> None:
    ACCESS_LOG.info(json.dumps({"time": round(time.time(), 3), **fields}, separators=(",", ":")))


def log_error(request_id_value: str, message: str) -> None:
    ERROR_LOG.error(
        json.dumps(
            {"time": round(time.time(), 3), "request_id": request_id_value, "error": message}
        ),
        exc_info=True,
    )


def configure_logging(level: str = "INFO") -> None:
    """JSON lines on stderr: the message is already JSON."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(message)s"))
    root = logging.getLogger("seqserve.gateway")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False
