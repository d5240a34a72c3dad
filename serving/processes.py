"""Server processes on free loopback ports, started and stopped the way an operator would:
`python -m serving.modelserver` and `python -m serving.gateway` from this source tree, waited
for until they answer, stopped with SIGTERM, a grace period, then SIGKILL. The stack supervises
its children with `terminate`; the tests and the load tools start servers with the rest."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from serving.launcher import REPLICA_PORT_STEP, xla_cache_environment

REPO = Path(__file__).resolve().parents[1]
"""The source tree the processes run from (`python -m ...` imports from it)."""
XLA_RUN_DIR = Path(tempfile.gettempdir()) / "seqserve-xla"
"""Holds the XLA cache shared by every model server these helpers start: each shape compiles
once per machine."""
POLL_S = 0.2
"""How often a starting server is asked whether it is ready."""


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


def child_pids(pid: int) -> list[int]:
    """The processes `pid` started (a gunicorn master's workers, the stack's servers), from
    /proc; none once it is gone."""
    try:
        return [
            int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        ]
    except OSError:
        return []


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def http(
    method: str,
    url: str,
    body: bytes | str | None = None,
    timeout: float = 30,
    headers: dict[str, str] | None = None,
):
    """(status, parsed JSON or raw text) of one HTTP request; never raises on 4xx/5xx."""
    data = body.encode() if isinstance(body, str) else body
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode(errors="replace")


def write_models_config(path: Path, models: dict[str, Path], extra: dict[str, str] | None = None):
    """A model_config_list text proto; `extra` adds text inside a model's config block."""
    blocks = []
    for name, base in models.items():
        inside = (extra or {}).get(name, "")
        fields = f'name: "{name}" base_path: "{base}" model_platform: "tensorflow" {inside}'
        blocks.append(f"  config {{ {fields} }}")
    path.write_text("model_config_list {\n" + "\n".join(blocks) + "\n}\n")
    return path


@dataclass
class ServerProcess:
    process: subprocess.Popen
    grpc_address: str
    rest_url: str
    log_path: Path
    own_group: bool = False
    """Started in a session of its own (start_new_session): stop() also ends its children."""

    def log_tail(self, chars: int | None = 3000) -> str:
        """The last `chars` characters of its log (all of it with None)."""
        text = self.log_path.read_text(errors="replace")
        return text if chars is None else text[-chars:]

    def stop(self, timeout: float = 20) -> int:
        terminate(self.process, timeout)
        if self.own_group:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
        return self.process.returncode


def start_model_server(
    config_path: Path,
    names: list[str],
    workdir: Path,
    flags: list[str] = (),
    deadline: float = 120,
    ports: tuple[int, int] | None = None,
    cwd: Path = REPO,
) -> ServerProcess:
    """Start `python -m serving.modelserver` (on `ports` (gRPC, REST), else free ones) and wait
    until every model is AVAILABLE; `cwd` is the source tree it imports from."""
    grpc_port, rest_port = ports or (free_port(), free_port())
    log_path = workdir / f"modelserver-{rest_port}.log"
    command = [
        sys.executable,
        "-m",
        "serving.modelserver",
        f"--port={grpc_port}",
        f"--rest_api_port={rest_port}",
        f"--model_config_file={config_path}",
        "--file_system_poll_wait_seconds=1",
        "--max_num_load_retries=0",
        "--xla_cpu_compilation_enabled=true",
        *flags,
    ]
    env = {**os.environ, **xla_cache_environment(XLA_RUN_DIR)}
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, cwd=cwd, stdout=log, stderr=subprocess.STDOUT, env=env)
    server = ServerProcess(
        process, f"127.0.0.1:{grpc_port}", f"http://127.0.0.1:{rest_port}", log_path
    )
    return wait_until_ready(
        server,
        lambda: all(model_available(server.rest_url, name) for name in names),
        deadline,
        "model server",
    )


def model_available(rest_url: str, name: str) -> bool:
    """Whether the model server at `rest_url` has a version of `name` AVAILABLE."""
    try:
        status, body = http("GET", f"{rest_url}/v1/models/{name}", timeout=2)
    except OSError:
        return False
    return status == 200 and any(v["state"] == "AVAILABLE" for v in body["model_version_status"])


