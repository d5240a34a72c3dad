"""Stopping a child process the way an operator would: SIGTERM, a grace period, then SIGKILL."""

from __future__ import annotations

import subprocess


def terminate(process: subprocess.Popen, grace_s: float = 30.0) -> int:
    """Stop `process` (if it still runs) and return its exit status."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(grace_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.returncode
