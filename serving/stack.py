"""`python -m serving.stack` (end of `make run`): the model server (or several replicas) and
the gateway in front of it, supervised.

The model server comes from `serving.launcher` (same SERVING_BACKEND choice and flags). The
gateway starts once every model is AVAILABLE on every replica, pointed at the replicas with
TFS_TARGET (their list, balanced round-robin by gRPC) and at replica 0's REST API with
TFS_REST_URL (the passthrough). Any process that exits is started again after a backoff that
doubles, its exit logged with its cause; while the model server is away the gateway stays up
and answers 503. A hung process is a fault too: each child is probed — the model server with a
gRPC health check (any answer, even UNIMPLEMENTED, shows it alive), the gateway with GET
/healthz — and one that has answered since it started but then answers no probe for the hang
timeout is SIGKILLed and restarted like a crash; one still loading its models has not answered
yet, and is given the ready timeout before it counts as hung. Too many crashes within the
crash-loop window stop the stack with exit 1. SIGINT/SIGTERM stop both (gateway first, so
nothing in flight loses its backend) and exit 0. The settings (StackSettings, below) hold the
numbers.
"""

from __future__ import annotations

import functools
import logging
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import grpc
from pydantic import Field

from client.grpc_client import ServingClient, ServingClientError
from serving import launcher, logs
from serving.environment import SettingsError
from serving.gateway.settings import DEFAULT_MODELS, GatewaySettings
from serving.processes import terminate

POLL_S = 0.2
HEALTH_CHECK = "/grpc.health.v1.Health/Check"
PROBE_CHANNEL_OPTIONS = [
    ("grpc.initial_reconnect_backoff_ms", 200),
    ("grpc.max_reconnect_backoff_ms", 1000),
]
"""A restarted model server opens its port once its models are loaded; the probe's channel
retries its connection at least every second (gRPC's own backoff grows to 2 minutes), so the
first answer comes within a second of the port opening."""
log = logging.getLogger("serving.stack")


class StackSettings(launcher.LaunchSettings):
    ready_timeout_s: float = Field(
        600.0,
        alias="STACK_READY_TIMEOUT_S",
        description=(
            "How long the model server may take to load its models, at start and after a restart,"
            " before it counts as hung."
        ),
        gt=0,
    )
    restart_backoff_s: float = Field(
        0.5,
        alias="STACK_RESTART_BACKOFF_S",
        description="The pause before restarting a process that exited; it doubles with each exit.",
        gt=0,
    )
    max_backoff_s: float = Field(
        10.0, alias="STACK_MAX_BACKOFF_S", description="The longest pause between restarts.", gt=0
    )
    crash_loop_limit: int = Field(
        5,
        alias="STACK_CRASH_LOOP_LIMIT",
        description=(
            "Exits within STACK_CRASH_LOOP_WINDOW_S that stop the stack (exit 1) instead of "
            "another restart."
        ),
        ge=1,
    )
    crash_loop_window_s: float = Field(
        60.0,
        alias="STACK_CRASH_LOOP_WINDOW_S",
        description="The window the crash-loop limit counts exits in.",
        gt=0,
    )
    replicas: int = Field(
        1,
        alias="MODEL_SERVER_REPLICAS",
        description="Model server replicas; replica i listens on the ports + 10·i.",
        ge=1,
        le=16,
    )
    probe_interval_s: float = Field(
        1.0,
        alias="STACK_PROBE_INTERVAL_S",
        description=(
            "How often each child is probed (the model server by a gRPC health check, the gateway"
            " by /healthz)."
        ),
        gt=0,
    )
    hang_timeout_s: float = Field(
        10.0,
        alias="STACK_HANG_TIMEOUT_S",
        description=(
            "A child that answered once and then answers nothing for this long is killed and "
            "restarted."
        ),
        gt=0,
    )


class CrashLoop(Exception):
    """A supervised process keeps dying; the message says which and how."""


def exit_cause(code: int) -> str:
    """'exit code 3' or 'killed by SIGKILL' (Popen gives -N for signal N)."""
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


