"""One log format for every process the project runs (model server, gateway and its gunicorn
master, stack): a JSON object per line on stderr, written by python-json-logger, with the
exception as a field so a traceback never breaks a line. LOG_FORMAT=text gives the classic
one-line text for people at a terminal.

Fields: time (ISO 8601, UTC), level, logger, message, the exception where there is one, and
whatever the caller passes in `extra` (the gateway's request_id, status, duration_ms...).
"""

from __future__ import annotations

import io
import json
import logging
import logging.config
import os
import re
import sys
import threading
import time
from typing import BinaryIO

FORMATS = ("json", "text")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
JSON_FIELDS = "%(asctime)s %(levelname)s %(name)s %(message)s"
RENAMED = {"asctime": "time", "levelname": "level", "name": "logger", "exc_info": "exception"}
NATIVE_LEVEL = re.compile(r"^(?:([IWEF])\d{4} |(WARNING|ERROR|FATAL)\b)")
"""The level of a native (C++) line: absl/glog's one-letter prefix (I0000 00:00:...), or a
bare WARNING:/ERROR: as absl prints before it is initialized."""
LEVELS = {"I": logging.INFO, "W": logging.WARNING, "E": logging.ERROR, "F": logging.CRITICAL}
"""By the prefix's first letter (glog's I/W/E/F, or WARNING/ERROR/FATAL)."""


def log_format() -> str:
    """LOG_FORMAT, "json" unless set; an unknown value is refused at start, not guessed."""
    value = (os.environ.get("LOG_FORMAT") or "json").strip().lower()
    if value not in FORMATS:
        raise SystemExit(f"LOG_FORMAT={value!r}: expected one of {', '.join(FORMATS)}")
    return value


def formatter() -> logging.Formatter:
    """The formatter every handler uses; dictConfig builds it by this name."""
    if log_format() == "text":
        return logging.Formatter(TEXT_FORMAT)
    from pythonjsonlogger.json import JsonFormatter  # only the JSON format needs it

    json_formatter = JsonFormatter(JSON_FIELDS, rename_fields=RENAMED)
    json_formatter.default_msec_format = "%s.%03dZ"
    json_formatter.converter = time.gmtime
    json_formatter.default_time_format = "%Y-%m-%dT%H:%M:%S"
    return json_formatter


def dict_config(level: str = "INFO") -> dict:
    """The logging configuration as a dictConfig dict: what gunicorn's logconfig_dict takes, so
    its own loggers (gunicorn.error, gunicorn.access) write through the same formatter."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"seqserve": {"()": "serving.logs.formatter"}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "seqserve",
                "stream": "ext://sys.__stderr__",
            }
        },
        "root": {"level": level, "handlers": ["stderr"]},
        "loggers": {
            "gunicorn.error": {"level": level, "handlers": [], "propagate": True},
            # the gateway writes its own access line, with the request id
            "gunicorn.access": {"level": "WARNING", "handlers": [], "propagate": True},
        },
    }


def configure(level: str = "INFO") -> None:
    """Route every logger of this process through one stderr handler in LOG_FORMAT. In JSON,
    an uncaught exception (main thread or any other) is one record with its traceback, and
    text that code prints to sys.stderr (gunicorn's worker-boot error, a library's stray
    print) becomes one record per line, so no line breaks the format."""
    logging.config.dictConfig(dict_config(level))
    if log_format() == "json":
        sys.excepthook = _log_uncaught
        threading.excepthook = lambda hook: _log_uncaught(
            hook.exc_type, hook.exc_value, hook.exc_traceback
        )
        sys.stderr = StderrRecords(logging.getLogger("stderr"))


def _log_uncaught(kind, error, traceback) -> None:
    logging.getLogger("uncaught").critical(
        "uncaught %s", kind.__name__, exc_info=(kind, error, traceback)
    )


class StderrRecords(io.TextIOBase):
    """sys.stderr as a writer of log records, one per line (the handler itself writes to
    sys.__stderr__, the real stream, so nothing loops)."""

    def __init__(self, log: logging.Logger):
        self._log = log
        self._partial = ""

    def write(self, text: str) -> int:
        *lines, self._partial = (self._partial + text).split("\n")
        for line in lines:
            if line.strip():
                self._log.warning(line)
        return len(text)

    def flush(self) -> None:
        if self._partial.strip():
            self._log.warning(self._partial)
        self._partial = ""

    def fileno(self) -> int:
        return sys.__stderr__.fileno()


def relay(stream: BinaryIO, logger_name: str) -> None:
    """Copy a child's stderr into this process's log: lines that are already JSON objects
    pass as they are; any other line (TensorFlow's C++ logging, which Python's logging never
    sees) becomes a record of `logger_name` at the level its prefix names. Returns at EOF."""
    log = logging.getLogger(logger_name)
    for raw in stream:
        line = raw.decode(errors="replace").rstrip("\r\n")
        if not line:
            continue
        if _is_json_object(line):
            sys.__stderr__.write(line + "\n")
            sys.__stderr__.flush()
            continue
        prefix = NATIVE_LEVEL.match(line)
        level = LEVELS[(prefix.group(1) or prefix.group(2))[0]] if prefix else logging.INFO
        log.log(level, line)


def _is_json_object(line: str) -> bool:
    if not line.startswith("{"):
        return False
    try:
        return isinstance(json.loads(line), dict)
    except ValueError:
        return False
