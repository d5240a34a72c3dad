"""Adding a model is three files (docs/architecture.md): a contract entry, a training
module and a gateway task. This copies the project, adds the three files of tests/fourth_model,
trains the new model with `--quick`, serves it and calls it through the gateway, in processes
that import the copy."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

from serving.processes import REPO, http, start_gateway, start_model_server, write_models_config

pytestmark = pytest.mark.integration

FILES = REPO / "tests" / "fourth_model"
PACKAGES = ("contract", "protocol", "client", "serving", "training")


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    """The project's packages with the fourth model's three files added."""
    root = tmp_path_factory.mktemp("fourth-model")
    for package in PACKAGES:
        shutil.copytree(
            REPO / package, root / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    with (root / "contract" / "models.py").open("a") as contract:
        contract.write("\n\n" + (FILES / "contract_entry.py").read_text())
    shutil.copy(FILES / "mean_regressor.py", root / "training" / "mean_regressor.py")
    shutil.copy(FILES / "means.py", root / "serving" / "gateway" / "tasks" / "means.py")
    return root


def post(url: str, body: dict):
    return http("POST", url, json.dumps(body), headers={"Content-Type": "application/json"})


def test_a_fourth_model_trains_serves_and_answers_through_the_gateway(tree, tmp_path):
    models = tmp_path / "models"
    trained = subprocess.run(
        [sys.executable, "-m", "training", "mean_regressor", "--quick", "--out", str(models)],
        cwd=tree,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert trained.returncode == 0, trained.stderr
    assert (models / "mean_regressor" / "1" / "saved_model.pb").exists()

    config = write_models_config(
        tmp_path / "models.config", {"mean_regressor": models / "mean_regressor"}
    )
    server = start_model_server(config, ["mean_regressor"], tmp_path, cwd=tree)
    try:
        gateway = start_gateway(
            server.grpc_address,
            server.rest_url,
            tmp_path,
            env={"GATEWAY_MODELS": "mean_regressor"},
            cwd=tree,
        )
        try:
            rows = np.random.default_rng(7).normal(size=(3, 8)).round(3)
            status, body = post(f"{gateway.rest_url}/v1/means", {"rows": rows.tolist()})
            assert status == 200, body
            np.testing.assert_allclose(body["means"], rows.mean(axis=1), atol=1e-4)
            assert body["model"] == {"name": "mean_regressor", "version": 1}

            status, body = post(f"{gateway.rest_url}/v1/means", {"rows": [[1, 2]]})
            assert status == 400
            assert body["error"]["message"].startswith("rows[0]:")

            status, spec = http("GET", f"{gateway.rest_url}/openapi.json")
            assert "/v1/means" in spec["paths"]
            assert "MeansRequest" in spec["components"]["schemas"]
        finally:
            assert gateway.stop() == 0, gateway.log_tail()
    finally:
        assert server.stop() == 0, server.log_tail()