@dataclass
class Supervised:
    """One child process, started again after each exit with a growing pause, until it dies
    `limit` times within `window_s` seconds."""

    name: str
    command: list[str]
    env: dict[str, str]
    settings: StackSettings
    native_output: bool = False
    """The child also writes lines Python's logging does not format (TensorFlow's C++
    logging): its stderr is relayed through this process's log format (serving/logs.py)."""
    probe: Callable[[float], bool] | None = None
    """Whether the process answers within the given seconds; None: exits are all we watch."""
    process: subprocess.Popen | None = None
    restarts: int = 0
    crashes: deque = field(default_factory=deque)
    restart_at: float | None = None
    started_at: float | None = None
    answered_at: float | None = None
    """When the current process last answered its probe (None: not since it started)."""
    _stopping: threading.Event = field(default_factory=threading.Event)
    _prober: threading.Thread | None = None

    def start(self) -> None:
        self.started_at, self.answered_at = time.monotonic(), None
        relayed = self.native_output and logs.log_format() == "json"
        self.process = subprocess.Popen(
            self.command, env=self.env, stderr=subprocess.PIPE if relayed else None
        )
        if relayed:
            threading.Thread(
                target=logs.relay, args=(self.process.stderr, self.name), daemon=True
            ).start()
        log.info("%s started (pid %d)", self.name, self.process.pid)
        if self.probe is not None and self._prober is None:
            self._prober = threading.Thread(target=self._probe_loop, daemon=True)
            self._prober.start()

    def _probe_loop(self) -> None:
        """Probe whatever process runs now; note when it answered."""
        interval = self.settings.probe_interval_s
        while not self._stopping.is_set():
            process = self.process
            # an answer counts for the process that gave it, not for the one that replaced it
            if process is not None and self.probe(interval) and process is self.process:
                if self.answered_at is None:
                    log.info("%s (pid %d) answers its probe", self.name, process.pid)
                self.answered_at = time.monotonic()
            self._stopping.wait(interval)

    def silence(self, now: float) -> str | None:
        """Why the process counts as hung, or None: it answered its probe once, then not for
        STACK_HANG_TIMEOUT_S; or it has not answered in the STACK_READY_TIMEOUT_S since it
        started (a load that never ends)."""
        if self.answered_at is not None:
            if now - self.answered_at > self.settings.hang_timeout_s:
                return f"no answer to its probe for {now - self.answered_at:.1f} s"
        elif self.started_at is not None and now - self.started_at > self.settings.ready_timeout_s:
            return f"no answer to its probe in the {now - self.started_at:.0f} s since it started"
        return None

    def check(self, now: float) -> None:
        """Notice an exit, or a hang (then kill), and schedule the restart; start it when its
        pause is over."""
        if self.restart_at is not None:
            if now >= self.restart_at:
                self.restart_at = None
                self.restarts += 1
                self.start()
            return
        code = self.process.poll()
        if code is None and self.probe is not None and (why := self.silence(now)):
            log.warning("%s (pid %d) hung: %s; killing it", self.name, self.process.pid, why)
            self.answered_at = None
            self.process.kill()
            code = self.process.wait()
        if code is None:
            return
        self.crashes.append(now)
        while self.crashes and now - self.crashes[0] > self.settings.crash_loop_window_s:
            self.crashes.popleft()
        if len(self.crashes) >= self.settings.crash_loop_limit:
            raise CrashLoop(
                f"{self.name} exited {len(self.crashes)} times within "
                f"{self.settings.crash_loop_window_s:.0f} s (last: {exit_cause(code)})"
            )
        pause = min(
            self.settings.max_backoff_s,
            self.settings.restart_backoff_s * 2 ** (len(self.crashes) - 1),
        )
        log.warning(
            "%s (pid %d) stopped: %s; restarting in %.1f s",
            self.name,
            self.process.pid,
            exit_cause(code),
            pause,
        )
        self.restart_at = now + pause

    def stop(self) -> None:
        self._stopping.set()
        if self.process is not None:
            terminate(self.process)


def models_available(client: ServingClient) -> bool:
    try:
        return all(
            any(v.state == "AVAILABLE" for v in client.status(name)) for name in DEFAULT_MODELS
        )
    except ServingClientError:
        return False


def gateway_alive(port: int, timeout: float = 2) -> bool:
    try:
        url = f"http://127.0.0.1:{port}/healthz"
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status == 200
    except OSError:
        return False


