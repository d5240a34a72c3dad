"""Session-wide fixtures: quick models exported once by the real training code, and the real
model server running them on loopback ports."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from contract.models import MODELS
from serving.processes import (
    REPO,
    StackProcess,
    start_gateway,
    start_model_server,
    write_models_config,
)
from tests.support.tf1_example import export_tf1_example_model

GATEWAY_BODY_TIMEOUT_S = 2.0
"""The shared gateway's wait for more of a body: short, so the 408 tests are quick."""


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory) -> Path:
    """A models folder holding version 1 of each model, trained with `--quick`."""
    from training.__main__ import main

    out = tmp_path_factory.mktemp("models")
    exit_code = main(
        ["all", "--quick", "--no-progress", "--out", str(out), "--data-dir", str(REPO / "data")]
    )
    assert exit_code == 0
    return out


@pytest.fixture(scope="session")
def tf1_model_dir(tmp_path_factory):
    """Base path holding version 1 of a TF1 classify/regress model."""
    base = tmp_path_factory.mktemp("tf1_example")
    export_tf1_example_model(base / "1")
    return base


@pytest.fixture(scope="session")
def model_server(models_dir, tf1_model_dir, tmp_path_factory):
    """The embedded model server with the quick models and the TF1 model; shared, not mutated."""
    workdir = tmp_path_factory.mktemp("modelserver")
    models = {name: models_dir / name for name in MODELS}
    models["tf1_example"] = tf1_model_dir
    config = write_models_config(workdir / "models.config", models)
    monitoring = workdir / "monitoring.config"
    monitoring.write_text(
        'prometheus_config { enable: true path: "/monitoring/prometheus/metrics" }'
    )
    server = start_model_server(
        config, list(models), workdir, [f"--monitoring_config_file={monitoring}"]
    )
    yield server
    assert server.stop() == 0, server.log_tail()


@pytest.fixture(scope="session")
def gateway(model_server, tmp_path_factory):
    """The gateway under gunicorn (2 workers) in front of `model_server`."""
    process = start_gateway(
        model_server.grpc_address,
        model_server.rest_url,
        tmp_path_factory.mktemp("gateway"),
        env={"GATEWAY_BODY_TIMEOUT_S": str(GATEWAY_BODY_TIMEOUT_S)},
    )
    yield process
    assert process.stop() == 0, process.log_tail()


@pytest.fixture(scope="session")
def wheel(tmp_path_factory) -> Path:
    """The wheel the project's build backend makes (what `pip install` installs)."""
    out = tmp_path_factory.mktemp("wheel")
    pip = [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation"]
    subprocess.run(
        [*pip, "-w", str(out), str(REPO)],
        check=True,
        capture_output=True,
    )
    (built,) = out.glob("seqserve-*.whl")
    return built


@pytest.fixture(scope="session")
def site(wheel, tmp_path_factory) -> Path:
    """A folder the wheel is installed into (--target), apart from this checkout."""
    target = tmp_path_factory.mktemp("site")
    pip = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target)]
    subprocess.run(
        [*pip, str(wheel)],
        check=True,
        capture_output=True,
    )
    return target


STACK_API_KEY = "stack-test-key"
"""The API key the `stack` fixture's gateway accepts (GATEWAY_API_KEYS holds its digest)."""


@pytest.fixture(scope="session")
def stack(models_dir, tmp_path_factory):
    """`python -m serving.stack` — what `make run` ends with — on the quick models, with API
    keys on: its own model server and gateway, for tests that drive `make run`'s processes."""
    from serving.gateway.auth import digest_of

    workdir = tmp_path_factory.mktemp("stack")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GATEWAY_API_KEYS", digest_of(STACK_API_KEY))
        running = StackProcess(models_dir, workdir)
    running.wait_ready(timeout=240)
    yield running
    running.stop()


TIERS = ("unit", "integration", "browser", "load")
PROCESS_FIXTURES = {
    "models_dir",
    "tf1_model_dir",
    "model_server",
    "gateway",
    "testdata",
    "workdir",
    "own_server",
    "default_server",
    "typed_server",
    "config_server",
    "wheel",
    "site",
    "stack",
    "docs_stack",
}
"""Fixtures that train models or start servers: a test using one is an integration test."""


def pytest_collection_modifyitems(items):
    """Every test gets exactly one tier: its module's mark (`pytestmark`), else integration when
    it trains models or starts servers through a fixture, else unit (`make test-fast`)."""
    for item in items:
        marked = [tier for tier in TIERS if item.get_closest_marker(tier)]
        if not marked:
            heavy = PROCESS_FIXTURES & set(item.fixturenames)
            item.add_marker("integration" if heavy else "unit")
