import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from contract.layout import STAGING_PREFIX, existing_versions
from contract.spec import ModelContract, Signature, Tensor
from tests.support.graph_session import run_in_graph_session
from training import export as export_module
from training.export import export_version
from training.trained import TrainedModel


class Doubler(tf.Module):
    def __init__(self):
        super().__init__()
        self.factor = tf.Variable(2.0)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.float32, name="x")])
    def double(self, x):
        return {"y": x * self.factor}


def doubler_contract(name: str, shape: tuple) -> ModelContract:
    signature = Signature(
        inputs={"x": Tensor("float32", shape)}, outputs={"y": Tensor("float32", shape)}
    )
    return ModelContract(name, {"serving_default": signature})


def tiny_model() -> TrainedModel:
    module = Doubler()
    return TrainedModel(
        contract=doubler_contract("doubler", (None,)),
        module=module,
        signatures={"serving_default": module.double},
        warmup_requests=[("serving_default", {"x": np.ones(2, np.float32)})],
        report={"metrics": {"ok": 1}},
    )


def test_versions_count_up_and_ignore_non_integer_folders(tmp_path):
    (tmp_path / "doubler" / "notes").mkdir(parents=True)
    first = export_version(tiny_model(), tmp_path)
    second = export_version(tiny_model(), tmp_path)
    assert (first.name, second.name) == ("1", "2")
    assert existing_versions(tmp_path / "doubler") == [1, 2]
    assert (second / "saved_model.pb").exists()
    assert (second / "assets.extra" / "tf_serving_warmup_requests").exists()
    assert (second / "assets.extra" / "evaluation.json").exists()
    assert not [p for p in (tmp_path / "doubler").iterdir() if p.name.startswith(STAGING_PREFIX)]


def test_a_failed_export_leaves_no_version_and_no_staging_folder(tmp_path, monkeypatch):
    def broken(directory, trained):
        raise RuntimeError("disk full")

    monkeypatch.setattr(export_module, "write_report", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        export_version(tiny_model(), tmp_path)
    assert list((tmp_path / "doubler").iterdir()) == []


def test_a_version_taken_meanwhile_is_skipped(tmp_path, monkeypatch):
    base = tmp_path / "doubler"
    real_rename = os.rename
    calls = []

    def racing_rename(source, target):
        if not calls:
            (base / "1").mkdir()
            (base / "1" / "saved_model.pb").write_bytes(b"other run")
        calls.append(target)
        return real_rename(source, target)

    monkeypatch.setattr(export_module.os, "rename", racing_rename)
    version = export_version(tiny_model(), tmp_path)
    assert version.name == "2"
    assert (base / "1" / "saved_model.pb").read_bytes() == b"other run"


def test_exported_model_loads_and_serves(tmp_path):
    version = export_version(tiny_model(), tmp_path)
    loaded = tf.saved_model.load(str(version))
    result = loaded.signatures["serving_default"](x=tf.constant([1.0, 3.0]))
    np.testing.assert_allclose(result["y"].numpy(), [2.0, 6.0])


class KerasDoubler(tf.Module):
    def __init__(self):
        super().__init__()
        self.layer = keras.layers.Dense(1, use_bias=False, kernel_initializer="ones")
        self.layer.build((None, 1))

    @tf.function(input_signature=[tf.TensorSpec([None, 1], tf.float32, name="x")])
    def double(self, x):
        return {"y": 2.0 * self.layer(x)}


def test_keras_layers_export_variables_that_graph_loaders_restore(tmp_path):
    module = KerasDoubler()
    trained = TrainedModel(
        contract=doubler_contract("keras_doubler", (None, 1)),
        module=module,
        signatures={"serving_default": module.double},
        warmup_requests=[("serving_default", {"x": np.ones((1, 1), np.float32)})],
        report={},
    )
    version = export_version(trained, tmp_path)
    outputs = run_in_graph_session(version, "serving_default", x=np.array([[3.0]], np.float32))
    np.testing.assert_allclose(outputs["y"], [[6.0]])


def test_an_export_that_breaks_its_contract_is_refused(tmp_path):
    trained = tiny_model()
    trained.contract = doubler_contract("doubler", (None, 3))
    with pytest.raises(ValueError, match=r"serving_default inputs: exported .* contract"):
        export_version(trained, tmp_path)
    assert not (tmp_path / "doubler").exists()
