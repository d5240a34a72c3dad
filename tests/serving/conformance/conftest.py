"""The TensorFlow Serving conformance suite: expectations taken from TF Serving's own tests and
docs (each test names its source), run against a model server started the way TF Serving's
`tensorflow_model_server_test_base.py` starts one.

By default the server is this project's embedded one (`python -m serving.modelserver`). To run
the same suite against the real server:
- `CONFORMANCE_MODEL_SERVER=/usr/bin/tensorflow_model_server` (with
  `make test PYTEST_ARGS=tests/serving/conformance`) starts that binary, with the same flags,
  for every test; or
- `CONFORMANCE_EXTERNAL=true` with `TFS_TARGET` and `TFS_REST_URL` points at a server already
  running with `--model_name=default` and
  `--model_base_path=<models>/saved_model_half_plus_two_cpu`, the models written by
  `python -m tests.serving.conformance.models <models>` and `CONFORMANCE_TESTDATA=<models>`
  (the load metrics name their paths); tests that need a server of their own are then skipped.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.serving.conformance import models
from tests.serving.conformance.tfs import SETTINGS, RunningServer, external, start_server


@pytest.fixture(scope="session")
def testdata(tmp_path_factory) -> Path:
    """The suite's models and config files, made by `models.write_all` (against an external
    server, the folder it serves them from)."""
    if external() is not None:
        if SETTINGS.testdata is None:
            raise pytest.UsageError(
                "CONFORMANCE_EXTERNAL needs CONFORMANCE_TESTDATA: the folder the server's models "
                "were written to by `python -m tests.serving.conformance.models`"
            )
        return SETTINGS.testdata.resolve()
    return models.write_all(tmp_path_factory.mktemp("testdata"))


@pytest.fixture(scope="session")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("conformance")


@pytest.fixture
def own_server(workdir):
    """Start servers of a test's own (stopped after it); skipped against an external server."""
    if external() is not None:
        pytest.skip("needs a server of its own; CONFORMANCE_MODEL_SERVER runs these")
    started: list[RunningServer] = []

    def start(*flags: str, wait: bool = True) -> RunningServer:
        server = start_server(workdir, *flags, wait=wait)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture(scope="session")
def default_server(testdata, workdir):
    """TF Serving's RunServer('default', saved_model_half_plus_two_cpu), with its monitoring
    config, a UNIX socket and the gRPC channel arguments of testGoodGrpcChannelArgs."""
    running = external()
    if running is not None:
        yield running
        return
    server = start_server(
        workdir,
        "--model_name=default",
        f"--model_base_path={testdata / models.TF1_MODEL}",
        f"--monitoring_config_file={testdata / 'monitoring_config.txt'}",
        f"--grpc_socket_path={workdir / 'tf-serving.sock'}",
        "--grpc_channel_arguments=grpc.max_connection_age_ms=2000,grpc.lb_policy_name=grpclb",
    )
    server.socket_path = workdir / "tf-serving.sock"
    yield server
    server.stop()


@pytest.fixture(scope="session")
def typed_server(testdata, workdir):
    """The suite's `typed` model alone, without batching."""
    if external() is not None:
        pytest.skip("needs a server of its own; CONFORMANCE_MODEL_SERVER runs these")
    server = start_server(
        workdir, "--model_name=typed", f"--model_base_path={testdata / models.TYPED_MODEL}"
    )
    yield server
    server.stop()


@pytest.fixture(scope="session")
def config_server(testdata, workdir):
    """Every test model from a model config file, batching on (TF Serving's
    batching_config.txt), with a command line as TF Serving's docs write one."""
    if external() is not None:
        pytest.skip("needs a server of its own; CONFORMANCE_MODEL_SERVER runs these")
    config = workdir / "models.config"
    config.write_text(
        "model_config_list {\n"
        + "".join(
            f'  config {{ name: "{name}" base_path: "{testdata / folder}" '
            f'model_platform: "tensorflow" {extra} }}\n'
            for name, folder, extra in (
                ("half_plus_two", models.TF1_MODEL, ""),
                ("half_plus_three", models.HALF_PLUS_THREE, ""),
                ("half_plus_two_tf2", models.TF2_MODEL, ""),
                (
                    "two_versions",
                    models.TWO_VERSIONS,
                    "model_version_policy { all {} } version_labels { key: 'stable' "
                    "value: 123 } version_labels { key: 'canary' value: 124 }",
                ),
            )
        )
        + "}\n"
    )
    server = start_server(
        workdir,
        f"--model_config_file={config}",
        "--enable_batching",
        f"--batching_parameters_file={testdata / 'batching_config.txt'}",
        f"--monitoring_config_file={testdata / 'monitoring_config.txt'}",
        "--rest_api_num_threads=8",
        "--enable_model_warmup=true",
        "--xla_cpu_compilation_enabled=true",
        "--enable_grpc_healthcheck_service",
        "--some_future_flag=1",
    )
    yield server
    server.stop()
