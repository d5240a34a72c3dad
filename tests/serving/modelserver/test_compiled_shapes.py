"""A new sequence length costs no compilation: the shipped sum regressor, beside the other
shipped models, under the model server started with the launcher's own flags and configs (XLA
on, the batching configuration, the persistent XLA cache in its run dir, as `make run` does).
Each compiled program is one entry in that cache, so the entries counted after warmup must stay
as they are whatever lengths clients send, and so must the process's memory; longer than the
longest compiled width is refused."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request

import grpc
import numpy as np
import pytest

from client.grpc_client import ServingClient, ServingClientError
from contract.models import COMPILED_WIDTHS, MAX_SERVED_LENGTH, MODELS
from loadtest.soak import rss_mb
from serving import launcher
from serving.processes import REPO, ServerProcess, free_port, model_available
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration

NEW_LENGTHS = range(1, 301)
MEMORY_BUDGET_MB = 20


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """The model server on the shipped versions, and its XLA cache folder."""
    work = tmp_path_factory.mktemp("compiled")
    for name in MODELS:
        (work / "models" / name).mkdir(parents=True)
        (work / "models" / name / "1").symlink_to(REPO / "models" / name / "1")
    settings = launcher.LaunchSettings(MODELS_DIR=work / "models", SERVING_RUN_DIR=work / "run")
    settings.run_dir.mkdir()
    launcher.render_configs(settings, str(settings.models_dir))
    flags = launcher.server_flags(settings, str(settings.run_dir), free_port(), free_port())
    env = {**os.environ, **launcher.xla_cache_environment(settings.run_dir)}
    log_path = work / "modelserver.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "serving.modelserver", *flags],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    grpc_port, rest_port = (int(flag.split("=")[1]) for flag in flags[:2])
    server = ServerProcess(
        process, f"127.0.0.1:{grpc_port}", f"http://127.0.0.1:{rest_port}", log_path
    )
    wait_until(
        lambda: (
            process.poll() is not None
            or all(model_available(server.rest_url, name) for name in MODELS)
        ),
        timeout=120,
    )
    assert process.poll() is None, server.log_tail()
    yield server, settings.run_dir / "xla-cache"
    assert server.stop() == 0, server.log_tail()


def rest_predict(server, rows: list[list[float]]) -> tuple[int, dict]:
    request = urllib.request.Request(
        server.rest_url + "/v1/models/sum_regressor:predict",
        json.dumps({"instances": rows}).encode(),
        {"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def compiled_programs(cache) -> int:
    return sum(1 for entry in cache.rglob("*") if entry.is_file())


def test_new_lengths_compile_nothing_and_hold_memory(served):
    server, cache = served
    warmed = compiled_programs(cache)
    # every compiled width at every served batch size, replayed by warmup
    assert warmed >= len(COMPILED_WIDTHS), list(cache.rglob("*"))
    assert rest_predict(server, [[1.0] * 64])[0] == 200  # the first request's own allocations
    before = rss_mb(server.process.pid)
    with ServingClient(server.grpc_address) as client:
        for length in NEW_LENGTHS:
            ones = np.ones((1, length), np.float32)
            if length % 2:
                prediction = client.predict("sum_regressor", {"sequences": ones}, timeout=30)
                (count,) = prediction.outputs["sum"]
            else:
                status, body = rest_predict(server, ones.tolist())
                assert status == 200, body
                (count,) = body["predictions"]
            assert abs(count - length) < 0.05, (length, count)
    assert compiled_programs(cache) == warmed
    grown = rss_mb(server.process.pid) - before
    assert grown <= MEMORY_BUDGET_MB, f"{len(NEW_LENGTHS)} new lengths added {grown:.0f} MB"


def test_a_sequence_longer_than_the_longest_compiled_width_is_refused(served):
    server, _ = served
    message = f"sequences must be at most {MAX_SERVED_LENGTH} steps long"
    status, body = rest_predict(server, [[1.0] * (MAX_SERVED_LENGTH + 1)])
    assert status == 400 and message in body["error"], body
    with ServingClient(server.grpc_address) as client:
        too_long = np.ones((1, MAX_SERVED_LENGTH + 1), np.float32)
        with pytest.raises(ServingClientError) as raised:
            client.predict("sum_regressor", {"sequences": too_long}, timeout=30)
    assert raised.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert message in raised.value.details
