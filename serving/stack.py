"""`python -m serving.stack` (end of `make run`): the model server and the gateway in front of
it, started in order, stopped together.

The model server comes from `serving.launcher` (same SERVING_BACKEND choice and flags); the
gateway starts once every model is AVAILABLE and runs under gunicorn on GATEWAY_PORT (8000).
SIGINT/SIGTERM stop both (gateway first, so nothing in flight loses its backend); if either
exits, the other is stopped and the exit code passed on. STACK_READY_TIMEOUT_S (600) bounds
the wait for the models; the gateway is pointed at the model server with TFS_TARGET and
TFS_REST_URL.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request

from pydantic import Field

from client.grpc_client import ServingClient, ServingClientError
from serving import launcher
from serving.environment import SettingsError
from serving.gateway.settings import DEFAULT_MODELS, GatewaySettings

POLL_S = 0.5


def models_available(client: ServingClient) -> bool:
    try:
        return all(
            any(v.state == "AVAILABLE" for v in client.status(name)) for name in DEFAULT_MODELS
        )
    except ServingClientError:
        return False


def gateway_alive(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def wait_for(check, processes: list[subprocess.Popen], timeout: float, what: str) -> None:
    stop_at = time.monotonic() + timeout
    while not check():
        if any(process.poll() is not None for process in processes):
            raise SystemExit(f"{what}: a process exited while starting")
        if time.monotonic() > stop_at:
            raise SystemExit(f"{what}: not ready within {timeout:.0f} s")
        time.sleep(POLL_S)


def stop(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()


def _interrupt(signum, frame):
    raise KeyboardInterrupt


class StackSettings(launcher.LaunchSettings):
    ready_timeout_s: float = Field(600.0, alias="STACK_READY_TIMEOUT_S", gt=0)


def main() -> int:
    try:
        settings = StackSettings.from_env()
        gateway_port = GatewaySettings.from_env().port
    except SettingsError as error:
        raise SystemExit(f"settings: {error}") from None
    server_command = launcher.command(settings)
    print("model server:", " ".join(server_command), flush=True)
    server = subprocess.Popen(server_command)
    running = [server]
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        with ServingClient(f"127.0.0.1:{settings.grpc_port}", timeout=2, retries=0) as client:
            wait_for(
                lambda: models_available(client), running, settings.ready_timeout_s, "model server"
            )
        gateway_env = {
            **os.environ,
            "TFS_TARGET": f"127.0.0.1:{settings.grpc_port}",
            "TFS_REST_URL": f"http://127.0.0.1:{settings.rest_port}",
        }
        gateway = subprocess.Popen([sys.executable, "-m", "serving.gateway"], env=gateway_env)
        running.insert(0, gateway)
        wait_for(lambda: gateway_alive(gateway_port), running, 60, "gateway")
        print(
            "\nReady:\n"
            f"  web page        http://localhost:{gateway_port}/\n"
            f"  gateway API     http://localhost:{gateway_port}/v1/...\n"
            f"  API docs        http://localhost:{gateway_port}/docs\n"
            f"  metrics         http://localhost:{gateway_port}/metrics\n"
            f"  model server    gRPC localhost:{settings.grpc_port}, "
            f"REST http://localhost:{settings.rest_port}/v1/models/<name>\n"
            "Ctrl-C stops both.",
            flush=True,
        )
        while all(process.poll() is None for process in running):
            time.sleep(POLL_S)
        exited = next(process for process in running if process.poll() is not None)
        print(f"{exited.args[-1]} exited with {exited.returncode}; stopping", flush=True)
        return exited.returncode or 1
    except KeyboardInterrupt:
        return 0
    finally:
        stop(running)


if __name__ == "__main__":
    sys.exit(main())