def start_gateway(
    grpc_address: str,
    rest_url: str,
    workdir: Path,
    env: dict[str, str] | None = None,
    deadline: float = 60,
    ready: bool = True,
    cwd: Path = REPO,
) -> ServerProcess:
    """Start the gateway under gunicorn (`python -m serving.gateway`) in front of a model server
    and wait until it answers (/readyz 200 when `ready`, else /healthz); `cwd` is the source
    tree it imports from."""
    port = free_port()
    settings = {
        "GATEWAY_HOST": "127.0.0.1",
        "GATEWAY_PORT": str(port),
        "GATEWAY_WORKERS": "2",
        "GATEWAY_THREADS": "8",
        "TFS_TARGET": grpc_address,
        "TFS_REST_URL": rest_url,
        **(env or {}),
    }
    log_path = workdir / f"gateway-{port}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "serving.gateway"],
            cwd=cwd,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **settings},
        )
    gateway = ServerProcess(process, grpc_address, f"http://127.0.0.1:{port}", log_path)
    return wait_for_http(gateway, "/readyz" if ready else "/healthz", deadline, "gateway")


def wait_for_http(server: ServerProcess, probe: str, deadline: float, what: str) -> ServerProcess:
    """`server` once GET `probe` answers 200 (see wait_until_ready)."""

    def answers() -> bool:
        try:
            return http("GET", server.rest_url + probe, timeout=2)[0] == 200
        except OSError:
            return False

    return wait_until_ready(server, answers, deadline, what)


def wait_until_ready(server, ready: Callable[[], bool], deadline: float, what: str):
    """`server` (anything with `process`, `stop()` and `log_tail()`) once `ready()` holds;
    stopped, with its log in the error, if it exits or the deadline passes first. The one
    start-and-wait loop of every server the tests and load tools start."""
    stop_at = time.monotonic() + deadline
    while time.monotonic() < stop_at:
        if server.process.poll() is not None:
            code = server.process.returncode
            raise RuntimeError(f"{what} exited with {code}:\n{server.log_tail()}")
        if ready():
            return server
        time.sleep(POLL_S)
    server.stop()
    raise RuntimeError(f"{what} not ready within {deadline} s:\n{server.log_tail()}")


class StackProcess:
    """`python -m serving.stack` — what `make run` ends with — on its own ports and run folder
    (the models: `models_dir`, or with None the stack's default, models/ of this checkout). Its
    stdout (the banner) and stderr (the log of every process it runs) are kept apart."""

    def __init__(
        self,
        models_dir: Path | None,
        workdir: Path,
        replicas: int = 1,
        hang_timeout_s: float = 10.0,
    ):
        self.grpc_port, self.rest_port, self.port = free_port(), free_port(), free_port()
        self.replicas = replicas
        self.url = f"http://127.0.0.1:{self.port}"
        self.out_path = workdir / "stack.out"
        self.log_path = workdir / "stack.log"
        env = {
            **{name: value for name, value in os.environ.items() if name != "MODELS_DIR"},
            **({"MODELS_DIR": str(models_dir)} if models_dir is not None else {}),
            "SERVING_BACKEND": "embedded",
            "SERVING_RUN_DIR": str(workdir / "run"),
            "TFS_GRPC_PORT": str(self.grpc_port),
            "TFS_REST_PORT": str(self.rest_port),
            "GATEWAY_PORT": str(self.port),
            "GATEWAY_LOG_LEVEL": "WARNING",
            "LOG_FORMAT": "json",
            "MODEL_SERVER_REPLICAS": str(replicas),
            "STACK_HANG_TIMEOUT_S": str(hang_timeout_s),
        }
        with self.out_path.open("wb") as out, self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "serving.stack"], cwd=REPO, env=env, stdout=out, stderr=log
            )

    def wait_ready(self, timeout: float) -> None:
        """Until the stack prints its banner ("Ready: ...")."""
        wait_until_ready(
            self, lambda: b"Ready:" in self.out_path.read_bytes(), timeout, "the stack"
        )

    def rest_url(self, replica: int) -> str:
        return f"http://127.0.0.1:{self.rest_port + REPLICA_PORT_STEP * replica}"

    def stop(self) -> dict:
        """SIGTERM, as Ctrl-C or `docker stop` would: the stack's exit code, and whether the
        gateway still answers afterwards (it must not)."""
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(60)
        try:
            http("GET", self.url + "/healthz", timeout=2)
            answers = True
        except OSError:
            answers = False
        return {"exit_code": code, "gateway_answers_after": answers}

    def log_tail(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:]
