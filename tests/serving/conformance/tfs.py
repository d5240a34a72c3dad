"""Starting a model server and talking to it, as TF Serving's
`model_servers/test_util/tensorflow_model_server_test_base.py` does."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import grpc
from pydantic import Field

from protocol.messages import (
    model_service_pb2_grpc,
    predict_pb2,
    prediction_service_pb2_grpc,
    types_pb2,
)
from serving import processes
from serving.environment import EnvSettings
from serving.processes import REPO, free_port, terminate

READY_TIMEOUT_S = 120
RPC_TIMEOUT = 20.0


@dataclass
class RunningServer:
    """A model server process; addresses as TF Serving's tests use them."""

    process: subprocess.Popen | None
    grpc_address: str
    rest_url: str
    log_path: Path | None = None
    socket_path: Path | None = None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path else ""

    def log_tail(self) -> str:
        return self.log()[-3000:]

    def stop(self) -> int | None:
        return None if self.process is None else terminate(self.process)


class ConformanceSettings(EnvSettings):
    """Which server the suite checks: by default the embedded one, started for each test;
    CONFORMANCE_MODEL_SERVER names another command (e.g. the real tensorflow_model_server);
    CONFORMANCE_EXTERNAL=true runs against a server already at TFS_TARGET / TFS_REST_URL,
    serving the models CONFORMANCE_TESTDATA holds."""

    model_server: str = Field("", alias="CONFORMANCE_MODEL_SERVER")
    external: bool = Field(False, alias="CONFORMANCE_EXTERNAL")
    tfs_target: str = Field("127.0.0.1:8500", alias="TFS_TARGET")
    tfs_rest_url: str = Field("http://127.0.0.1:8501", alias="TFS_REST_URL")
    testdata: Path | None = Field(None, alias="CONFORMANCE_TESTDATA")


SETTINGS = ConformanceSettings.from_env()


def server_command() -> list[str]:
    command = SETTINGS.model_server
    return shlex.split(command) if command else [sys.executable, "-m", "serving.modelserver"]


def start_server(workdir: Path, *flags: str, wait: bool = True) -> RunningServer:
    """RunServer: free ports, a REST port, the given flags; wait until a Predict to a missing
    model answers "Servable..." (WaitForServerReady), unless `wait` is False."""
    port, rest_port = free_port(), free_port()
    log_path = workdir / f"server-{port}.log"
    command = [
        *server_command(),
        f"--port={port}",
        f"--rest_api_port={rest_port}",
        "--rest_api_timeout_in_ms=5000",
        *flags,
    ]
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
    server = RunningServer(process, f"localhost:{port}", f"http://localhost:{rest_port}", log_path)
    if wait:
        wait_until_ready(server)
    return server


def wait_until_ready(server: RunningServer) -> None:
    """WaitForServerReady: until a Predict for a missing model is answered "Servable..."."""
    request = predict_pb2.PredictRequest()
    request.model_spec.name = "intentionally_missing_model"
    with grpc.insecure_channel(server.grpc_address) as channel:
        stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)

        def answers() -> bool:
            try:
                stub.Predict(request, timeout=5)
            except grpc.RpcError as error:
                return "Servable" in (error.details() or "")
            return False

        processes.wait_until_ready(server, answers, READY_TIMEOUT_S, "model server")


def external() -> RunningServer | None:
    if SETTINGS.external:
        return RunningServer(None, SETTINGS.tfs_target, SETTINGS.tfs_rest_url.rstrip("/"))
    return None


def prediction_stub(server: RunningServer):
    return prediction_service_pb2_grpc.PredictionServiceStub(
        grpc.insecure_channel(server.grpc_address)
    )


def model_stub(server: RunningServer):
    return model_service_pb2_grpc.ModelServiceStub(grpc.insecure_channel(server.grpc_address))


def predict_x(
    model_name="default",
    signature_name="serving_default",
    specify_output=True,
    batch_input=False,
    value=2.0,
) -> predict_pb2.PredictRequest:
    """VerifyPredictRequest's request: x of shape [1] (or [1, 1]) holding 2.0."""
    request = predict_pb2.PredictRequest()
    request.model_spec.name = model_name
    request.model_spec.signature_name = signature_name
    request.inputs["x"].dtype = types_pb2.DT_FLOAT
    request.inputs["x"].float_val.append(value)
    request.inputs["x"].tensor_shape.dim.add().size = 1
    if batch_input:
        request.inputs["x"].tensor_shape.dim.add().size = 1
    if specify_output:
        request.output_filter.append("y")
    return request


def call_rest(
    url: str,
    body=None,
    method: str | None = None,
    raw: bytes | None = None,
    headers: dict | None = None,
) -> tuple[int, bytes]:
    """CallREST: urllib, JSON body (POST) or none (GET); (status, body) even for errors."""
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=RPC_TIMEOUT) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def rest_json(url: str, body=None, **options) -> tuple[int, object]:
    status, raw = call_rest(url, body, **options)
    return status, json.loads(raw)
