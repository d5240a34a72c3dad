"""serving/logs.py: every process writes one JSON object per line, tracebacks included; the
stack relays the model server's native lines in the same format; LOG_FORMAT=text for people."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from serving.processes import REPO, free_port

pytestmark = pytest.mark.unit
FIELDS = {"time", "level", "logger", "message"}


def run_python(code: str, stdin: bytes = b"", **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code],
        input=stdin,
        capture_output=True,
        cwd=REPO,
        env={**os.environ, **env},
        timeout=60,
    )


def json_lines(text: bytes) -> list[dict]:
    """Every line as a JSON object with the common fields; fails on any line that is not."""
    records = [json.loads(line) for line in text.decode().splitlines() if line.strip()]
    assert all(isinstance(record, dict) and record.keys() >= FIELDS for record in records)
    return records


def test_a_record_carries_its_extra_fields_and_an_uncaught_exception_its_traceback():
    done = run_python(
        "import logging; from serving import logs; logs.configure()\n"
        "logging.getLogger('seqserve.gateway.access').info('GET / 200', "
        "extra={'request_id': 'abc', 'status': 200})\n"
        "raise RuntimeError('the cause')",
        LOG_FORMAT="json",
    )
    access, uncaught = json_lines(done.stderr)
    assert access["request_id"] == "abc" and access["status"] == 200
    assert access["time"].endswith("Z") and access["level"] == "INFO"
    assert uncaught["level"] == "CRITICAL"
    assert uncaught["exception"].startswith("Traceback (most recent call last):")
    assert "RuntimeError: the cause" in uncaught["exception"]


def test_native_lines_are_relayed_as_records_at_the_level_their_prefix_names():
    native = (
        b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
        b"I0000 00:00:1795463721.205507    3566 cudart_stub.cc:31] Could not find cuda drivers\n"
        b"E0000 00:00:1795463726.669608    3566 cuda_platform.cc:52] failed call to cuInit\n"
        b"F0000 00:00:1795463726.669608    3566 check.cc:1] Check failed: x\n"
        b'{"time": "t", "level": "INFO", "logger": "serving.modelserver", "message": "json"}\n'
        b"a line with no prefix\n\n"
    )
    done = run_python(
        "import sys; from serving import logs; logs.configure()\n"
        "logs.relay(sys.stdin.buffer, 'model server')",
        stdin=native,
        LOG_FORMAT="json",
    )
    records = json_lines(done.stderr)
    assert [record["level"] for record in records] == [
        "WARNING",
        "INFO",
        "ERROR",
        "CRITICAL",
        "INFO",
        "INFO",
    ]
    assert records[4] == json.loads(native.splitlines()[4])
    assert records[2]["logger"] == "model server"
    assert records[2]["message"].endswith("failed call to cuInit")


def test_log_format_text_is_for_people_and_an_unknown_format_is_refused():
    text = run_python(
        "import logging; from serving import logs; logs.configure()\n"
        "logging.getLogger('serving.stack').warning('plain')",
        LOG_FORMAT="text",
    )
    assert text.stderr.decode().rstrip().endswith("WARNING serving.stack: plain")
    wrong = run_python("from serving import logs; logs.configure()", LOG_FORMAT="xml")
    assert wrong.returncode != 0
    assert "LOG_FORMAT='xml': expected one of json, text" in wrong.stderr.decode()


def test_gunicorn_logs_a_worker_that_cannot_boot_as_json_with_the_traceback(tmp_path):
    """gunicorn's own logger (gunicorn.error) writes through the same formatter: a worker whose
    app fails to import (here: a TLS CA file that is not there) is one JSON record with the
    traceback, and the master's lines around it are JSON too."""
    gateway = subprocess.run(
        [sys.executable, "-m", "serving.gateway"],
        capture_output=True,
        cwd=REPO,
        env={
            **os.environ,
            "LOG_FORMAT": "json",
            "GATEWAY_PORT": str(free_port()),
            "GATEWAY_WORKERS": "1",
            "TFS_TLS_CA": str(tmp_path / "missing-ca.pem"),
        },
        timeout=60,
    )
    assert gateway.returncode != 0
    assert gateway.stdout == b""
    records = json_lines(gateway.stderr)
    assert {record["logger"] for record in records} >= {"gunicorn.error"}
    failures = [record for record in records if "exception" in record]
    assert failures, records
    assert "missing-ca.pem" in failures[0]["exception"]
