"""`python -m serving.stack` (what `make run` ends with): model server, then gateway; SIGTERM
stops both."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from loadtest.processes import REPO, free_port, http


def test_stack_serves_through_the_gateway_and_stops_on_sigterm(models_dir, tmp_path):
    gateway_port = free_port()
    env = {
        **os.environ,
        "MODELS_DIR": str(models_dir),
        "SERVING_BACKEND": "embedded",
        "SERVING_RUN_DIR": str(tmp_path / "run"),
        "TFS_GRPC_PORT": str(free_port()),
        "TFS_REST_PORT": str(free_port()),
        "GATEWAY_PORT": str(gateway_port),
        "GATEWAY_WORKERS": "1",
    }
    log = (tmp_path / "stack.log").open("wb")
    stack = subprocess.Popen(
        [sys.executable, "-m", "serving.stack"],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{gateway_port}"
    try:
        deadline = time.monotonic() + 120
        while (
            time.monotonic() < deadline and b"Ready:" not in (tmp_path / "stack.log").read_bytes()
        ):
            assert stack.poll() is None, (tmp_path / "stack.log").read_text()
            time.sleep(0.3)
        json_type = {"Content-Type": "application/json"}
        status, body = http("POST", f"{url}/v1/sum", '{"sequences": [[1, 1]]}', headers=json_type)
        assert status == 200, body
        assert body["model"] == {"name": "sum_regressor", "version": 1}
        assert http("GET", f"{url}/readyz")[0] == 200
    finally:
        stack.send_signal(signal.SIGTERM)
        assert stack.wait(60) == 0
        log.close()
    output = (tmp_path / "stack.log").read_text()
    assert f"http://localhost:{gateway_port}/docs" in output
    try:
        http("GET", f"{url}/healthz", timeout=2)
        raise AssertionError("the gateway still answers after SIGTERM")
    except OSError:
        pass