def grpc_answers(address: str) -> Callable[[float], bool]:
    """A probe of the gRPC server at `address`: a health check (grpc.health.v1, as Kubernetes'
    gRPC probe sends) that gets any answer in time, SERVING or not, even UNIMPLEMENTED from a
    server without the health service. The probe's channel is its own, so it never waits
    behind the stack's other calls."""
    channel = grpc.insecure_channel(address, options=PROBE_CHANNEL_OPTIONS)
    check = channel.unary_unary(HEALTH_CHECK)

    def answers(timeout: float) -> bool:
        try:
            check(b"", timeout=timeout)
        except grpc.RpcError as error:
            return error.code() not in (
                grpc.StatusCode.DEADLINE_EXCEEDED,
                grpc.StatusCode.UNAVAILABLE,
            )
        return True

    return answers


def wait_for(check, children: list[Supervised], timeout: float, what: str) -> None:
    """Until `check()`; the children are supervised meanwhile (a crash is restarted, or
    raises)."""
    stop_at = time.monotonic() + timeout
    while not check():
        now = time.monotonic()
        if now > stop_at:
            raise SystemExit(f"{what}: not ready within {timeout:.0f} s")
        for child in children:
            child.check(now)
        time.sleep(POLL_S)


def replica_settings(settings: StackSettings, index: int) -> StackSettings:
    """Replica `index` listens on the configured ports + REPLICA_PORT_STEP·index."""
    step = launcher.REPLICA_PORT_STEP * index
    return settings.model_copy(
        update={"grpc_port": settings.grpc_port + step, "rest_port": settings.rest_port + step}
    )


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def main() -> int:
    logs.configure()
    try:
        settings = StackSettings.from_env()
        gateway_port = GatewaySettings.from_env().port
    except SettingsError as error:
        raise SystemExit(f"settings: {error}") from None
    replicas = [replica_settings(settings, index) for index in range(settings.replicas)]
    server_env = {**os.environ, **launcher.xla_cache_environment(settings.run_dir)}
    servers = [
        Supervised(
            "model server" if settings.replicas == 1 else f"model server {index}",
            launcher.command(replica),
            server_env,
            settings,
            native_output=True,
            probe=grpc_answers(f"127.0.0.1:{replica.grpc_port}"),
        )
        for index, replica in enumerate(replicas)
    ]
    gateway_env = {
        **os.environ,
        "TFS_TARGET": ",".join(f"127.0.0.1:{replica.grpc_port}" for replica in replicas),
        "TFS_REST_URL": f"http://127.0.0.1:{settings.rest_port}",
    }
    gateway = Supervised(
        "gateway",
        [sys.executable, "-m", "serving.gateway"],
        gateway_env,
        settings,
        probe=functools.partial(gateway_alive, gateway_port),
    )
    signal.signal(signal.SIGTERM, _interrupt)
    clients = [
        ServingClient(f"127.0.0.1:{replica.grpc_port}", timeout=2, retries=0)
        for replica in replicas
    ]
    try:
        log.info("model server: %s", " ".join(servers[0].command))
        for server in servers:
            server.start()
        wait_for(
            lambda: all(models_available(client) for client in clients),
            servers,
            settings.ready_timeout_s,
            "model server",
        )
        gateway.start()
        wait_for(lambda: gateway_alive(gateway_port), [*servers, gateway], 60, "gateway")
        grpc_ports = ", ".join(str(replica.grpc_port) for replica in replicas)
        rest_ports = ", ".join(str(replica.rest_port) for replica in replicas)
        print(
            "\nReady:\n"
            f"  web page        http://localhost:{gateway_port}/\n"
            f"  gateway API     http://localhost:{gateway_port}/v1/...\n"
            f"  API docs        http://localhost:{gateway_port}/docs\n"
            f"  metrics         http://localhost:{gateway_port}/metrics\n"
            f"  model server{'s' if len(replicas) > 1 else ''}   gRPC localhost:{grpc_ports}; "
            f"REST localhost:{rest_ports}, /v1/models/<name>\n"
            "Ctrl-C stops everything; a process that crashes is restarted.",
            flush=True,
        )
        while True:
            now = time.monotonic()
            for child in [*servers, gateway]:
                child.check(now)
            time.sleep(POLL_S)
    except KeyboardInterrupt:
        return 0
    except CrashLoop as error:
        log.error("giving up: %s", error)
        return 1
    finally:
        for client in clients:
            client.close()
        gateway.stop()
        for server in servers:
            server.stop()


if __name__ == "__main__":
    sys.exit(main())
