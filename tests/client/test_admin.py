"""Reconfiguring a model server apart from predicting: the whole model list, each with its
version policy and labels, against a model server of the test's own."""

from __future__ import annotations

import pytest

from client.admin import ModelAdmin, ServedModel, model_server_config
from client.grpc_client import ServingClient
from serving.processes import start_model_server, write_models_config


def test_the_config_says_policy_and_labels():
    config = model_server_config(
        {
            "forecaster": ServedModel("/models/forecaster", versions=[1, 2], labels={"stable": 1}),
            "sum_regressor": ServedModel("/models/sum_regressor"),
        }
    )
    forecaster, sums = config.model_config_list.config
    assert list(forecaster.model_version_policy.specific.versions) == [1, 2]
    assert dict(forecaster.version_labels) == {"stable": 1}
    assert sums.base_path == "/models/sum_regressor"
    assert not sums.HasField("model_version_policy")  # TF Serving's default: the latest


@pytest.fixture
def own_server(models_dir, tmp_path):
    config = write_models_config(
        tmp_path / "models.config", {"sum_regressor": models_dir / "sum_regressor"}
    )
    server = start_model_server(config, ["sum_regressor"], tmp_path)
    yield server
    server.stop()


def test_models_added_with_labels_then_removed(own_server, models_dir):
    sums = ServedModel(str(models_dir / "sum_regressor"))
    forecaster = ServedModel(str(models_dir / "forecaster"), versions=[1], labels={"stable": 1})
    with ModelAdmin(own_server.grpc_address) as admin:
        admin.reload_config({"sum_regressor": sums, "forecaster": forecaster})
    with ServingClient(own_server.grpc_address, timeout=30) as client:
        answer = client.forecast([[0.1] * 20], 3, label="stable")
        assert (answer.model, answer.version) == ("forecaster", 1)
        with ModelAdmin(own_server.grpc_address) as admin:
            admin.reload_config({"sum_regressor": sums})
        assert [state.state for state in client.status("forecaster")] == ["END"]
