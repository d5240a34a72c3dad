"""Drive an HTTP endpoint with `wrk` (closed loop, keep-alive, C threads) and parse its report."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

POST_SCRIPT = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local file = io.open("{body}", "rb")
wrk.body = file:read("*a")
file:close()
"""
UNITS_MS = {"us": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def available() -> bool:
    return shutil.which("wrk") is not None


def run(url: str, body: bytes, connections: int, seconds: float, threads: int = 2) -> dict:
    """requests/s, p50/p99 in ms and failures (non-2xx, socket errors) of one wrk run."""
    with tempfile.TemporaryDirectory() as tmp:
        body_path, script = Path(tmp) / "body.json", Path(tmp) / "post.lua"
        body_path.write_bytes(body)
        script.write_text(POST_SCRIPT.format(body=body_path))
        command = [
            "wrk",
            f"-t{min(threads, connections)}",
            f"-c{connections}",
            f"-d{seconds:.0f}s",
            "--timeout",
            "30s",
            "--latency",
            "-s",
            str(script),
            url,
        ]
        report = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    return parse(report, seconds)


def parse(report: str, seconds: float) -> dict:
    requests = int(re.search(r"(\d+) requests in", report)[1])
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", report)
    errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", report
    )
    failures = (int(non_2xx[1]) if non_2xx else 0) + (
        sum(int(x) for x in errors.groups()) if errors else 0
    )
    return {
        "requests": requests - failures,
        "failures": failures,
        "requests_per_second": round(float(re.search(r"Requests/sec:\s+([\d.]+)", report)[1]), 1),
        "p50_ms": _latency(report, "50%"),
        "p99_ms": _latency(report, "99%"),
    }


def _latency(report: str, percentile: str) -> float:
    match = re.search(rf"^\s+{percentile}\s+([\d.]+)(us|ms|s|m)\s*$", report, re.MULTILINE)
    return round(float(match[1]) * UNITS_MS[match[2]], 2)
